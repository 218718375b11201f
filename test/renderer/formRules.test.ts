import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyForm, parseBytes, splitCommand, toRunArgs, validate } from '../../renderer/features/containers/formRules.ts';

const ctx = { names: ['web'], cpus: 2 };

test('splitCommand groups quotes and escapes like a shell', () => {
  assert.deepEqual(splitCommand(`sh -c 'echo "a b"; sleep 1'`), ['sh', '-c', 'echo "a b"; sleep 1']);
  assert.deepEqual(splitCommand('a\\ b "" c'), ['a b', '', 'c']);
  assert.throws(() => splitCommand('echo "oops'), /unclosed " quote/);
});

test('parseBytes reads docker-style sizes', () => {
  assert.equal(parseBytes('512m'), 512 * 1024 ** 2);
  assert.equal(parseBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes('12x'), undefined);
});

test('validate flags each bad field with a specific message', () => {
  const e = validate({ ...emptyForm('Bad Image'), name: 'web', env: 'NOEQUALS', ports: '80:99999', binds: 'a/b:/x', memory: '1m', cpus: '9' }, ctx);
  assert.match(e.image!, /invalid reference format: repository name must be lowercase: "Bad Image"/);
  assert.match(e.name!, /already exists/);
  assert.match(e.env!, /invalid environment variable: NOEQUALS/);
  assert.match(e.ports!, /invalid container port "99999" in port specification "80:99999\/tcp"/);
  assert.match(e.binds!, /"a\/b" includes invalid characters for a local volume name/);
  assert.match(e.memory!, /Minimum memory limit allowed is 6MB/);
  assert.match(e.cpus!, /Range of CPUs is from 0.01 to 2.00/);
  assert.deepEqual(validate({ ...emptyForm('127.0.0.1:5000/busybox:1.36'), ports: '127.0.0.1:8080:80/tcp\n9000-9001:9000-9001' }, ctx), {});
});

test('toRunArgs builds the contract arguments', () => {
  const a = toRunArgs({ ...emptyForm('busybox'), name: 'x', command: 'sleep 60', env: 'A=1\n\nB=2', memory: '64m', cpus: '0.5', restart: 'always', tty: true });
  assert.deepEqual(a, { image: 'busybox', name: 'x', cmd: ['sleep', '60'], env: ['A=1', 'B=2'], memory: 64 * 1024 ** 2, cpus: 0.5, restart: 'always', tty: true });
});
