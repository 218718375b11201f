// The clock seam: what time it is and when to do something later. The engine's restart
// back-off, stop timeouts and recorded times go through it, so tests can move time forward.

export interface Clock {
  /** ms since the epoch */
  now(): number;
  /** Runs fn after ms (never keeping the process alive); the returned function cancels it. */
  timer(ms: number, fn: () => void): () => void;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  timer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

export const isoTime = (clock: Clock) => new Date(clock.now()).toISOString();
