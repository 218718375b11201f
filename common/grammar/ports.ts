// Published ports, one grammar for the run form, the app's host and the engine:
// `[ip:][hostPort:]containerPort[/proto]`, IPv6 addresses in brackets, ranges on either side.
// parsePortSpec turns the text into structured bindings; checkPortBinding is what the engine
// runs on bindings however they came (the form, the contract, the Docker API's PortBindings).
import { CodedError } from '../errors.ts';

export type PortProto = 'tcp' | 'udp' | 'sctp';

/** One published container port (or range): what the contract carries. */
export interface PortBindingSpec {
  /** '' for every address */
  hostIp: string;
  /** '' for any free port; a number or a range "8000-8010" */
  hostPort: string;
  /** a number or a range "80-81" */
  containerPort: string;
  proto: PortProto;
}

const bad = (message: string) => new CodedError('INVALID_ARGUMENT', message);
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;
const RANGE = /^(\d{1,5})(?:-(\d{1,5}))?$/;

export function isIpAddress(ip: string): boolean {
  const m = IPV4.exec(ip);
  if (m) return m.slice(1).every((x) => Number(x) <= 255);
  return IPV6.test(ip) && ip.includes(':') && ip.split('::').length <= 2 && ip.split(':').length <= 8;
}

/** A port or range, each end 1..65535 (0 allowed for a host port meaning "any"). */
function portRange(text: string, what: string, spec: string, allowZero = false): [number, number] {
  const m = RANGE.exec(text);
  if (!m) throw bad(`invalid ${what} "${text}" in port specification "${spec}": use a number or a range like 8000-8010`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  for (const n of [lo, hi]) if (n > 65535 || (n < 1 && !(allowZero && n === 0))) throw bad(`invalid ${what} "${text}" in port specification "${spec}": ports are 1 to 65535`);
  if (hi < lo) throw bad(`invalid ${what} "${text}" in port specification "${spec}": the range ends before it starts`);
  return [lo, hi];
}

/** A binding as `-p` text, the one way every message shows it: [ip:][host:]container/proto */
export function formatPortBinding(b: PortBindingSpec): string {
  const ip = b.hostIp ? (b.hostIp.includes(':') ? `[${b.hostIp}]:` : `${b.hostIp}:`) : '';
  return `${ip}${b.hostPort || ip ? `${b.hostPort}:` : ''}${b.containerPort}/${b.proto}`;
}

/** The checks the engine runs on every binding: address, ports, and ranges of one length. */
export function checkPortBinding(b: PortBindingSpec): PortBindingSpec {
  const spec = formatPortBinding(b);
  if (b.proto === 'sctp') throw bad(`invalid port specification "${spec}": sctp is not supported, use tcp or udp`);
  if (!['tcp', 'udp'].includes(b.proto)) throw bad(`invalid protocol "${b.proto}" in port specification "${spec}": use tcp or udp`);
  if (b.hostIp && !isIpAddress(b.hostIp)) throw bad(`invalid IP address "${b.hostIp}" in port specification "${spec}"`);
  const [clo, chi] = portRange(b.containerPort, 'container port', spec);
  if (b.hostPort) {
    const [hlo, hhi] = portRange(b.hostPort, 'host port', spec, true);
    // A host range for one container port picks a free port in it; otherwise the lengths match.
    if (chi > clo && hhi - hlo !== chi - clo) throw bad(`invalid port specification "${spec}": the host and container ranges differ in length`);
  }
  return b;
}

/** `docker run -p` text → one structured binding. */
export function parsePortSpec(text: string): PortBindingSpec {
  const spec = text.trim();
  let rest = spec;
  let proto: PortProto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase() as PortProto;
    rest = rest.slice(0, slash);
  }
  let hostIp = '';
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0 || rest[end + 1] !== ':') throw bad(`invalid port specification "${spec}": an IPv6 address goes in brackets, then a colon: [::1]:8080:80`);
    hostIp = rest.slice(1, end);
    rest = rest.slice(end + 2);
  }
  const parts = rest.split(':');
  if (!spec || parts.length > 3 || (hostIp && parts.length > 2)) throw bad(`invalid port specification "${spec}": use [ip:][hostPort:]containerPort[/tcp|udp]`);
  if (parts.length === 3) hostIp = parts.shift()!;
  const containerPort = parts.pop()!;
  const hostPort = parts.pop() ?? '';
  return checkPortBinding({ hostIp, hostPort, containerPort, proto });
}

/** An exposed port key "80/tcp" (the API's ExposedPorts and PortBindings keys), normalized. */
export function portKey(spec: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw bad(`invalid port specification: "${spec}"`);
  return `${Number(m[1])}/${(m[2] ?? 'tcp').toLowerCase()}`;
}

const range = (s: string): [number, number] => {
  const [a, b] = s.split('-');
  return [Number(a), Number(b ?? a)];
};

/** Structured bindings → the Docker API's PortBindings (a container range becomes one key per port). */
export function toPortBindings(list: PortBindingSpec[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const b of list) {
    const [clo, chi] = range(b.containerPort);
    const [hlo] = b.hostPort ? range(b.hostPort) : [0];
    for (let p = clo; p <= chi; p++) {
      const hostPort = !b.hostPort ? '' : chi > clo ? String(hlo + (p - clo)) : b.hostPort;
      (out[`${p}/${b.proto}`] ??= []).push({ HostIp: b.hostIp, HostPort: hostPort });
    }
  }
  return out;
}
