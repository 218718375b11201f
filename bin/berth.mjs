#!/usr/bin/env node
// The berth command: `berth start` (the Electron app, or web mode where Electron is absent),
// `berth daemon`, `berth run`, image commands, `berth probe`. Runs TypeScript through tsx.
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
  if (typeof electron === 'string') {
    const app = spawn(electron, [root, ...process.argv.slice(3)], { stdio: 'inherit' });
    app.on('exit', (code) => process.exit(code ?? 1));
  } else {
    console.error('Electron is not installed on this machine (it is an optional dependency and its binary could not be downloaded).');
    console.error('Serving the same UI in web mode instead; open the URL below in a browser.');
    runCli(['daemon', '--web', process.env.BERTH_WEB ?? '127.0.0.1:7380', ...process.argv.slice(3)]);
  }
} else {
  runCli(process.argv.slice(2));
}

function runCli(args) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'electron/headless/cli.ts'), ...args], { stdio: 'inherit' });
  // Signals go to the command itself (a daemon shuts down cleanly on SIGTERM/SIGINT).
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 15) : 1)));
}
