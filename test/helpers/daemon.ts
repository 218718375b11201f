// Starts `berth daemon` as a child process in a private root, optionally with web mode, and
// removes everything it made (containers, cgroup parent, root) when stopped.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sweepNetworks } from './netsweep.mjs';
import { REPO } from './testEngine.ts';
import { until } from './run.ts';

export interface TestDaemon {
  base: string;
  sock: string;
  /** the web UI URL with its token, when started with web */
  url: string;
  proc: ChildProcess;
  log(): string;
  /** SIGTERM, then a new daemon on the same root and socket (containers keep running meanwhile) */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  docker(args: string[]): Promise<{ code: number; out: string; err: string }>;
  stop(): Promise<void>;
}

export async function startDaemon(opts: { web?: boolean; args?: string[]; env?: Record<string, string> } = {}): Promise<TestDaemon> {
  const base = mkdtempSync(`${tmpdir()}/berth-t-`);
  chmodSync(base, 0o711);
  const sock = `${base}/docker.sock`;
  const parent = `berth-test-${process.pid}-${base.slice(-6)}`;
  let log = '';
  // A restart listens where the first daemon did, so an open page can reconnect.
  let webListen = '127.0.0.1:0';
  const launch = () => {
    const child = spawn(process.execPath, [`${REPO}/bin/berth.mjs`, 'daemon', '--root', `${base}/root`, '--run', `${base}/run`, '--socket', sock,
      '--cgroup-parent', parent, '--auth-file', `${base}/auth.json`, ...(opts.web ? ['--web', webListen] : []), ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    return child;
  };
  let proc = launch();
  const terminate = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  const docker = (args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile('/usr/local/bin/docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: `${base}/docker-cli` }, timeout: 60_000 },
      (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
  const d: TestDaemon = {
    base, sock, url: '', proc, log: () => log, docker,
    async restart(whileDown) {
      await terminate();
      await whileDown?.();
      const from = log.length;
      d.proc = proc = launch();
      await until(async () => (await docker(['version', '-f', '{{.Server.Version}}'])).code === 0, 30_000, `daemon restart (${log})`);
      if (opts.web) await until(() => log.slice(from).includes('web UI at'), 30_000, `web UI after restart (${log})`);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (existsSync('/usr/local/bin/docker')) {
          const ids = (await docker(['ps', '-aq'])).out.split('\n').filter(Boolean);
          if (ids.length) await docker(['rm', '-f', ...ids]);
          const nets = (await docker(['network', 'ls', '-q', '--filter', 'type=custom'])).out.split('\n').filter(Boolean);
          if (nets.length) await docker(['network', 'rm', ...nets]);
        }
        await terminate();
      }
      for (const ctrl of readdirSync('/sys/fs/cgroup')) {
        try {
          rmdirSync(`/sys/fs/cgroup/${ctrl}/${parent}`);
        } catch {
          /* not there */
        }
      }
      sweepNetworks(`${base}/root`);
      for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        const mp = line.split(' ')[4];
        if (mp?.startsWith(`${base}/`)) execFile('umount', ['-l', mp], () => undefined);
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await until(() => existsSync(sock) && (!opts.web || /web UI at /.test(log)), 30_000, `daemon start (${log})`);
  } catch (e) {
    await d.stop();
    throw e;
  }
  d.url = /web UI at (\S+)/.exec(log)?.[1] ?? '';
  if (d.url) webListen = `127.0.0.1:${new URL(d.url).port}`;
  return d;
}
