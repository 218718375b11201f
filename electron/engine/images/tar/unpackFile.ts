// Unpacks one archive file (plain, gzip or zstd tar) into a directory and reports the sha256
// of the uncompressed stream (the layer's diff id). Runs inside an unpack worker: the writes
// are synchronous there, off the engine's event loop.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { AT, O, loadFsAt } from '../../sys/fsat.ts';
import { LayerWriter, type LayerFiles, type LayerWriterOptions } from './layerWriter.ts';
import { TarParser } from './tarParser.ts';

export interface UnpackJob extends LayerWriterOptions {
  src: string;
  dest: string;
  /**
   * Follow a file that is still being written, through this descriptor (shared by the
   * process's threads): read as far as the feed says it holds, until it says it ended.
   */
  followFd?: number;
  /** the zstd program to decompress with when Node has no zstd (default: zstd on PATH; '' for none) */
  zstd?: string;
  /** accept a last entry without its padding (a docker CLI build context) */
  unpaddedEnd?: boolean;
  /** write the new layer's index of regular files here (see LayerFiles) */
  indexFile?: string;
  /** a stored layer (its directory and index file) whose unchanged files are linked, not written */
  like?: { dir: string; index: string };
}

/** A layer's index as unpackFile writes it; an empty one when it cannot be read. */
function readLayerFiles(file: string): LayerFiles {
  try {
    return new Map(JSON.parse(readFileSync(file, 'utf8')) as [string, string][]);
  } catch {
    return new Map();
  }
}

/** What a followed file holds so far, as the job's owner reports it. */
export type FollowMessage = { grow: number } | { end: number } | { abort: string };

export class FollowAborted extends Error {}

export interface UnpackResult {
  diffId: string;
  /** bytes of the uncompressed tar */
  tarSize: number;
  /** bytes of regular file content written */
  size: number;
  entries: number;
  compression: 'none' | 'gzip' | 'zstd';
}

export class UnpackError extends Error {}

export function sniffCompression(path: string): UnpackResult['compression'] {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(6);
  let n: number;
  try {
    n = readSync(fd, head, 0, 6, 0);
  } finally {
    closeSync(fd);
  }
  return sniffBytes(head.subarray(0, n));
}

function sniffBytes(head: Buffer): UnpackResult['compression'] {
  const n = head.length;
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (n >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (n >= 3 && head.toString('latin1', 0, 3) === 'BZh') throw new UnpackError('bzip2-compressed archives are not supported');
  if (n >= 6 && head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw new UnpackError('xz-compressed archives are not supported');
  return 'none';
}

/**
 * Reads a file that another thread is still appending to: as far as the feed reported, then
 * waits for the next report. Starts only once it can see the 6 bytes that name the format.
 */
export class FollowReader extends Readable {
  private pos = 0;
  private avail = 0;
  private ended = false;
  private waiting = false;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(private readonly fd: number) {
    super({ highWaterMark: 1 << 20 });
  }

  feed(msg: FollowMessage): void {
    if ('abort' in msg) {
      this.destroy(new FollowAborted(msg.abort));
      return;
    }
    if ('end' in msg) this.ended = true;
    this.avail = 'end' in msg ? msg.end : msg.grow;
    this.emit('fed');
    if (this.waiting) {
      this.waiting = false;
      this._read();
    }
  }

  /** The first bytes, once there are enough of them to tell the format. */
  head(): Buffer | undefined {
    if (this.avail < 6 && !this.ended) return undefined;
    const n = readSync(this.fd, this.buf, 0, Math.min(6, this.avail), 0);
    return Buffer.from(this.buf.subarray(0, n));
  }

  override _read(): void {
    while (this.pos < this.avail) {
      const n = readSync(this.fd, this.buf, 0, Math.min(this.buf.length, this.avail - this.pos), this.pos);
      if (n === 0) break;
      this.pos += n;
      if (!this.push(Buffer.from(this.buf.subarray(0, n)))) return;
    }
    if (this.ended && this.pos >= this.avail) this.push(null);
    else this.waiting = true;
  }
}

/**
 * zstd: Node's own decompressor where it has one (22.15+), else the host's `zstd` program
 * as a filter (as containerd falls back to unpigz/zstd binaries), else a clear error.
 */
function zstdDecompressor(program = findProgram('zstd')): Duplex {
  const make = (zlib as unknown as { createZstdDecompress?: () => Duplex }).createZstdDecompress;
  if (make) return make();
  if (!program) throw new UnpackError(`zstd-compressed layers need Node 22.15 or later, or the zstd program on PATH, to decompress (this is Node ${process.versions.node} and there is no zstd)`);
  const child = spawn(program, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-500)));
  const filter = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.stdin.on('error', () => undefined);
  child.on('close', (code, signal) => {
    if (code !== 0) filter.destroy(new UnpackError(`zstd stream is corrupt or truncated: ${stderr.trim() || `zstd exited with ${code ?? signal}`}`));
  });
  filter.on('close', () => child.exitCode === null && child.kill());
  return filter;
}

function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/** Resolves with the format once the followed file shows its first bytes. */
function followedHead(reader: FollowReader): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const head = reader.head();
      if (!head) return false;
      reader.off('fed', check);
      reader.off('error', reject);
      resolve(head);
      return true;
    };
    if (check()) return;
    reader.on('fed', check);
    reader.once('error', reject);
  });
}

export async function unpackFile(job: UnpackJob, follow?: FollowReader): Promise<UnpackResult> {
  const compression = follow ? sniffBytes(await followedHead(follow)) : sniffCompression(job.src);
  const stages: Duplex[] = [];
  if (compression === 'gzip') stages.push(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  if (compression === 'zstd') stages.push(zstdDecompressor(job.zstd));
  const fs = loadFsAt();
  // The layer directory is the engine's own; everything inside it is written beneath this descriptor.
  const root = fs.openat(AT.FDCWD, job.dest, O.RDONLY | O.DIRECTORY);
  const index: LayerFiles | undefined = job.indexFile ? new Map() : undefined;
  let like: { fd: number; files: LayerFiles } | undefined;
  if (index && job.like) {
    const files = readLayerFiles(job.like.index);
    try {
      if (files.size) like = { fd: fs.openat(AT.FDCWD, job.like.dir, O.RDONLY | O.DIRECTORY), files };
    } catch {
      like = undefined; // removed meanwhile (an image prune): every file is written
    }
  }
  const writer = new LayerWriter(root, fs, { ...job, index, like });
  const parser = new TarParser(writer, { unpaddedEnd: job.unpaddedEnd });
  const hash = createHash('sha256');
  let tarSize = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      // zlib pushes a chunk before it queues the next one on the thread pool: writing the
      // files on the next tick instead lets the next chunk inflate meanwhile.
      process.nextTick(() => {
        try {
          hash.update(chunk);
          tarSize += chunk.length;
          if (!parser.done) parser.push(chunk);
          cb();
        } catch (e) {
          cb(e as Error);
        }
      });
    },
    final(cb) {
      try {
        parser.end();
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  try {
    try {
      await pipeline([follow ?? createReadStream(job.src, { highWaterMark: 1 << 20 }), ...stages, sink]);
    } catch (e) {
      writer.abort();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR') {
        throw new UnpackError(`${compression} stream is corrupt or truncated: ${err.message}`);
      }
      throw e;
    }
    writer.finish();
    if (index) writeFileSync(job.indexFile!, JSON.stringify([...index]));
  } finally {
    fs.close(root);
    if (like) fs.close(like.fd);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, tarSize, size: writer.size, entries: writer.entries, compression };
}
