// The contract over a unix socket, one JSON message per line: how the app reaches an engine in
// another process (a rootless engine in its user namespace, an engine in a VM through a
// forwarded socket). The engine serves it (serveContract); the app's transports relay each of
// their connections to it (RelayConnection), so the renderer sees the same contract either way.
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { lineReader } from '../../common/lines.ts';
import type { ServerMessage } from '../../common/contract.ts';
import type { ContractHost } from './contractHost.ts';
import { UiConnection, type Channel } from './uiConnection.ts';

/** One connection of a transport (a WebSocket, an Electron window) to the contract. */
export interface Connection {
  receive(m: unknown): void;
  dispose(): void;
}

export type ConnectionFactory = (channel: Channel) => Connection;

/** No engine: every connection is told why, and how to fix it (web mode when the engine cannot start). */
export const unavailable = (detail: string): ConnectionFactory => (channel) => {
  channel.send({ t: 'state', state: 'lost', detail });
  return { receive: () => undefined, dispose: () => undefined };
};

/** The contract served in this process. */
export const inProcess = (host: ContractHost): ConnectionFactory => (channel) => new UiConnection(host, channel);

/** Calls fn with each complete line of the socket's input. */
function lines(sock: Socket, fn: (line: string) => void): void {
  sock.setEncoding('utf8').on('data', lineReader(fn));
}

/** Serves the contract on a unix socket only this user can open. */
export async function serveContract(host: ContractHost, path: string): Promise<{ close(): Promise<void> }> {
  rmSync(path, { force: true });
  const open = new Set<Socket>();
  const server = createServer((sock) => {
    open.add(sock);
    const conn = new UiConnection(host, { send: (m) => void (sock.writable && sock.write(`${JSON.stringify(m)}\n`)) });
    lines(sock, (line) => {
      try {
        conn.receive(JSON.parse(line));
      } catch {
        sock.destroy();
      }
    });
    sock.on('close', () => {
      open.delete(sock);
      conn.dispose();
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of open) s.destroy();
      rmSync(path, { force: true });
    }),
  };
}

/**
 * One transport connection relayed to the engine's contract socket. While the engine is away
 * (restarting) the renderer is told the connection is lost, and the relay reconnects.
 */
export class RelayConnection implements Connection {
  private sock?: Socket;
  private open = false;
  private lost = false;
  private disposed = false;
  /** messages from the transport before the engine's socket connected */
  private queue: string[] = [];
  private delay = 100;
  private timer?: NodeJS.Timeout;

  constructor(private readonly path: string, private readonly channel: Channel) {
    this.connect();
  }

  private connect(): void {
    const sock = connect(this.path);
    this.sock = sock;
    sock.on('connect', () => {
      this.open = true;
      this.delay = 100;
      for (const m of this.queue) sock.write(m);
      this.queue = [];
      // The transport itself reported open when it connected; only a recovery is news.
      if (this.lost) this.channel.send({ t: 'state', state: 'open' });
      this.lost = false;
    });
    lines(sock, (line) => {
      try {
        this.channel.send(JSON.parse(line) as ServerMessage);
      } catch {
        sock.destroy();
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.disposed) return;
      // What was queued or in flight fails in the renderer with the lost state.
      this.queue = [];
      this.channel.send({ t: 'state', state: 'lost', detail: this.open ? 'reconnecting to the engine…' : 'cannot reach the engine, retrying…' });
      this.open = false;
      this.lost = true;
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 2000);
    });
  }

  receive(m: unknown): void {
    const line = `${JSON.stringify(m)}\n`;
    if (this.open && this.sock?.writable) this.sock.write(line);
    else if (!this.lost) this.queue.push(line);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.sock?.destroy();
  }
}
