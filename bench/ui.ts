// The UI's figures, in Debian's Chromium through web mode against a real engine:
// web mode open → interactive list; a 1,000-container list (first render, one delta);
// terminal throughput of `head -c 50000000 /dev/urandom | base64` with a byte count check,
// its CPU per MB and this machine's ceiling for the command;
// engine + browser CPU with 50 containers sampled at 1 Hz, and idle with none.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDaemon, type TestDaemon } from '../test/helpers/daemon.ts';
import { busyboxTarball } from '../test/helpers/testEngine.ts';
import type {} from '../renderer/main.tsx';
import { openBarePage } from './cdp.ts';
import { childrenOf, descendants, median, range } from './lib.ts';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TICK = 100; // USER_HZ

/** CPU ticks of a process and all its descendants. */
const treeTicks = (pid: number) => [pid, ...descendants(pid)].reduce((a, p) => a + ticksOf(p), 0);

async function cpuPercent(pids: () => number[], seconds: number): Promise<number> {
  const a = pids().reduce((s, p) => s + treeTicks(p), 0);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = pids().reduce((s, p) => s + treeTicks(p), 0);
  return ((b - a) / TICK / seconds) * 100;
}

/** CPU ticks of a process: its own, plus (with reaped) those of the children it has waited for. */
function ticksOf(pid: number, reaped = false): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0;
  }
}


/** In the page: 1,000 containers into the store, then (with deltas) 21 state changes of rows in view. */
async function listFigures(withDeltas: boolean) {
  const bridge = window.berth!.store.bridge as unknown as { receive(m: unknown): void };
  const mk = (i: number) => ({
    id: i.toString(16).padStart(64, '0'), name: `c-${i}`, image: 'busybox', imageId: 'sha256:0', command: 'sleep 1', created: new Date(1e12 + i * 1000).toISOString(),
    state: (i % 3 ? 'running' : 'exited') as 'running' | 'exited', startedAt: new Date().toISOString(), finishedAt: '', exitCode: 0, oomKilled: false, restartCount: 0, labels: { n: String(i) }, ports: [], tty: false, memoryLimit: 0,
  });
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const settle = async () => {
    for (let i = 0; i < 3; i++) await null;
  };
  const all = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [mk(i).id, mk(i)]));
  await frame();
  const t0 = performance.now();
  window.berth!.store.setState({ containers: all, containersLoaded: true });
  await settle();
  const commit = performance.now() - t0;
  await frame();
  const first = { commit, frame: performance.now() - t0 };
  if (!withDeltas) return { first };
  await frame();
  const commits: number[] = [];
  const frames: number[] = [];
  for (let k = 0; k < 21; k++) {
    const c = { ...mk((k * 7) % 20), state: k % 2 ? 'paused' : 'running' };
    const t1 = performance.now();
    bridge.receive({ t: 'event', name: 'container', payload: { id: c.id, summary: c } });
    await settle();
    commits.push(performance.now() - t1);
    await frame();
    frames.push(performance.now() - t1);
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const rows = document.querySelectorAll('[data-testid=container-list] .row').length;
  return { first, deltas: { commit: mid(commits), frame: mid(frames), max: Math.max(...frames), rows } };
}

const FLOOD = 'head -c 50000000 /dev/urandom | base64';
const FLOOD_BYTES = 66_666_668 + 2 * Math.ceil(66_666_668 / 76);

/**
 * `head -c 50000000 /dev/urandom | base64` in a container's shell, timed from Enter until xterm
 * has parsed every byte, with where the CPU went. The same command on a pty read by `script`
 * into /dev/null, with no engine and no UI, is the ceiling of this machine for this command:
 * base64 writes each line into the pty with its own write(2).
 */
