// A browser-like global scope for component tests: a jsdom window whose globals React and the
// components use (document, events, localStorage, animation frames), installed once per process.
// Layout does not exist here: ResizeObserver never fires and canvases have no context, so tests
// assert on the DOM and on the bridge calls, never on pixels.
import { JSDOM } from 'jsdom';

let dom: JSDOM | undefined;
installDom();

export function installDom(): JSDOM {
  if (dom) return dom;
  dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://127.0.0.1/', pretendToBeVisual: true });
  const w = dom.window as unknown as Record<string, unknown>;
  const g = globalThis as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(w)) {
    if (key in g || key.startsWith('_')) continue;
    Object.defineProperty(g, key, { configurable: true, get: () => w[key] });
  }
  for (const key of ['Event', 'CustomEvent', 'EventTarget', 'window', 'document', 'navigator', 'localStorage', 'requestAnimationFrame', 'cancelAnimationFrame', 'getComputedStyle']) {
    Object.defineProperty(g, key, { configurable: true, writable: true, value: key === 'window' ? w : typeof w[key] === 'function' ? (w[key] as () => unknown).bind(w) : w[key] });
  }
  const matchMedia = (media: string) => ({ matches: false, media, onchange: null, addEventListener() {}, removeEventListener() {}, addListener() {}, removeListener() {}, dispatchEvent: () => false });
  Object.assign(w, { matchMedia });
  g.matchMedia = matchMedia;
  g.ResizeObserver = class { observe() {} unobserve() {} disconnect() {} };
  Object.defineProperty(dom.window.HTMLCanvasElement.prototype, 'getContext', { configurable: true, value: () => null });
  g.IS_REACT_ACT_ENVIRONMENT = true;
  return dom;
}

/** Sets an input's value the way typing does, so React's onChange sees it. */
export function typeInto(el: Element, value: string): void {
  const proto = Object.getPrototypeOf(el) as object;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  el.dispatchEvent(new (installDom().window.Event)('input', { bubbles: true }));
}

export function click(el: Element | null | undefined): void {
  if (!el) throw new Error('click: no element');
  el.dispatchEvent(new (installDom().window.MouseEvent)('click', { bubbles: true }));
}

export function key(el: Element, k: string): void {
  el.dispatchEvent(new (installDom().window.KeyboardEvent)('keydown', { key: k, bubbles: true }));
}

/** The button whose text is exactly label (first match). */
export function button(root: ParentNode, label: string): HTMLButtonElement {
  const b = [...root.querySelectorAll('button')].find((x) => x.textContent?.trim() === label || x.getAttribute('aria-label') === label);
  if (!b) throw new Error(`no button ${JSON.stringify(label)} in: ${[...root.querySelectorAll('button')].map((x) => x.textContent).join(' | ')}`);
  return b;
}
