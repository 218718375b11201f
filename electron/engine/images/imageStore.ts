// The image store seam the engine runs containers from. The registry client, save/load
// and the content-addressed blob store extend the implementation behind this interface.
import type { Readable } from 'node:stream';
import type { HealthConfig } from '../../../common/models.ts';

export interface ImageRuntimeConfig {
  OnBuild?: string[] | null;
  Shell?: string[] | null;
  ArgsEscaped?: boolean;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
}

/** The OCI image configuration (application/vnd.oci.image.config.v1+json). */
export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  author?: string;
  config: ImageRuntimeConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export interface Image {
  /** sha256:<hex> of the config */
  id: string;
  repoTags: string[];
  /** repo@sha256:… of the manifests it was pulled by or pushed as */
  repoDigests: string[];
  config: ImageConfig;
  /** diff ids with their unpacked sizes, bottom first */
  layers: { diffId: string; size: number }[];
  /** unpacked layer directories, bottom first */
  layerDirs: string[];
  size: number;
  created: string;
  /** when a name was last put on it (ISO), if ever */
  lastTagTime?: string;
  /** the image it was built or committed on */
  parent?: string;
}

export interface ImportOptions {
  /** name to tag the new image with */
  ref?: string;
  changes?: ImageRuntimeConfig;
  comment?: string;
  created?: string;
}

export interface ImageStore {
  /** by name (any spelling), full id, or unique id prefix; NOT_FOUND "No such image: x" */
  get(ref: string): Image;
  list(): Image[];
  /** `docker import`: a rootfs tarball (plain or gzip) as a one-layer image */
  importRootfs(tar: Readable, options: ImportOptions): Promise<Image>;
  tag(idOrRef: string, newRef: string): void;
  /** removes a tag, or the image when no tag is left; refuses an image in use unless forced */
  remove(ref: string, options: { force?: boolean; inUse?: (id: string) => boolean }): { untagged: string[]; deleted: string[] };
}
