// Engines: Berth's own, every docker context and DOCKER_HOST with whether each answers (version,
// OS, container counts, or why not); switch the window to one, make one the docker CLI's
// default, add, edit and remove contexts; and every reachable engine's running containers.
import { useEffect, useState } from 'react';
import { TrashIcon } from '../../components/icons.tsx';
import { useApp, useAppStore } from '../../store/context.tsx';
import type { EngineView } from '../../../common/views.ts';
import { MachinesPanel } from './MachinesPanel.tsx';

interface Form { name: string; host: string; description: string; ca: string; cert: string; key: string }
const EMPTY: Form = { name: '', host: '', description: '', ca: '', cert: '', key: '' };

export function EnginesView() {
  const store = useAppStore();
  const engines = useApp((s) => s.engines);
  const all = useApp((s) => s.allRunning);
  const [form, setForm] = useState<Form>(EMPTY);
  useEffect(() => {
    void store.getState().loadEngines();
    void store.getState().loadAllRunning();
    // Statuses change (an engine comes back, a slow one answers): read again while the view is open.
    const t = setInterval(() => {
      void store.getState().loadEngines();
      void store.getState().loadAllRunning();
    }, 5000);
    return () => clearInterval(t);
  }, [store]);
  const s = store.getState();
  const edit = (e: EngineView) => setForm({ ...EMPTY, name: e.name, host: e.host, description: e.description });
  const save = async () => {
    const f = form;
    const ok = await s.saveEngine({
      name: f.name.trim(), host: f.host.trim(), ...(f.description.trim() ? { description: f.description.trim() } : {}),
      ...(f.ca.trim() ? { ca: f.ca.trim() } : {}), ...(f.cert.trim() ? { cert: f.cert.trim() } : {}), ...(f.key.trim() ? { key: f.key.trim() } : {}),
    });
    if (ok) setForm(EMPTY);
  };
  const field = (k: keyof Form, label: string, placeholder: string) => (
    <input aria-label={label} placeholder={placeholder} value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.target.value })} />
  );
  return (
    <section className="list-pane" aria-label="engines">
      <header className="toolbar">
        <h1>Engines</h1>
        <button onClick={() => { void s.loadEngines(); void s.loadAllRunning(); }}>Refresh</button>
      </header>
      <div className="row head engine-row" role="row"><span className="cell">Name</span><span className="cell wide">Address</span><span className="cell">Status</span><span className="cell">Containers</span><span className="cell actions" /></div>
      {!engines ? <div className="skeleton"><div className="row skeleton-row" /></div> : (
        <div className="vlist">{engines.map((e) => (
          <div key={`${e.source}:${e.name}`} className={`row engine-row${e.current ? ' selected' : ''}`} role="row" data-engine={e.name}>
            <span className="cell name" title={e.description}>
              <strong>{e.name}</strong>
              {e.current && <small className="badge">shown</small>}
              {e.dockerDefault && <small className="badge" title="the docker CLI's current context">docker default</small>}
              {e.source === 'env' && <small className="muted"> DOCKER_HOST</small>}
            </span>
            <span className="cell wide"><code className="path" title={e.host}>{e.host}</code>{e.tls && <small className="muted"> TLS</small>}</span>
            <span className={`cell engine-state ${e.status.reachable ? 'ok' : 'bad'}`} title={e.status.error ?? e.status.os ?? ''} data-testid={`engine-status-${e.name}`}>
              {e.status.reachable ? `${e.status.version} · ${e.status.os}` : (e.status.error ?? 'unreachable')}
            </span>
            <span className="cell">{e.status.reachable ? `${e.status.running}/${e.status.containers}` : '—'}</span>
            <span className="cell actions">
              {!e.current && e.host && <button aria-label={`show engine ${e.name}`} disabled={!e.status.reachable} onClick={() => void s.useEngine(e.name)}>Show</button>}
              {!e.dockerDefault && e.source !== 'env' && e.host && <button aria-label={`make ${e.name} the docker default`} onClick={() => s.makeDefaultEngine(e.name)}>Make docker default</button>}
              {e.source === 'context' && e.host && <button aria-label={`edit engine ${e.name}`} onClick={() => edit(e)}>Edit</button>}
              {e.source === 'context' && e.host && !e.current && <button className="danger" aria-label={`remove engine ${e.name}`} onClick={() => s.removeEngine(e.name)}><TrashIcon /></button>}
            </span>
          </div>
        ))}</div>
      )}
      <MachinesPanel />
      <form className="engine-form" aria-label="add or edit an engine" onSubmit={(e) => { e.preventDefault(); if (form.name.trim() && form.host.trim()) void save(); }}>
        <h2>Add or edit a docker context</h2>
        {field('name', 'context name', 'name, e.g. build-server')}
        {field('host', 'engine address', 'ssh://user@host, tcp://host:2376 or unix:///path/docker.sock')}
        {field('description', 'description', 'description (optional)')}
        {field('ca', 'CA certificate path', 'TLS: CA certificate file (optional)')}
        {field('cert', 'client certificate path', 'TLS: client certificate file')}
        {field('key', 'client key path', 'TLS: client key file')}
        <button className="primary" type="submit" disabled={!form.name.trim() || !form.host.trim()}>Save</button>
      </form>
      <h2>Running on every engine</h2>
      <div className="row head resource-row" role="row"><span className="cell">Engine</span><span className="cell">Name</span><span className="cell wide">Image</span><span className="cell">Status</span><span className="cell actions" /></div>
      <div className="vlist" aria-label="running containers on every engine">
        {all?.containers.map((c) => (
          <div key={`${c.engine}/${c.id}`} className="row resource-row" role="row" data-all-running={`${c.engine}/${c.name}`}>
            <span className="cell">{c.engine}</span><span className="cell name"><strong>{c.name}</strong></span><span className="cell wide">{c.image}</span><span className="cell">{c.status}</span><span className="cell actions" />
          </div>
        ))}
        {all?.errors.map((e) => <p key={e.engine} className="all-error muted">{e.engine}: {e.error}</p>)}
      </div>
    </section>
  );
}
