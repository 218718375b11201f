// Terminal sessions live outside React: each owns an xterm instance, its DOM element and its
// stream, so a tab survives switching views and reconnects after the engine restarts.
// Output is acknowledged once xterm has parsed it, which paces the process at the host. During
// a flood, output is handed to xterm at most once per FLUSH_MS: xterm parses what came meanwhile
// in one go (yielding every 12 ms, so the page keeps drawing) and then draws about one frame,
// instead of a frame after every message, which leaves the CPU to the flood.
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal } from '@xterm/xterm';
import type { Bridge, StreamControl } from '../../bridge.ts';

export interface SessionInfo {
  key: string;
  containerId: string;
  mode: 'exec' | 'attach';
  shell?: string;
  title: string;
  status: 'connecting' | 'open' | 'ended' | 'lost';
  /** bytes received so far (for tests and the status line) */
  received: number;
  /** bytes xterm has parsed so far (received ones wait up to FLUSH_MS in a flood) */
  parsed: number;
}

/** The shortest time between two writes into xterm; the first output after a pause goes at once. */
const FLUSH_MS = 50;

interface Session {
  info: SessionInfo;
  /** output received and not yet written into xterm */
  queue: string[];
  lastWrite: number;
  flushTimer?: ReturnType<typeof setTimeout>;
  term: Terminal;
  fit: FitAddon;
  element: HTMLDivElement;
  stream?: StreamControl<'terminal'>;
  gl?: WebglAddon;
}

