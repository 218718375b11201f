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
  /** Unmounts and deletes the writable layer. */
  remove(id: string): Promise<void>;
}
