// Cgroups as plain file writes, for v1, v2 and hybrid hosts.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError, invalid } from '../errors.ts';
import type { Cgroup, UsageFiles, CgroupLimits, CgroupManager } from './cgroupManager.ts';
import { detectLayout, type CgroupLayout } from './layout.ts';
import { ALL_LIMITS, type LimitSupport } from './limitSupport.ts';
import { processUsage } from './noCgroupManager.ts';
import { parseBlkioV1, parseFlatKeyed, parseIoStatV2 } from './statsParsers.ts';

const USER_HZ_NS = 1e9 / 100;

function write(file: string, value: string | number): void {
  try {
    writeFileSync(file, String(value));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new EngineError(err.code === 'EINVAL' || err.code === 'EBUSY' ? 'INVALID_ARGUMENT' : 'INTERNAL',
      `write ${value} to ${file}: ${err.code ?? err.message}`, { cause: e });
  }
}

// Counter files are read synchronously: a cgroup file is made by the kernel on read and never
// blocks, and one read call costs a few microseconds where an async readFile is four trips
// through the thread pool (open, fstat, read, close); a stats stream reads a dozen per second.
function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
const readNum = (file: string) => {
  const t = readText(file).trim();
  return t === '' || t === 'max' ? 0 : Number(t);
};

/** runc/crun's mapping of cpu.shares onto cgroup v2's cpu.weight. */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

export function swapLimitV2(memory: number | undefined, memorySwap: number | undefined): string | undefined {
  if (memorySwap === undefined || memorySwap === 0) return memory ? String(memory) : undefined;
  if (memorySwap === -1) return 'max';
  if (memory && memorySwap < memory) throw invalid('minimum memoryswap limit should be larger than memory limit');
  return String(memorySwap - (memory ?? 0));
}

export class FsCgroupManager implements CgroupManager {
  private layout: CgroupLayout;

  /**
   * @param parent the containers' parent, relative to each hierarchy's root (or to the delegated subtree)
   * @param layout the hierarchies (default: this host's); a rootless engine passes its delegated subtree as the v2 root
   */
  constructor(private readonly parent: string, layout?: CgroupLayout, readonly supports: LimitSupport = ALL_LIMITS, readonly reason?: string) {
    this.layout = layout ?? detectLayout();
  }

  get mode(): string {
    return this.layout.mode;
  }

  create(name: string, limits: CgroupLimits): Cgroup {
    const cg = this.open(name);
    this.ensureParents();
    const made: string[] = [];
    try {
      for (const dir of cg.dirs()) {
        mkdirSync(dir);
        made.push(dir);
        if (dir.startsWith(this.layout.v1.get('cpuset') ?? '\0')) this.inheritCpuset(dir);
      }
      if (this.layout.v1.has('devices')) this.restrictDevices(`${this.layout.v1.get('devices')}/${this.parent}/${name}`, limits.deviceRules ?? []);
      cg.update(limits);
    } catch (e) {
      for (const dir of made.reverse()) rmdirSync(dir, { recursive: false });
      if (e instanceof EngineError) throw e;
      throw new EngineError('INTERNAL', `create cgroup ${name}: ${(e as Error).message}`, { cause: e });
    }
    return cg;
  }

  open(name: string): FsCgroup {
    return new FsCgroup(this.layout, this.parent, name);
  }

  removeParent(): void {
    for (const dir of this.parentDirs()) {
      try {
        rmdirSync(dir);
      } catch {
        /* not empty or already gone */
      }
    }
  }

  private parentDirs(): string[] {
    const dirs = [...new Set(this.layout.v1.values())].map((m) => `${m}/${this.parent}`);
    if (this.layout.unified) dirs.push(`${this.layout.unified}/${this.parent}`);
    return dirs;
  }

  private ensureParents(): void {
    for (const dir of this.parentDirs()) {
      if (existsSync(dir)) continue;
      mkdirSync(dir, { recursive: true });
      if (dir.startsWith(this.layout.v1.get('cpuset') ?? '\0')) this.inheritCpuset(dir);
    }
    if (this.layout.mode === 'unified' && this.layout.unified) {
      const want = ['cpu', 'memory', 'pids', 'cpuset', 'io'].filter((c) => this.layout.unifiedControllers.includes(c));
      const line = want.map((c) => `+${c}`).join(' ');
      if (line) {
        write(`${this.layout.unified}/cgroup.subtree_control`, line);
        write(`${this.layout.unified}/${this.parent}/cgroup.subtree_control`, line);
      }
    }
  }

