// A container service over fake seams, in a temporary directory, runnable without root: the
// store, volumes, seccomp compiler and events are the real ones (they need no privilege).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ContainerService } from '../containers/containerService.ts';
import { ContainerStore } from '../containers/containerStore.ts';
import { EventBus } from '../events/eventBus.ts';
import { SeccompCompiler } from '../runtime/seccomp/compiler.ts';
import { loadFsAt } from '../sys/fsat.ts';
import { VolumeService } from '../volumes/volumeService.ts';
import { FakeCgroupManager } from './fakeCgroups.ts';
import { FakeClock } from './fakeClock.ts';
import { FakeHelperClient } from './fakeHelper.ts';
import { FakeImageStore } from './fakeImageStore.ts';
import { FakeNetwork } from './fakeNetwork.ts';
import { FakeSnapshotter } from './fakeSnapshotter.ts';

export function fakeContainerService() {
  const dir = mkdtempSync(`${tmpdir()}/berth-fakes-`);
  const events = new EventBus();
  const store = new ContainerStore(`${dir}/containers`);
  const fs = loadFsAt();
  const images = new FakeImageStore();
  images.add('busybox', { Cmd: ['sh'] });
  const clock = new FakeClock();
  const seams = { helper: new FakeHelperClient(clock), cgroups: new FakeCgroupManager(), snapshotter: new FakeSnapshotter(`${dir}/overlay`), network: new FakeNetwork(), clock };
  const volumes = new VolumeService(dir, fs, events, () => store.all());
  const containers = new ContainerService({
    store, images, volumes, events, fs, runRoot: `${dir}/run`, seccomp: new SeccompCompiler(`${dir}/seccomp`), ...seams,
  });
  return {
    containers, events, images, ...seams, dir,
    dispose() {
      containers.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
