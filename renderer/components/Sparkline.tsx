// A tiny SVG line drawn from the stats buffers. Nothing runs between samples: a change in
// the buffers queues every visible sparkline for one shared animation frame, so 100 of them cost
// one frame a second, not 100 animation loops at 60 Hz. SVG, not canvas: a canvas is a separate
// surface the compositor takes in on every redraw (about 0.4 ms each without a GPU, so a screen
// of rows cost 25 ms per frame), while a polyline's points are painted with the rest of the row.
import { useEffect, useRef } from 'react';
import { useAppStore } from '../store/context.tsx';
import type { StatsSample } from '../../common/views.ts';

const POINTS = 60;
const W = 60;
const H = 18;

const queued = new Set<() => void>();
let frame = 0;

function queue(draw: () => void): void {
  queued.add(draw);
  frame ||= requestAnimationFrame(() => {
    frame = 0;
    const batch = [...queued];
    queued.clear();
    for (const d of batch) d();
  });
}

/**
 * The DOM is touched only where a value changed: an idle container's line and label stay as
 * they are, and a new label goes into the existing text node (textContent would replace the
 * node, which makes the browser lay out the whole row again).
 */
function setText(el: HTMLElement, s: string): void {
  const t = el.firstChild;
  if (t instanceof Text && t === el.lastChild) {
    if (t.data !== s) t.data = s;
  } else if (el.textContent !== s) {
    el.textContent = s;
  }
}

function setPoints(line: SVGPolylineElement, points: string): void {
  if (line.getAttribute('points') !== points) line.setAttribute('points', points);
}

export function Sparkline({ id, metric, max, label }: { id: string; metric: (s: StatsSample) => number; max?: (s: StatsSample) => number; label: (s: StatsSample | undefined) => string }) {
  const store = useAppStore();
  const line = useRef<SVGPolylineElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const draw = () => {
      const samples = store.stats.get(id).slice(-POINTS);
      if (text.current) setText(text.current, label(samples.at(-1)));
      if (!line.current) return;
      if (samples.length < 2) return void setPoints(line.current, '');
      const top = Math.max(1e-9, ...samples.map((s) => (max ? max(s) : metric(s))), max ? 0 : 1);
      const points = samples.map((s, i) => {
        const x = ((i + POINTS - samples.length) / (POINTS - 1)) * W;
        const y = H - 1 - (metric(s) / top) * (H - 2);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      setPoints(line.current, points.join(' '));
    };
    queue(draw);
    const off = store.stats.subscribe(() => queue(draw));
    return () => {
      off();
      queued.delete(draw);
    };
  }, [store, id, metric, max, label]);
  return (
    <span className="spark">
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" data-spark={id} aria-hidden="true">
        <polyline ref={line} fill="none" stroke="currentColor" strokeWidth={1.5} strokeLinejoin="round" vectorEffect="non-scaling-stroke" />
      </svg>
      <span ref={text} className="spark-value" />
    </span>
  );
}
