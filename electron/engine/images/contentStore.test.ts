import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { after, it } from 'node:test';
import { ContentStore, DigestMismatchError, sha256 } from './contentStore.ts';

const root = mkdtempSync(`${tmpdir()}/berth-content-`);
after(() => rmSync(root, { recursive: true, force: true }));

it('stores a blob under its digest once, however often it is written, and leaves no ingest file', async () => {
  const store = new ContentStore(root);
  const data = Buffer.alloc(300_000, 7);
  const grew: number[] = [];
  const first = await store.write(Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), undefined, 'blob', { opened: () => undefined, wrote: (n) => grew.push(n) });
  assert.deepEqual(first, { digest: sha256(data), size: data.length });
  assert.deepEqual(grew, [100_000, 300_000], 'a tap sees the file grow');
  // Written again (a rebuild's layer): the stored copy is the answer, the new one dropped.
  const again = await store.write(Readable.from([data]));
  assert.deepEqual(again, first);
  assert.deepEqual(readdirSync(`${root}/blobs/sha256`), [first.digest.slice(7)]);
  assert.ok(readFileSync(store.path(first.digest)).equals(data));
  assert.deepEqual(readdirSync(`${root}/blobs/ingest`), []);
});

it('refuses a blob that is not the one expected, and keeps nothing of it', async () => {
  const store = new ContentStore(root);
  const before = readdirSync(`${root}/blobs/sha256`);
  await assert.rejects(store.write(Readable.from([Buffer.from('other')]), sha256('expected')), (e: Error) => e instanceof DigestMismatchError);
  assert.deepEqual(readdirSync(`${root}/blobs/sha256`), before);
  assert.deepEqual(readdirSync(`${root}/blobs/ingest`), []);
});