  /** A new v1 cpuset starts empty and refuses tasks until cpus and mems are copied down. */
  private inheritCpuset(dir: string): void {
    const parentDir = dir.slice(0, dir.lastIndexOf('/'));
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (readFileSync(`${dir}/${f}`, 'utf8').trim() === '') write(`${dir}/${f}`, readFileSync(`${parentDir}/${f}`, 'utf8').trim());
    }
  }

  /** Docker's default device allow-list (v1 only; v2 needs a BPF program). */
  private restrictDevices(dir: string, extra: string[]): void {
    write(`${dir}/devices.deny`, 'a');
    for (const rule of ['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm',
      'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c 10:200 rwm', ...extra]) {
      write(`${dir}/devices.allow`, rule);
    }
  }
}

export class FsCgroup implements Cgroup {
  constructor(private readonly layout: CgroupLayout, private readonly parent: string, readonly name: string) {}

  private v1(ctrl: string): string | undefined {
    const m = this.layout.v1.get(ctrl);
    return m ? `${m}/${this.parent}/${this.name}` : undefined;
  }

  private get v2(): string | undefined {
    return this.layout.unified ? `${this.layout.unified}/${this.parent}/${this.name}` : undefined;
  }

  private get unifiedOnly(): boolean {
    return this.layout.mode === 'unified';
  }

  dirs(): string[] {
    const dirs = [...new Set(this.layout.v1.values())].map((m) => `${m}/${this.parent}/${this.name}`);
    if (this.v2) dirs.push(this.v2);
    return dirs;
  }

  get procsFiles(): string[] {
    return this.dirs().map((d) => `${d}/cgroup.procs`);
  }

  get oomFile(): string | undefined {
    if (this.unifiedOnly) return `${this.v2}/memory.events`;
    const mem = this.v1('memory');
    return mem ? `${mem}/memory.oom_control` : undefined;
  }

  get hasUnified(): boolean {
    return !!this.layout.unified;
  }

  get v1Mounts(): [string, string][] {
    const byMount = new Map<string, string[]>();
    for (const [ctrl, mount] of this.layout.v1) byMount.set(mount, [...(byMount.get(mount) ?? []), ctrl]);
    return [...byMount].map(([mount, ctrls]) => [mount.slice(mount.lastIndexOf('/') + 1), ctrls.join(',')]);
  }

  /** A real-time budget needs one in every cgroup above (the kernel's rule): refused with that fix. */
  private realtime(cpu: string | undefined, l: CgroupLimits): void {
    if (!cpu || !existsSync(`${cpu}/cpu.rt_runtime_us`)) throw invalid('--cpu-rt-runtime and --cpu-rt-period need a kernel with CONFIG_RT_GROUP_SCHED and the v1 cpu controller');
    try {
      if (l.cpuRtPeriod) write(`${cpu}/cpu.rt_period_us`, l.cpuRtPeriod);
      if (l.cpuRtRuntime) write(`${cpu}/cpu.rt_runtime_us`, l.cpuRtRuntime);
    } catch (e) {
      const parent = cpu.slice(0, cpu.lastIndexOf('/'));
      throw invalid(`the kernel refused a real-time budget of ${l.cpuRtRuntime ?? 0} µs per ${l.cpuRtPeriod ?? 'default'} µs (${(e as Error).message}): `
        + `give ${parent} a cpu.rt_runtime_us at least that large first (dockerd: --cpu-rt-runtime on the daemon)`);
    }
  }

