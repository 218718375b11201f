// Rootless mode: the engine of a normal user, as Docker's rootless mode runs dockerd. The helper
// makes a user and mount namespace from the user's subordinate ids (newuidmap/newgidmap), a
// pause process keeps it alive, and `berth daemon` runs inside as its root, in the host's
// network namespace (rootless.md §4). This module is the outside half: where things live, the
// prerequisites and their fixes, one engine per user, and starting or rejoining the namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { homedir, release, userInfo } from 'node:os';
import { join } from 'node:path';

export interface RootlessLayout {
  /** the store: images, layers, containers, volumes */
  dataRoot: string;
  /** sockets, pid files, shims' run dirs; private to the user */
  runDir: string;
  dockerSocket: string;
  /** the app's contract (see electron/host/contractSocket.ts) */
  uiSocket: string;
  /** "PID STARTTIME" of the pause process holding the namespaces */
  pauseFile: string;
  /** "PID STARTTIME" of the `berth daemon` that owns the engine: one engine per user */
  engineFile: string;
}

/**
 * Docker's rootless layout with Berth's names: the store under $XDG_DATA_HOME/berth, sockets
 * under $XDG_RUNTIME_DIR/berth. Without XDG_RUNTIME_DIR (no login session: su, containers,
 * this CI) a private directory in the user's cache, not /tmp (Docker: "should not be under /tmp").
 */
export function rootlessLayout(env: NodeJS.ProcessEnv = process.env): RootlessLayout {
  const home = env.HOME || homedir();
  const dataRoot = env.BERTH_ROOT || join(env.XDG_DATA_HOME || join(home, '.local/share'), 'berth');
  const runDir = env.BERTH_RUN || join(env.XDG_RUNTIME_DIR || join(env.XDG_CACHE_HOME || join(home, '.cache'), 'berth-run'), 'berth');
  return {
    dataRoot, runDir, dockerSocket: join(runDir, 'docker.sock'), uiSocket: join(runDir, 'ui.sock'),
    pauseFile: join(runDir, 'pause.pid'), engineFile: join(runDir, 'engine.pid'),
  };
}

export interface IdRange {
  start: number;
  count: number;
}

