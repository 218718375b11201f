// Registry credentials in a file compatible with ~/.docker/config.json: {"auths": {host: {auth}}}.
// Docker Hub's key is the legacy "https://index.docker.io/v1/".
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export function authKey(domain: string): string {
  return domain === 'docker.io' ? DOCKER_HUB_AUTH_KEY : domain;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  [k: string]: unknown;
}

export class CredentialStore {
  constructor(readonly path: string) {}

  private read(): ConfigFile {
    if (!existsSync(this.path)) return {};
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as ConfigFile;
    } catch {
      return {};
    }
  }

  get(domain: string): Credentials | undefined {
    const auths = this.read().auths ?? {};
    const key = authKey(domain);
    const entry = auths[key] ?? auths[`https://${key}`] ?? auths[`http://${key}`] ?? (domain === 'docker.io' ? auths['docker.io'] : undefined);
    if (!entry) return undefined;
    if (entry.auth) {
      const raw = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = raw.indexOf(':');
      if (i > 0) return { username: raw.slice(0, i), password: raw.slice(i + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    return undefined;
  }

  /** Saves credentials, keeping every other key of the file as it was. */
  set(domain: string, creds: Credentials): void {
    const file = this.read();
    file.auths = { ...file.auths, [authKey(domain)]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
    this.write(file);
  }

  remove(domain: string): boolean {
    const file = this.read();
    if (!file.auths?.[authKey(domain)]) return false;
    delete file.auths[authKey(domain)];
    this.write(file);
    return true;
  }

  private write(file: ConfigFile): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}
