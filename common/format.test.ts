import assert from 'node:assert/strict';
import { it } from 'node:test';
import { humanDuration, humanSize, shortId } from './format.ts';

it('formats durations, sizes and ids as docker does', () => {
  assert.equal(humanDuration(400), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(3600_000), 'About an hour');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanSize(2_300_000), '2.30MB');
  assert.equal(shortId(`sha256:${'ab'.repeat(32)}`), 'abababababab');
});
