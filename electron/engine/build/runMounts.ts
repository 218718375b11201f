// RUN --mount (BuildKit's syntax, on the classic protocol): cache directories that persist
// across builds and never land in a layer or the cache key, tmpfs, read-only binds of the
// context or of another stage, secrets and SSH agents (which only the app can give). Also
// what a RUN leaves behind of them: the empty mount points the runtime made, removed before
// the layer is read, as BuildKit removes its mount stubs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, chownSync, chmodSync, writeFileSync } from 'node:fs';
import type { MountSpec } from '../../../common/models.ts';
import { invalid } from '../errors.ts';
import { AT, FsAtError, O, RESOLVE, type FsAt } from '../sys/fsat.ts';

export interface RunMount {
  type: 'cache' | 'bind' | 'tmpfs' | 'secret' | 'ssh';
  target: string;
  id?: string;
  sharing: 'shared' | 'private' | 'locked';
  from?: string;
  source?: string;
  readOnly: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  required?: boolean;
}

/** `type=cache,target=/root/.cache,sharing=locked` (values already expanded). */
export function parseRunMount(spec: string): RunMount {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    fields.set((eq < 0 ? part : part.slice(0, eq)).toLowerCase(), eq < 0 ? '' : part.slice(eq + 1));
  }
  const type = (fields.get('type') || 'bind') as RunMount['type'];
  if (!['cache', 'bind', 'tmpfs', 'secret', 'ssh'].includes(type)) throw invalid(`unsupported mount type "${type}" in RUN --mount (cache, bind, tmpfs, secret or ssh)`);
  const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination') ?? '';
  if (!target && type !== 'secret' && type !== 'ssh') throw invalid(`RUN --mount=${spec}: a target is required (target=/path)`);
  const flag = (k: string) => fields.has(k) && fields.get(k) !== 'false';
  const num = (k: string, base = 10) => {
    const v = fields.get(k);
    if (v === undefined) return undefined;
    const n = parseInt(v, base);
    if (!Number.isFinite(n) || n < 0) throw invalid(`RUN --mount=${spec}: invalid ${k} "${v}"`);
    return n;
  };
  const sharing = (fields.get('sharing') || 'shared') as RunMount['sharing'];
  if (!['shared', 'private', 'locked'].includes(sharing)) throw invalid(`RUN --mount=${spec}: sharing must be shared, private or locked`);
  return {
    type, target: target || (type === 'secret' ? `/run/secrets/${fields.get('id') ?? ''}` : ''), id: fields.get('id'), sharing,
    from: fields.get('from'), source: fields.get('source') ?? fields.get('src'),
    readOnly: type === 'bind' ? !(flag('rw') || flag('readwrite')) : flag('ro') || flag('readonly'),
    mode: num('mode', 8), uid: num('uid'), gid: num('gid'), size: num('size'), required: flag('required'),
  };
}

/** BuildKit's defaults for a RUN's ssh mounts: the Nth is /run/buildkit/ssh_agent.N, id default. */
export function sshDefaults(mounts: RunMount[]): void {
  mounts.filter((m) => m.type === 'ssh').forEach((m, i) => {
    m.target ||= `/run/buildkit/ssh_agent.${i}`;
    m.id ||= 'default';
  });
}

/** A secret as a file of its own in the build's directory (removed with it), for a read-only bind. */
export function secretFile(workDir: string, n: number, m: RunMount, value: Uint8Array): string {
  const file = `${workDir}/secrets/${n}`;
  mkdirSync(`${workDir}/secrets`, { recursive: true, mode: 0o700 });
  writeFileSync(file, value, { mode: m.mode ?? 0o400 });
  chmodSync(file, m.mode ?? 0o400);
  chownSync(file, m.uid ?? 0, m.gid ?? 0);
  return file;
}

/** Per cache id: one user at a time for sharing=locked (and private, which Berth locks too). */
const locks = new Map<string, Promise<void>>();

export async function lockCache(key: string): Promise<() => void> {
  const prev = locks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = prev.then(() => mine);
  locks.set(key, chained);
  await prev;
  return () => {
    release();
    if (locks.get(key) === chained) locks.delete(key);
  };
}

export interface CacheMountInfo {
  id: string;
  dir: string;
  target: string;
  size: number;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

/** The persistent directories of RUN --mount=type=cache, under the engine's root. */
export class CacheMounts {
  constructor(private readonly root: string) {}

  private key(m: RunMount): string {
    return createHash('sha256').update(`${m.id ?? m.target}:${m.uid ?? 0}:${m.gid ?? 0}`).digest('hex').slice(0, 32);
  }

