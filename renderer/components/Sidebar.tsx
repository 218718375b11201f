// Navigation with counts, a running-jobs indicator and the engine status.
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../store/context.tsx';
import type { View } from '../store/appStore.ts';

const ITEMS: [View, string][] = [['containers', 'Containers'], ['images', 'Images'], ['builds', 'Builds'], ['volumes', 'Volumes'], ['networks', 'Networks'], ['activity', 'Activity'], ['engines', 'Engines']];

export function Sidebar() {
  const view = useApp((s) => s.view);
  const setView = useApp((s) => s.setView);
  const counts = useApp(useShallow((s) => ({ containers: Object.keys(s.containers).length, images: s.images.length })));
  const running = useApp((s) => Object.values(s.containers).filter((c) => c.state === 'running').length);
  const busy = useApp((s) => Object.values(s.jobs).some((j) => j.state === 'running'));
  const building = useApp((s) => s.builds.some((b) => b.status === 'running'));
  const conn = useApp((s) => s.connection.state);
  const info = useApp((s) => s.info);
  const machines = useApp((s) => s.machines);
  return (
    <nav className="sidebar" aria-label="sections">
      <div className="brand">Berth</div>
      <EnginePicker />
      {ITEMS.map(([v, label], i) => (
        <button key={v} className={view === v ? 'active' : ''} aria-current={view === v} onClick={() => setView(v)} title={`${label} (Alt+${i + 1})`}>
          {label}
          <span className="count">
            {v === 'containers' ? `${running}/${counts.containers}` : v === 'images' ? counts.images : v === 'activity' && busy ? <span className="pulse" aria-label="jobs running" /> : v === 'builds' && building ? <span className="pulse" aria-label="a build is running" /> : ''}
          </span>
        </button>
      ))}
      <span className="spacer" />
      {info?.dockerSocket && conn === 'open' && <DockerHost socket={info.dockerSocket} />}
      {machines?.map((m) => (
        <button key={m.name} className={`machine-status state-${m.state}`} data-testid={`sidebar-machine-${m.name}`} title={m.lastError ?? `machine ${m.name}: ${m.kind}, ${m.cpus} CPUs, ${(m.memoryMiB / 1024).toFixed(1)} GiB`} onClick={() => setView('engines')}>
          <span className="dot" /> VM {m.name}: {m.progress && m.state !== 'running' ? 'starting…' : m.state}
        </button>
      ))}
      <div className={`engine-status engine-${conn}`} title={info ? `${info.kernel}, cgroups ${info.cgroupMode}, ${info.root}` : ''}>
        <span className="dot" /> {conn === 'open' ? 'Engine running' : conn === 'connecting' ? 'Connecting…' : 'Engine unreachable'}
        {info?.rootless && conn === 'open' && <span className="badge" title="the engine runs as you, in a user namespace">rootless</span>}
      </div>
    </nav>
  );
}

/** The line that points the docker CLI (and compose, SDKs) at this engine, with a copy button. */
function DockerHost({ socket }: { socket: string }) {
  const line = `export DOCKER_HOST=unix://${socket}`;
  const [copied, setCopied] = useState(false);
  return (
    <div className="docker-host" title="Use this engine from the docker CLI (or: docker context use berth)">
      <code data-testid="docker-host">{line}</code>
      <button type="button" aria-label="copy the DOCKER_HOST line" onClick={() => {
        void navigator.clipboard?.writeText(line).then(() => setCopied(true), () => undefined);
      }}>{copied ? 'copied' : 'copy'}</button>
    </div>
  );
}

/** Which engine this window shows; choosing another switches every view to it. */
function EnginePicker() {
  const engines = useApp((s) => s.engines);
  const useEngine = useApp((s) => s.useEngine);
  const current = engines?.find((e) => e.current);
  if (!engines || engines.length < 2) return null;
  return (
    <select className="engine-picker" aria-label="engine" value={current?.name ?? ''} onChange={(e) => void useEngine(e.target.value)}>
      {engines.filter((e) => e.host).map((e) => (
        <option key={e.name} value={e.name} disabled={!e.status.reachable && !e.current}>{e.name}{e.status.reachable ? '' : ' (unreachable)'}</option>
      ))}
    </select>
  );
}
