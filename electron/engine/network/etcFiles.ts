// The files the engine writes for a container's /etc (hosts, resolv.conf) and the environment
// legacy links add: plain text made from the container's record and the host's files.
import { readFileSync } from 'node:fs';
import type { ContainerRecord } from '../containers/containerRecord.ts';

export const LOCALHOST = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

export function readHostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The host's resolv.conf without loopback nameservers (unreachable from another namespace). */
export function filteredResolvConf(): string {
  const kept = readHostFile('/etc/resolv.conf').split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l));
  return `${kept.join('\n').trim()}\n`;
}

/** The environment Docker's legacy links give a container. */
export function linkEnv(r: ContainerRecord, links: { target: ContainerRecord; alias: string }[]): string[] {
  const env: string[] = [];
  for (const { target, alias } of links) {
    const ip = Object.values(target.NetworkSettings?.Networks ?? {})[0]?.IPAddress ?? '';
    const p = alias.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    env.push(`${p}_NAME=/${r.Name.slice(1)}/${alias}`);
    const ports = Object.keys(target.Config.ExposedPorts ?? {}).sort((a, b) => parseInt(a) - parseInt(b));
    if (ports.length) env.push(`${p}_PORT=${ports[0].split('/')[1]}://${ip}:${parseInt(ports[0])}`);
    for (const key of ports) {
      const [port, proto] = key.split('/');
      const v = `${p}_PORT_${port}_${proto.toUpperCase()}`;
      env.push(`${v}=${proto}://${ip}:${port}`, `${v}_ADDR=${ip}`, `${v}_PORT=${port}`, `${v}_PROTO=${proto}`);
    }
    for (const e of target.Config.Env) {
      const k = e.slice(0, e.indexOf('='));
      if (!['HOME', 'PATH', 'HOSTNAME'].includes(k)) env.push(`${p}_ENV_${e}`);
    }
  }
  return env;
}

/** --add-host lines for the hosts file; host-gateway is the network's gateway. */
export function extraHosts(r: ContainerRecord, gateway: string): string {
  return (r.HostConfig.ExtraHosts ?? []).map((h) => {
    const i = h.indexOf(':') >= 0 && !h.includes('=') ? h.indexOf(':') : h.indexOf('=');
    const name = h.slice(0, i);
    let ip = h.slice(i + 1);
    if (ip === 'host-gateway') ip = gateway || '127.0.0.1';
    return `${ip}\t${name}\n`;
  }).join('');
}

/** resolv.conf for a container: its --dns options, the network's resolver, or the host's servers. */
export function resolvFor(r: ContainerRecord, nameserver?: string): string {
  const h = r.HostConfig;
  const base = filteredResolvConf();
  const keep = base.split('\n').filter((l) => l.trim() && !/^\s*nameserver\s/.test(l) && !(h.DnsSearch?.length && /^\s*(search|domain)\s/.test(l)) && !(h.DnsOptions?.length && /^\s*options\s/.test(l)));
  const servers = h.Dns?.length ? h.Dns : nameserver ? [nameserver] : base.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x);
  const lines = [...servers.map((s) => `nameserver ${s}`), ...keep];
  if (h.DnsSearch?.length) lines.push(`search ${h.DnsSearch.join(' ')}`);
  if (h.DnsOptions?.length) lines.push(`options ${h.DnsOptions.join(' ')}`);
  else if (nameserver && !keep.some((l) => /^\s*options\s/.test(l))) lines.push('options ndots:0');
  return `${lines.join('\n')}\n`;
}
