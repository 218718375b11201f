// The host side of bridge networking, through iproute2 and iptables: bridges, veth pairs moved
// into a container's network namespace, and the forward/NAT rules of each network. In root
// mode that is the host's network namespace; a rootless engine keeps its bridges in a network
// namespace of its own (held by its pause process) and runs every command there through nsenter.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EngineError, unsupported } from '../errors.ts';
import { parseCidr, type Cidr } from './ipam.ts';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((p) => existsSync(p));
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'].find((p) => existsSync(p));
const IPTABLES = ['/usr/sbin/iptables', '/sbin/iptables'].find((p) => existsSync(p));
const IPTABLES_RESTORE = ['/usr/sbin/iptables-restore', '/sbin/iptables-restore'].find((p) => existsSync(p));

/** Runs cmd args; `shown` is what an error names (the command without an nsenter prefix). */
function exec(cmd: string, args: string[], input?: string, shown = [cmd, ...args]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 20_000 }, (e, out, err) => {
      if (e) reject(new EngineError('INTERNAL', `${shown[0].split('/').pop()} ${shown.slice(1).join(' ')}: ${(err || e.message).trim()}`));
      else resolve(out);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

function needIp(): string {
  if (!IP) throw unsupported('bridge networking needs iproute2 (the `ip` command): apt-get install iproute2');
  return IP;
}

function needNsenter(): string {
  if (!NSENTER) throw unsupported('bridge networking needs nsenter (util-linux)');
  return NSENTER;
}

export interface BridgeSpec {
  dev: string;
  gateway: string;
  prefixLen: number;
  mtu: number;
  /** a dual-stack network's v6 gateway, ADDR/BITS */
  gateway6?: string;
}

export interface VethSpec {
  bridge: string;
  hostName: string;
  pid: number;
  ifname: string;
  address: string;
  prefixLen: number;
  mac: string;
  mtu: number;
  /** set the default route through this gateway */
  gateway?: string;
  /** a dual-stack network's address, ADDR/BITS, and its default route */
  address6?: string;
  gateway6?: string;
  /** --link-local-ip addresses */
  linkLocal?: string[];
}

export interface FirewallSpec {
  tag: string;
  dev: string;
  subnet: string;
  internal: boolean;
  /** NAT and forward outbound traffic */
  masquerade: boolean;
}

// Two chains of our own, jumped to from FORWARD and POSTROUTING, hold one tagged group of rules
// per network. Other daemons' rules (a FORWARD policy of DROP, say) are left alone.
const FWD = 'BERTH-FORWARD';
const NAT = 'BERTH-POSTROUTING';

/** Bridges, veths and rules in one network namespace: the host's, or the one `netnsPid` is in. */
export class BridgeHost {
  constructor(readonly netnsPid?: number) {}

  /** Path of the namespace's handle, for helpers that join it. */
  get netnsPath(): string | undefined {
    return this.netnsPid ? `/proc/${this.netnsPid}/ns/net` : undefined;
  }

  /** Runs a command in the namespace (directly in root mode). */
  private run(cmd: string, args: string[], input?: string): Promise<string> {
    if (!this.netnsPath) return exec(cmd, args, input);
    return exec(needNsenter(), [`--net=${this.netnsPath}`, cmd, ...args], input, [cmd, ...args]);
  }

  linkExists(dev: string): boolean {
    if (!this.netnsPid) return existsSync(`/sys/class/net/${dev}`);
    try {
      return readFileSync(`/proc/${this.netnsPid}/net/dev`, 'latin1').split('\n').some((l) => l.trim().startsWith(`${dev}:`));
    } catch {
      return false;
    }
  }

  /** IPv4 routes of the namespace (loopback excluded), to keep new subnets off them. */
  routes(): Cidr[] {
    try {
      const args = ['-4', '-o', 'route', 'show', 'table', 'all'];
      const out = this.netnsPid
        ? execFileSync(needNsenter(), [`--net=${this.netnsPath}`, needIp(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        : execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const routes: Cidr[] = [];
      for (const l of out.split('\n')) {
        const dst = /^(?:local |broadcast )?([\d.]+(?:\/\d+)?)\s/.exec(l)?.[1];
        if (dst && !dst.startsWith('127.')) routes.push(parseCidr(dst.includes('/') ? dst : `${dst}/32`));
      }
      return routes;
    } catch {
      return [];
    }
  }

  /** Whether this host has the iptables command; without it there is no NAT for outbound traffic. */
  hasIptables(): boolean {
    return !!IPTABLES && !!IPTABLES_RESTORE;
  }

  /** Creates the bridge with its gateway address, or checks that an existing one has it. */
  async ensureBridge(b: BridgeSpec): Promise<void> {
    const ip = needIp();
    if (!this.linkExists(b.dev)) {
      await this.run(ip, ['-batch', '-'], [
        `link add name ${b.dev} mtu ${b.mtu} type bridge`,
        `addr add ${b.gateway}/${b.prefixLen} dev ${b.dev}`,
        ...(b.gateway6 ? [`addr add ${b.gateway6} dev ${b.dev} nodad`] : []),
        `link set ${b.dev} up`,
      ].join('\n') + '\n').catch(async (e) => {
        if (this.linkExists(b.dev)) await this.run(ip, ['link', 'del', b.dev]).catch(() => undefined);
        throw e;
      });
    } else {
      const addrs = await this.run(ip, ['-o', '-4', 'addr', 'show', 'dev', b.dev]);
      if (!addrs.includes(` ${b.gateway}/${b.prefixLen} `)) await this.run(ip, ['addr', 'add', `${b.gateway}/${b.prefixLen}`, 'dev', b.dev]);
      if (b.gateway6 && !(await this.run(ip, ['-o', '-6', 'addr', 'show', 'dev', b.dev])).includes(` ${b.gateway6} `)) {
        await this.run(ip, ['-6', 'addr', 'add', b.gateway6, 'dev', b.dev, 'nodad']);
      }
      await this.run(ip, ['link', 'set', b.dev, 'up']);
    }
    await this.enableForwarding();
  }

  /** ip_forward is per network namespace; read-only /proc/sys leaves only container-to-container traffic. */
  private async enableForwarding(): Promise<void> {
    if (this.netnsPid) {
      await this.run('/bin/sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']).catch(() => undefined);
      return;
    }
    try {
      if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    } catch {
      /* read-only /proc/sys */
    }
  }

  deleteLinkSync(dev: string): void {
    const args = ['link', 'del', dev];
    if (this.netnsPath) execFileSync(needNsenter(), [`--net=${this.netnsPath}`, needIp(), ...args], { stdio: 'ignore' });
    else execFileSync(needIp(), args, { stdio: 'ignore' });
  }

  async deleteLink(dev: string): Promise<void> {
    if (this.linkExists(dev)) await this.run(needIp(), ['link', 'del', dev]).catch(() => undefined);
  }

  /** One veth pair: the bridge end in this namespace, the peer created directly in the container's. */
  async attachVeth(v: VethSpec): Promise<void> {
    const ip = needIp();
    const nsenter = needNsenter();
    await this.run(ip, ['-batch', '-'], [
      `link add ${v.hostName} mtu ${v.mtu} type veth peer name ${v.ifname} mtu ${v.mtu} address ${v.mac} netns ${v.pid}`,
      `link set ${v.hostName} master ${v.bridge} up`,
    ].join('\n') + '\n');
    try {
      const inside = [`addr add ${v.address}/${v.prefixLen} dev ${v.ifname}`];
      if (v.address6) inside.push(`addr add ${v.address6} dev ${v.ifname} nodad`);
      for (const a of v.linkLocal ?? []) inside.push(`addr add ${a}/${a.includes(':') ? 64 : 16} dev ${v.ifname}${a.includes(':') ? ' nodad' : ''}`);
      inside.push(`link set ${v.ifname} up`);
      if (v.gateway) inside.push(`route replace default via ${v.gateway} dev ${v.ifname}`);
      if (v.gateway6) inside.push(`route replace ::/0 via ${v.gateway6} dev ${v.ifname}`);
      await exec(nsenter, [`--net=/proc/${v.pid}/ns/net`, ip, '-batch', '-'], inside.join('\n') + '\n', [ip, '-batch', '-']);
    } catch (e) {
      await this.deleteLink(v.hostName);
      throw e;
    }
  }

  /** Removes an interface from a running container (disconnect). */
  async detachVeth(pid: number, ifname: string, hostName: string): Promise<void> {
    if (NSENTER) await exec(NSENTER, [`--net=/proc/${pid}/ns/net`, needIp(), 'link', 'del', ifname]).catch(() => undefined);
    await this.deleteLink(hostName);
  }

  private async ensureChains(): Promise<void> {
    const ipt = IPTABLES!;
    for (const [table, chain, parent] of [['filter', FWD, 'FORWARD'], ['nat', NAT, 'POSTROUTING']]) {
      await this.run(ipt, ['-w', '-t', table, '-N', chain]).catch(() => undefined);
      const present = await this.run(ipt, ['-w', '-t', table, '-C', parent, '-j', chain]).then(() => true, () => false);
      if (!present) await this.run(ipt, ['-w', '-t', table, '-I', parent, '1', '-j', chain]);
    }
  }

  private async taggedRules(table: string, chain: string, tag: string): Promise<string[]> {
    const out = await this.run(IPTABLES!, ['-w', '-t', table, '-S', chain]).catch(() => '');
    return out.split('\n').filter((l) => l.startsWith(`-A ${chain} `) && (l.includes(`--comment ${tag} `) || l.includes(`--comment "${tag}"`)));
  }

  /** Rules for one network: traffic within the bridge, outbound with NAT, replies back in; no traffic to other Berth bridges. */
  async ensureFirewall(f: FirewallSpec): Promise<void> {
    if (!this.hasIptables()) return;
    await this.ensureChains();
    const c = `-m comment --comment ${f.tag}`;
    const filter = [`-A ${FWD} -i ${f.dev} -o ${f.dev} ${c} -j ACCEPT`];
    if (f.internal) {
      filter.push(`-A ${FWD} -i ${f.dev} ${c} -j DROP`, `-A ${FWD} -o ${f.dev} ${c} -j DROP`);
    } else {
      filter.push(`-A ${FWD} -i ${f.dev} -o berth+ ${c} -j DROP`, `-A ${FWD} -i ${f.dev} ${c} -j ACCEPT`,
        `-A ${FWD} -o ${f.dev} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`);
    }
    const nat = f.masquerade && !f.internal ? [`-A ${NAT} -s ${f.subnet} ! -o ${f.dev} ${c} -j MASQUERADE`] : [];
    // All of the group or none: an engine that died while adding or removing it left a part.
    const [hasFilter, hasNat] = [await this.taggedRules('filter', FWD, f.tag), await this.taggedRules('nat', NAT, f.tag)];
    if (hasFilter.length === filter.length && hasNat.length === nat.length) return;
    if (hasFilter.length || hasNat.length) await this.removeFirewall(f.tag, false);
    await this.run(IPTABLES_RESTORE!, ['-w', '--noflush'], `*filter\n${filter.join('\n')}\nCOMMIT\n*nat\n${nat.join('\n')}\nCOMMIT\n`);
  }

  async removeFirewall(tag: string, dropEmptyChains = true): Promise<void> {
    if (!this.hasIptables()) return;
    for (const [table, chain, parent] of [['filter', FWD, 'FORWARD'], ['nat', NAT, 'POSTROUTING']]) {
      for (const rule of await this.taggedRules(table, chain, tag)) {
        await this.run(IPTABLES!, ['-w', '-t', table, ...splitRule(rule.replace(/^-A /, '-D '))]).catch(() => undefined);
      }
      if (!dropEmptyChains) continue;
      // The last network gone: our chain and its jump go too.
      const left = await this.run(IPTABLES!, ['-w', '-t', table, '-S', chain]).catch(() => undefined);
      if (left !== undefined && !left.split('\n').some((l) => l.startsWith('-A '))) {
        await this.run(IPTABLES!, ['-w', '-t', table, '-D', parent, '-j', chain]).catch(() => undefined);
        await this.run(IPTABLES!, ['-w', '-t', table, '-X', chain]).catch(() => undefined);
      }
    }
  }
}

function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}
