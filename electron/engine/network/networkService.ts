// Docker's network model on bridges: the predefined bridge, host and none networks, user-defined
// bridge networks with IPAM, a resolver per user network, endpoints, links and published ports.
// The records live in networkStore.ts, /etc files in etcFiles.ts, port rules in portRules.ts,
// and the host's bridges, veths and firewall in hostNet.ts.
import { randomBytes } from 'node:crypto';
import type { NetworkCreateOptions } from '../../../common/docker.ts';
import { checkNetworkName } from '../../../common/grammar/index.ts';
import type { EndpointConfig, EndpointSettings, NetworkSettings, NetworkView } from '../../../common/models.ts';
import type { ContainerNetwork, NetworkPlan } from './containerNetwork.ts';
import { NetworkStore, type NetworkRecord } from './networkStore.ts';
import type { ContainerRecord } from '../containers/containerRecord.ts';
import { conflict, EngineError, invalid, isEngineError, notFound, notRunning } from '../errors.ts';
import type { EventBus } from '../events/eventBus.ts';
import { DnsServer } from './dnsServer.ts';
import { BridgeHost } from './hostNet.ts';
import { formatCidr, intToIp, ipToInt, Ipam, normalizePool, overlaps, parseCidr, pickSubnet, type Cidr, type PoolConfig } from './ipam.ts';
import { bigToIp6, ip6ToBig, Ipam6, isV6, normalizePool6, overlaps6, parseCidr6, randomUla } from './ipam6.ts';
import { publish, spawnProxy, type PortBinding, type Publication } from './portProxy.ts';
import { terminate, type ProcessRef } from '../sys/proc.ts';
import { extraHosts, linkEnv, LOCALHOST, readHostFile, resolvFor } from './etcFiles.ts';
import { portBindings, recordPorts } from './portRules.ts';

export { normalizePortBindings, portKey } from './portRules.ts';

export type { NetworkRecord };

export type { NetworkCreateOptions };

export type { NetworkPlan };

export interface NetworkDeps {
  root: string;
  events: EventBus;
  containers: () => ContainerRecord[];
  resolveContainer: (ref: string) => ContainerRecord;
  saveContainer: (r: ContainerRecord) => void;
  /** berth-helper, whose proxy mode serves published TCP ports */
  helperPath: string;
  /** the default bridge's gateway address and prefix, as dockerd's --bip (default: a free pool) */
  defaultBridgeIp?: string;
  /** device name of the default bridge (default: derived from its id) */
  defaultBridge?: string;
  /**
   * A rootless engine: its bridges live in the network namespace of this process (the pause
   * process), not the host's; resolvers listen there through a relay, bridges default to the
   * user-mode stack's MTU.
   */
  rootlessNetns?: number;
  /** names every container's hosts file lists (an engine in a VM: host.berth.internal, the host) */
  hostAliases?: Record<string, string>;
}

/** slirp4netns's MTU: a bridge with the same MTU moves 5× more than with 1500 (rootless.md §5). */
export const ROOTLESS_MTU = 65520;

const PREDEFINED = ['bridge', 'host', 'none'];

/** `--bip 10.9.0.1/24`: gateway 10.9.0.1 on subnet 10.9.0.0/24. */
function bridgePool(bip: string): PoolConfig {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(bip);
  if (!m) throw invalid(`invalid --bip ${bip}: expected an address with a prefix length, e.g. 10.9.0.1/24`);
  const net = formatCidr(parseCidr(bip));
  return normalizePool({ Subnet: net, Gateway: m[1] }, parseCidr(net));
}

function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0'))].join(':');
}

function checkWantedAddresses(n: NetworkRecord, cfg: EndpointConfig | null | undefined): void {
  if (cfg?.IPAMConfig?.IPv4Address && (n.Name === 'bridge' || n.Driver !== 'bridge')) throw invalid('user specified IP address is supported only when connecting to networks with user configured subnets');
  if (cfg?.IPAMConfig?.IPv6Address && !n.ipv6) throw invalid(`user specified IPv6 address is supported only on networks with IPv6 enabled (${n.Name} has none): create it with --ipv6`);
}

