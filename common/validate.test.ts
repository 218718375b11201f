import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methods, runArgs, streams } from './contract.ts';
import { ValidationError } from './validate.ts';

test('contract validators refuse wrong types, unknown fields and absurd values by name', () => {
  assert.throws(() => runArgs({ image: 5 }, ''), (e: Error) => e instanceof ValidationError && /image: expected a string, got number/.test(e.message));
  assert.throws(() => runArgs({ image: 'busybox', colour: 'red' }, ''), /unknown field colour/);
  // Values past their type are checked with common/grammar, in the words the engine uses.
  assert.throws(() => runArgs({ image: 'busybox', memory: -1 }, ''), /invalid memory limit -1/);
  assert.throws(() => runArgs({ image: 'busybox', memory: 1024 }, ''), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => runArgs({ image: 'busybox', name: 'x'.repeat(10_000_000) }, ''), /name: longer than 256/);
  assert.throws(() => runArgs({ image: 'busybox', env: ['NOEQ'] }, ''), /invalid environment variable: NOEQ/);
  assert.throws(() => runArgs({ image: 'Busybox' }, ''), /repository name must be lowercase/);
  assert.throws(() => runArgs({ image: 'busybox', ports: ['80:80'] }, ''), /ports\[0\]: expected an object/);
  assert.throws(() => methods['containers.kill'].args({ id: 'a', signal: 'rm -rf' }, ''), /signal/);
  assert.throws(() => streams.terminal.args({ id: 'a', mode: 'exec', cols: 0, rows: 10 }, ''), /cols: must be at least 2/);
  assert.deepEqual(runArgs({ image: 'busybox', tty: true }, ''), { image: 'busybox', tty: true });
  assert.deepEqual(streams.terminal.input({ ack: 10 }, 'input'), { ack: 10 });
});
