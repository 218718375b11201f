// Display helpers for the UI, built on the shared formatters.
import { humanDuration, humanSize, shortId } from '../common/format.ts';

export { humanDuration, humanSize, shortId };

/** "5 minutes ago" from an ISO time, relative to now. */
export function ago(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return '';
  return `${humanDuration(now - t)} ago`;
}
