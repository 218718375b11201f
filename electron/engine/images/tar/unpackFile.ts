// Unpacks one archive file (plain, gzip or zstd tar) into a directory and reports the sha256
// of the uncompressed stream (the layer's diff id). Runs inside an unpack worker: the writes
// are synchronous there, off the engine's event loop.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { type Duplex, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { loadLibc } from '../../sys/libc.ts';
import { LayerWriter, type LayerWriterOptions } from './layerWriter.ts';
import { TarParser } from './tarParser.ts';

export interface UnpackJob extends LayerWriterOptions {
  src: string;
  dest: string;
}

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
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (n >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (n >= 3 && head.toString('latin1', 0, 3) === 'BZh') throw new UnpackError('bzip2-compressed archives are not supported');
  if (n >= 6 && head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw new UnpackError('xz-compressed archives are not supported');
  return 'none';
}

let libc: ReturnType<typeof loadLibc> | undefined;

export async function unpackFile(job: UnpackJob): Promise<UnpackResult> {
  const compression = sniffCompression(job.src);
  const stages: Duplex[] = [];
  if (compression === 'gzip') stages.push(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  if (compression === 'zstd') {
    const make = (zlib as unknown as { createZstdDecompress?: () => Duplex }).createZstdDecompress;
    if (!make) throw new UnpackError(`zstd-compressed layers need Node 22.15 or later to decompress (this is Node ${process.versions.node})`);
    stages.push(make());
  }
  libc ??= loadLibc();
  const ops = libc;
  const writer = new LayerWriter(job.dest, ops, job);
  const parser = new TarParser(writer);
  const hash = createHash('sha256');
  let tarSize = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      try {
        hash.update(chunk);
        tarSize += chunk.length;
        if (!parser.done) parser.push(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
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
    await pipeline([createReadStream(job.src, { highWaterMark: 1 << 20 }), ...stages, sink]);
  } catch (e) {
    writer.abort();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' || /unexpected end of file/.test(err.message)) {
      throw new UnpackError(`${compression} stream is corrupt or truncated: ${err.message}`);
    }
    throw e;
  }
  writer.finish();
  return { diffId: `sha256:${hash.digest('hex')}`, tarSize, size: writer.size, entries: writer.entries, compression };
}
