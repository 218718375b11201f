// Linux capabilities by name, Docker's default set, and --cap-add/--cap-drop/--privileged.
import { readFileSync } from 'node:fs';
import { invalid } from '../errors.ts';

export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** moby oci/caps/defaults.go: mask 0xa80425fb */
export const DOCKER_DEFAULT_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

export function capBit(name: string): bigint {
  const n = name.toUpperCase().replace(/^CAP_/, '');
  const i = (CAPABILITIES as readonly string[]).indexOf(n);
  if (i < 0) throw invalid(`unknown capability: "${name}"`);
  return 1n << BigInt(i);
}

export function capNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, i) => mask & (1n << BigInt(i))).map((n) => `CAP_${n}`);
}

/** The bounding set of this process: a root without CAP_SYS_RESOURCE cannot grant it. */
export function hostBoundingSet(): bigint {
  const m = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : (1n << 41n) - 1n;
}

export interface CapSets {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export function resolveCaps(opts: { add?: string[] | null; drop?: string[] | null; privileged?: boolean; uid: number; host: bigint }): CapSets {
  let set = 0n;
  if (opts.privileged) {
    set = opts.host;
  } else {
    const drop = (opts.drop ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ''));
    const add = (opts.add ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ''));
    if (!drop.includes('ALL')) for (const c of DOCKER_DEFAULT_CAPS) set |= capBit(c);
    for (const c of drop) if (c !== 'ALL') set &= ~capBit(c);
    if (add.includes('ALL')) set = opts.host;
    for (const c of add) if (c !== 'ALL') set |= capBit(c);
    const missing = set & ~opts.host;
    if (missing) throw invalid(`capabilities not available on this host: ${capNames(missing).join(', ')}`);
  }
  // Non-root users start with empty effective/permitted sets, as execve would give them.
  const active = opts.uid === 0 ? set : 0n;
  return { bounding: set, effective: active, permitted: active, inheritable: 0n, ambient: 0n };
}
