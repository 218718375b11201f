// Cgroup limits enforced on the real kernel, and the stats read back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { detectLayout } from '../../electron/engine/cgroups/layout.ts';
import { logsOf, sh, until } from '../helpers/run.ts';
import { startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

describe('cgroup limits and stats', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('OOM-kills a memory hog under 32 MB and reports OOMKilled with exit 137', async () => {
    // 64 MB of data held in a shell variable: far above the limit.
    const { exitCode, record } = await sh(t.engine, 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived ${#x}',
      { HostConfig: { Memory: 32 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 } });
    assert.equal(exitCode, 137);
    assert.equal(record.State.OOMKilled, true);
  });

  it('contains a fork bomb under a pids limit', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'bomb() { bomb | bomb & }; bomb 2>/dev/null; exec sleep 30'], HostConfig: { PidsLimit: 32 } });
    await t.engine.start(c.Id);
    await until(async () => (await t.engine.stats(c.Id)).pids.current >= 20, 5000, 'the bomb to spread');
    const s = await t.engine.stats(c.Id);
    assert.ok(s.pids.current <= 32, `pids.current ${s.pids.current}`);
    assert.equal(s.pids.limit, 32);
    assert.equal(t.engine.inspect(c.Id).State.Running, true, 'pid 1 survives the bomb');
    const p = t.engine.exec(c.Id, { Cmd: ['true'] });
    await new Promise((r) => p.on('close', r));
    await t.engine.containers.remove(c.Id, { force: true });
  });

  it('writes CPU quota, shares, cpuset and memory limits into the container cgroup', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '30'],
      HostConfig: { NanoCpus: 500_000_000, CpuShares: 512, CpusetCpus: '0', Memory: 64 * 1024 * 1024 } });
    await t.engine.start(c.Id);
    const layout = detectLayout();
    const path = (ctrl: string, file: string) => `${layout.v1.get(ctrl)}/${t.cgroupParent}/${c.Id}/${file}`;
    if (layout.mode !== 'unified') {
      assert.equal(readFileSync(path('cpu', 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
      assert.equal(readFileSync(path('cpu', 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
      assert.equal(readFileSync(path('cpu', 'cpu.shares'), 'utf8').trim(), '512');
      assert.equal(readFileSync(path('cpuset', 'cpuset.cpus'), 'utf8').trim(), '0');
      assert.equal(readFileSync(path('memory', 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
      assert.ok(readFileSync(path('memory', 'cgroup.procs'), 'utf8').includes(String(t.engine.inspect(c.Id).State.Pid)));
    }
    await t.engine.containers.remove(c.Id, { force: true });
    assert.equal(existsSync(path('memory', '')), false, 'the cgroup is removed with the container');
  });

  it('reports CPU, memory, pids and block I/O stats', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'dd if=/dev/zero of=/tmp/f bs=1M count=8 2>/dev/null; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; sleep 30'],
      HostConfig: { Memory: 128 * 1024 * 1024 } });
    await t.engine.start(c.Id);
    await until(async () => (await logsOf(t.engine, c.Id)).includes('done'), 20_000, 'the busy loop');
    const s = await t.engine.stats(c.Id);
    assert.ok(s.cpu.totalNs > 10_000_000, `cpu ${s.cpu.totalNs}`);
    assert.ok(s.cpu.systemNs_host > s.cpu.totalNs);
    assert.ok(s.cpu.onlineCpus >= 1);
    assert.ok(s.memory.usage > 1024 * 1024, `memory ${s.memory.usage}`);
    assert.equal(s.memory.limit, 128 * 1024 * 1024);
    assert.ok(s.pids.current >= 1);
    assert.ok(Array.isArray(s.blkio));
    assert.equal(s.oomKills, 0);
    await t.engine.containers.remove(c.Id, { force: true });
  });
});
