// Published ports: a listener on the host address for each binding that relays to the
// container's address (TCP with half-close, UDP with a socket per client), as docker-proxy does.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { conflict } from '../errors.ts';

export interface PortBinding {
  proto: 'tcp' | 'udp';
  hostIp: string;
  /** 0 picks a free port */
  hostPort: number;
  containerPort: number;
}

export interface Published extends PortBinding {
  close(): void;
}

const UDP_IDLE_MS = 30_000;

function listenTcp(b: PortBinding, target: string): Promise<Published> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const upstream = connect({ host: target, port: b.containerPort, allowHalfOpen: true, noDelay: true });
      client.pipe(upstream);
      upstream.pipe(client);
      const destroy = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', destroy);
      upstream.on('error', destroy);
      client.on('close', () => upstream.end());
      upstream.on('close', () => client.end());
    });
    server.once('error', reject);
    server.listen({ host: b.hostIp, port: b.hostPort, exclusive: true }, () => {
      server.off('error', reject);
      const port = (server.address() as { port: number }).port;
      resolve({ ...b, hostPort: port, close: () => server.close() });
    });
  });
}

function listenUdp(b: PortBinding, target: string): Promise<Published> {
  return new Promise((resolve, reject) => {
    const front: UdpSocket = createSocket(b.hostIp.includes(':') ? 'udp6' : 'udp4');
    const peers = new Map<string, { sock: UdpSocket; timer: NodeJS.Timeout }>();
    front.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let p = peers.get(key);
      if (!p) {
        const sock = createSocket('udp4');
        sock.on('message', (answer) => front.send(answer, rinfo.port, rinfo.address));
        sock.on('error', () => undefined);
        p = { sock, timer: setTimeout(() => undefined, 0) };
        peers.set(key, p);
      }
      const peer = p;
      clearTimeout(peer.timer);
      peer.timer = setTimeout(() => {
        peer.sock.close();
        peers.delete(key);
      }, UDP_IDLE_MS);
      peer.timer.unref();
      peer.sock.send(msg, b.containerPort, target);
    });
    front.once('error', reject);
    front.bind({ address: b.hostIp, port: b.hostPort, exclusive: true }, () => {
      front.off('error', reject);
      front.on('error', () => undefined);
      resolve({
        ...b, hostPort: front.address().port,
        close: () => {
          for (const p of peers.values()) {
            clearTimeout(p.timer);
            p.sock.close();
          }
          front.close();
        },
      });
    });
  });
}

/** Opens every binding or none: a port in use closes those already opened and says which one. */
export async function publish(bindings: PortBinding[], target: string): Promise<Published[]> {
  const open: Published[] = [];
  try {
    for (const b of bindings) open.push(await (b.proto === 'udp' ? listenUdp(b, target) : listenTcp(b, target)));
  } catch (e) {
    for (const p of open) p.close();
    const err = e as NodeJS.ErrnoException;
    const b = bindings[open.length];
    const where = `${b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp}:${b.hostPort}`;
    if (err.code === 'EADDRINUSE') throw conflict(`failed to bind port ${where}/${b.proto}: address already in use`);
    if (err.code === 'EADDRNOTAVAIL') throw conflict(`failed to bind port ${where}/${b.proto}: the host has no address ${b.hostIp}`);
    if (err.code === 'EACCES') throw conflict(`failed to bind port ${where}/${b.proto}: permission denied`);
    throw e;
  }
  return open;
}
