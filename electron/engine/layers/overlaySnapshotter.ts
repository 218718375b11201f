// Overlay snapshotter: rootfs = overlay(lower layers…, per-container upper). The mount is
// made in the host mount namespace with mount(2) through koffi; the helper then binds it
// into the container's own namespace.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { EngineError } from '../errors.ts';
import { MNT_DETACH, type Libc } from '../sys/libc.ts';
import type { Snapshot, Snapshotter } from './snapshotter.ts';

const PAGE = 4096;

export class OverlaySnapshotter implements Snapshotter {
  constructor(private readonly root: string, private readonly libc: Libc) {}

  private dir(id: string) {
    const base = `${this.root}/${id}`;
    return { base, upper: `${base}/upper`, work: `${base}/work`, rootfs: `${base}/merged` };
  }

  mount(id: string, lowers: string[]): Snapshot {
    const d = this.dir(id);
    for (const p of [d.upper, d.work, d.rootfs]) mkdirSync(p, { recursive: true });
    if (this.isMounted(id)) return { rootfs: d.rootfs, upper: d.upper };
    // overlay takes the top-most lower first; the option string must fit in one page.
    const options = `lowerdir=${[...lowers].reverse().join(':')},upperdir=${d.upper},workdir=${d.work},index=off`;
    if (options.length >= PAGE) {
      throw new EngineError('UNSUPPORTED', `image has too many layers for one overlay mount (${lowers.length})`);
    }
    try {
      this.libc.mount('overlay', d.rootfs, 'overlay', 0, options);
    } catch (e) {
      throw new EngineError('INTERNAL', `mount overlay rootfs for ${id.slice(0, 12)}: ${(e as Error).message}`, {
        stage: 'rootfs',
        errno: (e as { errno?: number }).errno,
      });
    }
    return { rootfs: d.rootfs, upper: d.upper };
  }

  /** A mount point sits on another device than its parent directory (no mountinfo scan). */
  isMounted(id: string): boolean {
    const { base, rootfs } = this.dir(id);
    try {
      return statSync(rootfs).dev !== statSync(base).dev;
    } catch {
      return false;
    }
  }

  unmount(id: string): void {
    const { rootfs } = this.dir(id);
    while (this.isMounted(id)) {
      try {
        this.libc.umount(rootfs, MNT_DETACH);
      } catch (e) {
        throw new EngineError('INTERNAL', `unmount rootfs of ${id.slice(0, 12)}: ${(e as Error).message}`);
      }
    }
  }

  async remove(id: string): Promise<void> {
    this.unmount(id);
    const { base } = this.dir(id);
    if (existsSync(base)) await rm(base, { recursive: true, force: true });
  }
}
