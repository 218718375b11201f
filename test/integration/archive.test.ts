// docker save / docker load: the Docker 25+ layout both ways, the older layout, OCI layouts
// (directory and tar), gzip archives; ids and layer digests survive a round trip; bad archives
// are refused and leave the store as it was.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { buildTar, type TarEntry } from '../../electron/engine/images/tarWriter.ts';
import { extraLayerTar, sha } from '../helpers/registry.ts';
import { logsOf } from '../helpers/run.ts';
import { busyboxTarball, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

function legacyArchive(layers: Buffer[], tags: string[], cmd: string[], diffIds = layers.map((l) => sha(l))): { tar: Buffer; id: string } {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2026-02-02T00:00:00Z', config: { Cmd: cmd },
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const id = sha(config);
  const entries: TarEntry[] = [{ name: `${id.slice(7)}.json`, type: 'file', mode: 0o644, data: config }];
  const paths = layers.map((l, i) => {
    const dir = sha(`layer${i}${l.length}`).slice(7);
    entries.push({ name: `${dir}/`, type: 'dir', mode: 0o755 }, { name: `${dir}/layer.tar`, type: 'file', mode: 0o644, data: l }, { name: `${dir}/VERSION`, type: 'file', mode: 0o644, data: Buffer.from('1.0') });
    return `${dir}/layer.tar`;
  });
  entries.push({ name: 'manifest.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: tags, Layers: paths }])) });
  return { tar: buildTar(entries), id };
}

describe('save and load', { timeout: 180_000 }, () => {
  let t: TestEngine;
  let t2: TestEngine;
  let legacyId: string;

  before(async () => {
    t = await startTestEngine();
    t2 = await startTestEngine({ busybox: false });
  });
  after(async () => {
    await t?.dispose();
    await t2?.dispose();
  });

  const snapshot = (e: TestEngine) => ({
    images: e.engine.images.list().map((i) => `${i.id} ${i.repoTags.join(',')}`).sort(),
    blobs: e.engine.images.content.list().sort(),
    layers: readdirSync(`${e.root}/layers`).sort(),
  });

  it('loads the older docker save layout (two layers, one a whiteout) and runs it', async () => {
    const { tar, id } = legacyArchive([readFileSync(busyboxTarball()), extraLayerTar('legacy\n')], ['legacy:1'], ['sh', '-c', 'cat /hello.txt; ls /etc/group 2>&1 || true']);
    const r = await t.engine.loadImages(Readable.from([tar]));
    assert.deepEqual(r.messages, ['Loaded image: legacy:1']);
    assert.equal(r.images[0].id, id);
    legacyId = id;
    const run = await t.engine.run({ Image: 'legacy:1' });
    assert.match(await logsOf(t.engine, run.id), /^legacy\nls: \/etc\/group: No such file or directory\n$/);
    await t.engine.containers.remove(run.id);
  });

  it('save → load round trip keeps image ids, layer digests and names; gzip archives load too', async () => {
    const file = `${t.root}/../saved.tar`;
    await pipeline(t.engine.saveImages(['legacy:1', 'busybox']), createWriteStream(file));
    const listing = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    for (const f of ['oci-layout', 'index.json', 'manifest.json', 'repositories']) assert.ok(listing.includes(f), f);
    const legacy = t.engine.images.get('legacy:1');
    for (const d of legacy.config.rootfs.diff_ids) assert.ok(listing.includes(`blobs/sha256/${d.slice(7)}`), `layer ${d} stored under its diff id`);
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }));
    assert.deepEqual(manifest.map((m: { RepoTags: string[] }) => m.RepoTags), [['legacy:1'], ['busybox:latest']]);
    // Every blob in the archive hashes to its name.
    const dir = `${t.root}/../saved`;
    mkdirSync(dir);
    execFileSync('tar', ['-xf', file, '-C', dir]);
    for (const b of readdirSync(`${dir}/blobs/sha256`)) assert.equal(sha(readFileSync(`${dir}/blobs/sha256/${b}`)), `sha256:${b}`);

    const r = await t2.engine.loadImages(Readable.from([gzipSync(readFileSync(file))]));
    assert.deepEqual(r.messages.sort(), ['Loaded image: busybox:latest', 'Loaded image: legacy:1']);
    for (const name of ['legacy:1', 'busybox']) {
      const a = t.engine.images.get(name);
      const b = t2.engine.images.get(name);
      assert.equal(b.id, a.id);
      assert.deepEqual(b.config.rootfs.diff_ids, a.config.rootfs.diff_ids);
    }
    const run = await t2.engine.run({ Image: 'legacy:1' });
    assert.match(await logsOf(t2.engine, run.id), /^legacy\n/);
    await t2.engine.containers.remove(run.id);

    // The same archive as an OCI layout directory (names from the index annotations).
    rmSync(`${dir}/manifest.json`);
    t2.engine.removeImage('legacy:1');
    const oci = await t2.engine.loadImages(dir);
    assert.ok(oci.messages.includes('Loaded image: legacy:1'));
    assert.equal(t2.engine.images.get('legacy:1').id, legacyId);
  });

  it('saved by id, an image loads without a name', async () => {
    const id = t.engine.images.get('busybox').id;
    const chunks: Buffer[] = [];
    for await (const c of t.engine.saveImages([id.slice(7, 19)])) chunks.push(c as Buffer);
    t2.engine.removeImage('busybox');
    const r = await t2.engine.loadImages(Readable.from([Buffer.concat(chunks)]));
    assert.deepEqual(r.messages, [`Loaded image ID: ${id}`]);
  });

  it('refuses bad archives with a specific error and leaves the store as it was', async () => {
    const before = snapshot(t2);
    const busybox = readFileSync(busyboxTarball());
    const cases: [string, Buffer, RegExp][] = [
      ['not a tar', Buffer.from('definitely not a tarball '.repeat(50)), /load: not a tar archive/],
      ['a tar that is not an image', buildTar([{ name: 'readme.txt', type: 'file', mode: 0o644, data: Buffer.from('hi') }]), /not an image archive/],
      ['layer content does not match the config', legacyArchive([busybox, extraLayerTar('x\n')], ['bad:1'], ['true'], [sha(busybox), sha('something else')]).tar, /does not match the image config/],
      ['layer path outside the archive', buildTar([{ name: 'manifest.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['../../../../etc/passwd'] }])) }, { name: 'c.json', type: 'file', mode: 0o644, data: Buffer.from('{}') }]), /outside the archive/],
      ['symlinked layer pointing out', buildTar([
        { name: 'manifest.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['l.tar'] }])) },
        { name: 'c.json', type: 'file', mode: 0o644, data: Buffer.from('{"rootfs":{"type":"layers","diff_ids":["sha256:00"]}}') },
        { name: 'l.tar', type: 'symlink', mode: 0o777, linkname: '/etc/passwd' },
      ]), /outside the archive/],
      ['config that is not JSON', buildTar([
        { name: 'manifest.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: [] }])) },
        { name: 'c.json', type: 'file', mode: 0o644, data: Buffer.from('{nope') },
      ]), /not valid JSON/],
      ['bad tag', legacyArchive([busybox], ['Bad Tag'], ['true']).tar, /invalid reference format/],
    ];
    for (const [what, tar, re] of cases) {
      await assert.rejects(t2.engine.loadImages(Readable.from([tar])), (e: Error) => re.test(e.message) || assert.fail(`${what}: ${e.message}`));
      assert.deepEqual(snapshot(t2), before, what);
    }
    assert.deepEqual(readdirSync(`${t2.root}/tmp`), []);
  });
});
