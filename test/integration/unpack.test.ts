// Layer unpacking on the real file system: the hostile corpus never writes outside its layer,
// whiteouts become overlay whiteouts, owners/modes/times/links/devices survive.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
