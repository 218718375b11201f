// A clock that moves only when a test says so (advance), for restart back-off and stop timeouts.
import type { Clock } from '../clock.ts';

export class FakeClock implements Clock {
  private t: number;
  private readonly due: { at: number; fn: () => void; seq: number }[] = [];
  private seq = 0;

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  timer(ms: number, fn: () => void): () => void {
    const entry = { at: this.t + Math.max(0, ms), fn, seq: this.seq++ };
    this.due.push(entry);
    return () => {
      const i = this.due.indexOf(entry);
      if (i >= 0) this.due.splice(i, 1);
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timer(ms, resolve));
  }

  /** Moves time forward, running what falls due in order, with the promise jobs each one starts. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.due.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.due[0];
      if (!next || next.at > end) break;
      this.due.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }

  get pending(): number {
    return this.due.length;
  }
}

/** Lets promise chains and I/O callbacks already queued run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
