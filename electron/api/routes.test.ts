// The Docker API routers over a fake backend, without root: the real docker CLI (when installed)
// and raw requests check the wire (statuses, errors as {"message"}, hijacked exec streams,
// filters) while the backend behind is in memory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { FakeBackend } from '../backend/testing/fakeBackend.ts';
import { startApiServer, type ApiServer } from './server.ts';
import { registryAuth } from './images.ts';
import { leftoverCheck } from '../testing/leftovers.ts';

const DOCKER = '/usr/local/bin/docker';

describe('Docker API routers over a fake backend', () => {
  let dir: string;
  let api: ApiServer;
  let fake: FakeBackend;
  let leftovers: () => Promise<void>;

  const http = (method: string, path: string, body?: unknown) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath: api.socketPath, method, path, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: data }));
    });
    req.on('error', reject);
    req.end(body !== undefined ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined);
  });
  const docker = (args: string[], input?: string) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const p = execFile(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${api.socketPath}`, DOCKER_CONFIG: `${dir}/cli` }, timeout: 20_000 },
      (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
    p.stdin!.end(input);
  });

  before(async () => {
    leftovers = leftoverCheck({ 'backend listeners': () => fake.listenerCount });
    dir = mkdtempSync(`${tmpdir()}/berth-api-`);
    fake = new FakeBackend({ images: ['busybox:latest'] });
    api = await startApiServer(fake, `${dir}/docker.sock`);
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
    await leftovers();
  });

  it('answers errors with their status and {"message"}; a repeated start is a bare 304', async () => {
    let r = await http('GET', '/containers/nope/json');
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { message: 'No such container: nope' });
    r = await http('POST', '/containers/create', '{not json');
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /malformed JSON/);
    r = await http('POST', '/containers/create?name=c1', { Image: 'busybox', Cmd: ['sleep', '9'] });
    assert.equal(r.status, 201);
    const id = JSON.parse(r.body).Id;
    assert.equal((await http('POST', `/containers/${id}/start`)).status, 204);
    r = await http('POST', `/containers/${id}/start`);
    assert.equal(r.status, 304);
    assert.equal(r.body, '');
    r = await http('GET', '/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D');
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /invalid filter 'bogus'/);
    r = await http('GET', '/containers/json?filters=nope');
    assert.equal(r.status, 400);
    r = await http('DELETE', `/containers/${id}`);
    assert.equal(r.status, 409, 'a running container is not removed without force');
    assert.equal((await http('DELETE', `/containers/${id}?force=1`)).status, 204);
    assert.equal((await http('GET', '/v1.12/version')).status, 400, 'too old an API version');
    const v = JSON.parse((await http('GET', '/v1.41/version')).body);
    assert.equal(v.ApiVersion, '1.47');
  });

  it('names a bad element in Cmd, Entrypoint or Env, and a malformed path, with 400', async () => {
    for (const [body, re] of [[{ Image: 'busybox', Cmd: [1, {}, null] }, /cannot unmarshal number into Go struct field Config\.Cmd of type string/],
      [{ Image: 'busybox', Env: [5] }, /Config\.Env of type string/], [{ Image: 'busybox', Entrypoint: ['sh', null] }, /unmarshal null into Go struct field Config\.Entrypoint/]] as const) {
      const r = await http('POST', '/containers/create', body);
      assert.equal(r.status, 400);
      assert.match(JSON.parse(r.body).message, re);
    }
    const bad = await http('POST', '/containers/%zz/stop');
    assert.deepEqual([bad.status, JSON.parse(bad.body).message], [400, 'malformed percent-encoding in the path /containers/%zz/stop']);
  });

  it('requests on one keep-alive connection leave no listener behind on it', async () => {
    const sockets: import('node:net').Socket[] = [];
    const onConn = (s: import('node:net').Socket) => sockets.push(s);
    api.server.on('connection', onConn);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const call = (path: string, method = 'GET') => new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: api.socketPath, method, path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      const r = await http('POST', '/containers/create?name=ka1', { Image: 'busybox', Cmd: ['true'] });
      const id = JSON.parse(r.body).Id;
      for (let i = 0; i < 300; i++) {
        assert.equal(await call(`/containers/${id}/wait`, 'POST'), 200);
        assert.equal(await call(`/containers/${id}/logs?stdout=1`), 200);
        assert.equal(await call('/events?since=0&until=1'), 200);
      }
      assert.equal(sockets.length, 1, 'one connection served them all');
      assert.ok(sockets[0].listenerCount('close') < 10, `close listeners on the socket: ${sockets[0].listenerCount('close')}`);
      await http('DELETE', `/containers/${id}?force=1`);
    } finally {
      agent.destroy();
      api.server.off('connection', onConn);
    }
  });

  it('answers swarm endpoints 503 as a dockerd outside a swarm does, not 404', async () => {
    for (const [method, path] of [['GET', '/swarm'], ['GET', '/v1.41/services'], ['GET', '/nodes/abc'], ['DELETE', '/nodes/abc'],
      ['GET', '/tasks'], ['GET', '/secrets'], ['GET', '/configs'], ['POST', '/services/create'], ['GET', '/swarm/unlockkey']]) {
      const r = await http(method, path);
      assert.equal(r.status, 503, `${method} ${path}`);
      assert.match(JSON.parse(r.body).message, /^This node is not a swarm manager\. Use "docker swarm init"/);
    }
    const leave = await http('POST', '/v1.41/swarm/leave');
    assert.deepEqual([leave.status, JSON.parse(leave.body).message], [503, 'This node is not part of a swarm']);
    assert.equal((await http('GET', '/swarming')).status, 404, 'only the swarm paths');
  });

  it('serves the docker CLI: create, start, ps, inspect, exec with stdin, volumes, networks, rm', { skip: !existsSync(DOCKER) && 'the docker CLI is not installed' }, async () => {
    const ok = async (args: string[], input?: string) => {
      const r = await docker(args, input);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
      return r.out;
    };
    const id = (await ok(['create', '--name', 'web', '--label', 'tier=front', 'busybox', 'sleep', '60'])).trim();
    await ok(['start', 'web']);
    assert.match(await ok(['ps', '--filter', 'label=tier=front', '--format', '{{.Names}} {{.State}}']), /^web running$/m);
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.Config.Labels.tier}}', 'web'])).trim(), 'running front');
    assert.equal(await ok(['exec', '-i', 'web', 'cat'], 'through the hijack\n'), 'through the hijack\n');
    assert.equal(await ok(['exec', 'web', 'echo', 'hi'], ''), 'hi\n');
    const bad = await docker(['exec', 'nosuch', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /No such container: nosuch/);
    await ok(['volume', 'create', 'data']);
    assert.match(await ok(['volume', 'ls', '-q']), /^data$/m);
    assert.match(await ok(['network', 'ls', '--format', '{{.Name}}']), /^bridge$/m);
    await ok(['rm', '-f', id]);
    assert.equal((await ok(['ps', '-aq'])).trim(), '');
    assert.ok(fake.calls.includes('create web'));
  });
});

it('X-Registry-Auth: a user and password, an identity token, or nothing (the saved credentials apply)', () => {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  assert.deepEqual(registryAuth(enc({ username: 'alice', password: 'pw', serveraddress: 'r.example' })), { username: 'alice', password: 'pw' });
  assert.deepEqual(registryAuth(enc({ identitytoken: 'idtok' })), { username: '', password: '', identityToken: 'idtok' });
  assert.equal(registryAuth(enc({})), undefined);
  assert.equal(registryAuth(undefined), undefined);
  assert.throws(() => registryAuth('%%%'), /invalid X-Registry-Auth header/);
});
