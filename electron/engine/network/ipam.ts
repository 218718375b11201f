// IPv4 address management: subnets as CIDR strings, addresses handed out once and freed on release.
import { conflict, invalid } from '../errors.ts';

export interface Cidr {
  base: number;
  bits: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw invalid(`invalid IPv4 address: ${ip}`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(s: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || Number(m[2]) > 32) throw invalid(`invalid CIDR address: ${s}`);
  const bits = Number(m[2]);
  const ip = ipToInt(m[1]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.bits);
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + size(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s. */
export function* defaultPool(): Generator<Cidr> {
  for (let i = 17; i <= 31; i++) yield { base: ipToInt(`172.${i}.0.0`), bits: 16 };
  for (let i = 0; i < 256; i += 16) yield { base: ipToInt(`192.168.${i}.0`), bits: 20 };
}

/** The first pool subnet that overlaps none of `taken`. */
export function pickSubnet(taken: Cidr[]): Cidr {
  for (const c of defaultPool()) if (!taken.some((t) => overlaps(t, c))) return c;
  throw invalid('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

export interface PoolConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

/** Validates a user's IPAM config and fills the gateway (first host address) as Docker does. */
export function normalizePool(cfg: { Subnet?: string; Gateway?: string; IPRange?: string }, fallback: Cidr): PoolConfig {
  const subnet = cfg.Subnet ? parseCidr(cfg.Subnet) : fallback;
  if (subnet.bits > 30) throw invalid(`subnet ${formatCidr(subnet)} is too small: a network needs at least a /30`);
  if (cfg.Subnet && formatCidr(subnet) !== cfg.Subnet) throw invalid(`invalid subnet ${cfg.Subnet}: it has host bits set (did you mean ${formatCidr(subnet)}?)`);
  const gateway = cfg.Gateway ? ipToInt(cfg.Gateway) : subnet.base + 1;
  if (!contains(subnet, gateway) || gateway === subnet.base || gateway === subnet.base + size(subnet) - 1) {
    throw invalid(`invalid gateway ${intToIp(gateway)}: not a host address of subnet ${formatCidr(subnet)}`);
  }
  let range: string | undefined;
  if (cfg.IPRange) {
    const r = parseCidr(cfg.IPRange);
    if (r.base < subnet.base || r.base + size(r) > subnet.base + size(subnet)) throw invalid(`ip range ${cfg.IPRange} is not inside subnet ${formatCidr(subnet)}`);
    range = formatCidr(r);
  }
  return { Subnet: formatCidr(subnet), Gateway: intToIp(gateway), IPRange: range };
}

/**
 * Allocations of one network: address → owner. The caller persists `used`.
 * Addresses come in order from the last one handed out, so a freed address is not reused at once
 * (a peer's ARP cache may still point at the old owner).
 */
export class Ipam {
  private readonly subnet: Cidr;
  private readonly range: Cidr;
  private readonly gateway: number;

  constructor(pool: PoolConfig, readonly used: Record<string, string>, private cursor = 0) {
    this.subnet = parseCidr(pool.Subnet);
    this.range = pool.IPRange ? parseCidr(pool.IPRange) : this.subnet;
    this.gateway = ipToInt(pool.Gateway);
  }

  get prefixLen(): number {
    return this.subnet.bits;
  }

  get last(): number {
    return this.cursor;
  }

  private usable(ip: number): boolean {
    return ip !== this.subnet.base && ip !== this.subnet.base + size(this.subnet) - 1 && ip !== this.gateway && !(intToIp(ip) in this.used);
  }

  allocate(owner: string, wanted?: string): string {
    if (wanted) {
      const ip = ipToInt(wanted);
      if (!contains(this.subnet, ip)) throw invalid(`requested address ${wanted} is not in subnet ${formatCidr(this.subnet)}`);
      if (!this.usable(ip)) throw conflict(`Address already in use: ${wanted}`);
      this.used[wanted] = owner;
      return wanted;
    }
    const n = size(this.range);
    const start = contains(this.range, this.cursor) ? this.cursor - this.range.base : 0;
    for (let i = 1; i <= n; i++) {
      const ip = this.range.base + ((start + i) % n);
      if (this.usable(ip)) {
        this.used[intToIp(ip)] = owner;
        this.cursor = ip;
        return intToIp(ip);
      }
    }
    throw invalid(`no available IPv4 addresses on this network's address pools: ${formatCidr(this.range)}`);
  }

  release(ip: string): void {
    delete this.used[ip];
  }
}