/** The addresses asked for, checked: a v4 and a v6 one, and link-local ones. */
function ipamConfig(cfg?: EndpointConfig | null): EndpointSettings['IPAMConfig'] {
  const c = cfg?.IPAMConfig;
  if (!c) return null;
  const out: NonNullable<EndpointSettings['IPAMConfig']> = {};
  if (c.IPv4Address) out.IPv4Address = intToIp(ipToInt(c.IPv4Address));
  if (c.IPv6Address) out.IPv6Address = bigToIp6(ip6ToBig(c.IPv6Address));
  for (const a of c.LinkLocalIPs ?? []) {
    const ok = isV6(a) ? (ip6ToBig(a) >> 118n) === 0x3fan : (ipToInt(a) >>> 16) === 0xa9fe;
    if (!ok) throw invalid(`invalid link-local IP address: ${a}: use one in 169.254.0.0/16 or fe80::/10`);
  }
  if (c.LinkLocalIPs?.length) out.LinkLocalIPs = c.LinkLocalIPs;
  return Object.keys(out).length ? out : null;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function emptyEndpoint(networkId: string, cfg?: EndpointConfig | null): EndpointSettings {
  const mac = cfg?.MacAddress;
  if (mac && (!MAC.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1))) throw invalid(`invalid MAC address: ${mac}: use six hex pairs such as 02:42:ac:11:00:02, not a multicast one`);
  return {
    ...(mac ? { ConfiguredMac: mac.toLowerCase() } : {}),
    IPAMConfig: ipamConfig(cfg),
    Links: cfg?.Links?.length ? cfg.Links : null, Aliases: cfg?.Aliases?.length ? cfg.Aliases : null,
    MacAddress: '', NetworkID: networkId, EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
    IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null, DriverOpts: null,
  };
}

export class NetworkService implements ContainerNetwork {
  private readonly records: NetworkStore;
  private readonly ready = new Map<string, Promise<void>>();
  private readonly dns = new Map<string, { server: DnsServer; relay?: ProcessRef }>();
  private readonly running = new Map<string, Publication>();
  private readonly host: BridgeHost;
  private readonly defaultMtu: number;

