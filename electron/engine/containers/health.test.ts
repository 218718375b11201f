// The health monitor's rules on a fake clock and a scripted probe: when checks run, what counts
// as a failure, the statuses and their events (the real checks run in test/integration).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { HealthConfig } from '../../../common/models.ts';
import { EventBus } from '../events/eventBus.ts';
import { FakeClock } from '../testing/fakeClock.ts';
import { initialState, type ContainerRecord } from './containerRecord.ts';
import { HealthMonitor } from './health.ts';

const S = 1e9;

function setup(hc: HealthConfig) {
  const clock = new FakeClock();
  const events = new EventBus();
  const r = {
    Id: 'c1', Name: '/web', Config: { Image: 'busybox', Labels: {}, Healthcheck: hc }, State: initialState(),
  } as unknown as ContainerRecord;
  const records = new Map([[r.Id, r]]);
  const probes: { at: number; argv: string[] }[] = [];
  let next: () => { exitCode: number; output: string } = () => ({ exitCode: 0, output: '' });
  let saves = 0;
  const health = new HealthMonitor({
    clock, events, record: (id) => records.get(id), save: () => saves++,
    probe: async (_id, argv) => {
      probes.push({ at: clock.now(), argv });
      return next();
    },
  });
  const actions: string[] = [];
  events.on((e) => e.Action.startsWith('health_status') && actions.push(e.Action));
  const start = () => {
    r.State = { ...r.State, Status: 'running', Running: true, StartedAt: new Date(clock.now()).toISOString() };
    events.emit('container', 'start', r.Id);
  };
  return {
    clock, r, records, probes, actions, health, start, saves: () => saves,
    answer: (code: number, output = '') => (next = () => ({ exitCode: code, output })),
    stop: () => {
      r.State = { ...r.State, Status: 'exited', Running: false };
      events.emit('container', 'die', r.Id);
    },
  };
}

it('checks every interval; unhealthy once the failing streak reaches the retries; one event per change', async () => {
  const t = setup({ Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 2 * S, Retries: 2 });
  t.start();
  assert.deepEqual(t.r.State.Health, { Status: 'starting', FailingStreak: 0, Log: [] });
  t.answer(1, 'refused');
  await t.clock.advance(1999);
  assert.equal(t.probes.length, 0, 'the first check waits one interval');
  await t.clock.advance(1);
  assert.deepEqual(t.probes[0].argv, ['/bin/sh', '-c', 'curl -f localhost']);
  assert.deepEqual([t.r.State.Health!.Status, t.r.State.Health!.FailingStreak], ['starting', 1]);
  await t.clock.advance(2000);
  assert.deepEqual([t.r.State.Health!.Status, t.r.State.Health!.FailingStreak], ['unhealthy', 2]);
  await t.clock.advance(2000);
  assert.equal(t.r.State.Health!.FailingStreak, 3, 'the streak keeps counting');
  t.answer(0, 'ok');
  await t.clock.advance(2000);
  assert.deepEqual([t.r.State.Health!.Status, t.r.State.Health!.FailingStreak], ['healthy', 0]);
  assert.deepEqual(t.actions, ['health_status: unhealthy', 'health_status: healthy']);
  for (let i = 0; i < 6; i++) await t.clock.advance(2000);
  assert.equal(t.r.State.Health!.Log.length, 5, 'the last five results');
  assert.equal(t.r.State.Health!.Log.at(-1)!.Output, 'ok');
  t.stop();
  assert.equal(t.r.State.Health!.Status, 'unhealthy', 'a stopped container reads unhealthy');
  const n = t.probes.length;
  await t.clock.advance(10_000);
  assert.equal(t.probes.length, n, 'no checks after the exit');
  t.health.dispose();
});

it('failures in the start period do not count, a pass in it does; the start interval applies only then', async () => {
  const t = setup({ Test: ['CMD', 'check'], Interval: 10 * S, StartPeriod: 5 * S, StartInterval: 1 * S, Retries: 1 });
  t.start();
  t.answer(1);
  await t.clock.advance(4000);
  assert.equal(t.probes.length, 4, 'every second in the start period');
  assert.deepEqual([t.r.State.Health!.Status, t.r.State.Health!.FailingStreak], ['starting', 0]);
  await t.clock.advance(1000);
  assert.deepEqual(t.probes.map((p) => p.argv), Array(5).fill(['check']));
  assert.equal(t.r.State.Health!.Status, 'unhealthy', 'the first failure after the start period counts');
  await t.clock.advance(9999);
  assert.equal(t.probes.length, 5, 'then the interval');
  t.stop();
  t.start();
  assert.equal(t.r.State.Health!.Status, 'starting', 'a new start begins again');
  t.answer(0);
  await t.clock.advance(1000);
  assert.equal(t.r.State.Health!.Status, 'healthy');
  t.records.delete('c1');
  t.stop();
  t.health.dispose();
});

it('a container without a check, or with NONE, is never probed', async () => {
  for (const hc of [{}, { Test: ['NONE'] }]) {
    const t = setup(hc);
    t.start();
    await t.clock.advance(120_000);
    assert.equal(t.probes.length, 0);
    assert.equal(t.r.State.Health, undefined);
    assert.equal(t.saves(), 0);
    t.health.dispose();
  }
});
