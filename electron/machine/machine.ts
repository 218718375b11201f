// Where the engine runs when it is not this host's own: a machine. One interface, four backends
// (linux-native: no VM; qemu; vz on macOS through a vfkit-style helper; wsl2 on Windows). The
// app and the CLI reach a machine's engine the same way whatever the backend: a docker socket
// and a contract socket on the host, forwarded into the guest.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BoundPort } from './agentProtocol.ts';
import { CodedError, type ErrorCode } from '../../common/errors.ts';

export type MachineKind = 'linux-native' | 'qemu' | 'vz' | 'wsl2';
export type MachineState = 'absent' | 'stopped' | 'starting' | 'running' | 'stopping' | 'error';
export type GuestArch = 'x86_64' | 'arm64';

export interface MachineConfig {
  name: string;
  kind: MachineKind;
  arch: GuestArch;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** host folders shared into the guest at the same paths (bind mounts of them work unchanged) */
  shares: string[];
  created: string;
}

/** What every hypervisor's command line is made of: resources, the guest image, the disks, the console. */
export interface VmPlan {
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  rootImage: string;
  dataDisk: string;
  consoleLog: string;
}

export interface MachineStatus {
  name: string;
  kind: MachineKind;
  state: MachineState;
  /** the process that keeps the machine (the supervisor), while it runs */
  pid?: number;
  vmPid?: number;
  accel?: string;
  /** host time from starting the VM to the engine answering, ms */
  bootMs?: number;
  /** the guest's uptime when its engine was ready, ms */
  guestBootMs?: number;
  engineVersion?: string;
  kernel?: string;
  /** the guest image's identity (/etc/berth-image): changes when an install replaces the image */
  image?: string;
  dockerSocket?: string;
  contractSocket?: string;
  context?: string;
  /** the guest agent, for this user's other processes; the token is in the machine's directory */
  agent?: { port: number } | { path: string };
  ports: BoundPort[];
  portProblems: string[];
  lastError?: string;
  /** the last lines of the guest's console when it failed */
  console?: string[];
  updated: string;
}

export interface Capabilities {
  available: boolean;
  reason?: string;
  accel?: 'kvm' | 'hvf' | 'tcg' | 'vz' | 'wsl';
}

export interface Machine {
  readonly kind: MachineKind;
  capabilities(): Promise<Capabilities>;
  /** disks and settings; refuses when the machine exists */
  create(cfg: MachineConfig): Promise<void>;
  /** resolves when the engine in the guest answers */
  start(progress?: (line: string) => void): Promise<MachineStatus>;
  /** graceful through the guest agent, then hard after `timeoutMs` or at once with `force` */
  stop(opts?: { force?: boolean; timeoutMs?: number }): Promise<void>;
  status(): Promise<MachineStatus>;
  /** settings applied at the next start */
  setResources(r: Partial<Pick<MachineConfig, 'cpus' | 'memoryMiB' | 'diskGiB'>>): Promise<void>;
  /** the data disk too; refuses a running machine without `force` */
  delete(opts?: { force?: boolean }): Promise<void>;
}

/** A machine problem: what went wrong and how to fix it. */
export class MachineError extends CodedError {
  constructor(message: string, readonly fix?: string, code: ErrorCode = 'UNAVAILABLE') {
    super(code, fix ? `${message}: ${fix}` : message);
  }
}

export const DEFAULT_MACHINE = 'default';

/** The docker context of a machine: `berth` where it is the only engine (macOS, Windows), `berth-vm` beside a native one. */
export function contextName(name: string, os: NodeJS.Platform = process.platform): string {
  const base = os === 'linux' ? 'berth-vm' : 'berth';
  return name === DEFAULT_MACHINE ? base : `${base}-${name}`;
}

/** The machines of this user (root: /var/lib/berth-machines). */
export function machinesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_MACHINES) return env.BERTH_MACHINES;
  if (process.getuid?.() === 0) return '/var/lib/berth-machines';
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local/share'), 'berth/machines');
}

export function validName(name: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name);
}

/** '2G', '512M', '2048' (MiB) → MiB */
export function parseSize(s: string, defaultUnit: 'M' | 'G'): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([MGT]i?B?)?$/i.exec(s.trim());
  if (!m) return undefined;
  const unit = (m[2]?.[0] ?? defaultUnit).toUpperCase();
  const mib = parseFloat(m[1]!) * (unit === 'M' ? 1 : unit === 'G' ? 1024 : 1024 * 1024);
  return Math.round(mib);
}

export function nativeArch(): GuestArch {
  return process.arch === 'arm64' ? 'arm64' : 'x86_64';
}
