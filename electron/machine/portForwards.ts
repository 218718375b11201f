// Published ports of a machine's containers on the host, with the same numbers: the guest agent
// reports what is bound, this keeps one host listener per binding and relays each connection
// through a stream the backend opens to the guest's port.
import { createServer, type Server, type Socket } from 'node:net';
import { splice, type BoundPort } from './agentProtocol.ts';

export type OpenGuestPort = (port: number) => Promise<Socket>;

export interface ForwardProblem {
  port: BoundPort;
  message: string;
}

const key = (p: BoundPort): string => `${p.proto}/${p.hostIp}/${p.hostPort}`;

export class PortForwards {
  private readonly listeners = new Map<string, { port: BoundPort; server: Server; conns: Set<Socket> }>();
  problems: ForwardProblem[] = [];

  constructor(private readonly open: OpenGuestPort) {}

  /** The bindings forwarded now. */
  active(): BoundPort[] {
    return [...this.listeners.values()].map((l) => l.port);
  }

  /** Makes the host's listeners match `bound`; returns the bindings that could not be forwarded. */
  async apply(bound: BoundPort[]): Promise<ForwardProblem[]> {
    const want = new Map(bound.map((p) => [key(p), p]));
    for (const [k, l] of this.listeners) {
      if (want.has(k)) continue;
      this.listeners.delete(k);
      l.server.close();
      for (const c of l.conns) c.destroy();
    }
    const problems: ForwardProblem[] = [];
    for (const [k, p] of want) {
      if (this.listeners.has(k)) continue;
      if (p.proto !== 'tcp') {
        problems.push({ port: p, message: `UDP port ${p.hostPort} of ${p.container} is published in the machine only: UDP is not forwarded to the host yet` });
        continue;
      }
      try {
        this.listeners.set(k, await this.listen(p));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'is in use on the host: stop what listens there, or publish the container on another port'
          : code === 'EACCES' ? 'needs privileges on the host (ports below 1024): publish it on a port above 1023'
            : code === 'EADDRNOTAVAIL' ? `cannot be bound: the host has no address ${p.hostIp}` : `cannot be bound on the host (${code ?? (e as Error).message})`;
        problems.push({ port: p, message: `port ${p.hostIp}:${p.hostPort} of ${p.container} ${why}` });
      }
    }
    this.problems = problems;
    return problems;
  }

  close(): void {
    void this.apply([]);
  }

  private listen(p: BoundPort): Promise<{ port: BoundPort; server: Server; conns: Set<Socket> }> {
    const conns = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true }, (client) => {
      conns.add(client);
      client.on('error', () => undefined);
      client.pause();
      client.on('close', () => conns.delete(client));
      this.open(p.hostPort).then((guest) => {
        conns.add(guest);
        guest.on('close', () => conns.delete(guest));
        splice(client, guest);
        client.resume();
      }, () => client.destroy());
    });
    const host = p.hostIp === '' ? '0.0.0.0' : p.hostIp;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: p.hostPort, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        resolve({ port: p, server, conns });
      });
    });
  }
}
