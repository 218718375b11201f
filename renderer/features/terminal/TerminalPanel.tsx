// Terminal tabs for one container: exec a shell (sh or bash, remembered per image) or attach
// to the main process. Sessions are owned by TerminalSessions and only shown here.
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useApp } from '../../store/context.tsx';
import type { TerminalSessions } from './terminalSessions.ts';

export const TerminalContext = createContext<TerminalSessions | null>(null);

export function TerminalPanel({ id, visible }: { id: string; visible: boolean }) {
  const sessions = useContext(TerminalContext);
  if (!sessions) throw new Error('TerminalPanel outside TerminalContext');
  const all = useSyncExternalStore(sessions.subscribe, sessions.list);
  const mine = all.filter((s) => s.containerId === id);
  const c = useApp((s) => s.containers[id]);
  const prefKey = `berth.shell.${c?.image ?? ''}`;
  const [active, setActive] = useState<string | undefined>();
  const [shell, setShell] = useState(() => localStorage.getItem(prefKey) ?? 'sh');
  const host = useRef<HTMLDivElement>(null);
  const current = mine.find((s) => s.key === active) ?? mine.at(-1);

  useEffect(() => {
    if (visible && current && host.current) sessions.mount(current.key, host.current);
  }, [visible, current?.key, sessions]);
  // Refit on any change of the host's size: the window, the split divider, the layout.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let frame = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => sessions.fitAll());
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [sessions, visible]);

  if (!visible) return null;
  const running = c?.state === 'running';
  const open = (mode: 'exec' | 'attach') => {
    if (mode === 'exec') localStorage.setItem(prefKey, shell);
    setActive(sessions.create(id, mode, mode === 'exec' ? shell : undefined));
  };
  return (
    <div className="terminal-panel">
      <div className="toolbar small">
        <nav className="term-tabs" role="tablist">
          {mine.map((s) => (
            <span key={s.key} className={`term-tab${s.key === current?.key ? ' active' : ''}`} role="tab" aria-selected={s.key === current?.key} data-status={s.status}>
              <button className="ghost" onClick={() => setActive(s.key)}>{s.title} <small className="muted">{s.status}</small></button>
              <button className="ghost" aria-label={`close ${s.title}`} onClick={() => sessions.close(s.key)}>✕</button>
            </span>
          ))}
        </nav>
        <span className="spacer" />
        <select aria-label="shell" value={shell} onChange={(e) => setShell(e.target.value)}>
          <option value="sh">sh</option>
          <option value="bash">bash</option>
          <option value="ash">ash</option>
          <option value="zsh">zsh</option>
        </select>
        <button onClick={() => open('exec')} disabled={!running}>New shell</button>
        <button onClick={() => open('attach')} disabled={!running}>Attach</button>
      </div>
      {!running && !mine.length && <div className="empty small"><p>Start the container to open a terminal in it.</p></div>}
      {running && !mine.length && <div className="empty small"><p>No terminal open.</p><button className="primary" onClick={() => open('exec')}>Open {shell}</button></div>}
      <div ref={host} className="terminal-host" data-testid="terminal" hidden={!mine.length} />
    </div>
  );
}
