// One container in the list: state, name, image, uptime, ports, live CPU and memory, actions.
import { createContext, memo, useContext, type ReactNode } from 'react';
import { useNow, type Pulse } from '../../components/useNow.ts';
import type { ContainerSummary, StatsSample } from '../../../common/views.ts';
import { ago, humanDuration, humanSize, shortId } from '../../format.ts';
import { Sparkline } from '../../components/Sparkline.tsx';
import { PortLink } from '../../components/PortLink.tsx';
import { HealthBadge, StateBadge } from '../../components/StateBadge.tsx';
import { useApp } from '../../store/context.tsx';
import { hasLimit, TrashIcon } from '../../components/icons.tsx';

const cpu = (s: StatsSample) => s.cpuPercent;
const cpuLabel = (s: StatsSample | undefined) => (s ? `${s.cpuPercent.toFixed(1)}%` : '');
const mem = (s: StatsSample) => s.memory;
const memMax = (s: StatsSample) => (hasLimit(s) ? s.memoryLimit : s.memory);
const memLabel = (s: StatsSample | undefined) => (s ? humanSize(s.memory) : '');

export function statusLine(c: ContainerSummary, now = Date.now()): string {
  if (c.state === 'running') return `Up ${humanDuration(now - Date.parse(c.startedAt))}`;
  if (c.state === 'paused') return `Up ${humanDuration(now - Date.parse(c.startedAt))} (paused)`;
  if (c.state === 'exited') return `Exited (${c.exitCode}) ${ago(c.finishedAt, now)}`;
  return c.state === 'created' ? 'Created' : c.state;
}

/** Whether the status line counts seconds ("Up 12 seconds", "Exited (0) 5 seconds ago"). */
export function countsSeconds(c: ContainerSummary, now: number): boolean {
  if (c.state === 'created' || c.state === 'dead') return false;
  return now - Date.parse(c.state === 'exited' ? c.finishedAt : c.startedAt) < 59_500;
}

/** The list's clock. Only the status lines read it, so a tick redraws them and not whole rows. */
const NowContext = createContext(0);

export function ListClock({ seconds, pulse, children }: { seconds: boolean; pulse: Pulse; children: ReactNode }) {
  return <NowContext.Provider value={useNow(seconds, pulse)}>{children}</NowContext.Provider>;
}

function StatusLine({ c }: { c: ContainerSummary }) {
  return <span className="contained">{statusLine(c, useContext(NowContext))}</span>;
}

export const ContainerRow = memo(function ContainerRow({ c, selected, checked, grouped = false }: { c: ContainerSummary; selected: boolean; checked: boolean; grouped?: boolean }) {
  const select = useApp((s) => s.select);
  const toggle = useApp((s) => s.toggleCheck);
  const act = useApp((s) => s.containerAction);
  const remove = useApp((s) => s.removeContainers);
  const live = c.state === 'running' || c.state === 'paused';
  return (
    <div
      className={`row${selected ? ' selected' : ''}${grouped ? ' grouped' : ''}`} role="row" aria-selected={selected} data-name={c.name} tabIndex={-1}
      onClick={() => select(c.id)}
    >
      <span className="cell check" onClick={(e) => e.stopPropagation()}>
        <input type="checkbox" aria-label={`select ${c.name}`} checked={checked} onChange={() => toggle(c.id)} />
      </span>
      <span className="cell state-cell"><StateBadge state={c.state} oom={c.oomKilled && c.state === 'exited'} /><HealthBadge health={c.health} /></span>
      <span className="cell name" title={c.id}>
        <strong>{c.name}</strong>
        <code className="id" onClick={(e) => { e.stopPropagation(); void navigator.clipboard?.writeText(c.id); }} title="copy id">{shortId(c.id)}</code>
      </span>
      <span className="cell image" title={c.image}>{c.image}</span>
      <span className="cell status" title={c.state === 'exited' ? c.finishedAt : c.startedAt}><StatusLine c={c} /></span>
      <span className="cell ports">
        {c.ports.filter((p) => p.publicPort).map((p) => <PortLink key={`${p.ip}:${p.publicPort}/${p.type}`} port={p} short />)}
      </span>
      <span className="cell spark-cell">{live && <Sparkline id={c.id} metric={cpu} label={cpuLabel} />}</span>
      <span className="cell spark-cell mem">{live && <Sparkline id={c.id} metric={mem} max={memMax} label={memLabel} />}</span>
      <span className="cell actions" onClick={(e) => e.stopPropagation()}>
        {c.state === 'running' && <button title="Stop (S)" aria-label={`stop ${c.name}`} onClick={() => act('stop', [c.id])}>■</button>}
        {c.state === 'running' && <button className="secondary" title="Pause (P)" aria-label={`pause ${c.name}`} onClick={() => act('pause', [c.id])}>❚❚</button>}
        {c.state === 'paused' && <button title="Resume (P)" aria-label={`resume ${c.name}`} onClick={() => act('unpause', [c.id])}>▶</button>}
        {(c.state === 'exited' || c.state === 'created') && <button title="Start (S)" aria-label={`start ${c.name}`} onClick={() => act('start', [c.id])}>▶</button>}
        <button className="secondary" title="Restart (R)" aria-label={`restart ${c.name}`} onClick={() => act('restart', [c.id])}>↻</button>
        <button title="Remove (Delete)" aria-label={`remove ${c.name}`} className="danger secondary" onClick={() => remove([c.id])}><TrashIcon /></button>
      </span>
    </div>
  );
});
