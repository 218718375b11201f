// A bounded, fixed-seed fuzz of the Docker API: 600 requests with random methods, paths, query
// values and bodies (wrong types, truncated JSON, bytes, odd escapes, huge numbers) against a
// real daemon. Every answer must be an HTTP answer with a JSON error message, no request may
// reach code that fails with a JavaScript error (TypeError and friends, which a 500 would carry),
// and the daemon must still work afterwards. Endpoints that reach the network (pull, push, auth,
// build) are left out: tests send traffic only to loopback.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { mulberry32 } from '../helpers/killpoint.ts';

const SEED = 0x5eed;
const REQUESTS = 600;

describe('Docker API fuzz (fixed seed)', { timeout: 300_000 }, () => {
  let daemon: TestDaemon;
  let container = '';

  const call = (method: string, path: string, body?: Buffer, type = 'application/json') => new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
    const req = request({ socketPath: daemon.sock, method, path, agent: false, timeout: 20_000, headers: body ? { 'content-type': type } : {} }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        text += d;
        if (text.length > 1 << 20) res.destroy(); // a stream (logs follow, stats): enough seen
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: text, type: String(res.headers['content-type'] ?? '') }));
      res.on('close', () => resolve({ status: res.statusCode!, body: text, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
    req.on('error', reject);
    req.end(body);
  });

  before(async () => {
    daemon = await startDaemon();
    const r = await daemon.docker(['create', '--name', 'fuzz-target', 'hello-world']);
    assert.equal(r.code, 0, r.err);
    container = r.out.trim();
  });
  after(async () => {
    await daemon?.stop();
  });

  it('answers every request with an HTTP status and a message, never a JavaScript error, and keeps working', async (t) => {
    const rand = mulberry32(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const words = ['', 'fuzz-target', () => container, () => container.slice(0, 12), 'nosuch', '..', '%2e%2e', '%00', '%zz', 'a'.repeat(5000), '\u00e9t\u00e9', 'hello-world',
      'hello-world:latest', 'sha256:', 'bridge', 'host', 'none', '-1', '0', '1e309', 'null', '[]', '{}', 'true'] as const;
    // Non-ASCII goes percent-encoded, as every client sends it (raw bytes make a malformed request line).
    const word = () => {
      const w = pick(words);
      return (typeof w === 'function' ? w() : w).replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
    };
    const paths = [
      () => `/containers/${word()}/json`, () => `/containers/${word()}/start`, () => `/containers/${word()}/stop`, () => `/containers/${word()}/kill`,
      () => `/containers/${word()}/restart`, () => `/containers/${word()}/pause`, () => `/containers/${word()}/unpause`, () => `/containers/${word()}/wait`,
      () => `/containers/${word()}/logs`, () => `/containers/${word()}/top`, () => `/containers/${word()}/changes`, () => `/containers/${word()}/update`,
      () => `/containers/${word()}/rename`, () => `/containers/${word()}/resize`, () => `/containers/${word()}/archive`, () => `/containers/${word()}/exec`,
      () => `/containers/${word()}/stats?stream=false`, () => `/containers/${word()}`, () => '/containers/json', () => '/containers/create', () => '/containers/prune',
      () => `/exec/${word()}/json`, () => `/exec/${word()}/start`, () => `/exec/${word()}/resize`,
      () => '/images/json', () => `/images/${word()}/json`, () => `/images/${word()}/history`, () => `/images/${word()}/tag`, () => `/images/${word()}`,
      () => '/images/prune', () => '/images/load', () => `/images/get`,
      () => '/networks', () => `/networks/${word()}`, () => '/networks/create', () => `/networks/${word()}/connect`, () => `/networks/${word()}/disconnect`, () => '/networks/prune',
      () => '/volumes', () => `/volumes/${word()}`, () => '/volumes/create', () => '/volumes/prune',
      () => '/_ping', () => '/version', () => '/info', () => '/system/df', () => '/build/prune', () => `/plugins/${word()}/json`, () => `/${word()}`, () => '/commit',
    ];
    const params = ['all', 'limit', 'size', 'filters', 'force', 'v', 't', 'signal', 'condition', 'h', 'w', 'name', 'path', 'tail', 'since', 'until', 'follow', 'stdout',
      'stderr', 'timestamps', 'repo', 'tag', 'container', 'changes', 'pause', 'ps_args', 'stream', 'one-shot', 'noprune', 'dangling', 'noOverwriteDirNonDir', 'names'];
    const value = () => pick([word, () => String(Math.floor(rand() * 2 ** 40) - 2 ** 39), () => '{"label":["a=b"]}', () => '{"status":{"running":true}}', () => '{bad',
      () => encodeURIComponent(JSON.stringify({ dangling: [rand() > 0.5 ? 'true' : 'x'] })), () => '1', () => 'SIGKILL', () => '-5', () => 'not-running'])();
    const jsonValue = (depth: number): unknown => pick([
      () => word(), () => rand() * 1e12 - 5e11, () => rand() > 0.5, () => null, () => [],
      () => (depth > 2 ? {} : Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [pick(['Image', 'Cmd', 'Env', 'HostConfig', 'Name', 'Labels', 'Memory', 'Binds',
        'PortBindings', 'NetworkMode', 'Driver', 'IPAM', 'Config', 'Entrypoint', 'Tty', 'User', 'WorkingDir', 'Healthcheck', 'RestartPolicy', 'Devices', 'Mounts']), jsonValue(depth + 1)]))),
      () => (depth > 2 ? [] : Array.from({ length: Math.floor(rand() * 3) }, () => jsonValue(depth + 1))),
    ])();
    const bodies = [
      () => undefined, () => Buffer.from(JSON.stringify(jsonValue(0))), () => Buffer.from('{"Image": "hello-world", "Cmd": '), () => Buffer.from([0, 255, 1, 2, 3, 0x1f, 0x8b]),
      () => Buffer.from(JSON.stringify({ Image: 'hello-world', Cmd: [word()], HostConfig: jsonValue(1) })), () => Buffer.alloc(1024),
    ];
    const seen = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const method = pick(['GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'POST', 'GET']);
      const q = Array.from({ length: Math.floor(rand() * 3) }, () => `${pick(params)}=${value()}`).join('&');
      const route = pick(paths)();
      const path = `${rand() > 0.3 ? '/v1.47' : ''}${route}${q ? `${route.includes('?') ? '&' : '?'}${q}` : ''}`;
      // Bodies go with POST and PUT only: Node's own HTTP client fails to read the answer to a
      // GET, HEAD or DELETE that carries one (the server's bytes are clean), and no client sends one.
      const body = method === 'POST' || method === 'PUT' ? pick(bodies)() : undefined;
      const what = `#${i} ${method} ${path.slice(0, 200)}`;
      let r;
      try {
        r = await call(method, path, body);
      } catch (e) {
        assert.fail(`${what}: ${(e as Error).message}`);
      }
      seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
      assert.ok(r.status >= 100 && r.status < 600, `${what}: status ${r.status}`);
      if (r.status >= 400 && method !== 'HEAD') {
        let message: unknown;
        try {
          message = (JSON.parse(r.body) as { message?: unknown }).message;
        } catch {
          assert.fail(`${what}: ${r.status} without a JSON body: ${r.body.slice(0, 200)}`);
        }
        assert.equal(typeof message, 'string', `${what}: ${r.body.slice(0, 200)}`);
        assert.doesNotMatch(message as string, /TypeError|ReferenceError|RangeError|SyntaxError|is not a function|Cannot read propert|undefined is not|of undefined|of null/,
          `${what}: a JavaScript error reached the client: ${message}`);
      }
    }
    // Still working: it answers and lists; after a restart (which makes hello-world again, in
    // case the fuzz deleted it: a run must not try to pull) it runs a container.
    assert.equal((await call('GET', '/_ping')).body, 'OK');
    assert.equal((await daemon.docker(['ps', '-a'])).code, 0);
    await daemon.restart();
    const run = await daemon.docker(['run', '--rm', 'hello-world']);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /Hello from Berth|Hello/);
    assert.ok((seen.get(404) ?? 0) > 0 && [...seen.keys()].some((s) => s < 300), JSON.stringify([...seen]));
    t.diagnostic(`statuses: ${[...seen].sort(([a], [b]) => a - b).map(([k, v]) => `${k}×${v}`).join(' ')}`);
  });
});
