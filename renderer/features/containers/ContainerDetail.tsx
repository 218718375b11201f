// The selected container: overview, logs, terminal, stats and full inspect in tabs.
import { useEffect, useState, type ReactNode } from 'react';
import { humanSize, shortId } from '../../format.ts';
import { PortLink } from '../../components/PortLink.tsx';
import { HealthBadge, StateBadge } from '../../components/StateBadge.tsx';
import { useApp, useAppStore } from '../../store/context.tsx';
import type { DetailTab } from '../../store/appStore.ts';
import { LogsView } from '../logs/LogsView.tsx';
import { StatsView } from '../stats/StatsView.tsx';
import { TerminalPanel } from '../terminal/TerminalPanel.tsx';
import { statusLine } from './ContainerRow.tsx';

const TABS: [DetailTab, string][] = [['overview', 'Overview'], ['logs', 'Logs'], ['terminal', 'Terminal'], ['stats', 'Stats'], ['inspect', 'Inspect']];

export function ContainerDetail({ id }: { id: string }) {
  const c = useApp((s) => s.containers[id]);
  const tab = useApp((s) => s.detailTab);
  const setTab = useApp((s) => s.setTab);
  const select = useApp((s) => s.select);
  const act = useApp((s) => s.containerAction);
  const remove = useApp((s) => s.removeContainers);
  if (!c) return null;
  return (
    <section className="detail-pane" aria-label={`container ${c.name}`}>
      <header className="detail-head">
        <div>
          <h2>{c.name}</h2>
          <StateBadge state={c.state} oom={c.oomKilled && c.state === 'exited'} /> <HealthBadge health={c.health} /> <span className="muted">{statusLine(c)}</span>
        </div>
        <span className="spacer" />
        <div className="detail-actions">
          {c.state === 'running' && <button onClick={() => act('stop', [id])}>Stop</button>}
          {c.state === 'running' && <button onClick={() => act('pause', [id])}>Pause</button>}
          {c.state === 'paused' && <button onClick={() => act('unpause', [id])}>Resume</button>}
          {(c.state === 'exited' || c.state === 'created') && <button onClick={() => act('start', [id])}>Start</button>}
          <button onClick={() => act('restart', [id])}>Restart</button>
          {c.state === 'running' && <button onClick={() => act('kill', [id])}>Kill</button>}
          <button className="danger" onClick={() => remove([id])}>Remove</button>
          <button className="ghost" aria-label="close detail" onClick={() => select(undefined)}>✕</button>
        </div>
      </header>
      <nav className="tabs" role="tablist">
        {TABS.map(([t, label]) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} onClick={() => setTab(t)}>{label}</button>
        ))}
      </nav>
      <div className="tab-body">
        {tab === 'overview' && <Overview id={id} />}
        {tab === 'logs' && <LogsView key={id} id={id} />}
        {tab === 'stats' && <StatsView key={id} id={id} />}
        {tab === 'inspect' && <Inspect key={id} id={id} />}
        {/* Terminals stay mounted across tab switches so sessions survive. */}
        <TerminalPanel id={id} visible={tab === 'terminal'} />
      </div>
    </section>
  );
}

function Overview({ id }: { id: string }) {
  const c = useApp((s) => s.containers[id]);
  const rows: [string, ReactNode][] = [
    ['ID', c.id], ['Image', `${c.image} (${shortId(c.imageId)})`], ['Command', c.command], ['Created', new Date(c.created).toLocaleString()],
    ['Started', c.startedAt && !c.startedAt.startsWith('0001') ? new Date(c.startedAt).toLocaleString() : '—'],
    ['Exit code', c.state === 'exited' ? String(c.exitCode) : '—'], ['Restarts', String(c.restartCount)],
    ['Memory limit', c.memoryLimit ? humanSize(c.memoryLimit) : 'none'], ['TTY', c.tty ? 'yes' : 'no'],
    ['Labels', Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '—'],
    ['Ports', c.ports.length ? <span className="port-list">{c.ports.map((p) => <PortLink key={`${p.ip}:${p.publicPort}:${p.privatePort}/${p.type}`} port={p} />)}</span> : '—'],
  ];
  return (
    <>
      <dl className="facts">
        {rows.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
      </dl>
      <CommitForm id={id} />
    </>
  );
}

/** `docker commit`: the container's changes as a new image, named or not. */
function CommitForm({ id }: { id: string }) {
  const commit = useApp((s) => s.commitContainer);
  const [repo, setRepo] = useState('');
  return (
    <form className="inline commit-form" aria-label="commit to an image" onSubmit={async (e) => {
      e.preventDefault();
      if (await commit(id, repo.trim())) setRepo('');
    }}>
      <input aria-label="image name for the commit" placeholder="new image name, e.g. myapp:snapshot (optional)" value={repo} onChange={(e) => setRepo(e.target.value)} />
      <button type="submit">Commit to image</button>
    </form>
  );
}

function Inspect({ id }: { id: string }) {
  const store = useAppStore();
  const state = useApp((s) => s.containers[id]?.state);
  const [data, setData] = useState<{ json?: string; error?: string }>({});
  useEffect(() => {
    void store.getState().inspectContainer(id).then((r) => setData(r.ok ? { json: JSON.stringify(r.value, null, 2) } : { error: r.error.message }));
  }, [store, id, state]);
  if (data.error) return <p className="error-text">{data.error}</p>;
  if (!data.json) return <div className="skeleton-block" />;
  return <pre className="inspect" data-testid="inspect">{data.json}</pre>;
}
