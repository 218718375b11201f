// The token dance against a fake registry on 127.0.0.1 (the real docker-registry is used by the
// integration tests for basic auth; its token mode needs a signing service, so it is faked here).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { CredentialStore } from './credentials.ts';
import { parseChallenge, RegistryClient } from './registryClient.ts';

describe('registry client auth', () => {
  let server: Server;
  let host: string;
  let dir: string;
  const tokenRequests: URL[] = [];
  const refreshForms: URLSearchParams[] = [];
  let flaky = 0;

  before(async () => {
    dir = mkdtempSync(`${tmpdir()}/berth-auth-`);
    server = createServer((req, res) => {
      const url = new URL(req.url!, `http://${host}`);
      if (url.pathname === '/token' && req.method === 'POST') {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          refreshForms.push(new URLSearchParams(body));
          const ok = new URLSearchParams(body).get('refresh_token') === 'idtok-good';
          if (!ok) res.writeHead(401).end();
          else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'from-refresh' }));
        });
        return;
      }
      if (url.pathname === '/token') {
        tokenRequests.push(url);
        const basic = req.headers.authorization;
        if (basic && basic !== `Basic ${Buffer.from('bob:pw').toString('base64')}`) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: basic ? 'user-token' : 'anon-token' }));
        return;
      }
      if (url.pathname === '/v2/flaky/manifests/1' && flaky++ < 2) {
        res.writeHead(503).end('busy');
        return;
      }
      if (!req.headers.authorization?.startsWith('Bearer ')) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake.registry",scope="repository:lib/app:pull"` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'x-token': req.headers.authorization }).end('{"schemaVersion":2,"config":{},"layers":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses Bearer challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
      scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    assert.equal(parseChallenge('Basic realm="x"')?.scheme, 'basic');
  });

  it('gets an anonymous token for the repository scope and retries the request with it', async () => {
    const client = new RegistryClient({ credentials: new CredentialStore(`${dir}/none.json`) });
    const s = client.session(host, 'lib/app', 'pull');
    const m = await s.manifest('1', 'app:1');
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const t = tokenRequests.at(-1)!;
    assert.equal(t.searchParams.get('service'), 'fake.registry');
    assert.deepEqual(t.searchParams.getAll('scope'), ['repository:lib/app:pull']);
  });

  it('sends saved credentials to the token server, and names a wrong password', async () => {
    const creds = new CredentialStore(`${dir}/config.json`);
    creds.set(host, { username: 'bob', password: 'pw' });
    const client = new RegistryClient({ credentials: creds });
    await client.session(host, 'lib/app', 'pull,push').manifest('1', 'app:1');
    assert.deepEqual(tokenRequests.at(-1)!.searchParams.getAll('scope'), ['repository:lib/app:pull,push']);
    await assert.rejects(client.login(host, { username: 'bob', password: 'nope' }), /incorrect username or password/);
    await client.login(host, { username: 'bob', password: 'pw' });
  });

  it('exchanges an identity token (X-Registry-Auth or a helper\'s <token>) for an access token, and names a refused one', async () => {
    const client = new RegistryClient({ credentials: new CredentialStore(`${dir}/none.json`) });
    const m = await client.session(host, 'lib/app', 'pull', undefined, [], { username: '', password: '', identityToken: 'idtok-good' }).manifest('1', 'app:1');
    assert.ok(m.body.length > 0);
    const form = refreshForms.at(-1)!;
    assert.deepEqual([form.get('grant_type'), form.get('service'), form.get('scope')], ['refresh_token', 'fake.registry', 'repository:lib/app:pull']);
    await assert.rejects(client.session(host, 'lib/app', 'pull', undefined, [], { username: '', password: '', identityToken: 'stale' }).manifest('1', 'app:1'),
      /the identity token was refused; log in again/);
  });

  it('retries 5xx answers with backoff', async () => {
    const client = new RegistryClient({ credentials: new CredentialStore(`${dir}/none.json`), backoffMs: 5 });
    const m = await client.session(host, 'flaky', 'pull').manifest('1', 'flaky:1');
    assert.ok(m.body.length > 0);
    assert.equal(flaky, 4, 'two 503s, then the 401 challenge, then the answer');
  });

  it('uses mirrors first for docker.io and plain http only for loopback or insecure registries', () => {
    const client = new RegistryClient({ credentials: new CredentialStore(`${dir}/none.json`), mirrors: ['http://mirror.local:5000/'], insecureRegistries: ['10.0.0.5:5000'] });
    assert.deepEqual(client.endpoints('docker.io'), ['http://mirror.local:5000', 'https://registry-1.docker.io']);
    assert.deepEqual(client.endpoints('127.0.0.1:5000'), ['http://127.0.0.1:5000']);
    assert.deepEqual(client.endpoints('localhost:5000'), ['http://localhost:5000']);
    assert.deepEqual(client.endpoints('10.0.0.5:5000'), ['http://10.0.0.5:5000']);
    assert.deepEqual(client.endpoints('registry.example.com'), ['https://registry.example.com']);
  });
});