  update(l: CgroupLimits): void {
    const period = l.cpuPeriod || 100000;
    if (this.unifiedOnly) {
      const d = this.v2!;
      if (l.memory !== undefined) write(`${d}/memory.max`, l.memory > 0 ? l.memory : 'max');
      const swap = swapLimitV2(l.memory, l.memorySwap);
      if (swap !== undefined && existsSync(`${d}/memory.swap.max`)) write(`${d}/memory.swap.max`, swap === String(l.memory) ? '0' : swap);
      if (l.cpuQuota !== undefined) write(`${d}/cpu.max`, `${l.cpuQuota > 0 ? l.cpuQuota : 'max'} ${period}`);
      if (l.cpuShares) write(`${d}/cpu.weight`, sharesToWeight(l.cpuShares));
      if (l.cpusetCpus) write(`${d}/cpuset.cpus`, l.cpusetCpus);
      if (l.cpusetMems) write(`${d}/cpuset.mems`, l.cpusetMems);
      if (l.pidsLimit !== undefined) write(`${d}/pids.max`, l.pidsLimit > 0 ? l.pidsLimit : 'max');
      return;
    }
    const mem = this.v1('memory');
    if (mem && l.memory !== undefined) {
      const limit = l.memory > 0 ? l.memory : -1;
      const memsw = `${mem}/memory.memsw.limit_in_bytes`;
      const swapAccounting = existsSync(memsw);
      let total = l.memorySwap === -1 ? -1 : l.memorySwap || (limit > 0 ? limit * 2 : -1);
      if (l.memorySwap && l.memorySwap > 0 && limit > 0 && l.memorySwap < limit) {
        throw invalid('minimum memoryswap limit should be larger than memory limit');
      }
      if (limit > 0 && limit < 6 * 1024 * 1024) throw invalid('minimum memory limit allowed is 6MB');
      // memsw must never be below the memory limit, so order the writes by direction.
      if (swapAccounting && total !== -1 && total < limit) total = limit;
      write(`${mem}/memory.limit_in_bytes`, limit);
      if (swapAccounting) write(memsw, total);
    }
    const cpu = this.v1('cpu');
    if (cpu && l.cpuQuota !== undefined) {
      write(`${cpu}/cpu.cfs_period_us`, period);
      write(`${cpu}/cpu.cfs_quota_us`, l.cpuQuota > 0 ? l.cpuQuota : -1);
    }
    if (cpu && l.cpuShares) write(`${cpu}/cpu.shares`, l.cpuShares);
    if (l.cpuRtRuntime || l.cpuRtPeriod) this.realtime(cpu, l);
    const cpuset = this.v1('cpuset');
    if (cpuset && l.cpusetCpus) write(`${cpuset}/cpuset.cpus`, l.cpusetCpus);
    if (cpuset && l.cpusetMems) write(`${cpuset}/cpuset.mems`, l.cpusetMems);
    const pids = this.v1('pids');
    if (pids && l.pidsLimit !== undefined) write(`${pids}/pids.max`, l.pidsLimit > 0 ? l.pidsLimit : 'max');
  }

  async freeze(): Promise<void> {
    await this.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.setFrozen(false);
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    const fz = this.v1('freezer');
    if (!this.unifiedOnly && fz) {
      for (let i = 0; i < 1000; i++) {
        write(`${fz}/freezer.state`, frozen ? 'FROZEN' : 'THAWED');
        const state = (readText(`${fz}/freezer.state`)).trim();
        if (state === (frozen ? 'FROZEN' : 'THAWED')) return;
        await sleep(i < 10 ? 1 : 10);
      }
      throw new EngineError('INTERNAL', `cgroup ${this.name} did not reach ${frozen ? 'FROZEN' : 'THAWED'}`);
    }
    if (!this.v2) throw new EngineError('UNSUPPORTED', 'no freezer cgroup available on this host');
    write(`${this.v2}/cgroup.freeze`, frozen ? 1 : 0);
    for (let i = 0; i < 500; i++) {
      if ((readText(`${this.v2}/cgroup.events`)).includes(`frozen ${frozen ? 1 : 0}`)) return;
      await sleep(2);
    }
    throw new EngineError('INTERNAL', `cgroup ${this.name} did not ${frozen ? 'freeze' : 'thaw'}`);
  }

