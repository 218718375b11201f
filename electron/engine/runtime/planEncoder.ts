// Encodes the helper's binary plan: u16 type | u16 flags | u32 len | payload (little-endian),
// NUL-terminated strings. Record types mirror native/plan.h.

export const P = {
  NS_FLAGS: 1, NS_JOIN: 2, UIDMAP: 3, GIDMAP: 4, CGROUP_PROCS: 5, OOM_SCORE_ADJ: 6, RLIMIT: 7, ROOTFS: 8,
  ROOT_RO: 9, MOUNT: 10, DEV: 11, SYMLINK: 12, MASK: 13, READONLY: 14, HOSTNAME: 15, SYSCTL: 16,
  TERMINAL: 17, CONSOLE_SIZE: 18, USER: 19, CWD: 20, CAPS: 21, NNP: 22, SECCOMP: 23, ARGV: 24, ENV: 25,
  LOG: 26, EXIT_FILE: 27, RUN_DIR: 28, STDIN: 29, STDIN_ONCE: 30, OOM_FILE: 31, TARGET_PID: 32, UMASK: 33,
  DOMAINNAME: 34, LO_UP: 35, START_NOW: 36, INIT: 37,
} as const;

type Field =
  | { u8: number }
  | { u16: number }
  | { u32: number }
  | { u64: bigint | number }
  | { str: string }
  | { bytes: Buffer };

function fieldBuffer(f: Field): Buffer {
  if ('u8' in f) return Buffer.from([f.u8 & 0xff]);
  if ('u16' in f) {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(f.u16);
    return b;
  }
  if ('u32' in f) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(f.u32 >>> 0);
    return b;
  }
  if ('u64' in f) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(f.u64)));
    return b;
  }
  if ('str' in f) {
    if (f.str.includes('\0')) throw new Error('plan strings must not contain NUL');
    return Buffer.from(`${f.str}\0`, 'utf8');
  }
  return f.bytes;
}

export class PlanWriter {
  private readonly parts: Buffer[] = [];

  record(type: number, ...fields: Field[]): this {
    const payload = Buffer.concat(fields.map(fieldBuffer));
    const head = Buffer.alloc(8);
    head.writeUInt16LE(type, 0);
    head.writeUInt16LE(0, 2);
    head.writeUInt32LE(payload.length, 4);
    this.parts.push(head, payload);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Splits a plan back into records (tests and debugging). */
export function decodePlan(buf: Buffer): { type: number; payload: Buffer }[] {
  const out: { type: number; payload: Buffer }[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const type = buf.readUInt16LE(off);
    const len = buf.readUInt32LE(off + 4);
    out.push({ type, payload: buf.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }
  return out;
}
