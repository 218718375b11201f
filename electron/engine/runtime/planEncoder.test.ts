import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLONE, compilePlan, MASKED_PATHS } from './planCompiler.ts';
import { decodePlan, P, PlanWriter } from './planEncoder.ts';
import type { RuntimeSpec } from './runtimeSpec.ts';

const spec: RuntimeSpec = {
  rootfs: '/r', runDir: '/run/x', logPath: '/l', logMaxSize: 0, logMaxFiles: 1, exitFile: '/e', argv: ['sh', '-c', 'true'],
  env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [10] }, hostname: 'abc', terminal: false,
  openStdin: false, stdinOnce: false, caps: { bounding: 0xa80425fbn, effective: 0xa80425fbn, permitted: 0xa80425fbn, inheritable: 0n, ambient: 0n },
  noNewPrivileges: false, readonlyRootfs: false, privileged: false, mounts: [],
  cgroup: { procsFiles: ['/sys/fs/cgroup/memory/b/x/cgroup.procs'], v1Mounts: [['memory', 'memory']], hasUnified: true, unifiedOnly: false },
  rlimits: [], sysctls: {}, shmSize: 65536 * 1024, netns: 'new', startNow: true,
};

describe('plan encoding', () => {
  it('writes little-endian TLV records with NUL-terminated strings', () => {
    const buf = new PlanWriter().record(P.HOSTNAME, { str: 'abc' }).record(P.NS_FLAGS, { u32: 7 }).toBuffer();
    assert.deepEqual([...buf.subarray(0, 12)], [15, 0, 0, 0, 4, 0, 0, 0, 97, 98, 99, 0]);
    assert.equal(buf.readUInt32LE(20), 7);
  });

  it('compiles Docker defaults: namespaces, masked paths, devices, caps, argv', () => {
    const recs = decodePlan(compilePlan(spec));
    const of = (t: number) => recs.filter((r) => r.type === t);
    const flags = of(P.NS_FLAGS)[0].payload.readUInt32LE(0);
    for (const f of [CLONE.NEWNS, CLONE.NEWPID, CLONE.NEWUTS, CLONE.NEWIPC, CLONE.NEWNET, CLONE.NEWCGROUP]) assert.ok(flags & f);
    assert.equal(flags & CLONE.NEWUSER, 0);
    assert.deepEqual(of(P.MASK).map((r) => r.payload.toString().replace(/\0$/, '')), MASKED_PATHS);
    assert.equal(of(P.DEV).length, 6);
    assert.deepEqual(of(P.ARGV).map((r) => r.payload.toString()), ['sh\0', '-c\0', 'true\0']);
    assert.equal(of(P.CAPS)[0].payload.readBigUInt64LE(0), 0xa80425fbn);
    const targets = of(P.MOUNT).map((r) => r.payload.subarray(9).toString().split('\0')[1]);
    assert.deepEqual(targets.slice(0, 4), ['/proc', '/dev', '/dev/pts', '/sys']);
    assert.ok(targets.includes('/sys/fs/cgroup/memory') && targets.includes('/sys/fs/cgroup/unified'));
    assert.equal(of(P.START_NOW).length, 1);
  });

  it('privileged containers get no masked or read-only paths; userns binds devices', () => {
    const recs = decodePlan(compilePlan({ ...spec, privileged: true, userns: { uidMap: '0 1 2\n', gidMap: '0 1 2\n' } }));
    assert.equal(recs.filter((r) => r.type === P.MASK || r.type === P.READONLY).length, 0);
    assert.equal(recs.filter((r) => r.type === P.DEV).length, 0);
    assert.ok(recs.find((r) => r.type === P.NS_FLAGS)!.payload.readUInt32LE(0) & CLONE.NEWUSER);
  });

  it('inside a rootless engine\'s user namespace: no new user namespace, bound devices, the host /sys bound for host networking', () => {
    const mounts = (recs: ReturnType<typeof decodePlan>) => recs.filter((r) => r.type === P.MOUNT).map((r) => {
      const [source, target, fstype] = r.payload.subarray(9).toString().split('\0');
      return { kind: r.payload[8], source, target, fstype };
    });
    const own = decodePlan(compilePlan({ ...spec, insideUserns: true }));
    assert.equal(own.find((r) => r.type === P.NS_FLAGS)!.payload.readUInt32LE(0) & CLONE.NEWUSER, 0);
    assert.equal(own.filter((r) => r.type === P.UIDMAP || r.type === P.DEV).length, 0, 'no maps written, no mknod');
    assert.deepEqual(mounts(own).filter((m) => m.kind === 1).map((m) => m.target).sort(), ['/dev/full', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero']);
    assert.deepEqual(mounts(own).find((m) => m.target === '/sys'), { kind: 0, source: 'sysfs', target: '/sys', fstype: 'sysfs' });
    const host = decodePlan(compilePlan({ ...spec, insideUserns: true, netns: 'host' }));
    assert.deepEqual(mounts(host).find((m) => m.target === '/sys'), { kind: 2, source: '/sys', target: '/sys', fstype: '' }, 'sysfs cannot be mounted for the host\'s network');
    const root = decodePlan(compilePlan({ ...spec, netns: 'host' }));
    assert.equal(mounts(root).find((m) => m.target === '/sys')!.fstype, 'sysfs', 'root mode still mounts sysfs');
  });

  it('refuses NUL inside strings', () => {
    assert.throws(() => new PlanWriter().record(P.ARGV, { str: 'a\0b' }));
  });
});
