// The electron-builder config (package.json "build"): the targets the issue names, the native
// helper and native modules outside the asar, and file patterns that match real files.
// (electron-builder itself cannot run here: it downloads Electron and its tools.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, 'utf8'));

test('packaging config: targets, unpacked natives, files that exist', () => {
  const b = pkg.build;
  assert.deepEqual(b.linux.target, ['AppImage', 'deb', 'rpm']);
  assert.deepEqual(b.mac.target, ['dmg']);
  assert.deepEqual(b.win.target, ['nsis']);
  for (const p of ['native/build/**', 'node_modules/node-pty/**', 'node_modules/koffi/**']) assert.ok(b.asarUnpack.includes(p), `${p} is unpacked from the asar`);
  assert.ok(b.files.includes('!node_modules/node-pty/prebuilds/**'), "node-pty's 58 MB of win/mac prebuilds stay out");
  assert.equal(pkg.main, 'dist/electron/main.js');
  for (const f of ['dist/electron/main.js', 'dist/electron/preload.cjs', 'dist/electron/unpackWorker.js', 'dist/renderer/index.html', 'dist/renderer/app.js', 'native/build/berth-helper']) {
    assert.ok(existsSync(`${REPO}/${f}`), `${f} is built by npm install`);
  }
  assert.ok(pkg.optionalDependencies.electron, 'electron stays optional');
  assert.match(pkg.scripts.dist, /electron-builder/);
});
