// The built-in hello-world image: our own static program, so a first run needs no registry.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Image, ImageStore } from './imageStore.ts';
import { buildTar } from './tarWriter.ts';

export const HELLO_WORLD_REF = 'hello-world:latest';

export async function ensureHelloWorld(store: ImageStore, programPath: string): Promise<Image> {
  try {
    return store.get(HELLO_WORLD_REF);
  } catch {
    const tar = buildTar([{ name: 'hello', type: 'file', mode: 0o755, data: readFileSync(programPath) }]);
    return store.importRootfs(Readable.from([tar]), {
      ref: HELLO_WORLD_REF,
      changes: { Cmd: ['/hello'] },
      comment: 'built-in hello-world',
      created: '2026-01-01T00:00:00Z',
    });
  }
}
