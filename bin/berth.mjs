#!/usr/bin/env node
// The berth command: `berth start` (the Electron app, or web mode where Electron is absent),
// `berth daemon`, `berth run`, image commands, `berth probe`.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { newest } from './newest.mjs';

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
    void runCli(['daemon', '--web', process.env.BERTH_WEB ?? '127.0.0.1:7380', ...process.argv.slice(3)]);
  }
} else {
  void runCli(process.argv.slice(2));
}

/**
 * Runs the command in this process: the bundle `npm install` built (dist/headless) while no
 * source is newer than it, otherwise the TypeScript sources through tsx's loader.
 */
async function runCli(args) {
  const bundle = join(root, 'dist/headless/cli.js');
  const fresh = existsSync(bundle) && statSync(bundle).mtimeMs > Math.max(newest(join(root, 'electron')), newest(join(root, 'common')));
  const dial = join(root, 'dist/headless/dialStdio.js');
  const cli = !fresh ? join(root, 'electron/headless/cli.ts') : args[0] === 'system' && args[1] === 'dial-stdio' && existsSync(dial) ? dial : bundle;
  process.argv = [process.argv[0], cli, ...args];
  if (!fresh) await import('tsx');
  await import(pathToFileURL(cli).href);
}
