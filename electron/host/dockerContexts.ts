// The docker CLI's context store, read and written the way the CLI does (docker/cli
// cli/context/store): $DOCKER_CONFIG (default ~/.docker)/contexts/meta/<sha256 of the name>/meta.json,
// TLS files in contexts/tls/<sha256>/docker/{ca,cert,key}.pem, and the current context in
// config.json's "currentContext". Only what the user changes in the app is written; a file
// that cannot be read is reported with its path and left as it is.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CodedError } from '../../common/errors.ts';

export interface DockerContext {
  name: string;
  host: string;
  description: string;
  skipVerify: boolean;
  /** the TLS files in the store, when the context has them */
  tls?: { ca?: string; cert?: string; key?: string };
}

export interface ContextProblem {
  file: string;
  error: string;
}

export class ContextStore {
  readonly dir: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  }

  private hash(name: string): string {
    return createHash('sha256').update(name).digest('hex');
  }

  private metaDir(name: string): string {
    return join(this.dir, 'contexts/meta', this.hash(name));
  }

  private tlsDir(name: string): string {
    return join(this.dir, 'contexts/tls', this.hash(name), 'docker');
  }

  /** Every readable context with a docker endpoint, and the files that could not be read. */
  list(): { contexts: DockerContext[]; problems: ContextProblem[] } {
    const root = join(this.dir, 'contexts/meta');
    const contexts: DockerContext[] = [];
    const problems: ContextProblem[] = [];
    let dirs: string[];
    try {
      dirs = readdirSync(root);
    } catch {
      return { contexts, problems };
    }
    for (const d of dirs.sort()) {
      const file = join(root, d, 'meta.json');
      try {
        const meta = JSON.parse(readFileSync(file, 'utf8')) as { Name?: unknown; Metadata?: { Description?: unknown }; Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
        if (typeof meta.Name !== 'string' || !meta.Name) throw new Error('it has no Name');
        const ep = meta.Endpoints?.docker;
        if (!ep || typeof ep.Host !== 'string') throw new Error('it has no docker endpoint Host');
        const tlsDir = this.tlsDir(meta.Name);
        const tlsFile = (f: string) => (existsSync(join(tlsDir, f)) ? join(tlsDir, f) : undefined);
        const tls = { ca: tlsFile('ca.pem'), cert: tlsFile('cert.pem'), key: tlsFile('key.pem') };
        contexts.push({
          name: meta.Name, host: ep.Host, description: typeof meta.Metadata?.Description === 'string' ? meta.Metadata.Description : '',
          skipVerify: ep.SkipTLSVerify === true, ...(tls.ca || tls.cert || tls.key ? { tls } : {}),
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        problems.push({ file, error: e instanceof SyntaxError ? `not valid JSON (${e.message})` : (e as Error).message });
      }
    }
    return { contexts, problems };
  }

  get(name: string): DockerContext | undefined {
    return this.list().contexts.find((c) => c.name === name);
  }

  /** The CLI's current context ("default" when none is set). */
  current(): string {
    try {
      const cfg = JSON.parse(readFileSync(join(this.dir, 'config.json'), 'utf8')) as { currentContext?: unknown };
      return typeof cfg.currentContext === 'string' && cfg.currentContext ? cfg.currentContext : 'default';
    } catch {
      return 'default';
    }
  }

  /** Sets the CLI's current context, keeping every other setting of config.json. */
  setCurrent(name: string): void {
    const file = join(this.dir, 'config.json');
    let cfg: Record<string, unknown> = {};
    if (existsSync(file)) {
      try {
        cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new CodedError('INVALID_ARGUMENT', `${file} is not valid JSON (${(e as Error).message}); fix it before changing the docker default`);
      }
    }
    if (name === 'default') delete cfg.currentContext;
    else cfg.currentContext = name;
    atomicWrite(file, JSON.stringify(cfg, null, '\t'));
  }

  /** Creates or replaces a context; TLS files are read from their paths into the store, as `docker context create` does. */
  save(c: { name: string; host: string; description?: string; ca?: string; cert?: string; key?: string; skipVerify?: boolean }): void {
    if (c.name === 'default') throw new CodedError('INVALID_ARGUMENT', 'the context "default" is the docker CLI\'s own (DOCKER_HOST or the local socket) and cannot be changed; choose another name');
    const read = (path: string | undefined, what: string) => {
      if (!path) return undefined;
      try {
        return readFileSync(path);
      } catch (e) {
        throw new CodedError('INVALID_ARGUMENT', `context "${c.name}": the ${what} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    };
    const files = { 'ca.pem': read(c.ca, 'CA certificate'), 'cert.pem': read(c.cert, 'client certificate'), 'key.pem': read(c.key, 'client key') };
    if (!!files['cert.pem'] !== !!files['key.pem']) throw new CodedError('INVALID_ARGUMENT', `context "${c.name}": a client certificate needs its key, and a key its certificate`);
    const meta = { Name: c.name, Metadata: { Description: c.description ?? '' }, Endpoints: { docker: { Host: c.host, SkipTLSVerify: !!c.skipVerify } } };
    mkdirSync(this.metaDir(c.name), { recursive: true, mode: 0o755 });
    atomicWrite(join(this.metaDir(c.name), 'meta.json'), JSON.stringify(meta));
    if (Object.values(files).some(Boolean)) {
      rmSync(this.tlsDir(c.name), { recursive: true, force: true });
      mkdirSync(this.tlsDir(c.name), { recursive: true, mode: 0o700 });
      for (const [f, data] of Object.entries(files)) if (data) writeFileSync(join(this.tlsDir(c.name), f), data, { mode: f === 'key.pem' ? 0o600 : 0o644 });
    }
  }

  remove(name: string): void {
    if (!existsSync(join(this.metaDir(name), 'meta.json'))) throw new CodedError('NOT_FOUND', `no docker context named "${name}" in ${this.dir}/contexts`);
    if (this.current() === name) throw new CodedError('CONFLICT', `the context "${name}" is the docker CLI's current one; make another the docker default first`);
    rmSync(this.metaDir(name), { recursive: true, force: true });
    rmSync(join(this.dir, 'contexts/tls', this.hash(name)), { recursive: true, force: true });
  }
}

function atomicWrite(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
