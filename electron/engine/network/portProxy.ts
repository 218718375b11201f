// Published ports: a listener on the host address for each binding that relays to the
// container's address, as docker-proxy does. TCP is served by the native helper's proxy mode
// (splice(2), half-close, outlives the engine, exits with the container); UDP by a socket per
// client in the engine.
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { conflict } from '../errors.ts';
import { isAlive, procStarttime, terminate, type ProcessRef } from '../sys/proc.ts';

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

const ERRNO: Record<number, string> = { 13: 'EACCES', 22: 'EINVAL', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' };

/** TCP: one helper process per container binds every listener, then relays with splice(2). */
function spawnTcpProxy(bindings: PortBinding[], target: string, helper: ProxyHelper): Promise<{ ports: number[]; proxy: ProcessRef }> {
  const args = ['proxy', '--target', target, '--watch', String(helper.watchPid)];
  for (const b of bindings) args.push(b.hostIp, String(b.hostPort), String(b.containerPort));
  const child = spawn(helper.path, args, { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (e: Error) => {
      child.kill('SIGKILL');
      reject(e);
    };
    child.once('error', fail);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.destroy();
      child.unref();
      const [word, ...rest] = out.slice(0, nl).split(' ');
      if (word === 'ok') {
        resolve({ ports: rest.map(Number), proxy: { pid: child.pid!, starttime: procStarttime(child.pid!) ?? 0 } });
        return;
      }
      const [index, errno] = rest.map(Number);
      fail(Object.assign(new Error(`proxy: errno ${errno}`), { code: ERRNO[errno] ?? `errno ${errno}`, index }));
    });
    child.once('exit', (code) => fail(new Error(`the port proxy exited (${code}) before it was ready`)));
  });
}

export interface ProxyHelper {
  /** path of berth-helper */
  path: string;
  /** the container's init: the proxy exits with it, even when the engine is gone */
  watchPid: number;
}

export interface Publication {
  /** the bindings with the host ports actually bound */
  ports: PortBinding[];
  /** the process serving the TCP bindings; it outlives an engine restart */
  proxy?: ProcessRef;
  /** the container stopped: everything closes */
  close(): void;
  /** the engine is going away but the container is not: UDP closes, the TCP proxy serves on */
  closeLocal(): void;
}

function bindError(e: unknown, b: PortBinding): unknown {
  const err = e as NodeJS.ErrnoException;
  const where = `${b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp}:${b.hostPort}`;
  if (err.code === 'EADDRINUSE') return conflict(`failed to bind port ${where}/${b.proto}: address already in use`);
  if (err.code === 'EADDRNOTAVAIL') return conflict(`failed to bind port ${where}/${b.proto}: the host has no address ${b.hostIp}`);
  if (err.code === 'EACCES') return conflict(`failed to bind port ${where}/${b.proto}: permission denied`);
  return e;
}

async function openUdp(bindings: PortBinding[], target: string): Promise<Published[]> {
  const open: Published[] = [];
  try {
    for (const b of bindings) open.push(await listenUdp(b, target));
  } catch (e) {
    for (const p of open) p.close();
    throw bindError(e, bindings[open.length]);
  }
  return open;
}

/**
 * Opens every binding or none: a port in use closes those already opened and says which one.
 * An existing proxy (after an engine restart) keeps serving TCP; UDP is reopened here.
 */
export async function publish(bindings: PortBinding[], target: string, helper: ProxyHelper, existing?: ProcessRef): Promise<Publication> {
  const tcp = bindings.filter((b) => b.proto === 'tcp');
  let ports: PortBinding[] = [];
  let proxy: ProcessRef | undefined;
  if (existing && isAlive(existing)) {
    proxy = existing;
    ports = tcp;
  } else if (tcp.length) {
    try {
      const r = await spawnTcpProxy(tcp, target, helper);
      proxy = r.proxy;
      ports = tcp.map((b, i) => ({ ...b, hostPort: r.ports[i] }));
    } catch (e) {
      const index = (e as { index?: number }).index;
      throw bindError(e, tcp[index !== undefined && index >= 0 ? index : 0]);
    }
  }
  let udp: Published[];
  try {
    udp = await openUdp(bindings.filter((b) => b.proto === 'udp'), target);
  } catch (e) {
    if (proxy) terminate(proxy);
    throw e;
  }
  return {
    ports: [...ports, ...udp],
    proxy,
    close() {
      if (proxy) terminate(proxy);
      for (const p of udp) p.close();
    },
    closeLocal() {
      for (const p of udp) p.close();
    },
  };
}
