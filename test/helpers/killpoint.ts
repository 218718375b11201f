// The consistency check after a daemon was killed: records against the kernel (processes,
// cgroups, run directories, overlay mounts, host interfaces). Shared by the kill-point test
// and bench/killpoint.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { TestDaemon } from './daemon.ts';

/** A small seeded PRNG: the same kill points on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const parentOf = (d: TestDaemon) => `berth-test-${process.pid}-${d.base.slice(-6)}`;
const CONTROLLERS = ['memory', 'pids', 'cpu', 'freezer', 'unified'];

function cgroupChildren(d: TestDaemon): string[] {
  const out = new Set<string>();
  for (const c of CONTROLLERS) {
    const dir = `/sys/fs/cgroup/${c}/${parentOf(d)}`;
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && /^[a-f0-9]{64}$/.test(e.name)) out.add(e.name);
  }
  return [...out];
}

function runDirs(d: TestDaemon): string[] {
  return existsSync(`${d.base}/run`) ? readdirSync(`${d.base}/run`).filter((n) => /^[a-f0-9]{16}$/.test(n)) : [];
}

/** Problems found (empty when every record matches the kernel and nothing is orphaned). */
export async function checkConsistency(d: TestDaemon): Promise<string[]> {
  const problems: string[] = [];
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).out.split('\n').filter(Boolean);
  for (const id of ids) {
    const r = await d.docker(['inspect', '-f', '{{.State.Running}} {{.State.Pid}} {{.State.Status}}', id]);
    if (r.code !== 0) continue; // removed meanwhile
    const [running, pid, status] = r.out.trim().split(' ');
    if (running === 'true') {
      if (!existsSync(`/proc/${pid}`)) problems.push(`${id.slice(0, 12)} is recorded running as pid ${pid}, which is gone`);
      continue;
    }
    if (cgroupChildren(d).includes(id)) problems.push(`${id.slice(0, 12)} is ${status} but its cgroup is left`);
    if (runDirs(d).includes(id.slice(0, 16))) problems.push(`${id.slice(0, 12)} is ${status} but its run directory is left`);
  }
  for (const c of cgroupChildren(d)) if (!ids.includes(c)) problems.push(`cgroup ${c.slice(0, 12)} belongs to no container`);
  for (const r of runDirs(d)) if (!ids.some((id) => id.startsWith(r))) problems.push(`run directory ${r} belongs to no container`);
  return problems;
}

/** What is left of the given containers after they were removed. */
export function leftovers(d: TestDaemon, ids: string[]): string[] {
  const out = [...cgroupChildren(d).map((c) => `cgroup ${c}`), ...runDirs(d).map((r) => `run dir ${r}`)];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(`${d.base}/root/overlay`) && ids.some((id) => mp.includes(id))) out.push(`mount ${mp}`);
  }
  for (const dev of readdirSync('/sys/class/net')) if (ids.some((id) => dev.startsWith(`veth${id.slice(0, 5)}`))) out.push(`interface ${dev}`);
  return out;
}
