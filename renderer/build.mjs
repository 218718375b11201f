// Builds the UI (dist/renderer), the Electron main and preload (dist/electron) and the headless
// CLI and daemon (dist/headless, run by bin/berth.mjs while it is newer than the sources) with
// esbuild. Run by `npm install` (postinstall) and before the browser tests; `--if-stale` skips
// the UI when nothing under renderer/ or common/ is newer than its bundle.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest } from '../bin/newest.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/renderer');

const fresh = (file, ...dirs) => existsSync(file) && statSync(file).mtimeMs > Math.max(...dirs.map((d) => newest(join(root, d))));
const uiOnly = process.argv.includes('--ui-only');
if (process.argv.includes('--if-stale') && fresh(join(out, 'app.js'), 'renderer', 'common')
  && (uiOnly || fresh(join(root, 'dist/headless/cli.js'), 'electron', 'common'))) {
  process.exit(0);
}
mkdirSync(out, { recursive: true });
const t0 = Date.now();
await build({
  entryPoints: { app: join(root, 'renderer/main.tsx') }, outdir: out, bundle: true, format: 'esm', target: 'chrome120',
  minify: true, sourcemap: true, jsx: 'automatic', legalComments: 'none', logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
copyFileSync(join(root, 'renderer/index.html'), join(out, 'index.html'));
if (!uiOnly) {
  await build({
    entryPoints: { preload: join(root, 'electron/preload/preload.ts') }, outdir: join(root, 'dist/electron'), bundle: true,
    outExtension: { '.js': '.cjs' }, platform: 'node', format: 'cjs', target: 'node20', external: ['electron'], logLevel: 'warning',
  });
  const nodeBundle = {
    bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['electron', 'node-pty', 'koffi', 'ws'], logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  };
  const worker = join(root, 'electron/engine/images/tar/unpackWorker.ts');
  await build({ ...nodeBundle, entryPoints: { main: join(root, 'electron/main/main.ts'), unpackWorker: worker }, outdir: join(root, 'dist/electron') });
  // Without tsx at run time the CLI starts in a third of the time and the daemon is one smaller process.
  await build({ ...nodeBundle, entryPoints: { cli: join(root, 'electron/headless/cli.ts'), unpackWorker: worker }, outdir: join(root, 'dist/headless') });
  // ssh starts `berth system dial-stdio` per connection: it gets a bundle of its own.
  await build({ ...nodeBundle, entryPoints: { dialStdio: join(root, 'electron/headless/dialStdioMain.ts') }, outdir: join(root, 'dist/headless') });
}
console.log(`berth: UI built in ${Date.now() - t0} ms → ${out}`);
