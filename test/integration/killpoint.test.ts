// The daemon SIGKILLed at random points of `run -d`, `start`, `stop`, `rm -f`, `network create`
// and `network rm` (a fixed seed), then restarted: every record must match the kernel — a
// running container has its process, a stopped one has no process, cgroup, mount or run
// directory left, a network has its bridge and all its rules, and no bridge or rule is without
// its network — and removing them all leaves nothing behind. The long matrix is bench/killpoint.ts.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { bridgePrefix, checkConsistency, leftovers, mulberry32, removeTestBridges } from '../helpers/killpoint.ts';

describe('a daemon killed at any point leaves a consistent engine', { timeout: 300_000 }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon();
    assert.equal((await d.docker(['import', busyboxTarball(), 'busybox:latest'])).code, 0);
  });
  after(async () => {
    await d?.stop();
    if (d) removeTestBridges(d);
  });

  it('18 kills during run, start, stop, rm -f and network create/rm: records match the kernel, and rm -f leaves nothing', async () => {
    const random = mulberry32(20261205);
    const ops = [
      (i: number) => d.docker(['run', '-d', '--name', `kp${i}`, 'busybox', 'sleep', '300']),
      async (i: number) => {
        await d.docker(['create', '--name', `kp${i}`, 'busybox', 'sleep', '300']);
        return d.docker(['start', `kp${i}`]);
      },
      async (i: number) => {
        await d.docker(['run', '-d', '--name', `kp${i}`, 'busybox', 'sleep', '300']);
        return d.docker(['stop', '-t', '0', `kp${i}`]);
      },
      async (i: number) => {
        await d.docker(['run', '-d', '--name', `kp${i}`, 'busybox', 'sleep', '300']);
        return d.docker(['rm', '-f', `kp${i}`]);
      },
      (i: number) => d.docker(['network', 'create', '-o', `com.docker.network.bridge.name=${bridgePrefix(d)}${i}`, `kpnet${i}`]),
      async (i: number) => {
        await d.docker(['network', 'create', '--internal', '-o', `com.docker.network.bridge.name=${bridgePrefix(d)}${i}`, `kpnet${i}`]);
        return d.docker(['network', 'rm', `kpnet${i}`]);
      },
    ];
    for (let i = 0; i < 18; i++) {
      const op = ops[i % ops.length](i);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 250)));
      process.kill(d.proc.pid!, 'SIGKILL');
      await op;
      await d.restart();
      const problems = await checkConsistency(d);
      assert.deepEqual(problems, [], `after kill ${i}`);
    }
    const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).out.split('\n').filter(Boolean);
    if (ids.length) assert.equal((await d.docker(['rm', '-f', ...ids])).code, 0);
    assert.deepEqual(leftovers(d, ids), [], 'nothing of any container is left');
    const nets = (await d.docker(['network', 'ls', '-q', '--filter', 'name=kpnet'])).out.split('\n').filter(Boolean);
    if (nets.length) assert.equal((await d.docker(['network', 'rm', ...nets])).code, 0);
    assert.deepEqual(await checkConsistency(d), [], 'no bridge or rule is left of the removed networks');
    assert.deepEqual(readdirSync('/sys/class/net').filter((x) => x.startsWith(bridgePrefix(d))), []);
  });
});

