// Live graphs for one container: CPU %, memory with its limit, network and block I/O rates
// and pids over the last 15 minutes, with OOM kills and restarts marked on the time axis.
// uPlot draws; data comes from the stats buffers on animation frames, never through React.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import type { StatsMark, StatsSample } from '../../../common/views.ts';
import { humanSize } from '../../format.ts';
import { useAppStore } from '../../store/context.tsx';
import { hasLimit } from '../../components/icons.tsx';

interface ChartDef {
  key: string;
  title: string;
  series: { label: string; value: (s: StatsSample) => number | null; color: string; dash?: number[] }[];
  fmt: (v: number) => string;
}

const rate = (v: number) => `${humanSize(v)}/s`;
const CHARTS: ChartDef[] = [
  { key: 'cpu', title: 'CPU', fmt: (v) => `${v.toFixed(1)}%`, series: [{ label: 'CPU %', value: (s) => s.cpuPercent, color: '#3b82f6' }] },
  {
    key: 'mem', title: 'Memory', fmt: humanSize, series: [
      { label: 'used', value: (s) => s.memory, color: '#8b5cf6' },
      { label: 'limit', value: (s) => (hasLimit(s) ? s.memoryLimit : null), color: '#ef4444', dash: [6, 4] },
    ],
  },
  {
    key: 'net', title: 'Network', fmt: rate, series: [
      { label: 'rx', value: (s) => s.rxRate, color: '#10b981' }, { label: 'tx', value: (s) => s.txRate, color: '#f59e0b' },
    ],
  },
  {
    key: 'blk', title: 'Block I/O', fmt: rate, series: [
      { label: 'read', value: (s) => s.blkReadRate, color: '#06b6d4' }, { label: 'write', value: (s) => s.blkWriteRate, color: '#ec4899' },
    ],
  },
  { key: 'pids', title: 'PIDs', fmt: (v) => String(Math.round(v)), series: [{ label: 'pids', value: (s) => s.pids, color: '#64748b' }] },
];
const MARK_COLORS: Record<StatsMark['kind'], string> = { oom: '#ef4444', restart: '#f59e0b', start: '#10b981', die: '#94a3b8' };

export function StatsView({ id }: { id: string }) {
  const store = useAppStore();
  const [latest, setLatest] = useState<StatsSample | undefined>(store.stats.latest(id));
  const hosts = useRef<(HTMLDivElement | null)[]>([]);
  useEffect(() => {
    void store.getState().statsHistory(id).then((r) => r.ok && store.stats.seed(id, r.value.samples, r.value.marks));
    const plots = CHARTS.map((def, i) => new uPlot({
      width: hosts.current[i]?.clientWidth || 400, height: 140, legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, def.key === 'cpu' ? 5 : 1)] } },
      axes: [{ stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,.15)' } }, { stroke: 'currentColor', size: 70, values: (_u, vals) => vals.map(def.fmt), grid: { stroke: 'rgba(128,128,128,.15)' } }],
      series: [{}, ...def.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, points: { show: false }, dash: s.dash, value: (_u: uPlot, v: number | null) => (v == null ? '—' : def.fmt(v)) }))],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          for (const m of store.stats.marksOf(id)) {
            const x = u.valToPos(m.t / 1000, 'x', true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.save();
            ctx.strokeStyle = MARK_COLORS[m.kind];
            ctx.fillStyle = MARK_COLORS[m.kind];
            ctx.lineWidth = 2;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.font = '11px system-ui';
            ctx.fillText(m.kind, x + 3, u.bbox.top + 12);
            ctx.restore();
          }
        }],
      },
    }, [[], ...def.series.map(() => [])], hosts.current[i] as HTMLDivElement));
    let raf = 0;
    let lastLatest = 0;
    // Drawn on the frame after a change, not on every frame.
    const frame = () => {
      raf = 0;
      const samples = store.stats.get(id);
      const xs = samples.map((s) => s.t / 1000);
      CHARTS.forEach((def, i) => plots[i].setData([xs, ...def.series.map((sd) => samples.map(sd.value))] as uPlot.AlignedData));
      const last = samples.at(-1);
      if (last && last.t !== lastLatest) {
        lastLatest = last.t;
        setLatest(last);
      }
    };
    raf = requestAnimationFrame(frame);
    const off = store.stats.subscribe(() => void (raf ||= requestAnimationFrame(frame)));
    const ro = new ResizeObserver(() => plots.forEach((p, i) => p.setSize({ width: hosts.current[i]?.clientWidth || 400, height: 140 })));
    for (const h of hosts.current) if (h) ro.observe(h);
    return () => {
      off();
      cancelAnimationFrame(raf);
      ro.disconnect();
      plots.forEach((p) => p.destroy());
    };
  }, [store, id]);
  return (
    <div className="stats">
      <div className="stat-tiles" data-testid="stat-tiles">
        <Tile label="CPU" value={latest ? `${latest.cpuPercent.toFixed(1)}%` : '—'} />
        <Tile label="Memory" value={latest ? `${humanSize(latest.memory)}${hasLimit(latest) ? ` / ${humanSize(latest.memoryLimit)}` : ''}` : '—'} />
        <Tile label="Net rx/tx" value={latest ? `${humanSize(latest.rxBytes)} / ${humanSize(latest.txBytes)}` : '—'} />
        <Tile label="Block r/w" value={latest ? `${humanSize(latest.blkRead)} / ${humanSize(latest.blkWrite)}` : '—'} />
        <Tile label="PIDs" value={latest ? String(latest.pids) : '—'} />
      </div>
      {CHARTS.map((def, i) => (
        <figure key={def.key} className="chart" data-chart={def.key}>
          <figcaption>{def.title}</figcaption>
          <div ref={(el) => { hosts.current[i] = el; }} />
        </figure>
      ))}
    </div>
  );
}

function Tile({ label, value }: { label: string; value: string }) {
  return <div className="tile"><span className="muted">{label}</span><strong>{value}</strong></div>;
}
