// The containers list with search, state filter, multi-select and bulk actions, and the
// selected container's detail beside it. Keyboard: ↑/↓ select, S start/stop, P pause/resume,
// R restart, Delete remove.
import { useMemo, type CSSProperties, type KeyboardEvent } from 'react';
import type { Pulse } from '../../components/useNow.ts';
import { useShallow } from 'zustand/react/shallow';
import { SplitDivider, useListShare } from '../../components/SplitDivider.tsx';
import { VirtualList } from '../../components/VirtualList.tsx';
import { useApp, useAppStore } from '../../store/context.tsx';
import { listItems, visibleContainers, type AppState, type ContainerSort } from '../../store/appStore.ts';
import { ContainerDetail } from './ContainerDetail.tsx';
import { ContainerRow, countsSeconds, ListClock } from './ContainerRow.tsx';
import { ProjectRow } from './ProjectRow.tsx';

const ROW = 34;

export function ContainersView() {
  const { containers, filter, sort, collapsed, loaded, selected, checked } = useApp(useShallow((s) => ({
    containers: s.containers, filter: s.filter, sort: s.sort, collapsed: s.collapsed, loaded: s.containersLoaded, selected: s.selected, checked: s.checked,
  })));
  const a = useApp(useShallow((s) => ({
    setFilter: s.setFilter, sortBy: s.sortBy, select: s.select, act: s.containerAction, remove: s.removeContainers, checkAll: s.checkAll, openCreate: s.openCreate,
  })));
  const list = useMemo(() => visibleContainers({ containers, filter, sort }), [containers, filter, sort]);
  const items = useMemo(() => listItems(list, collapsed), [list, collapsed]);
  /** the containers with a row on screen, in list order: what ↑/↓ move through */
  const shown = useMemo(() => items.flatMap((it) => (it.kind === 'container' ? [it.c] : [])), [items]);
  const column = (key: ContainerSort['key'], label: string, className: string) => (
    <span className={`cell ${className}`} role="columnheader" aria-sort={sort.key !== key ? 'none' : sort.desc ? 'descending' : 'ascending'}>
      <button className="sort" onClick={() => a.sortBy(key)} title={`sort by ${label.toLowerCase()}`}>
        {label}{sort.key === key && <span aria-hidden="true">{sort.desc ? ' ▾' : ' ▴'}</span>}
      </button>
    </span>
  );
  const checkedIds = Object.keys(checked).filter((id) => containers[id]);
  const total = Object.keys(containers).length;
  const store = useAppStore();
  const statsPulse = useMemo<Pulse>(() => (l) => store.stats.subscribe(l), [store]);
  const share = useListShare();
  const detail = !!selected && !!containers[selected];

  const onKey = (e: KeyboardEvent) => {
    if ((e.target as HTMLElement).tagName === 'INPUT') return;
    const i = shown.findIndex((c) => c.id === selected);
    const c = shown[i];
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = shown[Math.min(shown.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))];
      if (next) a.select(next.id);
    } else if (c && (e.key === 's' || e.key === 'S')) void a.act(c.state === 'running' ? 'stop' : 'start', [c.id]);
    else if (c && (e.key === 'p' || e.key === 'P')) void a.act(c.state === 'paused' ? 'unpause' : 'pause', [c.id]);
    else if (c && (e.key === 'r' || e.key === 'R')) void a.act('restart', [c.id]);
    else if (c && e.key === 'Delete') a.remove([c.id]);
    else if (e.key === 'Escape') a.select(undefined);
  };

  return (
    <div className={`split${detail ? ' with-detail' : ''}`} style={{ '--list': `${share}%` } as CSSProperties}>
      <section className="list-pane" onKeyDown={onKey} tabIndex={0} aria-label="containers">
        <header className="toolbar">
          <h1>Containers</h1>
          <input
            className="search" type="search" placeholder="Search name, image, id, label" aria-label="search containers"
            value={filter.text} onChange={(e) => a.setFilter({ text: e.target.value })}
          />
          <select aria-label="state filter" value={filter.state} onChange={(e) => a.setFilter({ state: e.target.value as AppState['filter']['state'] })}>
            <option value="all">All states</option>
            <option value="running">Running</option>
            <option value="paused">Paused</option>
            <option value="exited">Exited</option>
            <option value="created">Created</option>
          </select>
          <span className="spacer" />
          {checkedIds.length > 0 && (
            <span className="bulk" aria-label="bulk actions">
              <span>{checkedIds.length} selected</span>
              <button onClick={() => a.act('start', checkedIds)}>Start</button>
              <button onClick={() => a.act('stop', checkedIds)}>Stop</button>
              <button onClick={() => a.act('restart', checkedIds)}>Restart</button>
              <button className="danger" onClick={() => a.remove(checkedIds)}>Remove</button>
            </span>
          )}
          <button className="primary" onClick={() => a.openCreate()}>Run a container</button>
        </header>
        <div className="row head" role="row">
          <span className="cell check">
            <input type="checkbox" aria-label="select all" checked={list.length > 0 && checkedIds.length === list.length} onChange={(e) => a.checkAll(list.map((c) => c.id), e.target.checked)} />
          </span>
          {column('state', 'State', 'state-cell')}
          {column('name', 'Name', 'name')}
          {column('image', 'Image', 'image')}
          {column('status', 'Status', 'status')}
          <span className="cell ports">Ports</span>
          <span className="cell spark-cell">CPU</span>
          <span className="cell spark-cell mem">Memory</span>
          <span className="cell actions" />
        </div>
        {!loaded ? (
          <div className="skeleton" aria-busy="true">{Array.from({ length: 6 }, (_, i) => <div key={i} className="row skeleton-row" />)}</div>
        ) : total === 0 ? (
          <div className="empty">
            <p>No containers yet.</p>
            <button className="primary" onClick={() => a.openCreate('hello-world')}>Run hello-world</button>
          </div>
        ) : list.length === 0 ? (
          <div className="empty"><p>No container matches this filter.</p><button onClick={() => a.setFilter({ text: '', state: 'all' })}>Clear filter</button></div>
        ) : (
          <ListClock seconds={list.some((c) => countsSeconds(c, Date.now()))} pulse={statsPulse}>
            <VirtualList
              items={items} rowHeight={ROW} testId="container-list"
              render={(it) => it.kind === 'group'
                ? <ProjectRow key={`project:${it.project}`} project={it.project} members={it.members} open={it.open} checked={it.members.every((m) => checked[m.id])} />
                : <ContainerRow key={it.c.id} c={it.c} grouped={it.grouped} selected={it.c.id === selected} checked={!!checked[it.c.id]} />}
            />
          </ListClock>
        )}
      </section>
      {detail && <SplitDivider label="resize the containers list" />}
      {detail && <ContainerDetail id={selected} />}
    </div>
  );
}
