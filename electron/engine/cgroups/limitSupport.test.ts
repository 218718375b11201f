import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_LIMITS, discardUnsupported, NO_LIMITS } from './limitSupport.ts';

describe('limits a host cannot enforce', () => {
  it('are dropped with dockerd\'s warnings, each once, and the rest left alone', () => {
    const h = { Memory: 64 << 20, MemorySwap: 128 << 20, PidsLimit: 10, CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, CpusetCpus: '0' };
    const w = discardUnsupported(h, NO_LIMITS);
    assert.deepEqual(w, [
      'Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
      'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
      'Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.',
      'Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.',
      'Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.',
    ]);
    assert.deepEqual(h, { Memory: 0, MemorySwap: 0, PidsLimit: 0, CpuShares: 0, CpuQuota: 0, CpuPeriod: 0, CpusetCpus: '', CpusetMems: '' });
  });

  it('refuse a CPU count without the CFS scheduler, as dockerd does', () => {
    assert.throws(() => discardUnsupported({ NanoCpus: 1e9 }, NO_LIMITS), { code: 'INVALID_ARGUMENT', message: /NanoCPUs can not be set/ });
  });

  it('keep swap off when only swap accounting is missing, and say nothing when all is supported', () => {
    const h = { Memory: 64 << 20, MemorySwap: 128 << 20 };
    assert.deepEqual(discardUnsupported(h, { ...ALL_LIMITS, swap: false }), ['Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.']);
    assert.equal(h.MemorySwap, -1);
    const all = { Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: 5 };
    assert.deepEqual(discardUnsupported(all, ALL_LIMITS), []);
    assert.deepEqual(all, { Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: 5 });
  });
});
