// The container lifecycle every set of seams gives the same way: the real ones (overlay,
// cgroupfs, the native helper, the system clock; root on the real kernel) and the fakes (no
// root). Through the container service: exit codes, stop with its timeout and SIGKILL, the
// codes of refused operations, a missing program's 127, restart policies and their back-off.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ContainerService } from '../containers/containerService.ts';
import type { EventBus } from '../events/eventBus.ts';

export interface LifecycleUnderTest {
  containers: ContainerService;
  events: EventBus;
  /** an image with busybox's sh, sleep, true and false */
  image: string;
  /** lets this much time pass for the engine's timers (a fake clock moves; the real one is waited on) */
  advance(ms: number): Promise<void>;
  dispose(): Promise<void>;
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

export function lifecycleConformance(name: string, make: () => Promise<LifecycleUnderTest>): void {
  describe(`container lifecycle conformance: ${name}`, { timeout: 120_000 }, () => {
    let t: LifecycleUnderTest;
    const ids: string[] = [];
    const create = async (cmd: string[], host: Record<string, unknown> = {}) => {
      const r = await t.containers.create({ Image: t.image, Cmd: cmd, HostConfig: { NetworkMode: 'none', ...host } });
      ids.push(r.Id);
      return r.Id;
    };
    before(async () => (t = await make()));
    after(async () => {
      for (const id of ids) await t.containers.remove(id, { force: true }).catch(() => undefined);
      await t?.dispose();
    });

    it('runs to an exit code, with create, start and die events in order', async () => {
      const seen: string[] = [];
      const off = t.events.on((e) => e.Type === 'container' && seen.push(e.Action));
      const id = await create(['sh', '-c', 'exit 3']);
      const exited = t.containers.wait(id, 'next-exit');
      await t.containers.start(id);
      assert.equal((await exited).StatusCode, 3);
      const s = t.containers.get(id).State;
      assert.deepEqual([s.Status, s.Running, s.ExitCode], ['exited', false, 3]);
      off();
      assert.deepEqual(seen.filter((a) => ['create', 'start', 'die'].includes(a)), ['create', 'start', 'die']);
    });

    it('stops: SIGTERM, then SIGKILL after the timeout; a stopped container refuses stop, kill and pause by code', async () => {
      const id = await create(['sleep', '300']);
      await t.containers.start(id);
      const stopped = t.containers.stop(id, { timeout: 1 });
      await t.advance(1500);
      await stopped;
      assert.equal(t.containers.get(id).State.ExitCode, 137, 'the first process ignores SIGTERM: killed after the timeout');
      await assert.rejects(t.containers.stop(id), code('NOT_MODIFIED'));
      await assert.rejects(t.containers.kill(id), code('NOT_RUNNING'));
      await assert.rejects(t.containers.pause(id), (e) => ['CONFLICT', 'NOT_RUNNING'].includes((e as { code: string }).code));
      const trap = await create(['sh', '-c', 'trap "exit 5" TERM; while :; do sleep 1; done']);
      await t.containers.start(trap);
      await t.containers.stop(trap, { timeout: 30 });
      assert.equal(t.containers.get(trap).State.ExitCode, 5, 'a handled SIGTERM ends it at once');
    });

    it('refuses to remove a running container without force, pauses and unpauses it', async () => {
      const id = await create(['sleep', '300']);
      await t.containers.start(id);
      await assert.rejects(t.containers.remove(id), code('CONFLICT'));
      await t.containers.pause(id);
      assert.equal(t.containers.get(id).State.Status, 'paused');
      await t.containers.unpause(id);
      assert.equal(t.containers.get(id).State.Status, 'running');
      await t.containers.remove(id, { force: true });
      assert.throws(() => t.containers.get(id), code('NOT_FOUND'));
    });

    it('a missing program fails the start with Docker\'s 127 and the container stays', async () => {
      const id = await create(['nosuchcommand']);
      await assert.rejects(t.containers.start(id), (e) => code('INVALID_ARGUMENT')(e) && (e as { stage?: string }).stage === 'exec');
      const s = t.containers.get(id).State;
      assert.deepEqual([s.Running, s.ExitCode], [false, 127]);
    });

    it('restarts on failure up to the retry count, with a growing back-off; a kill or an explicit stop ends always', async () => {
      const id = await create(['false'], { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } });
      await t.containers.start(id);
      for (let i = 0; i < 20 && t.containers.get(id).RestartCount < 2; i++) await t.advance(100);
      await t.advance(400);
      const r = t.containers.get(id);
      assert.equal(r.RestartCount, 2);
      assert.deepEqual([r.State.Status, r.State.ExitCode], ['exited', 1]);
      const always = await create(['sleep', '300'], { RestartPolicy: { Name: 'always' } });
      await t.containers.start(always);
      const died = t.containers.wait(always, 'next-exit');
      await t.containers.kill(always, 'SIGKILL');
      await died;
      await t.advance(2000);
      assert.deepEqual([t.containers.get(always).State.Status, t.containers.get(always).RestartCount], ['exited', 0], 'a killed container is not restarted (dockerd: manually stopped)');
      await t.containers.start(always);
      const stopping = t.containers.stop(always, { timeout: 0 });
      await t.advance(1000);
      await stopping;
      assert.equal(t.containers.get(always).State.Running, false, 'an explicit stop is not restarted');
    });
  });
}
