import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ioBytes, keyed, netBytes, UsageProbe } from './usageProbe.ts';

describe('usage probe', () => {
  it('reads flat-keyed values only at line starts', () => {
    const stat = 'cache 10\ntotal_inactive_file 4096\ninactive_file 7\n';
    assert.equal(keyed(stat, 'inactive_file'), 7);
    assert.equal(keyed(stat, 'total_inactive_file'), 4096);
    assert.equal(keyed(stat, 'cache'), 10);
    assert.equal(keyed(stat, 'missing'), 0);
    assert.equal(keyed('usage_usec 1500', 'usage_usec'), 1500);
  });

  it('sums block I/O of both cgroup versions and network bytes except lo', () => {
    assert.deepEqual(ioBytes('8:0 Read 100\n8:0 Write 50\n8:16 Read 1\n8:0 Sync 9\nTotal 151\n', 1), { read: 101, write: 50 });
    assert.deepEqual(ioBytes('8:0 rbytes=300 wbytes=20 rios=3 wios=1\n8:16 rbytes=1 wbytes=2\n', 2), { read: 301, write: 22 });
    const dev = 'Inter-|   Receive\n face |bytes    packets\n    lo: 999 9 0 0 0 0 0 0 999 9 0 0 0 0 0 0\n  eth0: 1200 10 0 0 0 0 0 0 340 4 0 0 0 0 0 0\n  eth1: 5 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n';
    assert.deepEqual(netBytes(dev), { rx: 1205, tx: 346 });
  });

  it('re-reads changed files through the descriptors it keeps, and reads a missing file as 0', () => {
    const d = mkdtempSync(`${tmpdir()}/berth-probe-`);
    try {
      const f = (n: string, v: string) => writeFileSync(`${d}/${n}`, v);
      for (const [n, v] of [['cpu', '1000'], ['mem', '2048'], ['limit', '9223372036854771712'], ['stat', 'total_inactive_file 48\n'], ['pids', '3'], ['io', '8:0 Read 5\n8:0 Write 6\n']]) f(n, v);
      const p = new UsageProbe({ version: 1, cpu: `${d}/cpu`, memUsage: `${d}/mem`, memLimit: `${d}/limit`, memStat: `${d}/stat`, pids: `${d}/pids`, io: `${d}/io` }, 999_999_999);
      assert.deepEqual(p.read(), { cpuNs: 1000, memUsage: 2048, memInactiveFile: 48, memLimit: 0, pids: 3, blkRead: 5, blkWrite: 6, rx: 0, tx: 0 });
      f('cpu', '2000000');
      f('pids', '12');
      const again = p.read();
      assert.equal(again.cpuNs, 2000000);
      assert.equal(again.pids, 12);
      p.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
