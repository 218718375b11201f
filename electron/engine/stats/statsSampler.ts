// Samples every running container once per interval and keeps the last 15 minutes per container
// in a ring buffer, so a graph opened late still has history. Costs nothing with no containers
// running: the timer runs only while something is running or someone listens.
import type { StatsMark, StatsSample } from '../../../common/views.ts';
import type { ContainerStats } from '../../../common/models.ts';
import type { Disposer } from '../events/eventBus.ts';

export interface StatsSource {
  running(): string[];
  read(id: string): Promise<ContainerStats & { networks: Record<string, { rx_bytes: number; tx_bytes: number }> }>;
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
  }

  get(id: string): { samples: StatsSample[]; marks: StatsMark[] } {
    const h = this.history.get(id);
    return h ? { samples: h.samples.toArray(), marks: [...h.marks] } : { samples: [], marks: [] };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private entry(id: string) {
    let h = this.history.get(id);
    if (!h) {
      h = { samples: new Ring(Math.ceil(this.keepMs / this.intervalMs)), marks: [] };
      this.history.set(id, h);
    }
    return h;
  }

  /** One round: read all running containers in parallel, turn counters into rates. */
  async tick(): Promise<StatsSample[]> {
    if (this.busy) return [];
    this.busy = true;
    try {
      const ids = this.source.running();
      if (!ids.length && !this.listeners.size) this.stop();
      const out: StatsSample[] = [];
      await Promise.all(ids.map(async (id) => {
        const s = await this.source.read(id).catch(() => undefined);
        if (s) out.push(this.sample(id, s));
      }));
      if (out.length) for (const l of this.listeners) l(out);
      return out;
    } finally {
      this.busy = false;
    }
  }

  private sample(id: string, s: Awaited<ReturnType<StatsSource['read']>>): StatsSample {
    const h = this.entry(id);
    const nets = Object.values(s.networks);
    const raw: Raw = {
      t: Date.now(), cpu: s.cpu.totalNs, system: s.cpu.systemNs_host,
      rx: nets.reduce((a, n) => a + n.rx_bytes, 0), tx: nets.reduce((a, n) => a + n.tx_bytes, 0),
      blkR: s.blkio.filter((b) => b.op === 'read').reduce((a, b) => a + b.value, 0),
      blkW: s.blkio.filter((b) => b.op === 'write').reduce((a, b) => a + b.value, 0),
    };
    const p = h.last;
    const dt = p ? (raw.t - p.t) / 1000 : 0;
    const rate = (now: number, before: number | undefined) => (p && dt > 0 && before !== undefined ? Math.max(0, (now - before) / dt) : 0);
    const sysDelta = p ? raw.system - p.system : 0;
    const sample: StatsSample = {
      id, t: raw.t,
      // Docker's formula: container CPU time over host CPU time, times the number of CPUs.
      cpuPercent: p && sysDelta > 0 ? Math.max(0, ((raw.cpu - p.cpu) / sysDelta) * s.cpu.onlineCpus * 100) : 0,
      memory: Math.max(0, s.memory.usage - s.memory.inactiveFile),
      memoryLimit: s.memory.limit,
      rxBytes: raw.rx, txBytes: raw.tx, rxRate: rate(raw.rx, p?.rx), txRate: rate(raw.tx, p?.tx),
      blkRead: raw.blkR, blkWrite: raw.blkW, blkReadRate: rate(raw.blkR, p?.blkR), blkWriteRate: rate(raw.blkW, p?.blkW),
      pids: s.pids.current,
    };
    h.last = raw;
    h.samples.push(sample);
    return sample;
  }
}