  constructor(private readonly d: NetworkDeps) {
    this.host = new BridgeHost(d.rootlessNetns);
    this.defaultMtu = d.rootlessNetns ? ROOTLESS_MTU : 1500;
    this.records = new NetworkStore(`${d.root}/networks`);
    if (!this.records.byName('none')) this.records.save(this.records.newRecord('none', 'null', []));
    if (!this.records.byName('host')) this.records.save(this.records.newRecord('host', 'host', []));
    const bip = d.defaultBridgeIp ? bridgePool(d.defaultBridgeIp) : undefined;
    const existing = this.records.byName('bridge');
    const moved = existing && bip && (existing.IPAM.Config[0].Subnet !== bip.Subnet || existing.IPAM.Config[0].Gateway !== bip.Gateway);
    if (existing && moved) {
      // --bip changed: the bridge is rebuilt with the new address when no container holds one.
      if (Object.keys(existing.used).length) throw new EngineError('UNAVAILABLE', `cannot move the default bridge to ${d.defaultBridgeIp}: containers still hold addresses in ${existing.IPAM.Config[0].Subnet}; stop them first`);
      if (existing.device && this.host.linkExists(existing.device)) this.host.deleteLinkSync(existing.device);
      existing.IPAM.Config = [bip];
      existing.autoSubnet = false;
      existing.cursor = 0;
      this.records.save(existing);
    }
    if (!existing) {
      const rec = this.records.newRecord('bridge', 'bridge', [bip ?? normalizePool({}, this.freeSubnet())]);
      rec.autoSubnet = !bip;
      rec.device = d.defaultBridge ?? `berth-${rec.Id.slice(0, 9)}`;
      rec.Options = { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': rec.device, 'com.docker.network.driver.mtu': String(this.defaultMtu) };
      this.records.save(rec);
    }
  }

  private freeSubnet(except?: string): Cidr {
    const taken = [...this.host.routes(), ...this.records.all().filter((n) => n.Id !== except).flatMap((n) => n.IPAM.Config.map((c) => parseCidr(c.Subnet)))];
    return pickSubnet(taken);
  }

  /** Docker's lookup order: full id, exact name, unique id prefix. */
  get(ref: string): NetworkRecord {
    return this.records.get(ref);
  }

  list(): NetworkRecord[] {
    return this.records.list();
  }

  /** Containers with an endpoint on the network (running or not). */
  private members(n: NetworkRecord): ContainerRecord[] {
    return this.d.containers().filter((c) => Object.values(c.NetworkSettings?.Networks ?? {}).some((e) => e.NetworkID === n.Id));
  }

  view(n: NetworkRecord): NetworkView {
    const containers: NetworkView['Containers'] = {};
    for (const c of this.members(n)) {
      const ep = Object.values(c.NetworkSettings!.Networks).find((e) => e.NetworkID === n.Id)!;
      if (!c.State.Running || !ep.EndpointID) continue;
      containers[c.Id] = {
        Name: c.Name.slice(1), EndpointID: ep.EndpointID, MacAddress: ep.MacAddress,
        IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '', IPv6Address: '',
      };
    }
    return {
      Name: n.Name, Id: n.Id, Created: n.Created, Scope: 'local', Driver: n.Driver, EnableIPv4: true, EnableIPv6: !!n.ipv6,
      IPAM: { Driver: 'default', Options: n.IPAM.Options, Config: [...n.IPAM.Config, ...(n.ipv6 ? [n.ipv6] : [])].map((c) => ({ ...c, IPRange: c.IPRange || undefined })) },
      Internal: n.Internal, Attachable: n.Attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers, Options: { ...n.Options, ...(n.device ? { 'com.docker.network.bridge.name': n.device } : {}) }, Labels: n.Labels,
    };
  }

  /** Creates the network and brings its bridge up at once, so its subnet shows on the host's routes. */
  async create(o: NetworkCreateOptions): Promise<NetworkRecord> {
    if (!o || typeof o.Name !== 'string' || !o.Name) throw invalid('network name is required');
    checkNetworkName(o.Name);
    if (PREDEFINED.includes(o.Name)) throw new EngineError('PERMISSION', `operation is not permitted on predefined ${o.Name} network`);
    if (this.records.byName(o.Name)) throw conflict(`network with name ${o.Name} already exists`);
    const driver = o.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new EngineError('PERMISSION', `only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found: Berth supports the bridge driver for user-defined networks`);
    if (o.IPAM?.Driver && o.IPAM.Driver !== 'default') throw invalid(`IPAM driver "${o.IPAM.Driver}" is not supported`);
    for (const [k, v] of Object.entries(o.Labels ?? {})) if (!k || /\s/.test(k) || typeof v !== 'string') throw invalid(`invalid label '${k}': a label needs a name without whitespace and a string value`);
    const all = o.IPAM?.Config ?? [];
    const configs = all.filter((c) => !(c.Subnet && isV6(c.Subnet)));
    const configs6 = all.filter((c) => c.Subnet && isV6(c.Subnet));
    if (configs.length > 1) throw invalid('only one IPv4 pool per network is supported');
    if (configs6.length > 1) throw invalid('only one IPv6 pool per network is supported');
    if (configs6.length && !o.EnableIPv6) throw invalid(`IPv6 subnet ${configs6[0].Subnet} needs IPv6 enabled on the network: add --ipv6`);
    let pool6: PoolConfig | undefined;
    if (o.EnableIPv6) {
      pool6 = normalizePool6(configs6[0] ?? {}, randomUla());
      const sub6 = parseCidr6(pool6.Subnet);
      const clash6 = this.records.all().find((x) => x.ipv6 && overlaps6(parseCidr6(x.ipv6.Subnet), sub6));
      if (clash6) throw conflict(`invalid pool request: Pool overlaps with other one on this address space (network ${clash6.Name} has ${clash6.ipv6!.Subnet})`);
    }
    const opts = { ...(o.Options ?? {}) };
    const mtu = Number(opts['com.docker.network.driver.mtu'] ?? this.defaultMtu);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw invalid(`invalid MTU ${opts['com.docker.network.driver.mtu']}: it must be between 68 and 65535`);
    const others = this.records.all().flatMap((n) => n.IPAM.Config.map((c) => ({ n, c: parseCidr(c.Subnet) })));
    let pool: PoolConfig;
    if (configs[0]?.Subnet) {
      pool = normalizePool(configs[0], parseCidr(configs[0].Subnet));
      const sub = parseCidr(pool.Subnet);
      const clash = others.find((o2) => overlaps(o2.c, sub));
      if (clash) throw conflict(`invalid pool request: Pool overlaps with other one on this address space (network ${clash.n.Name} has ${formatCidr(clash.c)})`);
      const route = this.host.routes().find((r) => r.bits > 0 && overlaps(r, sub));
      if (route) throw conflict(`invalid pool request: subnet ${pool.Subnet} overlaps with a route of this host (${formatCidr(route)})`);
    } else {
      pool = normalizePool(configs[0] ?? {}, this.freeSubnet());
    }
    const rec = this.records.newRecord(o.Name, 'bridge', [pool]);
    rec.autoSubnet = !configs[0]?.Subnet;
    if (pool6) rec.ipv6 = pool6;
    const device = opts['com.docker.network.bridge.name'] || `berth-${rec.Id.slice(0, 9)}`;
    if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(device)) throw invalid(`invalid bridge name "${device}": at most 15 letters, digits, '.', '-' or '_'`);
    if (this.records.all().some((n) => n.device === device) || this.host.linkExists(device)) throw conflict(`bridge device ${device} already exists on this host`);
    rec.device = device;
    rec.Options = { ...opts, 'com.docker.network.driver.mtu': String(mtu) };
    rec.Internal = !!o.Internal;
    rec.Attachable = !!o.Attachable;
    rec.Labels = { ...(o.Labels ?? {}) };
    this.records.save(rec);
    try {
      await this.ensureUp(rec);
    } catch (e) {
      await this.teardown(rec).catch(() => undefined);
      this.records.delete(rec.Id);
      throw isEngineError(e) ? e : new EngineError('INTERNAL', `network ${rec.Name}: bringing up bridge ${device} failed: ${(e as Error).message}`, { cause: e });
    }
    this.d.events.emit('network', 'create', rec.Id, { name: rec.Name, type: 'bridge' });
    return rec;
  }

