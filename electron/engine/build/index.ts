// A build from a context archive, as POST /build takes it: the body (tar, gzip, bzip2, xz or
// zstd, sniffed by content) is unpacked by the engine's safe writer into a private directory,
// the Dockerfile read from it, and the Dockerfile and .dockerignore dropped when .dockerignore
// names them (dockerd's rule; clients filter everything else themselves).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, renameSync, rmSync, statSync, writevSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ContextIndex, ContextTree } from './contextTree.ts';
import type { Readable } from 'node:stream';
import type { ContainersBackend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { invalid } from '../errors.ts';
import { normalizeName } from '../images/localImageStore.ts';
import { Builder } from './builder.ts';
import type { BuildRecorder } from './history.ts';
import { ignoreMatcher } from '../../../common/dockerignore.ts';
import type { BuildRequest } from '../../../common/build.ts';
import type { BuildOutput } from './types.ts';


const DOCKERFILE_MAX = 8 << 20;

/** writev until every byte of the chunks is written (a short write resumes where it stopped). */
function writevAll(fd: number, chunks: Buffer[]): void {
  let rest = chunks;
  while (rest.length) {
    let n = writevSync(fd, rest.slice(0, 1024));
    const next: Buffer[] = [];
    for (const c of rest) {
      if (n >= c.length) n -= c.length;
      else {
        next.push(n ? c.subarray(n) : c);
        n = 0;
      }
    }
    rest = next;
  }
}

/** A compressed context's format, by its first bytes; undefined for a plain tar. */
function compression(head: Buffer): 'gzip' | 'zstd' | 'bzip2' | 'xz' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return undefined;
}

/**
 * Writes the request body to `file` as a plain tar: compression is sniffed by content (gzip and
 * zstd by Node, bzip2 and xz by the system's tools, as dockerd does). A plain tar is indexed as
 * it arrives: its index, for ContextTree.open.
 */
async function receive(body: Readable, file: string): Promise<ContextIndex | undefined> {
  const raw = `${file}.raw`;
  // Neither stream.pipeline nor a plain for-await: both destroy the request when done, and an
  // HTTP server then reports the response closed (the build would count as cancelled). The
  // socket's chunks (64 KiB) are gathered and written 4 MiB at a time, synchronously: into the
  // page cache that is a copy, where one async write per chunk was a trip through the thread
  // pool each (a 200 MB context: 3,200 of them).
  const fd = openSync(raw, 'w', 0o600);
  /** the first bytes, until they tell the format */
  let head: Buffer | undefined = Buffer.alloc(0);
  let kind: ReturnType<typeof compression>;
  let index: ContextIndex | undefined;
  try {
    let batch: Buffer[] = [];
    let size = 0;
    const flush = () => {
      if (size) writevAll(fd, batch);
      batch = [];
      size = 0;
    };
    const sniff = (chunk?: Buffer) => {
      head = chunk ? Buffer.concat([head!, chunk]) : head!;
      if (chunk && head.length < 6) return;
      kind = compression(head);
      if (!kind) {
        index = new ContextIndex();
        index.push(head);
      }
      head = undefined;
    };
    for await (const chunk of body.iterator({ destroyOnReturn: false })) {
      batch.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (head) sniff(chunk as Buffer);
      else index?.push(chunk as Buffer);
      if (size >= 4 << 20) flush();
    }
    if (head) sniff();
    flush();
  } finally {
    closeSync(fd);
  }
  if (!kind) {
    renameSync(raw, file);
    return index;
  }
  if (kind === 'gzip') {
    await pipeline(createReadStream(raw), createGunzip(), createWriteStream(file)).catch((e: Error) => {
      throw invalid(`the build context is not a valid gzip stream: ${e.message}`);
    });
  } else {
    const child = spawn(kind === 'zstd' ? 'zstd' : kind, ['-dc', raw], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', (e) => reject(invalid(`the build context is ${kind}-compressed and ${kind} cannot run here: ${e.message}`)));
      child.once('close', (code) => resolve(code));
    });
    // Done when the output file is written through, not merely when the program exits.
    const [, code] = await Promise.all([pipeline(child.stdout, createWriteStream(file)), exited]);
    if (code !== 0) throw invalid(`the build context is not a valid ${kind} stream: ${err.trim()}`);
  }
  rmSync(raw, { force: true });
  return undefined;
}

