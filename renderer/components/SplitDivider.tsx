// The border between a list and its detail pane, draggable with the mouse and movable with the
// arrow keys (Home/End for the limits, Enter or a double-click to reset). The list's share of
// the width is one setting for every split view, kept across restarts.
import { useSyncExternalStore, type KeyboardEvent, type PointerEvent } from 'react';

const KEY = 'berth.listShare';
const LIST_SHARE = { initial: 44, min: 20, max: 75, step: 2 };

const listeners = new Set<() => void>();
let share = read();

function read(): number {
  const v = Number(globalThis.localStorage?.getItem(KEY));
  return Number.isFinite(v) && v >= LIST_SHARE.min && v <= LIST_SHARE.max ? v : LIST_SHARE.initial;
}

function setShare(v: number, persist: boolean): void {
  share = Math.round(Math.min(LIST_SHARE.max, Math.max(LIST_SHARE.min, v)) * 10) / 10;
  if (persist) localStorage.setItem(KEY, String(share));
  for (const l of listeners) l();
}

/** The list's share of the split, in percent, for the split's `--list` style. */
export function useListShare(): number {
  return useSyncExternalStore((l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  }, () => share);
}

export function SplitDivider({ label }: { label: string }) {
  const value = useListShare();
  const at = (e: PointerEvent<HTMLDivElement>) => {
    const box = e.currentTarget.parentElement!.getBoundingClientRect();
    return ((e.clientX - box.left) / box.width) * 100;
  };
  const onKey = (e: KeyboardEvent) => {
    const to = {
      ArrowLeft: value - LIST_SHARE.step, ArrowRight: value + LIST_SHARE.step,
      Home: LIST_SHARE.min, End: LIST_SHARE.max, Enter: LIST_SHARE.initial,
    }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    setShare(to, true);
  };
  return (
    <div
      className="split-divider" role="separator" aria-orientation="vertical" aria-label={label} tabIndex={0}
      aria-valuenow={value} aria-valuemin={LIST_SHARE.min} aria-valuemax={LIST_SHARE.max}
      title="Drag to resize; double-click to reset"
      onKeyDown={onKey}
      onDoubleClick={() => setShare(LIST_SHARE.initial, true)}
      // A drag is the pointer captured by the divider; the capture ends after pointerup/cancel.
      onPointerDown={(e) => e.button === 0 && e.currentTarget.setPointerCapture(e.pointerId)}
      onPointerMove={(e) => e.currentTarget.hasPointerCapture(e.pointerId) && setShare(at(e), false)}
      onPointerUp={(e) => e.currentTarget.hasPointerCapture(e.pointerId) && setShare(at(e), true)}
      onPointerCancel={() => setShare(share, true)}
    />
  );
}
