// IPv6 address management for dual-stack networks: a v6 subnet per network (the user's, or a
// unique local /64 the engine picks), the gateway at its first address, containers after it.
import { randomBytes } from 'node:crypto';
import { conflict, invalid } from '../errors.ts';
import type { PoolConfig } from './ipam.ts';

export interface Cidr6 {
  base: bigint;
  bits: number;
}

const ALL = (1n << 128n) - 1n;

export function isV6(s: string): boolean {
  return s.includes(':');
}

export function ip6ToBig(ip: string): bigint {
  const bad = () => invalid(`invalid IPv6 address: ${ip}`);
  if (!/^[0-9a-fA-F:]+$/.test(ip) || (ip.match(/::/g) ?? []).length > 1) throw bad();
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? h.length !== 8 : missing < 1) throw bad();
  const groups = [...h, ...Array(tail === undefined ? 0 : missing).fill('0'), ...t];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) throw bad();
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 text: lower case, the longest run of zero groups as ::. */
export function bigToIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidr6(s: string): Cidr6 {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s);
  if (!m || Number(m[2]) > 128) throw invalid(`invalid CIDR address: ${s}`);
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
  return { base: ip6ToBig(m[1]) & mask, bits };
}

export const formatCidr6 = (c: Cidr6) => `${bigToIp6(c.base)}/${c.bits}`;
const size6 = (c: Cidr6) => 1n << BigInt(128 - c.bits);
export const contains6 = (c: Cidr6, ip: bigint) => ip >= c.base && ip < c.base + size6(c);
export const overlaps6 = (a: Cidr6, b: Cidr6) => a.base < b.base + size6(b) && b.base < a.base + size6(a);

/** A unique local /64 (fd00::/8 with a random global id, RFC 4193). */
export function randomUla(): Cidr6 {
  const id = randomBytes(7);
  id[0] = 0xfd;
  return { base: BigInt(`0x${id.toString('hex')}`) << 72n, bits: 64 };
}

/** The user's v6 pool, checked, with its gateway (the first address unless given). */
export function normalizePool6(cfg: { Subnet?: string; Gateway?: string }, fallback: Cidr6): PoolConfig {
  const subnet = cfg.Subnet ? parseCidr6(cfg.Subnet) : fallback;
  if (subnet.bits > 124) throw invalid(`subnet ${formatCidr6(subnet)} is too small: a network needs at least a /124`);
  if (cfg.Subnet && subnet.base !== ip6ToBig(cfg.Subnet.split('/')[0])) throw invalid(`invalid subnet ${cfg.Subnet}: it has host bits set (did you mean ${formatCidr6(subnet)}?)`);
  const gateway = cfg.Gateway ? ip6ToBig(cfg.Gateway) : subnet.base + 1n;
  if (!contains6(subnet, gateway) || gateway === subnet.base) throw invalid(`invalid gateway ${bigToIp6(gateway)}: not a host address of subnet ${formatCidr6(subnet)}`);
  return { Subnet: formatCidr6(subnet), Gateway: bigToIp6(gateway) };
}

/** Addresses of a v6 pool, handed out in order from the gateway; `used` is shared with the v4 pool (keys differ). */
export class Ipam6 {
  private readonly subnet: Cidr6;
  private readonly gateway: bigint;

  constructor(pool: PoolConfig, readonly used: Record<string, string>) {
    this.subnet = parseCidr6(pool.Subnet);
    this.gateway = ip6ToBig(pool.Gateway);
  }

  get prefixLen(): number {
    return this.subnet.bits;
  }

  allocate(owner: string, wanted?: string): string {
    if (wanted) {
      const ip = ip6ToBig(wanted);
      const text = bigToIp6(ip);
      if (!contains6(this.subnet, ip)) throw invalid(`requested address ${wanted} is not in subnet ${formatCidr6(this.subnet)}`);
      if (ip === this.gateway || ip === this.subnet.base || text in this.used) throw conflict(`Address already in use: ${wanted}`);
      this.used[text] = owner;
      return text;
    }
    const last = this.subnet.base + size6(this.subnet) - 1n;
    for (let ip = this.gateway + 1n; ip <= last && ip < this.gateway + 65536n; ip++) {
      const text = bigToIp6(ip);
      if (!(text in this.used)) {
        this.used[text] = owner;
        return text;
      }
    }
    throw invalid(`no available IPv6 addresses on this network's address pool: ${formatCidr6(this.subnet)}`);
  }
}
