// The engine boots headless: nothing reachable from `berth daemon` (engine, API, web-mode host)
// imports electron. esbuild walks the real module graph; packages stay external.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

test('no electron in the headless module graph', async () => {
  const r = await build({
    entryPoints: [fileURLToPath(new URL('./cli.ts', import.meta.url))], bundle: true, write: false, metafile: true,
    platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.some((f) => f.includes('electron/host/contractHost.ts')), 'the graph includes the web-mode host');
  const imports = Object.values(r.metafile.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path));
  assert.deepEqual(imports.filter((p) => p === 'electron' || p.startsWith('electron/')), []);
  assert.deepEqual(inputs.filter((f) => /electron\/(main|preload)\//.test(f)), []);
});