export class TerminalSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly listeners = new Set<() => void>();
  private seq = 0;
  private snapshot: SessionInfo[] = [];
  private readonly offConnection: () => void;

  constructor(private readonly bridge: Bridge) {
    this.offConnection = bridge.onConnection((state) => {
      if (state !== 'open') return;
      for (const s of this.sessions.values()) if (s.info.status === 'lost') this.connect(s, true);
    });
  }

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  list = (): SessionInfo[] => this.snapshot;

  create(containerId: string, mode: 'exec' | 'attach', shell?: string): string {
    const key = `t${++this.seq}`;
    const element = document.createElement('div');
    element.className = 'xterm-host';
    element.dataset.session = key;
    const term = new Terminal({ fontSize: 13, scrollback: 5000, cursorBlink: true, allowProposedApi: false, theme: themeFromCss() });
    const fit = new FitAddon();
    term.loadAddon(fit);
    // URLs in the output open in the browser (Electron hands http(s) windows to the OS).
    term.loadAddon(new WebLinksAddon((_e, uri) => window.open(uri, '_blank', 'noopener,noreferrer')));
    term.open(element);
    term.onSelectionChange(() => {
      const text = term.getSelection();
      if (text) void navigator.clipboard?.writeText(text).catch(() => undefined);
    });
    const s: Session = { info: { key, containerId, mode, shell, title: mode === 'attach' ? 'attach' : shell ?? 'sh', status: 'connecting', received: 0, parsed: 0 }, term, fit, element, queue: [], lastWrite: 0 };
    term.onData((data) => s.stream?.input({ data }));
    term.onResize(({ cols, rows }) => s.stream?.input({ cols, rows }));
    this.sessions.set(key, s);
    this.connect(s, false);
    return key;
  }

  /** Moves the session's element into a visible host and fits it. */
  mount(key: string, host: HTMLElement): void {
    const s = this.sessions.get(key);
    if (!s) return;
    if (s.element.parentElement !== host) host.replaceChildren(s.element);
    if (!s.gl && hardwareWebgl()) {
      // The GPU renderer draws a flood for a fraction of the DOM renderer's cost. A lost
      // context (GPU reset, driver update) drops back to the DOM renderer for this tab.
      try {
        const gl = new WebglAddon();
        gl.onContextLoss(() => gl.dispose());
        s.term.loadAddon(gl);
        s.gl = gl;
      } catch {
        /* no WebGL2 after all: the DOM renderer stays */
      }
    }
    requestAnimationFrame(() => {
      try {
        s.fit.fit();
      } catch {
        /* not laid out yet */
      }
      s.term.focus();
    });
  }

  fitAll(): void {
    for (const s of this.sessions.values()) if (s.element.isConnected) s.fit.fit();
  }

  close(key: string): void {
    const s = this.sessions.get(key);
    if (!s) return;
    s.stream?.close();
    clearTimeout(s.flushTimer);
    s.term.dispose();
    s.element.remove();
    this.sessions.delete(key);
    this.changed();
  }

  closeFor(containerId: string): void {
    for (const s of [...this.sessions.values()]) if (s.info.containerId === containerId) this.close(s.info.key);
  }

  /** The visible text of a session (tests and copy-all). */
  text(key: string): string {
    const s = this.sessions.get(key);
    if (!s) return '';
    const b = s.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < b.length; i++) out.push(b.getLine(i)?.translateToString(true) ?? '');
    return out.join('\n');
  }

  dispose(): void {
    this.offConnection();
    for (const key of [...this.sessions.keys()]) this.close(key);
  }

  private connect(s: Session, again: boolean): void {
    s.info = { ...s.info, status: 'connecting' };
    this.changed();
    if (again) s.term.write('\r\n\x1b[2m[reconnecting]\x1b[0m\r\n');
    s.stream = this.bridge.open('terminal', { id: s.info.containerId, mode: s.info.mode, shell: s.info.shell, cols: s.term.cols, rows: s.term.rows }, {
      data: (d) => {
        if (s.info.status !== 'open') {
          s.info = { ...s.info, status: 'open' };
          this.changed();
        }
        s.info.received += d.length;
        s.queue.push(d);
        if (s.flushTimer !== undefined) return;
        const wait = s.lastWrite + FLUSH_MS - performance.now();
        if (wait <= 0) this.flush(s);
        else s.flushTimer = setTimeout(() => this.flush(s), wait);
      },
      end: (e) => {
        this.flush(s);
        const lost = e?.code === 'DISCONNECTED';
        s.info = { ...s.info, status: lost ? 'lost' : 'ended' };
        s.term.write(`\r\n\x1b[2m[${lost ? 'connection lost, will reconnect' : e ? e.message : 'session ended'}]\x1b[0m\r\n`);
        this.changed();
      },
    });
    // A stream that opens with no output yet (a quiet shell) is still open.
    setTimeout(() => {
      if (s.info.status === 'connecting') {
        s.info = { ...s.info, status: 'open' };
        this.changed();
      }
    }, 300);
  }

  /** Writes the queued output into xterm and acknowledges it, once all parsed, in one message. */
  private flush(s: Session): void {
    clearTimeout(s.flushTimer);
    s.flushTimer = undefined;
    const pieces = s.queue;
    if (!pieces.length) return;
    const n = pieces.reduce((sum, d) => sum + d.length, 0);
    const stream = s.stream;
    s.queue = [];
    s.lastWrite = performance.now();
    pieces.forEach((d, i) => s.term.write(d, i < pieces.length - 1 ? undefined : () => {
      s.info.parsed += n;
      stream?.input({ ack: n });
    }));
  }

  private changed(): void {
    this.snapshot = [...this.sessions.values()].map((s) => s.info);
    for (const l of this.listeners) l();
  }
}

let webgl: boolean | undefined;
/**
 * WebGL2 on a real GPU. A software rasterizer (SwiftShader, llvmpipe: headless or no GPU driver)
 * makes the WebGL renderer several times slower than the DOM one, so it is used only on hardware.
 */
function hardwareWebgl(): boolean {
  if (webgl !== undefined) return webgl;
  const gl = document.createElement('canvas').getContext('webgl2');
  const info = gl?.getExtension('WEBGL_debug_renderer_info');
  const renderer = gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
  gl?.getExtension('WEBGL_lose_context')?.loseContext();
  webgl = !!gl && !/swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  return webgl;
}

function themeFromCss() {
  const css = getComputedStyle(document.documentElement);
  const v = (n: string) => css.getPropertyValue(n).trim() || undefined;
  return { background: v('--term-bg'), foreground: v('--term-fg'), cursor: v('--accent') };
}
