import assert from 'node:assert/strict';
import { it } from 'node:test';
import { resolveUlimits, RLIM_INFINITY } from './rlimits.ts';

const limits = `Limit                     Soft Limit           Hard Limit           Units
Max open files            1024                 20000                files
Max core file size        0                    unlimited            bytes
`;

it('clamps ulimits to the host hard limit without CAP_SYS_RESOURCE', () => {
  const [n] = resolveUlimits([{ Name: 'nofile', Soft: 1048576, Hard: 1048576 }], false, limits);
  assert.deepEqual(n, { resource: 7, soft: 20000n, hard: 20000n });
  const [c] = resolveUlimits([{ Name: 'core', Soft: -1, Hard: -1 }], false, limits);
  assert.equal(c.hard, RLIM_INFINITY);
  const [raised] = resolveUlimits([{ Name: 'nofile', Soft: 1048576, Hard: 1048576 }], true, limits);
  assert.equal(raised.hard, 1048576n);
  assert.throws(() => resolveUlimits([{ Name: 'nofile', Soft: 5, Hard: 1 }], false, limits), /soft limit/);
});
