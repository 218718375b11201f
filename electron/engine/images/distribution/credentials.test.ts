// Credentials as the docker CLI keeps them: inline in config.json, or in a credential helper
// (a docker-credential-<name> program the test writes, speaking the helper protocol).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, it } from 'node:test';
import { writeCredentialHelper } from '../../testing/credentialHelper.ts';
import { CredentialStore } from './credentials.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(`${tmpdir()}/berth-creds-`);
  mkdirSync(`${dir}/bin`);
  mkdirSync(`${dir}/vault`);
  writeCredentialHelper(`${dir}/bin`, 'vault', `${dir}/vault`, `${dir}/log`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('keeps credentials in the helper credsStore names, and lists the registry in the file with nothing in it', () => {
  writeFileSync(`${dir}/config.json`, JSON.stringify({ credsStore: 'vault', auths: {}, psFormat: 'table {{.Names}}' }));
  const store = new CredentialStore(`${dir}/config.json`, `${dir}/bin`);
  assert.equal(store.get('registry.example:5000'), undefined, 'credentials not found is no credentials');
  store.set('registry.example:5000', { username: 'alice', password: 's3cret' });
  const file = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
  assert.deepEqual(file.auths, { 'registry.example:5000': {} });
  assert.equal(file.psFormat, 'table {{.Names}}', 'other keys are kept');
  assert.deepEqual(store.get('registry.example:5000'), { username: 'alice', password: 's3cret' });
  store.set('docker.io', { username: '', password: '', identityToken: 'idtok-1' });
  assert.deepEqual(store.get('docker.io'), { username: '', password: '', identityToken: 'idtok-1' }, 'a <token> user is an identity token');
  assert.deepEqual(store.list(), { 'registry.example:5000': 'alice', 'https://index.docker.io/v1/': '<token>' });
  assert.equal(store.remove('registry.example:5000'), true);
  assert.equal(store.get('registry.example:5000'), undefined);
  assert.match(readFileSync(`${dir}/log`, 'utf8'), /^erase registry\.example:5000$/m);
});

it('a per-registry credHelper wins over credsStore and inline auths; identity tokens inline', () => {
  writeFileSync(`${dir}/config.json`, JSON.stringify({
    credsStore: 'desktop', credHelpers: { 'own.example': 'vault' },
    auths: { 'tok.example': { identitytoken: 'idtok-2' } },
  }));
  const store = new CredentialStore(`${dir}/config.json`, `${dir}/bin`);
  store.set('own.example', { username: 'bob', password: 'pw' });
  assert.deepEqual(store.get('own.example'), { username: 'bob', password: 'pw' });
  // Docker Desktop's config names a helper this machine does not have: a clear error, no crash.
  assert.throws(() => store.get('tok.example'), /credential helper docker-credential-desktop not found \(credsStore "desktop" in .*config\.json\): install it, or remove that setting/);
  writeFileSync(`${dir}/config.json`, JSON.stringify({ auths: { 'tok.example': { identitytoken: 'idtok-2' } } }));
  assert.deepEqual(new CredentialStore(`${dir}/config.json`, `${dir}/bin`).get('tok.example'), { username: '', password: '', identityToken: 'idtok-2' });
});
