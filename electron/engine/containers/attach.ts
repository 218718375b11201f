// Clients attached to a container's stdio (`docker attach`, `docker run -a`, the app's attach
// terminal). A client may attach before the container starts: its stdin (and stdin's EOF) waits,
// and start() connects it to the shim before the process execs, so no output is lost. The stream
// a client gets speaks the Docker API's format: raw with a TTY, 8-byte frames without.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { LogEntry } from '../../../common/docker.ts';
import type { HelperClient } from '../runtime/helperClient.ts';
import type { ContainerRecord } from './containerRecord.ts';

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs?: boolean;
  stream?: boolean;
}

/** Docker's 8-byte frame header: stream id, three zero bytes, big-endian length. */
export function frame(stream: 1 | 2, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

/** Frames in, payloads out (with the stream each came on), across chunk boundaries. */
export function deframer(): (chunk: Buffer) => { stream: number; data: Buffer }[] {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const out: { stream: number; data: Buffer }[] = [];
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      out.push({ stream: buf[0], data: buf.subarray(8, 8 + len) });
      buf = buf.subarray(8 + len);
    }
    return out;
  };
}

/** One client's stream: stdin buffered until a shim connection exists, output flow-controlled. */
class AttachStream {
  private shim?: Socket;
  private readonly buffered: Buffer[] = [];
  private stdinEnded = false;
  readonly stream: Duplex;

  constructor(private readonly req: AttachRequest, readonly tty: boolean, onClose: () => void) {
    this.stream = new Duplex({
      read: () => this.shim?.resume(),
      write: (chunk: Buffer, _enc, cb) => {
        if (!req.stdin) return cb();
        if (this.shim) this.shim.write(chunk, () => cb());
        else {
          this.buffered.push(Buffer.from(chunk));
          cb();
        }
      },
      final: (cb) => {
        if (this.shim && req.stdin) this.shim.end();
        else this.stdinEnded = true;
        cb();
      },
      destroy: (err, cb) => {
        this.shim?.destroy();
        onClose();
        cb(err);
      },
    });
  }

  /** Output of the log before the live stream (attach with logs=1). */
  async replay(entries: AsyncIterable<LogEntry>): Promise<void> {
    for await (const e of entries) this.stream.push(this.tty ? Buffer.from(e.text) : frame(e.stream === 'stderr' ? 2 : 1, Buffer.from(e.text)));
  }

  connect(shim: Socket): void {
    if (this.stream.destroyed) return void shim.destroy();
    this.shim = shim;
    shim.on('error', () => undefined);
    for (const b of this.buffered.splice(0)) shim.write(b);
    if (!this.req.stdin || this.stdinEnded) shim.end();
    // The shim always frames its output; a TTY client gets the payloads.
    const frames = deframer();
    const pieces = this.tty ? (c: Buffer) => frames(c).map((f) => f.data) : (c: Buffer) => [c];
    shim.on('data', (chunk: Buffer) => {
      for (const p of pieces(chunk)) if (!this.stream.push(p)) shim.pause();
    });
    shim.on('close', () => this.stream.push(null));
  }

  end(): void {
    this.stream.push(null);
  }
}

export class Attacher {
  private readonly pending = new Map<string, Set<{ s: AttachStream; req: AttachRequest }>>();

  constructor(private readonly helper: HelperClient) {}

  /**
   * Attaches to a container: connected now when it runs, else held until start() runs
   * connectPending. `logs` replays the log first; without `stream` that is all.
   */
  async attach(r: ContainerRecord, req: AttachRequest, logs: () => AsyncIterable<LogEntry>): Promise<{ stream: Duplex; tty: boolean }> {
    const tty = r.Config.Tty;
    let entry: { s: AttachStream; req: AttachRequest } | undefined;
    const s = new AttachStream(req, tty, () => {
      if (entry) this.pending.get(r.Id)?.delete(entry);
    });
    if (req.logs) await s.replay(logs());
    if (!req.stream) {
      s.end();
      return { stream: s.stream, tty };
    }
    if (r.State.Running && r.runtime) {
      s.connect(await this.helper.attach(r.runtime.runDir, req));
    } else {
      entry = { s, req };
      const set = this.pending.get(r.Id) ?? new Set();
      set.add(entry);
      this.pending.set(r.Id, set);
    }
    return { stream: s.stream, tty };
  }

  hasPending(id: string): boolean {
    return (this.pending.get(id)?.size ?? 0) > 0;
  }

  /** start()'s hook, before the process execs: every waiting client gets its shim connection. */
  async connectPending(id: string, runDir: string): Promise<void> {
    const set = this.pending.get(id);
    this.pending.delete(id);
    for (const { s, req } of set ?? []) s.connect(await this.helper.attach(runDir, req));
  }
}
