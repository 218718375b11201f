// A tiny canvas line drawn from the stats buffers. Nothing runs between samples: a change in
// the buffers queues every visible sparkline for one shared animation frame, so 100 of them cost
// one frame a second, not 100 animation loops at 60 Hz.
import { useEffect, useRef } from 'react';
import { useAppStore } from '../store/context.tsx';
import type { StatsSample } from '../../common/views.ts';

const POINTS = 60;

const queued = new Set<() => void>();
let frame = 0;
/** The stroke colour, read once per frame for all sparklines (getComputedStyle forces style work). */
let colour: string | undefined;

function queue(draw: () => void): void {
  queued.add(draw);
  frame ||= requestAnimationFrame(() => {
    frame = 0;
    colour = undefined;
    const batch = [...queued];
    queued.clear();
    for (const d of batch) d();
  });
}

export function Sparkline({ id, metric, max, label }: { id: string; metric: (s: StatsSample) => number; max?: (s: StatsSample) => number; label: (s: StatsSample | undefined) => string }) {
  const store = useAppStore();
  const canvas = useRef<HTMLCanvasElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const draw = () => {
      const c = canvas.current;
      const ctx = c?.getContext('2d');
      if (!c || !ctx) return;
      const samples = store.stats.get(id).slice(-POINTS);
      if (text.current) text.current.textContent = label(samples.at(-1));
      ctx.clearRect(0, 0, c.width, c.height);
      if (samples.length < 2) return;
      const top = Math.max(1e-9, ...samples.map((s) => (max ? max(s) : metric(s))), max ? 0 : 1);
      ctx.beginPath();
      samples.forEach((s, i) => {
        const x = ((i + POINTS - samples.length) / (POINTS - 1)) * c.width;
        const y = c.height - 1 - (metric(s) / top) * (c.height - 2);
        if (i) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
      });
      colour ??= getComputedStyle(c).color;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.stroke();
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
      <canvas ref={canvas} width={60} height={18} data-spark={id} />
      <span ref={text} className="spark-value" />
    </span>
  );
}
