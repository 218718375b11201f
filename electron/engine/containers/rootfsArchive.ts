// A container's filesystem as archives: `docker diff` (the overlay upper dir against the image's
// layers), `docker export` (the merged rootfs as tar), and `docker cp` both ways. Everything
// here reads or writes a tree the container controls (and may be changing while we do), so
// it goes through descriptors (confined/): paths are resolved the way the container sees
// them, and the kernel keeps every step inside the container's view.
import { Readable } from 'node:stream';
import type { ChangeItem, PathStat } from '../../../common/docker.ts';
import { conflict, EngineError, invalid } from '../errors.ts';
import { FsView, type ViewEntry } from '../confined/fsView.ts';
import { tarFromView } from '../confined/tree.ts';
import { LayerPathError, LayerWriter, type WriterMount } from '../images/tar/layerWriter.ts';
import { TarFormatError, TarParser } from '../images/tar/tarParser.ts';
import { AT, FsAtError, O, RESOLVE, S, isDir, type FsAt } from '../sys/fsat.ts';

export type Change = ChangeItem;

const BENEATH = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;

/** Docker's kinds: 0 modified, 1 added, 2 deleted. Whiteouts are char 0:0 in the upper dir. */
export function changes(fs: FsAt, upper: string, lowers: string[]): Change[] {
  const out: Change[] = [];
  const lowerFds = lowers.map((l) => fs.openat(AT.FDCWD, l, O.PATH | O.DIRECTORY));
  const upperFd = fs.openat(AT.FDCWD, upper, O.RDONLY | O.DIRECTORY);
  // Whether a lower layer has the path, looked up beneath each layer without following any
  // symlink in it (an image's /lib -> /usr/lib must not be read as the host's).
  const inLower = (rel: string) => lowerFds.some((fd) => {
    const cut = rel.lastIndexOf('/');
    let parent = fd;
    try {
      if (cut > 0) parent = fs.openat2(fd, rel.slice(1, cut), O.PATH | O.DIRECTORY, BENEATH);
      return fs.statatIfExists(parent, rel.slice(cut + 1), AT.SYMLINK_NOFOLLOW) !== undefined;
    } catch {
      return false;
    } finally {
      if (parent !== fd) fs.close(parent);
    }
  });
  const walk = (dirfd: number, rel: string) => {
    for (const { name } of fs.readdir(dirfd).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = `${rel}/${name}`;
      const st = fs.statatIfExists(dirfd, name, AT.SYMLINK_NOFOLLOW);
      if (!st) continue;
      if ((st.mode & S.IFMT) === S.IFCHR && st.rdevMajor === 0 && st.rdevMinor === 0) {
        out.push({ Path: path, Kind: 2 });
        continue;
      }
      out.push({ Path: path, Kind: inLower(path) ? 0 : 1 });
      if (!isDir(st)) continue;
      let fd: number;
      try {
        fd = fs.openat(dirfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      } catch {
        continue; // replaced meanwhile
      }
      try {
        walk(fd, path);
      } finally {
        fs.close(fd);
      }
    }
  };
  try {
    walk(upperFd, '');
  } finally {
    fs.close(upperFd);
    for (const fd of lowerFds) fs.close(fd);
  }
  // The engine writes these three itself (Docker bind-mounts them); like Docker, diff leaves
  // them out, and /etc with them when nothing else in it changed.
  const own = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
  const kept = out.filter((c) => !own.has(c.Path));
  return kept.filter((c) => c.Path !== '/etc' || c.Kind !== 0 || kept.some((o) => o.Path.startsWith('/etc/')));
}

export type { PathStat };

/**
 * A path as docker cp looks it up: the final symlink is the entry itself unless the path ends
 * in `/` or `/.`; the stat is named by the path's last component.
 */
export function lookupForCopy(fs: FsAt, view: FsView, path: string): { entry: ViewEntry; stat: PathStat } {
  const entry = view.lookup(path, /\/\.?$/.test(path) && path !== '/');
  const st = entry.stat;
  const kind = st.mode & S.IFMT;
  const modeBits = (st.mode & 0o777) | (kind === S.IFDIR ? 0x80000000 : 0) | (kind === S.IFLNK ? 0x8000000 : 0);
  let linkTarget = '';
  try {
    if (kind === S.IFLNK) linkTarget = fs.readlinkat(entry.fd, '');
  } catch (e) {
    fs.close(entry.fd);
    throw view.explain(e, path);
  }
  return {
    entry,
    stat: { name: path.split('/').filter(Boolean).pop() ?? '/', size: st.size, mode: modeBits >>> 0, mtime: new Date(st.mtimeMs).toISOString(), linkTarget },
  };
}

/** A tar of a path (named by its last component), holding the view open until the stream closes. */
export function archiveOut(fs: FsAt, view: FsView, path: string): { stat: PathStat; tar: Readable } {
  let found: ReturnType<typeof lookupForCopy>;
  try {
    found = lookupForCopy(fs, view, path);
  } catch (e) {
    view.close();
    throw e;
  }
  const tar = tarFromView(fs, view, found.entry, found.stat.name === '/' ? '' : found.stat.name);
  tar.once('close', () => {
    fs.close(found.entry.fd);
    view.close();
  });
  return { stat: found.stat, tar };
}

/** Extracts a tar stream into a directory of the view; nothing lands outside it. */
export async function extractInto(fs: FsAt, view: FsView, dir: string, input: AsyncIterable<Buffer>): Promise<void> {
  const entry = view.lookup(dir, true);
  let rootFd = -1;
  try {
    if (!isDir(entry.stat)) throw invalid(`extraction point is not a directory: ${dir}`);
    // dockerd's words, which clients show as they are.
    if (entry.readOnly === 'root') throw conflict(`container rootfs is marked read-only: cannot copy into ${dir} of ${view.what}`);
    if (entry.readOnly === 'mount') throw conflict(`mounted volume is marked read-only: cannot copy into ${dir} of ${view.what}`);
    rootFd = fs.openat(entry.fd, '.', O.RDONLY | O.DIRECTORY);
    const below = new Map<string, WriterMount>([...view.mountsBelow(entry.path)].map(([rel, m]) => [rel, { fd: m.fd, dir: m.dir, readOnly: m.readOnly }]));
    const writer = new LayerWriter(rootFd, fs, { mode: 'plain', chown: true }, below);
    const parser = new TarParser(writer);
    try {
      for await (const chunk of input) if (!parser.done) parser.push(chunk);
      parser.end();
    } catch (e) {
      writer.abort();
      if (e instanceof LayerPathError || e instanceof TarFormatError) throw invalid(`archive for ${dir}: ${e.message}`);
      if (e instanceof FsAtError) throw new EngineError('INTERNAL', `extract archive into ${dir} of ${view.what}: ${e.message}`, { errno: e.errno });
      throw e;
    }
    writer.finish();
  } finally {
    if (rootFd >= 0) fs.close(rootFd);
    fs.close(entry.fd);
  }
}

