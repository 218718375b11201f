// The app's end of an agent channel (common/agentChannel.ts): the requests a build on a remote
// engine makes of the app's running SSH agents, passed on one at a time over a connection per
// agent, and answered. Only listing and signing reach an agent: this side is the one that keeps
// a remote engine from adding, removing or locking the user's keys.
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AGENT_FAILURE, AGENT_IDENTITIES_ANSWER, AGENT_REQUEST_IDENTITIES, agentMessage, agentMessages, answerFrame, relayable, requestFrames } from '../../../common/agentChannel.ts';

const FAILURE = new Uint8Array([AGENT_FAILURE]);

/** A running agent asked one request at a time, over a connection opened at the first one. */
class AgentLink {
  private sock?: Socket;
  private readonly answers: ((msg: Uint8Array) => void)[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  ask(msg: Uint8Array): Promise<Uint8Array> {
    const answer = this.queue.then(() => new Promise<Uint8Array>((resolve) => {
      const s = this.socket();
      if (s.destroyed) return resolve(FAILURE);
      this.answers.push(resolve);
      s.write(agentMessage(msg));
    }));
    this.queue = answer;
    return answer;
  }

  private socket(): Socket {
    if (this.sock && !this.sock.destroyed) return this.sock;
    const s = connect(this.path);
    const fail = () => {
      s.destroy();
      for (const a of this.answers.splice(0)) a(FAILURE);
    };
    s.on('error', fail);
    s.on('close', fail);
    s.on('data', agentMessages((m) => this.answers.shift()?.(m), fail));
    this.sock = s;
    return s;
  }

  close(): void {
    this.sock?.destroy();
  }
}

/** Whether an agent answers at `path`: asked for its keys, within `timeoutMs`. */
export async function agentAnswersAt(path: string, timeoutMs = 3000): Promise<boolean> {
  const link = new AgentLink(path);
  try {
    const timeout = new Promise<Uint8Array>((resolve) => setTimeout(() => resolve(FAILURE), timeoutMs).unref());
    const answer = await Promise.race([link.ask(new Uint8Array([AGENT_REQUEST_IDENTITIES])), timeout]);
    return answer[0] === AGENT_IDENTITIES_ANSWER;
  } finally {
    link.close();
  }
}

/**
 * Answers a channel's requests from the agents (id → socket path) until either side closes it;
 * the function returned closes it.
 */
export function serveAgentChannel(channel: Duplex, agents: Record<string, string>): () => void {
  const links = new Map(Object.entries(agents).map(([id, path]) => [id, new AgentLink(path)]));
  const close = () => {
    channel.destroy();
    for (const l of links.values()) l.close();
  };
  for (const ev of ['end', 'close', 'error']) channel.on(ev, close);
  channel.on('data', requestFrames((seq, id, msg) => {
    const link = links.get(id);
    const answer = link && relayable(msg) ? link.ask(msg) : Promise.resolve(FAILURE);
    void answer.then((a) => {
      if (!channel.destroyed) channel.write(answerFrame(seq, a));
    });
  }, close));
  return close;
}
