// The engine in this process, as a Backend, passes the conformance suite its fake passes.
import { backendConformance } from '../../electron/backend/testing/backendConformance.ts';
import { startTestEngine } from '../helpers/testEngine.ts';
import { backendOf } from '../../electron/engine/index.ts';

backendConformance('engine', async () => {
  const t = await startTestEngine();
  return { backend: backendOf(t.engine), image: 'busybox', dispose: () => t.dispose() };
});