/** The user's subordinate ranges: getsubids (which also asks LDAP/SSSD through libsubid), else /etc/subuid or /etc/subgid. */
export function subordinateIds(kind: 'uid' | 'gid', user: string, id: number): IdRange[] {
  try {
    const out = execFileSync('getsubids', kind === 'gid' ? ['-g', user] : [user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const ranges = out.split('\n').map((l) => /^\d+:\s+\S+\s+(\d+)\s+(\d+)/.exec(l)).filter((m) => !!m).map((m) => ({ start: Number(m![1]), count: Number(m![2]) }));
    if (ranges.length) return ranges;
  } catch {
    /* no getsubids, or no ranges */
  }
  try {
    return readFileSync(`/etc/sub${kind}`, 'utf8').split('\n').map((l) => l.trim().split(':'))
      .filter((f) => f.length === 3 && (f[0] === user || f[0] === String(id)))
      .map((f) => ({ start: Number(f[1]), count: Number(f[2]) })).filter((r) => r.count > 0);
  } catch {
    return [];
  }
}

/** newuidmap's arguments: the user as root, then the first subordinate range from 1. */
export function idMap(own: number, range: IdRange): string {
  return `0 ${own} 1 1 ${range.start} ${range.count}`;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** what to do when it fails */
  fix?: string;
  /** the engine cannot start without it */
  required: boolean;
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${path}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin').split(':')) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = release().split('.').map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

/** Where cgroups stand for this user: none, or a delegated cgroup v2 subtree with its controllers. */
export function cgroupDelegation(): { mode: 'none' | 'delegated'; path?: string; controllers: string[]; detail: string } {
  let own: string | undefined;
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3);
  } catch {
    own = undefined;
  }
  const mounts = (() => {
    try {
      return readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const v2 = mounts.split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];
  const hybrid = / - cgroup /.test(mounts);
  if (v2 && own !== undefined) {
    const dir = join(v2, own);
    try {
      accessSync(dir, constants.W_OK);
      accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
      const controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
      return { mode: 'delegated', path: dir, controllers, detail: `delegated cgroup v2 at ${dir} (controllers: ${controllers.join(' ') || 'none'})` };
    } catch {
      /* not ours */
    }
  }
  return {
    mode: 'none', controllers: [],
    detail: hybrid ? 'cgroup v1/hybrid host: no cgroups can be delegated to a user' : 'no cgroup v2 subtree is delegated to this user',
  };
}

/** Every rootless prerequisite, with its fix (`berth probe`, the app's setup screen). */
export function rootlessChecks(opts: { user?: string; uid?: number } = {}): Check[] {
  const user = opts.user ?? userInfo().username;
  const uid = opts.uid ?? process.getuid!();
  const checks: Check[] = [];
  const maxNs = Number(readSysctl('user/max_user_namespaces') ?? '0');
  const clone = readSysctl('kernel/unprivileged_userns_clone');
  checks.push({
    name: 'user namespaces', required: true, ok: maxNs > 0 && clone !== '0',
    detail: clone === '0' ? 'kernel.unprivileged_userns_clone is 0' : `user.max_user_namespaces = ${maxNs}`,
    fix: clone === '0' ? 'sudo sysctl -w kernel.unprivileged_userns_clone=1 (and add it to /etc/sysctl.conf)' : 'sudo sysctl -w user.max_user_namespaces=28633',
  });
  const apparmor = readSysctl('kernel/apparmor_restrict_unprivileged_userns');
  checks.push({
    name: 'AppArmor user namespace restriction', required: true, ok: apparmor !== '1',
    detail: apparmor === '1' ? 'kernel.apparmor_restrict_unprivileged_userns = 1' : 'not restricted',
    fix: 'install the AppArmor profile for berth-helper that allows `userns,` (Ubuntu 24.04 and later), or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
  });
  for (const kind of ['uid', 'gid'] as const) {
    const ranges = subordinateIds(kind, user, uid);
    const best = ranges.reduce((m, r) => Math.max(m, r.count), 0);
    checks.push({
      name: `subordinate ${kind}s`, required: true, ok: best >= 65536,
      detail: ranges.length ? ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') : `no line for ${user} in /etc/sub${kind}`,
      fix: `sudo usermod --add-sub${kind}s 100000-165535 ${user} (a free range of 65536 ids)`,
    });
  }
  for (const tool of ['newuidmap', 'newgidmap']) {
    const p = onPath(tool);
    const setuid = !!p && (statSync(p).mode & 0o4000) !== 0;
    checks.push({
      name: tool, required: true, ok: !!p,
      detail: p ? `${p}${setuid ? ' (setuid)' : ' (file capabilities)'}` : 'not installed',
      fix: 'sudo apt-get install uidmap (Fedora: shadow-utils)',
    });
  }
  checks.push({
    name: 'overlay in a user namespace', required: true, ok: kernelAtLeast(5, 11),
    detail: `kernel ${release()}${kernelAtLeast(5, 11) ? '' : ' (5.11 or later mounts overlay in a user namespace)'}`, fix: 'upgrade the kernel to 5.11 or later',
  });
  const tun = (() => {
    try {
      accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();
  checks.push({
    name: '/dev/net/tun', required: false, ok: tun,
    detail: tun ? 'usable' : 'not readable and writable by this user: containers get no outbound network',
    fix: 'sudo chmod 0666 /dev/net/tun (udev does this on most distributions: KERNEL=="tun", MODE="0666")',
  });
  const slirp = onPath('slirp4netns');
  const pasta = onPath('pasta');
  checks.push({
    name: 'slirp4netns', required: false, ok: !!slirp,
    detail: slirp ? `${slirp}${pasta ? `; pasta at ${pasta}` : ''}` : 'not installed: containers get no outbound network',
    fix: 'sudo apt-get install slirp4netns',
  });
  const cg = cgroupDelegation();
  checks.push({
    name: 'cgroups', required: false, ok: cg.mode === 'delegated', detail: cg.detail,
    fix: 'boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) and run the engine in a systemd user session, which delegates memory and pids (cpu, io with a drop-in): resource limits and pause need it',
  });
  const port = readSysctl('net/ipv4/ip_unprivileged_port_start') ?? '1024';
  checks.push({
    name: 'ports below 1024', required: false, ok: Number(port) === 0, detail: `net.ipv4.ip_unprivileged_port_start = ${port}`,
    fix: `sudo sysctl -w net.ipv4.ip_unprivileged_port_start=0 to publish ports below ${port}`,
  });
  const ping = readSysctl('net/ipv4/ping_group_range') ?? '1 0';
  const [lo, hi] = ping.split(/\s+/).map(Number);
  checks.push({
    name: 'ping from containers', required: false, ok: lo <= hi, detail: `net.ipv4.ping_group_range = ${ping}`,
    fix: 'sudo sysctl -w "net.ipv4.ping_group_range=0 2147483647"',
  });
  return checks;
}

export class RootlessError extends Error {
  constructor(message: string, readonly check?: Check) {
    super(message);
  }
}

function processRef(file: string): { pid: number; starttime: number } | undefined {
  try {
    const [pid, starttime] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (!pid) return undefined;
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (killed, not yet reaped) holds no namespaces any more.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]) === starttime ? { pid, starttime } : undefined;
  } catch {
    return undefined;
  }
}

function ownStarttime(): number {
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/** The running engine of this user (its `berth daemon`), if any. */
export function runningEngine(layout: RootlessLayout): { pid: number } | undefined {
  return processRef(layout.engineFile);
}

/**
 * Claims the engine slot of this user: one `berth daemon` per user, as dockerd's pid file.
 * Returns a release function; throws naming the running one.
 */
export function claimEngine(layout: RootlessLayout): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(layout.engineFile, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${ownStarttime()}\n`);
      closeSync(fd);
      return () => {
        if (processRef(layout.engineFile)?.pid === process.pid) rmSync(layout.engineFile, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = processRef(layout.engineFile);
      if (other) {
        throw new RootlessError(`a Berth engine is already running for this user (pid ${other.pid}, Docker API at unix://${layout.dockerSocket}): use it, or stop it first`);
      }
      rmSync(layout.engineFile, { force: true });
    }
  }
  throw new RootlessError(`cannot claim ${layout.engineFile}: another engine is starting at the same moment`);
}

/** The store must be this user's: never a root-mode store, never one written with another id map. */
export function checkStore(layout: RootlessLayout, uidMap: string, gidMap: string): void {
  const uid = process.getuid!();
  if (existsSync(layout.dataRoot)) {
    const owner = statSync(layout.dataRoot).uid;
    if (owner !== uid) {
      throw new RootlessError(`${layout.dataRoot} belongs to uid ${owner}, not to you (uid ${uid}): a rootless engine never uses another user's or a root-mode store; choose another --root`);
    }
  }
  mkdirSync(layout.dataRoot, { recursive: true, mode: 0o700 });
  const file = join(layout.dataRoot, 'idmap.json');
  const now = { uid: uidMap, gid: gidMap };
  if (existsSync(file)) {
    const was = JSON.parse(readFileSync(file, 'utf8')) as typeof now;
    if (was.uid !== now.uid || was.gid !== now.gid) {
      throw new RootlessError(`the subordinate ids changed since ${layout.dataRoot} was written (uid map was "${was.uid}", now "${now.uid}"), so its files would have the wrong owners: `
        + 'restore the old ranges in /etc/subuid and /etc/subgid, or run `berth system reset` to start over');
    }
  } else {
    writeFileSync(file, `${JSON.stringify(now)}\n`);
  }
}

export interface RootlessStart {
  helperPath: string;
  /** the command the namespace runs: Node and the CLI with `daemon` and its arguments */
  command: string[];
  layout: RootlessLayout;
  env?: NodeJS.ProcessEnv;
  stdio?: 'inherit' | 'ignore';
  /** make a new namespace even if a pause process seems to live (a join just said it is gone) */
  fresh?: boolean;
}

/** Checks everything the engine needs, throwing the first failure with its fix. */
export function requirePrerequisites(): { uidMap: string; gidMap: string } {
  const checks = rootlessChecks();
  const bad = checks.find((c) => c.required && !c.ok);
  if (bad) throw new RootlessError(`rootless mode needs ${bad.name}: ${bad.detail}. Fix: ${bad.fix}`, bad);
  const user = userInfo().username;
  const uid = process.getuid!();
  const gid = process.getgid!();
  const u = subordinateIds('uid', user, uid).find((r) => r.count >= 65536)!;
  const g = subordinateIds('gid', user, uid).find((r) => r.count >= 65536)!;
  return { uidMap: idMap(uid, { start: u.start, count: 65536 }), gidMap: idMap(gid, { start: g.start, count: 65536 }) };
}

/**
 * Runs `command` as root of the user's namespace: joins the living one (its pause process), or
 * makes a new one. The child becomes the command itself (the helper execs it); it exits 3 only
 * if the pause process died between this check and the join.
 */
export function startInNamespace(s: RootlessStart, maps: { uidMap: string; gidMap: string }): ChildProcess {
  const env = { ...(s.env ?? process.env), BERTH_ROOTLESS: s.layout.runDir };
  const args = !s.fresh && processRef(s.layout.pauseFile)
    ? ['rootless-join', '--pidfile', s.layout.pauseFile]
    : (rmSync(s.layout.pauseFile, { force: true }), ['rootless-init', '--pidfile', s.layout.pauseFile, '--uidmap', maps.uidMap, '--gidmap', maps.gidMap]);
  return spawn(s.helperPath, [...args, '--', ...s.command], { stdio: s.stdio ?? 'inherit', env });
}

/** The pause process holding the user's namespaces, if it lives. */
export function pauseProcess(layout: RootlessLayout): { pid: number; starttime: number } | undefined {
  return processRef(layout.pauseFile);
}

/** Makes the run directory private, as XDG_RUNTIME_DIR must be. */
export function prepareRunDir(layout: RootlessLayout): void {
  mkdirSync(layout.runDir, { recursive: true, mode: 0o700 });
  const st = statSync(layout.runDir);
  if (st.uid !== process.getuid!()) throw new RootlessError(`${layout.runDir} belongs to uid ${st.uid}, not to you: choose another XDG_RUNTIME_DIR`);
}

/**
 * The app's way in as a normal user: the user's engine if it runs, else `berth daemon` started
 * in the background (it outlives the app, as Docker Desktop's engine outlives its window);
 * resolves with the contract socket once it accepts connections.
 */
export async function ensureRootlessEngine(o: { node: string; berth: string; env?: NodeJS.ProcessEnv; log: string }): Promise<RootlessLayout> {
  const layout = rootlessLayout(o.env);
  if (!runningEngine(layout)) {
    mkdirSync(join(o.log, '..'), { recursive: true });
    const out = openSync(o.log, 'a', 0o600);
    const child = spawn(o.node, [o.berth, 'daemon'], { env: { ...(o.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' }, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    child.unref();
  }
  for (let i = 0; i < 600; i++) {
    if (existsSync(layout.uiSocket) && runningEngine(layout)) return layout;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new RootlessError(`the engine did not start within 60 s; see ${o.log} (and \`berth probe\`)`);
}
