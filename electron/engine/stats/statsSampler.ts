// Samples every running container once per interval and keeps the last 15 minutes per container
// in a ring buffer, so a graph opened late still has history. Costs nothing with no containers
// running: the timer runs only while something is running or someone listens.
import { availableParallelism } from 'node:os';
import type { StatsMark, StatsSample } from '../../../common/views.ts';
import type { UsageFiles } from '../cgroups/cgroupManager.ts';
import type { Disposer } from '../events/eventBus.ts';
import { HostCpu, UsageProbe, type Usage } from './usageProbe.ts';

export interface StatsSource {
  running(): string[];
  /** where a running container's counters are (undefined once it is gone) */
  target(id: string): { files: UsageFiles; pid: number } | undefined;
}

interface Raw { t: number; cpu: number; system: number; rx: number; tx: number; blkR: number; blkW: number }

class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  constructor(private readonly cap: number) {}
  push(x: T): void {
    if (this.items.length < this.cap) this.items.push(x);
    else {
      this.items[this.start] = x;
      this.start = (this.start + 1) % this.cap;
    }
  }
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}

export class StatsSampler {
  private readonly history = new Map<string, { samples: Ring<StatsSample>; marks: StatsMark[]; last?: Raw }>();
  /** open counter files per running container, reopened when its init changes (a restart) */
  private readonly probes = new Map<string, UsageProbe>();
  private readonly hostCpu = new HostCpu();
  private readonly cpus = availableParallelism();
  private readonly listeners = new Set<(s: StatsSample[]) => void>();
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly source: StatsSource, private readonly intervalMs = 1000, private readonly keepMs = 15 * 60_000) {}

  /** Begins sampling; call wake() when containers start so an idle sampler resumes. */
  wake(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  on(listener: (s: StatsSample[]) => void): Disposer {
    this.listeners.add(listener);
    this.wake();
    return () => this.listeners.delete(listener);
  }

  mark(m: StatsMark): void {
    const h = this.entry(m.id);
    h.marks.push(m);
    while (h.marks.length && h.marks[0].t < Date.now() - this.keepMs) h.marks.shift();
  }

  forget(id: string): void {
    this.history.delete(id);
    this.dropProbe(id);
  }

  private dropProbe(id: string): void {
    this.probes.get(id)?.close();
    this.probes.delete(id);
  }

  get(id: string): { samples: StatsSample[]; marks: StatsMark[] } {
    const h = this.history.get(id);
    return h ? { samples: h.samples.toArray(), marks: [...h.marks] } : { samples: [], marks: [] };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const id of [...this.probes.keys()]) this.dropProbe(id);
    this.hostCpu.close();
  }

  private entry(id: string) {
    let h = this.history.get(id);
    if (!h) {
      h = { samples: new Ring(Math.ceil(this.keepMs / this.intervalMs)), marks: [] };
      this.history.set(id, h);
    }
    return h;
  }

  /** One round: read every running container's counters, turn them into rates. */
  async tick(): Promise<StatsSample[]> {
    if (this.busy) return [];
    this.busy = true;
    try {
      const ids = this.source.running();
      if (!ids.length && !this.listeners.size) this.stop();
      for (const id of this.probes.keys()) if (!ids.includes(id)) this.dropProbe(id);
      const out: StatsSample[] = [];
      if (ids.length) {
        const system = this.hostCpu.ns();
        for (const id of ids) {
          const probe = this.probe(id);
          if (probe) out.push(this.sample(id, probe.read(), system));
        }
      }
      if (out.length) for (const l of this.listeners) l(out);
      return out;
    } finally {
      this.busy = false;
    }
  }

  private probe(id: string): UsageProbe | undefined {
    const target = this.source.target(id);
    let probe = this.probes.get(id);
    if (probe && probe.pid !== target?.pid) {
      this.dropProbe(id);
      probe = undefined;
    }
    if (!probe && target) {
      probe = new UsageProbe(target.files, target.pid);
      this.probes.set(id, probe);
    }
    return probe;
  }

  private sample(id: string, u: Usage, system: number): StatsSample {
    const h = this.entry(id);
    const raw: Raw = { t: Date.now(), cpu: u.cpuNs, system, rx: u.rx, tx: u.tx, blkR: u.blkRead, blkW: u.blkWrite };
    const p = h.last;
    const dt = p ? (raw.t - p.t) / 1000 : 0;
    const rate = (now: number, before: number | undefined) => (p && dt > 0 && before !== undefined ? Math.max(0, (now - before) / dt) : 0);
    const sysDelta = p ? raw.system - p.system : 0;
    const sample: StatsSample = {
      id, t: raw.t,
      // Docker's formula: container CPU time over host CPU time, times the number of CPUs.
      cpuPercent: p && sysDelta > 0 ? Math.max(0, ((raw.cpu - p.cpu) / sysDelta) * this.cpus * 100) : 0,
      memory: Math.max(0, u.memUsage - u.memInactiveFile),
      memoryLimit: u.memLimit,
      rxBytes: raw.rx, txBytes: raw.tx, rxRate: rate(raw.rx, p?.rx), txRate: rate(raw.tx, p?.tx),
      blkRead: raw.blkR, blkWrite: raw.blkW, blkReadRate: rate(raw.blkR, p?.blkR), blkWriteRate: rate(raw.blkW, p?.blkW),
      pids: u.pids,
    };
    h.last = raw;
    h.samples.push(sample);
    return sample;
  }
}
