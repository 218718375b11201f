import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methods, runArgs, streams } from './contract.ts';
import { ValidationError } from './validate.ts';

test('contract validators refuse wrong types, unknown fields and absurd values by name', () => {
  assert.throws(() => runArgs({ image: 5 }, ''), (e: Error) => e instanceof ValidationError && /image: expected a string, got number/.test(e.message));
  assert.throws(() => runArgs({ image: 'busybox', colour: 'red' }, ''), /unknown field colour/);
  assert.throws(() => runArgs({ image: 'busybox', memory: -1 }, ''), /memory: must be at least/);
  assert.throws(() => runArgs({ image: 'busybox', name: 'x'.repeat(10_000_000) }, ''), /name: longer than 128/);
  assert.throws(() => runArgs({ image: 'busybox', env: ['NOEQ'] }, ''), /env\[0\]/);
  assert.throws(() => methods['containers.kill'].args({ id: 'a', signal: 'rm -rf' }, ''), /signal/);
  assert.throws(() => streams.terminal.args({ id: 'a', mode: 'exec', cols: 0, rows: 10 }, ''), /cols: must be at least 2/);
  assert.deepEqual(runArgs({ image: 'busybox', tty: true }, ''), { image: 'busybox', tty: true });
  assert.deepEqual(streams.terminal.input({ ack: 10 }, 'input'), { ack: 10 });
});
