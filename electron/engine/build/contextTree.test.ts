import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { buildTar, type TarEntry } from '../images/tarWriter.ts';
import { createHash } from 'node:crypto';
import { ContextIndex, ContextTree, type CtxNode } from './contextTree.ts';
import { dockerdContextHash } from './dockerdHash.ts';

describe('build context tree', () => {
  const dir = mkdtempSync(`${tmpdir()}/berth-ctxtree-`);
  after(() => rmSync(dir, { recursive: true, force: true }));
  // 3,000 small files (more than one read window) and one larger than a window's quarter
  const body = (i: number) => Buffer.from(`file ${i} `.repeat(1 + (i % 300)));
  const entries: TarEntry[] = [{ name: 'd/', type: 'dir', mode: 0o755 }];
  for (let i = 0; i < 3000; i++) entries.push({ name: `d/f${String(i).padStart(4, '0')}`, type: 'file', mode: 0o644, data: body(i) });
  entries.push({ name: 'big', type: 'file', mode: 0o644, data: Buffer.alloc(2 << 20, 7) });
  const file = `${dir}/ctx.tar`;
  writeFileSync(file, buildTar(entries));

  it('reads every file whole, in the tar order and against it', () => {
    for (const order of ['tar', 'reverse', 'scattered']) {
      const tree = ContextTree.open(file);
      try {
        const ids = [...Array(3000).keys()];
        if (order === 'reverse') ids.reverse();
        if (order === 'scattered') ids.sort((a, b) => ((a * 7919) % 3000) - ((b * 7919) % 3000));
        for (const i of ids) assert.deepEqual(tree.read(tree.lookup(`d/f${String(i).padStart(4, '0')}`)!), body(i), `${order}: d/f${i}`);
        assert.equal(tree.read(tree.lookup('big')!).equals(Buffer.alloc(2 << 20, 7)), true);
      } finally {
        tree.close();
      }
    }
  });

  it('refuses a context that ends inside a file', () => {
    const cut = `${dir}/cut.tar`;
    const whole = buildTar([{ name: 'a', type: 'file', mode: 0o644, data: Buffer.alloc(5000, 1) }]);
    writeFileSync(cut, whole.subarray(0, 2048));
    const tree = ContextTree.open(cut);
    try {
      assert.throws(() => tree.read(tree.lookup('a')!), /ends inside a file/);
    } finally {
      tree.close();
    }
  });

  it('indexes a context as it arrives, in chunks of any size, as a pass over the whole file does', () => {
    const mixed = `${dir}/mixed.tar`;
    writeFileSync(mixed, buildTar([
      { name: 'Dockerfile', type: 'file', mode: 0o644, data: Buffer.from('FROM scratch\n') },
      { name: `deep/${'long-name-'.repeat(20)}/f`, type: 'file', mode: 0o600, uid: 7, gid: 8, data: Buffer.from('pax path') },
      { name: 'deep/empty', type: 'file', mode: 0o644, data: Buffer.alloc(0) },
      { name: 'deep/link', type: 'symlink', mode: 0o777, linkname: '../Dockerfile' },
      { name: 'deep/hard', type: 'hardlink', mode: 0o644, linkname: 'Dockerfile' },
      { name: 'big', type: 'file', mode: 0o644, data: Buffer.alloc((64 << 10) + 1, 3) },
      ...entries.slice(0, 50),
    ]));
    const whole = readFileSync(mixed);
    const shape = (t: ContextTree) => {
      const out: string[] = [];
      const walk = (n: CtxNode, path: string) => {
        out.push(`${path} ${n.type} ${n.mode} ${n.uid}:${n.gid} ${n.size} ${n.offset} ${n.linkname ?? ''} ${n.type === 'file' ? t.read(n).toString('hex').slice(0, 16) : ''}`);
        for (const c of t.list(n)) walk(n.children!.get(c)!, `${path}/${c}`);
      };
      walk(t.root, '');
      return out;
    };
    const reference = ContextTree.open(mixed);
    try {
      for (const size of [1, 7, 511, 512, 513, 4096, 1 << 20]) {
        const index = new ContextIndex();
        for (let at = 0; at < whole.length; at += size) index.push(whole.subarray(at, at + size));
        const tree = ContextTree.open(mixed, index);
        try {
          assert.deepEqual(shape(tree), shape(reference), `chunks of ${size}`);
          for (const path of ['Dockerfile', 'deep/empty', 'd/f0042', `deep/${'long-name-'.repeat(20)}/f`]) {
            const node = tree.lookup(path)!;
            assert.equal(node.digest, createHash('sha256').update(tree.read(node)).digest('hex'), `${path}: digested as it arrived (chunks of ${size})`);
          }
          assert.equal(tree.lookup('big')!.digest, undefined, 'a large file is digested only when asked');
          assert.equal(tree.digest(tree.lookup('big')!), createHash('sha256').update(Buffer.alloc((64 << 10) + 1, 3)).digest('hex'));
          // dockerd's history hashes taken on arrival are the ones taken from the file
          const fresh = ContextTree.open(mixed, index);
          const strip = (n: CtxNode) => {
            delete n.tarsum;
            n.children?.forEach(strip);
          };
          const saved = ['deep', 'Dockerfile', 'd'].map((p) => dockerdContextHash(tree, p));
          strip(fresh.root);
          assert.deepEqual(['deep', 'Dockerfile', 'd'].map((p) => dockerdContextHash(fresh, p)), saved);
          fresh.close();
        } finally {
          tree.close();
        }
      }
    } finally {
      reference.close();
    }
  });

  it('says what is wrong with a context only once it is all in: not a tar, a header cut short or too large', () => {
    const notTar = new ContextIndex();
    notTar.push(Buffer.alloc(600, 'x'));
    notTar.push(Buffer.alloc(600, 'y'));
    assert.throws(() => notTar.finish(), /the build context must be a tar archive/);
    const cut = new ContextIndex();
    cut.push(buildTar([{ name: 'a', type: 'file', mode: 0o644, data: Buffer.from('a') }]).subarray(0, 1024 + 100));
    assert.throws(() => cut.finish(), /truncated header/);
    // A PAX header that claims 8 GB is refused, not allocated.
    const huge = Buffer.from(buildTar([{ name: `${'x'.repeat(300)}`, type: 'file', mode: 0o644, data: Buffer.from('a') }]));
    assert.equal(String.fromCharCode(huge[156]), 'x', 'the long name is a PAX header');
    huge.write('77777777777\0', 124, 'latin1');
    let sum = 0;
    huge.fill(' ', 148, 156);
    for (let i = 0; i < 512; i++) sum += huge[i];
    huge.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const hostile = new ContextIndex();
    hostile.push(huge);
    assert.throws(() => hostile.finish(), /a PAX header of 8589934591 bytes in the build context is too large/);
    const short = new ContextIndex();
    short.push(buildTar([{ name: 'a', type: 'file', mode: 0o644, data: Buffer.alloc(5000, 1) }]).subarray(0, 2048));
    const root = short.finish();
    assert.equal(root.children!.get('a')!.digest, undefined, 'a file cut short has no digest');
  });
});
