// Activity: long jobs (pull, push, prune) with their progress, and the engine's recent events.
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

export function activitySlice({ call }: SliceContext): Pick<AppState, 'jobs' | 'events'> & Pick<Actions, 'cancelJob'> {
  return {
    jobs: {},
    events: [],
    async cancelJob(jobId) {
      await call('jobs.cancel', { jobId });
    },
  };
}
