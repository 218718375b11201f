// Shared by the benchmarks that drive Berth's Docker API and the peers' through the same docker CLI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { sweepNetworks } from '../test/helpers/netsweep.mjs';
import { REPO } from '../test/helpers/testEngine.ts';

/** Each live process's parent, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  return out;
}

export const childrenOf = (pid: number) => [...parents()].filter(([, pp]) => pp === pid).map(([p]) => p);

export function descendants(pid: number): number[] {
  const all = [...parents()];
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length;) {
    frontier = all.filter(([, pp]) => frontier.includes(pp)).map(([p]) => p);
    out.push(...frontier);
  }
  return out;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const range = (xs: number[], digits = 1) => `[${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;

export interface BerthDaemon {
  pid: number;
  sock: string;
  base: string;
  stop(): Promise<void>;
}

/**
 * A Berth daemon on a private root and socket, under cgroup parent `berth-bench` (or its own
 * name); `repo` runs another checkout, such as a worktree of an earlier commit.
 */
export async function startBerthDaemon(tag: string, repo = REPO, cgroupParent = 'berth-bench'): Promise<BerthDaemon> {
  const base = mkdtempSync(`/var/tmp/berth-bench-${tag}-`);
  const sock = `${base}/docker.sock`;
  const daemon: ChildProcess = spawn(process.execPath, [`${repo}/bin/berth.mjs`, 'daemon', '--root', `${base}/root`, '--run', `${base}/run`, '--socket', sock, '--cgroup-parent', cgroupParent], { stdio: ['ignore', 'ignore', process.env.BERTH_STDERR ? 'inherit' : 'ignore'] });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    pid: daemon.pid!,
    sock,
    base,
    async stop() {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
      for (const c of readdirSync('/sys/fs/cgroup')) spawnSync('rmdir', [`/sys/fs/cgroup/${c}/${cgroupParent}`]);
      sweepNetworks(`${base}/root`);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Berth plus the peers' Docker-compatible sockets that answer, as name → DOCKER_HOST. */
export function dockerHosts(berthSock: string): Record<string, string> {
  const hosts: Record<string, string> = { berth: `unix://${berthSock}` };
  if (existsSync('/var/run/docker.sock')) hosts.dockerd = 'unix:///var/run/docker.sock';
  if (existsSync('/run/podman/podman.sock')) hosts.podman = 'unix:///run/podman/podman.sock';
  return hosts;
}

/** Runs the docker CLI against one host; returns its stdout, or null when it fails. */
export function docker(host: string, args: string[]): string | null {
  const r = spawnSync('docker', args, { env: { ...process.env, DOCKER_HOST: host }, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

/** One Docker API request over a unix socket; resolves with status and parsed JSON (or text). */
export function api(sock: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> & { Id?: string } }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ socketPath: sock, method, path, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: Record<string, unknown> & { Id?: string } = { message: text };
        try {
          if (text) parsed = JSON.parse(text);
        } catch {
          /* not JSON: kept as the message */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** A process's CPU time in seconds (user + system) and resident memory in MB, from /proc. */
export function procUsage(pid: number): { cpu: number; rssMb: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssMb: Number(rss ?? 0) / 1024 };
  } catch {
    return { cpu: 0, rssMb: 0 };
  }
}

/** Pids whose command line starts with one of the given executables (a peer's daemons and shims). */
export function pidsOf(...exes: string[]): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0];
      return exes.some((e) => cmd === e || cmd.endsWith(`/${e}`));
    } catch {
      return false;
    }
  }).map(Number);
}
