// The engine's ContainersBackend: container services behind the Docker API's shapes.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContainersBackend, ExecBackend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { EngineError, invalid } from '../errors.ts';
import { checkFilters, inspectView, listView, matchesFilters } from './containerViews.ts';
import { pruneMatcher } from './pruneFilters.ts';

const psSafe = /^[\w -]*$/;

/**
 * Pids in the container: every process in its init's pid namespace (execs included, as
 * dockerd lists the container's cgroup), or its init and descendants when it has none of its own.
 */
function processesOf(init: number): Set<number> {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${init}/ns/pid`);
  } catch {
    return new Set([init]);
  }
  if (ns === readlinkSync('/proc/self/ns/pid')) return treeOf(init);
  const out = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns) out.add(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function treeOf(init: number): Set<number> {
  const out = new Set<number>([init]);
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (out.has(ppid) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return out;
}

export function containersBackend(e: Engine): ContainersBackend {
  const svc = e.containers;
  const imageId = (ref: string) => {
    try {
      return e.images.resolveId(ref);
    } catch {
      return undefined;
    }
  };
  return {
    async list(opts = {}) {
      const f = opts.filters ?? {};
      checkFilters(f);
      const all = opts.all || !!f.status?.length || !!f.exited?.length;
      let list = svc.list(true).filter((r) => all || r.State.Running).filter((r) => matchesFilters(r, f, { imageId, container: (ref) => svc.get(ref) }));
      list.sort((a, b) => b.Created.localeCompare(a.Created));
      if (opts.limit && opts.limit > 0) list = list.slice(0, opts.limit);
      return list.map((r) => listView(r, !!opts.size));
    },
    async inspect(ref) {
      const r = svc.get(ref);
      return inspectView(r, svc.containerDir(r.Id), e.execs.running(r.Id));
    },
    async create(opts) {
      const warnings = svc.createWarnings(opts?.HostConfig);
      const r = await e.create(opts);
      return { Id: r.Id, Warnings: warnings };
    },
    async start(ref) {
      const r = svc.get(ref);
      if (r.State.Running) throw new EngineError('NOT_MODIFIED', `container ${r.Name.slice(1)} is already running`);
      const hooks = e.attacher.hasPending(r.Id) ? { beforeExec: (runDir: string) => e.attacher.connectPending(r.Id, runDir) } : undefined;
      await e.start(r.Id, hooks);
    },
    async stop(ref, opts = {}) {
      const r = svc.get(ref);
      if (!r.State.Running) throw new EngineError('NOT_MODIFIED', `container ${r.Name.slice(1)} is not running`);
      await svc.stop(r.Id, opts);
    },
    restart: (ref, opts) => svc.restart(ref, opts),
    kill: (ref, signal) => svc.kill(ref, signal),
    pause: (ref) => svc.pause(ref),
    unpause: (ref) => svc.unpause(ref),
    remove: (ref, opts) => svc.remove(ref, opts),
    async removeLink(parent, alias) {
      svc.removeLink(parent, alias);
    },
    async rename(ref, name) {
      svc.rename(ref, name);
    },
    async update(ref, u) {
      return { Warnings: svc.update(ref, u) };
    },
    resize: (ref, h, w) => svc.resize(ref, h, w),
    wait: (ref, condition, signal) => svc.wait(ref, condition, signal),
    async prune(filters = {}) {
      const matches = pruneMatcher(filters);
      const deleted: string[] = [];
      for (const r of svc.list(true)) {
        if (r.State.Running || r.State.Paused || !matches(r.Created, r.Config.Labels)) continue;
        await svc.remove(r.Id);
        deleted.push(r.Id);
      }
      return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 };
    },
    logs(ref, opts) {
      return e.logs(ref, opts);
    },
    async attach(ref, opts) {
      const r = svc.get(ref);
      if (!opts.stream && !opts.logs) throw invalid('attach needs stream=1 or logs=1');
      return e.attacher.attach(r, opts, () => e.logs(r.Id, { stdout: opts.stdout, stderr: opts.stderr }));
    },
    async stats(ref) {
      return e.stats(ref);
    },
    async top(ref, psArgs = '-ef') {
      const r = svc.get(ref);
      if (!r.State.Running) throw new EngineError('CONFLICT', `container ${r.Id} is not running`);
      if (!psSafe.test(psArgs)) throw invalid(`invalid ps arguments: ${psArgs}`);
      const procs = processesOf(r.State.Pid);
      const text = execFileSync('ps', psArgs.split(/\s+/).filter(Boolean), { encoding: 'utf8' }).trimEnd().split('\n');
      const titles = text[0].trim().split(/\s+/);
      const pidCol = titles.indexOf('PID');
      if (pidCol < 0) throw invalid(`ps arguments ${psArgs} leave out the PID column`);
      const rows = text.slice(1).map((l) => {
        const cols = l.trim().split(/\s+/);
        return [...cols.slice(0, titles.length - 1), cols.slice(titles.length - 1).join(' ')];
      }).filter((cols) => procs.has(Number(cols[pidCol])));
      return { Titles: titles, Processes: rows };
    },
    async changes(ref) {
      return e.changes(ref);
    },
    async export(ref): Promise<Readable> {
      return e.exportContainer(ref);
    },
    async archiveStat(ref, path) {
      return e.archiveStat(ref, path);
    },
    async archiveGet(ref, path) {
      return e.archiveGet(ref, path);
    },
    archivePut: (ref, dir, tar) => e.archivePut(ref, dir, tar),
  };
}

/** Exec instances, through the engine's exec sessions. */
export function execBackend(e: Engine): ExecBackend {
  return {
    async create(container, cfg) {
      return { Id: e.execs.create(container, cfg) };
    },
    async start(id, opts) {
      return e.execs.start(id, opts);
    },
    async resize(id, h, w) {
      e.execs.resize(id, h, w);
    },
    async inspect(id) {
      return e.execs.inspect(id);
    },
  };
}

