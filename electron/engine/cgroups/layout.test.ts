import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseMountinfo } from './layout.ts';
import { sharesToWeight, swapLimitV2 } from './fsCgroupManager.ts';
import { parseBlkioV1, parseFlatKeyed, parseIoStatV2 } from './statsParsers.ts';

const HYBRID = `25 20 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
30 25 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd`;

it('maps controllers to hierarchies in a hybrid mountinfo', () => {
  const { v1, unified } = parseMountinfo(HYBRID);
  assert.equal(unified, '/sys/fs/cgroup/unified');
  assert.equal(v1.get('cpu'), '/sys/fs/cgroup/cpu');
  assert.equal(v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(v1.get('memory'), '/sys/fs/cgroup/memory');
  assert.equal(v1.has('systemd'), false);
});

it('converts shares and swap for cgroup v2', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 100);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(swapLimitV2(100, -1), 'max');
  assert.equal(swapLimitV2(100, 300), '200');
  assert.throws(() => swapLimitV2(300, 100));
});

it('parses stat files', () => {
  assert.deepEqual(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n'), { oom_kill_disable: 0, under_oom: 0, oom_kill: 3 });
  assert.deepEqual(parseBlkioV1('8:0 Read 4096\n8:0 Write 512\n8:0 Sync 1\nTotal 4608'),
    [{ major: 8, minor: 0, op: 'read', value: 4096 }, { major: 8, minor: 0, op: 'write', value: 512 }]);
  assert.deepEqual(parseIoStatV2('254:0 rbytes=10 wbytes=20 rios=1 wios=2'),
    [{ major: 254, minor: 0, op: 'read', value: 10 }, { major: 254, minor: 0, op: 'write', value: 20 }]);
});
