// The guest agent's protocol, the same for every VM backend. The host opens one TCP (or vsock,
// or pipe) connection per stream and sends one header line: `<token> <verb> [arg]`.
//   control      newline-delimited JSON both ways: the guest sends `ready`, `ports`, `error`; the
//                host sends `shutdown` and `ping`
//   api          a byte stream to the engine's Docker API socket
//   contract     a byte stream to the engine's contract socket (the app's protocol)
//   tcp PORT     a byte stream to 127.0.0.1:PORT in the guest (published ports)
//   shell [B64]  a terminal in the guest (`berth machine ssh`): a login shell, or the command
//                whose text is base64url-encoded in the argument
// A wrong token or verb closes the connection without a word.
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';

export type Verb = { verb: 'control' } | { verb: 'api' } | { verb: 'contract' } | { verb: 'tcp'; port: number } | { verb: 'shell'; command?: string };

export interface BoundPort {
  proto: 'tcp' | 'udp';
  /** the address the container's port is published on ('0.0.0.0', '127.0.0.1', '::', …) */
  hostIp: string;
  hostPort: number;
  /** the container, for messages ("port 8080 of web is in use on the host") */
  container: string;
}

export type GuestMessage =
  | { type: 'ready'; version: string; kernel: string; arch: string; bootMs: number; engineMs: number; image: string }
  | { type: 'ports'; bound: BoundPort[] }
  | { type: 'error'; reason: string }
  | { type: 'pong' };

export type HostMessage = { type: 'shutdown' } | { type: 'ping' };

export const MAX_HEADER = 8192;

export function header(token: string, v: Verb): string {
  const arg = v.verb === 'tcp' ? ` ${v.port}` : v.verb === 'shell' && v.command ? ` ${Buffer.from(v.command).toString('base64url')}` : '';
  return `${token} ${v.verb}${arg}\n`;
}

/** The verb of a header line when its token is `token`, else undefined. */
export function parseHeader(line: string, token: string): Verb | undefined {
  const [given, verb, arg, ...rest] = line.trim().split(' ');
  if (!given || rest.length || !token) return undefined;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
  if ((verb === 'control' || verb === 'api' || verb === 'contract') && arg === undefined) return { verb };
  if (verb === 'tcp' && arg && /^\d{1,5}$/.test(arg) && +arg > 0 && +arg < 65536) return { verb, port: +arg };
  if (verb === 'shell') return arg === undefined ? { verb } : /^[A-Za-z0-9_-]+$/.test(arg) ? { verb, command: Buffer.from(arg, 'base64url').toString() } : undefined;
  return undefined;
}

/** Splits a stream of text into lines; returns the feed function. */
export { lineReader } from '../../common/lines.ts';

export function parseGuestMessage(line: string): GuestMessage | undefined {
  try {
    const m = JSON.parse(line) as GuestMessage;
    if (m.type === 'ready' && typeof m.version === 'string') return m;
    if (m.type === 'ports' && Array.isArray(m.bound)) {
      const ok = m.bound.every((p) => (p.proto === 'tcp' || p.proto === 'udp') && Number.isInteger(p.hostPort) && p.hostPort > 0 && p.hostPort < 65536);
      return ok ? m : undefined;
    }
    if (m.type === 'error' && typeof m.reason === 'string') return m;
    if (m.type === 'pong') return m;
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** The published ports of `docker ps`-shaped containers (the Docker API's /containers/json). */
export function boundPorts(list: Array<{ Names?: string[]; Id: string; Ports?: Array<{ IP?: string; PublicPort?: number; Type?: string }> }>): BoundPort[] {
  const out = new Map<string, BoundPort>();
  for (const c of list) {
    const name = c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
    for (const p of c.Ports ?? []) {
      if (!p.PublicPort || (p.Type !== 'tcp' && p.Type !== 'udp')) continue;
      const hostIp = p.IP || '0.0.0.0';
      out.set(`${p.Type}/${hostIp}/${p.PublicPort}`, { proto: p.Type, hostIp, hostPort: p.PublicPort, container: name });
    }
  }
  return [...out.values()].sort((a, b) => a.hostPort - b.hostPort || a.hostIp.localeCompare(b.hostIp));
}

/**
 * Joins two streams both ways. Half-closes pass through (an attach whose client ended its
 * input still gets the output); when one side is gone the other is ended, and destroyed if it
 * has not finished within `graceMs`; an error ends both.
 */
export function splice(a: Socket, b: Socket, graceMs = 5000): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  const after = (gone: Socket, other: Socket) => gone.on('close', () => {
    other.end();
    setTimeout(() => other.destroy(), graceMs).unref();
  });
  after(a, b);
  after(b, a);
  a.pipe(b);
  b.pipe(a);
}
