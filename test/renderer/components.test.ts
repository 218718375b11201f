// Component tests: the real App rendered into jsdom over a FakeBridge, a fresh store per test.
// They click and type like a user and check what the DOM shows and which contract calls leave.
// Run alone with TSX_TSCONFIG_PATH=renderer/tsconfig.json (the renderer's JSX settings), as npm test does.
import { installDom, button, click, key, typeInto } from '../helpers/dom.ts';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import type { MethodName } from '../../common/contract.ts';
import type { ContainerSummary, JobView } from '../../common/views.ts';
import { App } from '../../renderer/App.tsx';
import type { BridgeResult } from '../../renderer/bridge.ts';
import { createAppStore } from '../../renderer/store/appStore.ts';
import { StoreContext } from '../../renderer/store/context.tsx';
import { TerminalContext } from '../../renderer/features/terminal/TerminalPanel.tsx';
import type { TerminalSessions } from '../../renderer/features/terminal/terminalSessions.ts';
import { FakeBridge } from '../../renderer/store/fakeBridge.ts';

const { document } = installDom().window;

const summary = (id: string, name: string, over: Partial<ContainerSummary> = {}): ContainerSummary => ({
  id: id.padEnd(64, '0'), name, image: 'busybox', imageId: 'sha256:1', command: 'sh', created: `2026-01-0${id.length}T00:00:00Z`, state: 'running',
  startedAt: new Date(Date.now() - 10 * 60_000).toISOString(), finishedAt: '', exitCode: 0, oomKilled: false, restartCount: 0, labels: {}, ports: [], tty: false, memoryLimit: 0, ...over,
});
const ok = (value: unknown) => ({ ok: true as const, value });
const statsSample = (id: string, t: number, cpuPercent: number) => ({
  id, t, cpuPercent, memory: 1, memoryLimit: 0, rxBytes: 0, txBytes: 0, rxRate: 0, txRate: 0, blkRead: 0, blkWrite: 0, blkReadRate: 0, blkWriteRate: 0, pids: 1,
});

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

async function mount(answers: Partial<Record<MethodName, (args: never) => BridgeResult<unknown>>> = {}) {
  const bridge = new FakeBridge({
    'system.info': () => ok({ cpus: 2 }),
    'containers.list': () => ok([summary('a', 'web'), summary('bb', 'db', { state: 'exited', image: 'postgres', labels: { tier: 'data' } }), summary('ccc', 'cache', { image: 'redis' })]),
    'images.list': () => ok([]),
    'jobs.list': () => ok([]),
    'events.recent': () => ok([]),
    ...answers,
  });
  const store = createAppStore(bridge);
  // xterm needs a real layout engine; the terminal tab is covered by the browser tests.
  const none: never[] = [];
  const terminals = { subscribe: () => () => undefined, list: () => none, mount() {}, fitAll() {}, create: () => '', close() {}, dispose() {} } as unknown as TerminalSessions;
  const host = document.createElement('div');
  document.body.append(host);
  let root!: Root;
  await act(async () => {
    root = createRoot(host);
    root.render(createElement(StoreContext.Provider, { value: store }, createElement(TerminalContext.Provider, { value: terminals }, createElement(App))));
  });
  cleanup = () => {
    act(() => root.unmount());
    terminals.dispose();
    store.dispose();
    host.remove();
  };
  const open = async () => act(async () => bridge.connect('open'));
  const names = () => [...host.querySelectorAll('[data-testid=container-list] .row[data-name]')].map((r) => r.getAttribute('data-name'));
  const calls = (method: string) => bridge.calls.filter((c) => c.method === method).map((c) => c.args);
  return { bridge, store, host, open, names, calls };
}

