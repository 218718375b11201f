import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { buildTar, type TarEntry } from '../images/tarWriter.ts';
import { ContextTree } from './contextTree.ts';
import { contextSource, CopyJob, type CopyPlan } from './copy.ts';

describe('COPY cache key', () => {
  const dir = mkdtempSync(`${tmpdir()}/berth-copykey-`);
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const base = (): TarEntry[] => [
    { name: 'src/', type: 'dir', mode: 0o755, mtime: 100 },
    { name: 'src/a', type: 'file', mode: 0o644, mtime: 100, data: Buffer.from('a') },
    { name: 'src/sub/', type: 'dir', mode: 0o755, mtime: 100 },
    { name: 'src/sub/b', type: 'file', mode: 0o644, uid: 5, gid: 6, mtime: 100, data: Buffer.alloc(100 << 10, 2) },
    { name: 'src/l', type: 'symlink', mode: 0o777, mtime: 100, linkname: 'a' },
  ];
  const key = (entries: TarEntry[], plan: Partial<CopyPlan> = {}, owner?: { uid: number; gid: number }) => {
    const file = `${dir}/ctx-${++n}.tar`;
    writeFileSync(file, buildTar(entries));
    const tree = ContextTree.open(file);
    try {
      return new CopyJob(contextSource(tree), { add: false, sources: ['src'], heredocs: [], dest: '/app/', ...plan }, owner, false).digest();
    } finally {
      tree.close();
    }
  };
  const change = (i: number, patch: Partial<TarEntry>) => base().map((e, k) => (k === i ? { ...e, ...patch } : e));

  it('covers names, modes, owners, link targets and bytes, never mtimes', () => {
    const k = key(base());
    assert.equal(key(change(1, { mtime: 999 })), k, 'a touch keeps the key');
    assert.equal(key(change(3, { mtime: 999 })), k);
    assert.equal(key(change(3, { uid: 9 })), k, 'the context\'s owners are not the layer\'s (root owns what COPY makes)');
    const changes: [string, TarEntry[]][] = [
      ['bytes of a small file', change(1, { data: Buffer.from('b') })],
      ['bytes of a large one', change(3, { data: Buffer.alloc(100 << 10, 3) })],
      ['a mode', change(1, { mode: 0o600 })],
      ['a directory\'s mode', change(2, { mode: 0o700 })],
      ['a link target', change(4, { linkname: 'sub/b' })],
      ['a name', change(1, { name: 'src/A' })],
      ['a new file', [...base(), { name: 'src/new', type: 'file', mode: 0o644, data: Buffer.from('') }]],
    ];
    const seen = new Set([k]);
    for (const [what, entries] of changes) {
      const other = key(entries);
      assert.ok(!seen.has(other), `${what} changes the key`);
      seen.add(other);
    }
    assert.notEqual(key(base(), { chmod: 0o600 }), k, '--chmod changes the key');
    assert.notEqual(key(base(), {}, { uid: 1000, gid: 1000 }), k, '--chown changes the key');
    assert.notEqual(key(base(), { exclude: ['sub'] }), k, '--exclude changes the key');
  });
});
