// A folder on this machine as a build context, the way the docker CLI sends one: a tar of the
// folder minus what .dockerignore excludes (the Dockerfile and .dockerignore always go), sorted,
// owners 0:0, mtimes kept, symlinks as symlinks (never followed). A Dockerfile outside the
// folder is added as `.dockerfile.<hex>`, as the CLI does.
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { ignoreMatcher } from '../../common/dockerignore.ts';
import { CodedError } from '../../common/errors.ts';

interface Entry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  mtime: number;
  link?: string;
}

export interface FolderContext {
  /** the Dockerfile's name inside the context */
  dockerfile: string;
  dockerfileText: string;
  files: number;
  bytes: number;
  entries: Entry[];
  /** the Dockerfile when it lives outside the folder */
  extra?: { name: string; data: Buffer };
}

const DOCKERFILE_MAX = 8 << 20;

/** Lists what a build of `folder` would send (no file contents read but the Dockerfile's). */
export function scanFolder(folder: string, dockerfile = 'Dockerfile'): FolderContext {
  const root = resolve(folder);
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new CodedError('NOT_FOUND', `build folder ${folder} does not exist: choose a folder that holds a Dockerfile`);
  }
  if (!st.isDirectory()) throw new CodedError('INVALID_ARGUMENT', `${folder} is not a folder: choose the folder to build from`);
  const dfPath = resolve(root, dockerfile);
  const inside = relative(root, dfPath);
  const outside = inside.startsWith('..') || inside.startsWith('/');
  let dockerfileText: string;
  try {
    if (statSync(dfPath).size > DOCKERFILE_MAX) throw new CodedError('INVALID_ARGUMENT', `${dfPath} is larger than 8 MiB: is it a Dockerfile?`);
    dockerfileText = readFileSync(dfPath, 'utf8');
  } catch (e) {
    if (e instanceof CodedError) throw e;
    throw new CodedError('NOT_FOUND', `no Dockerfile at ${dfPath}: add one, or choose the Dockerfile to use`);
  }
  let ignore: (p: string) => boolean = () => false;
  try {
    ignore = ignoreMatcher(readFileSync(`${root}/.dockerignore`, 'utf8'));
  } catch {
    /* none */
  }
  const keep = new Set(['.dockerignore', outside ? '' : inside]);
  const entries: Entry[] = [];
  let bytes = 0;
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = `${dir}/${name}`;
      const r = rel ? `${rel}/${name}` : name;
      const l = lstatSync(path);
      // An excluded directory is still walked: an exception (!) may take something back inside it.
      const excluded = ignore(r) && !keep.has(r);
      if (l.isDirectory()) {
        if (!excluded) entries.push({ name: r, path, type: 'dir', mode: l.mode & 0o7777, size: 0, mtime: l.mtimeMs / 1000 });
        walk(path, r);
      } else if (!excluded && l.isSymbolicLink()) {
        entries.push({ name: r, path, type: 'symlink', mode: l.mode & 0o7777, size: 0, mtime: l.mtimeMs / 1000, link: readlinkSync(path) });
      } else if (!excluded && l.isFile()) {
        entries.push({ name: r, path, type: 'file', mode: l.mode & 0o7777, size: l.size, mtime: l.mtimeMs / 1000 });
        bytes += l.size;
      }
    }
  };
  walk(root, '');
  const extra = outside ? { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data: Buffer.from(dockerfileText) } : undefined;
  return { dockerfile: extra?.name ?? inside, dockerfileText, files: entries.filter((e) => e.type === 'file').length, bytes, entries, extra };
}

function header(name: string, type: Entry['type'], mode: number, size: number, mtime: number, link = ''): Buffer {
  const pax: string[] = [];
  const fit = (s: string, n: number, key: string) => {
    if (Buffer.byteLength(s) <= n) return s;
    // "<len> key=value\n", the length counting its own digits.
    const rec = ` ${key}=${s}\n`;
    const body = Buffer.byteLength(rec);
    let len = body + String(body).length;
    while (len !== body + String(len).length) len = body + String(len).length;
    pax.push(`${len}${rec}`);
    return s.slice(0, n);
  };
  const h = Buffer.alloc(512);
  h.write(fit(type === 'dir' ? `${name}/` : name, 100, 'path'), 0);
  h.write(`${(mode & 0o7777).toString(8).padStart(7, '0')}\0`, 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write(`${Math.floor(mtime).toString(8).padStart(11, '0')}\0`, 136);
  h.write(type === 'dir' ? '5' : type === 'symlink' ? '2' : '0', 156);
  h.write(fit(link, 100, 'linkpath'), 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  const sum = (b: Buffer) => {
    b.write('        ', 148);
    let n = 0;
    for (const x of b) n += x;
    b.write(`${n.toString(8).padStart(6, '0')}\0 `, 148);
  };
  sum(h);
  if (!pax.length) return h;
  const body = Buffer.from(pax.join(''));
  const p = Buffer.alloc(512);
  p.write('PaxHeader', 0);
  p.write('0000644\0', 100);
  p.write('0000000\0', 108);
  p.write('0000000\0', 116);
  p.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  p.write('00000000000\0', 136);
  p.write('x', 156);
  p.write('ustar\0', 257);
  p.write('00', 263);
  sum(p);
  return Buffer.concat([p, body, Buffer.alloc((512 - (body.length % 512)) % 512), h]);
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** The context as a tar stream, read file by file as the engine takes it. */
export function packFolder(ctx: FolderContext): Readable {
  function* gen(): Generator<Buffer> {
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (const e of ctx.entries) {
      if (e.type !== 'file') {
        yield header(e.name, e.type, e.mode, 0, e.mtime, e.link);
        continue;
      }
      let fd: number;
      try {
        fd = openSync(e.path, 'r');
      } catch {
        continue; // gone since the scan
      }
      try {
        yield header(e.name, 'file', e.mode, e.size, e.mtime);
        let left = e.size;
        while (left > 0) {
          const n = readSync(fd, chunk, 0, Math.min(chunk.length, left), null);
          if (n <= 0) break;
          left -= n;
          yield Buffer.from(chunk.subarray(0, n));
        }
        if (left > 0) yield Buffer.alloc(left); // shrank meanwhile: keep the size the header promised
        yield pad(e.size);
      } finally {
        closeSync(fd);
      }
    }
    if (ctx.extra) {
      yield header(ctx.extra.name, 'file', 0o600, ctx.extra.data.length, Date.now() / 1000);
      yield ctx.extra.data;
      yield pad(ctx.extra.data.length);
    }
    yield Buffer.alloc(1024);
  }
  return Readable.from(gen(), { objectMode: false });
}
