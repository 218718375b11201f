import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pruneMatcher, untilCutoff } from './pruneFilters.ts';

it('until: Go durations before now, times, dates and unix seconds; anything else refused', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  assert.equal(untilCutoff('1h30m', now), now - 90 * 60_000);
  assert.equal(untilCutoff('10s', now), now - 10_000);
  assert.equal(untilCutoff('1700000000', now), 1_700_000_000_000);
  assert.equal(untilCutoff('2026-01-02T15:04:05Z', now), Date.parse('2026-01-02T15:04:05Z'));
  assert.equal(untilCutoff('2026-01-02', now), Date.parse('2026-01-02T00:00:00Z'));
  for (const bad of ['soon', '1d', '', '5 m']) assert.throws(() => untilCutoff(bad, now), /invalid value for filter 'until'/, bad);
});

it('label and label! over created-before; unknown keys refused', () => {
  const m = pruneMatcher({ label: ['tier=db'], 'label!': ['keep'] });
  assert.equal(m('2020-01-01T00:00:00Z', { tier: 'db' }), true);
  assert.equal(m('2020-01-01T00:00:00Z', { tier: 'db', keep: '' }), false);
  assert.equal(m('2020-01-01T00:00:00Z', { tier: 'web' }), false);
  const old = pruneMatcher({ until: ['2021-01-01T00:00:00Z'] });
  assert.equal(old('2020-06-01T00:00:00Z', {}), true);
  assert.equal(old(Date.parse('2022-01-01T00:00:00Z') / 1000, {}), false);
  assert.throws(() => pruneMatcher({ dangling: ['true'] }), /Invalid filter 'dangling'/);
  assert.doesNotThrow(() => pruneMatcher({ dangling: ['true'] }, ['dangling']));
});
