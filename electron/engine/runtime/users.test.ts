import assert from 'node:assert/strict';
import { it } from 'node:test';
import { resolveUser } from './users.ts';

it('resolves names, numbers and groups from the image', () => {
  const files = {
    passwd: 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n',
    group: 'root:x:0:\nwww:x:33:\nadm:x:4:web\n',
  };
  assert.deepEqual(resolveUser(files, ''), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  assert.deepEqual(resolveUser(files, 'web'), { uid: 33, gid: 33, additionalGids: [4], home: '/var/www' });
  assert.deepEqual(resolveUser(files, '33:adm'), { uid: 33, gid: 4, additionalGids: [], home: '/var/www' });
  assert.equal(resolveUser(files, '5000').uid, 5000);
  assert.deepEqual(resolveUser({ passwd: '', group: '' }, ''), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  assert.throws(() => resolveUser(files, 'ghost'), /unable to find user ghost/);
  assert.throws(() => resolveUser(files, 'web:ghosts'), /unable to find group ghosts/);
});
