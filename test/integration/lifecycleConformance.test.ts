// The real seams (overlay, cgroupfs, the native helper, the system clock) pass the lifecycle
// suite the fakes pass in the unit tests (electron/engine/containers/containerService.test.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { lifecycleConformance } from '../../electron/engine/testing/lifecycleConformance.ts';
import { startTestEngine } from '../helpers/testEngine.ts';

lifecycleConformance('real seams', async () => {
  const t = await startTestEngine();
  return { containers: t.engine.containers, events: t.engine.events, image: 'busybox', advance: (ms) => sleep(ms), dispose: () => t.dispose() };
});
