// Compiles a resolved RuntimeSpec into the helper's binary plan: Docker's default mounts,
// devices, masked and read-only paths, namespaces, identity and security settings.
import { P, PlanWriter } from './planEncoder.ts';
import type { RuntimeSpec, SpecMount } from './runtimeSpec.ts';

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, BIND: 4096, REC: 16384,
  PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, STRICTATIME: 1 << 24,
} as const;

export const CLONE = {
  NEWNS: 0x20000, NEWCGROUP: 0x02000000, NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000,
  NEWPID: 0x20000000, NEWNET: 0x40000000,
} as const;

/** moby daemon/pkg/oci/defaults.go */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEVICES: [string, number, number][] = [
  ['/dev/null', 1, 3], ['/dev/zero', 1, 5], ['/dev/full', 1, 7], ['/dev/random', 1, 8], ['/dev/urandom', 1, 9], ['/dev/tty', 5, 0],
];

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
};
export const propagationFlag = (name?: string) => (name ? PROPAGATION[name] ?? 0 : 0);

const NSD = MS.NOSUID | MS.NODEV;

export function defaultMounts(spec: RuntimeSpec): SpecMount[] {
  const ro = spec.privileged ? 0 : MS.RDONLY;
  const fs = (source: string, target: string, fstype: string, flags: number, data = ''): SpecMount =>
    ({ kind: 'fs', source, target, fstype, flags, data });
  // In a user namespace, sysfs mounts only for a network namespace that namespace owns: with the
  // host's network (rootless --network host) the host's /sys is bound instead, as runc does.
  const sysfs: SpecMount = spec.insideUserns && spec.netns === 'host'
    ? { kind: 'rbind', source: '/sys', target: '/sys', flags: NSD | MS.NOEXEC | ro, propagation: MS.PRIVATE | MS.REC }
    : fs('sysfs', '/sys', 'sysfs', NSD | MS.NOEXEC | ro);
  const mounts: SpecMount[] = [
    fs('proc', '/proc', 'proc', NSD | MS.NOEXEC),
    fs('tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k'),
    fs('devpts', '/dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, `newinstance,ptmxmode=0666,mode=0620${spec.userns ? '' : ',gid=5'}`),
    sysfs,
  ];
  if (spec.cgroup.unifiedOnly) {
    mounts.push(fs('cgroup', '/sys/fs/cgroup', 'cgroup2', NSD | MS.NOEXEC | MS.RELATIME | ro));
  } else if (!spec.userns) {
    // v1 hierarchies, each showing the container's own cgroup as its root (cgroup namespace).
    mounts.push(fs('tmpfs', '/sys/fs/cgroup', 'tmpfs', NSD | MS.NOEXEC | ro, 'mode=755'));
    for (const [name, ctrls] of spec.cgroup.v1Mounts) {
      mounts.push(fs('cgroup', `/sys/fs/cgroup/${name}`, 'cgroup', NSD | MS.NOEXEC | MS.RELATIME | ro, ctrls));
    }
    if (spec.cgroup.hasUnified) mounts.push(fs('cgroup2', '/sys/fs/cgroup/unified', 'cgroup2', NSD | MS.NOEXEC | MS.RELATIME | ro));
  }
  // A mqueue mount shows the queues of the IPC namespace it is made in: own, joined or the host's.
  mounts.push(fs('mqueue', '/dev/mqueue', 'mqueue', NSD | MS.NOEXEC));
  const shm = spec.namespaces?.shm ?? 'tmpfs';
  if (shm === 'tmpfs') mounts.push(fs('shm', '/dev/shm', 'tmpfs', NSD | MS.NOEXEC, `mode=1777,size=${spec.shmSize}`));
  else if (shm !== 'none') mounts.push({ kind: 'bind', source: shm.bind, target: '/dev/shm', flags: NSD | MS.NOEXEC });
  if (spec.userns || spec.insideUserns) {
    // mknod is refused inside a user namespace: bind the host's nodes instead.
    for (const [path] of DEVICES) mounts.push({ kind: 'bind', source: path, target: path, flags: MS.NOSUID | MS.NOEXEC });
    for (const d of spec.devices ?? []) mounts.push({ kind: 'bind', source: d.hostPath, target: d.path, flags: MS.NOSUID | MS.NOEXEC });
  }
  return mounts;
}

function mountRecord(w: PlanWriter, m: SpecMount): void {
  const kind = m.kind === 'fs' ? 0 : m.kind === 'bind' ? 1 : 2;
  w.record(P.MOUNT, { u32: m.flags ?? 0 }, { u32: m.propagation ?? 0 }, { u8: kind }, { str: m.source },
    { str: m.target }, { str: m.fstype ?? '' }, { str: m.data ?? '' });
}

export function namespaceFlags(spec: Pick<RuntimeSpec, 'userns' | 'namespaces'> & { netns?: RuntimeSpec['netns'] }): number {
  const ns = spec.namespaces;
  let flags = CLONE.NEWNS;
  if ((ns?.pid ?? 'new') === 'new') flags |= CLONE.NEWPID;
  if ((ns?.ipc ?? 'new') === 'new') flags |= CLONE.NEWIPC;
  if ((ns?.uts ?? 'new') === 'new') flags |= CLONE.NEWUTS;
  if ((ns?.cgroup ?? 'new') === 'new') flags |= CLONE.NEWCGROUP;
  if ((spec.netns ?? 'new') === 'new') flags |= CLONE.NEWNET;
  if (spec.userns) flags |= CLONE.NEWUSER;
  return flags;
}

/** The security part shared by container plans and exec plans. */
export function writeProcess(w: PlanWriter, spec: Pick<RuntimeSpec, 'argv' | 'env' | 'cwd' | 'user' | 'caps' | 'noNewPrivileges' | 'seccomp' | 'rlimits'>): void {
  for (const a of spec.argv) w.record(P.ARGV, { str: a });
  for (const e of spec.env) w.record(P.ENV, { str: e });
  w.record(P.CWD, { str: spec.cwd || '/' });
  w.record(P.USER, { u32: spec.user.uid }, { u32: spec.user.gid }, { u32: spec.user.additionalGids.length },
    ...spec.user.additionalGids.map((g) => ({ u32: g })));
  const c = spec.caps;
  w.record(P.CAPS, { u64: c.bounding }, { u64: c.effective }, { u64: c.permitted }, { u64: c.inheritable }, { u64: c.ambient });
  if (spec.noNewPrivileges) w.record(P.NNP, { u8: 1 });
  if (spec.seccomp) w.record(P.SECCOMP, { bytes: spec.seccomp });
  for (const r of spec.rlimits) w.record(P.RLIMIT, { u32: r.resource }, { u64: r.soft }, { u64: r.hard });
}

export function compilePlan(spec: RuntimeSpec): Buffer {
  const w = new PlanWriter();
  w.record(P.NS_FLAGS, { u32: namespaceFlags(spec) });
  if (spec.userns) w.record(P.UIDMAP, { str: spec.userns.uidMap }).record(P.GIDMAP, { str: spec.userns.gidMap });
  if (typeof spec.netns === 'object') w.record(P.NS_JOIN, { u32: CLONE.NEWNET }, { str: spec.netns.join });
  const ns = spec.namespaces;
  if (typeof ns?.pid === 'object') w.record(P.NS_JOIN, { u32: CLONE.NEWPID }, { str: ns.pid.join });
  if (typeof ns?.ipc === 'object') w.record(P.NS_JOIN, { u32: CLONE.NEWIPC }, { str: ns.ipc.join });
  if (spec.netns === 'new') w.record(P.LO_UP, { u8: 1 });
  for (const f of spec.cgroup.procsFiles) w.record(P.CGROUP_PROCS, { str: f });
  if (spec.cgroup.oomFile) w.record(P.OOM_FILE, { str: spec.cgroup.oomFile });
  if (spec.oomScoreAdj !== undefined) w.record(P.OOM_SCORE_ADJ, { u32: spec.oomScoreAdj });
  w.record(P.ROOTFS, { str: spec.rootfs });
  for (const m of [...defaultMounts(spec), ...spec.mounts]) mountRecord(w, m);
  if (!spec.userns && !spec.insideUserns) {
    for (const [path, major, minor] of DEVICES) {
      w.record(P.DEV, { str: path }, { u8: 'c'.charCodeAt(0) }, { u32: major }, { u32: minor }, { u32: 0o666 }, { u32: 0 }, { u32: 0 });
    }
    for (const d of spec.devices ?? []) {
      w.record(P.DEV, { str: d.path }, { u8: d.type.charCodeAt(0) }, { u32: d.major }, { u32: d.minor }, { u32: d.mode }, { u32: d.uid }, { u32: d.gid });
    }
  }
  for (const [target, link] of [['/proc/self/fd', '/dev/fd'], ['/proc/self/fd/0', '/dev/stdin'], ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'], ['pts/ptmx', '/dev/ptmx'], ['/proc/kcore', '/dev/core']]) {
    w.record(P.SYMLINK, { str: target }, { str: link });
  }
  if (!spec.privileged) {
    for (const p of MASKED_PATHS) w.record(P.MASK, { str: p });
    for (const p of READONLY_PATHS) w.record(P.READONLY, { str: p });
  }
  if (spec.readonlyRootfs) w.record(P.ROOT_RO, { u8: 1 });
  // With the host's UTS namespace the host's name is left alone.
  if (spec.namespaces?.uts !== 'host') {
    w.record(P.HOSTNAME, { str: spec.hostname });
    if (spec.domainname) w.record(P.DOMAINNAME, { str: spec.domainname });
  }
  for (const [k, v] of Object.entries(spec.sysctls)) w.record(P.SYSCTL, { str: k }, { str: v });
  if (spec.terminal) {
    w.record(P.TERMINAL, { u8: 1 });
    if (spec.consoleSize?.[0] && spec.consoleSize[1]) w.record(P.CONSOLE_SIZE, { u16: spec.consoleSize[0] }, { u16: spec.consoleSize[1] });
  }
  if (spec.init) w.record(P.INIT, { u8: 1 });
  if (spec.openStdin) w.record(P.STDIN, { u8: 1 });
  if (spec.stdinOnce) w.record(P.STDIN_ONCE, { u8: 1 });
  writeProcess(w, spec);
  w.record(P.LOG, { str: spec.logPath }, { u64: spec.logMaxSize }, { u32: spec.logMaxFiles });
  w.record(P.EXIT_FILE, { str: spec.exitFile });
  w.record(P.RUN_DIR, { str: spec.runDir });
  if (spec.startNow) w.record(P.START_NOW, { u8: 1 });
  return w.toBuffer();
}
