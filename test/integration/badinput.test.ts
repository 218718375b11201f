// Bad input: a specific error naming the thing, and nothing half-created left behind.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isEngineError } from '../../electron/engine/errors.ts';
import { startTestEngine, type TestEngine } from '../helpers/testEngine.ts';
import { logsOf, until } from '../helpers/run.ts';

describe('bad input', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  const nothingLeft = () => {
    assert.deepEqual(readdirSync(`${t.root}/containers`).filter((id) => !t.engine.containers.exists(id)), []);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${t.root}/overlay`)).length, 0);
  };

  it('unknown image and invalid reference', async () => {
    await assert.rejects(t.engine.create({ Image: 'nosuch:1' }), (e) => isEngineError(e, 'NOT_FOUND') && e.message === 'No such image: nosuch:1');
    await assert.rejects(t.engine.create({ Image: 'BusyBox' }), (e) => isEngineError(e, 'INVALID_ARGUMENT') && /must be lowercase/.test(e.message));
    nothingLeft();
  });

  it('a missing command is a start error with the phrase docker maps to 127; the container stays', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['/no/such/binary'] });
    await assert.rejects(t.engine.start(c.Id), (e) => isEngineError(e, 'INVALID_ARGUMENT') && e.stage === 'exec' && /no such file or directory/.test(e.message));
    const c2 = await t.engine.create({ Image: 'busybox', Cmd: ['nosuchcmd'] });
    await assert.rejects(t.engine.start(c2.Id), (e) => isEngineError(e) && /exec: "nosuchcmd": executable file not found in \$PATH/.test(e.message));
    assert.equal(t.engine.inspect(c2.Id).State.ExitCode, 127);
    assert.equal(t.engine.inspect(c2.Id).State.Running, false);
    nothingLeft();
    for (const x of [c, c2]) await t.engine.containers.remove(x.Id);
  });

  it('impossible limits and unknown options name the value', async () => {
    const cases: [object, RegExp][] = [
      [{ Memory: 1024 * 1024 }, /Minimum memory limit allowed is 6MB/],
      [{ Memory: -5 }, /invalid memory limit -5/],
      [{ NanoCpus: 99e9 }, /Range of CPUs is from 0.01 to \d+\.00/],
      [{ CpusetCpus: '63' }, /requested CPUs are not available/],
      [{ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, /invalid ulimit type: bogus/],
      [{ RestartPolicy: { Name: 'sometimes' } }, /invalid restart policy 'sometimes'/],
      [{ CapAdd: ['NOT_A_CAP'] }, /unknown capability: "NOT_A_CAP"/],
      [{ SecurityOpt: ['seccomp=/x.json'] }, /custom seccomp profiles are not supported yet/],
      [{ Binds: ['a/b:/x'] }, /"a\/b" includes invalid characters for a local volume name/],
      [{ NetworkMode: 'nosuchnet' }, /network nosuchnet not found/],
      [{ PortBindings: { '99999/tcp': [{ HostPort: '80' }] } }, /invalid container port "99999" in port specification "80:99999\/tcp"/],
      [{ PortBindings: { '80/tcp': [{ HostPort: 'x1' }] } }, /invalid host port "x1" in port specification "x1:80\/tcp"/],
      [{ Mounts: [{ Type: 'bind', Source: '/no/such/dir', Target: '/x' }] }, /bind source path does not exist: \/no\/such\/dir/],
    ];
    for (const [hc, re] of cases) {
      const create = t.engine.create({ Image: 'busybox', Cmd: ['true'], HostConfig: hc });
      const started = create.then((c) => t.engine.start(c.Id).finally(() => t.engine.containers.remove(c.Id, { force: true })));
      await assert.rejects(started, (e) => isEngineError(e) && ['INVALID_ARGUMENT', 'UNSUPPORTED'].includes(e.code) && re.test(e.message), JSON.stringify(hc));
    }
    nothingLeft();
  });

  it('create itself refuses what would break inspect, start or stop later, naming the field', async () => {
    const cases: [object, RegExp][] = [
      [{ HostConfig: { Memory: 1e30 } }, /invalid Memory 1e\+30: a whole number is required/],
      [{ HostConfig: { CpuShares: 1.5 } }, /invalid CpuShares 1\.5: a whole number is required/],
      [{ StopSignal: 'SIGFOO' }, /Invalid signal: SIGFOO/],
      [{ StopTimeout: 2.5 }, /invalid StopTimeout 2\.5/],
      [{ HostConfig: { CapAdd: ['CAP_BOGUS'] } }, /invalid CapAdd: unknown capability: "CAP_BOGUS"/],
      [{ HostConfig: { CapDrop: ['NOPE'] } }, /invalid CapDrop: unknown capability: "NOPE"/],
      [{ Hostname: 'a'.repeat(300) }, /invalid hostname "a{64}…": at most 64/],
      [{ Hostname: 'bad host' }, /invalid hostname "bad host"/],
      [{ HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 200, Hard: 100 }] } }, /ulimit nofile: the soft limit 200 is above the hard limit 100/],
      [{ HostConfig: { OomScoreAdj: 5000 } }, /Invalid value 5000, range for oom score adj is \[-1000, 1000\]/],
    ];
    const before = t.engine.containers.list(true).length;
    for (const [opts, re] of cases) {
      await assert.rejects(t.engine.create({ Image: 'busybox', Cmd: ['true'], ...opts }), (e) => isEngineError(e, 'INVALID_ARGUMENT') && re.test(e.message), JSON.stringify(opts).slice(0, 80));
    }
    assert.equal(t.engine.containers.list(true).length, before, 'nothing was created');
    nothingLeft();
  });

  it('a stop timeout longer than a timer holds waits for the process instead of killing it at once', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'] });
    await t.engine.start(c.Id);
    await until(async () => (await logsOf(t.engine, c.Id)).includes('ready'), 5000, 'ready');
    await t.engine.containers.stop(c.Id, { timeout: 99_999_999_999 });
    assert.equal(t.engine.inspect(c.Id).State.ExitCode, 7, 'the TERM trap ran; no SIGKILL after 1 ms');
    await t.engine.containers.remove(c.Id);
  });

  it('refuses to delete an image a container uses, and untags an extra name', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['true'] });
    await assert.rejects(async () => t.engine.removeImage('busybox'), (e) => isEngineError(e, 'CONFLICT') && /must be forced/.test(e.message));
    t.engine.images.tag('busybox', 'bb:extra');
    assert.deepEqual(t.engine.removeImage('bb:extra'), { untagged: ['bb:extra'], deleted: [] });
    assert.equal(t.engine.images.get('busybox').id, c.ImageID);
    await t.engine.containers.remove(c.Id);
  });

  it('a tarball that is not an image is refused and the store is as before', async () => {
    const before = t.engine.images.list().map((i) => i.id).sort();
    const blobs = t.engine.images.content.list().sort();
    await assert.rejects(t.engine.importImage(Readable.from([Buffer.from('this is not a tar file at all'.repeat(40))]), { ref: 'junk:1' }),
      (e) => isEngineError(e, 'INVALID_ARGUMENT') && /import: not a tar archive/.test(e.message));
    assert.deepEqual(t.engine.images.list().map((i) => i.id).sort(), before);
    assert.deepEqual(t.engine.images.content.list().sort(), blobs);
    assert.deepEqual(readdirSync(`${t.root}/layers`).filter((f) => f.startsWith('.tmp')), []);
  });
});
