// Published ports: a listener on the host address for each binding that relays to the
// container's address, as docker-proxy does, served by the native helper's proxy mode: TCP with
// splice(2) and half-close, UDP with a socket per client. One proxy per container; it outlives
// the engine and exits with the container. A rootless engine's proxy binds in the host's
// network namespace and then enters the engine's own, where the containers' bridges are.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { conflict } from '../errors.ts';
import { isAlive, procStarttime, terminate, type ProcessRef } from '../sys/proc.ts';

export interface PortBinding {
  proto: 'tcp' | 'udp';
  hostIp: string;
  /** 0 picks a free port */
  hostPort: number;
  containerPort: number;
}

const ERRNO: Record<number, string> = { 13: 'EACCES', 22: 'EINVAL', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' };

/**
 * One helper process binds every listener, then relays. `listenNetns`: bind there instead (a
 * resolver's address on a rootless bridge) and reach the target from here.
 */
export function spawnProxy(bindings: PortBinding[], target: string, helper: ProxyHelper, listenNetns?: string): Promise<{ ports: number[]; proxy: ProcessRef }> {
  const args = ['proxy', '--target', target, '--watch', String(helper.watchPid)];
  if (helper.netns) args.push('--netns', helper.netns);
  if (listenNetns) args.push('--listen-netns', listenNetns);
  for (const b of bindings) args.push(b.hostIp, String(b.hostPort), `${b.containerPort}${b.proto === 'udp' ? '/udp' : ''}`);
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
  /** the network namespace the target is in, when it is not the engine's (rootless) */
  netns?: string;
  /** binding below ip_unprivileged_port_start is refused with Docker's rootless message */
  rootless?: boolean;
}

export interface Publication {
  /** the bindings with the host ports actually bound */
  ports: PortBinding[];
  /** the process serving the bindings; it outlives an engine restart */
  proxy?: ProcessRef;
  /** the container stopped: everything closes */
  close(): void;
}

function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}

function bindError(e: unknown, b: PortBinding, rootless: boolean): unknown {
  const err = e as NodeJS.ErrnoException;
  const where = `${b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp}:${b.hostPort}`;
  if (err.code === 'EADDRINUSE') return conflict(`failed to bind port ${where}/${b.proto}: address already in use`);
  if (err.code === 'EADDRNOTAVAIL') return conflict(`failed to bind port ${where}/${b.proto}: the host has no address ${b.hostIp}`);
  if (err.code === 'EACCES' && rootless) {
    const start = unprivilegedPortStart();
    return conflict(`cannot expose privileged port ${b.hostPort}, you can add 'net.ipv4.ip_unprivileged_port_start=${b.hostPort}' to /etc/sysctl.conf (currently ${start}), `
      + `or choose a larger port number (>= ${start}): listen ${b.proto} ${where}: bind: permission denied`);
  }
  if (err.code === 'EACCES') return conflict(`failed to bind port ${where}/${b.proto}: permission denied`);
  return e;
}

/**
 * Opens every binding or none: a port in use closes those already opened and says which one.
 * An existing proxy (after an engine restart) keeps serving.
 */
export async function publish(bindings: PortBinding[], target: string, helper: ProxyHelper, existing?: ProcessRef): Promise<Publication> {
  if (existing && isAlive(existing)) return { ports: bindings, proxy: existing, close: () => terminate(existing) };
  if (!bindings.length) return { ports: [], close: () => undefined };
  try {
    const r = await spawnProxy(bindings, target, helper);
    return { ports: bindings.map((b, i) => ({ ...b, hostPort: r.ports[i] })), proxy: r.proxy, close: () => terminate(r.proxy) };
  } catch (e) {
    const index = (e as { index?: number }).index;
    throw bindError(e, bindings[index !== undefined && index >= 0 ? index : 0], !!helper.rootless);
  }
}
