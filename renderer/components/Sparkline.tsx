// A tiny canvas line drawn from the stats buffers on animation frames, only when they changed.
import { useEffect, useRef } from 'react';
import { useAppStore } from '../store/context.tsx';
import type { StatsSample } from '../../common/views.ts';

const POINTS = 60;

export function Sparkline({ id, metric, max, label }: { id: string; metric: (s: StatsSample) => number; max?: (s: StatsSample) => number; label: (s: StatsSample | undefined) => string }) {
  const store = useAppStore();
  const canvas = useRef<HTMLCanvasElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    let seen = -1;
    let raf = 0;
    const draw = () => {
      raf = requestAnimationFrame(draw);
      if (store.stats.version === seen) return;
      seen = store.stats.version;
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
      ctx.strokeStyle = getComputedStyle(c).color;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    };
    raf = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(raf);
  }, [store, id, metric, max, label]);
  return (
    <span className="spark">
      <canvas ref={canvas} width={60} height={18} data-spark={id} />
      <span ref={text} className="spark-value" />
    </span>
  );
}
