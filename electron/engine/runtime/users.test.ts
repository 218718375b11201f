import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { it } from 'node:test';
import { resolveUser } from './users.ts';

it('resolves names, numbers and groups from the image', () => {
  const root = mkdtempSync(`${tmpdir()}/users-`);
  try {
    mkdirSync(`${root}/etc`);
    writeFileSync(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n');
    writeFileSync(`${root}/etc/group`, 'root:x:0:\nwww:x:33:\nadm:x:4:web\n');
    assert.deepEqual(resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
    assert.deepEqual(resolveUser(root, 'web'), { uid: 33, gid: 33, additionalGids: [4], home: '/var/www' });
    assert.deepEqual(resolveUser(root, '33:adm'), { uid: 33, gid: 4, additionalGids: [], home: '/var/www' });
    assert.equal(resolveUser(root, '5000').uid, 5000);
    assert.throws(() => resolveUser(root, 'ghost'), /unable to find user ghost/);
    assert.throws(() => resolveUser(root, 'web:ghosts'), /unable to find group ghosts/);
  } finally {
    rmSync(root, { recursive: true });
  }
});
