// A container's filesystem as archives: `docker diff` (the overlay upper dir against the image's
// layers), `docker export` (the merged rootfs as tar), and `docker cp` both ways. Paths inside
// the container are resolved the way the container sees them, symlinks included, without ever
// leaving its root; archives written in go through the same safe writer as image layers.
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import type { Libc } from '../sys/libc.ts';
import { invalid, notFound } from '../errors.ts';
import { LayerWriter } from '../images/tar/layerWriter.ts';
import { TarParser } from '../images/tar/tarParser.ts';
import { TAR_END, tarHeader, tarPadding, type TarEntry } from '../images/tarWriter.ts';

export interface Change { Path: string; Kind: 0 | 1 | 2 }

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/** Docker's kinds: 0 modified, 1 added, 2 deleted. Whiteouts are char 0:0 in the upper dir. */
export function changes(upper: string, lowers: string[]): Change[] {
  const out: Change[] = [];
  const inLower = (rel: string) => lowers.some((l) => lstatOrNull(`${l}${rel}`) !== null);
  const walk = (rel: string) => {
    for (const name of readdirSync(`${upper}${rel}`).sort()) {
      const path = `${rel}/${name}`;
      const st = lstatSync(`${upper}${path}`);
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: path, Kind: 2 });
        continue;
      }
      out.push({ Path: path, Kind: inLower(path) ? 0 : 1 });
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  // The engine writes these three itself (Docker bind-mounts them); like Docker, diff leaves
  // them out, and /etc with them when nothing else in it changed.
  const own = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
  const kept = out.filter((c) => !own.has(c.Path));
  return kept.filter((c) => c.Path !== '/etc' || c.Kind !== 0 || kept.some((o) => o.Path.startsWith('/etc/')));
}

/**
 * Resolves a path as the container sees it: absolute symlinks restart at the container root,
 * `..` never climbs above it. Returns the host path (with its final component unresolved when
 * `followLast` is false, as docker cp does for the source path).
 */
export function resolveInRoot(rootfs: string, path: string, followLast = true): string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = `${rootfs}/${[...done, part].join('/')}`;
    const st = lstatOrNull(host);
    if (st?.isSymbolicLink() && (followLast || parts.length)) {
      if (++hops > 40) throw invalid(`too many levels of symbolic links in ${path}`);
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter((p) => p && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return done.length ? `${rootfs}/${done.join('/')}` : rootfs;
}

/** A mount seen by `docker cp` on a stopped container: its files are at Source on the host. */
export interface PathMount {
  Destination: string;
  Source: string;
}

/** resolveInRoot, then into the mount holding the result (the longest destination that contains it). */
export function resolveWithMounts(rootfs: string, path: string, followLast: boolean, mounts: PathMount[]): string {
  const host = resolveInRoot(rootfs, path, followLast);
  if (!mounts.length) return host;
  const rel = host === rootfs ? '/' : host.slice(rootfs.length);
  const inside = (d: string) => rel === d || rel.startsWith(`${d.replace(/\/$/, '')}/`);
  const m = mounts.filter((x) => inside(x.Destination)).sort((a, b) => b.Destination.length - a.Destination.length)[0];
  return m ? resolveInRoot(m.Source, rel.slice(m.Destination.length), followLast) : host;
}

/** Streams a directory tree (or one file) as tar, entry names under `prefix`. */
export function tarTree(hostPath: string, prefix: string): Readable {
  const inodes = new Map<string, string>();
  function* entries(abs: string, name: string): Generator<Buffer> {
    const st = lstatSync(abs);
    const base: Omit<TarEntry, 'type'> = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtimeMs / 1000 };
    const key = `${st.dev}:${st.ino}`;
    if (!st.isDirectory() && st.nlink > 1 && inodes.has(key)) {
      yield tarHeader({ ...base, type: 'hardlink', linkname: inodes.get(key) });
      return;
    }
    if (!st.isDirectory() && st.nlink > 1) inodes.set(key, name);
    if (st.isDirectory()) {
      if (name) yield tarHeader({ ...base, name: `${name}/`, type: 'dir' });
      for (const child of readdirSync(abs).sort()) yield* entries(`${abs}/${child}`, name ? `${name}/${child}` : child);
    } else if (st.isSymbolicLink()) {
      yield tarHeader({ ...base, type: 'symlink', linkname: readlinkSync(abs) });
    } else if (st.isFile()) {
      yield tarHeader({ ...base, type: 'file', size: st.size });
      const fd = openSync(abs, 'r');
      try {
        const buf = Buffer.allocUnsafe(1 << 16);
        let left = st.size;
        while (left > 0) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
          if (n <= 0) break;
          left -= n;
          yield Buffer.from(buf.subarray(0, n));
        }
        // A file that shrank while being read is padded to the size its header promised.
        if (left > 0) yield Buffer.alloc(left);
      } finally {
        closeSync(fd);
      }
      yield tarPadding(st.size);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      yield tarHeader({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: Number(BigInt(st.rdev) >> 8n) & 0xfff, devminor: st.rdev & 0xff });
    } else if (st.isFIFO()) {
      yield tarHeader({ ...base, type: 'fifo' });
    }
  }
  return Readable.from((function* () {
    yield* entries(hostPath, prefix);
    yield TAR_END;
  })(), { objectMode: false });
}

/** Metadata docker cp shows for a path (X-Docker-Container-Path-Stat). */
export function pathStat(rootfs: string, path: string, mounts: PathMount[] = []) {
  const host = resolveWithMounts(rootfs, path, false, mounts);
  const st = lstatOrNull(host);
  if (!st) throw notFound(`Could not find the file ${path} in container`);
  const modeBits = (st.mode & 0o777) | (st.isDirectory() ? 0x80000000 : 0) | (st.isSymbolicLink() ? 0x8000000 : 0);
  return {
    host, isDir: st.isDirectory(),
    stat: { name: path.split('/').filter(Boolean).pop() ?? '/', size: st.size, mode: modeBits >>> 0, mtime: st.mtime.toISOString(), linkTarget: st.isSymbolicLink() ? readlinkSync(host) : '' },
  };
}

/** Extracts a tar stream into a directory inside the container; nothing lands outside it. */
export async function extractInto(rootfs: string, dir: string, input: AsyncIterable<Buffer>, libc: Libc, mounts: PathMount[] = []): Promise<void> {
  const target = resolveWithMounts(rootfs, dir, true, mounts);
  const st = lstatOrNull(target);
  if (!st) throw notFound(`Could not find the file ${dir} in container`);
  if (!st.isDirectory()) throw invalid(`extraction point is not a directory: ${dir}`);
  const writer = new LayerWriter(target, { mknod: (p, mode, ma, mi) => libc.mknod(p, mode, ma, mi), lsetxattr: (p, n, v) => libc.lsetxattr(p, n, v) }, { mode: 'plain', chown: true });
  const parser = new TarParser(writer);
  try {
    for await (const chunk of input) if (!parser.done) parser.push(chunk);
    parser.end();
  } catch (e) {
    writer.abort();
    throw invalid(`archive for ${dir}: ${(e as Error).message}`);
  }
  writer.finish();
}
