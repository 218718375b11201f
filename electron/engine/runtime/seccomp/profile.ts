// Seccomp profiles in Docker's JSON shape, and their resolution for one container
// (capabilities, architecture, kernel) into a flat list of rules.

export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_KILL_PROCESS' | 'SCMP_ACT_KILL' | 'SCMP_ACT_LOG';
export type SeccompOp = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  syscalls: SeccompRule[];
}

export interface ResolvedRule {
  name: string;
  action: SeccompAction;
  errno?: number;
  args: SeccompArg[];
}

/** Docker's arch names (amd64, arm64, …) for Node's process.arch */
export const DOCKER_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64' };

function kernelAtLeast(kernel: string, min: string): boolean {
  const a = kernel.split(/[.-]/).map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
  }
  return true;
}

export function resolveProfile(profile: SeccompProfile, ctx: { caps: string[]; arch: string; kernel: string }): ResolvedRule[] {
  const has = (caps?: string[]) => (caps ?? []).every((c) => ctx.caps.includes(c));
  const out: ResolvedRule[] = [];
  for (const rule of profile.syscalls) {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (inc.arches && !inc.arches.includes(ctx.arch)) continue;
    if (inc.caps && !has(inc.caps)) continue;
    if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) continue;
    if (exc.arches?.includes(ctx.arch)) continue;
    if (exc.caps && exc.caps.some((c) => ctx.caps.includes(c))) continue;
    for (const name of rule.names) out.push({ name, action: rule.action, errno: rule.errnoRet, args: rule.args ?? [] });
  }
  return out;
}
