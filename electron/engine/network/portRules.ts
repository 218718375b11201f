// Published ports as the engine keeps them: the Docker API's PortBindings checked with the
// grammar the run form uses, the bindings a container's proxy serves, and the Ports map back.
import { checkPortBinding, portKey, type PortProto } from '../../../common/grammar/index.ts';
import type { PortMap } from '../../../common/models.ts';
import type { ContainerRecord } from '../containers/containerRecord.ts';
import type { PortBinding } from './portProxy.ts';

/** "80", "80/udp" → "80/tcp", "80/udp"; a bad port is an error naming it. */
export { portKey };

/** Validates PortBindings (the grammar's checks, as for the run form) and returns them with normalized keys. */
export function normalizePortBindings(pb: PortMap | null | undefined): PortMap {
  const out: PortMap = {};
  for (const [key, list] of Object.entries(pb ?? {})) {
    const m = /^(\d{1,5})(?:\/(\w+))?$/.exec(key);
    if (!m) portKey(key); // throws its message
    const containerPort = String(Number(m![1]));
    const proto = (m![2] ?? 'tcp').toLowerCase() as PortProto;
    const given = (list ?? []).map((b) => ({ hostIp: b?.HostIp ?? '', hostPort: b?.HostPort ?? '', containerPort, proto }));
    for (const b of given.length ? given : [{ hostIp: '', hostPort: '', containerPort, proto }]) checkPortBinding(b);
    out[`${containerPort}/${proto}`] = given.map((b) => ({ HostIp: b.hostIp, HostPort: b.hostPort }));
  }
  return out;
}

/** Exposed ports with their bindings, `-P` giving each exposed port a random host port. */
export function portBindings(r: ContainerRecord): PortBinding[] {
  const pb = r.HostConfig.PortBindings ?? {};
  const keys = new Set([...Object.keys(pb), ...(r.HostConfig.PublishAllPorts ? Object.keys(r.Config.ExposedPorts ?? {}) : [])]);
  const out: PortBinding[] = [];
  for (const key of keys) {
    const [port, proto] = key.split('/');
    const list = pb[key]?.length ? pb[key]! : [{ HostIp: '', HostPort: '' }];
    for (const b of list) {
      out.push({ proto: proto === 'udp' ? 'udp' : 'tcp', hostIp: b.HostIp || '0.0.0.0', hostPort: Number((b.HostPort ?? '').split('-')[0] || 0), containerPort: Number(port) });
    }
  }
  return out;
}

/** The bindings a proxy serves, as the container's NetworkSettings.Ports. */
export function recordPorts(r: ContainerRecord, ports: PortBinding[]): void {
  const map: PortMap = {};
  for (const key of Object.keys(r.Config.ExposedPorts ?? {})) map[key] = null;
  for (const p of ports) (map[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  r.NetworkSettings!.Ports = map;
}
