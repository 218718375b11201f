// The container service's state machine, restart policies and error paths on fake seams,
// without root: the same lifecycle suite the real seams pass (test/integration), and what only
// a fake clock and fake helper can show cheaply.
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { lifecycleConformance } from '../testing/lifecycleConformance.ts';
import { fakeContainerService } from '../testing/fakeSeams.ts';
import { noLeftovers } from '../../testing/leftovers.ts';

/** A container service on fresh fakes for one test, checked for leftovers and disposed after it. */
async function withFakes(t: TestContext, run: (f: ReturnType<typeof fakeContainerService>) => Promise<void>): Promise<void> {
  const f = fakeContainerService();
  noLeftovers(t, { 'event listeners': () => f.events.listenerCount });
  try {
    await run(f);
  } finally {
    f.dispose();
  }
}

lifecycleConformance('fake seams', async () => {
  const f = fakeContainerService();
  return { containers: f.containers, events: f.events, image: 'busybox', advance: (ms) => f.clock.advance(ms), dispose: async () => f.dispose() };
});

it('doubles the restart delay while a container keeps failing fast, from 100 ms, and gives up at the retry count', (t) => withFakes(t, async (f) => {
  const r = await f.containers.create({ Image: 'busybox', Cmd: ['false'], HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } });
  await f.containers.start(r.Id);
  await f.clock.advance(0);
  const starts = () => f.helper.spawned.length;
  assert.equal(starts(), 1);
  assert.equal(f.containers.get(r.Id).State.Status, 'restarting');
  await f.clock.advance(99);
  assert.equal(starts(), 1, 'not before 100 ms');
  await f.clock.advance(1);
  assert.equal(starts(), 2, 'the first restart after 100 ms');
  await f.clock.advance(199);
  assert.equal(starts(), 2);
  await f.clock.advance(1);
  assert.equal(starts(), 3, 'the second after 200 ms more');
  await f.clock.advance(400);
  assert.equal(starts(), 4, 'the third after 400 ms more');
  await f.clock.advance(60_000);
  assert.equal(starts(), 4, 'no fourth: the retry count is 3');
  assert.deepEqual([f.containers.get(r.Id).RestartCount, f.containers.get(r.Id).State.Status], [3, 'exited']);
  assert.equal(f.clock.pending, 0, 'no timer left behind');
  // Each run prepared and released its network, in order.
  assert.deepEqual(f.network.calls.filter((c) => c.startsWith('prepare')).length, 4);
  assert.ok(f.network.calls.at(-1)!.startsWith('release'));
  assert.equal(f.cgroups.groups.size, 0, 'every run\'s cgroup is gone');
}));

it('unless-stopped is not restarted after a stop, and stays stopped across a new engine\'s recovery', (t) => withFakes(t, async (f) => {
  const r = await f.containers.create({ Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'unless-stopped' } } });
  await f.containers.start(r.Id);
  const stopped = f.containers.stop(r.Id, { timeout: 2 });
  await f.clock.advance(2000);
  await stopped;
  await f.clock.advance(60_000);
  assert.equal(f.containers.get(r.Id).State.Running, false);
  await f.containers.recover();
  await f.clock.advance(60_000);
  assert.equal(f.containers.get(r.Id).State.Running, false);
  assert.equal(f.helper.spawned.length, 1);
}));

it('AutoRemove removes the container when it exits; a failed start keeps nothing running', (t) => withFakes(t, async (f) => {
  const r = await f.containers.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', AutoRemove: true } });
  const removed = f.containers.wait(r.Id, 'removed');
  await f.containers.start(r.Id);
  await removed;
  assert.equal(f.containers.exists(r.Id), false);
  const bad = await f.containers.create({ Image: 'busybox', Cmd: ['nosuchprogram'], HostConfig: { NetworkMode: 'none' } });
  await assert.rejects(f.containers.start(bad.Id));
  assert.equal(f.cgroups.groups.size, 0, 'the failed start\'s cgroup is gone');
  assert.equal(f.snapshotter.isMounted(bad.Id), false, 'and its rootfs is unmounted');
}));
