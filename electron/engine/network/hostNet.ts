// The host side of bridge networking, through iproute2 and iptables: bridges, veth pairs moved
// into a container's network namespace, and the forward/NAT rules of each network.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EngineError, unsupported } from '../errors.ts';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((p) => existsSync(p));
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'].find((p) => existsSync(p));
const IPTABLES = ['/usr/sbin/iptables', '/sbin/iptables'].find((p) => existsSync(p));
const IPTABLES_RESTORE = ['/usr/sbin/iptables-restore', '/sbin/iptables-restore'].find((p) => existsSync(p));

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 20_000 }, (e, out, err) => {
      if (e) reject(new EngineError('INTERNAL', `${cmd.split('/').pop()} ${args.join(' ')}: ${(err || e.message).trim()}`));
      else resolve(out);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

function needIp(): string {
  if (!IP) throw unsupported('bridge networking needs iproute2 (the `ip` command): apt-get install iproute2');
  return IP;
}

export function linkExists(dev: string): boolean {
  return existsSync(`/sys/class/net/${dev}`);
}

/** Whether this host has the iptables command; without it there is no NAT for outbound traffic. */
export function hasIptables(): boolean {
  return !!IPTABLES && !!IPTABLES_RESTORE;
}

export interface BridgeSpec {
  dev: string;
  gateway: string;
  prefixLen: number;
  mtu: number;
}

/** Creates the bridge with its gateway address, or checks that an existing one has it. */
export async function ensureBridge(b: BridgeSpec): Promise<void> {
  const ip = needIp();
  if (!linkExists(b.dev)) {
    await run(ip, ['-batch', '-'], [
      `link add name ${b.dev} mtu ${b.mtu} type bridge`,
      `addr add ${b.gateway}/${b.prefixLen} dev ${b.dev}`,
      `link set ${b.dev} up`,
    ].join('\n') + '\n').catch(async (e) => {
      if (linkExists(b.dev)) await run(ip, ['link', 'del', b.dev]).catch(() => undefined);
      throw e;
    });
  } else {
    const addrs = await run(ip, ['-o', '-4', 'addr', 'show', 'dev', b.dev]);
    if (!addrs.includes(` ${b.gateway}/${b.prefixLen} `)) await run(ip, ['addr', 'add', `${b.gateway}/${b.prefixLen}`, 'dev', b.dev]);
    await run(ip, ['link', 'set', b.dev, 'up']);
  }
  try {
    if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  } catch {
    /* read-only /proc/sys: outbound NAT will not work, container-to-container still does */
  }
}

export async function deleteLink(dev: string): Promise<void> {
  if (linkExists(dev)) await run(needIp(), ['link', 'del', dev]).catch(() => undefined);
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
}

/** One veth pair: the host end on the bridge, the peer created directly in the container's namespace. */
export async function attachVeth(v: VethSpec): Promise<void> {
  const ip = needIp();
  if (!NSENTER) throw unsupported('bridge networking needs nsenter (util-linux)');
  await run(ip, ['-batch', '-'], [
    `link add ${v.hostName} mtu ${v.mtu} type veth peer name ${v.ifname} mtu ${v.mtu} address ${v.mac} netns ${v.pid}`,
    `link set ${v.hostName} master ${v.bridge} up`,
  ].join('\n') + '\n');
  try {
    const inside = [`addr add ${v.address}/${v.prefixLen} dev ${v.ifname}`, `link set ${v.ifname} up`];
    if (v.gateway) inside.push(`route replace default via ${v.gateway} dev ${v.ifname}`);
    await run(NSENTER, [`--net=/proc/${v.pid}/ns/net`, ip, '-batch', '-'], inside.join('\n') + '\n');
  } catch (e) {
    await deleteLink(v.hostName);
    throw e;
  }
}

/** Removes an interface from a running container (disconnect). */
export async function detachVeth(pid: number, ifname: string, hostName: string): Promise<void> {
  if (NSENTER) await run(NSENTER, [`--net=/proc/${pid}/ns/net`, needIp(), 'link', 'del', ifname]).catch(() => undefined);
  await deleteLink(hostName);
}

// --- firewall --------------------------------------------------------------------------------
// Two chains of our own, jumped to from FORWARD and POSTROUTING, hold one tagged group of rules
// per network. Other daemons' rules (a FORWARD policy of DROP, say) are left alone.

const FWD = 'BERTH-FORWARD';
const NAT = 'BERTH-POSTROUTING';

async function ensureChains(): Promise<void> {
  const ipt = IPTABLES!;
  for (const [table, chain, parent] of [['filter', FWD, 'FORWARD'], ['nat', NAT, 'POSTROUTING']]) {
    await run(ipt, ['-w', '-t', table, '-N', chain]).catch(() => undefined);
    const present = await run(ipt, ['-w', '-t', table, '-C', parent, '-j', chain]).then(() => true, () => false);
    if (!present) await run(ipt, ['-w', '-t', table, '-I', parent, '1', '-j', chain]);
  }
}

async function taggedRules(table: string, chain: string, tag: string): Promise<string[]> {
  const out = await run(IPTABLES!, ['-w', '-t', table, '-S', chain]).catch(() => '');
  return out.split('\n').filter((l) => l.startsWith(`-A ${chain} `) && (l.includes(`--comment ${tag} `) || l.includes(`--comment "${tag}"`)));
}

export interface FirewallSpec {
  tag: string;
  dev: string;
  subnet: string;
  internal: boolean;
  /** NAT and forward outbound traffic */
  masquerade: boolean;
}

/** Rules for one network: traffic within the bridge, outbound with NAT, replies back in; no traffic to other Berth bridges. */
export async function ensureFirewall(f: FirewallSpec): Promise<void> {
  if (!hasIptables()) return;
  await ensureChains();
  if ((await taggedRules('filter', FWD, f.tag)).length) return;
  const c = `-m comment --comment ${f.tag}`;
  const filter = [`-A ${FWD} -i ${f.dev} -o ${f.dev} ${c} -j ACCEPT`];
  if (f.internal) {
    filter.push(`-A ${FWD} -i ${f.dev} ${c} -j DROP`, `-A ${FWD} -o ${f.dev} ${c} -j DROP`);
  } else {
    filter.push(`-A ${FWD} -i ${f.dev} -o berth+ ${c} -j DROP`, `-A ${FWD} -i ${f.dev} ${c} -j ACCEPT`,
      `-A ${FWD} -o ${f.dev} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`);
  }
  const nat = f.masquerade && !f.internal ? [`-A ${NAT} -s ${f.subnet} ! -o ${f.dev} ${c} -j MASQUERADE`] : [];
  await run(IPTABLES_RESTORE!, ['-w', '--noflush'], `*filter\n${filter.join('\n')}\nCOMMIT\n*nat\n${nat.join('\n')}\nCOMMIT\n`);
}

export async function removeFirewall(tag: string): Promise<void> {
  if (!hasIptables()) return;
  for (const [table, chain, parent] of [['filter', FWD, 'FORWARD'], ['nat', NAT, 'POSTROUTING']]) {
    for (const rule of await taggedRules(table, chain, tag)) {
      await run(IPTABLES!, ['-w', '-t', table, ...splitRule(rule.replace(/^-A /, '-D '))]).catch(() => undefined);
    }
    // The last network gone: our chain and its jump go too.
    const left = await run(IPTABLES!, ['-w', '-t', table, '-S', chain]).catch(() => undefined);
    if (left !== undefined && !left.split('\n').some((l) => l.startsWith('-A '))) {
      await run(IPTABLES!, ['-w', '-t', table, '-D', parent, '-j', chain]).catch(() => undefined);
      await run(IPTABLES!, ['-w', '-t', table, '-X', chain]).catch(() => undefined);
    }
  }
}

function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}
