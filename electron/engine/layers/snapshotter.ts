// The snapshotter seam: a container's root filesystem from an image's layer directories.

export interface Snapshot {
  /** the mounted root filesystem */
  rootfs: string;
  /** the container's writable layer (for `docker diff` and export) */
  upper: string;
}

export interface Snapshotter {
  /** Mounts lowers (bottom layer first) + a fresh or existing upper dir for id. */
  mount(id: string, lowers: string[]): Snapshot;
  isMounted(id: string): boolean;
  unmount(id: string): void;
  /**
   * Nothing syncs id's writable layer to disk from now on: no sync when it is unmounted, and an
   * fsync inside is a no-op. For a build's containers, whose changes become a layer of their own
   * (written and synced apart) or are thrown away. Such a layer does not outlive a restart of
   * the host: mounting it after one is refused.
   */
  volatile(id: string): void;
  /** Unmounts and deletes the writable layer. */
  remove(id: string): Promise<void>;
}
