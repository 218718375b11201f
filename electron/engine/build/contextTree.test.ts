import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { buildTar, type TarEntry } from '../images/tarWriter.ts';
import { ContextTree } from './contextTree.ts';

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
});
