// Layer unpacking on the real file system: the hostile corpus never writes outside its layer,
// whiteouts become overlay whiteouts, owners/modes/times/links/devices survive.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildTar } from '../../electron/engine/images/tarWriter.ts';
import { UnpackPool } from '../../electron/engine/images/tar/unpackPool.ts';
import { HOSTILE_CASES } from '../fixtures/hostileTars.ts';

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = `${rel}${e.name}`;
      out.push(r);
      if (e.isDirectory()) walk(`${d}/${e.name}`, `${r}/`);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe('layer unpacking', { timeout: 180_000 }, () => {
  let sandbox: string;
  let outside: string;
  const pool = new UnpackPool();
  let n = 0;

  before(() => {
    sandbox = mkdtempSync('/tmp/berth-unpack-');
    outside = `${sandbox}/outside`;
    mkdirSync(outside);
    writeFileSync(`${outside}/canary`, 'canary');
  });
  after(async () => {
    await pool.close();
    rmSync(sandbox, { recursive: true, force: true });
  });

  async function unpack(tar: Buffer) {
    const i = ++n;
    const src = `${sandbox}/case-${i}.tar`;
    const dest = `${sandbox}/layer-${i}`;
    writeFileSync(src, tar);
    mkdirSync(dest);
    return { dest, result: pool.run({ src, dest, mode: 'overlay', chown: true }) };
  }

  for (const c of HOSTILE_CASES) {
    it(`hostile: ${c.name}`, async () => {
      const { dest, result } = await unpack(c.tar(outside));
      if (c.expect === 'contained') await result;
      else await assert.rejects(result, (e: Error) => c.expect instanceof RegExp && c.expect.test(e.message), `expected ${c.expect}`);
      assert.deepEqual(tree(outside), ['canary'], 'nothing may be created outside the layer');
      assert.equal(readFileSync(`${outside}/canary`, 'utf8'), 'canary');
      assert.deepEqual(readdirSync(sandbox).filter((f) => !/^(case|layer)-\d+(\.tar)?$/.test(f) && f !== 'outside'), []);
      c.check?.(dest);
    });
  }

  it('contains an absolute path under the layer root', async () => {
    const { dest, result } = await unpack(buildTar([{ name: '/abs/dir/f', type: 'file', mode: 0o600, data: Buffer.from('x') }]));
    await result;
    assert.equal(readFileSync(`${dest}/abs/dir/f`, 'utf8'), 'x');
  });

  it('converts whiteouts and opaque markers, keeps owners, modes, times, links and devices', async () => {
    const { dest, result } = await unpack(buildTar([
      { name: './', type: 'dir', mode: 0o755, mtime: 1000 },
      { name: 'etc/', type: 'dir', mode: 0o755, mtime: 1_700_000_000 },
      { name: 'etc/.wh..wh..opq', type: 'file', mode: 0o644 },
      { name: 'etc/passwd', type: 'file', mode: 0o4750, uid: 1000, gid: 42, mtime: 1_600_000_000, data: Buffer.from('root:x:0:0::/:/bin/sh\n') },
      { name: 'etc/hosts-link', type: 'hardlink', mode: 0o644, linkname: 'etc/passwd' },
      { name: 'etc/.wh.gone', type: 'file', mode: 0o644 },
      { name: 'bin/sh', type: 'symlink', mode: 0o777, linkname: '/bin/busybox', uid: 7, gid: 7 },
      { name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'fifo', type: 'fifo', mode: 0o600 },
      { name: `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/long-name-file`, type: 'file', mode: 0o644, data: Buffer.from('long') },
      { name: 'attr', type: 'file', mode: 0o644, data: Buffer.from('a'), xattrs: { 'user.berth': 'yes' } },
    ]));
    const r = await result;
    assert.equal(r.entries, 11);
    const st = statSync(`${dest}/etc/passwd`);
    assert.equal(st.mode & 0o7777, 0o4750, 'setuid survives chown');
    assert.equal(st.uid, 1000);
    assert.equal(st.gid, 42);
    assert.equal(Math.round(st.mtimeMs / 1000), 1_600_000_000);
    assert.equal(statSync(`${dest}/etc/hosts-link`).ino, st.ino, 'hard link shares the inode');
    assert.equal(Math.round(statSync(`${dest}/etc`).mtimeMs / 1000), 1_700_000_000, 'directory time set after its children');
    const wh = lstatSync(`${dest}/etc/gone`);
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'whiteout is char 0:0');
    assert.equal(readlinkSync(`${dest}/bin/sh`), '/bin/busybox');
    assert.equal(lstatSync(`${dest}/bin/sh`).uid, 7);
    assert.ok(lstatSync(`${dest}/dev/null`).isCharacterDevice());
    assert.equal(lstatSync(`${dest}/dev/null`).rdev, (1 << 8) | 3);
    assert.ok(lstatSync(`${dest}/fifo`).isFIFO());
    assert.equal(readFileSync(`${dest}/deep/${'d'.repeat(90)}/${'e'.repeat(90)}/long-name-file`, 'utf8'), 'long');
    assert.ok(!readdirSync(`${dest}/etc`).some((f) => f.startsWith('.wh.')));
    // The opaque marker is an xattr on etc/; GNU tar reads it back with --xattrs.
    const listing = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', `${dest}/etc`, `${dest}/attr`], { encoding: 'utf8' });
    assert.match(listing, /trusted\.overlay\.opaque="y"/);
    assert.match(listing, /user\.berth="yes"/);
  });

  it('gives a new layer the same owners and modes as a fill of a used directory, though it skips calls a new one needs not', async () => {
    // Entries are created without a lookup first (the old entry is cleared only when the create
    // finds one), and a new (empty) layer directory also skips chown to the creator's own ids
    // and chmod where the create mode was exact. Set-group-ID directories, the umask and entries
    // that are already there are where those shortcuts could go wrong.
    const tar = buildTar([
      { name: 'shared/', type: 'dir', mode: 0o2775, uid: 0, gid: 50 },
      { name: 'shared/root-file', type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from('r') },
      { name: 'shared/implicit/inner', type: 'file', mode: 0o640, uid: 0, gid: 0, data: Buffer.from('i') },
      { name: 'shared/sub/', type: 'dir', mode: 0o755, uid: 0, gid: 0 },
      { name: 'shared/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'root-file' },
      { name: 'wide', type: 'file', mode: 0o666, data: Buffer.from('w') },
      { name: 'none', type: 'file', mode: 0o000, data: Buffer.from('n') },
      { name: 'sticky/', type: 'dir', mode: 0o1777 },
      { name: 'suid', type: 'file', mode: 0o4755, data: Buffer.from('s') },
      { name: 'owned', type: 'file', mode: 0o600, uid: 1000, gid: 1000, data: Buffer.from('o') },
      { name: 'twice', type: 'file', mode: 0o644, data: Buffer.from('first') },
      { name: 'twice', type: 'file', mode: 0o600, uid: 5, gid: 5, data: Buffer.from('second') },
      { name: 'was-dir/', type: 'dir', mode: 0o755 },
      { name: 'was-dir/child', type: 'file', mode: 0o644, data: Buffer.from('c') },
      { name: 'was-dir', type: 'file', mode: 0o644, data: Buffer.from('now a file') },
      { name: 'was-dir/', type: 'dir', mode: 0o700 },
      { name: 'was-dir/again', type: 'file', mode: 0o644, data: Buffer.from('a') },
      { name: 'gone', type: 'file', mode: 0o644, data: Buffer.from('g') },
      { name: '.wh.gone', type: 'file', mode: 0o644 },
    ]);
    const fresh = await unpack(tar);
    await fresh.result;
    const used = `${sandbox}/used`;
    mkdirSync(used);
    writeFileSync(`${used}/unrelated`, 'x'); // not empty: every chown and chmod is made
    mkdirSync(`${used}/wide/sub`, { recursive: true }); // in the way of entries: cleared, then created
    symlinkSync(`${outside}/canary`, `${used}/suid`);
    writeFileSync(`${used}.tar`, tar);
    await pool.run({ src: `${used}.tar`, dest: used, mode: 'overlay', chown: true });
    rmSync(`${used}/unrelated`);
    assert.equal(readFileSync(`${outside}/canary`, 'utf8'), 'canary');
    const meta = (dir: string) => tree(dir).map((rel) => {
      const st = lstatSync(`${dir}/${rel}`);
      return `${rel} ${(st.mode & 0o177777).toString(8)} ${st.uid}:${st.gid}${st.isFile() ? ` ${readFileSync(`${dir}/${rel}`, 'utf8')}` : ''}`;
    });
    const got = meta(fresh.dest);
    assert.deepEqual(got, meta(used));
    const line = (rel: string) => got.find((l) => l.startsWith(`${rel} `));
    assert.equal(line('shared/root-file'), 'shared/root-file 100644 0:0 r', 'no group from the set-group-ID parent');
    assert.equal(line('shared/implicit/inner'), 'shared/implicit/inner 100640 0:0 i');
    assert.equal(line('shared/sub'), 'shared/sub 40755 0:0', 'not the set-group-ID parent\'s group, nor its bit');
    assert.equal(line('shared/link'), 'shared/link 120777 0:0');
    assert.equal(line('wide'), 'wide 100666 0:0 w', 'the umask does not narrow the mode');
    assert.equal(line('none'), 'none 100000 0:0 n');
    assert.equal(line('sticky'), 'sticky 41777 0:0');
    assert.equal(line('suid'), 'suid 104755 0:0 s');
    assert.equal(line('owned'), 'owned 100600 1000:1000 o');
    assert.equal(line('twice'), 'twice 100600 5:5 second');
    assert.deepEqual(got.filter((l) => l.startsWith('was-dir')), ['was-dir 40700 0:0', 'was-dir/again 100644 0:0 a']);
    assert.equal(line('gone'), 'gone 20000 0:0', 'whited out after it was written');
  });

  it('links the files a stored layer has unchanged, writes the rest, and gives the same diff id', async () => {
    const entries = (edited: string, mode = 0o644) => [
      { name: 'app/', type: 'dir' as const, mode: 0o755, mtime: 1000 },
      { name: 'app/same', type: 'file' as const, mode: 0o644, uid: 1000, gid: 1000, mtime: 1_600_000_000, data: Buffer.from('same') },
      { name: 'app/edited', type: 'file' as const, mode: 0o644, mtime: 1_600_000_000, data: Buffer.from(edited) },
      { name: 'app/mode', type: 'file' as const, mode, mtime: 1_600_000_000, data: Buffer.from('mode') },
      { name: 'app/attr', type: 'file' as const, mode: 0o644, mtime: 1_600_000_000, data: Buffer.from('a'), xattrs: { 'user.berth': 'yes' } },
      { name: 'app/big', type: 'file' as const, mode: 0o644, mtime: 1_600_000_000, data: Buffer.alloc((1 << 20) + 1, 7) },
    ];
    const layer = async (tar: Buffer, like?: number) => {
      const i = ++n;
      writeFileSync(`${sandbox}/case-${i}.tar`, tar);
      mkdirSync(`${sandbox}/layer-${i}`);
      const job = { src: `${sandbox}/case-${i}.tar`, dest: `${sandbox}/layer-${i}`, mode: 'overlay' as const, chown: true, indexFile: `${sandbox}/layer-${i}.files` };
      const r = await pool.run(like ? { ...job, like: { dir: `${sandbox}/layer-${like}`, index: `${sandbox}/layer-${like}.files` } } : job);
      return { i, dir: job.dest, r };
    };
    const first = await layer(buildTar(entries('one')));
    const second = await layer(buildTar(entries('two', 0o600)), first.i);
    const ino = (l: { dir: string }, f: string) => statSync(`${l.dir}/app/${f}`).ino;
    assert.equal(ino(second, 'same'), ino(first, 'same'), 'an unchanged file is the stored layer\'s inode');
    assert.equal(statSync(`${second.dir}/app/same`).uid, 1000);
    assert.notEqual(ino(second, 'edited'), ino(first, 'edited'), 'an edited file is written');
    assert.equal(readFileSync(`${second.dir}/app/edited`, 'utf8'), 'two');
    assert.equal(readFileSync(`${first.dir}/app/edited`, 'utf8'), 'one', 'the stored layer is untouched');
    assert.notEqual(ino(second, 'mode'), ino(first, 'mode'), 'a file whose mode changed is written');
    assert.equal(statSync(`${second.dir}/app/mode`).mode & 0o777, 0o600);
    assert.equal(statSync(`${first.dir}/app/mode`).mode & 0o777, 0o644);
    assert.notEqual(ino(second, 'attr'), ino(first, 'attr'), 'a file with xattrs is never shared');
    assert.notEqual(ino(second, 'big'), ino(first, 'big'), 'a file over 1 MiB is written');
    const same = await layer(buildTar(entries('one')), first.i);
    assert.equal(same.r.diffId, first.r.diffId, 'linking changes nothing of the layer\'s content');
    // The index is checked against the stored file itself: one changed behind it is not linked.
    writeFileSync(`${first.dir}/app/same`, 'changed behind the index');
    const third = await layer(buildTar(entries('one')), first.i);
    assert.notEqual(ino(third, 'same'), ino(first, 'same'));
    assert.equal(readFileSync(`${third.dir}/app/same`, 'utf8'), 'same');
    // A stored layer gone (pruned meanwhile): every file is written.
    rmSync(first.dir, { recursive: true });
    const fourth = await layer(buildTar(entries('one')), first.i);
    assert.equal(readFileSync(`${fourth.dir}/app/same`, 'utf8'), 'same');
    assert.equal(fourth.r.diffId, first.r.diffId);
  });

  it('unpacks a build layer that changed while its archive is written; an unchanged one is stored first; one that breaks off leaves nothing', async () => {
    const { LocalImageStore } = await import('../../electron/engine/images/localImageStore.ts');
    const root = `${sandbox}/store`;
    const store = new LocalImageStore(root);
    const tar = (edited: string) => buildTar([
      { name: 'app/', type: 'dir', mode: 0o755, mtime: 1000 },
      ...Array.from({ length: 200 }, (_, i) => ({ name: `app/f${i}`, type: 'file' as const, mode: 0o644, mtime: 1000, data: Buffer.alloc(3000, i) })),
      { name: 'app/edited', type: 'file', mode: 0o644, mtime: 1000, data: Buffer.from(edited) },
    ]);
    const unpacking = () => readdirSync(`${root}/layers`).filter((d) => d.startsWith('.tmp-'));
    const unpacked = (f: string) => unpacking().some((d) => existsSync(`${root}/layers/${d}/app/${f}`));
    const waitFor = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(ok(), what);
    };
    /** Imports `body` in two halves; `between` runs while the second one is held back. */
    const importHeld = async (body: Buffer, content: string, between: () => Promise<void>) => {
      const input = new PassThrough();
      const done = store.importLayer(input, 'COPY at step 2', { key: 'COPY app /app', content });
      input.write(body.subarray(0, body.length >> 1));
      await between();
      input.end(body.subarray(body.length >> 1));
      return done;
    };
    const sha = (b: Buffer) => `sha256:${execFileSync('sha256sum', { input: b, encoding: 'utf8' }).split(' ')[0]}`;
    try {
      const first = await importHeld(tar('one'), 'key one', () => waitFor('the first half is unpacked before the rest is written', () => unpacked('f10')));
      assert.equal(first.diffId, sha(tar('one')));
      const second = await importHeld(tar('two'), 'key two', () => waitFor('a new content is unpacked as it comes', () => unpacked('f10')));
      assert.equal(second.diffId, sha(tar('two')));
      const data = (l: { diffId: string }, f: string) => `${root}/layers/${l.diffId.slice(7)}/data/app/${f}`;
      const at = (l: { diffId: string }, f: string) => (existsSync(data(l, f)) ? data(l, f) : `${root}/layers/${l.diffId.slice(7)}/app/${f}`);
      assert.equal(readFileSync(at(second, 'edited'), 'utf8'), 'two');
      assert.equal(statSync(at(second, 'f3')).ino, statSync(at(first, 'f3')).ino, 'an unchanged file is linked from the last layer');
      // The same content again (a --no-cache rebuild): the archive is stored whole before any
      // unpack, and the stored layer is the answer.
      const again = await importHeld(tar('two'), 'key two', async () => {
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(unpacking(), [], 'nothing is unpacked before the archive is whole');
      });
      assert.equal(again.diffId, second.diffId);
      // An archive that breaks off: refused, and no unpack directory, ingest file or blob is left.
      const blobs = readdirSync(`${root}/blobs/sha256`).length;
      const broken = new PassThrough();
      const failed = store.importLayer(broken, 'COPY at step 3', { key: 'COPY app /app', content: 'key three' });
      broken.write(tar('three').subarray(0, 200 * 3000));
      await waitFor('the broken archive is being unpacked', () => unpacked('f10'));
      broken.destroy(new Error('the build context ends inside a file'));
      await assert.rejects(failed, /COPY at step 3: cannot read the archive: the build context ends inside a file/);
      assert.deepEqual(unpacking(), []);
      assert.deepEqual(readdirSync(`${root}/blobs/ingest`).filter((f) => f.startsWith('tmp-')), []);
      assert.equal(readdirSync(`${root}/blobs/sha256`).length, blobs);
    } finally {
      await store.close();
    }
  });

  it('reports the diff id of the uncompressed stream, for plain and gzip archives alike', async () => {
    const tar = buildTar([{ name: 'a', type: 'file', mode: 0o644, data: Buffer.from('hello') }]);
    const plain = await (await unpack(tar)).result;
    const gz = await (await unpack(execFileSync('gzip', ['-c'], { input: tar }))).result;
    assert.equal(plain.diffId, gz.diffId);
    assert.equal(gz.compression, 'gzip');
    assert.equal(plain.diffId, `sha256:${execFileSync('sha256sum', { input: tar, encoding: 'utf8' }).split(' ')[0]}`);
  });

  it('refuses a corrupt gzip stream', async () => {
    const gz = execFileSync('gzip', ['-c'], { input: buildTar([{ name: 'a', type: 'file', mode: 0o644, data: Buffer.alloc(100_000, 7) }]) });
    await assert.rejects((await unpack(gz.subarray(0, gz.length - 30))).result, /gzip stream is corrupt or truncated/);
  });
});
