// The engine's real seams pass the conformance suites their fakes pass in the unit tests
// (electron/engine/testing/fakes.test.ts): overlay, cgroupfs, the image store, the system clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsCgroupManager } from '../../electron/engine/cgroups/fsCgroupManager.ts';
import { systemClock } from '../../electron/engine/clock.ts';
import { OverlaySnapshotter } from '../../electron/engine/layers/overlaySnapshotter.ts';
import { loadLibc } from '../../electron/engine/sys/libc.ts';
import { cgroupConformance, clockConformance, imageStoreConformance, snapshotterConformance } from '../../electron/engine/testing/seamConformance.ts';
import { startTestEngine } from '../helpers/testEngine.ts';

snapshotterConformance('overlay', async () => {
  const dir = mkdtempSync(`${tmpdir()}/berth-snap-`);
  const snapshotter = new OverlaySnapshotter(`${dir}/overlay`, loadLibc());
  return {
    snapshotter, dir,
    async dispose() {
      for (const id of ['conf1']) await snapshotter.remove(id).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

cgroupConformance('cgroupfs', async () => {
  const cgroups = new FsCgroupManager(`berth-test-${process.pid}-seams`);
  return {
    cgroups,
    async dispose() {
      await cgroups.open('conf-cg').destroy().catch(() => undefined);
      cgroups.removeParent();
    },
  };
});

imageStoreConformance('local store', async () => {
  const t = await startTestEngine();
  return { images: t.engine.images, image: 'busybox', dispose: () => t.dispose() };
});

clockConformance('system', () => ({ clock: systemClock, advance: (ms) => sleep(ms) }));