async function terminalFlood(daemon: TestDaemon): Promise<void> {
  await daemon.docker(['run', '-d', '--name', 'term', 'busybox', 'sleep', '3600']);
  const page = await openBarePage(FLAGS);
  try {
    await page.goto(daemon.url);
    await page.waitFor(`document.querySelector('.row[data-name=term]')`);
    const click = (sel: string, text: string) => page.evaluate(`[...document.querySelectorAll(${JSON.stringify(sel)})].find((b) => b.textContent.includes(${JSON.stringify(text)})).click()`);
    await page.evaluate(`document.querySelector('.row[data-name=term]').click()`);
    await page.waitFor(`[...document.querySelectorAll('button[role=tab]')].some((b) => b.textContent.includes('Terminal'))`);
    await click('button[role=tab]', 'Terminal');
    await page.waitFor(`[...document.querySelectorAll('button')].some((b) => b.textContent.includes('Open sh'))`);
    await click('button', 'Open sh');
    await page.waitFor(`document.querySelector('.term-tab[data-status=open]')`);
    await page.evaluate(`document.querySelector('.xterm-helper-textarea').focus()`);
    const parsed = () => page.evaluate<number>('window.berth.terminals.list()[0].parsed');
    await page.typeLine('stty -echo; PS1=""');
    await new Promise((r) => setTimeout(r, 500));
    await page.evaluate(`(() => {
      let last = performance.now();
      const f = () => { const now = performance.now(); window.maxGap = Math.max(window.maxGap ?? 0, now - last); last = now; requestAnimationFrame(f); };
      requestAnimationFrame(f);
    })()`);
    const shell = childrenOf(childrenOf(daemon.proc.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('exec'))!)[0];
    const expected = FLOOD_BYTES + 'END-OF-FLOOD\r\n'.length;
    const cpu = () => ({ flood: ticksOf(shell, true), engine: ticksOf(daemon.proc.pid!), browser: treeTicks(page.pid) });
    // Two widths: the default split at 1280 px, narrower than base64's 76-character lines, so
    // xterm wraps each into two rows; and the detail widened with the divider (list at its minimum).
    const screen = `document.querySelector('[data-testid=terminal] .xterm-screen').offsetWidth`;
    const layout = async (key: 'Enter' | 'Home') => {
      const before = await page.evaluate<number>(screen);
      await page.evaluate(`document.querySelector('[role=separator]').dispatchEvent(new KeyboardEvent('keydown', { key: '${key}', bubbles: true }))`);
      await page.waitFor(`${screen} !== ${before}`, 2000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      await page.evaluate(`document.querySelector('.xterm-helper-textarea').focus()`);
      await page.typeLine('echo COLS=$(stty size)');
      await page.waitFor(`/COLS=\\d+ \\d+/.test(window.berth.terminals.text(window.berth.terminals.list()[0].key).split('\\n').filter(Boolean).at(-1) ?? '')`, 5000).catch(() => undefined);
      const text = await page.evaluate<string>(`window.berth.terminals.text(window.berth.terminals.list()[0].key)`);
      return Number(/COLS=\d+ (\d+)\s*$/.exec(text.trimEnd())?.[1] ?? 0);
    };
    type Run = { rates: number[]; gaps: number[]; cols: number; perMb: Record<keyof ReturnType<typeof cpu>, number[]> };
    const runs: Record<'default' | 'wide', Run> = {
      default: { rates: [], gaps: [], cols: 0, perMb: { flood: [], engine: [], browser: [] } },
      wide: { rates: [], gaps: [], cols: 0, perMb: { flood: [], engine: [], browser: [] } },
    };
    const ceiling: number[] = [];
    for (let round = 0; round < 3; round++) {
      let t0 = performance.now();
      const r = spawnSync('script', ['-q', '-c', FLOOD.replace(/(head|base64)/g, 'busybox $1'), '/dev/null'], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error(`script: exit ${r.status}`);
      ceiling.push(FLOOD_BYTES / 1e6 / ((performance.now() - t0) / 1000));

      for (const width of ['default', 'wide'] as const) {
        const run = runs[width];
        run.cols = await layout(width === 'wide' ? 'Home' : 'Enter');
        const before = await parsed();
        await page.evaluate('window.maxGap = 0');
        const c0 = cpu();
        t0 = performance.now();
        await page.typeLine(`${FLOOD}; echo END-OF-FLOOD`);
        await page.waitFor(`window.berth.terminals.list()[0].parsed >= ${before + expected}`, 300_000, 100);
        const secs = (performance.now() - t0) / 1000;
        const c1 = cpu();
        await new Promise((r) => setTimeout(r, 500));
        const got = (await parsed()) - before;
        if (got !== expected) throw new Error(`terminal: expected ${expected} bytes, xterm parsed ${got}`);
        run.rates.push(got / 1e6 / secs);
        for (const k of Object.keys(run.perMb) as (keyof Run['perMb'])[]) run.perMb[k].push((((c1[k] - c0[k]) / TICK) * 1000) / (got / 1e6));
        run.gaps.push(await page.evaluate<number>('window.maxGap'));
      }
    }
    await layout('Enter');
    const f = (xs: number[], d = 1) => `${median(xs).toFixed(d)} ${range(xs, d)}`;
    for (const [width, run] of Object.entries(runs)) {
      const where = width === 'wide' ? 'detail widened' : 'default split, lines wrap';
      console.log(`terminal (${run.cols} columns, ${where}): ${(FLOOD_BYTES / 1e6).toFixed(1)} MB parsed by xterm, every byte, at ${f(run.rates)} MB/s; longest frame gap ${f(run.gaps, 0)} ms`);
      console.log(`terminal (${run.cols} columns): CPU ms per MB: the command itself ${f(run.perMb.flood, 0)}, engine ${f(run.perMb.engine, 0)}, browser ${f(run.perMb.browser, 0)} (kernel workers not counted)`);
    }
    const best = Math.max(median(runs.default.rates), median(runs.wide.rates));
    console.log(`terminal: the same command on a pty into /dev/null, no engine or UI: ${f(ceiling)} MB/s; Berth reaches ${((best / median(ceiling)) * 100).toFixed(0)}% of it`);
  } finally {
    await page.close();
    await daemon.docker(['rm', '-f', 'term']);
  }
}

/** `bench/ui.ts terminal` measures only the terminal flood. */
const only = process.argv[2];
if (only && only !== 'terminal') throw new Error(`usage: bench/ui.ts [terminal], got ${only}`);

const daemon = await startDaemon({ web: true });
if (only === 'terminal') {
  try {
    await daemon.docker(['import', busyboxTarball(), 'busybox:latest']);
    await terminalFlood(daemon);
  } finally {
    await daemon.stop();
  }
  process.exit(0);
}
const launch = () => chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
/** A 1280×800 page for the UI. */
async function uiPage(b: Browser): Promise<Page> {
  const p = await b.newPage({ viewport: { width: 1280, height: 800 } });
  // tsx keeps function names with a __name helper that the page does not have.
  await p.addInitScript('window.__name = (f) => f');
  return p;
}
const browser = await launch();
try {
  await daemon.docker(['import', busyboxTarball(), 'busybox:latest']);
  const page = await uiPage(browser);

  // 1. Open → interactive list.
  const opens: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await page.goto(daemon.url);
    await page.locator('.empty, [data-testid=container-list]').first().waitFor();
    opens.push(performance.now() - t0);
  }
  console.log(`web mode: URL open → interactive container list: median ${median(opens).toFixed(0)} ms (${opens.map((x) => x.toFixed(0)).join(', ')})`);

  // 2. 1,000 containers through the event path the engine uses. React renders a store change in
  // a microtask, so "commit" is taken after the microtasks that follow it, and "frame" once the
  // browser has drawn the result (the task after the next animation frame). The first render is
  // measured on five page loads, the first in a browser that has never run the UI.
  const firsts: { commit: number; frame: number }[] = [];
  let deltas = { commit: 0, frame: 0, max: 0, rows: 0 };
  for (let load = 0; load < 5; load++) {
    const fresh = load === 0 ? await launch() : undefined;
    const p = fresh ? await uiPage(fresh) : page;
    try {
      await p.goto(daemon.url);
      await p.locator('.empty, [data-testid=container-list]').first().waitFor();
      await p.waitForTimeout(500);
      const r = await p.evaluate(listFigures, load === 4);
      firsts.push(r.first);
      if (r.deltas) deltas = r.deltas;
    } finally {
      await fresh?.close();
    }
  }
  const ff = (k: 'commit' | 'frame') => `${median(firsts.map((x) => x[k])).toFixed(1)} ${range(firsts.map((x) => x[k]))}`;
  console.log(`1,000 containers, first render: ${ff('commit')} ms to React's commit, ${ff('frame')} ms to the drawn frame (5 page loads; the first in a new browser: ${firsts[0].commit.toFixed(1)} / ${firsts[0].frame.toFixed(1)} ms)`);
  console.log(`1,000 containers, an event delta: ${deltas.commit.toFixed(1)} ms to the commit, ${deltas.frame.toFixed(1)} ms to the drawn frame (median of 21, max ${deltas.max.toFixed(1)}); ${deltas.rows} rows in the DOM`);
  await page.evaluate(() => window.berth!.store.setState({ containers: {} }));
  await page.reload();

  // 3. Terminal throughput, in a browser the driver does not slow down (see cdp.ts).
  await page.goto('about:blank');
  await terminalFlood(daemon);
  await page.goto(daemon.url);

  // 4. CPU: idle, then 50 running containers sampled at 1 Hz with the list open.
  const chromePids = () => childrenOf(process.pid).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/usr/lib/chromium/chromium'));
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
