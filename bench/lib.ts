// Shared by the benchmarks that drive Berth's Docker API and the peers' through the same docker CLI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
  const daemon: ChildProcess = spawn(process.execPath, [`${repo}/bin/berth.mjs`, 'daemon', '--root', `${base}/root`, '--run', `${base}/run`, '--socket', sock, '--cgroup-parent', cgroupParent], { stdio: 'ignore' });
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
