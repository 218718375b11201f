// A terminal for the UI: a shell exec'd in the container on a pty, or an attach to the main
// process. Output is flow-controlled end to end: the UI acknowledges what xterm has drawn and
// the process is paused while too much is in flight, so a flood never piles up in memory.
import { StringDecoder } from 'node:string_decoder';
import type { Socket } from 'node:net';
import pty from 'node-pty';
import { TERMINAL_HIGH_WATER, TERMINAL_LOW_WATER, type StreamArgs, type TerminalInput } from '../../common/contract.ts';
import type { Engine } from '../engine/engine.ts';

export interface StreamSink<T> {
  data(d: T): void;
  end(error?: Error): void;
}

export interface StreamHandle<I> {
  input(i: I): void;
  close(): void;
}

interface Flow { pause(): void; resume(): void }

function flowControl(target: Flow) {
  let inFlight = 0;
  let paused = false;
  return {
    sent(n: number) {
      inFlight += n;
      if (!paused && inFlight > TERMINAL_HIGH_WATER) {
        paused = true;
        target.pause();
      }
    },
    acked(n: number) {
      inFlight = Math.max(0, inFlight - n);
      if (paused && inFlight < TERMINAL_LOW_WATER) {
        paused = false;
        target.resume();
      }
    },
  };
}

/** Joins small pty reads into fewer, larger messages: a flood costs one message per few ms, not per read. */
function coalesce(sink: StreamSink<string>, flow: () => ReturnType<typeof flowControl> | undefined) {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!pending) return;
    const d = pending;
    pending = '';
    flow()?.sent(d.length);
    sink.data(d);
  };
  return {
    push(d: string) {
      pending += d;
      if (pending.length >= 64 * 1024) flush();
      else timer ??= setTimeout(flush, 4);
    },
    flush,
  };
}

export function openTerminal(engine: Engine, args: StreamArgs<'terminal'>, sink: StreamSink<string>): StreamHandle<TerminalInput> {
  return args.mode === 'exec' ? execTerminal(engine, args, sink) : attachTerminal(engine, args, sink);
}

function execTerminal(engine: Engine, args: StreamArgs<'terminal'>, sink: StreamSink<string>): StreamHandle<TerminalInput> {
  const r = engine.inspect(args.id);
  const shell = args.shell ?? 'sh';
  const prep = engine.prepareExec(r.Id, { Cmd: [shell], Tty: true, Env: ['TERM=xterm-256color'] });
  const term = pty.spawn(prep.helper, prep.args, { cols: args.cols, rows: args.rows, name: 'xterm-256color' });
  engine.events.emit('container', `exec_start: ${shell}`, r.Id, { name: r.Name.slice(1) });
  const flow = flowControl(term);
  let closed = false;
  const out = coalesce(sink, () => flow);
  const data = term.onData((d) => out.push(d));
  term.onExit(({ exitCode }) => {
    out.flush();
    data.dispose();
    const err = prep.cleanup().error;
    engine.events.emit('container', 'exec_die', r.Id, { name: r.Name.slice(1), exitCode: String(exitCode) });
    if (closed) return;
    closed = true;
    sink.end(err ? new Error(`${shell} in ${r.Name.slice(1)}: ${err}`) : undefined);
  });
  return {
    input(i) {
      if ('data' in i) term.write(i.data);
      else if ('ack' in i) flow.acked(i.ack);
      else term.resize(i.cols, i.rows);
    },
    close() {
      if (closed) return;
      closed = true;
      term.kill('SIGHUP');
    },
  };
}

function attachTerminal(engine: Engine, args: StreamArgs<'terminal'>, sink: StreamSink<string>): StreamHandle<TerminalInput> {
  const r = engine.inspect(args.id);
  let sock: Socket | undefined;
  let closed = false;
  const decoder = new StringDecoder('utf8');
  const pending: TerminalInput[] = [];
  let flow: ReturnType<typeof flowControl> | undefined;
  const deliver = (s: string) => {
    if (!s) return;
    flow?.sent(s.length);
    sink.data(s);
  };
  const input = (i: TerminalInput) => {
    if (!sock) return void pending.push(i);
    if ('data' in i) sock.write(i.data);
    else if ('ack' in i) flow?.acked(i.ack);
    else void engine.containers.resize(r.Id, i.rows, i.cols).catch(() => undefined);
  };
  engine.attach(r.Id, { stdin: r.Config.OpenStdin, stdout: true, stderr: true }).then((s) => {
    if (closed) return void s.destroy();
    sock = s;
    flow = flowControl(s);
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      if (r.Config.Tty) return deliver(decoder.write(chunk));
      // Without a TTY the shim speaks Docker's 8-byte framed stream; keep only the payloads.
      buf = Buffer.concat([buf, chunk]);
      let text = '';
      while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(4)) {
        const n = buf.readUInt32BE(4);
        text += decoder.write(buf.subarray(8, 8 + n)).replace(/(?<!\r)\n/g, '\r\n');
        buf = buf.subarray(8 + n);
      }
      deliver(text);
    });
    s.on('close', () => {
      if (!closed) sink.end();
      closed = true;
    });
    s.on('error', () => undefined);
    if (r.Config.Tty) void engine.containers.resize(r.Id, args.rows, args.cols).catch(() => undefined);
    for (const i of pending.splice(0)) input(i);
  }, (e: Error) => {
    closed = true;
    sink.end(e);
  });
  return {
    input,
    close() {
      closed = true;
      sock?.destroy();
    },
  };
}
