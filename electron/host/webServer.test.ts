// Web mode's checks on a real HTTP server over a stand-in contract: loopback only unless the
// risk is accepted, the exact Host, the WebSocket's Origin, the token file's mode and rotation.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { after, before, it } from 'node:test';
import WebSocket from 'ws';
import { ensureTokenFile, startWebServer, type WebServer } from './webServer.ts';
import type { ConnectionFactory } from './contractSocket.ts';

let dir: string;
let web: WebServer;
const connect: ConnectionFactory = () => ({ receive() {}, dispose() {} });

before(async () => {
  dir = mkdtempSync(`${tmpdir()}/berth-web-`);
  mkdirSync(`${dir}/ui`);
  writeFileSync(`${dir}/ui/index.html`, '<!doctype html><title>Berth</title>');
  ensureTokenFile(`${dir}/run/web-token`);
  web = await startWebServer(connect, { listen: '127.0.0.1:0', uiDir: `${dir}/ui`, tokenFile: `${dir}/run/web-token` });
});
after(async () => {
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, host: string) => new Promise<number>((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port: web.port, path, headers: { host } }, (res) => {
    res.resume();
    resolve(res.statusCode!);
  });
  req.on('error', reject);
  req.end();
});

/** Opens a WebSocket and resolves with how it ended: "open" or the refusal / close code. */
const ws = (token: string, origin?: string) => new Promise<{ opened: boolean; code?: number; status?: number; socket?: WebSocket }>((resolve) => {
  const s = new WebSocket(`ws://127.0.0.1:${web.port}/ws?token=${token}`, origin ? { origin } : {});
  s.on('open', () => resolve({ opened: true, socket: s }));
  s.on('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode }));
  s.on('error', () => resolve({ opened: false }));
});

it('refuses a non-loopback address unless the risk is accepted', async () => {
  await assert.rejects(startWebServer(connect, { listen: '0.0.0.0:0', uiDir: `${dir}/ui` }), /--web 0\.0\.0\.0:0 is not a loopback address: web mode is plain HTTP.*--web-allow-remote/);
  const open = await startWebServer(connect, { listen: '0.0.0.0:0', uiDir: `${dir}/ui`, allowRemote: true });
  await open.close();
});

it('answers only the exact Host it listens on', async () => {
  assert.equal(await get(`/?token=${web.token}`, `127.0.0.1:${web.port}`), 200);
  assert.equal(await get(`/?token=${web.token}`, `localhost:${web.port}`), 403);
  assert.equal(await get(`/?token=${web.token}`, `evil.example:${web.port}`), 403);
  assert.equal(await get('/?token=wrong', `127.0.0.1:${web.port}`), 401);
});

it('takes a WebSocket from the served page or a client without Origin, never from a foreign Origin', async () => {
  const own = await ws(web.token, `http://127.0.0.1:${web.port}`);
  assert.equal(own.opened, true);
  own.socket!.close();
  const bare = await ws(web.token);
  assert.equal(bare.opened, true);
  bare.socket!.close();
  assert.deepEqual(await ws(web.token, 'http://evil.example'), { opened: false, status: 403 });
  assert.deepEqual(await ws(web.token, `http://localhost:${web.port}`), { opened: false, status: 403 });
});

it('a rotated token closes open sessions and replaces the old one at once; the file is kept at 0600', async () => {
  const file = `${dir}/run/web-token`;
  const old = web.token;
  const open = await ws(old);
  const closed = new Promise<number>((r) => open.socket!.on('close', (code) => r(code)));
  const fresh = ensureTokenFile(file, true);
  assert.notEqual(fresh, old);
  assert.equal(await closed, 4001);
  assert.equal(web.token, fresh);
  assert.equal((await ws(old)).opened, false);
  const again = await ws(fresh);
  assert.equal(again.opened, true);
  again.socket!.close();
  chmodSync(file, 0o644);
  assert.equal(ensureTokenFile(file), fresh, 'the token is kept');
  assert.equal(statSync(file).mode & 0o777, 0o600, 'and its mode repaired');
});
