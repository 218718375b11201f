import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ContextStore } from './dockerContexts.ts';

describe('the docker CLI context store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new ContextStore({ DOCKER_CONFIG: dir });

  it('saves a context as the CLI does, TLS files in the store, and lists it back', () => {
    writeFileSync(join(dir, 'ca-src.pem'), 'CA');
    writeFileSync(join(dir, 'cert-src.pem'), 'CERT');
    writeFileSync(join(dir, 'key-src.pem'), 'KEY');
    store.save({ name: 'build-server', host: 'tcp://10.0.0.5:2376', description: 'ci', ca: join(dir, 'ca-src.pem'), cert: join(dir, 'cert-src.pem'), key: join(dir, 'key-src.pem') });
    const [c] = store.list().contexts;
    assert.equal(c.name, 'build-server');
    assert.equal(c.host, 'tcp://10.0.0.5:2376');
    assert.equal(c.description, 'ci');
    assert.equal(readFileSync(c.tls!.key!, 'utf8'), 'KEY');
    assert.equal(statSync(c.tls!.key!).mode & 0o777, 0o600);
    // The CLI's layout: meta under the name's sha256.
    const meta = JSON.parse(readFileSync(join(dir, 'contexts/meta', createHash('sha256').update('build-server').digest('hex'), 'meta.json'), 'utf8'));
    assert.equal(meta.Endpoints.docker.Host, 'tcp://10.0.0.5:2376');
  });

  it('refuses a certificate without its key, a missing file and the name "default"', () => {
    assert.throws(() => store.save({ name: 'x', host: 'tcp://h:1', cert: join(dir, 'cert-src.pem') }), (e: { code?: string }) => e.code === 'INVALID_ARGUMENT');
    assert.throws(() => store.save({ name: 'x', host: 'tcp://h:1', ca: join(dir, 'nope.pem') }), /nope\.pem cannot be read/);
    assert.throws(() => store.save({ name: 'default', host: 'tcp://h:1' }), /default/);
    assert.equal(store.list().contexts.length, 1, 'nothing was written');
  });

  it('sets the current context keeping the rest of config.json, and will not remove it while current', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'r.example': { auth: 'eA==' } } }));
    store.setCurrent('build-server');
    assert.equal(store.current(), 'build-server');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).auths, { 'r.example': { auth: 'eA==' } });
    assert.throws(() => store.remove('build-server'), (e: { code?: string }) => e.code === 'CONFLICT');
    store.setCurrent('default');
    store.remove('build-server');
    assert.equal(store.list().contexts.length, 0);
    assert.throws(() => store.remove('build-server'), (e: { code?: string }) => e.code === 'NOT_FOUND');
  });

  it('reports a malformed context file with its path and leaves it alone', () => {
    const bad = join(dir, 'contexts/meta/0123');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'meta.json'), '{"Name": ');
    store.save({ name: 'good', host: 'unix:///run/x.sock' });
    const { contexts, problems } = store.list();
    assert.deepEqual(contexts.map((c) => c.name), ['good']);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].file, join(bad, 'meta.json'));
    assert.match(problems[0].error, /not valid JSON/);
    assert.equal(readFileSync(join(bad, 'meta.json'), 'utf8'), '{"Name": ');
  });
});
