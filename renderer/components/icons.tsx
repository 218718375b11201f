// Small inline icons (no icon font, no emoji that a system may lack) and shared display rules.
import type { StatsSample } from '../../common/views.ts';

export function TrashIcon() {
  return (
    <svg className="icon" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M3 6h18M8 6V4h8v2M6 6l1 14h10l1-14M10 11v6M14 11v6" />
    </svg>
  );
}

/** A memory limit worth drawing: cgroups report "none" as 0 or as a huge number. */
export const hasLimit = (s: StatsSample) => s.memoryLimit > 0 && s.memoryLimit < 2 ** 60;
