// The engine's end of an agent channel (common/agentChannel.ts): an agent socket per id, in a
// directory of its own (0700, root's), whose requests go through the channel to the app's
// agent. A build names these sockets as its running agents, so a RUN --mount=type=ssh relays
// to them as it relays to an agent on the engine's own machine. When the channel closes, so do
// the sockets, and requests still waiting are answered with a failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { AGENT_FAILURE, agentMessage, agentMessages, answerFrames, relayable, requestFrame } from '../../common/agentChannel.ts';

const FAILURE = new Uint8Array([AGENT_FAILURE]);

export class ChannelAgents {
  private readonly servers: Server[] = [];
  private readonly clients = new Set<Socket>();
  private readonly waiting = new Map<number, (answer: Uint8Array) => void>();
  private seq = 0;
  private closed = false;
  /** the socket of each id */
  readonly paths: Record<string, string> = {};

  private constructor(private readonly dir: string, private readonly channel: Duplex) {}

  /** Listens for each id; the channel's answers are matched to the requests by their seq. */
  static async open(ids: string[], channel: Duplex, head: Buffer): Promise<ChannelAgents> {
    const a = new ChannelAgents(mkdtempSync(`${tmpdir()}/berth-agents-`), channel);
    const read = answerFrames((seq, msg) => a.answered(seq, msg), () => a.close());
    channel.on('data', (chunk: Buffer) => read(chunk));
    // The connection may be half-open (an HTTP server's are): the app's end alone ends it.
    for (const ev of ['end', 'close', 'error']) channel.on(ev, () => a.close());
    try {
      for (const [i, id] of ids.entries()) {
        const path = `${a.dir}/${i}`;
        const server = createServer((s) => a.serve(s, id));
        a.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(path, () => resolve());
        });
        a.paths[id] = path;
      }
    } catch (e) {
      a.close();
      throw e;
    }
    if (head.length) read(head);
    return a;
  }

  private serve(s: Socket, id: string): void {
    this.clients.add(s);
    s.on('close', () => this.clients.delete(s));
    s.on('error', () => undefined);
    s.on('data', agentMessages((msg) => {
      if (this.closed || !relayable(msg)) {
        s.write(agentMessage(FAILURE));
        return;
      }
      const seq = ++this.seq;
      this.waiting.set(seq, (answer) => {
        if (!s.destroyed) s.write(agentMessage(answer));
      });
      this.channel.write(requestFrame(seq, id, msg));
    }, () => s.destroy()));
  }

  private answered(seq: number, msg: Uint8Array): void {
    const reply = this.waiting.get(seq);
    this.waiting.delete(seq);
    reply?.(msg);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const reply of this.waiting.values()) reply(FAILURE);
    this.waiting.clear();
    for (const c of this.clients) c.destroy();
    for (const s of this.servers) s.close();
    this.channel.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
