// Lifecycle from outside: states, signals, stop timeouts, pause, wait, remove, names,
// restart policies.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { isEngineError } from '../../electron/engine/errors.ts';
import { logsOf, until } from '../helpers/run.ts';
import { HELPER, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

describe('container lifecycle', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('goes created → running → exited with Docker-shaped state', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done'], name: 'life1' });
    let s = t.engine.inspect('life1').State;
    assert.equal(s.Status, 'created');
    assert.equal(s.Running, false);
    assert.equal(s.StartedAt, '0001-01-01T00:00:00Z');
    await t.engine.start(c.Id);
    s = t.engine.inspect(c.Id).State;
    assert.equal(s.Status, 'running');
    assert.ok(s.Pid > 1);
    assert.ok(Date.parse(s.StartedAt) > 0);
    await assert.rejects(t.engine.start(c.Id), (e) => isEngineError(e, 'NOT_MODIFIED'));
    const t0 = Date.now();
    await t.engine.containers.stop(c.Id, { timeout: 5 });
    s = t.engine.inspect(c.Id).State;
    assert.equal(s.Status, 'exited');
    assert.equal(s.ExitCode, 7, 'the TERM trap ran');
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(Date.parse(s.FinishedAt) >= Date.parse(s.StartedAt));
    await assert.rejects(t.engine.containers.stop(c.Id), (e) => isEngineError(e, 'NOT_MODIFIED'));
    await t.engine.containers.remove(c.Id);
    assert.throws(() => t.engine.inspect(c.Id), (e) => isEngineError(e, 'NOT_FOUND'));
  });

  it('kills with SIGKILL after the stop timeout when SIGTERM is ignored', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'] });
    await t.engine.start(c.Id);
    await until(async () => (await logsOf(t.engine, c.Id)).includes('ready'));
    const t0 = Date.now();
    await t.engine.containers.stop(c.Id, { timeout: 1 });
    const took = Date.now() - t0;
    assert.equal(t.engine.inspect(c.Id).State.ExitCode, 137);
    assert.ok(took >= 900 && took < 5000, `stop took ${took} ms`);
    await t.engine.containers.remove(c.Id);
  });

  it('delivers any signal with kill, and refuses a stopped container', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done'] });
    await t.engine.start(c.Id);
    await until(async () => (await logsOf(t.engine, c.Id)).includes('ready'));
    await t.engine.containers.kill(c.Id, 'USR1');
    await until(async () => (await logsOf(t.engine, c.Id)).includes('got-usr1'), 5000, 'USR1 handler');
    const exited = t.engine.wait(c.Id);
    await t.engine.containers.kill(c.Id); // SIGKILL by default; pid 1 ignores signals it has no handler for
    const s = t.engine.inspect(c.Id).State; // read at once: SIGKILL returns after the exit is recorded
    assert.deepEqual([s.Status, s.Running, s.ExitCode], ['exited', false, 137]);
    assert.equal((await exited).StatusCode, 137);
    await assert.rejects(t.engine.containers.kill(c.Id), (e) => isEngineError(e, 'NOT_RUNNING'));
    await assert.rejects(t.engine.containers.kill(c.Id, 'NOPE'), (e) => isEngineError(e, 'INVALID_ARGUMENT'));
    await t.engine.containers.remove(c.Id);
  });

  it('pauses with the freezer: a paused counter does not advance', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; done'] });
    await t.engine.start(c.Id);
    const read = async () => {
      const p = t.engine.exec(c.Id, { Cmd: ['cat', '/tmp/n'] });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      await new Promise((r) => p.on('close', r));
      return Number(out.trim());
    };
    await until(async () => (await read()) > 10);
    await t.engine.containers.pause(c.Id);
    assert.equal(t.engine.inspect(c.Id).State.Status, 'paused');
    const freezer = (await import('node:fs')).readFileSync(`/sys/fs/cgroup/freezer/${t.cgroupParent}/${c.Id}/freezer.state`, 'utf8');
    assert.equal(freezer.trim(), 'FROZEN');
    await t.engine.containers.unpause(c.Id);
    const a = await read();
    await until(async () => (await read()) > a, 5000, 'counter to advance after unpause');
    await t.engine.containers.pause(c.Id);
    await t.engine.containers.remove(c.Id, { force: true });
  });

  it('waits for next-exit and removed, restarts, and force-removes a running container', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '30'] });
    await assert.deepEqual(await t.engine.wait(c.Id), { StatusCode: 0 }, 'created counts as not running');
    await t.engine.start(c.Id);
    const firstPid = t.engine.inspect(c.Id).State.Pid;
    await t.engine.containers.restart(c.Id, { timeout: 0 });
    assert.equal(t.engine.inspect(c.Id).State.Running, true);
    assert.notEqual(t.engine.inspect(c.Id).State.Pid, firstPid);
    await assert.rejects(t.engine.containers.remove(c.Id), (e) => isEngineError(e, 'CONFLICT') && /container is running/.test(e.message));
    const removed = t.engine.wait(c.Id, 'removed');
    await t.engine.containers.remove(c.Id, { force: true });
    assert.equal((await removed).StatusCode, 137);
  });

  it('names: Docker rules, conflicts, generated names, id prefixes', async () => {
    const a = await t.engine.create({ Image: 'busybox', Cmd: ['true'], name: 'web' });
    await assert.rejects(t.engine.create({ Image: 'busybox', Cmd: ['true'], name: '/web' }),
      (e) => isEngineError(e, 'CONFLICT') && e.message.includes('The container name "/web" is already in use'));
    await assert.rejects(t.engine.create({ Image: 'busybox', Cmd: ['true'], name: 'a' }), (e) => isEngineError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(t.engine.create({ Image: 'busybox', Cmd: ['true'], name: 'bad name!' }), (e) => isEngineError(e, 'INVALID_ARGUMENT'));
    const b = await t.engine.create({ Image: 'busybox', Cmd: ['true'] });
    assert.match(b.Name, /^\/[a-z]+_[a-z]+\d?$/);
    assert.equal(t.engine.inspect(a.Id.slice(0, 7)).Id, a.Id);
    assert.equal(t.engine.inspect('/web').Id, a.Id);
    t.engine.containers.rename('web', 'web2');
    assert.equal(t.engine.inspect('web2').Id, a.Id);
    for (const x of [a, b]) await t.engine.containers.remove(x.Id);
  });

  it('carries out restart policies: on-failure:N and always, not after a user stop', async () => {
    const f = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    await t.engine.start(f.Id);
    await until(() => t.engine.inspect(f.Id).RestartCount === 2 && !t.engine.inspect(f.Id).State.Restarting && !t.engine.inspect(f.Id).State.Running, 10_000, 'two restarts');
    assert.equal(t.engine.inspect(f.Id).State.ExitCode, 3);
    const a = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 0.2; exit 0'], HostConfig: { RestartPolicy: { Name: 'always' } } });
    await t.engine.start(a.Id);
    await until(() => t.engine.inspect(a.Id).RestartCount >= 1, 10_000, 'always to restart');
    await until(() => t.engine.inspect(a.Id).State.Running, 10_000, 'running again');
    await t.engine.containers.stop(a.Id, { timeout: 1 });
    const count = t.engine.inspect(a.Id).RestartCount;
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(t.engine.inspect(a.Id).RestartCount, count, 'a stopped container stays stopped');
    assert.equal(t.engine.inspect(a.Id).State.Running, false);
    const k = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '100'], HostConfig: { RestartPolicy: { Name: 'always' } } });
    await t.engine.start(k.Id);
    await t.engine.containers.kill(k.Id);
    await new Promise((r) => setTimeout(r, 700));
    const ks = t.engine.inspect(k.Id);
    assert.deepEqual([ks.State.Status, ks.State.ExitCode, ks.RestartCount], ['exited', 137, 0], 'a killed container is not restarted, as in dockerd');
    for (const x of [f, a, k]) await t.engine.containers.remove(x.Id, { force: true });
  });

  it('auto-removes a container after it exits', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true } });
    const removed = t.engine.wait(c.Id, 'removed');
    await t.engine.start(c.Id);
    await removed;
    assert.equal(t.engine.containers.exists(c.Id), false);
  });

  it('starts through a resident spawner, and a dead spawner is replaced at the next start', async () => {
    const spawners = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `${HELPER}\0spawner\0` &&
          Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    });
    const a = await t.engine.run({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'] });
    assert.equal(a.exitCode, 3);
    const [spawner] = spawners();
    assert.ok(spawner, 'a spawner process is a child of the engine');
    const shimOf = async (id: string) => {
      const pid = t.engine.inspect(id).State.Pid;
      return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    };
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '30'] });
    await t.engine.start(c.Id);
    const shim = await shimOf(c.Id);
    assert.equal(readFileSync(`/proc/${shim}/cmdline`, 'utf8').split('\0')[1], 'shim', 'the forked shim is named as one');
    process.kill(spawner, 'SIGKILL');
    await until(() => !spawners().includes(spawner), 5000, 'the spawner to go');
    process.kill(t.engine.inspect(c.Id).State.Pid, 0); // its shim and container live on
    const b = await t.engine.run({ Image: 'busybox', Cmd: ['echo', 'again'] });
    assert.equal(b.exitCode, 0);
    assert.equal((await logsOf(t.engine, b.id)).trim(), 'again');
    assert.equal(spawners().length, 1);
    await t.engine.containers.remove(c.Id, { force: true });
    await t.engine.containers.remove(a.id);
    await t.engine.containers.remove(b.id);
  });
});
