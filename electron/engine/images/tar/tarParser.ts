// A push-style tar reader: ustar, GNU long names and base-256 numbers, PAX headers (path,
// linkpath, size, ids, mtime, SCHILY.xattr.*). Bytes go in with push(); entries come out through
// the sink. It never touches the file system, so it can be tested on byte strings alone.

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Buffer>;
}

export interface TarSink {
  entry(h: TarHeader): void;
  data(chunk: Buffer): void;
  /** after the last data chunk of an entry */
  entryEnd(): void;
}

export class TarFormatError extends Error {}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function num(b: Buffer, off: number, len: number, field: string): number {
  if (b[off] & 0x80) {
    // GNU base-256: big-endian two's complement with the high bit set as a marker.
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i];
    v += (b[off] & 0x3f) * 256 ** (len - 1);
    if (b[off] & 0x40) throw new TarFormatError(`negative ${field} in tar header`);
    return v;
  }
  const s = cstr(b, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`invalid ${field} field in tar header: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = cstr(h, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let unsigned = 0;
  for (let i = 0; i < 512; i++) unsigned += i >= 148 && i < 156 ? 32 : h[i];
  return parseInt(stored, 8) === unsigned;
}

/** PAX records: "<len> <key>=<value>\n", the length counting the whole record. */
function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(body.toString('ascii', off, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > body.length) throw new TarFormatError('malformed PAX header record');
    const rec = body.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('malformed PAX header record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

const MAX_META = 1 << 20;

export class TarParser {
  private buf: Buffer[] = [];
  private buffered = 0;
  /** bytes of entry data still to pass on, then padding to skip */
  private remaining = 0;
  private padding = 0;
  /** collecting a metadata body (PAX or GNU long name) instead of passing data on */
  private meta: { kind: string; size: number; parts: Buffer[]; got: number } | null = null;
  private pax = new Map<string, Buffer>();
  private longName: string | null = null;
  private longLink: string | null = null;
  private zeroBlocks = 0;
  private inEntry = false;
  private entries = 0;
  done = false;

  constructor(private readonly sink: TarSink, private readonly opts: { unpaddedEnd?: boolean } = {}) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.done) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - off);
        const part = chunk.subarray(off, off + n);
        if (this.meta) {
          if (this.meta.kind !== 'skip') this.meta.parts.push(Buffer.from(part));
          this.meta.got += n;
        } else {
          this.sink.data(part);
        }
        this.remaining -= n;
        off += n;
        if (this.remaining === 0) this.finishBody();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - off);
        this.padding -= n;
        off += n;
        continue;
      }
      const need = 512 - this.buffered;
      const n = Math.min(need, chunk.length - off);
      this.buf.push(chunk.subarray(off, off + n));
      this.buffered += n;
      off += n;
      if (this.buffered === 512) {
        const block = Buffer.concat(this.buf, 512);
        this.buf = [];
        this.buffered = 0;
        this.header(block);
      }
    }
  }

  /**
   * Call at end of input: a tar must end on a block boundary after its last entry. With
   * `unpaddedEnd`, the padding after the last entry's data may be missing: the docker CLI sends
   * a build context like that with `-f -`, and dockerd takes it.
   */
  end(): void {
    if (this.done) return;
    if (this.remaining > 0 || (this.padding > 0 && !this.opts.unpaddedEnd) || this.meta || this.buffered > 0 || this.inEntry) {
      throw new TarFormatError('unexpected end of tar archive (truncated)');
    }
    if (this.entries === 0 && this.zeroBlocks === 0) throw new TarFormatError('empty input: not a tar archive');
    // A missing end-of-archive marker is tolerated, as GNU tar does.
    this.done = true;
  }

  private finishBody(): void {
    this.padding = (512 - (this.bodySize % 512)) % 512;
    if (this.meta) {
      const body = Buffer.concat(this.meta.parts);
      const kind = this.meta.kind;
      this.meta = null;
      if (kind === 'x') for (const [k, v] of parsePax(body)) this.pax.set(k, v);
      else if (kind === 'L') this.longName = cstr(body, 0, body.length);
      else if (kind === 'K') this.longLink = cstr(body, 0, body.length);
      // 'g' (global PAX) carries nothing we apply.
    } else {
      this.inEntry = false;
      this.sink.entryEnd();
    }
  }

  private bodySize = 0;

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks >= 2) this.done = true;
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(h)) {
      throw new TarFormatError(this.entries === 0 ? 'not a tar archive (invalid header checksum)' : 'invalid tar header checksum (corrupt archive)');
    }
    const flag = String.fromCharCode(h[156]);
    const size = num(h, 124, 12, 'size');
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarFormatError(`tar metadata header too large (${size} bytes)`);
      this.meta = { kind: flag, size, parts: [], got: 0 };
      this.bodySize = size;
      this.remaining = size;
      if (size === 0) this.finishBody();
      return;
    }
    const type = TYPES[flag];
    if (!type) throw new TarFormatError(`unsupported tar entry type ${JSON.stringify(flag)} for ${JSON.stringify(cstr(h, 0, 100))}`);
    const magic = h.toString('latin1', 257, 263);
    let name = cstr(h, 0, 100);
    if (magic === 'ustar\0' || magic === 'ustar ') {
      const prefix = magic === 'ustar\0' ? cstr(h, 345, 155) : '';
      if (prefix) name = `${prefix}/${name}`;
    }
    const pax = this.pax;
    const paxStr = (k: string) => pax.get(k)?.toString('utf8');
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = v;
    const paxNum = (k: string, fallback: number) => {
      const s = paxStr(k);
      if (s === undefined) return fallback;
      const v = Number(s);
      if (!Number.isFinite(v) || v < 0) throw new TarFormatError(`invalid PAX ${k}: ${JSON.stringify(s)}`);
      return k === 'mtime' ? v : Math.floor(v);
    };
    const entrySize = paxNum('size', size);
    const header: TarHeader = {
      name: paxStr('path') ?? this.longName ?? name,
      type,
      mode: num(h, 100, 8, 'mode') & 0o7777,
      uid: paxNum('uid', num(h, 108, 8, 'uid')),
      gid: paxNum('gid', num(h, 116, 8, 'gid')),
      size: type === 'file' ? entrySize : 0,
      mtime: paxNum('mtime', num(h, 136, 12, 'mtime')),
      linkname: paxStr('linkpath') ?? this.longLink ?? cstr(h, 157, 100),
      devmajor: type === 'char' || type === 'block' ? num(h, 329, 8, 'devmajor') : 0,
      devminor: type === 'char' || type === 'block' ? num(h, 337, 8, 'devminor') : 0,
      xattrs,
    };
    this.pax = new Map();
    this.longName = null;
    this.longLink = null;
    this.entries++;
    this.inEntry = true;
    this.sink.entry(header);
    // Hard links may carry a size in some writers; their body is still skipped.
    this.bodySize = type === 'file' ? header.size : type === 'hardlink' ? entrySize : 0;
    this.remaining = type === 'file' ? header.size : 0;
    if (type === 'hardlink' && entrySize > 0) {
      this.meta = { kind: 'skip', size: entrySize, parts: [], got: 0 };
      this.remaining = entrySize;
      this.inEntry = false;
      this.sink.entryEnd();
      return;
    }
    if (this.remaining === 0) this.finishBody();
  }
}
