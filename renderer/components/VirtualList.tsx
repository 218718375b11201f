// Fixed-height row windowing: only the rows in view (plus a margin) are in the DOM, so a list
// of a million log lines or a thousand containers costs the same as a screenful.
// The first frame holds only the rows in view: the list measures its height before it renders
// any row (a layout effect, before the browser paints), and the margin above and below, which
// nobody sees until they scroll, is added once that frame is on screen.
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode, type UIEvent } from 'react';

/** Rows rendered beyond each edge of the view once the list has been drawn. */
const OVERSCAN = 10;

/** Where the list is scrolled to and how tall it is; one that is not laid out (display: none, or a DOM without layout) counts as 600 px. */
const viewOf = (el: HTMLElement) => ({ top: el.scrollTop, height: el.clientHeight || 600 });

export function VirtualList<T>({ items, rowHeight, render, className, onScroll, scrollToEnd, scrollTo, testId }: {
  items: T[];
  rowHeight: number;
  render: (item: T, index: number) => ReactNode;
  className?: string;
  onScroll?: (atEnd: boolean) => void;
  scrollToEnd?: boolean;
  scrollTo?: number;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState<{ top: number; height: number }>();
  const [drawn, setDrawn] = useState(false);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && scrollToEnd) el.scrollTop = el.scrollHeight;
  }, [items.length, scrollToEnd]);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && scrollTo !== undefined) el.scrollTop = Math.max(0, scrollTo * rowHeight - el.clientHeight / 2);
  }, [scrollTo, rowHeight]);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setView(viewOf(el));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (!view || drawn) return;
    // After the frame that shows the first rows (a task queued from its animation frame).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => (timer = setTimeout(() => setDrawn(true), 0)));
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [view, drawn]);
  const margin = drawn ? OVERSCAN : 0;
  const first = view ? Math.max(0, Math.floor(view.top / rowHeight) - margin) : 0;
  const last = view ? Math.min(items.length, Math.ceil((view.top + view.height) / rowHeight) + margin) : 0;
  const scrolled = (e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setView(viewOf(el));
    onScroll?.(el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight);
  };
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) rows.push(render(items[i], i));
  return (
    <div ref={box} className={`vlist ${className ?? ''}`} onScroll={scrolled} data-testid={testId}>
      <div style={{ height: items.length * rowHeight, position: 'relative' }}>
        <div style={{ position: 'absolute', top: first * rowHeight, left: 0, right: 0 }}>{rows}</div>
      </div>
    </div>
  );
}
