// `berth system dial-stdio`: relays stdin and stdout to the engine's Docker API socket, as
// `docker system dial-stdio` does, so `docker -H ssh://user@host` reaches a Berth host
// through the system's ssh (a key restricted to this command is enough).
import { connect } from 'node:net';
import { rootlessLayout } from '../machine/rootless.ts';

/** The socket of this user's engine: root's, or the rootless one's. */
export function ownSocket(): string {
  return process.getuid?.() === 0 ? '/run/berth/docker.sock' : rootlessLayout().dockerSocket;
}

/** The socket: --host (unix://PATH), else DOCKER_HOST when it is a unix socket, else the engine's own. */
export function dialTarget(args: string[], env: NodeJS.ProcessEnv, own: string): string {
  const i = args.indexOf('--host');
  const host = i >= 0 ? args[i + 1] : env.DOCKER_HOST?.startsWith('unix://') ? env.DOCKER_HOST : undefined;
  if (!host) return own;
  if (!host.startsWith('unix://') && !host.startsWith('/')) throw new Error(`berth system dial-stdio: ${host} is not a unix socket; give --host unix:///path/to/docker.sock`);
  return host.replace(/^unix:\/\//, '');
}

/** The command: a bad --host is named, as an unreachable engine is. */
export function dialCommand(args: string[], own: string): Promise<number> {
  let path: string;
  try {
    path = dialTarget(args, process.env, own);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return Promise.resolve(1);
  }
  return dialStdio(path, process.stdin, process.stdout);
}

export function dialStdio(socketPath: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect({ path: socketPath, allowHalfOpen: true });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'no engine is listening there; start it with `berth daemon` (or the app)' : e.message;
      process.stderr.write(`berth system dial-stdio: cannot reach ${socketPath}: ${why}\n`);
      resolve(1);
    });
    sock.on('connect', () => {
      // The client's end of input is a half-close: the engine still answers what was asked.
      input.pipe(sock);
      sock.pipe(output);
      sock.on('end', () => resolve(0));
    });
  });
}
