// Registry credentials the way the docker CLI keeps them in ~/.docker/config.json: inline
// (`auths`: base64 user:password, or an identity token), or in a credential helper named by
// `credHelpers` (per registry) or `credsStore` (all others): the docker-credential-<name>
// program, spoken to with get, store, erase and list on stdin/stdout. Docker Hub's key is the
// legacy "https://index.docker.io/v1/".
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { EngineError } from '../../errors.ts';

export interface Credentials {
  username: string;
  password: string;
  /** an OAuth2 refresh token (the registry's "identity token"): exchanged for access tokens */
  identityToken?: string;
}

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
/** A helper's Username for an identity token, as the docker CLI writes it. */
const TOKEN_USER = '<token>';

export function authKey(domain: string): string {
  return domain === 'docker.io' ? DOCKER_HUB_AUTH_KEY : domain;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export class CredentialStore {
  /** `searchPath`: where helper programs are looked up (PATH at each use by default). */
  constructor(readonly path: string, private readonly searchPath?: string) {}

  private read(): ConfigFile {
    if (!existsSync(this.path)) return {};
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as ConfigFile;
    } catch {
      return {};
    }
  }

  /** The helper that keeps this registry's credentials, if the file names one. */
  private helperFor(file: ConfigFile, domain: string): { name: string; setting: string } | undefined {
    const key = authKey(domain);
    const own = file.credHelpers?.[key] ?? file.credHelpers?.[domain];
    if (own) return { name: own, setting: `credHelpers["${key}"] = "${own}"` };
    if (file.credsStore) return { name: file.credsStore, setting: `credsStore "${file.credsStore}"` };
    return undefined;
  }

  /** Runs docker-credential-<name> ACTION with `input`; a missing program is named with its setting. */
  private helper(h: { name: string; setting: string }, action: 'get' | 'store' | 'erase' | 'list', input: string): string | undefined {
    const program = `docker-credential-${h.name}`;
    const found = (this.searchPath ?? process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, program)).find((p) => existsSync(p));
    if (!found) {
      throw new EngineError('INVALID_ARGUMENT', `credential helper ${program} not found (${h.setting} in ${this.path}): install it, or remove that setting to keep credentials in the file`);
    }
    try {
      return execFileSync(found, [action], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (e) {
      const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`.trim();
      // The protocol's answer for a registry it holds nothing for.
      if (action === 'get' && /credentials not found/i.test(out)) return undefined;
      throw new EngineError('UNAVAILABLE', `credential helper ${program} ${action} failed: ${out || (e as Error).message}`);
    }
  }

  get(domain: string): Credentials | undefined {
    const file = this.read();
    const h = this.helperFor(file, domain);
    if (h) {
      const out = this.helper(h, 'get', authKey(domain));
      if (!out) return undefined;
      let v: { Username?: string; Secret?: string };
      try {
        v = JSON.parse(out);
      } catch {
        throw new EngineError('UNAVAILABLE', `credential helper docker-credential-${h.name} answered get with something that is not JSON`);
      }
      if (!v.Secret) return undefined;
      return v.Username === TOKEN_USER ? { username: '', password: '', identityToken: v.Secret } : { username: v.Username ?? '', password: v.Secret };
    }
    const auths = file.auths ?? {};
    const key = authKey(domain);
    const entry = auths[key] ?? auths[`https://${key}`] ?? auths[`http://${key}`] ?? (domain === 'docker.io' ? auths['docker.io'] : undefined);
    if (!entry) return undefined;
    if (entry.identitytoken) return { username: '', password: '', identityToken: entry.identitytoken };
    if (entry.auth) {
      const raw = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = raw.indexOf(':');
      if (i > 0) return { username: raw.slice(0, i), password: raw.slice(i + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    return undefined;
  }

  /** Saves credentials (in the helper when one is named), keeping every other key of the file as it was. */
  set(domain: string, creds: Credentials): void {
    const file = this.read();
    const key = authKey(domain);
    const h = this.helperFor(file, domain);
    if (h) {
      const secret = creds.identityToken ?? creds.password;
      this.helper(h, 'store', JSON.stringify({ ServerURL: key, Username: creds.identityToken ? TOKEN_USER : creds.username, Secret: secret }));
      // As the docker CLI does: the file lists the registry with nothing in it.
      file.auths = { ...file.auths, [key]: {} };
    } else {
      file.auths = {
        ...file.auths,
        [key]: creds.identityToken ? { identitytoken: creds.identityToken } : { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') },
      };
    }
    this.write(file);
  }

  remove(domain: string): boolean {
    const file = this.read();
    const key = authKey(domain);
    const h = this.helperFor(file, domain);
    const inFile = !!file.auths?.[key];
    if (h) this.helper(h, 'erase', key);
    if (!inFile) return !!h;
    delete file.auths![key];
    this.write(file);
    return true;
  }

  /** The registries with saved credentials: server → user (a helper's list, and the file's). */
  list(): Record<string, string> {
    const file = this.read();
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(file.auths ?? {})) {
      if (v.auth) out[k] = Buffer.from(v.auth, 'base64').toString('utf8').split(':')[0];
      else if (v.identitytoken) out[k] = TOKEN_USER;
    }
    const helpers = new Map<string, { name: string; setting: string }>();
    if (file.credsStore) helpers.set(file.credsStore, { name: file.credsStore, setting: `credsStore "${file.credsStore}"` });
    for (const [k, name] of Object.entries(file.credHelpers ?? {})) helpers.set(name, { name, setting: `credHelpers["${k}"] = "${name}"` });
    for (const h of helpers.values()) {
      const listed = JSON.parse(this.helper(h, 'list', '') || '{}') as Record<string, string>;
      for (const [server, user] of Object.entries(listed)) {
        const own = file.credHelpers?.[server];
        if (own ? own === h.name : h.name === file.credsStore) out[server] = user;
      }
    }
    return out;
  }

  private write(file: ConfigFile): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}
