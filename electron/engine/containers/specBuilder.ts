// Turns a container record into a fully resolved RuntimeSpec at start time.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { parseSize } from '../../../common/grammar/index.ts';
import { invalid } from '../errors.ts';
import type { Cgroup } from '../cgroups/cgroupManager.ts';
import { capNames, hostBoundingSet, resolveCaps } from '../runtime/caps.ts';
import { MS, propagationFlag } from '../runtime/planCompiler.ts';
import { resolveUlimits } from '../runtime/rlimits.ts';
import type { NamespaceSpec, RuntimeSpec, SpecDevice, SpecMount } from '../runtime/runtimeSpec.ts';
import type { SeccompCompiler } from '../runtime/seccomp/compiler.ts';
import { DOCKER_DEFAULT_PROFILE } from '../runtime/seccomp/dockerDefault.ts';
import { DOCKER_ARCH, resolveProfile } from '../runtime/seccomp/profile.ts';
import { resolveUser, type UserFiles } from '../runtime/users.ts';
import { FsView } from '../confined/fsView.ts';
import { isDir, type FsAt } from '../sys/fsat.ts';
import type { ContainerMount } from './containerRecord.ts';
import type { ContainerRecord } from './containerRecord.ts';

const CAP_SYS_RESOURCE = 1n << 24n;


/** The container's resolved mount points (binds, volumes, tmpfs) as runtime mounts. */
export function userMounts(mounts: ContainerMount[]): SpecMount[] {
  return mounts.map((m): SpecMount => {
    if (m.Type === 'tmpfs') {
      const words = m.Mode.split(',');
      return {
        kind: 'fs', source: 'tmpfs', target: m.Destination, fstype: 'tmpfs',
        flags: MS.NOSUID | MS.NODEV | (words.includes('exec') ? 0 : m.Mode ? MS.NOEXEC : 0) | (m.RW ? 0 : MS.RDONLY), data: m.Data,
      };
    }
    if (m.Type === 'bind' && !existsSync(m.Source)) throw invalid(`bind source path does not exist: ${m.Source}`);
    return {
      kind: 'rbind', source: m.Source, target: m.Destination, flags: m.RW ? 0 : MS.RDONLY,
      propagation: propagationFlag(m.Propagation) || MS.PRIVATE | MS.REC,
    };
  });
}

export interface SpecContext {
  record: ContainerRecord;
  rootfs: string;
  cgroup: Cgroup;
  containerDir: string;
  runDir: string;
  cgroupMode: string;
  seccomp: SeccompCompiler;
  startNow: boolean;
  netns: RuntimeSpec['netns'];
  /** environment added by the engine (legacy links) */
  extraEnv: string[];
  fs: FsAt;
  /** the engine runs as root of a user namespace (rootless mode) */
  rootless?: boolean;
  /** host ids for --userns=private (see runtime/remap.ts) */
  remap?: { start: number; count: number };
  namespaces?: NamespaceSpec;
  /** --device nodes, as specDevices found them */
  devices?: SpecDevice[];
}

/** --device: each node as the host has it (type, numbers, mode, owner). */
export function specDevices(h: ContainerRecord['HostConfig']): SpecDevice[] {
  return (h.Devices ?? []).map((d) => {
    let st;
    try {
      st = statSync(d.PathOnHost);
    } catch {
      throw invalid(`error gathering device information while adding custom device "${d.PathOnHost}": no such file or directory`);
    }
    return {
      hostPath: d.PathOnHost, path: d.PathInContainer, type: st.isBlockDevice() ? 'b' : 'c',
      major: Number(BigInt(st.rdev) >> 8n & 0xfffn), minor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)),
      mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
    };
  });
}

/** The device cgroup rules a container adds to the default allow-list. */
export function deviceRules(h: ContainerRecord['HostConfig'], devices: SpecDevice[]): string[] {
  const perms = new Map((h.Devices ?? []).map((d) => [d.PathInContainer, d.CgroupPermissions || 'rwm']));
  return [...devices.map((d) => `${d.type} ${d.major}:${d.minor} ${perms.get(d.path) ?? 'rwm'}`), ...(h.DeviceCgroupRules ?? [])];
}

const USER_FILE_MAX = 4 << 20;

/** The container's /etc/passwd and /etc/group, read inside its rootfs (the container may have changed them). */
export function userFiles(view: FsView): UserFiles {
  return { passwd: view.readFile('/etc/passwd', USER_FILE_MAX) ?? '', group: view.readFile('/etc/group', USER_FILE_MAX) ?? '' };
}

/**
 * The oom_score_adj a container gets. Lowering it below the engine's own needs CAP_SYS_RESOURCE
 * in the host's user namespace, which a rootless engine lacks: it is raised to the engine's
 * value there, as Docker's rootless mode restricts it.
 */
export function oomScoreFor(wanted: number | undefined, rootless: boolean, own = ownOomScore()): number | undefined {
  if (!wanted) return undefined;
  return rootless && wanted < own ? own : wanted;
}

