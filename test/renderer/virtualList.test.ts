// The windowed list: the first frame holds only the rows in view; the margin around them comes
// after that frame, and scrolling moves the window. jsdom has no layout, so the list's height is
// its fallback (600 px) and scrolling is a scrollTop the test sets before the scroll event.
import { installDom } from '../helpers/dom.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { VirtualList } from '../../renderer/components/VirtualList.tsx';

const { document, Event } = installDom().window;

test('a virtual list draws the rows in view first, then a margin, and follows scrolling', async () => {
  const host = document.createElement('div');
  document.body.append(host);
  const root = createRoot(host);
  try {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const list = createElement(VirtualList<number>, { items, rowHeight: 30, testId: 'list', render: (n) => createElement('div', { key: n, className: 'r' }, `row ${n}`) });
    await act(async () => root.render(list));
    const shown = () => [...host.querySelectorAll('.r')].map((r) => Number(r.textContent!.slice(4)));
    assert.deepEqual(shown(), Array.from({ length: 20 }, (_, i) => i), 'first frame: the 20 rows that fit in 600 px, no margin');
    assert.equal((host.querySelector('[data-testid=list] > div') as HTMLElement).style.height, '30000px', 'the scroll height is every row');
    await act(async () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 10))));
    assert.deepEqual(shown(), Array.from({ length: 30 }, (_, i) => i), 'after that frame: 10 more rows below (none above the top)');
    const box = host.querySelector('[data-testid=list]')!;
    Object.defineProperty(box, 'scrollTop', { configurable: true, value: 3000 });
    await act(async () => box.dispatchEvent(new Event('scroll')));
    assert.deepEqual(shown(), Array.from({ length: 40 }, (_, i) => 90 + i), 'scrolled to row 100: rows 90-129');
    assert.equal((host.querySelector('[data-testid=list] > div > div') as HTMLElement).style.top, '2700px');
  } finally {
    await act(async () => root.unmount());
    host.remove();
  }
});
