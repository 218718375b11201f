// Machines: Berth's engine in a Linux VM the app keeps. First run: one button creates and starts
// the default machine, with what it is doing (building the guest image, booting); then each
// machine's state, resources, boot time and published ports, Start/Stop, its settings (applied
// at the next start), the VM's console, and removal (asked first: the data disk goes too).
import { useEffect, useState } from 'react';
import { humanSize } from '../../../common/format.ts';
import type { MachineView } from '../../../common/views.ts';
import { TrashIcon } from '../../components/icons.tsx';
import { useApp, useAppStore } from '../../store/context.tsx';

interface Sizes { cpus: string; memory: string; disk: string }

const sizesOf = (m?: MachineView): Sizes => ({ cpus: String(m?.cpus || 2), memory: String((m?.memoryMiB || 2048) / 1024), disk: String(m?.diskGiB || 60) });

function parsed(f: Sizes): { cpus: number; memoryMiB: number; diskGiB: number } | string {
  const cpus = Number(f.cpus);
  const memory = Number(f.memory);
  const disk = Number(f.disk);
  if (!Number.isInteger(cpus) || cpus < 1) return 'CPUs: a whole number, at least 1';
  if (!(memory >= 0.5)) return 'Memory: at least 0.5 GiB';
  if (!Number.isInteger(disk) || disk < 2) return 'Disk: a whole number of GiB, at least 2';
  return { cpus, memoryMiB: Math.round(memory * 1024), diskGiB: disk };
}

function SizeFields({ value, onChange, name }: { value: Sizes; onChange: (v: Sizes) => void; name: string }) {
  return (
    <>
      <label>CPUs <input aria-label={`CPUs of ${name}`} inputMode="numeric" value={value.cpus} onChange={(e) => onChange({ ...value, cpus: e.target.value })} /></label>
      <label>Memory (GiB) <input aria-label={`memory of ${name}`} inputMode="decimal" value={value.memory} onChange={(e) => onChange({ ...value, memory: e.target.value })} /></label>
      <label>Disk (GiB) <input aria-label={`disk of ${name}`} inputMode="numeric" value={value.disk} onChange={(e) => onChange({ ...value, disk: e.target.value })} /></label>
    </>
  );
}

export function MachinesPanel() {
  const store = useAppStore();
  const machines = useApp((s) => s.machines);
  const console_ = useApp((s) => s.machineConsole);
  const [first, setFirst] = useState<Sizes>(sizesOf());
  const [editing, setEditing] = useState<{ name: string; sizes: Sizes }>();
  const [error, setError] = useState<string>();
  useEffect(() => void store.getState().loadMachines(), [store]);
  const s = store.getState();
  if (!machines) return null;
  if (!machines.length) {
    const p = parsed(first);
    return (
      <form className="machine-first" aria-label="create a machine" onSubmit={(e) => { e.preventDefault(); if (typeof p !== 'string') void s.createMachine(p); }}>
        <h2>Machines</h2>
        <p className="muted">Run Berth&apos;s engine in a small Linux VM (as Docker Desktop does). Your home folder is shared at the same path, so bind mounts work unchanged; published ports appear on this computer&apos;s 127.0.0.1. The first start prepares the guest image.</p>
        <SizeFields value={first} onChange={setFirst} name="the new machine" />
        {typeof p === 'string' && <p className="error-text">{p}</p>}
        <button className="primary" type="submit" disabled={typeof p === 'string'}>Create and start</button>
      </form>
    );
  }
  const save = (name: string, f: Sizes) => {
    const p = parsed(f);
    if (typeof p === 'string') return setError(p);
    setError(undefined);
    void s.setMachine({ name, ...p }).then((ok) => ok && setEditing(undefined));
  };
  return (
    <section aria-label="machines">
      <h2>Machines</h2>
      <div className="row head machine-row" role="row"><span className="cell">Machine</span><span className="cell">State</span><span className="cell">Resources</span><span className="cell wide">Engine</span><span className="cell actions" /></div>
      {machines.map((m) => (
        <div key={m.name}>
          <div className="row machine-row" role="row" data-machine={m.name}>
            <span className="cell name"><strong>{m.name}</strong> <small className="muted">{m.kind}{m.accel ? ` · ${m.accel}` : ''}</small></span>
            <span className={`cell machine-state state-${m.state}`} data-testid={`machine-state-${m.name}`} data-state={m.state}>{m.progress && m.state !== 'running' ? m.progress : m.state}</span>
            <span className="cell">{m.cpus} CPUs · {(m.memoryMiB / 1024).toFixed(1)} GiB · {m.diskGiB} GiB disk ({humanSize(m.diskUsed)} used)</span>
            <span className="cell wide" title={m.lastError ?? ''}>
              {m.state === 'running' ? `${m.engineVersion} · booted in ${((m.bootMs ?? 0) / 1000).toFixed(1)} s · docker --context ${m.context}` : (m.lastError ?? '')}
              {m.ports.length > 0 && <small className="muted"> · ports {m.ports.map((p) => p.hostPort).join(', ')}</small>}
              {m.portProblems.map((p) => <small key={p} className="error-text"> {p}</small>)}
            </span>
            <span className="cell actions">
              {(m.state === 'stopped' || m.state === 'error') && <button className="primary" aria-label={`start machine ${m.name}`} onClick={() => void s.startMachine(m.name)}>Start</button>}
              {m.state === 'running' && <button aria-label={`stop machine ${m.name}`} onClick={() => void s.stopMachine(m.name)}>Stop</button>}
              <button aria-label={`settings of machine ${m.name}`} onClick={() => setEditing(editing?.name === m.name ? undefined : { name: m.name, sizes: sizesOf(m) })}>Settings</button>
              {(m.state === 'stopped' || m.state === 'error') && <button className="danger" aria-label={`remove machine ${m.name}`} onClick={() => s.removeMachine(m.name)}><TrashIcon /></button>}
              <button aria-label={`console of machine ${m.name}`} onClick={() => void (console_?.name === m.name ? store.setState({ machineConsole: undefined }) : s.loadMachineConsole(m.name))}>Console</button>
            </span>
          </div>
          {editing?.name === m.name && (
            <form className="machine-settings" aria-label={`settings of ${m.name}`} onSubmit={(e) => { e.preventDefault(); save(m.name, editing.sizes); }}>
              <SizeFields value={editing.sizes} onChange={(sizes) => setEditing({ name: m.name, sizes })} name={m.name} />
              <button className="primary" type="submit">Save</button>
              <small className="muted">Applied at the next start{m.state === 'running' ? ' (stop and start the machine)' : ''}; the disk can grow, not shrink.</small>
              {error && <p className="error-text">{error}</p>}
            </form>
          )}
          {console_?.name === m.name && (
            <pre className="machine-console" aria-label={`console of ${m.name}`}>{console_.lines.join('\n') || '(no console output yet)'}</pre>
          )}
        </div>
      ))}
    </section>
  );
}
