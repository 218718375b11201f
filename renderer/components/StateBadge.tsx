// State as a dot and a word, never colour alone.
import type { ContainerStatus } from '../../common/models.ts';

/** `label` replaces the state's word (a compose project's "2/3 up"). */
export function StateBadge({ state, oom, label }: { state: ContainerStatus; oom?: boolean; label?: string }) {
  const cls = oom ? 'error' : state;
  return (
    <span className={`state state-${cls}`} data-state={state}>
      <span className="dot" aria-hidden="true" />
      {label ?? (oom ? 'OOM killed' : state)}
    </span>
  );
}