  /** The directory for this mount, made (with its mode and owner) on first use. */
  prepare(m: RunMount): { dir: string; lockKey: string } {
    const key = this.key(m);
    const dir = `${this.root}/${key}/data`;
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, m.mode ?? 0o755);
      chownSync(dir, m.uid ?? 0, m.gid ?? 0);
    }
    const metaFile = `${this.root}/${key}/meta.json`;
    const now = new Date().toISOString();
    let meta: Omit<CacheMountInfo, 'dir' | 'size'> = { id: m.id ?? m.target, target: m.target, createdAt: now, lastUsedAt: now, usageCount: 0 };
    try {
      meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    } catch {
      /* new */
    }
    writeFileSync(metaFile, JSON.stringify({ ...meta, lastUsedAt: now, usageCount: meta.usageCount + 1 }));
    return { dir, lockKey: `${this.root}/${key}` };
  }

  list(): CacheMountInfo[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root).flatMap((key) => {
      try {
        const meta = JSON.parse(readFileSync(`${this.root}/${key}/meta.json`, 'utf8'));
        return [{ ...meta, dir: `${this.root}/${key}/data`, size: duSync(`${this.root}/${key}/data`) }];
      } catch {
        return [];
      }
    });
  }

  /** Deletes the cache directories no running build holds; their ids and bytes. */
  prune(inUse: (lockKey: string) => boolean): { ids: string[]; bytes: number } {
    const ids: string[] = [];
    let bytes = 0;
    for (const c of this.list()) {
      const base = c.dir.slice(0, -'/data'.length);
      if (inUse(base)) continue;
      bytes += c.size;
      ids.push(base.split('/').pop()!);
      rmSync(base, { recursive: true, force: true });
    }
    return { ids, bytes };
  }
}

export const cacheInUse = (lockKey: string) => locks.has(lockKey);

function duSync(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) n += statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch {
    /* removed meanwhile */
  }
  return n;
}

/** Container mounts for a RUN's --mount flags (binds already copied to `bindSource`). */
export function mountSpecs(mounts: { m: RunMount; source?: string }[]): MountSpec[] {
  return mounts.flatMap(({ m, source }): MountSpec[] => {
    if (m.type === 'tmpfs') return [{ Type: 'tmpfs', Source: '', Target: m.target, TmpfsSize: m.size }];
    if (!source) return [];
    return [{ Type: 'bind', Source: source, Target: m.target, ReadOnly: m.readOnly }];
  });
}

/** Whether an image layer has this path (relative), looked up without following any symlink in it. */
export function inLowers(fs: FsAt, lowers: string[], rel: string): boolean {
  return lowers.some((l) => {
    let fd = -1;
    try {
      fd = fs.openat(AT.FDCWD, l, O.PATH | O.DIRECTORY);
      fs.close(fs.openat2(fd, rel, O.PATH | O.NOFOLLOW, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS));
      return true;
    } catch {
      return false;
    } finally {
      if (fd >= 0) fs.close(fd);
    }
  });
}

/**
 * Removes the empty directories (or empty files) the runtime made in the upper dir as mount
 * points for `target`, and its parents it made, walking by descriptors that never follow a
 * symlink; anything the RUN itself put there, and anything the image has, stays.
 */
export function removeStubs(fs: FsAt, upper: string, lowers: string[], target: string): void {
  const parts = target.split('/').filter(Boolean);
  const upperFd = fs.openat(AT.FDCWD, upper, O.PATH | O.DIRECTORY);
  try {
    for (let n = parts.length; n > 0; n--) {
      const rel = parts.slice(0, n).join('/');
      if (inLowers(fs, lowers, rel)) return;
      const parent = parts.slice(0, n - 1).join('/');
      let dirfd: number;
      try {
        dirfd = parent ? fs.openat2(upperFd, parent, O.PATH | O.DIRECTORY, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS) : fs.dup(upperFd);
      } catch {
        return;
      }
      try {
        const st = fs.statatIfExists(dirfd, parts[n - 1], AT.SYMLINK_NOFOLLOW);
        if (!st) continue;
        const kind = st.mode & 0o170000;
        if (kind === 0o100000 && st.size === 0) fs.unlinkat(dirfd, parts[n - 1], 0);
        else if (kind === 0o040000) fs.unlinkat(dirfd, parts[n - 1], AT.REMOVEDIR);
        else return;
      } catch (e) {
        if (e instanceof FsAtError && (e.code === 'ENOTEMPTY' || e.code === 'EEXIST')) return;
        throw e;
      } finally {
        fs.close(dirfd);
      }
    }
  } finally {
    fs.close(upperFd);
  }
}
