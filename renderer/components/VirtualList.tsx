// Fixed-height row windowing: only the rows in view (plus a margin) are in the DOM, so a list
// of a million log lines or a thousand containers costs the same as a screenful.
import { useLayoutEffect, useRef, useState, type ReactNode, type UIEvent } from 'react';

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
  const [view, setView] = useState({ top: 0, height: 600 });
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && scrollToEnd) el.scrollTop = el.scrollHeight;
  }, [items.length, scrollToEnd]);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && scrollTo !== undefined) el.scrollTop = Math.max(0, scrollTo * rowHeight - el.clientHeight / 2);
  }, [scrollTo, rowHeight]);
  const first = Math.max(0, Math.floor(view.top / rowHeight) - 10);
  const last = Math.min(items.length, Math.ceil((view.top + view.height) / rowHeight) + 10);
  const scrolled = (e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setView({ top: el.scrollTop, height: el.clientHeight });
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
