import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerSummary } from '../../common/views.ts';
import { createAppStore, visibleContainers } from '../../renderer/store/appStore.ts';
import { FakeBridge } from '../../renderer/store/fakeBridge.ts';

const summary = (id: string, name: string, over: Partial<ContainerSummary> = {}): ContainerSummary => ({
  id, name, image: 'busybox', imageId: 'sha256:1', command: 'sh', created: `2026-01-0${id.length}T00:00:00Z`, state: 'running',
  startedAt: '2026-01-01T00:00:00Z', finishedAt: '', exitCode: 0, oomKilled: false, restartCount: 0, labels: {}, ports: [], tty: false, memoryLimit: 0, ...over,
});
const tick = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const bridge = new FakeBridge({
    'containers.list': () => ({ ok: true, value: [summary('a', 'web'), summary('bb', 'db', { state: 'exited', labels: { tier: 'data' } })] }),
    'images.list': () => ({ ok: true, value: [] }),
    'jobs.list': () => ({ ok: true, value: [] }),
    'events.recent': () => ({ ok: true, value: [] }),
    'containers.stop': () => ({ ok: false, error: { code: 'NOT_FOUND', message: 'no such container: zz' } }),
  });
  const store = createAppStore(bridge);
  return { bridge, store };
}

test('the store loads lists when the connection opens, then follows deltas', async () => {
  const { bridge, store } = setup();
  assert.equal(store.getState().containersLoaded, false);
  bridge.connect('open');
  await tick();
  assert.deepEqual(Object.keys(store.getState().containers).sort(), ['a', 'bb']);
  bridge.emit('container', { id: 'c', summary: summary('c', 'cache') });
  bridge.emit('container', { id: 'a', summary: summary('a', 'web', { state: 'paused' }) });
  store.getState().select('bb');
  bridge.emit('container', { id: 'bb', summary: null });
  const s = store.getState();
  assert.equal(s.containers.a.state, 'paused');
  assert.ok(s.containers.c);
  assert.equal(s.containers.bb, undefined);
  assert.equal(s.selected, undefined, 'a removed container is no longer selected');
  assert.equal(bridge.calls.filter((c) => c.method === 'containers.list').length, 1, 'deltas, not refetches');
  store.dispose();
});

test('filters by state, name, image and label', async () => {
  const { bridge, store } = setup();
  bridge.connect('open');
  await tick();
  store.getState().setFilter({ text: 'tier=data' });
  assert.deepEqual(visibleContainers(store.getState()).map((c) => c.name), ['db']);
  store.getState().setFilter({ text: '', state: 'running' });
  assert.deepEqual(visibleContainers(store.getState()).map((c) => c.name), ['web']);
  store.dispose();
});

test('remove asks first and calls the bridge only when confirmed; errors become toasts', async () => {
  const { bridge, store } = setup();
  bridge.connect('open');
  await tick();
  store.getState().removeContainers(['a']);
  assert.match(store.getState().confirm!.title, /Remove web\?/);
  store.getState().answer(false);
  assert.equal(bridge.calls.some((c) => c.method === 'containers.remove'), false);
  store.getState().removeContainers(['a']);
  store.getState().answer(true);
  await tick();
  assert.deepEqual(bridge.calls.find((c) => c.method === 'containers.remove')?.args, { id: 'a', force: true });
  await store.getState().containerAction('stop', ['zz']);
  assert.deepEqual(store.getState().toasts.at(-1), { id: store.getState().toasts.at(-1)!.id, kind: 'error', text: 'no such container: zz' });
  store.dispose();
});

test('stats samples go to buffers, not to React state', async () => {
  const { bridge, store } = setup();
  const before = store.getState();
  bridge.emit('stats', [{ id: 'a', t: Date.now(), cpuPercent: 50, memory: 1, memoryLimit: 0, rxBytes: 0, txBytes: 0, rxRate: 0, txRate: 0, blkRead: 0, blkWrite: 0, blkReadRate: 0, blkWriteRate: 0, pids: 1 }]);
  assert.equal(store.getState(), before);
  assert.equal(store.stats.latest('a')?.cpuPercent, 50);
  store.dispose();
});