test('the list shows a skeleton until connected, then the containers newest first', async () => {
  const ui = await mount();
  assert.ok(ui.host.querySelector('.skeleton[aria-busy=true]'), 'a loading state before the engine answers');
  assert.match(ui.host.querySelector('[role=alert]')?.textContent ?? '', /Connecting to the engine/);
  await ui.open();
  assert.equal(ui.host.querySelector('.skeleton'), null);
  assert.equal(ui.host.querySelector('[role=alert]'), null, 'no banner once connected');
  assert.deepEqual(ui.names(), ['cache', 'db', 'web']);
  const web = ui.host.querySelector('.row[data-name=web]')!;
  assert.match(web.textContent!, /Up 10 minutes/);
  assert.ok(web.querySelector('[aria-label="stop web"]'), 'a running container offers stop');
  assert.ok(ui.host.querySelector('.row[data-name=db] [aria-label="start db"]'), 'an exited one offers start');
});

test('an empty engine shows the empty state with a way to run something', async () => {
  const ui = await mount({ 'containers.list': () => ok([]) });
  await ui.open();
  assert.match(ui.host.querySelector('.empty')!.textContent!, /No containers yet/);
  await act(async () => click(button(ui.host, 'Run hello-world')));
  assert.equal((ui.host.querySelector('form[aria-label="run a container"] input[name=image]') as HTMLInputElement).value, 'hello-world');
});

test('search and the state filter narrow the list; a filter that matches nothing says so', async () => {
  const ui = await mount();
  await ui.open();
  await act(async () => typeInto(ui.host.querySelector('input[aria-label="search containers"]')!, 'tier=data'));
  assert.deepEqual(ui.names(), ['db'], 'labels are searchable');
  await act(async () => typeInto(ui.host.querySelector('input[aria-label="search containers"]')!, 'redis'));
  assert.deepEqual(ui.names(), ['cache'], 'images are searchable');
  await act(async () => typeInto(ui.host.querySelector('input[aria-label="search containers"]')!, ''));
  const state = ui.host.querySelector('select[aria-label="state filter"]') as HTMLSelectElement;
  await act(async () => {
    state.value = 'exited';
    state.dispatchEvent(new (installDom().window.Event)('change', { bubbles: true }));
  });
  assert.deepEqual(ui.names(), ['db']);
  await act(async () => typeInto(ui.host.querySelector('input[aria-label="search containers"]')!, 'nothing-like-this'));
  assert.match(ui.host.querySelector('.empty')!.textContent!, /No container matches this filter/);
  await act(async () => click(button(ui.host, 'Clear filter')));
  assert.equal(ui.names().length, 3);
});

test('multi-select acts on every checked container; remove asks first and names them', async () => {
  const ui = await mount();
  await ui.open();
  await act(async () => click(ui.host.querySelector('input[aria-label="select web"]')));
  await act(async () => click(ui.host.querySelector('input[aria-label="select cache"]')));
  assert.match(ui.host.querySelector('[aria-label="bulk actions"]')!.textContent!, /2 selected/);
  await act(async () => click(button(ui.host.querySelector('[aria-label="bulk actions"]')!, 'Stop')));
  assert.deepEqual(ui.calls('containers.stop').map((a) => (a as { id: string }).id.slice(0, 3)).sort(), ['a00', 'ccc']);
  assert.match(ui.host.querySelector('.toasts')!.textContent!, /web stopped/);

  await act(async () => click(button(ui.host.querySelector('[aria-label="bulk actions"]')!, 'Remove')));
  const dialog = ui.host.querySelector('[role=alertdialog]')!;
  assert.match(dialog.textContent!, /Remove 2 containers\?/);
  assert.match(dialog.textContent!, /web, cache|cache, web/);
  await act(async () => click(button(dialog, 'Cancel')));
  assert.equal(ui.host.querySelector('[role=alertdialog]'), null);
  assert.equal(ui.calls('containers.remove').length, 0, 'cancel removes nothing');
  await act(async () => click(button(ui.host.querySelector('[aria-label="bulk actions"]')!, 'Remove')));
  await act(async () => click(button(ui.host.querySelector('[role=alertdialog]')!, 'Remove')));
  assert.equal(ui.calls('containers.remove').length, 2);
  assert.equal(ui.host.querySelector('[aria-label="bulk actions"]'), null, 'removed containers leave the selection');
});

