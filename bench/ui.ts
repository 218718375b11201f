// The UI's figures, in Debian's Chromium through web mode against a real engine:
// web mode open → interactive list; a 1,000-container list (first render, one delta);
// terminal throughput of `head -c 50000000 /dev/urandom | base64` with a byte count check;
// engine + browser CPU with 50 containers sampled at 1 Hz, and idle with none.
import { readdirSync, readFileSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { startDaemon } from '../test/helpers/daemon.ts';
import { busyboxTarball } from '../test/helpers/testEngine.ts';
import type {} from '../renderer/main.tsx';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const TICK = 100; // USER_HZ

/** CPU ticks of a process and all its descendants. */
function treeTicks(pid: number): number {
  const kids = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      const ppid = Number(f[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch {
      /* gone */
    }
  }
  const walk = (p: number): number => (ticks.get(p) ?? 0) + (kids.get(p) ?? []).reduce((a, k) => a + walk(k), 0);
  return walk(pid);
}

async function cpuPercent(pids: () => number[], seconds: number): Promise<number> {
  const a = pids().reduce((s, p) => s + treeTicks(p), 0);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = pids().reduce((s, p) => s + treeTicks(p), 0);
  return ((b - a) / TICK / seconds) * 100;
}

const daemon = await startDaemon({ web: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
try {
  await daemon.docker(['import', busyboxTarball(), 'busybox:latest']);
  const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // tsx keeps function names with a __name helper that the page does not have.
  await page.addInitScript('window.__name = (f) => f');

  // 1. Open → interactive list.
  const opens: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await page.goto(daemon.url);
    await page.locator('.empty, [data-testid=container-list]').first().waitFor();
    opens.push(performance.now() - t0);
  }
  console.log(`web mode: URL open → interactive container list: median ${median(opens).toFixed(0)} ms (${opens.map((x) => x.toFixed(0)).join(', ')})`);

  // 2. 1,000 containers through the event path the engine uses.
  const list = await page.evaluate(async () => {
    const bridge = window.berth!.store.bridge as unknown as { receive(m: unknown): void };
    const mk = (i: number) => ({
      id: i.toString(16).padStart(64, '0'), name: `c-${i}`, image: 'busybox', imageId: 'sha256:0', command: 'sleep 1', created: new Date(1e12 + i * 1000).toISOString(),
      state: (i % 3 ? 'running' : 'exited') as 'running' | 'exited', startedAt: new Date().toISOString(), finishedAt: '', exitCode: 0, oomKilled: false, restartCount: 0, labels: { n: String(i) }, ports: [], tty: false, memoryLimit: 0,
    });
    const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const t0 = performance.now();
    const all = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [mk(i).id, mk(i)]));
    window.berth!.store.setState({ containers: all, containersLoaded: true });
    const first = performance.now() - t0;
    await frame();
    const firstPaint = performance.now() - t0;
    const deltas: number[] = [];
    for (let k = 0; k < 20; k++) {
      const c = { ...mk(k * 37), state: k % 2 ? 'paused' : 'running' };
      const t1 = performance.now();
      bridge.receive({ t: 'event', name: 'container', payload: { id: c.id, summary: c } });
      deltas.push(performance.now() - t1);
      await frame();
    }
    deltas.sort((a, b) => a - b);
    return { first, firstPaint, deltaMedian: deltas[10], deltaMax: deltas[19], rows: document.querySelectorAll('[data-testid=container-list] .row').length };
  });
  console.log(`1,000 containers: first render ${list.first.toFixed(1)} ms (to next frame ${list.firstPaint.toFixed(1)} ms), event delta median ${list.deltaMedian.toFixed(1)} ms, max ${list.deltaMax.toFixed(1)} ms; ${list.rows} rows in the DOM`);
  await page.evaluate(() => window.berth!.store.setState({ containers: {} }));
  await page.reload();

  // 3. Terminal throughput.
  await daemon.docker(['run', '-d', '--name', 'term', 'busybox', 'sleep', '3600']);
  await page.locator('.row[data-name=term]').click();
  await page.click('button[role=tab]:has-text("Terminal")');
  await page.click('button:has-text("Open sh")');
  await page.locator('.term-tab[data-status=open]').waitFor();
  await page.click('[data-testid=terminal]');
  const received = () => page.evaluate(() => window.berth!.terminals.list()[0].received);
  await page.keyboard.type('stty -echo; PS1=""\n');
  await page.waitForTimeout(500);
  const before = await received();
  await page.evaluate(() => {
    const w = window as unknown as { maxGap: number };
    w.maxGap = 0;
    let last = performance.now();
    const f = () => {
      const now = performance.now();
      w.maxGap = Math.max(w.maxGap, now - last);
      last = now;
      requestAnimationFrame(f);
    };
    requestAnimationFrame(f);
  });
  const t0 = performance.now();
  await page.keyboard.type('head -c 50000000 /dev/urandom | base64; echo END-OF-FLOOD\n');
  const expected = 66_666_668 + 2 * Math.ceil(66_666_668 / 76) + 'END-OF-FLOOD\r\n'.length;
  await page.waitForFunction((n) => window.berth!.terminals.list()[0].received >= n, before + expected, { timeout: 300_000, polling: 200 });
  const secs = (performance.now() - t0) / 1000;
  await page.waitForTimeout(500);
  const got = (await received()) - before;
  const gap = await page.evaluate(() => (window as unknown as { maxGap: number }).maxGap);
  console.log(`terminal: ${(got / 1e6).toFixed(1)} MB in ${secs.toFixed(1)} s = ${(got / 1e6 / secs).toFixed(1)} MB/s; bytes expected ${expected}, received ${got} (${got === expected ? 'none lost' : `diff ${got - expected}`}); longest frame gap ${gap.toFixed(0)} ms`);
  await daemon.docker(['rm', '-f', 'term']);
  await page.reload();

  // 4. CPU: idle, then 50 running containers sampled at 1 Hz with the list open.
  const chromePids = () => readdirSync('/proc').filter((x) => /^\d+$/.test(x)).map(Number).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/usr/lib/chromium/chromium') && readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid);
    } catch {
      return false;
    }
  });
  const all = () => [daemon.proc.pid!, ...chromePids()];
  await page.waitForTimeout(2000);
  const idle = await cpuPercent(all, 20);
  console.log(`idle (no containers, UI open): engine + browser ${idle.toFixed(2)}% of one core`);
  for (let i = 0; i < 50; i++) await daemon.docker(['run', '-d', 'busybox', 'sleep', '3600']);
  await page.waitForTimeout(3000);
  const busy = await cpuPercent(all, 30);
  const engineOnly = await cpuPercent(() => [daemon.proc.pid!], 20);
  console.log(`50 running containers, stats at 1 Hz, UI open: engine + browser ${busy.toFixed(2)}% of one core (engine alone ${engineOnly.toFixed(2)}%; shims included)`);
} finally {
  await browser.close();
  await daemon.stop();
}