  async remove(ref: string): Promise<void> {
    const n = this.get(ref);
    if (PREDEFINED.includes(n.Name)) throw new EngineError('PERMISSION', `${n.Name} is a pre-defined network and cannot be removed`);
    const active = this.members(n).filter((c) => c.State.Running);
    if (active.length) {
      throw new EngineError('PERMISSION', `error while removing network: network ${n.Name} id ${n.Id} has active endpoints (${active.map((c) => c.Name.slice(1)).join(', ')})`);
    }
    n.removing = true;
    this.records.save(n);
    await this.teardown(n);
    this.records.delete(n.Id);
    this.d.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  /**
   * After an engine start, each record is made whole with the host again, as dockerd restores
   * its bridge networks: a removal the engine died in is finished; a user network gets its
   * bridge, all its firewall rules and its resolver (a create the engine died in may have left
   * any part of them missing); the default bridge, made at first use, is completed if it exists.
   * Returns what could not be restored, one line per network.
   */
  async recoverAll(): Promise<string[]> {
    const problems: string[] = [];
    for (const n of this.records.all()) {
      if (n.Driver !== 'bridge' || !n.device) continue;
      if (n.removing) {
        await this.teardown(n);
        this.records.delete(n.Id);
        this.d.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
        continue;
      }
      if (n.Name === 'bridge' && !this.host.linkExists(n.device)) continue;
      await this.ensureUp(n).catch((e) => problems.push(`network ${n.Name}: ${(e as Error).message}`));
    }
    return problems;
  }

  /** Removes the host side of a network: resolver, firewall rules and bridge. */
  private async teardown(n: NetworkRecord): Promise<void> {
    await this.ready.get(n.Id)?.catch(() => undefined);
    this.ready.delete(n.Id);
    this.closeDns(n.Id);
    if (n.device) {
      await this.host.removeFirewall(`berth:${n.Id.slice(0, 12)}`);
      await this.host.deleteLink(n.device);
    }
  }

  async prune(pred: (n: NetworkRecord) => boolean = () => true): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.list()) {
      if (PREDEFINED.includes(n.Name) || !pred(n) || this.members(n).length) continue;
      await this.remove(n.Id);
      removed.push(n.Name);
    }
    return removed;
  }

  /** Removes every bridge and rule this engine made (the predefined networks stay defined). */
  async teardownAll(): Promise<void> {
    for (const n of this.records.all()) await this.teardown(n);
  }

  // --- containers ------------------------------------------------------------------------------

  /** Checks the network mode at create time and returns the initial settings. */
  settingsFor(mode: string, endpoints: Record<string, EndpointConfig | null> | null | undefined, hasPorts: boolean): { mode: string; settings: NetworkSettings } {
    const settings: NetworkSettings = { Networks: {}, Ports: {}, SandboxKey: '' };
    if (mode.startsWith('container:')) {
      let target: ContainerRecord;
      try {
        target = this.d.resolveContainer(mode.slice('container:'.length));
      } catch (e) {
        throw isEngineError(e, 'NOT_FOUND') ? invalid(e.message) : e;
      }
      if (hasPorts) throw invalid('conflicting options: port publishing and the container type network mode');
      return { mode: `container:${target.Id}`, settings };
    }
    // A 404 from create reads as a missing image to the docker CLI (it would try a pull): 400 instead.
    const find = (ref: string) => {
      try {
        return this.get(ref);
      } catch (e) {
        throw isEngineError(e, 'NOT_FOUND') ? invalid(e.message) : e;
      }
    };
    const n = find(mode);
    const cfg = endpoints?.[mode] ?? endpoints?.[n.Name] ?? endpoints?.[n.Id] ?? endpoints?.default ?? null;
    if (cfg?.Aliases?.length && n.Name === 'bridge') throw invalid('network-scoped aliases are only supported for user-defined networks');
    checkWantedAddresses(n, cfg);
    settings.Networks[n.Name] = emptyEndpoint(n.Id, cfg);
    for (const [name, extra] of Object.entries(endpoints ?? {})) {
      if (name === mode || name === n.Name || name === n.Id || name === 'default') continue;
      const other = find(name);
      if (other.Driver !== 'bridge') throw invalid(`container cannot be connected to network ${other.Name} and ${n.Name} at once`);
      settings.Networks[other.Name] = emptyEndpoint(other.Id, extra);
    }
    return { mode: n.Driver === 'host' ? 'host' : n.Driver === 'null' ? 'none' : n.Name, settings };
  }

  private ensureUp(n: NetworkRecord): Promise<void> {
    let p = this.ready.get(n.Id);
    if (!p) {
      p = (async () => {
        // The subnet was free when the network was defined; another engine may have taken it since.
        const clash = () => (this.host.linkExists(n.device!) ? undefined : this.host.routes().find((r) => r.bits > 0 && overlaps(r, parseCidr(n.IPAM.Config[0].Subnet))));
        if (clash() && n.autoSubnet && !Object.keys(n.used).length) {
          n.IPAM.Config = [normalizePool({}, this.freeSubnet(n.Id))];
          n.cursor = 0;
          this.records.save(n);
        }
        const route = clash();
        const pool = n.IPAM.Config[0];
        if (route) throw conflict(`network ${n.Name}: its subnet ${pool.Subnet} now overlaps a route of this host (${formatCidr(route)}); remove the network that owns that route or recreate ${n.Name} with another subnet`);
        await this.host.ensureBridge({
          dev: n.device!, gateway: pool.Gateway, prefixLen: parseCidr(pool.Subnet).bits, mtu: Number(n.Options['com.docker.network.driver.mtu'] ?? this.defaultMtu),
          gateway6: n.ipv6 ? `${n.ipv6.Gateway}/${parseCidr6(n.ipv6.Subnet).bits}` : undefined,
        });
        await this.host.ensureFirewall({ tag: `berth:${n.Id.slice(0, 12)}`, dev: n.device!, subnet: pool.Subnet, internal: n.Internal, masquerade: true });
        if (n.Name !== 'bridge' && !this.dns.has(n.Id)) this.dns.set(n.Id, await this.startDns(n, pool.Gateway));
      })();
      this.ready.set(n.Id, p);
      p.catch(() => this.ready.delete(n.Id));
    }
    return p;
  }

  /**
   * The network's resolver on its gateway address, port 53. A rootless engine cannot bind in its
   * bridges' namespace: its resolver listens on the host's loopback and a relay (the helper's
   * proxy, bound in that namespace) forwards queries to it.
   */
  private async startDns(n: NetworkRecord, gateway: string): Promise<{ server: DnsServer; relay?: ProcessRef }> {
    const netns = this.host.netnsPath;
    const server = new DnsServer(netns ? '127.0.0.1' : gateway, (name) => this.lookup(n, name), (ip) => this.reverse(n, ip), netns ? 0 : 53);
    await server.listen();
    if (!netns) return { server };
    try {
      const r = await spawnProxy([{ proto: 'udp', hostIp: gateway, hostPort: 53, containerPort: server.port }], '127.0.0.1',
        { path: this.d.helperPath, watchPid: process.pid }, netns);
      return { server, relay: r.proxy };
    } catch (e) {
      server.close();
      throw new EngineError('INTERNAL', `network ${n.Name}: starting its resolver on ${gateway}:53 failed: ${(e as Error).message}`, { cause: e });
    }
  }

  private closeDns(id: string): void {
    const dns = this.dns.get(id);
    if (!dns) return;
    dns.server.close();
    if (dns.relay) terminate(dns.relay);
    this.dns.delete(id);
  }

  private endpointsOn(n: NetworkRecord): { c: ContainerRecord; ep: EndpointSettings }[] {
    const out: { c: ContainerRecord; ep: EndpointSettings }[] = [];
    for (const c of this.d.containers()) {
      if (!c.State.Running && !c.runtime) continue;
      for (const ep of Object.values(c.NetworkSettings?.Networks ?? {})) if (ep.NetworkID === n.Id && ep.IPAddress) out.push({ c, ep });
    }
    return out;
  }

  private lookup(n: NetworkRecord, name: string): string[] {
    const q = name.replace(/\.$/, '').toLowerCase();
    // v4 and v6 addresses; the resolver answers A or AAAA from them.
    return this.endpointsOn(n).filter(({ ep }) => (ep.DNSNames ?? []).some((d) => d.toLowerCase() === q))
      .flatMap(({ ep }) => [ep.IPAddress, ep.GlobalIPv6Address].filter(Boolean));
  }

  private reverse(n: NetworkRecord, ip: string): string | undefined {
    const hit = this.endpointsOn(n).find(({ ep }) => ep.IPAddress === ip);
    return hit ? `${hit.c.Name.slice(1)}.${n.Name}` : undefined;
  }

  private parseLinks(r: ContainerRecord): { target: ContainerRecord; alias: string }[] {
    return (r.HostConfig.Links ?? []).map((l) => {
      const [name, alias] = l.split(':');
      const target = this.d.resolveContainer(name.replace(/^\//, ''));
      if (!target.State.Running) throw conflict(`cannot link to a non running container: ${target.Name} AS /${r.Name.slice(1)}/${alias ?? name}`);
      return { target, alias: (alias ?? target.Name.slice(1)).split('/').pop()! };
    });
  }

  /** Before the process exists: addresses, hosts, resolv.conf and link environment. */
  async prepare(r: ContainerRecord): Promise<NetworkPlan> {
    const mode = r.HostConfig.NetworkMode ?? 'bridge';
    if (mode.startsWith('container:')) {
      const target = this.d.resolveContainer(mode.slice('container:'.length));
      if (!target.State.Running || !target.runtime) throw notRunning(`cannot join network of a non running container: ${target.Id}`);
      const dir = (f: string) => readHostFile(`${this.d.root}/containers/${target.Id}/${f}`);
      return { netns: { join: `/proc/${target.State.Pid}/ns/net` }, env: [], hosts: dir('hosts'), resolvConf: dir('resolv.conf'), needsSetup: false };
    }
    if (mode === 'host') {
      return { netns: 'host', env: [], hosts: readHostFile('/etc/hosts') || LOCALHOST, resolvConf: resolvFor(r), needsSetup: false };
    }
    if (mode === 'none') return { netns: 'new', env: [], hosts: `${LOCALHOST}`, resolvConf: resolvFor(r), needsSetup: false };
    const settings = r.NetworkSettings ?? { Networks: {}, Ports: {}, SandboxKey: '' };
    r.NetworkSettings = settings;
    const links = this.parseLinks(r);
    let hosts = LOCALHOST;
    let nameserver: string | undefined;
    let gateway = '';
    try {
      for (const [name, ep] of Object.entries(settings.Networks)) {
        const n = this.records.byId(ep.NetworkID);
        if (!n) throw notFound(`network ${name} not found: it was removed while the container was stopped; disconnect it or connect another network`);
        await this.ensureUp(n);
        this.allocate(r, n, ep);
        if (!gateway) gateway = ep.Gateway;
        hosts += `${ep.IPAddress}\t${r.Config.Hostname}\n`;
        if (ep.GlobalIPv6Address) hosts += `${ep.GlobalIPv6Address}\t${r.Config.Hostname}\n`;
        if (n.Name !== 'bridge' && !nameserver && this.dns.has(n.Id)) nameserver = ep.Gateway;
      }
    } catch (e) {
      this.releaseAddresses(r);
      throw e;
    }
    for (const { target, alias } of links) {
      const ip = Object.values(target.NetworkSettings?.Networks ?? {})[0]?.IPAddress;
      if (ip) hosts += `${ip}\t${alias} ${target.Config.Hostname} ${target.Name.slice(1)}\n`;
    }
    for (const [name, ip] of Object.entries(this.d.hostAliases ?? {})) hosts += `${ip}\t${name}\n`;
    hosts += extraHosts(r, gateway);
    return { netns: 'new', env: linkEnv(r, links), hosts, resolvConf: resolvFor(r, nameserver), needsSetup: Object.keys(settings.Networks).length > 0 };
  }

  private allocate(r: ContainerRecord, n: NetworkRecord, ep: EndpointSettings): void {
    const pool = n.IPAM.Config[0];
    const ipam = new Ipam(pool, n.used, n.cursor);
    const wanted = ep.IPAMConfig?.IPv4Address;
    if (ep.IPAddress && n.used[ep.IPAddress] === r.Id) return;
    if (wanted && n.used[wanted] === r.Id) {
      ep.IPAddress = wanted;
    } else {
      try {
        ep.IPAddress = ipam.allocate(r.Id, wanted);
      } catch (e) {
        if (wanted && isEngineError(e, 'CONFLICT')) throw conflict(`address ${wanted} is already in use on network ${n.Name}`);
        throw e;
      }
    }
    n.cursor = ipam.last || n.cursor;
    this.records.save(n);
    ep.IPPrefixLen = ipam.prefixLen;
    ep.Gateway = pool.Gateway;
    ep.MacAddress = ep.ConfiguredMac ?? macFor(ep.IPAddress);
    ep.EndpointID = randomBytes(32).toString('hex');
    ep.DNSNames = n.Name === 'bridge' ? null : [...new Set([r.Name.slice(1), ...(ep.Aliases ?? []), r.Id.slice(0, 12)])];
    if (n.ipv6 && !(ep.GlobalIPv6Address && n.used[ep.GlobalIPv6Address] === r.Id)) {
      const ipam6 = new Ipam6(n.ipv6, n.used);
      const wanted6 = ep.IPAMConfig?.IPv6Address;
      try {
        ep.GlobalIPv6Address = ipam6.allocate(r.Id, wanted6);
      } catch (e) {
        if (n.used[ep.IPAddress] === r.Id) delete n.used[ep.IPAddress];
        if (wanted6 && isEngineError(e, 'CONFLICT')) throw conflict(`address ${wanted6} is already in use on network ${n.Name}`);
        throw e;
      }
      ep.GlobalIPv6PrefixLen = ipam6.prefixLen;
      ep.IPv6Gateway = n.ipv6.Gateway;
      this.records.save(n);
    }
  }

  private releaseAddresses(r: ContainerRecord): void {
    for (const ep of Object.values(r.NetworkSettings?.Networks ?? {})) {
      const n = this.records.byId(ep.NetworkID);
      for (const ip of [ep.IPAddress, ep.GlobalIPv6Address]) {
        if (n && ip && n.used[ip] === r.Id) {
          delete n.used[ip];
          this.records.save(n);
        }
      }
      Object.assign(ep, { IPAddress: '', IPPrefixLen: 0, Gateway: '', MacAddress: '', EndpointID: '', DNSNames: null, GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPv6Gateway: '' });
    }
  }

  private hostVeth(r: ContainerRecord, n: NetworkRecord): string {
    return `veth${r.Id.slice(0, 5)}${n.Id.slice(0, 2)}`;
  }

  private async plug(r: ContainerRecord, pid: number, n: NetworkRecord, ep: EndpointSettings, index: number, defaultRoute: boolean): Promise<void> {
    await this.host.attachVeth({
      bridge: n.device!, hostName: this.hostVeth(r, n), pid, ifname: `eth${index}`, address: ep.IPAddress, prefixLen: ep.IPPrefixLen,
      mac: ep.MacAddress, mtu: Number(n.Options['com.docker.network.driver.mtu'] ?? this.defaultMtu), gateway: defaultRoute && !n.Internal ? ep.Gateway : undefined,
      address6: ep.GlobalIPv6Address ? `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` : undefined,
      gateway6: defaultRoute && !n.Internal && ep.IPv6Gateway ? ep.IPv6Gateway : undefined,
      linkLocal: ep.IPAMConfig?.LinkLocalIPs ?? [],
    });
  }

  /** After the process exists and before it runs: interfaces, then published ports. */
  async setup(r: ContainerRecord, pid: number): Promise<void> {
    const eps = Object.values(r.NetworkSettings!.Networks);
    r.NetworkSettings!.SandboxKey = `/proc/${pid}/ns/net`;
    for (const [i, ep] of eps.entries()) await this.plug(r, pid, this.records.byId(ep.NetworkID)!, ep, i, i === 0);
    const first = eps[0];
    const pub = await publish(portBindings(r), first.IPAddress, this.proxyHelper(pid));
    this.running.set(r.Id, pub);
    recordPorts(r, pub.ports);
    if (r.runtime) r.runtime.proxy = pub.proxy;
  }

  /** The container stopped: ports closed, addresses freed, host ends of its veths removed. */
  async release(r: ContainerRecord): Promise<void> {
    this.running.get(r.Id)?.close();
    this.running.delete(r.Id);
    if (!r.NetworkSettings) return;
    for (const ep of Object.values(r.NetworkSettings.Networks)) {
      const n = this.records.byId(ep.NetworkID);
      if (n && ep.IPAddress) await this.host.deleteLink(this.hostVeth(r, n));
    }
    this.releaseAddresses(r);
    r.NetworkSettings.Ports = {};
    r.NetworkSettings.SandboxKey = '';
  }

  /** After an engine restart: resolvers and published ports of a running container. */
  async recover(r: ContainerRecord): Promise<void> {
    const eps = Object.values(r.NetworkSettings?.Networks ?? {});
    if (!eps.length || !eps[0].IPAddress) return;
    for (const ep of eps) {
      const n = this.records.byId(ep.NetworkID);
      if (n) await this.ensureUp(n).catch(() => undefined);
    }
    const wanted: PortBinding[] = [];
    for (const [key, list] of Object.entries(r.NetworkSettings!.Ports)) {
      for (const b of list ?? []) wanted.push({ proto: key.endsWith('/udp') ? 'udp' : 'tcp', hostIp: b.HostIp || '0.0.0.0', hostPort: Number(b.HostPort), containerPort: parseInt(key) });
    }
    try {
      this.running.set(r.Id, await publish(wanted, eps[0].IPAddress, this.proxyHelper(r.State.Pid), r.runtime?.proxy));
    } catch {
      /* the port was taken while the engine was down: the container runs unpublished */
    }
  }

  async connect(netRef: string, containerRef: string, cfg: EndpointConfig | null = null): Promise<void> {
    const n = this.get(netRef);
    const r = this.d.resolveContainer(containerRef);
    const mode = r.HostConfig.NetworkMode ?? 'bridge';
    if (n.Driver !== 'bridge') throw new EngineError('PERMISSION', `container cannot be disconnected from host network or connected to ${n.Driver === 'host' ? 'host' : 'none'} network`);
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) throw new EngineError('PERMISSION', `container sharing network namespace with another container or host cannot be connected to any other network`);
    if (cfg?.Aliases?.length && n.Name === 'bridge') throw invalid('network-scoped aliases are only supported for user-defined networks');
    checkWantedAddresses(n, cfg);
    const ep = emptyEndpoint(n.Id, cfg);
    r.NetworkSettings ??= { Networks: {}, Ports: {}, SandboxKey: '' };
    if (Object.values(r.NetworkSettings.Networks).some((e) => e.NetworkID === n.Id)) throw new EngineError('PERMISSION', `endpoint with name ${r.Name.slice(1)} already exists in network ${n.Name}`);
    if (r.State.Running && r.runtime) {
      await this.ensureUp(n);
      this.allocate(r, n, ep);
      try {
        await this.plug(r, r.State.Pid, n, ep, Object.keys(r.NetworkSettings.Networks).length, false);
      } catch (e) {
        if (n.used[ep.IPAddress] === r.Id) delete n.used[ep.IPAddress];
        this.records.save(n);
        throw e;
      }
    }
    r.NetworkSettings.Networks[n.Name] = ep;
    this.d.saveContainer(r);
    this.d.events.emit('network', 'connect', n.Id, { container: r.Id, name: n.Name, type: n.Driver });
  }

  async disconnect(netRef: string, containerRef: string, force = false): Promise<void> {
    const n = this.get(netRef);
    const r = this.d.resolveContainer(containerRef);
    const entry = Object.entries(r.NetworkSettings?.Networks ?? {}).find(([, e]) => e.NetworkID === n.Id);
    if (!entry) {
      if (force) return;
      throw new EngineError('PERMISSION', `container ${r.Id} is not connected to network ${n.Name}`);
    }
    const [name, ep] = entry;
    const index = Object.keys(r.NetworkSettings!.Networks).indexOf(name);
    if (r.State.Running && r.runtime && ep.IPAddress) {
      await this.host.detachVeth(r.State.Pid, `eth${index}`, this.hostVeth(r, n));
      if (n.used[ep.IPAddress] === r.Id) delete n.used[ep.IPAddress];
      this.records.save(n);
    }
    delete r.NetworkSettings!.Networks[name];
    this.d.saveContainer(r);
    this.d.events.emit('network', 'disconnect', n.Id, { container: r.Id, name: n.Name, type: n.Driver });
  }

  /** A removed container's endpoints, including on stopped containers. */
  forget(r: ContainerRecord): void {
    this.releaseAddresses(r);
  }

  /**
   * A rootless engine's proxy reaches the container from inside the container's own network
   * namespace (to the address of its first interface, as Docker's proxy does), so the bytes take
   * the namespace's loopback path rather than a veth and the bridge: 1.3× the throughput here.
   */
  private proxyHelper(pid: number) {
    return { path: this.d.helperPath, watchPid: pid, netns: this.d.rootlessNetns ? `/proc/${pid}/ns/net` : undefined, rootless: !!this.d.rootlessNetns };
  }

  /** The engine is going away, its containers are not: resolvers close, port proxies serve on. */
  close(): void {
    for (const id of [...this.dns.keys()]) this.closeDns(id);
    this.ready.clear();
    this.running.clear();
  }
}