test('keyboard: arrows move the selection and Delete asks to remove the selected container', async () => {
  const ui = await mount();
  await ui.open();
  const pane = ui.host.querySelector('section[aria-label=containers]')!;
  await act(async () => key(pane, 'ArrowDown'));
  assert.equal(ui.store.getState().selected, summary('ccc', '').id);
  await act(async () => key(pane, 'ArrowDown'));
  assert.equal(ui.host.querySelector('.row[aria-selected=true]')?.getAttribute('data-name'), 'db');
  await act(async () => key(pane, 'Delete'));
  assert.match(ui.host.querySelector('[role=alertdialog]')!.textContent!, /Remove db\?/);
  assert.ok(ui.host.querySelector('section.detail-pane, [aria-label^="container"]'), 'the selected container opens its detail');
});

test('the border between list and detail moves with the keyboard, stays within limits and is remembered', async () => {
  const ui = await mount();
  await ui.open();
  assert.equal(ui.host.querySelector('[role=separator]'), null, 'no divider without a detail');
  const pane = ui.host.querySelector('section[aria-label=containers]')!;
  await act(async () => key(pane, 'ArrowDown'));
  const divider = ui.host.querySelector('[role=separator][aria-label="resize the containers list"]')!;
  const split = () => (ui.host.querySelector('.split') as HTMLElement).style.getPropertyValue('--list');
  assert.equal(divider.getAttribute('aria-valuenow'), '44');
  assert.equal(split(), '44%');
  await act(async () => key(divider, 'ArrowLeft'));
  await act(async () => key(divider, 'ArrowLeft'));
  assert.equal(split(), '40%', 'the list narrows, the detail widens');
  assert.equal(localStorage.getItem('berth.listShare'), '40');
  await act(async () => key(divider, 'Home'));
  await act(async () => key(divider, 'ArrowLeft'));
  assert.equal(divider.getAttribute('aria-valuenow'), '20', 'never narrower than the minimum');
  await act(async () => key(divider, 'End'));
  assert.equal(split(), '75%');
  await act(async () => key(divider, 'Enter'));
  assert.equal(split(), '44%', 'Enter resets');
  assert.equal(ui.store.getState().selected, summary('ccc', '').id, 'the keys did not move the list selection');
  localStorage.removeItem('berth.listShare');
});

test('a compose project is one row over its containers: folds, counts, and acts on them all', async () => {
  const shop = { 'com.docker.compose.project': 'shop' };
  const ui = await mount({
    'containers.list': () => ok([
      summary('a', 'shop-web-1', { labels: shop, ports: [{ ip: '127.0.0.1', privatePort: 80, publicPort: 8080, type: 'tcp' }] }),
      summary('bb', 'shop-db-1', { labels: shop, state: 'exited' }),
      summary('ccc', 'lone'),
      summary('dddd', 'shop-cache-1', { labels: shop }),
    ]),
  });
  await ui.open();
  const project = () => ui.host.querySelector('.row.group[data-project=shop]')!;
  const rows = () => [...ui.host.querySelectorAll('[data-testid=container-list] .row')].map((r) => r.getAttribute('data-name') ?? `[${r.getAttribute('data-project')}]`);
  assert.deepEqual(rows(), ['[shop]', 'shop-cache-1', 'shop-db-1', 'shop-web-1', 'lone'], 'the project sits where its newest container would, its containers under it');
  assert.match(project().textContent!, /2\/3 up/);
  assert.match(project().textContent!, /3 containers/);
  assert.ok(project().querySelector('a'), 'the published port of a member is a link on the project row');

  await act(async () => click(project().querySelector('[aria-label="fold shop"]')));
  assert.deepEqual(rows(), ['[shop]', 'lone'], 'folded: only the project row is left');
  assert.equal(project().getAttribute('aria-expanded'), 'false');

  await act(async () => click(project().querySelector('[aria-label="stop shop"]')));
  assert.deepEqual(ui.calls('containers.stop').map((a) => (a as { id: string }).id).sort(), [summary('a', '').id, summary('dddd', '').id], 'stop all stops the running ones');
  await act(async () => click(project().querySelector('input[type=checkbox]')));
  assert.deepEqual(Object.keys(ui.store.getState().checked).sort(), [summary('a', '').id, summary('bb', '').id, summary('dddd', '').id]);
  await act(async () => click(project().querySelector('[aria-label="remove shop"]')));
  assert.match(ui.host.querySelector('[role=alertdialog]')?.textContent ?? '', /Remove 3 containers\?/, 'removal asks first');
  await act(async () => click(project().querySelector('[aria-label="unfold shop"]')));
  assert.equal(ui.names().length, 4);
});

