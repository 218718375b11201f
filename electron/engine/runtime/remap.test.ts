import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { DEFAULT_REMAP_START, freeStart, remapRange } from './remap.ts';

describe('the --userns=private range', () => {
  it('is registered once in both files, on a range no other line uses, and kept across calls', (t) => {
    const dir = mkdtempSync(`${tmpdir()}/berth-remap-`);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = { subuid: `${dir}/subuid`, subgid: `${dir}/subgid` };
    writeFileSync(files.subuid, `alice:100000:65536\nbob:${DEFAULT_REMAP_START}:65536\n`);
    writeFileSync(files.subgid, 'alice:100000:65536\n');
    const r = remapRange(files);
    assert.deepEqual(r, { start: DEFAULT_REMAP_START + 65536, count: 65536 }, 'moved past bob\'s range');
    assert.equal(readFileSync(files.subuid, 'utf8'), `alice:100000:65536\nbob:${DEFAULT_REMAP_START}:65536\nberth-remap:${r.start}:65536\n`);
    assert.equal(readFileSync(files.subgid, 'utf8'), `alice:100000:65536\nberth-remap:${r.start}:65536\n`);
    assert.deepEqual(remapRange(files), r);
  });

  it('takes a range an administrator registered', (t) => {
    const dir = mkdtempSync(`${tmpdir()}/berth-remap-`);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = { subuid: `${dir}/subuid`, subgid: `${dir}/subgid` };
    for (const f of [files.subuid, files.subgid]) writeFileSync(f, 'berth-remap:2000000:65536\n');
    assert.deepEqual(remapRange(files), { start: 2000000, count: 65536 });
    assert.equal(readFileSync(files.subuid, 'utf8'), 'berth-remap:2000000:65536\n');
  });

  it('skips every overlapping line, in any order', () => {
    const at = DEFAULT_REMAP_START;
    assert.equal(freeStart([{ name: 'b', start: at + 65536, count: 10 }, { name: 'a', start: at - 5, count: 10 }]), at + 65546);
    assert.equal(freeStart([{ name: 'a', start: 0, count: 100000 }], 0), 100000);
  });
});
