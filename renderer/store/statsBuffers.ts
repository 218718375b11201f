// Stats history per container, outside React state: samples arrive once a second for every
// running container and are read by sparklines and charts on animation frames.
import type { StatsMark, StatsSample } from '../../common/views.ts';

const KEEP_MS = 15 * 60_000;

export class StatsBuffers {
  private readonly samples = new Map<string, StatsSample[]>();
  private readonly marks = new Map<string, StatsMark[]>();
  /** Bumped on every change so readers on animation frames can skip redraws. */
  version = 0;
  private readonly listeners = new Set<() => void>();

  /** Called after every change (a batch of samples is one change). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }

  add(batch: StatsSample[]): void {
    const cutoff = Date.now() - KEEP_MS;
    for (const s of batch) {
      const list = this.samples.get(s.id) ?? [];
      list.push(s);
      let drop = 0;
      while (drop < list.length && list[drop].t < cutoff) drop++;
      if (drop) list.splice(0, drop);
      this.samples.set(s.id, list);
    }
    this.changed();
  }

  /** Replaces a container's history with the host's (opening a graph late). */
  seed(id: string, samples: StatsSample[], marks: StatsMark[]): void {
    const newer = (this.samples.get(id) ?? []).filter((s) => s.t > (samples.at(-1)?.t ?? 0));
    this.samples.set(id, [...samples, ...newer]);
    this.marks.set(id, marks);
    this.changed();
  }

  mark(m: StatsMark): void {
    this.marks.set(m.id, [...(this.marks.get(m.id) ?? []), m]);
    this.changed();
  }

  get(id: string): StatsSample[] {
    return this.samples.get(id) ?? [];
  }

  marksOf(id: string): StatsMark[] {
    return this.marks.get(id) ?? [];
  }

  latest(id: string): StatsSample | undefined {
    return this.samples.get(id)?.at(-1);
  }

  forget(id: string): void {
    this.samples.delete(id);
    this.marks.delete(id);
  }

  /** Another engine is shown: none of these containers are. */
  clear(): void {
    this.samples.clear();
    this.marks.clear();
    this.changed();
  }
}
