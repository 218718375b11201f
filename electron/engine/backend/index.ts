// The engine in this process as a Backend (electron/backend/backend.ts): one per engine, built
// on first use and disposed with it.
import type { Backend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { containersBackend, execBackend } from './containers.ts';
import { imagesBackend } from './images.ts';
import { networksBackend, volumesBackend } from './resources.ts';
import { EngineStats } from './stats.ts';
import { systemBackend } from './system.ts';

const built = new WeakMap<Engine, Backend>();

export function backendOf(e: Engine): Backend {
  let b = built.get(e);
  if (!b) {
    const stats = new EngineStats(e);
    e.onClose(() => stats.dispose());
    const containers = containersBackend(e);
    b = {
      containers,
      exec: execBackend(e),
      images: imagesBackend(e, containers),
      networks: networksBackend(e),
      volumes: volumesBackend(e),
      system: systemBackend(e),
      stats,
    };
    built.set(e, b);
  }
  return b;
}
