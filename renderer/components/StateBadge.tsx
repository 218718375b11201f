// State as a dot and a word, never colour alone.
import type { ContainerStatus } from '../../common/models.ts';

export function StateBadge({ state, oom }: { state: ContainerStatus; oom?: boolean }) {
  const cls = oom ? 'error' : state;
  return (
    <span className={`state state-${cls}`} data-state={state}>
      <span className="dot" aria-hidden="true" />
      {oom ? 'OOM killed' : state}
    </span>
  );
}
