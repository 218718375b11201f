// The engine's real seams pass the conformance suites their fakes pass in the unit tests
// (electron/engine/testing/fakes.test.ts): overlay, cgroupfs, the image store, the system clock.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
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
      for (const id of ['conf1', 'conf2']) await snapshotter.remove(id).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('overlay snapshotter: volatile layers', () => {
  const mountOptions = (rootfs: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === rootfs)?.split(' - ')[1] ?? '';

  it('mounts a build\'s layer volatile (no sync on unmount), and refuses it after a restart of the host', async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-snap-`);
    const snapshotter = new OverlaySnapshotter(`${dir}/overlay`, loadLibc());
    try {
      mkdirSync(`${dir}/l1`);
      const plain = snapshotter.mount('plain', [`${dir}/l1`]);
      assert.doesNotMatch(mountOptions(plain.rootfs), /volatile/, 'a container is not volatile unless asked');
      snapshotter.volatile('scratch');
      const s = snapshotter.mount('scratch', [`${dir}/l1`]);
      assert.match(mountOptions(s.rootfs), /\bvolatile\b/);
      writeFileSync(`${s.rootfs}/f`, 'x');
      snapshotter.unmount('scratch');
      // What a restart of the host looks like to the layer: the boot it was mounted in is another.
      writeFileSync(`${dir}/overlay/scratch/volatile`, '00000000-0000-0000-0000-000000000000');
      assert.throws(() => snapshotter.mount('scratch', [`${dir}/l1`]), (e: Error & { code?: string }) => e.code === 'CONFLICT' && /host restarted.*remove the container/.test(e.message));
      assert.equal(snapshotter.isMounted('scratch'), false);
      await snapshotter.remove('scratch');
    } finally {
      for (const id of ['plain', 'scratch']) await snapshotter.remove(id).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
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
