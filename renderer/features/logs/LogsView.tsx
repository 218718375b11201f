// Container logs: followed live, virtualized (a million lines scroll as smoothly as ten),
// search with match count and next/previous, stdout/stderr toggles, timestamps, download.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { LogLine } from '../../../common/views.ts';
import { VirtualList } from '../../components/VirtualList.tsx';
import { useAppStore } from '../../store/context.tsx';

const LINE = 18;

export function LogsView({ id }: { id: string }) {
  const store = useAppStore();
  const lines = useRef<LogLine[]>([]);
  const [count, setCount] = useState(0);
  const [ended, setEnded] = useState<string | undefined>();
  const [follow, setFollow] = useState(true);
  const [show, setShow] = useState({ stdout: true, stderr: true, time: false });
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);

  useEffect(() => {
    lines.current = [];
    setCount(0);
    let raf = 0;
    let partial: LogLine | undefined;
    const s = store.getState().streamLogs(id, {
      data(batch) {
        for (const l of batch) {
          // Partial records (no newline yet) are joined with what follows them.
          if (partial && partial.stream === l.stream) {
            partial.text += l.text;
          } else {
            partial = { ...l };
            lines.current.push(partial);
          }
          if (partial.text.endsWith('\n')) {
            partial.text = partial.text.slice(0, -1);
            partial = undefined;
          }
        }
        raf ||= requestAnimationFrame(() => {
          raf = 0;
          setCount(lines.current.length);
        });
      },
      end: (e) => setEnded(e?.message),
    });
    return () => {
      cancelAnimationFrame(raf);
      s.close();
    };
  }, [store, id]);

  const visible = useMemo(() => {
    void count;
    const all = lines.current;
    return show.stdout && show.stderr ? all : all.filter((l) => show[l.stream]);
  }, [count, show]);
  const matches = useMemo(() => {
    if (!query) return [];
    const q = query.toLowerCase();
    const out: number[] = [];
    visible.forEach((l, i) => l.text.toLowerCase().includes(q) && out.push(i));
    return out;
    // `visible` can be the same growing array; `count` marks its growth.
  }, [visible, query, count]);
  const jump = (d: number) => {
    if (!matches.length) return;
    setFollow(false);
    setCurrent((c) => (c + d + matches.length) % matches.length);
  };
  const download = () => {
    const blob = new Blob(visible.map((l) => `${show.time ? `${l.time} ` : ''}${l.text}\n`), { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${store.getState().containers[id]?.name ?? id}.log`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  const target = matches.length ? matches[Math.min(current, matches.length - 1)] : undefined;

  return (
    <div className="logs">
      <div className="toolbar small">
        <input
          type="search" placeholder="Search logs" aria-label="search logs" value={query}
          onChange={(e) => { setQuery(e.target.value); setCurrent(0); }}
          onKeyDown={(e) => e.key === 'Enter' && jump(e.shiftKey ? -1 : 1)}
        />
        <span className="muted" data-testid="match-count">{query ? `${matches.length ? Math.min(current, matches.length - 1) + 1 : 0}/${matches.length}` : ''}</span>
        <button onClick={() => jump(-1)} disabled={!matches.length} aria-label="previous match">↑</button>
        <button onClick={() => jump(1)} disabled={!matches.length} aria-label="next match">↓</button>
        <label><input type="checkbox" checked={show.stdout} onChange={(e) => setShow({ ...show, stdout: e.target.checked })} /> stdout</label>
        <label><input type="checkbox" checked={show.stderr} onChange={(e) => setShow({ ...show, stderr: e.target.checked })} /> stderr</label>
        <label><input type="checkbox" checked={show.time} onChange={(e) => setShow({ ...show, time: e.target.checked })} /> timestamps</label>
        <label><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow</label>
        <span className="spacer" />
        <span className="muted">{visible.length.toLocaleString()} lines{ended ? ` — ${ended}` : ''}</span>
        <button onClick={download}>Download</button>
      </div>
      {visible.length === 0 ? (
        <div className="empty small"><p>No output yet.</p></div>
      ) : (
        <VirtualList
          items={visible} rowHeight={LINE} className="log-lines" testId="log-lines" scrollToEnd={follow} scrollTo={follow ? undefined : target}
          onScroll={(atEnd) => atEnd !== follow && setFollow(atEnd)}
          render={(l, i) => (
            <div key={i} className={`log-line ${l.stream}${i === target ? ' current' : ''}`}>
              {show.time && <span className="ts">{l.time.slice(0, 23)}</span>}
              <span className="text">{l.text}</span>
            </div>
          )}
        />
      )}
    </div>
  );
}
