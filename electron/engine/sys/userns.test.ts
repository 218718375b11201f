import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInitialMap, parseIdMap } from './userns.ts';

describe('user namespace detection', () => {
  it('tells the host\'s identity map from a rootless engine\'s', () => {
    assert.equal(isInitialMap('         0          0 4294967295\n'), true);
    const rootless = '         0       1001          1\n         1    1100000      65536\n';
    assert.equal(isInitialMap(rootless), false);
    assert.deepEqual(parseIdMap(rootless), [{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 1100000, count: 65536 }]);
  });
});
