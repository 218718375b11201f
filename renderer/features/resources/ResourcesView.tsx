// Networks and Volumes: lists with which containers use each, create, inspect-style details and
// remove, all through the store's resources slice (which re-reads them when they change).
import { useEffect, useState } from 'react';
import { TrashIcon } from '../../components/icons.tsx';
import { ago } from '../../format.ts';
import { useApp, useAppStore } from '../../store/context.tsx';
import { VolumeBrowser } from './VolumeBrowser.tsx';

function Users({ list }: { list: { id: string; name: string; running: boolean; ip?: string }[] }) {
  if (!list.length) return <span className="muted">unused</span>;
  return <>{list.map((c) => <span key={c.id} className={`chip${c.running ? ' running' : ''}`} title={c.running ? 'running' : 'stopped'}>{c.name}{c.ip ? ` · ${c.ip}` : ''}</span>)}</>;
}

export function NetworksView() {
  const store = useAppStore();
  const items = useApp((s) => s.networks);
  const remove = useApp((s) => s.removeNetwork);
  const [name, setName] = useState('');
  const [subnet, setSubnet] = useState('');
  useEffect(() => void store.getState().loadNetworks(), [store]);
  const create = async () => {
    if (!(await store.getState().createNetwork(name.trim(), subnet.trim() || undefined))) return;
    setName('');
    setSubnet('');
  };
  return (
    <section className="list-pane" aria-label="networks">
      <header className="toolbar">
        <h1>Networks</h1>
        <form className="inline" onSubmit={(e) => { e.preventDefault(); if (name.trim()) void create(); }}>
          <input aria-label="network name" placeholder="new network name" value={name} onChange={(e) => setName(e.target.value)} />
          <input aria-label="subnet" placeholder="subnet (optional), e.g. 10.20.0.0/24" value={subnet} onChange={(e) => setSubnet(e.target.value)} />
          <button className="primary" type="submit" disabled={!name.trim()}>Create</button>
        </form>
      </header>
      <div className="row head resource-row" role="row"><span className="cell">Name</span><span className="cell">Driver</span><span className="cell">Subnet</span><span className="cell wide">Containers</span><span className="cell actions" /></div>
      {!items ? <div className="skeleton"><div className="row skeleton-row" /></div> : (
        <div className="vlist">{items.map((n) => (
          <div key={n.id} className="row resource-row" role="row" data-network={n.name}>
            <span className="cell name" title={`${n.id}\n${n.device ? `bridge ${n.device}, ` : ''}created ${ago(n.created)}`}><strong>{n.name}</strong>{n.internal && <small className="muted"> internal</small>}</span>
            <span className="cell">{n.driver}</span>
            <span className="cell" title={n.gateway ? `gateway ${n.gateway}` : ''}>{n.subnet || '—'}</span>
            <span className="cell wide users"><Users list={n.containers} /></span>
            <span className="cell actions">{!n.builtin && <button className="danger" aria-label={`remove network ${n.name}`} onClick={() => remove(n)}><TrashIcon /></button>}</span>
          </div>
        ))}</div>
      )}
    </section>
  );
}

export function VolumesView() {
  const store = useAppStore();
  const items = useApp((s) => s.volumes);
  const remove = useApp((s) => s.removeVolume);
  const [name, setName] = useState('');
  const [browsing, setBrowsing] = useState<string>();
  useEffect(() => void store.getState().loadVolumes(), [store]);
  const create = async () => {
    if (await store.getState().createVolume(name.trim() || undefined)) setName('');
  };
  return (
    <section className="list-pane" aria-label="volumes">
      <header className="toolbar">
        <h1>Volumes</h1>
        <form className="inline" onSubmit={(e) => { e.preventDefault(); void create(); }}>
          <input aria-label="volume name" placeholder="new volume name (empty: anonymous)" value={name} onChange={(e) => setName(e.target.value)} />
          <button className="primary" type="submit">Create</button>
        </form>
      </header>
      <div className="row head resource-row" role="row"><span className="cell">Name</span><span className="cell">Created</span><span className="cell wide">Mountpoint</span><span className="cell wide">Containers</span><span className="cell actions" /></div>
      {!items ? <div className="skeleton"><div className="row skeleton-row" /></div>
        : items.length === 0 ? <div className="empty"><p>No volumes yet. Create one here, or use <code>name:/path</code> in the run form.</p></div> : (
          <div className="vlist">{items.map((v) => (
            <div key={v.name} className="row resource-row" role="row" data-volume={v.name}>
              <span className="cell name" title={v.name}>
                <button className="link" aria-label={`browse volume ${v.name}`} onClick={() => setBrowsing(v.name)}><strong>{v.anonymous ? v.name.slice(0, 12) : v.name}</strong></button>
                {v.anonymous && <small className="muted"> anonymous</small>}
              </span>
              <span className="cell" title={v.created}>{ago(v.created)}</span>
              <span className="cell wide"><code className="path" title={v.mountpoint}>{v.mountpoint}</code></span>
              <span className="cell wide users"><Users list={v.containers} /></span>
              <span className="cell actions"><button className="danger" aria-label={`remove volume ${v.name}`} disabled={v.containers.length > 0} title={v.containers.length ? 'in use' : 'remove'} onClick={() => remove(v)}><TrashIcon /></button></span>
            </div>
          ))}</div>
        )}
      {browsing && <VolumeBrowser key={browsing} name={browsing} onClose={() => setBrowsing(undefined)} />}
    </section>
  );
}
