// Pull and push against a real registry (docker-registry on 127.0.0.1), filled with images built
// offline from busybox-static: single-platform, a multi-platform index with an arm64 entry, and a
// registry with htpasswd basic auth.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isEngineError } from '../../electron/engine/errors.ts';
import { systemBackend } from '../../electron/engine/backend/system.ts';
import { buildTar } from '../../electron/engine/images/tarWriter.ts';
import type { ProgressMessage } from '../../electron/engine/images/distribution/pull.ts';
import { busyboxTarball, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';
import { extraLayerTar, freePort, startRegistry, uploadImage, uploadIndex, type BuiltImage, type TestRegistry } from '../helpers/registry.ts';
import { logsOf } from '../helpers/run.ts';
import { writeCredentialHelper } from '../../electron/engine/testing/credentialHelper.ts';

describe('registry pull and push', { timeout: 180_000 }, () => {
  let t: TestEngine;
  let reg: TestRegistry;
  let authReg: TestRegistry;
  let single: BuiltImage;
  let amd: BuiltImage;
  let arm: BuiltImage;
  let busyboxLayer: Buffer;

  before(async () => {
    t = await startTestEngine({ busybox: false });
    reg = await startRegistry();
    authReg = await startRegistry({ auth: { username: 'alice', password: 's3cret' } });
    busyboxLayer = readFileSync(busyboxTarball());
    single = await uploadImage(reg, 'tools/bb', 'v1', [busyboxLayer, extraLayerTar()], { cmd: ['cat', '/hello.txt'] });
    amd = await uploadImage(reg, 'multi', 'amd64-only', [busyboxLayer, extraLayerTar('amd64\n')], { cmd: ['cat', '/hello.txt'] });
    arm = await uploadImage(reg, 'multi', 'arm64-only', [busyboxLayer, extraLayerTar('arm64\n')], { arch: 'arm64', oci: true });
    await uploadIndex(reg, 'multi', 'latest', [{ image: amd, arch: 'amd64' }, { image: arm, arch: 'arm64', variant: 'v8' }]);
    await uploadImage(authReg, 'private/bb', 'latest', [busyboxLayer], { cmd: ['true'] });
  });
  after(async () => {
    await t?.dispose();
    await reg?.stop();
    await authReg?.stop();
  });

  const snapshot = () => ({
    images: t.engine.images.list().map((i) => `${i.id} ${i.repoTags.join(',')}`).sort(),
    blobs: t.engine.images.content.list().sort(),
    layers: readdirSync(`${t.root}/layers`).sort(),
  });

  it('pulls by tag with per-layer progress, and the layers (with a whiteout) make a working rootfs', async () => {
    const events: ProgressMessage[] = [];
    const img = await t.engine.pull(`${reg.host}/tools/bb:v1`, { onProgress: (m) => events.push(m) });
    assert.equal(img.id, single.config.digest);
    assert.deepEqual(img.repoTags, [`${reg.host}/tools/bb:v1`]);
    assert.deepEqual(img.repoDigests, [`${reg.host}/tools/bb@${single.manifest.digest}`]);
    assert.deepEqual(img.config.rootfs.diff_ids, single.layers.map((l) => l.diffId));
    for (const l of single.layers) {
      const id = l.digest.slice(7, 19);
      const downloading = events.filter((e) => e.id === id && e.status === 'Downloading');
      assert.ok(downloading.length >= 1, `progress for ${id}`);
      assert.equal(downloading.at(-1)!.progressDetail!.current, l.size);
      assert.equal(downloading.at(-1)!.progressDetail!.total, l.size);
      assert.ok(events.some((e) => e.id === id && e.status === 'Pull complete'));
    }
    assert.equal(events.at(-1)!.status, `Status: Downloaded newer image for ${reg.host}/tools/bb:v1`);
    const { exitCode, id } = await t.engine.run({ Image: `${reg.host}/tools/bb:v1`, Cmd: ['sh', '-c', 'cat /hello.txt; test -e /etc/group && echo group-present || echo group-gone; test -e /etc/passwd && echo passwd-present'] });
    assert.equal(exitCode, 0);
    assert.equal(await logsOf(t.engine, id), 'hello from layer two\ngroup-gone\npasswd-present\n');
    await t.engine.containers.remove(id);
    const again: ProgressMessage[] = [];
    await t.engine.pull(`${reg.host}/tools/bb:v1`, { onProgress: (m) => again.push(m) });
    assert.ok(again.some((e) => e.status === 'Already exists'));
    assert.equal(again.at(-1)!.status, `Status: Image is up to date for ${reg.host}/tools/bb:v1`);
  });

  it('picks the host platform from a multi-platform index, and arm64 on request', async () => {
    const img = await t.engine.pull(`${reg.host}/multi:latest`);
    assert.equal(img.id, amd.config.digest);
    assert.equal(img.config.architecture, 'amd64');
    assert.match(img.repoDigests[0], new RegExp(`^${reg.host}/multi@sha256:`));
    assert.notEqual(img.repoDigests[0].split('@')[1], amd.manifest.digest, 'the repo digest is the index digest');
    const armImg = await t.engine.pull(`${reg.host}/multi:latest`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(armImg.id, arm.config.digest);
    assert.equal(armImg.config.architecture, 'arm64');
    // The shared busybox layer was unpacked once for all three images.
    assert.equal(t.engine.images.list().filter((i) => i.config.rootfs.diff_ids[0] === single.layers[0].diffId).length, 3);
    assert.equal(t.engine.images.layer(single.layers[0].diffId)!.blobs.length, 1);
  });

  it('concurrent pulls of images sharing a layer download and unpack it once', async () => {
    const a = await uploadImage(reg, 'shared/a', 'v1', [busyboxLayer, extraLayerTar('a\n'), extraLayerTar('common\n')]);
    const b = await uploadImage(reg, 'shared/b', 'v1', [busyboxLayer, extraLayerTar('b\n'), extraLayerTar('common\n')]);
    const t2 = await startTestEngine({ busybox: false });
    try {
      const layerDirs = () => readdirSync(`${t2.root}/layers`).filter((f) => /^[a-f0-9]{64}$/.test(f)).length;
      const before = t2.engine.images.pool.jobsRun;
      const dirsBefore = layerDirs();
      const events: ProgressMessage[] = [];
      const [ia, ib] = await Promise.all([
        t2.engine.pull(`${reg.host}/shared/a:v1`, { onProgress: (m) => events.push(m) }),
        t2.engine.pull(`${reg.host}/shared/b:v1`, { onProgress: (m) => events.push(m) }),
      ]);
      assert.equal(ia.id, a.config.digest);
      assert.equal(ib.id, b.config.digest);
      // 4 distinct layers (busybox, a, b, common): 4 unpacks, not 6.
      assert.equal(t2.engine.images.pool.jobsRun - before, 4, JSON.stringify(events.filter((e) => /Extract|Already/.test(e.status))));
      assert.equal(layerDirs() - dirsBefore, 4);
    } finally {
      await t2.dispose();
    }
  });

  it('resumes a partially downloaded blob with a Range request', async () => {
    const img = await uploadImage(reg, 'resume/me', 'v1', [buildTar([{ name: 'noise', type: 'file', mode: 0o644, data: randomBytes(1 << 20) }])]);
    const layer = img.layers[0];
    const full = readFileSync(`${reg.storage}/docker/registry/v2/blobs/sha256/${layer.digest.slice(7, 9)}/${layer.digest.slice(7)}/data`);
    const half = Math.floor(full.length / 2);
    writeFileSync(t.engine.images.content.partialPath(layer.digest), full.subarray(0, half));
    const events: ProgressMessage[] = [];
    await t.engine.pull(`${reg.host}/resume/me:v1`, { onProgress: (m) => events.push(m) });
    const first = events.find((e) => e.status === 'Downloading');
    assert.equal(first?.progressDetail?.current, half, 'the download started where the partial file ended');
  });

  it('pushes to another repository (mounting blobs it has) and pulls back the same digests', async () => {
    t.engine.tagImage(`${reg.host}/tools/bb:v1`, `${reg.host}/copies/bb:v2`);
    const events: ProgressMessage[] = [];
    const r = await t.engine.push(`${reg.host}/copies/bb:v2`, { onProgress: (m) => events.push(m) });
    assert.equal(r.digest, single.manifest.digest, 'a pulled image is pushed with its own manifest');
    assert.ok(events.some((e) => /^Mounted from /.test(e.status)), 'layers are mounted from tools/bb');
    t.engine.removeImage(`${reg.host}/copies/bb:v2`);
    t.engine.removeImage(`${reg.host}/tools/bb:v1`);
    assert.throws(() => t.engine.images.get(single.config.digest), /No such image/);
    const back = await t.engine.pull(`${reg.host}/copies/bb:v2`);
    assert.equal(back.id, single.config.digest);
    assert.deepEqual(back.repoDigests, [`${reg.host}/copies/bb@${single.manifest.digest}`]);
  });

  it('pushes an imported image with a generated manifest, in chunks, and pulls it back into another store', async () => {
    const rootfs = buildTar([
      { name: 'bin/', type: 'dir', mode: 0o755 },
      { name: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync('/bin/busybox') },
      { name: 'bin/echo', type: 'symlink', mode: 0o777, linkname: 'busybox' },
      { name: 'noise', type: 'file', mode: 0o644, data: randomBytes(1 << 20) },
    ]);
    const imported = await t.engine.importImage(Readable.from([rootfs]), { ref: `${reg.host}/imported/bb:1`, changes: { Cmd: ['echo', 'imported'] } });
    const events: ProgressMessage[] = [];
    const r = await t.engine.push(`${reg.host}/imported/bb:1`, { chunkSize: 256 * 1024, onProgress: (m) => events.push(m) });
    assert.ok(events.filter((e) => e.status === 'Pushing').length >= 2, 'progress while pushing in chunks');
    const again = await t.engine.push(`${reg.host}/imported/bb:1`, { onProgress: (m) => events.push(m) });
    assert.equal(again.digest, r.digest);
    assert.ok(events.some((e) => e.status === 'Layer already exists'));
    const t2 = await startTestEngine({ busybox: false });
    try {
      const img = await t2.engine.pull(`${reg.host}/imported/bb@${r.digest}`);
      assert.equal(img.id, imported.id);
      assert.deepEqual(img.config.rootfs.diff_ids, imported.config.rootfs.diff_ids);
      const run = await t2.engine.run({ Image: img.id });
      assert.equal(await logsOf(t2.engine, run.id), 'imported\n');
      await t2.engine.containers.remove(run.id);
    } finally {
      await t2.dispose();
    }
  });

  it('basic auth: refused without credentials, login checks the password and saves it, then pull and push work', async () => {
    const ref = `${authReg.host}/private/bb:latest`;
    const before = snapshot();
    await assert.rejects(t.engine.pull(ref), (e) => isEngineError(e, 'UNAUTHORIZED') && /authentication required/.test(e.message));
    await assert.rejects(t.engine.login(authReg.host, 'alice', 'wrong'), (e) => isEngineError(e, 'UNAUTHORIZED') && /incorrect username or password/.test(e.message));
    assert.deepEqual(snapshot(), before);
    await t.engine.login(authReg.host, 'alice', 's3cret');
    const saved = JSON.parse(readFileSync(t.engine.registry.credentials.path, 'utf8'));
    assert.equal(Buffer.from(saved.auths[authReg.host].auth, 'base64').toString(), 'alice:s3cret');
    const img = await t.engine.pull(ref);
    t.engine.tagImage(img.id, `${authReg.host}/private/copy:1`);
    await t.engine.push(`${authReg.host}/private/copy:1`);
    assert.equal(t.engine.logout(authReg.host), true);
    await assert.rejects(t.engine.pull(`${authReg.host}/private/copy:1`), /authentication required/);
  });

  it('credsStore: login stores in the credential helper, pull and push read it from there, logout erases it', async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-t-helper-`);
    const path = process.env.PATH;
    const file = t.engine.registry.credentials.path;
    const before = existsSync(file) ? readFileSync(file) : undefined;
    try {
      writeCredentialHelper(`${dir}/bin`, 'vault', `${dir}/vault`, `${dir}/log`);
      process.env.PATH = `${dir}/bin:${path}`;
      writeFileSync(file, JSON.stringify({ credsStore: 'vault' }));
      await t.engine.login(authReg.host, 'alice', 's3cret');
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).auths, { [authReg.host]: {} }, 'no password in the file');
      const img = await t.engine.pull(`${authReg.host}/private/bb:latest`);
      t.engine.tagImage(img.id, `${authReg.host}/private/helper:1`);
      await t.engine.push(`${authReg.host}/private/helper:1`);
      assert.match(readFileSync(`${dir}/log`, 'utf8'), new RegExp(`^store .*"ServerURL":"${authReg.host}","Username":"alice"`, 'm'));
      assert.match(readFileSync(`${dir}/log`, 'utf8'), new RegExp(`^get ${authReg.host}$`, 'm'));
      t.engine.logout(authReg.host);
      await assert.rejects(t.engine.pull(`${authReg.host}/private/helper:1`), /authentication required/);
      // A Docker Desktop config on a machine without its helper: named, nothing pulled.
      writeFileSync(file, JSON.stringify({ credsStore: 'desktop' }));
      await assert.rejects(t.engine.pull(`${authReg.host}/private/helper:1`), /credential helper docker-credential-desktop not found \(credsStore "desktop"/);
    } finally {
      process.env.PATH = path;
      if (before) writeFileSync(file, before);
      else rmSync(file, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad input: each failure names the image or registry and leaves the store as it was', async () => {
    const before = snapshot();
    const down = await freePort();
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['unknown tag', () => t.engine.pull(`${reg.host}/tools/bb:nope`), /manifest for 127\.0\.0\.1:\d+\/tools\/bb:nope not found/],
      ['unknown repository', () => t.engine.pull(`${reg.host}/no/such:1`), /no\/such.*not found|not found.*no\/such/],
      ['other platform only', () => t.engine.pull(`${reg.host}/multi:arm64-only`), /only has a manifest for linux\/arm64, not linux\/amd64/],
      ['platform missing from the index', () => t.engine.pull(`${reg.host}/multi:latest`, { platform: { os: 'linux', architecture: 's390x' } }), /no matching manifest for linux\/s390x/],
      ['bad name', () => t.engine.pull('UpperCase:1'), /invalid reference format/],
      ['registry down', () => t.engine.pull(`127.0.0.1:${down}/x:1`), /registry 127\.0\.0\.1:\d+ is unreachable: connect ECONNREFUSED/],
    ];
    for (const [what, p, re] of cases) await assert.rejects(p(), (e: Error) => re.test(e.message) || assert.fail(`${what}: ${e.message}`));
    assert.deepEqual(snapshot(), before);
  });

  it('a corrupt or truncated blob in the registry is refused by digest, and nothing is kept', async () => {
    const bad = await uploadImage(reg, 'broken/bb', 'v1', [busyboxLayer, extraLayerTar('will be truncated\n')]);
    const layer = bad.layers[1];
    const data = `${reg.storage}/docker/registry/v2/blobs/sha256/${layer.digest.slice(7, 9)}/${layer.digest.slice(7)}/data`;
    truncateSync(data, Math.floor(layer.size / 2));
    const before = snapshot();
    await assert.rejects(t.engine.pull(`${reg.host}/broken/bb:v1`), (e: Error) => new RegExp(`${layer.digest}`).test(e.message) && /(digest mismatch|truncated|stopped at)/.test(e.message));
    const after = snapshot();
    assert.deepEqual(after.images, before.images);
    assert.ok(!t.engine.images.content.has(layer.digest));
    // The truncated download is kept to resume, shown as cache in system df, and freed by a prune.
    const system = systemBackend(t.engine);
    const cache = (await system.diskUsage()).BuildCache as { Description: string; Size: number; InUse: boolean }[];
    assert.deepEqual(cache.map((c) => [c.Description, c.Size, c.InUse]), [[`partial download of ${layer.digest}`, Math.floor(layer.size / 2), false]]);
    assert.deepEqual(await system.pruneCache(), { CachesDeleted: [`partial-${layer.digest.slice(7, 19)}`], SpaceReclaimed: Math.floor(layer.size / 2) });
    assert.deepEqual((await system.diskUsage()).BuildCache, []);
    // A config that does not match the manifest's digest is refused too.
    writeFileSync(data, Buffer.alloc(layer.size, 1));
    await assert.rejects(t.engine.pull(`${reg.host}/broken/bb:v1`), /digest mismatch/);
    assert.deepEqual(snapshot().images, before.images);
    assert.deepEqual(await t.engine.images.content.verify(), []);
    rmSync(t.engine.images.content.partialPath(layer.digest), { force: true });
  });

  it('zstd layers unpack through the zstd program where Node has no zstd, and without one the error says so', async () => {
    const img = await uploadImage(reg, 'zstd/bb', 'v1', [busyboxLayer, extraLayerTar('zstd layer\n')], { zstd: true, cmd: ['cat', '/hello.txt'] });
    await t.engine.pull(`${reg.host}/zstd/bb:v1`);
    const r = await t.engine.run({ Image: `${reg.host}/zstd/bb:v1` });
    assert.equal(r.exitCode, 0);
    assert.equal(await logsOf(t.engine, r.id), 'zstd layer\n');
    await t.engine.containers.remove(r.id);
    const { unpackFile } = await import('../../electron/engine/images/tar/unpackFile.ts');
    const dest = `${t.root}/zstd-none`;
    mkdirSync(dest);
    await assert.rejects(unpackFile({ src: t.engine.images.content.path(img.layers[1].digest), dest, mode: 'overlay', chown: true, zstd: '' }),
      /zstd-compressed layers need Node 22\.15 or later, or the zstd program on PATH/);
    // A corrupt zstd stream is a format error naming the layer, and leaves nothing named.
    const bad = await uploadImage(reg, 'zstd/bad', 'v1', [extraLayerTar('will break\n')], { zstd: true });
    const data = `${reg.storage}/docker/registry/v2/blobs/sha256/${bad.layers[0].digest.slice(7, 9)}/${bad.layers[0].digest.slice(7)}/data`;
    const broken = readFileSync(data);
    broken.fill(0x55, 12, broken.length - 4);
    writeFileSync(data, broken);
    const before = snapshot();
    await assert.rejects(t.engine.pull(`${reg.host}/zstd/bad:v1`), new RegExp(bad.layers[0].digest.slice(7, 19)));
    assert.deepEqual(snapshot().layers, before.layers);
  });

  it('docker.io names are pulled from a mirror first; a tag the mirror lacks falls through to the hub endpoint', async () => {
    const closed = await freePort();
    const m = await startTestEngine({ busybox: false, engine: { registryMirrors: [`http://${reg.host}`], registryHub: `http://127.0.0.1:${closed}` } });
    try {
      await uploadImage(reg, 'library/busybox', 'latest', [busyboxLayer, extraLayerTar('from the mirror\n')], { cmd: ['cat', '/hello.txt'] });
      const img = await m.engine.pull('busybox');
      assert.deepEqual(img.repoTags, ['busybox:latest']);
      const r = await m.engine.run({ Image: 'busybox' });
      assert.equal(await logsOf(m.engine, r.id), 'from the mirror\n');
      await m.engine.containers.remove(r.id);
      await assert.rejects(m.engine.pull('busybox:not-on-the-mirror'), new RegExp(`127\\.0\\.0\\.1:${closed} is unreachable|registry docker\\.io is unreachable`));
    } finally {
      await m.dispose();
    }
  });
});
