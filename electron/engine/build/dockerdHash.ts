// The source hashes dockerd's classic builder writes in a COPY or ADD history entry
// (`COPY file:<hex> in /dest`), so that `docker history` reads as dockerd's and --cache-from
// can match images dockerd built. Per entry: sha256 of its tarsum-v1 header (name, a dir's
// with a trailing slash; mode with the file type bits; uid, gid, size, type flag, link name;
// user and group names; device numbers; security.capability) and then a file's bytes. A file
// is `file:<hash>`; a directory `dir:` sha256 of its entries' hashes, sorted and joined by
// commas; several sources `multi:` sha256 of theirs joined in order. Two flavours, as dockerd
// has them: the build context's hashes come from the tar it received (no user names; a
// symlink stands for what it points to, by that path; the context's root has no entry), an
// image's from its files (names looked up on the host, links as links, the root as "./").
// Checked side by side with dockerd 20.10. The context's small files are hashed as they arrive
// (contextTree.ts); the rest here.
import { createHash, type Hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TarParser } from '../images/tar/tarParser.ts';
import { contextEntryHash, type ContextTree, type CtxNode } from './contextTree.ts';
import { tarsumHeader, type TarsumEntry } from './tarsum.ts';
import { parseGroup, parsePasswd } from '../runtime/users.ts';

const sortedDir = (hashes: string[]) => `dir:${createHash('sha256').update(hashes.sort().join(',')).digest('hex')}`;

/** A build-context source (`src` relative to the context's root) as dockerd hashes it. */
export function dockerdContextHash(tree: ContextTree, src: string): string {
  const entryHash = (path: string, n: CtxNode): string => {
    if (n.tarsum?.path === path) return n.tarsum.hex;
    const h = contextEntryHash(path, n);
    if (n.type === 'file') for (const c of tree.chunks(n)) h.update(c);
    return h.digest('hex');
  };
  /**
   * A walked path: its entry's hash, a symlink followed. What has no entry of its own stands
   * as its path (dockerd's fallback): a dangling link, a directory only implied by its files;
   * the root counts for nothing.
   */
  const hashOf = (rel: string): string | undefined => {
    const r = tree.resolve(rel, true);
    if (!r) return rel;
    if (!r.path) return undefined;
    return r.node.raw ? entryHash(r.path, r.node) : r.path;
  };
  const top = tree.resolve(src, true);
  if (!top) return `file:${src}`;
  if (top.node.type !== 'dir') return `file:${hashOf(src)}`;
  const hashes: string[] = [];
  const walk = (path: string, n: CtxNode) => {
    // Only a link needs resolving (a walk does not go through links: the path is the node's own).
    const own = n.type === 'symlink' ? hashOf(path) : !path ? undefined : n.raw ? entryHash(path, n) : path;
    if (own !== undefined) hashes.push(own);
    if (n.type !== 'dir') return;
    for (const name of tree.list(n)) walk(path ? `${path}/${name}` : name, n.children!.get(name)!);
  };
  walk(top.path, top.node);
  return sortedDir(hashes);
}

let names: { users: Map<number, string>; groups: Map<number, string> } | undefined;

/** The host's user and group names by id (what Go's tar.FileInfoHeader looks up), the first for an id. */
function hostNames(): { users: Map<number, string>; groups: Map<number, string> } {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const byId = (list: { name: string; id: number }[]) => new Map([...list].reverse().map((e) => [e.id, e.name]));
  names ??= {
    users: byId(parsePasswd(read('/etc/passwd')).map((u) => ({ name: u.name, id: u.uid }))),
    groups: byId(parseGroup(read('/etc/group')).map((g) => ({ name: g.name, id: g.gid }))),
  };
  return names;
}

/** An image's source (its tar entries, named from the image's root) as dockerd hashes it. */
export function dockerdImageHash(chunks: Iterable<Buffer>, root?: { mode: number; uid: number; gid: number }): string {
  const { users, groups } = hostNames();
  const named = (e: Omit<TarsumEntry, 'uname' | 'gname'>): TarsumEntry => ({ ...e, uname: users.get(e.uid), gname: groups.get(e.gid) });
  const hashes: string[] = [];
  let current: Hash | undefined;
  let firstIsDir: boolean | undefined;
  if (root) {
    hashes.push(tarsumHeader(named({ name: './', type: 'dir', mode: root.mode, uid: root.uid, gid: root.gid, size: 0, linkname: '' })).digest('hex'));
    firstIsDir = true;
  }
  const parser = new TarParser({
    entry: (h) => {
      firstIsDir ??= h.type === 'dir';
      current = tarsumHeader(named({ name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size, linkname: h.linkname, cap: h.xattrs['security.capability'] }));
    },
    data: (c) => current!.update(c),
    entryEnd: () => {
      hashes.push(current!.digest('hex'));
      current = undefined;
    },
  }, { unpaddedEnd: true });
  for (const c of chunks) parser.push(c);
  return firstIsDir ? sortedDir(hashes) : `file:${hashes[0] ?? ''}`;
}

/** Several sources' hashes as one (or the one). */
export function dockerdMultiHash(infos: string[]): string {
  return infos.length === 1 ? infos[0] : `multi:${createHash('sha256').update(infos.join(',')).digest('hex')}`;
}
