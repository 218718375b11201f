// A unit test's check that it left nothing running: no timer keeping the process alive, no
// socket, server, pipe or child process more than when it began, and no listener left on the
// buses it names. Call at the start of a test; the check runs when the test ends.
import type { TestContext } from 'node:test';

const WATCHED = ['Timeout', 'TCPSocketWrap', 'TCPServerWrap', 'PipeWrap', 'PipeServerWrap', 'ProcessWrap', 'TTYWrap', 'FSEventWrap', 'SignalWrap', 'UDPWrap'];

function counts(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (WATCHED.includes(r)) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

export function noLeftovers(t: TestContext, listeners: Record<string, () => number> = {}): void {
  t.after(leftoverCheck(listeners));
}

/** The same check for a whole suite: take it in before(), run what it returns in after(). */
export function leftoverCheck(listeners: Record<string, () => number> = {}): () => Promise<void> {
  const before = counts();
  return async () => {
    // Closing handles go away within a few turns of the loop.
    let extra: string[] = [];
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setImmediate(r));
      const now = counts();
      extra = [...now].filter(([k, n]) => n > (before.get(k) ?? 0)).map(([k, n]) => `${n - (before.get(k) ?? 0)} ${k}`);
      if (!extra.length) break;
      if (i > 10) await new Promise((r) => setTimeout(r, 10));
    }
    const left = Object.entries(listeners).filter(([, n]) => n() > 0).map(([k, n]) => `${n()} ${k}`);
    if (extra.length || left.length) throw new Error(`the test left behind: ${[...extra, ...left].join(', ')}`);
  };
}