function ownOomScore(): number {
  try {
    return Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

export function securityFor(record: ContainerRecord, files: UserFiles, seccomp: SeccompCompiler, rootless = false) {
  const h = record.HostConfig;
  const user = resolveUser(files, record.Config.User, h.GroupAdd ?? []);
  const caps = resolveCaps({ add: h.CapAdd, drop: h.CapDrop, privileged: h.Privileged, uid: user.uid, host: hostBoundingSet() });
  const opts = h.SecurityOpt ?? [];
  const unconfined = h.Privileged || opts.some((o) => /^seccomp[=:]unconfined$/.test(o));
  if (opts.some((o) => /^seccomp[=:](?!unconfined)/.test(o))) throw invalid('custom seccomp profiles are not supported yet');
  const noNewPrivileges = opts.some((o) => /^no-new-privileges(:true|=true)?$/.test(o));
  const bpf = unconfined ? undefined : seccomp.compile(DOCKER_DEFAULT_PROFILE,
    resolveProfile(DOCKER_DEFAULT_PROFILE, { caps: capNames(caps.bounding), arch: DOCKER_ARCH[process.arch] ?? process.arch, kernel: release() }));
  // Inside a user namespace CAP_SYS_RESOURCE shows in the bounding set but cannot raise a hard limit.
  const rlimits = resolveUlimits(h.Ulimits ?? [], !rootless && (hostBoundingSet() & CAP_SYS_RESOURCE) !== 0n);
  return { user, caps, seccomp: bpf, noNewPrivileges, rlimits };
}

export function withHome(env: string[], home: string): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}

/**
 * A remapped root cannot create mount targets in the image's root-owned /etc, so the
 * engine makes them first, inside the rootfs (an existing entry, symlink or not, is left to
 * the helper, which resolves it inside the root).
 */
function precreateTargets(view: FsView, files: string[]): void {
  view.ensureDir('/etc', 0o755);
  for (const f of files) view.ensureFile(`/etc/${f}`);
}

export function buildSpec(ctx: SpecContext): RuntimeSpec {
  const { record, rootfs, cgroup } = ctx;
  const h = record.HostConfig;
  const cwd = record.Config.WorkingDir || '/';
  const view = FsView.open(ctx.fs, rootfs, `container ${record.Name.slice(1)}`);
  let sec;
  try {
    sec = securityFor(record, userFiles(view), ctx.seccomp, !!ctx.rootless);
    if (h.UsernsMode === 'private') precreateTargets(view, ['hostname', 'hosts', 'resolv.conf']);
    if (cwd !== '/') {
      let st;
      try {
        const e = view.lookup(cwd, true);
        ctx.fs.close(e.fd);
        st = e.stat;
      } catch {
        /* missing: the helper creates it, as Docker does */
      }
      if (st && !isDir(st)) throw invalid(`the working directory '${cwd}' is not a directory in the image`);
    }
  } finally {
    view.close();
  }
  const files: SpecMount[] = ['hostname', 'hosts', 'resolv.conf'].map((f) => ({
    kind: 'bind', source: `${ctx.containerDir}/${f}`, target: `/etc/${f}`, flags: 0,
  }));
  const logOpts = h.LogConfig?.Config ?? {};
  return {
    rootfs,
    runDir: ctx.runDir,
    // The none driver keeps nothing; attach still sees the output.
    logPath: h.LogConfig?.Type === 'none' ? '/dev/null' : `${ctx.containerDir}/container.log`,
    logMaxSize: logOpts['max-size'] ? parseSize(logOpts['max-size']) : 0,
    logMaxFiles: logOpts['max-file'] ? Math.max(1, Number(logOpts['max-file'])) : 1,
    exitFile: `${ctx.containerDir}/exit.json`,
    argv: [record.Path, ...record.Args],
    env: withHome([...ctx.extraEnv.filter((e) => !record.Config.Env.some((x) => x.startsWith(e.slice(0, e.indexOf('=') + 1)))), ...record.Config.Env], sec.user.home),
    cwd,
    user: sec.user,
    hostname: record.Config.Hostname,
    domainname: record.Config.Domainname || undefined,
    terminal: record.Config.Tty,
    init: !!h.Init,
    consoleSize: h.ConsoleSize,
    openStdin: record.Config.OpenStdin,
    stdinOnce: record.Config.StdinOnce,
    caps: sec.caps,
    noNewPrivileges: sec.noNewPrivileges,
    seccomp: sec.seccomp,
    readonlyRootfs: !!h.ReadonlyRootfs,
    privileged: !!h.Privileged,
    mounts: [...files, ...userMounts(record.Mounts ?? [])],
    cgroup: {
      procsFiles: cgroup.procsFiles, oomFile: cgroup.oomFile, v1Mounts: cgroup.v1Mounts, hasUnified: cgroup.hasUnified,
      unifiedOnly: ctx.cgroupMode === 'unified',
    },
    rlimits: sec.rlimits,
    oomScoreAdj: oomScoreFor(h.OomScoreAdj, !!ctx.rootless),
    insideUserns: !!ctx.rootless,
    userns: h.UsernsMode === 'private' && ctx.remap
      ? { uidMap: `0 ${ctx.remap.start} ${ctx.remap.count}\n`, gidMap: `0 ${ctx.remap.start} ${ctx.remap.count}\n` }
      : undefined,
    sysctls: h.Sysctls ?? {},
    namespaces: ctx.namespaces,
    devices: ctx.devices ?? specDevices(h),
    shmSize: h.ShmSize || 64 * 1024 * 1024,
    netns: ctx.netns,
    startNow: ctx.startNow,
  };
}
