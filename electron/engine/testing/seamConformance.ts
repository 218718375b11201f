// One conformance suite per seam, run against the real implementation (root, real kernel, in
// test/integration) and its fake (unit tests): what the engine relies on from each.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { CgroupManager } from '../cgroups/cgroupManager.ts';
import type { Clock } from '../clock.ts';
import type { ImageStore } from '../images/imageStore.ts';
import type { Snapshotter } from '../layers/snapshotter.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

export function snapshotterConformance(name: string, make: () => Promise<{ snapshotter: Snapshotter; dir: string; dispose(): Promise<void> }>): void {
  describe(`snapshotter conformance: ${name}`, () => {
    let t: Awaited<ReturnType<typeof make>>;
    before(async () => (t = await make()));
    after(() => t?.dispose());

    it('shows the lower layers, the top one winning; writes go to the upper dir; unmount and remove', async () => {
      const [l1, l2] = [`${t.dir}/l1`, `${t.dir}/l2`];
      for (const l of [l1, l2]) mkdirSync(`${l}/etc`, { recursive: true });
      writeFileSync(`${l1}/etc/only-bottom`, 'bottom');
      writeFileSync(`${l1}/etc/both`, 'bottom');
      writeFileSync(`${l2}/etc/both`, 'top');
      const s = t.snapshotter.mount('conf1', [l1, l2]);
      assert.equal(readFileSync(`${s.rootfs}/etc/only-bottom`, 'utf8'), 'bottom');
      assert.equal(readFileSync(`${s.rootfs}/etc/both`, 'utf8'), 'top');
      writeFileSync(`${s.rootfs}/new`, 'written');
      assert.equal(readFileSync(`${s.upper}/new`, 'utf8'), 'written');
      assert.equal(readFileSync(`${l1}/etc/both`, 'utf8'), 'bottom', 'lower layers are never written');
      assert.equal(t.snapshotter.isMounted('conf1'), true);
      assert.equal(t.snapshotter.mount('conf1', [l1, l2]).rootfs, s.rootfs, 'a second mount is the same rootfs');
      t.snapshotter.unmount('conf1');
      assert.equal(t.snapshotter.isMounted('conf1'), false);
      assert.equal(readFileSync(`${t.snapshotter.mount('conf1', [l1, l2]).rootfs}/new`, 'utf8'), 'written', 'the upper dir survives an unmount');
      await t.snapshotter.remove('conf1');
      assert.equal(t.snapshotter.isMounted('conf1'), false);
      assert.equal(existsSync(s.upper), false, 'remove deletes the writable layer');
    });

    it('keeps a volatile layer\'s files across an unmount and a mount in the same boot', async () => {
      const l1 = `${t.dir}/l1`;
      mkdirSync(l1, { recursive: true });
      t.snapshotter.volatile('conf2');
      const s = t.snapshotter.mount('conf2', [l1]);
      writeFileSync(`${s.rootfs}/scratch`, 'kept');
      t.snapshotter.unmount('conf2');
      assert.equal(readFileSync(`${t.snapshotter.mount('conf2', [l1]).rootfs}/scratch`, 'utf8'), 'kept');
      await t.snapshotter.remove('conf2');
      assert.equal(t.snapshotter.isMounted('conf2'), false);
    });
  });
}

export function cgroupConformance(name: string, make: () => Promise<{ cgroups: CgroupManager; dispose(): Promise<void> }>): void {
  describe(`cgroup manager conformance: ${name}`, () => {
    let t: Awaited<ReturnType<typeof make>>;
    before(async () => (t = await make()));
    after(() => t?.dispose());

    it('creates a cgroup with limits, reads them back, updates, freezes, thaws and destroys it', async () => {
      const g = t.cgroups.create('conf-cg', { memory: 64 << 20, pidsLimit: 100 });
      const s = await g.stats();
      assert.equal(s.memory.limit, 64 << 20);
      assert.equal(s.pids.limit, 100);
      assert.deepEqual(g.pids(), [], 'a new cgroup holds no process');
      g.update({ memory: 128 << 20 });
      assert.equal((await t.cgroups.open('conf-cg').stats()).memory.limit, 128 << 20, 'open finds the same cgroup');
      await g.freeze();
      await g.thaw();
      assert.ok(['v1', 'v2', 'hybrid'].includes(t.cgroups.mode));
      await g.destroy();
      // Gone: a cgroup made again under the same name starts without the old limits.
      const again = t.cgroups.create('conf-cg', {});
      assert.equal((await again.stats()).memory.limit, 0, 'no memory limit');
      await again.destroy();
    });
  });
}

export function imageStoreConformance(name: string, make: () => Promise<{ images: ImageStore; image: string; dispose(): Promise<void> }>): void {
  describe(`image store conformance: ${name}`, () => {
    let t: Awaited<ReturnType<typeof make>>;
    before(async () => (t = await make()));
    after(() => t?.dispose());

    it('finds an image by any spelling of its name, its id and a unique id prefix; NOT_FOUND otherwise', () => {
      const img = t.images.get(t.image);
      for (const ref of [img.id, img.id.slice(7), img.id.slice(7, 19), `docker.io/library/${t.image}:latest`, `${t.image}:latest`]) assert.equal(t.images.get(ref).id, img.id, ref);
      assert.throws(() => t.images.get('no-such-image:1'), (e) => code('NOT_FOUND')(e) && /No such image: no-such-image:1/.test((e as Error).message));
      assert.ok(t.images.list().some((i) => i.id === img.id));
    });

    it('tags, untags before it deletes, and keeps an image in use unless forced', () => {
      const img = t.images.get(t.image);
      t.images.tag(t.image, 'conformance/extra:1');
      assert.equal(t.images.get('conformance/extra:1').id, img.id);
      assert.deepEqual(t.images.remove('conformance/extra:1', {}), { untagged: ['conformance/extra:1'], deleted: [] });
      assert.equal(t.images.get(t.image).id, img.id);
      t.images.tag(t.image, 'conformance/extra:2');
      assert.throws(() => t.images.remove(img.id, { inUse: (id) => id === img.id }), code('CONFLICT'));
      t.images.remove('conformance/extra:2', {});
    });
  });
}

export function clockConformance(name: string, make: () => { clock: Clock; advance(ms: number): Promise<void> }): void {
  describe(`clock conformance: ${name}`, () => {
    it('runs a timer once its time has come and not before; a cancelled one never', async () => {
      const { clock, advance } = make();
      const fired: string[] = [];
      const t0 = clock.now();
      clock.timer(50, () => fired.push('a'));
      const cancel = clock.timer(50, () => fired.push('cancelled'));
      cancel();
      const slept = clock.sleep(80).then(() => fired.push('slept'));
      assert.deepEqual(fired, []);
      await advance(60);
      assert.deepEqual(fired, ['a']);
      await advance(60);
      await slept;
      assert.deepEqual(fired, ['a', 'slept']);
      assert.ok(clock.now() - t0 >= 80);
    });
  });
}
