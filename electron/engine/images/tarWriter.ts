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

/** An octal field: width-1 digits and a NUL; base-256 (GNU's form) when the number does not fit. */
function putOctal(h: Buffer, at: number, width: number, n: number): void {
  if (n >= 8 ** (width - 1)) {
    h[at] = 0x80;
    for (let i = at + width - 1; i > at; i--, n = Math.floor(n / 256)) h[i] = n % 256;
    return;
  }
  for (let i = at + width - 2; i >= at; i--, n = Math.floor(n / 8)) h[i] = 48 + (n % 8);
  h[at + width - 1] = 0;
}

/** A string field: ASCII byte by byte (most names), anything else as UTF-8, cut at `max` bytes. */
function putString(h: Buffer, at: number, max: number, s: string): void {
  if (s.length <= max) {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      h[at + i] = c;
    }
    if (i === s.length) return;
  }
  h.write(s, at, max);
}

const USTAR = Buffer.from('ustar\x0000', 'latin1');

function rawHeader(name: string, prefix: string, e: TarEntry, size: number, flag: string, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  putString(h, 0, 100, name);
  putOctal(h, 100, 8, e.mode & 0o7777);
  putOctal(h, 108, 8, e.uid ?? 0);
  putOctal(h, 116, 8, e.gid ?? 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, Math.floor(e.mtime ?? 0));
  h[156] = flag.charCodeAt(0);
  putString(h, 157, 100, linkname);
  USTAR.copy(h, 257);
  putOctal(h, 329, 8, e.devmajor ?? 0);
  putOctal(h, 337, 8, e.devminor ?? 0);
  putString(h, 345, 155, prefix);
  let sum = 8 * 32; // the checksum field counts as eight spaces
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i];
  putOctal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const ZEROS = Buffer.alloc(512);

/** Zeros up to the next block (a view of one shared block: never written to). */
function pad(n: number): Buffer {
  return ZEROS.subarray(0, (512 - (n % 512)) % 512);
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
