// A compose project in the containers list: fold or unfold its containers, how many run, the
// ports they publish, and start, stop, restart or remove them all at once.
import { memo } from 'react';
import type { ContainerSummary } from '../../../common/views.ts';
import { PortLink } from '../../components/PortLink.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { TrashIcon } from '../../components/icons.tsx';
import { useApp } from '../../store/context.tsx';

export const ProjectRow = memo(function ProjectRow({ project, members, open, checked }: { project: string; members: ContainerSummary[]; open: boolean; checked: boolean }) {
  const toggle = useApp((s) => s.toggleProject);
  const setChecked = useApp((s) => s.setChecked);
  const act = useApp((s) => s.containerAction);
  const remove = useApp((s) => s.removeContainers);
  const ids = members.map((c) => c.id);
  const running = members.filter((c) => c.state === 'running' || c.state === 'paused');
  const ports = members.flatMap((c) => c.ports.filter((p) => p.publicPort));
  return (
    <div className="row group" role="row" aria-expanded={open} data-project={project} onClick={() => toggle(project)}>
      <span className="cell check" onClick={(e) => e.stopPropagation()}>
        <input type="checkbox" aria-label={`select ${project}`} checked={checked} onChange={() => setChecked(ids, !checked)} />
      </span>
      <span className="cell state-cell">
        <StateBadge state={running.length ? 'running' : 'exited'} label={running.length ? `${running.length}/${members.length} up` : 'stopped'} />
      </span>
      <span className="cell name">
        <button className="fold" aria-label={`${open ? 'fold' : 'unfold'} ${project}`} onClick={(e) => { e.stopPropagation(); toggle(project); }}>{open ? '▾' : '▸'}</button>
        <strong>{project}</strong>
        <small className="muted">{members.length} {members.length === 1 ? 'container' : 'containers'}</small>
      </span>
      <span className="cell image muted">compose</span>
      <span className="cell status" />
      <span className="cell ports" onClick={(e) => e.stopPropagation()}>
        {ports.map((p) => <PortLink key={`${p.ip}:${p.publicPort}/${p.type}`} port={p} short />)}
      </span>
      <span className="cell spark-cell" />
      <span className="cell spark-cell mem" />
      <span className="cell actions" onClick={(e) => e.stopPropagation()}>
        {running.length > 0
          ? <button title="Stop all" aria-label={`stop ${project}`} onClick={() => act('stop', running.map((c) => c.id))}>■</button>
          : <button title="Start all" aria-label={`start ${project}`} onClick={() => act('start', ids)}>▶</button>}
        <button className="secondary" title="Restart all" aria-label={`restart ${project}`} onClick={() => act('restart', ids)}>↻</button>
        <button title="Remove all" aria-label={`remove ${project}`} className="danger secondary" onClick={() => remove(ids)}><TrashIcon /></button>
      </span>
    </div>
  );
});
