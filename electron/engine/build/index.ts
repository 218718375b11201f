// A build from a context archive, as POST /build takes it: the body (tar, gzip, bzip2, xz or
// zstd, sniffed by content) is unpacked by the engine's safe writer into a private directory,
// the Dockerfile read from it, and the Dockerfile and .dockerignore dropped when .dockerignore
// names them (dockerd's rule; clients filter everything else themselves).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import type { ContainersBackend } from '../../backend/backend.ts';
import { removeAt } from '../confined/tree.ts';
import type { Engine } from '../engine.ts';
import { invalid } from '../errors.ts';
import { AT, O } from '../sys/fsat.ts';
import { normalizeName } from '../images/localImageStore.ts';
import { Builder } from './builder.ts';
import { ignoreMatcher } from './dockerignore.ts';
import type { BuildRequest } from '../../../common/build.ts';
import type { BuildOutput } from './types.ts';


const DOCKERFILE_MAX = 8 << 20;

async function receive(body: Readable, file: string): Promise<void> {
  // Neither stream.pipeline nor a plain for-await: both destroy the request when done, and an
  // HTTP server then reports the response closed (the build would count as cancelled).
  const ws = createWriteStream(file);
  try {
    for await (const chunk of body.iterator({ destroyOnReturn: false })) if (!ws.write(chunk)) await once(ws, 'drain');
  } finally {
    ws.end();
    await once(ws, 'close');
  }
  const fh = await open(file, 'r');
  const head = Buffer.alloc(6);
  try {
    await fh.read(head, 0, 6, 0);
  } finally {
    await fh.close();
  }
  const tool = head.toString('latin1', 0, 3) === 'BZh' ? 'bzip2' : head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) ? 'xz' : undefined;
  if (!tool) return;
  // Node has neither: the system's decompressor, as dockerd uses for these two.
  const plain = `${file}.tar`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(tool, ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.pipe(createWriteStream(plain));
    child.once('error', (e) => reject(invalid(`the build context is ${tool}-compressed and ${tool} cannot run here: ${e.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(invalid(`the build context is not a valid ${tool} stream: ${err.trim()}`))));
  });
  renameSync(plain, file);
}

/** Validates names before any work: tags, platform. */
export function checkBuildRequest(tags: string[], platform: string | undefined): void {
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
  mkdirSync(`${dir}/context`, { recursive: true });
  checkBuildRequest(req.tags ?? [], req.platform);
  let builder: Builder | undefined;
  let failed = true;
  try {
    await receive(body, `${dir}/context.tar`);
    try {
      await e.images.unpackTree(`${dir}/context.tar`, `${dir}/context`, 'build context');
    } catch (err) {
      throw invalid(`archive/tar: invalid tar header: the build context must be a tar archive (plain, gzip, bzip2, xz or zstd): ${(err as Error).message}`);
    }
    rmSync(`${dir}/context.tar`, { force: true });
    const view = e.dirView(`${dir}/context`, 'the build context');
    let text: string | undefined;
    let name = req.dockerfile || 'Dockerfile';
    try {
      const clean = name.replace(/^\.\//, '');
      if (clean.split('/').includes('..') || clean.startsWith('/')) throw invalid(`forbidden path outside the build context: ${name} ()`);
      text = view.readFile(`/${clean}`, DOCKERFILE_MAX);
      if (text === undefined && !req.dockerfile) {
        name = 'dockerfile';
        text = view.readFile('/dockerfile', DOCKERFILE_MAX);
      }
      if (text === undefined) throw invalid(`Cannot locate specified Dockerfile: ${name}`);
      if (!text.trim()) throw invalid(`the Dockerfile (${name}) cannot be empty`);
      const ignore = view.readFile('/.dockerignore', 1 << 20);
      if (ignore !== undefined) {
        const ignored = ignoreMatcher(ignore);
        const root = e.fsAt.openat(AT.FDCWD, `${dir}/context`, O.RDONLY | O.DIRECTORY);
        try {
          for (const f of [clean, '.dockerignore']) if (ignored(f) && !f.includes('/')) removeAt(e.fsAt, root, f);
        } finally {
          e.fsAt.close(root);
        }
      }
    } finally {
      view.close();
    }
    builder = new Builder(e, containers, { ...req, contextDir: `${dir}/context`, dockerfileText: text, dockerfileName: name }, out, signal);
    builder.plan();
    const id = await builder.run();
    for (const t of req.tags ?? []) {
      e.images.tag(id, t);
      e.events.emit('image', 'tag', id, { name: normalizeName(t) });
    }
    failed = false;
    return id;
  } finally {
    await builder?.cleanup(failed);
    rmSync(dir, { recursive: true, force: true });
  }
}
