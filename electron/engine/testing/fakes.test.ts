// The fakes of the engine's seams pass the conformance suites the real seams pass as root
// (test/integration/seamConformance.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FakeCgroupManager } from './fakeCgroups.ts';
import { FakeClock } from './fakeClock.ts';
import { FakeImageStore } from './fakeImageStore.ts';
import { FakeSnapshotter } from './fakeSnapshotter.ts';
import { cgroupConformance, clockConformance, imageStoreConformance, snapshotterConformance } from './seamConformance.ts';

snapshotterConformance('fake', async () => {
  const dir = mkdtempSync(`${tmpdir()}/berth-snap-`);
  return { snapshotter: new FakeSnapshotter(`${dir}/overlay`), dir, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
});

cgroupConformance('fake', async () => ({ cgroups: new FakeCgroupManager(), dispose: async () => undefined }));

imageStoreConformance('fake', async () => {
  const images = new FakeImageStore();
  images.add('busybox');
  return { images, image: 'busybox', dispose: async () => undefined };
});

clockConformance('fake', () => {
  const clock = new FakeClock();
  return { clock, advance: (ms) => clock.advance(ms) };
});
