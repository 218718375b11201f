import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Image } from '../images/imageStore.ts';
import { mergeConfig, mergeHealthcheck, validateHostConfig } from './createOptions.ts';
import { parseRecord } from './logReader.ts';
import { validateName } from './names.ts';

const image = { config: { config: { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/x', 'A=1'], WorkingDir: '/w' } } } as unknown as Image;

it('merges create options with the image config as Docker does', () => {
  let m = mergeConfig({ Image: 'x' }, image, 'h');
  assert.deepEqual([m.path, ...m.args], ['/entry', 'default']);
  m = mergeConfig({ Image: 'x', Cmd: ['mine'] }, image, 'h');
  assert.deepEqual([m.path, ...m.args], ['/entry', 'mine']);
  m = mergeConfig({ Image: 'x', Entrypoint: ['/other'] }, image, 'h');
  assert.deepEqual([m.path, ...m.args], ['/other'], 'an explicit entrypoint resets the image cmd');
  m = mergeConfig({ Image: 'x', Env: ['A=2', 'B=3'] }, image, 'h');
  assert.deepEqual(m.config.Env, ['PATH=/x', 'A=2', 'B=3']);
  assert.equal(m.config.WorkingDir, '/w');
  assert.throws(() => mergeConfig({ Image: 'x', Entrypoint: [] , Cmd: []}, { config: { config: {} } } as unknown as Image, 'h'), /No command specified/);
});

it('validates host config and names', () => {
  assert.equal(validateHostConfig({}).NetworkMode, 'bridge');
  assert.throws(() => validateHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'always' } }), /AutoRemove/);
  assert.equal(validateName('/web.1'), 'web.1');
  assert.throws(() => validateName('x'), /Invalid container name/);
  assert.throws(() => validateName('x'.repeat(10_000_000)), /Invalid container name \(x{64}…\)/);
});

it('parses log records, full and partial', () => {
  assert.deepEqual(parseRecord('2026-01-01T00:00:00.000000001Z stderr F oops'), { stream: 'stderr', time: '2026-01-01T00:00:00.000000001Z', text: 'oops\n' });
  assert.equal(parseRecord('2026-01-01T00:00:00.000000001Z stdout P par')?.text, 'par');
  assert.equal(parseRecord('garbage'), undefined);
});

it('merges a health check over the image\'s field by field, and refuses what dockerd refuses', () => {
  const img = { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 5e9, Retries: 4 };
  assert.deepEqual(mergeHealthcheck(undefined, img), img);
  assert.deepEqual(mergeHealthcheck({ Retries: 1, Timeout: null as unknown as number }, img), { Test: img.Test, Interval: 5e9, Retries: 1 });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, img), { Test: ['NONE'], Interval: 5e9, Retries: 4 });
  assert.throws(() => mergeHealthcheck({ Test: ['CMD', 'x'], Interval: 999_999 }, undefined), /Interval in Healthcheck cannot be less than 1ms/);
  assert.throws(() => mergeHealthcheck({ Test: ['CMD', 'x'], StartPeriod: 10 }, undefined), /StartPeriod in Healthcheck cannot be less than 1ms/);
  assert.throws(() => mergeHealthcheck({ Test: ['CMD', 'x'], Retries: -1 }, undefined), /Retries in Healthcheck cannot be negative/);
  assert.throws(() => mergeHealthcheck({ Test: ['SHELL', 'x'] }, undefined), /Healthcheck.Test "SHELL"/);
  assert.throws(() => mergeHealthcheck({ Test: ['CMD'] }, undefined), /CMD needs a command/);
});
