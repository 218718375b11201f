// Ctrl/Cmd+K: jump to any container or image, or run an action, by typing.
import { useEffect, useMemo, useState } from 'react';
import { useApp, useAppStore } from '../store/context.tsx';

interface Entry { label: string; hint: string; run(): void }

export function Palette() {
  const open = useApp((s) => s.paletteOpen);
  const store = useAppStore();
  const [q, setQ] = useState('');
  const [i, setI] = useState(0);
  useEffect(() => {
    if (open) {
      setQ('');
      setI(0);
    }
  }, [open]);
  const entries = useMemo<Entry[]>(() => {
    if (!open) return [];
    const s = store.getState();
    const close = () => s.setPalette(false);
    const out: Entry[] = [
      { label: 'Run a container…', hint: 'action', run: () => { close(); s.openCreate(); } },
      { label: 'Pull an image…', hint: 'action', run: () => { close(); s.setView('images'); } },
      ...(s.engines ?? []).filter((e) => !e.current && e.host).map((e) => ({ label: `Switch to engine ${e.name}`, hint: 'engine', run: () => { close(); void s.useEngine(e.name); } })),
      ...Object.values(s.containers).flatMap((c) => [
        { label: c.name, hint: `container · ${c.state}`, run: () => { close(); s.setView('containers'); s.select(c.id); } },
        ...(c.state === 'running' ? [
          { label: `Open terminal in ${c.name}`, hint: 'terminal', run: () => { close(); s.setView('containers'); s.select(c.id); s.setTab('terminal'); } },
          { label: `Stop ${c.name}`, hint: 'action', run: () => { close(); void s.containerAction('stop', [c.id]); } },
        ] : [{ label: `Start ${c.name}`, hint: 'action', run: () => { close(); void s.containerAction('start', [c.id]); } }]),
      ]),
      ...s.images.flatMap((img) => img.tags.map((t) => ({ label: t, hint: 'image', run: () => { close(); s.setView('images'); s.selectImage(img.id); } }))),
    ];
    const needle = q.toLowerCase();
    return out.filter((e) => e.label.toLowerCase().includes(needle)).slice(0, 12);
  }, [open, q, store]);
  if (!open) return null;
  return (
    <div className="modal-backdrop" onClick={() => store.getState().setPalette(false)}>
      <div className="modal palette" onClick={(e) => e.stopPropagation()} role="dialog" aria-label="command palette">
        <input
          autoFocus placeholder="Jump to a container or image, or run an action" value={q}
          onChange={(e) => { setQ(e.target.value); setI(0); }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') setI((x) => Math.min(entries.length - 1, x + 1));
            else if (e.key === 'ArrowUp') setI((x) => Math.max(0, x - 1));
            else if (e.key === 'Enter') entries[i]?.run();
            else if (e.key === 'Escape') store.getState().setPalette(false);
          }}
        />
        <ul>{entries.map((e, k) => <li key={`${e.label}-${k}`} className={k === i ? 'active' : ''} onMouseDown={() => e.run()}>{e.label}<small className="muted">{e.hint}</small></li>)}</ul>
      </div>
    </div>
  );
}
