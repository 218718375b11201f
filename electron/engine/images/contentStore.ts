// Content-addressed blobs: <root>/blobs/sha256/<hex>. Every write goes to a file under
// ingest/, is hashed on the way, checked against the digest it claims, fsynced and only then
// renamed to its final name, so a crash never leaves a half-written blob under a digest.
// Interrupted downloads keep their partial file (ingest/<hex>.partial) to resume with Range.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { invalid } from '../errors.ts';

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Who follows a blob's ingest file while it is written (an unpack that starts before the last byte). */
export interface IngestTap {
  /** the file is open for writing from `offset` (0: from scratch, truncated) */
  opened(path: string, offset: number): void;
  /** the file now holds `size` bytes */
  wrote(size: number): void;
}

export class DigestMismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string, what: string) {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`);
  }
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export class ContentStore {
  readonly dir: string;
  readonly ingest: string;
  private readonly downloading = new Map<string, number>();

  constructor(root: string) {
    this.dir = `${root}/blobs/sha256`;
    this.ingest = `${root}/blobs/ingest`;
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.ingest, { recursive: true });
    // Temp files of interrupted writes are garbage; partial downloads are kept for resume.
    for (const f of readdirSync(this.ingest)) if (!f.endsWith('.partial')) rmSync(`${this.ingest}/${f}`, { force: true });
  }

  path(digest: string): string {
    if (!DIGEST_RE.test(digest)) throw invalid(`invalid digest: ${digest}`);
    return `${this.dir}/${digest.slice(7)}`;
  }

  has(digest: string): boolean {
    return DIGEST_RE.test(digest) && existsSync(this.path(digest));
  }

  size(digest: string): number {
    return statSync(this.path(digest)).size;
  }

  read(digest: string): Buffer {
    return readFileSync(this.path(digest));
  }

  stream(digest: string): Readable {
    return createReadStream(this.path(digest));
  }

  list(): string[] {
    return readdirSync(this.dir).filter((f) => /^[a-f0-9]{64}$/.test(f)).map((f) => `sha256:${f}`);
  }

  delete(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }

  /** Stores bytes; returns their digest. */
  async put(data: Buffer, expected?: string): Promise<string> {
    const digest = sha256(data);
    if (expected && expected !== digest) throw new DigestMismatchError(expected, digest, 'blob');
    if (this.has(digest)) return digest;
    const tmp = `${this.ingest}/tmp-${randomBytes(6).toString('hex')}`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    renameSync(tmp, this.path(digest));
    return digest;
  }

  /** Streams a blob in; when `expected` is given a mismatch is an error and nothing is stored. */
  async write(input: Readable, expected?: string, what = 'blob', tap?: IngestTap): Promise<{ digest: string; size: number }> {
    const tmp = `${this.ingest}/tmp-${randomBytes(6).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'w', 0o644);
    let digest: string;
    let synced = false;
    try {
      tap?.opened(tmp, 0);
      for await (const chunk of input) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        await fh.write(chunk as Buffer);
        tap?.wrote(size);
      }
      digest = `sha256:${hash.digest('hex')}`;
      // A copy of a blob already stored is dropped, not made durable first (a rebuild's layers).
      if (!this.has(digest)) {
        await fh.sync();
        synced = true;
      }
    } catch (e) {
      await fh.close().catch(() => undefined);
      rmSync(tmp, { force: true });
      throw e;
    }
    await fh.close();
    return this.commitAs(tmp, digest, size, expected, what, synced);
  }

  /** Moves a fully written ingest file to its digest name after checking it. */
  commit(tmp: string, hash: Hash, size: number, expected: string | undefined, what: string): { digest: string; size: number } {
    return this.commitAs(tmp, `sha256:${hash.digest('hex')}`, size, expected, what, true);
  }

  /** commit with the digest known; a file not yet synced is synced before it gets the name (the stored copy went meanwhile). */
  private commitAs(tmp: string, digest: string, size: number, expected: string | undefined, what: string, synced: boolean): { digest: string; size: number } {
    if (expected && expected !== digest) {
      rmSync(tmp, { force: true });
      throw new DigestMismatchError(expected, digest, what);
    }
    if (this.has(digest)) {
      rmSync(tmp, { force: true });
      return { digest, size };
    }
    if (!synced) {
      const fd = openSync(tmp, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, this.path(digest));
    return { digest, size };
  }

  /** Marks a partial download as in use until the returned function runs. */
  claimPartial(digest: string): () => void {
    this.downloading.set(digest, (this.downloading.get(digest) ?? 0) + 1);
    return () => {
      const n = (this.downloading.get(digest) ?? 1) - 1;
      if (n > 0) this.downloading.set(digest, n);
      else this.downloading.delete(digest);
    };
  }

  /** Downloads an earlier pull left unfinished (kept to resume), and whether one runs now. */
  partials(): { digest: string; size: number; modified: number; inUse: boolean }[] {
    return readdirSync(this.ingest).filter((f) => /^[a-f0-9]{64}\.partial$/.test(f)).flatMap((f) => {
      const digest = `sha256:${f.slice(0, 64)}`;
      try {
        const st = statSync(`${this.ingest}/${f}`);
        return [{ digest, size: st.size, modified: st.mtimeMs, inUse: this.downloading.has(digest) }];
      } catch {
        return [];
      }
    });
  }

  /** Removes the partial downloads no pull is using; their digests and the bytes freed. */
  prunePartials(): { digests: string[]; bytes: number } {
    const out = { digests: [] as string[], bytes: 0 };
    for (const p of this.partials()) {
      if (p.inUse) continue;
      rmSync(this.partialPath(p.digest), { force: true });
      out.digests.push(p.digest);
      out.bytes += p.size;
    }
    return out;
  }

  partialPath(digest: string): string {
    return `${this.ingest}/${digest.slice(7)}.partial`;
  }

  /** Hashes a file already on disk (for a resumed download or a verification pass). */
  async hashFile(path: string, length?: number): Promise<{ hash: Hash; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    if (length === 0) return { hash, size };
    for await (const chunk of createReadStream(path, length === undefined ? {} : { end: length - 1 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { hash, size };
  }

  /** Every blob whose content does not hash to its name (should always be empty). */
  async verify(): Promise<string[]> {
    const bad: string[] = [];
    for (const d of this.list()) {
      const { hash } = await this.hashFile(this.path(d));
      if (`sha256:${hash.digest('hex')}` !== d) bad.push(d);
    }
    return bad;
  }
}
