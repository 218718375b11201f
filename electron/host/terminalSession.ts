// A terminal for the UI: a shell exec'd in the container with a TTY, or an attach to the main
// process, through the backend's exec and attach streams. Output is flow-controlled end to end: the UI acknowledges what xterm has drawn and
// the process is paused while too much is in flight, so a flood never piles up in memory.
import { StringDecoder } from 'node:string_decoder';
import { TERMINAL_HIGH_WATER, TERMINAL_LOW_WATER, type StreamArgs, type TerminalInput } from '../../common/contract.ts';
import type { Backend, StdioStream } from '../backend/backend.ts';

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

export function openTerminal(backend: Backend, args: StreamArgs<'terminal'>, sink: StreamSink<string>): StreamHandle<TerminalInput> {
  let closed = false;
  let session: { input(i: TerminalInput): void; close(): void } | undefined;
  const pending: TerminalInput[] = [];
  const end = (e?: Error) => {
    if (closed) return;
    closed = true;
    sink.end(e);
  };
  const opened = args.mode === 'exec' ? execTerminal(backend, args, sink, end) : attachTerminal(backend, args, sink, end);
  opened.then((s) => {
    if (closed) return s.close();
    session = s;
    for (const i of pending.splice(0)) s.input(i);
  }, (e: Error) => end(e));
  return {
    input(i) {
      if (session) session.input(i);
      else pending.push(i);
    },
    close() {
      closed = true;
      session?.close();
    },
  };
}

/**
 * Relays a backend stdio stream to the UI: decoded as UTF-8, joined into fewer messages, and
 * paused (the stream stops reading, so the process blocks) while too much is unacknowledged.
 */
function relay(s: StdioStream, sink: StreamSink<string>, end: (e?: Error) => void, transform: (text: string) => string) {
  const decoder = new StringDecoder('utf8');
  const flow = flowControl({ pause: () => s.stream.pause(), resume: () => s.stream.resume() });
  const out = coalesce(sink, () => flow);
  const frames = s.tty ? undefined : deframe();
  s.stream.on('data', (chunk: Buffer) => {
    const text = frames ? frames(chunk).map((p) => decoder.write(p)).join('') : decoder.write(chunk);
    if (text) out.push(transform(text));
  });
  s.stream.on('error', () => undefined);
  s.stream.on('end', () => {
    out.flush();
    end();
  });
  s.stream.on('close', () => {
    out.flush();
    end();
  });
  return flow;
}

/** Docker's 8-byte frames in, payloads out, across chunk boundaries. */
function deframe(): (chunk: Buffer) => Buffer[] {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(4)) {
      const n = buf.readUInt32BE(4);
      out.push(buf.subarray(8, 8 + n));
      buf = buf.subarray(8 + n);
    }
    return out;
  };
}

async function execTerminal(backend: Backend, args: StreamArgs<'terminal'>, sink: StreamSink<string>, end: (e?: Error) => void) {
  const c = await backend.containers.inspect(args.id);
  const shell = args.shell ?? 'sh';
  const { Id } = await backend.exec.create(c.Id, { Cmd: [shell], Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Env: ['TERM=xterm-256color'] });
  const s = await backend.exec.start(Id, { consoleSize: [args.rows, args.cols] });
  if (!s) throw new Error(`exec of ${shell} in ${c.Name.slice(1)} did not attach`);
  // A shell that cannot be run ends at once, its error (and Docker's 126/127) in the output.
  const flow = relay(s, sink, end, (t) => t);
  return {
    input(i: TerminalInput) {
      if ('data' in i) s.stream.write(i.data);
      else if ('ack' in i) flow.acked(i.ack);
      else void backend.exec.resize(Id, i.rows, i.cols).catch(() => undefined);
    },
    close() {
      s.stream.destroy();
    },
  };
}

async function attachTerminal(backend: Backend, args: StreamArgs<'terminal'>, sink: StreamSink<string>, end: (e?: Error) => void) {
  const c = await backend.containers.inspect(args.id);
  const s = await backend.containers.attach(c.Id, { stdin: c.Config.OpenStdin, stdout: true, stderr: true, stream: true });
  // Without a TTY the output has bare line ends: a terminal needs "\r\n".
  const flow = relay(s, sink, end, s.tty ? (t) => t : (t) => t.replace(/(?<!\r)\n/g, '\r\n'));
  if (s.tty) void backend.containers.resize(c.Id, args.rows, args.cols).catch(() => undefined);
  return {
    input(i: TerminalInput) {
      if ('data' in i) s.stream.write(i.data);
      else if ('ack' in i) flow.acked(i.ack);
      else void backend.containers.resize(c.Id, i.rows, i.cols).catch(() => undefined);
    },
    close() {
      s.stream.destroy();
    },
  };
}
