// What the builder runs with: the request plus the extracted context and its Dockerfile.
import type { BuildRequest } from '../../../common/build.ts';
import type { ContextTree } from './contextTree.ts';

export type { BuildOutput } from '../../../common/build.ts';

export interface BuildOptions extends Omit<BuildRequest, 'dockerfile' | 'platform' | 'context'> {
  /** the context as it arrived, indexed */
  context: ContextTree;
  /** a directory of the build's own (bind mount copies) */
  workDir: string;
  dockerfileText: string;
  dockerfileName: string;
}
