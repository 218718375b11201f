// A snapshotter without mounts: the rootfs is a plain directory holding copies of the lower
// layers, written in place (so it is its own upper dir). Passes the snapshotter conformance suite.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Snapshot, Snapshotter } from '../layers/snapshotter.ts';

export class FakeSnapshotter implements Snapshotter {
  private readonly mounted = new Set<string>();

  constructor(private readonly root: string) {}

  mount(id: string, lowers: string[]): Snapshot {
    const rootfs = `${this.root}/${id}/merged`;
    if (!existsSync(rootfs)) {
      mkdirSync(rootfs, { recursive: true });
      for (const l of lowers) cpSync(l, rootfs, { recursive: true, verbatimSymlinks: true });
    }
    this.mounted.add(id);
    return { rootfs, upper: rootfs };
  }

  /** Its files are never synced anyway. */
  volatile(id: string): void {
    mkdirSync(`${this.root}/${id}`, { recursive: true });
  }

  isMounted(id: string): boolean {
    return this.mounted.has(id);
  }

  unmount(id: string): void {
    this.mounted.delete(id);
  }

  async remove(id: string): Promise<void> {
    this.unmount(id);
    rmSync(`${this.root}/${id}`, { recursive: true, force: true });
  }
}
