#!/usr/bin/env node
// The berth command: `berth start` (the app), `berth run` (engine-level run, no daemon),
// `berth probe` (kernel features). Runs TypeScript through tsx.
import { spawn } from 'node:child_process';
import os from 'node:os';
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
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'electron/headless/cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// Signals go to the command itself (a daemon shuts down cleanly on SIGTERM/SIGINT).
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 15) : 1)));
