// Compiles a resolved seccomp profile to classic BPF with libseccomp (through koffi) and
// caches the bytes by hash; the helper only loads them. Kernel-facing constants come from
// <seccomp.h> and <linux/audit.h>.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import koffi from 'koffi';
import { EngineError } from '../../errors.ts';
import type { ResolvedRule, SeccompAction, SeccompOp, SeccompProfile } from './profile.ts';

const ACT_ALLOW = 0x7fff0000;
const ACT_ERRNO = (e: number) => 0x00050000 | (e & 0xffff);
const ACT_KILL_PROCESS = 0x80000000;
const ACT_KILL_THREAD = 0;
const ACT_LOG = 0x7ffc0000;

const OPS: Record<SeccompOp, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

/** Docker adds the sub-architectures a 64-bit process can also enter through. */
const ARCHES: Record<string, number[]> = {
  x64: [0xc000003e, 0x40000003, 0x4000003e], // x86_64, x86, x32
  arm64: [0xc00000b7, 0x40000028], // aarch64, arm
};

function action(a: SeccompAction, errno?: number): number {
  switch (a) {
    case 'SCMP_ACT_ALLOW': return ACT_ALLOW;
    case 'SCMP_ACT_ERRNO': return ACT_ERRNO(errno ?? 1);
    case 'SCMP_ACT_KILL_PROCESS': return ACT_KILL_PROCESS;
    case 'SCMP_ACT_KILL': return ACT_KILL_THREAD;
    case 'SCMP_ACT_LOG': return ACT_LOG;
  }
}

interface Lib {
  init: (def: number) => unknown;
  archAdd: (ctx: unknown, arch: number) => number;
  resolve: (name: string) => number;
  ruleAdd: (ctx: unknown, action: number, nr: number, count: number, arg: unknown) => number;
  exportBpf: (ctx: unknown, fd: number) => number;
  release: (ctx: unknown) => void;
}

/** koffi types are process-global: the library is bound once for every engine in the process. */
let sharedLib: Lib | undefined;

export class SeccompCompiler {
  constructor(private readonly cacheDir: string) {}

  private load(): Lib {
    if (sharedLib) return sharedLib;
    let so;
    try {
      so = koffi.load('libseccomp.so.2');
    } catch (e) {
      throw new EngineError('UNSUPPORTED', 'seccomp: libseccomp.so.2 is not installed (Debian package libseccomp2)', { cause: e });
    }
    koffi.struct('scmp_arg_cmp', { arg: 'uint32', op: 'uint32', datum_a: 'uint64', datum_b: 'uint64' });
    sharedLib = {
      init: so.func('void *seccomp_init(uint32_t def_action)'),
      archAdd: so.func('int seccomp_arch_add(void *ctx, uint32_t arch)'),
      resolve: so.func('int seccomp_syscall_resolve_name(const char *name)'),
      ruleAdd: so.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int cnt, const scmp_arg_cmp *args)'),
      exportBpf: so.func('int seccomp_export_bpf(void *ctx, int fd)'),
      release: so.func('void seccomp_release(void *ctx)'),
    };
    return sharedLib;
  }

  compile(profile: SeccompProfile, rules: ResolvedRule[]): Buffer {
    const key = createHash('sha256')
      .update(JSON.stringify({ d: profile.defaultAction, e: profile.defaultErrnoRet, rules, arch: process.arch, v: 1 }))
      .digest('hex');
    const cached = `${this.cacheDir}/${key}.bpf`;
    if (existsSync(cached)) return readFileSync(cached);
    const bpf = this.build(profile, rules);
    mkdirSync(this.cacheDir, { recursive: true });
    writeFileSync(`${cached}.tmp`, bpf);
    renameSync(`${cached}.tmp`, cached);
    return bpf;
  }

  private build(profile: SeccompProfile, rules: ResolvedRule[]): Buffer {
    const lib = this.load();
    const ctx = lib.init(action(profile.defaultAction, profile.defaultErrnoRet));
    if (!ctx) throw new EngineError('INTERNAL', 'seccomp: seccomp_init failed');
    // In the engine's own cache directory: a daemon killed while compiling leaves nothing in /tmp.
    mkdirSync(this.cacheDir, { recursive: true });
    const tmp = `${this.cacheDir}/build-${process.pid}-${Date.now()}.bpf.tmp`;
    try {
      for (const arch of ARCHES[process.arch] ?? []) {
        const rc = lib.archAdd(ctx, arch);
        if (rc !== 0 && rc !== -17 /* EEXIST: the native arch */) throw new EngineError('INTERNAL', `seccomp: add arch ${arch.toString(16)}: ${rc}`);
      }
      for (const rule of rules) {
        const nr = lib.resolve(rule.name);
        if (nr === -1 /* __NR_SCMP_ERROR: not a syscall here */) continue;
        const arg = rule.args[0]
          ? { arg: rule.args[0].index, op: OPS[rule.args[0].op], datum_a: rule.args[0].value, datum_b: rule.args[0].valueTwo ?? 0 }
          : null;
        if (rule.args.length > 1) throw new EngineError('UNSUPPORTED', `seccomp: rule for ${rule.name} has more than one argument condition`);
        // A rule identical to the default action, or a duplicate, is refused by libseccomp; both are harmless.
        lib.ruleAdd(ctx, action(rule.action, rule.errno), nr, arg ? 1 : 0, arg);
      }
      const fd = openSync(tmp, 'w+', 0o600);
      try {
        const rc = lib.exportBpf(ctx, fd);
        if (rc !== 0) throw new EngineError('INTERNAL', `seccomp: export filter: ${rc}`);
      } finally {
        closeSync(fd);
      }
      return readFileSync(tmp);
    } finally {
      lib.release(ctx);
      if (existsSync(tmp)) unlinkSync(tmp);
    }
  }
}
