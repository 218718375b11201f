// The consistency check after a daemon was killed: records against the kernel (processes,
// cgroups, run directories, overlay mounts, host interfaces, bridges, firewall rules). Shared
// by the kill-point test and bench/killpoint.ts.
import { execFileSync } from 'node:child_process';
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

function overlayMounted(d: TestDaemon, id: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4]?.startsWith(`${d.base}/root/overlay`) && l.includes(id));
}

/** The engine's own record of a container, for what inspect does not show (a start's intent). */
function recordFile(d: TestDaemon, id: string): { starting?: string } | undefined {
  try {
    return JSON.parse(readFileSync(`${d.base}/root/containers/${id}/config.json`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Bridge names the kill-point runs give their networks: `bridgePrefix(d) + n`. */
export const bridgePrefix = (d: TestDaemon) => `bk${d.base.slice(-6).replace(/[^a-zA-Z0-9]/g, 'x')}`;

function firewall(): { filter: string[]; nat: string[] } {
  const rules = (table: string, chain: string) => {
    try {
      return execFileSync('iptables', ['-w', '-t', table, '-S', chain], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => l.startsWith('-A '));
    } catch {
      return [];
    }
  };
  return { filter: rules('filter', 'BERTH-FORWARD'), nat: rules('nat', 'BERTH-POSTROUTING') };
}

/**
 * Networks whose bridge starts with bridgePrefix(d): a recorded one has its bridge and all of its
 * rules (4 forward rules and 1 NAT rule, or 3 and none when internal); no bridge or rule with
 * that prefix belongs to no record.
 */
async function checkNetworks(d: TestDaemon): Promise<string[]> {
  const problems: string[] = [];
  const prefix = bridgePrefix(d);
  const ids = (await d.docker(['network', 'ls', '-q', '--no-trunc'])).out.split('\n').filter(Boolean);
  const devices = new Set<string>();
  const fw = firewall();
  for (const id of ids) {
    const r = await d.docker(['network', 'inspect', '-f', '{{.Name}} {{index .Options "com.docker.network.bridge.name"}} {{.Internal}}', id]);
    const [name, dev, internal] = r.out.trim().split(' ');
    if (r.code !== 0 || !dev?.startsWith(prefix)) continue;
    devices.add(dev);
    if (!existsSync(`/sys/class/net/${dev}`)) problems.push(`network ${name} is recorded but its bridge ${dev} is missing`);
    const tag = `berth:${id.slice(0, 12)}`;
    const tagged = (l: string[]) => l.filter((x) => x.includes(`--comment ${tag} `) || x.includes(`--comment "${tag}"`)).length;
    const want = internal === 'true' ? [3, 0] : [4, 1];
    const have = [tagged(fw.filter), tagged(fw.nat)];
    if (have[0] !== want[0] || have[1] !== want[1]) problems.push(`network ${name} has ${have[0]} forward and ${have[1]} NAT rules, not ${want[0]} and ${want[1]}`);
  }
  for (const dev of readdirSync('/sys/class/net')) if (dev.startsWith(prefix) && !devices.has(dev)) problems.push(`bridge ${dev} belongs to no network`);
  for (const l of [...fw.filter, ...fw.nat]) {
    const dev = new RegExp(`-[io] (${prefix}\\d+)`).exec(l)?.[1];
    if (dev && !devices.has(dev)) problems.push(`firewall rule of no network: ${l}`);
  }
  return problems;
}

/** Bridges of the kill-point runs' networks left on the host (for a cleanup after a failure). */
export function removeTestBridges(d: TestDaemon): void {
  for (const dev of readdirSync('/sys/class/net')) {
    if (!dev.startsWith(bridgePrefix(d))) continue;
    try {
      execFileSync('ip', ['link', 'del', dev], { stdio: 'ignore' });
    } catch {
      /* gone meanwhile */
    }
  }
}

/** Problems found (empty when every record matches the kernel and nothing is orphaned). */
export async function checkConsistency(d: TestDaemon): Promise<string[]> {
  const problems: string[] = [];
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).out.split('\n').filter(Boolean);
  for (const id of ids) {
    const r = await d.docker(['inspect', '-f', '{{.State.Running}} {{.State.Pid}} {{.State.Status}}', id]);
    if (r.code !== 0) continue; // removed meanwhile
    const [running, pid, status] = r.out.trim().split(' ');
    if (recordFile(d, id)?.starting) problems.push(`${id.slice(0, 12)} still carries the intent of a start`);
    if (running === 'true') {
      if (!existsSync(`/proc/${pid}`)) problems.push(`${id.slice(0, 12)} is recorded running as pid ${pid}, which is gone`);
      continue;
    }
    if (cgroupChildren(d).includes(id)) problems.push(`${id.slice(0, 12)} is ${status} but its cgroup is left`);
    if (runDirs(d).includes(id.slice(0, 16))) problems.push(`${id.slice(0, 12)} is ${status} but its run directory is left`);
    if (overlayMounted(d, id)) problems.push(`${id.slice(0, 12)} is ${status} but its root file system is still mounted`);
  }
  problems.push(...(await checkNetworks(d)));
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
