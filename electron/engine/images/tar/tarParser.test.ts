import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTar } from '../tarWriter.ts';
import { TarParser, type TarHeader } from './tarParser.ts';

function parse(buf: Buffer, chunk = buf.length) {
  const entries: { h: TarHeader; data: Buffer }[] = [];
  let cur: Buffer[] = [];
  const p = new TarParser({
    entry: (h) => { cur = []; entries.push({ h, data: Buffer.alloc(0) }); },
    data: (c) => cur.push(Buffer.from(c)),
    entryEnd: () => { entries.at(-1)!.data = Buffer.concat(cur); },
  });
  for (let i = 0; i < buf.length; i += chunk) p.push(buf.subarray(i, i + chunk));
  p.end();
  return entries;
}

describe('tar parser', () => {
  const long = `${'a'.repeat(120)}/${'b'.repeat(120)}`;
  const tar = buildTar([
    { name: 'dir/', type: 'dir', mode: 0o755, mtime: 7 },
    { name: 'dir/f', type: 'file', mode: 0o640, uid: 1000, gid: 1001, data: Buffer.from('hello world') },
    { name: long, type: 'file', mode: 0o644, data: Buffer.alloc(1000, 1), xattrs: { 'user.x': 'y' } },
    { name: 'l', type: 'symlink', mode: 0o777, linkname: 'x'.repeat(150) },
    { name: 'dev', type: 'char', mode: 0o600, devmajor: 4, devminor: 64 },
  ]);

  for (const chunk of [tar.length, 1, 7, 512, 513]) {
    it(`reads every entry with chunks of ${chunk} bytes`, () => {
      const e = parse(tar, chunk);
      assert.deepEqual(e.map((x) => x.h.name), ['dir/', 'dir/f', long, 'l', 'dev']);
      assert.equal(e[1].data.toString(), 'hello world');
      assert.equal(e[1].h.uid, 1000);
      assert.equal(e[1].h.mode, 0o640);
      assert.equal(e[2].data.length, 1000);
      assert.equal(e[2].h.xattrs['user.x'].toString(), 'y');
      assert.equal(e[3].h.linkname, 'x'.repeat(150));
      assert.deepEqual([e[4].h.type, e[4].h.devmajor, e[4].h.devminor], ['char', 4, 64]);
      assert.equal(e[0].h.mtime, 7);
    });
  }

  it('reads GNU base-256 numbers', () => {
    const t = Buffer.from(buildTar([{ name: 'big-uid', type: 'file', mode: 0o644 }]));
    t.fill(0, 108, 116);
    t[108] = 0x80;
    t.writeUInt32BE(3_000_000_000, 112);
    t.write('        ', 148);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += t[i];
    t.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    assert.equal(parse(t)[0].h.uid, 3_000_000_000);
  });

  it('reads what the writer makes of non-ASCII names and numbers too large for octal', () => {
    const name = 'données/ünïcode.txt';
    const t = buildTar([
      { name, type: 'file', mode: 0o600, uid: 3_000_000_000, mtime: 2 ** 34, data: Buffer.from('x') },
      { name: 'z', type: 'symlink', mode: 0o777, linkname: 'ziel/ä' },
    ]);
    const [f, l] = parse(t);
    assert.deepEqual([f.h.name, f.h.uid, f.h.mtime, f.h.mode, f.data.toString()], [name, 3_000_000_000, 2 ** 34, 0o600, 'x']);
    assert.equal(l.h.linkname, 'ziel/ä');
  });

  it('tells a truncated archive from a complete one', () => {
    assert.throws(() => parse(tar.subarray(0, 1300)), /truncated/);
    assert.throws(() => parse(tar.subarray(0, 1600)), /truncated/);
    assert.throws(() => parse(Buffer.alloc(0)), /not a tar archive/);
  });

  it('takes a last entry without its padding only when asked (a docker CLI build context)', () => {
    const one = buildTar([{ name: 'f', type: 'file', mode: 0o644, data: Buffer.from('abc') }]).subarray(0, 512 + 3);
    assert.throws(() => parse(one), /truncated/);
    const got: string[] = [];
    const p = new TarParser({ entry: (h) => got.push(h.name), data: () => undefined, entryEnd: () => undefined }, { unpaddedEnd: true });
    p.push(one);
    p.end();
    assert.deepEqual(got, ['f']);
  });
});
