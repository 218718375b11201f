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

export function Sparkline({ id, metric, max, label }: { id: string; metric: (s: StatsSample) => number; max?: (s: StatsSample) => number; label: (s: StatsSample | undefined) => string }) {
  const store = useAppStore();
  const line = useRef<SVGPolylineElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const draw = () => {
      const samples = store.stats.get(id).slice(-POINTS);
      if (text.current) text.current.textContent = label(samples.at(-1));
      if (!line.current) return;
      if (samples.length < 2) return void line.current.setAttribute('points', '');
      const top = Math.max(1e-9, ...samples.map((s) => (max ? max(s) : metric(s))), max ? 0 : 1);
      const points = samples.map((s, i) => {
        const x = ((i + POINTS - samples.length) / (POINTS - 1)) * W;
        const y = H - 1 - (metric(s) / top) * (H - 2);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      line.current.setAttribute('points', points.join(' '));
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
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} data-spark={id} aria-hidden="true">
        <polyline ref={line} fill="none" stroke="currentColor" strokeWidth={1.5} strokeLinejoin="round" />
      </svg>
      <span ref={text} className="spark-value" />
    </span>
  );
}
