// Overlay snapshotter: rootfs = overlay(lower layers…, per-container upper). The mount is
// made in the engine's mount namespace with mount(2) through koffi (the host's, or a rootless
// engine's own); the helper then binds it into the container's own namespace. Lower lists too
// long for one page of options go through the new mount API, one layer per fsconfig call.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { conflict, EngineError } from '../errors.ts';
import { MNT_DETACH, type Libc } from '../sys/libc.ts';
import type { Snapshot, Snapshotter } from './snapshotter.ts';

const PAGE = 4096;
const EINVAL = 22;

/** Changes with every boot of the host (or of the VM the engine runs in). */
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

export interface OverlayOptions {
  /**
   * Overlay keeps its own attributes in user.overlay.* instead of trusted.overlay.*: required
   * inside a user namespace (rootless), where trusted.* cannot be written.
   */
  userxattr?: boolean;
}

export class OverlaySnapshotter implements Snapshotter {
  /** Linux before 5.10 has no volatile overlay: such layers are then mounted as any other. */
  private volatileWorks = true;

  constructor(private readonly root: string, private readonly libc: Libc, private readonly opts: OverlayOptions = {}) {}

  private dir(id: string) {
    const base = `${this.root}/${id}`;
    // `volatile` holds the boot the layer was last mounted in; the kernel marks a work dir it
    // mounted volatile with work/incompat/volatile and refuses to mount it again while that is there.
    return { base, upper: `${base}/upper`, work: `${base}/work`, rootfs: `${base}/merged`, volatile: `${base}/volatile`, marked: `${base}/work/work/incompat` };
  }

  volatile(id: string): void {
    const d = this.dir(id);
    mkdirSync(d.base, { recursive: true });
    writeFileSync(d.volatile, bootId());
  }

  /**
   * Whether id's layer is volatile, after clearing the kernel's mark of its last mount: its files
   * are intact in the same boot (the page cache holds what was not written), not after a restart.
   */
  private volatileMount(id: string): boolean {
    const d = this.dir(id);
    if (!existsSync(d.volatile)) return false;
    const boot = bootId();
    if (existsSync(d.marked)) {
      if (readFileSync(d.volatile, 'utf8').trim() !== boot) {
        throw conflict(`the file system of container ${id.slice(0, 12)} was never synced to disk (a build's container) and the host restarted since it was mounted, so its files may be torn: remove the container`);
      }
      rmSync(d.marked, { recursive: true, force: true });
    }
    writeFileSync(d.volatile, boot);
    return this.volatileWorks;
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
    const volatile = this.volatileMount(id);
    const errno = (e: unknown) => (e as { errno?: number }).errno ?? 0;
    try {
      try {
        this.mountOverlay(d, lowers, volatile);
      } catch (e) {
        // A kernel without volatile overlays (before 5.10) says EINVAL: mounted as any other then.
        if (!volatile || errno(e) !== EINVAL) throw e;
        this.mountOverlay(d, lowers, false);
        this.volatileWorks = false;
      }
    } catch (e) {
      if ((e as { byOne?: boolean }).byOne && [22, 38].includes(errno(e))) {
        throw new EngineError('UNSUPPORTED', `image has too many layers (${lowers.length}) for one overlay mount on this kernel: their paths exceed one page of mount options, and Linux 6.8 or later is needed to pass them one by one`);
      }
      throw new EngineError('INTERNAL', `mount overlay rootfs for ${id.slice(0, 12)}: ${(e as Error).message}`, { stage: 'rootfs', errno: errno(e) });
    }
    return { rootfs: d.rootfs, upper: d.upper };
  }

  /** Mounts the overlay; an error says `byOne` when the lowers went one by one (too long for one page of options). */
  private mountOverlay(d: ReturnType<OverlaySnapshotter['dir']>, lowers: string[], volatile: boolean): void {
    // overlay takes the top-most lower first; mount(2)'s option string must fit in one page.
    const top = [...lowers].reverse();
    const flags = [...(this.opts.userxattr ? ['userxattr'] : []), ...(volatile ? ['volatile'] : [])];
    const options = `lowerdir=${top.join(':')},upperdir=${d.upper},workdir=${d.work},index=off${flags.map((f) => `,${f}`).join('')}`;
    if (options.length < PAGE) {
      this.libc.mount('overlay', d.rootfs, 'overlay', 0, options);
      return;
    }
    try {
      this.libc.overlay(d.rootfs, { lowers: top, upper: d.upper, work: d.work, options: { index: 'off' }, flags });
    } catch (e) {
      throw Object.assign(e as Error, { byOne: true });
    }
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