test('column headers sort the list, a second click reverses it, and the order is kept', async () => {
  const ui = await mount();
  await ui.open();
  const header = (label: string) => [...ui.host.querySelectorAll('[role=columnheader]')].find((h) => h.textContent!.startsWith(label))!;
  const sortBy = (label: string) => act(async () => click(header(label).querySelector('button')));
  assert.deepEqual(ui.names(), ['cache', 'db', 'web'], 'newest first by default');
  await sortBy('Image');
  assert.deepEqual(ui.names(), ['web', 'db', 'cache'], 'busybox, postgres, redis');
  assert.equal(header('Image').getAttribute('aria-sort'), 'ascending');
  await sortBy('Image');
  assert.deepEqual(ui.names(), ['cache', 'db', 'web']);
  assert.equal(header('Image').getAttribute('aria-sort'), 'descending');
  await sortBy('State');
  assert.deepEqual(ui.names(), ['cache', 'web', 'db'], 'running first, ties by name');
  assert.equal(header('Image').getAttribute('aria-sort'), 'none');
  await sortBy('Name');
  await sortBy('Name');
  assert.deepEqual(ui.names(), ['web', 'db', 'cache']);
  cleanup?.();
  const again = await mount();
  await again.open();
  assert.deepEqual(again.names(), ['web', 'db', 'cache'], 'a new window keeps the chosen order');
  localStorage.removeItem('berth.containerSort');
});

test('a young container\'s uptime in the list counts on by the second', async () => {
  const ui = await mount({ 'containers.list': () => ok([summary('a', 'web', { startedAt: new Date(Date.now() - 5_000).toISOString() })]) });
  await ui.open();
  const seconds = () => Number(/^Up (\d+) seconds$/.exec(ui.host.querySelector('.row[data-name=web] .status')!.textContent!)?.[1]);
  const before = seconds();
  assert.ok(before >= 5 && before <= 7, `Up 5 seconds or so: ${before}`);
  const row = ui.host.querySelector('.row[data-name=web]');
  await act(async () => new Promise((r) => setTimeout(r, 1000)));
  await act(async () => ui.bridge.emit('stats', [statsSample(summary('a', '').id, Date.now(), 1)]));
  assert.ok(seconds() > before, 'the second tick rides on the stats samples (the clock used to tick every 10 s)');
  const pulsed = seconds();
  await act(async () => new Promise((r) => setTimeout(r, 2100)));
  assert.ok(seconds() > pulsed, 'with no samples a timer still ticks');
  assert.equal(ui.host.querySelector('.row[data-name=web]'), row, 'the row itself is kept');
});

test('sparklines draw the stats samples as they arrive', async () => {
  const ui = await mount();
  await ui.open();
  const web = summary('a', '').id;
  const line = () => ui.host.querySelector(`.row[data-name=web] svg[data-spark="${web}"] polyline`)!;
  const frame = () => act(async () => new Promise((r) => requestAnimationFrame(() => r(undefined))));
  await frame();
  assert.equal(line().getAttribute('points') ?? '', '', 'nothing to draw before two samples');
  const sample = (t: number, cpuPercent: number) => statsSample(web, t, cpuPercent);
  await act(async () => ui.bridge.emit('stats', [sample(Date.now() - 1000, 10)]));
  await act(async () => ui.bridge.emit('stats', [sample(Date.now(), 50)]));
  await frame();
  const points = line().getAttribute('points')!.split(' ').map((p) => p.split(',').map(Number));
  assert.equal(points.length, 2);
  assert.ok(points[1][0] > points[0][0] && points[1][1] < points[0][1], `the later, busier sample is right of and above the first: ${line().getAttribute('points')}`);
  const value = ui.host.querySelector('.row[data-name=web] .spark-value')!;
  assert.match(value.textContent!, /50/);

  // A new label goes into the same text node, and a redraw with nothing new for this container
  // (a sample for another one) writes nothing: replacing nodes makes the browser lay out the row.
  const text = value.firstChild;
  const writes: string[] = [];
  const observer = new MutationObserver((ms) => writes.push(...ms.map((m) => m.attributeName ?? m.type)));
  observer.observe(line(), { attributes: true });
  observer.observe(value, { childList: true });
  await act(async () => ui.bridge.emit('stats', [statsSample(summary('ccc', '').id, Date.now(), 0)]));
  await frame();
  assert.deepEqual(writes, [], 'an unchanged sparkline is left alone');
  await act(async () => ui.bridge.emit('stats', [sample(Date.now() + 1000, 20)]));
  await frame();
  assert.equal(value.textContent, '20.0%');
  assert.equal(value.firstChild, text, 'the label kept its text node');
  assert.deepEqual(writes, ['points'], 'a new sample rewrites the line only');
  observer.disconnect();
});

