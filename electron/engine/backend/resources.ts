// The engine's NetworksBackend and VolumesBackend, with `docker network|volume ls --filter`.
import type { Filters } from '../../../common/docker.ts';
import type { NetworksBackend, VolumesBackend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { invalid } from '../errors.ts';
import { pruneMatcher } from './pruneFilters.ts';
import type { NetworkRecord } from '../network/networkService.ts';
import type { VolumeRecord } from '../volumes/volumeService.ts';
import { labelMatch } from './containerViews.ts';

const BUILTIN = ['bridge', 'host', 'none'];
const truthy = (v: string) => !['', '0', 'no', 'false', 'none'].includes(v.toLowerCase());

function each(f: Filters, test: (key: string, v: string) => boolean): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (values.length && !values[key === 'label' ? 'every' : 'some']((v) => test(key, v))) return false;
  }
  return true;
}

function networkMatches(n: NetworkRecord, f: Filters): boolean {
  return each(f, (key, v) => {
    switch (key) {
      case 'name': return n.Name.includes(v);
      case 'id': return n.Id.startsWith(v);
      case 'driver': return n.Driver === v;
      case 'label': return labelMatch(n.Labels, v);
      case 'type': return v === 'builtin' ? BUILTIN.includes(n.Name) : v === 'custom' && !BUILTIN.includes(n.Name);
      case 'scope': return v === 'local';
      case 'dangling': return true;
      default: throw invalid(`invalid filter '${key}'`);
    }
  });
}

/** until=<unix seconds | RFC 3339>: made before then */
export function networksBackend(e: Engine): NetworksBackend {
  const n = e.networks;
  return {
    async list(filters = {}) {
      return n.list().filter((x) => networkMatches(x, filters)).map((x) => n.view(x));
    },
    async inspect(ref) {
      return n.view(n.get(ref));
    },
    async create(opts) {
      return { Id: (await n.create(opts)).Id, Warning: '' };
    },
    remove: (ref) => n.remove(ref),
    connect: (net, container, endpoint) => n.connect(net, container, endpoint ?? null),
    disconnect: (net, container, force) => n.disconnect(net, container, !!force),
    async prune(filters = {}) {
      const matches = pruneMatcher(filters);
      const removed = await n.prune((x) => matches(x.Created, x.Labels));
      return { NetworksDeleted: removed };
    },
  };
}

function volumeMatches(e: Engine, v: VolumeRecord, f: Filters): boolean {
  return each(f, (key, val) => {
    switch (key) {
      case 'name': return v.Name.includes(val);
      case 'driver': return val === 'local';
      case 'label': return labelMatch(v.Labels, val);
      case 'dangling': return truthy(val) === (e.volumes.users(v.Name).length === 0);
      case 'all': return true;
      default: throw invalid(`invalid filter '${key}'`);
    }
  });
}

export function volumesBackend(e: Engine): VolumesBackend {
  const vs = e.volumes;
  return {
    async list(filters = {}) {
      return vs.list().filter((v) => volumeMatches(e, v, filters)).map((v) => vs.view(v));
    },
    async inspect(name) {
      return vs.view(vs.get(name));
    },
    async create(opts) {
      return vs.view(vs.create(opts, !opts.Name));
    },
    async remove(name, force) {
      vs.remove(name, force);
    },
    async prune(filters = {}) {
      const labels = filters.label ?? [];
      const out = vs.prune(truthy(filters.all?.[0] ?? ''), (v) => labels.every((l) => labelMatch(v.Labels, l)));
      return { VolumesDeleted: out.names, SpaceReclaimed: out.reclaimed };
    },
    async browse(name, path) {
      return vs.browse(name, path);
    },
  };
}
