import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familiarName, formatReference, parseReference } from './reference.ts';

describe('image references', () => {
  it('normalizes the Docker way', () => {
    assert.equal(formatReference(parseReference('busybox')), 'docker.io/library/busybox:latest');
    assert.equal(formatReference(parseReference('user/app:1.2')), 'docker.io/user/app:1.2');
    assert.equal(formatReference(parseReference('127.0.0.1:5000/bb:1')), '127.0.0.1:5000/bb:1');
    assert.equal(formatReference(parseReference('localhost/x')), 'localhost/x:latest');
    const d = `sha256:${'a'.repeat(64)}`;
    assert.equal(formatReference(parseReference(`busybox@${d}`)), `docker.io/library/busybox@${d}`);
  });
  it('shows familiar names', () => {
    assert.equal(familiarName(parseReference('docker.io/library/busybox')), 'busybox:latest');
    assert.equal(familiarName(parseReference('127.0.0.1:5000/bb:1')), '127.0.0.1:5000/bb:1');
  });
  it('rejects bad references', () => {
    for (const bad of ['', 'BusyBox', 'a b', 'x:', 'x@sha256:zz', 'x:-bad']) assert.throws(() => parseReference(bad), bad);
  });
});
