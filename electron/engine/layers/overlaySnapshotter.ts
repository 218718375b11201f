// Overlay snapshotter: rootfs = overlay(lower layers…, per-container upper). The mount is
// made in the engine's mount namespace with mount(2) through koffi (the host's, or a rootless
// engine's own); the helper then binds it into the container's own namespace. Lower lists too
// long for one page of options go through the new mount API, one layer per fsconfig call.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { EngineError } from '../errors.ts';
import { MNT_DETACH, type Libc } from '../sys/libc.ts';
import type { Snapshot, Snapshotter } from './snapshotter.ts';

const PAGE = 4096;

export interface OverlayOptions {
  /**
   * Overlay keeps its own attributes in user.overlay.* instead of trusted.overlay.*: required
   * inside a user namespace (rootless), where trusted.* cannot be written.
   */
  userxattr?: boolean;
}

export class OverlaySnapshotter implements Snapshotter {
  constructor(private readonly root: string, private readonly libc: Libc, private readonly opts: OverlayOptions = {}) {}

  private dir(id: string) {
    const base = `${this.root}/${id}`;
    return { base, upper: `${base}/upper`, work: `${base}/work`, rootfs: `${base}/merged` };
  }

  mount(id: string, lowers: string[]): Snapshot {
    const d = this.dir(id);
    for (const p of [d.upper, d.work, d.rootfs]) mkdirSync(p, { recursive: true });
    if (this.isMounted(id)) return { rootfs: d.rootfs, upper: d.upper };
    // overlay needs one lower at least: an image without layers (a build's FROM scratch) gets an empty one.
    if (!lowers.length) {
      lowers = [`${this.root}/.empty`];
      mkdirSync(lowers[0], { recursive: true });
    }
    // overlay takes the top-most lower first; mount(2)'s option string must fit in one page.
    const top = [...lowers].reverse();
    const options = `lowerdir=${top.join(':')},upperdir=${d.upper},workdir=${d.work},index=off${this.opts.userxattr ? ',userxattr' : ''}`;
    try {
      if (options.length < PAGE) this.libc.mount('overlay', d.rootfs, 'overlay', 0, options);
      else this.libc.overlay(d.rootfs, { lowers: top, upper: d.upper, work: d.work, options: { index: 'off' }, flags: this.opts.userxattr ? ['userxattr'] : [] });
    } catch (e) {
      if (options.length >= PAGE && [22, 38].includes((e as { errno?: number }).errno ?? 0)) {
        throw new EngineError('UNSUPPORTED', `image has too many layers (${lowers.length}) for one overlay mount on this kernel: their paths exceed one page of mount options, and Linux 6.8 or later is needed to pass them one by one`);
      }
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
