// SIGKILL a pull at random points: every restart finds a consistent store (every blob hashes
// to its name, no half-unpacked layer, no name without its image), and the next pull succeeds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { CredentialStore } from '../../electron/engine/images/distribution/credentials.ts';
import { pullImage } from '../../electron/engine/images/distribution/pull.ts';
import { RegistryClient } from '../../electron/engine/images/distribution/registryClient.ts';
import { LocalImageStore } from '../../electron/engine/images/localImageStore.ts';
import { buildTar } from '../../electron/engine/images/tarWriter.ts';
import { REPO } from '../helpers/testEngine.ts';
import { sha, startRegistry, uploadImage, type BuiltImage, type TestRegistry } from '../helpers/registry.ts';

const RUNS = 6;

function pullInChild(root: string, ref: string, killAfterMs?: number): Promise<{ done: boolean; ms: number; lines: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', `${REPO}/test/helpers/pullChild.ts`, root, ref], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // The kill clock starts at the first progress line, so that it lands inside the pull, not in Node's start-up.
  if (killAfterMs !== undefined) {
    const onFirst = () => {
      child.stdout.off('data', onFirst);
      setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    child.stdout.on('data', onFirst);
  }
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`pull child failed (${code}): ${err}`));
      resolve({ done: out.includes('done sha256:'), ms: Date.now() - started, lines: out.split('\n').length - 1 });
    });
  });
}

async function checkConsistent(root: string): Promise<void> {
  const store = new LocalImageStore(root); // recovery runs here, as on an engine start
  try {
    assert.deepEqual(await store.content.verify(), [], 'every blob hashes to its name');
    assert.deepEqual(readdirSync(`${root}/blobs/ingest`).filter((f) => !f.endsWith('.partial')), [], 'no temp blobs');
    assert.deepEqual(readdirSync(`${root}/layers`).filter((f) => f.startsWith('.tmp')), [], 'no half-unpacked layer');
    for (const img of store.list()) {
      for (const d of img.config.rootfs.diff_ids) assert.ok(store.layer(d), `layer ${d} of ${img.id} is complete`);
    }
    const indexFile = `${root}/images/repositories.json`;
    const index = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) : {};
    for (const id of Object.values({ ...index.tags, ...index.digests }) as string[]) assert.ok(store.get(id), `name points at an image: ${id}`);
  } finally {
    await store.close();
  }
}

describe('a pull killed at random points', { timeout: 300_000 }, () => {
  let reg: TestRegistry;
  let image: BuiltImage;
  let base: string;

  before(async () => {
    reg = await startRegistry();
    // Three incompressible layers of 8 MiB, so a pull spends time in every phase.
    const layers = [0, 1, 2].map((i) => buildTar([
      { name: `layer${i}/`, type: 'dir', mode: 0o755 },
      ...[0, 1, 2, 3].map((j) => ({ name: `layer${i}/f${j}`, type: 'file' as const, mode: 0o644, data: randomBytes(2 << 20) })),
    ]));
    image = await uploadImage(reg, 'crash/big', 'v1', layers);
    base = mkdtempSync(`${tmpdir()}/berth-t-crash-`);
  });
  after(async () => {
    await reg?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it(`leaves a consistent store after each of ${RUNS} kills, then pulls successfully`, async () => {
    const ref = `${reg.host}/crash/big:v1`;
    const probe = await pullInChild(`${base}/probe`, ref);
    assert.ok(probe.done);
    const root = `${base}/store`;
    const kills: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const at = Math.floor(Math.random() * Math.max(50, probe.ms - 400));
      const r = await pullInChild(root, ref, at);
      kills.push(`${at}ms${r.done ? ' (finished first)' : ''}`);
      await checkConsistent(root);
      if (r.done) rmSync(root, { recursive: true, force: true }); // start over so the next kill lands mid-pull
    }
    const store = new LocalImageStore(root);
    try {
      const img = await pullImage(store, new RegistryClient({ credentials: new CredentialStore(`${base}/auth.json`) }), ref);
      assert.equal(img.id, image.config.digest);
      for (const l of image.layers) assert.ok(store.layer(l.diffId), `layer ${l.diffId}`);
      const f = readFileSync(`${store.layerDir(image.layers[1].diffId)}/layer1/f0`);
      assert.equal(f.length, 2 << 20);
      assert.notEqual(sha(f), sha(Buffer.alloc(0)));
      assert.deepEqual(await store.content.verify(), []);
    } finally {
      await store.close();
    }
    console.log(`# kill points: ${kills.join(', ')} (full pull ${probe.ms} ms)`);
  });
});
