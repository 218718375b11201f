// The engine in this process as a Backend (electron/backend/backend.ts).
import type { Backend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { containersBackend, execBackend } from './containers.ts';
import { imagesBackend } from './images.ts';
import { networksBackend, volumesBackend } from './resources.ts';
import type { EngineStats } from './stats.ts';
import { systemBackend } from './system.ts';

export function engineBackend(e: Engine, stats: EngineStats): Backend {
  return {
    containers: containersBackend(e),
    exec: execBackend(e),
    images: imagesBackend(e),
    networks: networksBackend(e),
    volumes: volumesBackend(e),
    system: systemBackend(e),
    stats,
  };
}
