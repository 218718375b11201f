// A page in Debian's Chromium driven over a bare DevTools connection. Playwright enables the
// Network domain on every page, and Chromium then copies each WebSocket frame's payload to the
// driver: during a terminal flood that copy costs the browser and the driver more CPU than the
// engine spends. This connection enables nothing, so the browser does only the app's work.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import WebSocket from 'ws';
import { descendants } from './lib.ts';

export interface BarePage {
  /** the browser's process id (its children are the renderer, GPU and network processes) */
  pid: number;
  goto(url: string): Promise<void>;
  /** evaluates an expression in the page, awaiting a promise, and returns its JSON value */
  evaluate<T>(expression: string): Promise<T>;
  waitFor(expression: string, timeoutMs?: number, pollMs?: number): Promise<void>;
  /** types text into the focused element and presses Enter, as a keyboard would */
  typeLine(text: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBarePage(flags: string[], size = { width: 1280, height: 800 }): Promise<BarePage> {
  const profile = mkdtempSync(`${tmpdir()}/berth-bench-chromium-`);
  const browser = spawn('/usr/bin/chromium', [...flags, `--user-data-dir=${profile}`, '--remote-debugging-port=0', `--window-size=${size.width},${size.height}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => browser.once('exit', r));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = '';
    browser.stderr!.on('data', (d) => {
      err += d;
      const m = /DevTools listening on (ws:\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    browser.once('exit', () => reject(new Error(`chromium exited: ${err.slice(-500)}`)));
  });
  const ws = new WebSocket(endpoint, { perMessageDeflate: false });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  let seq = 0;
  const replies = new Map<number, (m: { result?: Record<string, unknown>; error?: { message: string } }) => void>();
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    replies.get(m.id)?.(m);
    replies.delete(m.id);
  });
  // Commands go to the browser until a page is attached, then to that page's session.
  const target: { sessionId?: string } = {};
  const send = async <R = Record<string, unknown>>(method: string, params: object = {}): Promise<R> => {
    const id = ++seq;
    const reply = await new Promise<{ result?: Record<string, unknown>; error?: { message: string } }>((r) => {
      replies.set(id, r);
      ws.send(JSON.stringify({ id, method, params, sessionId: target.sessionId }));
    });
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply.result as R;
  };
  const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
  target.sessionId = (await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true })).sessionId;

  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await send<{ result: { value: T }; exceptionDetails?: { exception?: { description?: string }; text: string } }>('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  };
  return {
    pid: browser.pid!,
    async goto(url) {
      await send('Page.navigate', { url });
    },
    evaluate,
    async waitFor(expression, timeoutMs = 30_000, pollMs = 50) {
      const end = Date.now() + timeoutMs;
      while (!(await evaluate<boolean>(`!!(${expression})`))) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async typeLine(text) {
      await send('Input.insertText', { text });
      for (const type of ['keyDown', 'keyUp']) await send('Input.dispatchKeyEvent', { type, key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: type === 'keyDown' ? '\r' : undefined });
    },
    async close() {
      ws.close();
      // The browser ends its renderer, GPU and network processes; they may still write the
      // profile for a moment after it exits, so wait for them before removing it.
      const helpers = descendants(browser.pid!);
      browser.kill();
      await exited;
      for (let i = 0; i < 100 && helpers.some((p) => existsSync(`/proc/${p}`)); i++) await new Promise((r) => setTimeout(r, 50));
      rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}
