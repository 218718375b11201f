// A small tar writer for archives the engine makes itself (built-in images, save, export):
// ustar headers, with a PAX header in front when a name, link or xattr does not fit ustar.

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode: number;
  data?: Buffer;
  /** size of a file whose data is streamed after the header (instead of `data`) */
  size?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer | string>;
}

const TYPEFLAG: Record<TarEntry['type'], string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function rawHeader(name: string, prefix: string, e: TarEntry, size: number, flag: string, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write(octal(e.mode & 0o7777, 8), 100);
  h.write(octal(e.uid ?? 0, 8), 108);
  h.write(octal(e.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(Math.floor(e.mtime ?? 0), 12), 136);
  h.write('        ', 148);
  h.write(flag, 156);
  h.write(linkname, 157, 100);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(octal(e.devmajor ?? 0, 8), 329);
  h.write(octal(e.devminor ?? 0, 8), 337);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

/** Header block(s) of one entry; its data (size bytes, then padding) follows. */
export function tarHeader(e: TarEntry): Buffer {
  const size = e.type === 'file' ? (e.data?.length ?? e.size ?? 0) : 0;
  let name = e.name;
  let prefix = '';
  const pax: Buffer[] = [];
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut > 0 && Buffer.byteLength(name.slice(cut + 1)) <= 100 && Buffer.byteLength(name.slice(0, cut)) <= 155) {
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    } else {
      pax.push(paxRecord('path', Buffer.from(e.name)));
      name = e.name.slice(0, 99);
    }
  }
  let linkname = e.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', Buffer.from(linkname)));
    linkname = linkname.slice(0, 99);
  }
  for (const [k, v] of Object.entries(e.xattrs ?? {})) pax.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.from(v)));
  const main = rawHeader(name, prefix, e, size, TYPEFLAG[e.type], linkname);
  if (!pax.length) return main;
  const body = Buffer.concat(pax);
  const paxHeader = rawHeader(`PaxHeaders/${name}`.slice(0, 99), '', { ...e, mode: 0o644 }, body.length, 'x', '');
  return Buffer.concat([paxHeader, body, pad(body.length), main]);
}

export function tarPadding(size: number): Buffer {
  return pad(size);
}

export const TAR_END = Buffer.alloc(1024);

export function buildTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if (e.type === 'file' && e.data?.length) {
      parts.push(e.data);
      parts.push(pad(e.data.length));
    }
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

/** Small chunks joined into ones of about `size` bytes (fewer writes for a tar of many small files). */
export function* coalesce(chunks: Iterable<Buffer>, size: number): Generator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for (const c of chunks) {
    parts.push(c);
    n += c.length;
    if (n >= size) {
      yield Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n) yield Buffer.concat(parts, n);
}
