// A cgroup v2 subtree delegated to a rootless engine's user (a systemd user session delegates
// the user's service; an administrator can delegate one by chown): the engine keeps its own
// processes in <own>/engine and its containers in <own>/containers/<id>, and enforces what the
// controllers listed in <own>/cgroup.controllers allow. Freezing (pause), cgroup.kill and CPU
// time need no controller.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupLayout } from './layout.ts';
import type { LimitSupport } from './limitSupport.ts';

export interface Delegation {
  /** the engine's own cgroup directory, the root of what it manages */
  dir: string;
  controllers: string[];
}

/** The delegated cgroup v2 subtree this process sits in and may manage, if any. */
export function findDelegation(cgroupFile = '/proc/self/cgroup', mountinfo = '/proc/self/mountinfo'): Delegation | undefined {
  try {
    const own = readFileSync(cgroupFile, 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3);
    const mount = readFileSync(mountinfo, 'utf8').split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];
    if (own === undefined || !mount) return undefined;
    // A process moved into <own>/engine by an earlier engine reports that leaf.
    const dir = join(mount, own.replace(/\/engine$/, ''));
    if (dir === mount) return undefined; // the root of the hierarchy is never delegated
    for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control']) accessSync(join(dir, f), constants.W_OK);
    const controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
    return { dir, controllers };
  } catch {
    return undefined;
  }
}

/**
 * Moves every process of the delegated cgroup into its `engine` leaf (cgroup v2 allows processes
 * only in leaves once controllers are enabled below), and returns the layout the cgroup manager
 * works in, with the limits the controllers allow.
 */
export function adoptDelegation(d: Delegation): { layout: CgroupLayout; supports: LimitSupport; reason?: string } {
  const leaf = join(d.dir, 'engine');
  mkdirSync(leaf, { recursive: true });
  for (const pid of readFileSync(join(d.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      writeFileSync(join(leaf, 'cgroup.procs'), pid);
    } catch {
      /* gone, or a kernel thread */
    }
  }
  const has = (c: string) => d.controllers.includes(c);
  const supports: LimitSupport = {
    memory: has('memory'), swap: has('memory') && existsSync(join(leaf, 'memory.swap.max')), cpuShares: has('cpu'), cpuCfs: has('cpu'),
    cpuset: has('cpuset'), pids: has('pids'), freezer: true,
  };
  const missing = ['memory', 'cpu', 'pids'].filter((c) => !has(c));
  return {
    layout: { mode: 'unified', v1: new Map(), unified: d.dir, unifiedControllers: d.controllers },
    supports,
    reason: missing.length ? `the cgroup delegated to this user (${d.dir}) has no ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''} (systemd delegates memory and pids; cpu needs a Delegate= drop-in)` : undefined,
  };
}
