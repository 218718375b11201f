// The counters a live graph needs, read cheaply enough to sample many containers every second:
// each file is opened once and re-read with pread at offset 0 (cgroup and /proc files generate
// their content afresh on every read from the start), synchronously into one shared buffer.
// A round for one container is 7 preads and no promises; the full stats path (the Docker API's)
// is 13 async readFiles.
import { closeSync, openSync, readSync } from 'node:fs';
import type { UsageFiles } from '../cgroups/cgroupManager.ts';
import { parseBlkioV1, parseFlatKeyed, parseIoStatV2 } from '../cgroups/statsParsers.ts';
import { cpuLineNs, parseNetDev } from '../containers/statsReader.ts';
import { processTree, processUsage } from '../cgroups/noCgroupManager.ts';

export interface Usage {
  cpuNs: number;
  memUsage: number;
  memInactiveFile: number;
  /** 0: no limit */
  memLimit: number;
  pids: number;
  blkRead: number;
  blkWrite: number;
  rx: number;
  tx: number;
}

const buf = Buffer.allocUnsafe(64 * 1024);

function readAt0(fd: number): string {
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.toString('latin1', 0, n);
}

/** One value of a flat-keyed file (memory.stat, cpu.stat); 0 when absent. */
export function keyed(text: string, key: string): number {
  return parseFlatKeyed(text)[key] ?? 0;
}

/** Read and write bytes summed over devices, from v1 blkio or v2 io.stat. */
export function ioBytes(text: string, version: 1 | 2): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const e of version === 1 ? parseBlkioV1(text) : parseIoStatV2(text)) {
    if (e.op === 'read') read += e.value;
    else write += e.value;
  }
  return { read, write };
}

/** Received and sent bytes over every device but lo, from /proc/<pid>/net/dev. */
export function netBytes(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const [name, d] of Object.entries(parseNetDev(text))) {
    if (name === 'lo') continue;
    rx += d.rx_bytes;
    tx += d.tx_bytes;
  }
  return { rx, tx };
}

export class UsageProbe {
  private readonly fds = new Map<keyof UsageFiles | 'net', number>();

  constructor(private readonly files: UsageFiles, readonly pid: number) {}

  private fd(key: keyof UsageFiles | 'net'): number | undefined {
    let fd = this.fds.get(key);
    if (fd === undefined) {
      try {
        fd = openSync(key === 'net' ? `/proc/${this.pid}/net/dev` : (this.files[key] as string), 'r');
      } catch {
        return undefined;
      }
      this.fds.set(key, fd);
    }
    return fd;
  }

  private text(key: keyof UsageFiles | 'net'): string {
    const fd = this.fd(key);
    if (fd === undefined) return '';
    try {
      return readAt0(fd);
    } catch {
      return '';
    }
  }

  /** Throws nothing: a counter that cannot be read (the container just ended) reads as 0. */
  read(): Usage {
    if (this.files.version === 0) return this.readProcesses();
    const v2 = this.files.version === 2;
    const cpuText = this.text('cpu');
    const memStat = this.text('memStat');
    const limitText = this.text('memLimit').trim();
    const limit = limitText === 'max' ? 0 : Number(limitText) || 0;
    const io = ioBytes(this.text('io'), this.files.version);
    const net = netBytes(this.text('net'));
    // A delegated cgroup without the memory or pids controller: its processes, counted.
    const missing = this.files.procs && (this.fd('memUsage') === undefined || this.fd('pids') === undefined)
      ? this.text('procs').split('\n').filter(Boolean).map(Number) : undefined;
    return {
      cpuNs: v2 ? keyed(cpuText, 'usage_usec') * 1000 : Number(cpuText) || 0,
      memUsage: this.fd('memUsage') !== undefined ? Number(this.text('memUsage')) || 0 : (missing ?? []).reduce((s, p) => s + processUsage(p).rss, 0),
      memInactiveFile: keyed(memStat, v2 ? 'inactive_file' : 'total_inactive_file'),
      memLimit: limit >= 2 ** 62 ? 0 : limit,
      pids: this.fd('pids') !== undefined ? Number(this.text('pids')) || 0 : missing?.length ?? 0,
      blkRead: io.read, blkWrite: io.write, rx: net.rx, tx: net.tx,
    };
  }

  /** Without a cgroup: CPU and memory summed over the container's process tree. */
  private readProcesses(): Usage {
    let cpuNs = 0;
    let memUsage = 0;
    const pids = processTree(this.pid);
    for (const pid of pids) {
      const u = processUsage(pid);
      cpuNs += u.userNs + u.systemNs;
      memUsage += u.rss;
    }
    const net = netBytes(this.text('net'));
    return { cpuNs, memUsage, memInactiveFile: 0, memLimit: 0, pids: pids.length, blkRead: 0, blkWrite: 0, rx: net.rx, tx: net.tx };
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Docker's system_cpu_usage: the first 7 fields of /proc/stat's cpu line, in ns (one fd kept). */
export class HostCpu {
  private fd?: number;

  ns(): number {
    this.fd ??= openSync('/proc/stat', 'r');
    return cpuLineNs(readAt0(this.fd));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
