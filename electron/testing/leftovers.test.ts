// The leftover check fails a test that leaves a timer, a server or a listener behind.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { leftoverCheck } from './leftovers.ts';

it('names a timer, a listening server and a listener left behind, and passes once they are gone', async () => {
  let listeners = 0;
  const check = leftoverCheck({ listeners: () => listeners });
  const timer = setInterval(() => undefined, 1000);
  const server = createServer().listen(0, '127.0.0.1');
  listeners = 1;
  await assert.rejects(check(), (e: Error) => /1 Timeout/.test(e.message) && /1 TCPServerWrap/.test(e.message) && /1 listeners/.test(e.message));
  clearInterval(timer);
  await new Promise((r) => server.close(r));
  listeners = 0;
  await check();
});