test('an engine error on an action becomes a readable toast naming the container', async () => {
  const ui = await mount({ 'containers.start': () => ({ ok: false, error: { code: 'CONFLICT', message: 'db: port 8080 is already in use' } }) });
  await ui.open();
  await act(async () => click(ui.host.querySelector('[aria-label="start db"]')));
  const toast = ui.host.querySelector('.toast-error');
  assert.match(toast?.textContent ?? '', /port 8080 is already in use/);
});

test('the run form flags bad fields inline and sends nothing until they are fixed', async () => {
  const ui = await mount();
  await ui.open();
  await act(async () => click(button(ui.host, 'Run a container')));
  const form = ui.host.querySelector('form[aria-label="run a container"]') as HTMLFormElement;
  const field = (n: string) => form.querySelector(`[name=${n}]`)!;
  const errors = () => Object.fromEntries([...form.querySelectorAll('[data-error]')].map((e) => [e.getAttribute('data-error'), e.textContent]));
  await act(async () => form.requestSubmit());
  assert.ok(errors().image, 'an empty image is flagged on submit');
  const fill = (values: Record<string, string>) => act(async () => {
    for (const [name, value] of Object.entries(values)) typeInto(field(name), value);
  });
  await fill({ image: 'Bad Image!', name: 'web', memory: '12q', ports: '80:80:80:80', cpus: '9' });
  const e = errors();
  assert.deepEqual(Object.keys(e).sort(), ['cpus', 'image', 'memory', 'name', 'ports']);
  assert.match(e.name!, /in use|taken|exists/i, 'a name clash with an existing container is caught before submit');
  await act(async () => form.requestSubmit());
  assert.equal(ui.calls('containers.run').length, 0, 'nothing is submitted while a field is invalid');
  await fill({ image: 'busybox:latest', name: 'web2', memory: '64m', ports: '8080:80', cpus: '0.5', command: 'sleep "1 2"' });
  assert.deepEqual(errors(), {});
});

test('the run form shows the engine error in place, then closes on success and selects the container', async () => {
  let fail = true;
  const ui = await mount({
    'containers.run': () => (fail ? { ok: false, error: { code: 'NOT_FOUND', message: 'image nosuch:latest not found' } } : ok({ id: 'f'.repeat(64) })),
  });
  await ui.open();
  await act(async () => click(button(ui.host, 'Run a container')));
  const form = ui.host.querySelector('form[aria-label="run a container"]') as HTMLFormElement;
  await act(async () => {
    typeInto(form.querySelector('[name=image]')!, 'nosuch');
    typeInto(form.querySelector('[name=command]')!, 'sleep "1 2"');
  });
  await act(async () => form.requestSubmit());
  assert.deepEqual((ui.calls('containers.run')[0] as { cmd?: string[] }).cmd, ['sleep', '1 2']);
  assert.equal(ui.host.querySelector('[data-testid=engine-error]')?.textContent, 'image nosuch:latest not found');
  assert.ok(ui.host.querySelector('form[aria-label="run a container"]'), 'the form stays open with what was typed');
  fail = false;
  await act(async () => form.requestSubmit());
  assert.equal(ui.host.querySelector('form[aria-label="run a container"]'), null);
  assert.equal(ui.store.getState().selected, 'f'.repeat(64));
});

