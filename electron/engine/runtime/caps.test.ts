import assert from 'node:assert/strict';
import { it } from 'node:test';
import { capBit, resolveCaps } from './caps.ts';

const host = 0x1fffeffffffn; // a root without CAP_SYS_RESOURCE, as on the CI machine

it("resolves Docker's default set and its adjustments", () => {
  assert.equal(resolveCaps({ uid: 0, host }).effective, 0xa80425fbn);
  assert.equal(resolveCaps({ uid: 1000, host }).effective, 0n);
  assert.equal(resolveCaps({ uid: 1000, host }).bounding, 0xa80425fbn);
  assert.equal(resolveCaps({ uid: 0, host, drop: ['ALL'], add: ['chown'] }).effective, capBit('CHOWN'));
  assert.equal(resolveCaps({ uid: 0, host, privileged: true }).effective, host);
  assert.throws(() => resolveCaps({ uid: 0, host, add: ['SYS_RESOURCE'] }), /not available on this host/);
  assert.throws(() => resolveCaps({ uid: 0, host, add: ['NOPE'] }), /unknown capability/);
});
