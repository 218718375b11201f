// State as a dot and a word, never colour alone.
import type { ContainerStatus } from '../../common/models.ts';
import type { ContainerSummary } from '../../common/views.ts';

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

const HEALTH_WORD = { starting: 'health: starting', healthy: 'healthy', unhealthy: 'unhealthy' } as const;

/** A running container's health check, as `docker ps` words it; the last result on hover. */
export function HealthBadge({ health }: { health: ContainerSummary['health'] }) {
  if (!health) return null;
  const last = health.lastExitCode === undefined ? 'no check has run yet'
    : `last check: exit ${health.lastExitCode}${health.lastOutput ? ` — ${health.lastOutput}` : ''}`;
  return (
    <span className={`health health-${health.status}`} data-health={health.status} title={last}>
      {HEALTH_WORD[health.status]}
    </span>
  );
}