  pids(): number[] {
    const file = this.procsFiles[0];
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  usageFiles(): UsageFiles {
    if (this.unifiedOnly) {
      const d = this.v2!;
      return { version: 2, cpu: `${d}/cpu.stat`, memUsage: `${d}/memory.current`, memLimit: `${d}/memory.max`, memStat: `${d}/memory.stat`, pids: `${d}/pids.current`, io: `${d}/io.stat`, procs: `${d}/cgroup.procs` };
    }
    const mem = this.v1('memory');
    return {
      version: 1, cpu: `${this.v1('cpuacct')}/cpuacct.usage`, memUsage: `${mem}/memory.usage_in_bytes`, memLimit: `${mem}/memory.limit_in_bytes`,
      memStat: `${mem}/memory.stat`, pids: `${this.v1('pids')}/pids.current`, io: `${this.v1('blkio')}/blkio.throttle.io_service_bytes_recursive`,
    };
  }

  async stats() {
    if (this.unifiedOnly) return this.statsV2();
    return this.statsV1();
  }

  private async statsV1() {
    const acct = this.v1('cpuacct');
    const cpuStat = parseFlatKeyed(readText(`${this.v1('cpu')}/cpu.stat`));
    const ticks = parseFlatKeyed(readText(`${acct}/cpuacct.stat`));
    const mem = this.v1('memory');
    const memStat = parseFlatKeyed(readText(`${mem}/memory.stat`));
    const oom = parseFlatKeyed(readText(`${mem}/memory.oom_control`));
    const limit = readNum(`${mem}/memory.limit_in_bytes`);
    return {
      cpu: {
        totalNs: readNum(`${acct}/cpuacct.usage`),
        userNs: (ticks.user ?? 0) * USER_HZ_NS,
        systemNs: (ticks.system ?? 0) * USER_HZ_NS,
        perCpuNs: (readText(`${acct}/cpuacct.usage_percpu`)).trim().split(/\s+/).filter(Boolean).map(Number),
        throttledPeriods: cpuStat.nr_throttled ?? 0,
        systemNs_host: 0,
        onlineCpus: 0,
      },
      memory: {
        usage: readNum(`${mem}/memory.usage_in_bytes`),
        limit: limit >= 2 ** 62 ? 0 : limit,
        cache: memStat.cache ?? 0,
        inactiveFile: memStat.total_inactive_file ?? 0,
        maxUsage: readNum(`${mem}/memory.max_usage_in_bytes`),
        stats: memStat,
      },
      pids: { current: readNum(`${this.v1('pids')}/pids.current`), limit: readNum(`${this.v1('pids')}/pids.max`) },
      blkio: parseBlkioV1(readText(`${this.v1('blkio')}/blkio.throttle.io_service_bytes_recursive`)),
      oomKills: oom.oom_kill ?? 0,
    };
  }

  private async statsV2() {
    const d = this.v2!;
    // A delegated subtree may lack the memory and pids controllers: count the cgroup's processes then.
    const procs = existsSync(`${d}/memory.current`) && existsSync(`${d}/pids.current`) ? undefined : this.pids();
    const rss = procs?.reduce((sum, pid) => sum + processUsage(pid).rss, 0);
    const cpu = parseFlatKeyed(readText(`${d}/cpu.stat`));
    const memStat = parseFlatKeyed(readText(`${d}/memory.stat`));
    const events = parseFlatKeyed(readText(`${d}/memory.events`));
    return {
      cpu: {
        totalNs: (cpu.usage_usec ?? 0) * 1000,
        userNs: (cpu.user_usec ?? 0) * 1000,
        systemNs: (cpu.system_usec ?? 0) * 1000,
        perCpuNs: [],
        throttledPeriods: cpu.nr_throttled ?? 0,
        systemNs_host: 0,
        onlineCpus: 0,
      },
      memory: {
        usage: existsSync(`${d}/memory.current`) ? readNum(`${d}/memory.current`) : rss ?? 0,
        limit: readNum(`${d}/memory.max`),
        cache: memStat.file ?? 0,
        inactiveFile: memStat.inactive_file ?? 0,
        maxUsage: readNum(`${d}/memory.peak`),
        stats: memStat,
      },
      pids: { current: existsSync(`${d}/pids.current`) ? readNum(`${d}/pids.current`) : procs?.length ?? 0, limit: readNum(`${d}/pids.max`) },
      blkio: parseIoStatV2(readText(`${d}/io.stat`)),
      oomKills: events.oom_kill ?? 0,
    };
  }

  async destroy(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const pids = this.pids();
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      let busy = false;
      for (const dir of this.dirs()) {
        try {
          rmdirSync(dir);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT') busy = true;
        }
      }
      if (!busy) return;
      if (pids.length) await this.thaw().catch(() => undefined);
      await sleep(attempt < 10 ? 5 : 20);
    }
    throw new EngineError('INTERNAL', `remove cgroup ${this.name}: still busy`);
  }
}
