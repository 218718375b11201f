import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Disposables } from './disposable.ts';

test('Disposables ends everything once, newest first, and what comes later at once', () => {
  const log: string[] = [];
  const d = new Disposables();
  d.add(() => log.push('a'));
  d.add({ dispose: () => log.push('b') });
  const c = d.add(() => log.push('c'));
  d.delete(c);
  assert.deepEqual(log, ['c']);
  assert.equal(d.size, 2);
  d.dispose();
  d.dispose();
  assert.deepEqual(log, ['c', 'b', 'a']);
  d.add(() => log.push('late'));
  assert.deepEqual(log, ['c', 'b', 'a', 'late']);
});

test('a failing disposer does not keep the others from running', () => {
  const log: string[] = [];
  const d = new Disposables();
  d.add(() => log.push('first'));
  d.add(() => {
    throw new Error('broken');
  });
  assert.throws(() => d.dispose(), /broken/);
  assert.deepEqual(log, ['first']);
});
