#!/usr/bin/env node
// The berth command: `berth start` (the app), `berth run` (engine-level run, no daemon),
// `berth probe` (kernel features). Runs TypeScript through tsx.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cmd = process.argv[2] ?? 'help';
const require = createRequire(import.meta.url);

if (cmd === 'start') {
  let electron;
  try {
    electron = require('electron');
  } catch {
    electron = undefined;
  }
  if (typeof electron !== 'string') {
    console.error('Electron is not installed on this machine (its binary download is unavailable here).');
    console.error('The desktop UI and its web mode are not built yet; use `berth run` or the engine API meanwhile.');
    process.exit(1);
  }
  console.error('The desktop UI is not built yet.');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'electron/headless/cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
