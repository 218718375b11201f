// The Docker API client backend passes the conformance suite the in-process engine and the
// fake pass, against real engines: Berth's daemon on its socket, and a private dockerd.
import { existsSync } from 'node:fs';
import { backendConformance } from '../../electron/backend/testing/backendConformance.ts';
import { DockerApiBackend } from '../../electron/backend/dockerApi/backend.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { DOCKERD, startDockerd } from '../helpers/dockerd.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';

backendConformance('Docker API client to a Berth daemon', async () => {
  const d = await startDaemon();
  const loaded = await d.docker(['import', busyboxTarball(), 'busybox:latest']);
  if (loaded.code) await d.stop().then(() => Promise.reject(new Error(`import: ${loaded.err}`)));
  const backend = new DockerApiBackend('berth-test', { host: `unix://${d.sock}` });
  return { backend, image: 'busybox', dispose: async () => { backend.dispose(); await d.stop(); } };
});

if (existsSync(DOCKERD)) {
  backendConformance('Docker API client to dockerd', async () => {
    const d = await startDockerd();
    const loaded = await d.docker(['import', busyboxTarball(), 'busybox:latest']);
    if (loaded.code) await d.stop().then(() => Promise.reject(new Error(`import: ${loaded.err}`)));
    const backend = new DockerApiBackend('dockerd-test', { host: `unix://${d.sock}` });
    return { backend, image: 'busybox', dispose: async () => { backend.dispose(); await d.stop(); } };
  });
}