test('a lost connection shows a banner, and reconnecting reloads the lists', async () => {
  const ui = await mount();
  await ui.open();
  assert.equal(ui.calls('containers.list').length, 1);
  await act(async () => ui.bridge.connect('lost', 'reconnecting to the engine…'));
  assert.match(ui.host.querySelector('[role=alert]')!.textContent!, /Lost the connection to the engine — reconnecting/);
  await ui.open();
  assert.equal(ui.host.querySelector('[role=alert]'), null);
  assert.equal(ui.calls('containers.list').length, 2, 'the list is fetched again after reconnecting');
});

test('a pull shows one progress bar per layer with its bytes, and cancel reaches the engine', async () => {
  const ui = await mount();
  await ui.open();
  await act(async () => ui.store.getState().setView('images'));
  assert.match(ui.host.querySelector('.empty')!.textContent!, /No images yet/);
  const input = ui.host.querySelector('input[aria-label="image to pull"]')!;
  await act(async () => typeInto(input, '127.0.0.1:5000/busybox'));
  await act(async () => (input.closest('form') as HTMLFormElement).requestSubmit());
  assert.deepEqual(ui.calls('images.pull'), [{ ref: '127.0.0.1:5000/busybox' }]);
  const job = (over: Partial<JobView>): JobView => ({
    id: 'j1', kind: 'pull', title: '127.0.0.1:5000/busybox', state: 'running', startedAt: Date.now(), message: '',
    layers: [{ id: 'aaaa', status: 'Downloading', current: 512 * 1024, total: 1024 * 1024 }, { id: 'bbbb', status: 'Waiting', current: 0, total: 2048 }], ...over,
  });
  await act(async () => ui.bridge.emit('job', job({})));
  const bars = [...ui.host.querySelectorAll('.layer-bars progress')] as HTMLProgressElement[];
  assert.deepEqual(bars.map((b) => [b.getAttribute('aria-label'), b.value, b.max]), [['layer aaaa', 512 * 1024, 1024 * 1024], ['layer bbbb', 0, 2048]]);
  assert.match(ui.host.querySelector('.job-head')!.textContent!, /524kB \/ 1\.05MB/);
  await act(async () => click(button(ui.host.querySelector('.job')!, 'Cancel')));
  assert.deepEqual(ui.calls('jobs.cancel'), [{ jobId: 'j1' }]);
  await act(async () => ui.bridge.emit('job', job({ state: 'cancelled', finishedAt: Date.now(), message: 'cancelled' })));
  assert.equal(ui.host.querySelector('.layer-bars'), null, 'a finished job drops its bars and shows its result');
  assert.equal(ui.host.querySelector('.job')?.getAttribute('data-state'), 'cancelled');
});

test('health shows on the row and in the detail, as docker ps words it, with the last result on hover; updates follow events', async () => {
  const ui = await mount({
    'containers.list': () => ok([summary('a', 'web', { health: { status: 'starting', failingStreak: 0 } }), summary('bb', 'db')]),
  });
  await ui.open();
  const badge = () => ui.host.querySelector('.row[data-name=web] [data-health]');
  assert.equal(badge()!.textContent, 'health: starting');
  assert.equal(badge()!.getAttribute('title'), 'no check has run yet');
  assert.equal(ui.host.querySelector('.row[data-name=db] [data-health]'), null, 'no badge without a check');
  await act(async () => ui.bridge.emit('container', { id: 'a'.padEnd(64, '0'), summary: summary('a', 'web', { health: { status: 'unhealthy', failingStreak: 3, lastExitCode: 1, lastOutput: 'connection refused' } }) }));
  assert.equal(badge()!.textContent, 'unhealthy');
  assert.equal(badge()!.getAttribute('title'), 'last check: exit 1 — connection refused');
  await act(async () => click(ui.host.querySelector('.row[data-name=web]')!));
  assert.equal(ui.host.querySelector('.detail-head [data-health]')?.textContent, 'unhealthy');
});
