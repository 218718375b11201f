// Toasts, the confirmation dialog and the lost-connection banner.
import { useEffect, useRef } from 'react';
import { useApp } from '../store/context.tsx';

export function Toasts() {
  const toasts = useApp((s) => s.toasts);
  const dismiss = useApp((s) => s.dismissToast);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} onClick={() => dismiss(t.id)}>{t.text}</div>
      ))}
    </div>
  );
}

export function ConfirmDialog() {
  const c = useApp((s) => s.confirm);
  const answer = useApp((s) => s.answer);
  const ok = useRef<HTMLButtonElement>(null);
  useEffect(() => ok.current?.focus(), [c]);
  if (!c) return null;
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && answer(false)}>
      <div className="modal confirm" role="alertdialog" aria-labelledby="confirm-title">
        <h2 id="confirm-title">{c.title}</h2>
        <p>{c.body}</p>
        <div className="modal-actions">
          <button onClick={() => answer(false)}>Cancel</button>
          <button ref={ok} className="danger" onClick={() => answer(true)}>{c.action}</button>
        </div>
      </div>
    </div>
  );
}

export function ConnectionBanner() {
  const conn = useApp((s) => s.connection);
  const shown = useApp((s) => s.engines?.find((e) => e.current)?.name);
  const useEngine = useApp((s) => s.useEngine);
  if (conn.state === 'open') return null;
  return (
    <div className={`banner banner-${conn.state}`} role="alert">
      {conn.state === 'connecting' ? 'Connecting to the engine…' : `Lost the connection to the engine — ${conn.detail ?? 'reconnecting…'}`}
      {conn.state === 'lost' && shown && shown !== 'berth' && <button type="button" onClick={() => void useEngine('berth')}>Show Berth's engine</button>}
    </div>
  );
}

/**
 * What this engine cannot do, said once at the top: a rootless engine without delegated cgroups
 * runs containers without limits (the run form's limit fields say so too).
 */
export function LimitsBanner() {
  const info = useApp((s) => s.info);
  const conn = useApp((s) => s.connection.state);
  if (conn !== 'open' || !info || info.limits !== false) return null;
  return (
    <div className="banner banner-info" role="status" data-testid="limits-banner">
      Resource limits are unavailable: {info.limitsReason}. Containers run without memory or CPU limits, and pause is not possible.
    </div>
  );
}
