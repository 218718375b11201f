// What the builder runs with: the request plus the extracted context and its Dockerfile.
import type { BuildRequest } from '../../../common/build.ts';

export type { BuildOutput } from '../../../common/build.ts';

export interface BuildOptions extends Omit<BuildRequest, 'dockerfile' | 'platform'> {
  /** the extracted context */
  contextDir: string;
  dockerfileText: string;
  dockerfileName: string;
}