/** Validates names before any work: tags, platform. */
function checkBuildRequest(tags: string[], platform: string | undefined): void {
  for (const t of tags) {
    if (t.includes('@')) throw invalid('build tag cannot contain a digest');
    normalizeName(t);
  }
  if (platform) {
    const [os, arch] = platform.toLowerCase().split('/');
    const known = ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', undefined];
    if (os !== 'linux' || !known.includes(arch)) throw invalid(`"${platform}": unknown operating system or architecture: invalid argument`);
  }
}

/**
 * Runs a build: `started` is called before the first output (errors before it are the
 * request's, HTTP errors; after it they go in the stream). The image id.
 */
export async function buildFromArchive(e: Engine, containers: ContainersBackend, body: Readable, req: BuildRequest, out: BuildOutput, signal?: AbortSignal): Promise<string> {
  const dir = `${e.root}/build/${randomBytes(8).toString('hex')}`;
  checkBuildRequest(req.tags ?? [], req.platform);
  mkdirSync(dir, { recursive: true });
  let builder: Builder | undefined;
  let tree: ContextTree | undefined;
  let recorder: BuildRecorder | undefined;
  let failed = true;
  let cancelled = () => !!signal?.aborted;
  try {
    const received = Date.now();
    const index = await receive(body, `${dir}/context.tar`);
    const context = { contextMs: Date.now() - received, contextBytes: statSync(`${dir}/context.tar`).size };
    tree = ContextTree.open(`${dir}/context.tar`, index);
    let name = req.dockerfile || 'Dockerfile';
    const clean = name.replace(/^\.\//, '');
    if (clean.split('/').includes('..') || clean.startsWith('/')) throw invalid(`forbidden path outside the build context: ${name} ()`);
    let node = tree.lookup(clean);
    if (!node && !req.dockerfile) {
      name = 'dockerfile';
      node = tree.lookup(name);
    }
    if (!node || node.type !== 'file') throw invalid(`Cannot locate specified Dockerfile: ${name}`);
    if (node.size > DOCKERFILE_MAX) throw invalid(`the Dockerfile (${name}) is larger than ${DOCKERFILE_MAX} bytes`);
    const text = tree.read(node).toString('utf8');
    if (!text.trim()) throw invalid(`the Dockerfile (${name}) cannot be empty`);
    const ignoreNode = tree.lookup('.dockerignore');
    if (ignoreNode?.type === 'file') {
      const ignored = ignoreMatcher(tree.read(ignoreNode, 1 << 20).toString('utf8'));
      for (const f of [clean, '.dockerignore']) if (ignored(f)) tree.remove(f);
    }
    // The client going away or a cancel from the app (builds.cancel) stop the build alike.
    const stop = new AbortController();
    if (signal?.aborted) stop.abort();
    signal?.addEventListener('abort', () => stop.abort(), { once: true });
    builder = new Builder(e, containers, { ...req, context: tree, workDir: dir, dockerfileText: text, dockerfileName: name }, out, stop.signal);
    builder.plan();
    recorder = e.builds.start({
      name: req.tags?.[0] ?? 'untagged', tags: req.tags ?? [], dockerfile: text, dockerfileName: name, target: req.target, buildArgs: req.buildArgs, context: req.context, ...context,
    });
    e.builds.cancellable(recorder.id, () => stop.abort());
    cancelled = () => stop.signal.aborted;
    builder.recorder = recorder;
    const id = await builder.run();
    for (const t of req.tags ?? []) {
      e.images.tag(id, t);
      e.events.emit('image', 'tag', id, { name: normalizeName(t) });
    }
    failed = false;
    recorder.finish({ status: 'done', imageId: id });
    return id;
  } catch (err) {
    recorder?.finish({ status: cancelled() ? 'cancelled' : 'failed', error: (err as Error).message });
    throw err;
  } finally {
    await builder?.cleanup(failed);
    tree?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
