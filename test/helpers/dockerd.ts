// A private dockerd (Debian's docker.io) as a second, real engine for the tests: its own data
// root, exec root, socket, pid file, cgroup parent and bridge (never `--bridge none`, which
// deletes the host's docker0), no firewall rules. stop() removes everything it made.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { until } from './run.ts';

export const DOCKERD = '/usr/sbin/dockerd';
const CLI = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : '/usr/bin/docker';

export interface PrivateDockerd {
  dir: string;
  sock: string;
  /** its exec root: the command lines of its containerd and shims name it */
  exec: string;
  pid: number;
  /** tcp://127.0.0.1:PORT when started with tls */
  tcp?: string;
  docker(args: string[], env?: Record<string, string>): Promise<{ code: number; out: string; err: string }>;
  stop(): Promise<void>;
}

/** Extra listeners: a TLS tcp socket checking client certificates against `ca`. */
export interface DockerdTls {
  port: number;
  ca: string;
  cert: string;
  key: string;
}

export async function startDockerd(opts: { tls?: DockerdTls } = {}): Promise<PrivateDockerd> {
  const dir = mkdtempSync(`${tmpdir()}/berth-dockerd-`);
  const tag = `${process.pid % 100000}`;
  const bridge = `berthd${tag}`;
  const exec = `/var/run/berth-dockerd-${tag}`;
  const parent = `/berth-test-dockerd-${tag}`;
  const sock = `${dir}/docker.sock`;
  writeFileSync(`${dir}/daemon.json`, '{}');
  spawnSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  spawnSync('ip', ['addr', 'add', `10.214.${process.pid % 250}.1/24`, 'dev', bridge]);
  const tlsArgs = opts.tls ? ['-H', `tcp://127.0.0.1:${opts.tls.port}`, '--tlsverify', '--tlscacert', opts.tls.ca, '--tlscert', opts.tls.cert, '--tlskey', opts.tls.key] : [];
  let log = '';
  const proc: ChildProcess = spawn(DOCKERD, ['--data-root', `${dir}/data`, '--exec-root', exec, '--pidfile', `${dir}/dockerd.pid`, '-H', `unix://${sock}`, ...tlsArgs,
    '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--storage-driver', 'overlay2', '--exec-opt', 'native.cgroupdriver=cgroupfs',
    '--cgroup-parent', parent, '--config-file', `${dir}/daemon.json`], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (log = (log + d).slice(-20_000)));
  proc.stderr!.on('data', (d) => (log = (log + d).slice(-20_000)));
  const docker = (args: string[], env: Record<string, string> = {}) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(CLI, args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: `${dir}/cli`, ...env }, timeout: 60_000, maxBuffer: 1 << 26 },
      (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const ids = (await docker(['ps', '-aq'])).out.split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids]);
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    }
    // Mounts under its data root and exec root, deepest first.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m.startsWith(`${dir}/`) || m.startsWith(`${exec}/`) || m === exec));
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
    spawnSync('ip', ['link', 'del', bridge]);
    spawnSync('sh', ['-c', `for d in /sys/fs/cgroup/*${parent}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; ; done; true`]);
    rmSync(exec, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => {
      if (proc.exitCode !== null) throw new Error(`dockerd exited: ${log}`);
      return (await docker(['version', '-f', '{{.Server.Version}}'])).code === 0;
    }, 60_000, `private dockerd start (${log.slice(-2000)})`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, sock, exec, pid: proc.pid!, docker, stop, ...(opts.tls ? { tcp: `tcp://127.0.0.1:${opts.tls.port}` } : {}) };
}
