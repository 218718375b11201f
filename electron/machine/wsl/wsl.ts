// The wsl2 backend (Windows 10/11): the guest's root filesystem imported as a WSL distro (WSL
// supplies the kernel and init), as Rancher Desktop and podman do. Two distros: `berth` (the
// root image, replaced on upgrade) and `berth-data` (imported once; images, containers and
// volumes), whose root is bind-mounted through WSL's shared /mnt/wsl. The host keeps one
// `wsl.exe --exec /sbin/berth-init wsl` child open (a distro stops when nothing holds it) and
// gives the token on its stdin; the agent listens on a TCP port that WSL relays to Windows'
// localhost. Not run on this machine (Linux): tested by what it generates and parses.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { GUEST_AGENT_PORT } from '../agent.ts';
import type { Hypervisor } from '../supervisor.ts';

export const DISTRO = 'berth';
export const DATA_DISTRO = 'berth-data';

/** wsl.exe's argv for each step. */
export const wslArgs = {
  import: (name: string, dir: string, tar: string) => ['--import', name, dir, tar, '--version', '2'],
  unregister: (name: string) => ['--unregister', name],
  terminate: (name: string) => ['--terminate', name],
  list: () => ['--list', '--verbose'],
  status: () => ['--status'],
  /** binds the data distro's root where the engine's distro finds it */
  mountData: () => ['--distribution', DATA_DISTRO, '--user', 'root', '--exec', '/bin/sh', '-c',
    'mkdir -p /mnt/wsl/berth-data && (mountpoint -q /mnt/wsl/berth-data || mount --bind / /mnt/wsl/berth-data)'],
  init: () => ['--distribution', DISTRO, '--user', 'root', '--exec', '/sbin/berth-init', 'wsl'],
};

/**
 * wsl.exe writes UTF-16LE (with or without a BOM) when its output is a pipe; WSL_UTF8=1 makes
 * newer versions write UTF-8. Either decodes here.
 */
export function decodeWslOutput(buf: Buffer): string {
  let b = buf;
  if (b[0] === 0xff && b[1] === 0xfe) b = b.subarray(2);
  const looksUtf16 = b.length >= 2 && b.length % 2 === 0 && b.subarray(0, Math.min(b.length, 64)).filter((_, i) => i % 2 === 1).every((x) => x === 0);
  return (looksUtf16 ? b.toString('utf16le') : b.toString('utf8')).replace(/\r\n/g, '\n').replace(/\0/g, '');
}

export interface WslDistro {
  name: string;
  state: string;
  version: number;
  default: boolean;
}

/**
 * `wsl --list --verbose`:
 *     NAME            STATE           VERSION
 *   * Ubuntu          Running         2
 *     berth           Stopped         2
 * The header and the states are localized: columns are read by position, states kept as given.
 */
export function parseWslList(text: string): WslDistro[] {
  const lines = text.split('\n').filter((l) => l.trim());
  return lines.slice(1).map((l) => {
    const isDefault = l.trimStart().startsWith('*');
    const cols = l.replace(/^\s*\*?\s*/, '').trim().split(/\s+/);
    const version = Number(cols[cols.length - 1]);
    return { name: cols[0]!, state: cols.slice(1, -1).join(' '), version, default: isDefault };
  }).filter((d) => d.name && Number.isInteger(d.version));
}

/** What a failing wsl.exe said, as the user's fix (podman maps the same codes). */
export function wslProblem(output: string): string | undefined {
  if (/HCS_E_HYPERV_NOT_INSTALLED|hcs\/error_not_supported|HCS_E_SERVICE_NOT_AVAILABLE/i.test(output)) {
    return 'WSL 2 cannot run: turn on "Virtual Machine Platform" in Windows Features (and virtualization in the firmware), then restart';
  }
  if (/WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED|wsl --install/i.test(output)) return 'WSL is not installed: run `wsl --install --no-distribution` as administrator, then restart';
  if (/ERROR_ALREADY_EXISTS|already exists/i.test(output)) return 'a WSL distro with this name exists already: remove it with `berth machine rm`';
  if (/WSL_E_DISTRO_NOT_FOUND|no distribution with the supplied name/i.test(output)) return 'the machine\'s WSL distro is gone: create it again with `berth machine init`';
  return undefined;
}

export class WslHypervisor implements Hypervisor {
  readonly kind = 'wsl2' as const;
  readonly accel = 'wsl';

  constructor(private readonly agentPort = GUEST_AGENT_PORT, private readonly wsl = 'wsl.exe') {}

  missing(e: NodeJS.ErrnoException): string {
    return e.code === 'ENOENT' ? 'wsl.exe is not on this Windows: run `wsl --install --no-distribution` as administrator' : `wsl.exe: ${e.message}`;
  }

  async launch(token: string): Promise<ChildProcess> {
    if (process.platform !== 'win32') throw new Error('the wsl2 backend needs Windows 10 2004 or later');
    const mount = spawnSync(this.wsl, wslArgs.mountData(), { env: { ...process.env, WSL_UTF8: '1' } });
    if (mount.status !== 0) {
      const out = decodeWslOutput(Buffer.concat([mount.stdout ?? Buffer.alloc(0), mount.stderr ?? Buffer.alloc(0)]));
      throw new Error(wslProblem(out) ?? `cannot mount the data distro ${DATA_DISTRO}: ${out.trim()}`);
    }
    const child = spawn(this.wsl, wslArgs.init(), { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, WSL_UTF8: '1' } });
    child.stdin!.end(token);
    return child;
  }

  address(): { port: number } {
    return { port: this.agentPort };
  }

  dial(): Socket {
    return connect({ port: this.agentPort, host: '127.0.0.1', allowHalfOpen: true });
  }

  cleanup(): void {
    spawnSync(this.wsl, wslArgs.terminate(DISTRO));
  }

}

/**
 * `berth machine init --backend wsl2`: the engine's distro from the image's root tarball, and the
 * data distro from an empty one, each under the machine's directory; undone if either fails.
 */
export function importDistros(dir: string, rootTar: string, dataTar: string, run = (args: string[]) => spawnSync('wsl.exe', args, { env: { ...process.env, WSL_UTF8: '1' } })): void {
  const step = (args: string[]): void => {
    const r = run(args);
    if (r.error || r.status !== 0) {
      const out = r.error ? r.error.message : decodeWslOutput(Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]));
      throw new Error(wslProblem(out) ?? `wsl.exe ${args.join(' ')} failed: ${out.trim()}`);
    }
  };
  step(wslArgs.import(DATA_DISTRO, `${dir}\\data`, dataTar));
  try {
    step(wslArgs.import(DISTRO, `${dir}\\root`, rootTar));
  } catch (e) {
    run(wslArgs.unregister(DATA_DISTRO));
    throw e;
  }
}

/** An upgrade: the engine's distro is replaced; the data distro is left alone. */
export function replaceRoot(dir: string, rootTar: string, run = (args: string[]) => spawnSync('wsl.exe', args)): void {
  run(wslArgs.terminate(DISTRO));
  run(wslArgs.unregister(DISTRO));
  const r = run(wslArgs.import(DISTRO, `${dir}\\root`, rootTar));
  if (r.status !== 0) throw new Error(`cannot import the new root of the WSL machine: ${decodeWslOutput(Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)])).trim()}`);
}
