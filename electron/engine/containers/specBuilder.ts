// Turns a container record into a fully resolved RuntimeSpec at start time.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import type { HostConfig } from '../../../common/models.ts';
import { invalid } from '../errors.ts';
import type { Cgroup } from '../cgroups/cgroupManager.ts';
import { capNames, hostBoundingSet, resolveCaps } from '../runtime/caps.ts';
import { MS, propagationFlag } from '../runtime/planCompiler.ts';
import { resolveUlimits } from '../runtime/rlimits.ts';
import type { RuntimeSpec, SpecMount } from '../runtime/runtimeSpec.ts';
import type { SeccompCompiler } from '../runtime/seccomp/compiler.ts';
import { DOCKER_DEFAULT_PROFILE } from '../runtime/seccomp/dockerDefault.ts';
import { DOCKER_ARCH, resolveProfile } from '../runtime/seccomp/profile.ts';
import { resolveUser } from '../runtime/users.ts';
import type { ContainerRecord } from './containerRecord.ts';

const CAP_SYS_RESOURCE = 1n << 24n;
export const USERNS_RANGE = { start: 100000, count: 65536 };

function parseSize(s: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw invalid(`invalid size: ${s}`);
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2].toLowerCase()];
}

/** -v host:container[:ro|rw][,propagation] and --mount type=bind|tmpfs, plus --tmpfs. */
export function userMounts(h: HostConfig): SpecMount[] {
  const out: SpecMount[] = [];
  for (const bind of h.Binds ?? []) {
    const [src, dst, opts = ''] = bind.split(':');
    if (!src || !dst) throw invalid(`invalid volume specification: '${bind}'`);
    if (!src.startsWith('/')) throw invalid(`invalid volume specification: '${bind}': named volumes are not supported yet`);
    if (!dst.startsWith('/')) throw invalid(`invalid volume specification: '${bind}': mount path must be absolute`);
    // -v creates a missing host directory, as Docker does; --mount refuses it.
    if (!existsSync(src)) mkdirSync(src, { recursive: true });
    const words = opts.split(',').filter(Boolean);
    const prop = words.find((w) => propagationFlag(w));
    out.push({ kind: 'rbind', source: src, target: dst, flags: words.includes('ro') ? MS.RDONLY : 0, propagation: propagationFlag(prop) || MS.PRIVATE | MS.REC });
  }
  for (const m of h.Mounts ?? []) {
    if (!m.Target?.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: ${m.Target}`);
    if (m.Type === 'bind') {
      if (!m.Source?.startsWith('/')) throw invalid(`invalid mount config for type "bind": invalid mount path: '${m.Source}' mount path must be absolute`);
      if (!existsSync(m.Source)) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
      out.push({ kind: 'rbind', source: m.Source, target: m.Target, flags: m.ReadOnly ? MS.RDONLY : 0, propagation: propagationFlag(m.Propagation) || MS.PRIVATE | MS.REC });
    } else if (m.Type === 'tmpfs') {
      const data = [m.TmpfsSize ? `size=${m.TmpfsSize}` : '', `mode=${(m.TmpfsMode ?? 0o1777).toString(8)}`].filter(Boolean).join(',');
      out.push({ kind: 'fs', source: 'tmpfs', target: m.Target, fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV | (m.ReadOnly ? MS.RDONLY : 0), data });
    } else {
      throw invalid(`invalid mount config: mount type "${m.Type}" is not supported yet`);
    }
  }
  for (const [target, options] of Object.entries(h.Tmpfs ?? {})) {
    const words = options.split(',').filter(Boolean);
    const flags = MS.NOSUID | MS.NODEV | MS.NOEXEC | (words.includes('ro') ? MS.RDONLY : 0);
    const data = words.filter((w) => /^(size|mode|uid|gid|nr_inodes)=/.test(w)).join(',') || 'mode=1777';
    out.push({ kind: 'fs', source: 'tmpfs', target, fstype: 'tmpfs', flags, data });
  }
  return out;
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
}

export function securityFor(record: ContainerRecord, rootfs: string, seccomp: SeccompCompiler) {
  const h = record.HostConfig;
  const user = resolveUser(rootfs, record.Config.User);
  const caps = resolveCaps({ add: h.CapAdd, drop: h.CapDrop, privileged: h.Privileged, uid: user.uid, host: hostBoundingSet() });
  const opts = h.SecurityOpt ?? [];
  const unconfined = h.Privileged || opts.some((o) => /^seccomp[=:]unconfined$/.test(o));
  if (opts.some((o) => /^seccomp[=:](?!unconfined)/.test(o))) throw invalid('custom seccomp profiles are not supported yet');
  const noNewPrivileges = opts.some((o) => /^no-new-privileges(:true|=true)?$/.test(o));
  const bpf = unconfined ? undefined : seccomp.compile(DOCKER_DEFAULT_PROFILE,
    resolveProfile(DOCKER_DEFAULT_PROFILE, { caps: capNames(caps.bounding), arch: DOCKER_ARCH[process.arch] ?? process.arch, kernel: release() }));
  const rlimits = resolveUlimits(h.Ulimits ?? [], (hostBoundingSet() & CAP_SYS_RESOURCE) !== 0n);
  return { user, caps, seccomp: bpf, noNewPrivileges, rlimits };
}

export function withHome(env: string[], home: string): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}

/**
 * A remapped root cannot create mount targets in the image's root-owned /etc, so the
 * engine makes them first: only in a real directory, never through a symlink.
 */
function precreateTargets(rootfs: string, files: string[]): void {
  try {
    if (!lstatSync(`${rootfs}/etc`).isDirectory()) return;
  } catch {
    mkdirSync(`${rootfs}/etc`, { mode: 0o755 });
  }
  for (const f of files) {
    try {
      closeSync(openSync(`${rootfs}/etc/${f}`, 'wx', 0o644));
    } catch {
      /* exists, or a symlink: the helper resolves it inside the root */
    }
  }
}

export function buildSpec(ctx: SpecContext): RuntimeSpec {
  const { record, rootfs, cgroup } = ctx;
  const h = record.HostConfig;
  const sec = securityFor(record, rootfs, ctx.seccomp);
  if (h.UsernsMode === 'private') precreateTargets(rootfs, ['hostname', 'hosts', 'resolv.conf']);
  const files: SpecMount[] = ['hostname', 'hosts', 'resolv.conf'].map((f) => ({
    kind: 'bind', source: `${ctx.containerDir}/${f}`, target: `/etc/${f}`, flags: 0,
  }));
  const cwd = record.Config.WorkingDir || '/';
  if (cwd !== '/' && existsSync(`${rootfs}${cwd}`) && !statSync(`${rootfs}${cwd}`).isDirectory()) {
    throw invalid(`the working directory '${cwd}' is not a directory in the image`);
  }
  const logOpts = h.LogConfig?.Config ?? {};
  return {
    rootfs,
    runDir: ctx.runDir,
    logPath: `${ctx.containerDir}/container.log`,
    logMaxSize: logOpts['max-size'] ? parseSize(logOpts['max-size']) : 0,
    logMaxFiles: logOpts['max-file'] ? Math.max(1, Number(logOpts['max-file'])) : 1,
    exitFile: `${ctx.containerDir}/exit.json`,
    argv: [record.Path, ...record.Args],
    env: withHome(record.Config.Env, sec.user.home),
    cwd,
    user: sec.user,
    hostname: record.Config.Hostname,
    domainname: record.Config.Domainname || undefined,
    terminal: record.Config.Tty,
    consoleSize: h.ConsoleSize,
    openStdin: record.Config.OpenStdin,
    stdinOnce: record.Config.StdinOnce,
    caps: sec.caps,
    noNewPrivileges: sec.noNewPrivileges,
    seccomp: sec.seccomp,
    readonlyRootfs: !!h.ReadonlyRootfs,
    privileged: !!h.Privileged,
    mounts: [...files, ...userMounts(h)],
    cgroup: {
      procsFiles: cgroup.procsFiles, oomFile: cgroup.oomFile, v1Mounts: cgroup.v1Mounts, hasUnified: cgroup.hasUnified,
      unifiedOnly: ctx.cgroupMode === 'unified',
    },
    rlimits: sec.rlimits,
    oomScoreAdj: h.OomScoreAdj || undefined,
    userns: h.UsernsMode === 'private'
      ? { uidMap: `0 ${USERNS_RANGE.start} ${USERNS_RANGE.count}\n`, gidMap: `0 ${USERNS_RANGE.start} ${USERNS_RANGE.count}\n` }
      : undefined,
    sysctls: h.Sysctls ?? {},
    shmSize: h.ShmSize || 64 * 1024 * 1024,
    startNow: ctx.startNow,
  };
}

export function hostResolvConf(): string {
  try {
    const lines = readFileSync('/etc/resolv.conf', 'utf8').split('\n');
    // A loopback resolver of the host is unreachable from the container's network namespace.
    const kept = lines.filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l));
    return `${kept.join('\n').trim()}\n`;
  } catch {
    return '';
  }
}
