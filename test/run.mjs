#!/usr/bin/env node
// `npm test`: lint, type-check, unit tests, then integration tests on the real kernel.
// Ends with the line "N passed, N failed" that CI reads.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
const failures = [];

function find(dir, pred, out = []) {
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (['node_modules', '.git', '.tsbuild', 'native', 'scratch', 'dist'].includes(name)) continue;
    if (statSync(join(root, rel)).isDirectory()) find(rel, pred, out);
    else if (pred(rel)) out.push(rel);
  }
  return out;
}

function run(label, cmd, argv, { tap = false, env } = {}) {
  return new Promise((resolve) => {
    console.log(`\n== ${label}`);
    const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      if (tap) {
        const p = Number(/^# pass (\d+)/m.exec(out)?.[1] ?? 0);
        const f = Number(/^# fail (\d+)/m.exec(out)?.[1] ?? 0);
        passed += p;
        failed += f;
        for (const m of out.matchAll(/^\s*not ok \d+ - (.*)$/gm)) failures.push(`${label}: ${m[1]}`);
        if (code !== 0 && f === 0) {
          failed++;
          failures.push(`${label}: runner exited ${code}`);
        }
      } else if (code === 0) {
        passed++;
      } else {
        failed++;
        failures.push(label);
      }
      resolve();
    });
  });
}

const node = process.execPath;
const bin = (name) => join(root, 'node_modules', '.bin', name);

if (!only || only === 'static') {
  await run('lint', bin('eslint'), ['.']);
  await run('type-check', bin('tsc'), ['-b']);
}
if (!only || only === 'unit') {
  // Tests beside the code, plus the renderer's (kept under test/ since the renderer may not import node:*).
  const unit = find('.', (f) => /\.test\.tsx?$/.test(f) && (!f.startsWith('test/') || f.startsWith('test/renderer/')));
  // tsx takes JSX settings only from the tsconfig it is pointed at; the component tests load the renderer's .tsx.
  await run('unit tests', node, ['--import', 'tsx', '--test', '--test-reporter=tap', ...unit], { tap: true, env: { TSX_TSCONFIG_PATH: 'renderer/tsconfig.json' } });
}
if (!only || only === 'integration') {
  if (process.getuid?.() !== 0) {
    console.log('\n== integration tests skipped: they create real containers and need root');
  } else {
    const integ = find('test/integration', (f) => f.endsWith('.test.ts')).sort();
    await run('sweep leftovers of interrupted runs', node, ['test/helpers/sweep.mjs']);
    await run('integration tests', node, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...integ], { tap: true });
    await run('sweep after integration tests', node, ['test/helpers/sweep.mjs']);
  }
}
if (!only || only === 'e2e') {
  if (process.getuid?.() !== 0) {
    console.log('\n== browser end-to-end tests skipped: they run a real engine and need root');
  } else {
    const e2e = find('test/e2e', (f) => f.endsWith('.test.ts')).sort();
    await run('build the UI', node, ['renderer/build.mjs', '--if-stale']);
    await run('browser end-to-end tests', node, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...e2e], { tap: true });
    await run('sweep after end-to-end tests', node, ['test/helpers/sweep.mjs']);
  }
}

if (failures.length) console.log(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
