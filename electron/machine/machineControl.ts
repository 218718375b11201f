// The app's hold on its machines: list, create, start (with progress), stop, settings, console.
// Composition roots hand it to the engines registry (electron/host/engines.ts), which answers the
// contract's machines.* calls with it; the CLI's `berth machine` does the same through VmMachine.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, homedir, platform } from 'node:os';
import { join } from 'node:path';
import type { MachineView } from '../../common/views.ts';
import { consoleTail } from './supervisor.ts';
import { contextName, DEFAULT_MACHINE, machinesDir, MachineError, nativeArch, type MachineConfig, type MachineKind } from './machine.ts';
import { VmMachine } from './vmMachine.ts';

export interface MachineControlOptions {
  /** the install's root (guest image, bin/berth.mjs) */
  root: string;
  /** argv that runs the berth command (the supervisor is `… machine supervise NAME`) */
  berth: string[];
  env?: NodeJS.ProcessEnv;
}

export class MachineControl {
  private readonly listeners = new Set<(m: MachineView) => void>();
  private readonly progress = new Map<string, string>();

  constructor(private readonly o: MachineControlOptions) {}

  private dir(): string {
    return machinesDir(this.o.env);
  }

  machine(name: string): VmMachine {
    return new VmMachine({ dir: join(this.dir(), name), name, root: this.o.root, berth: this.o.berth, env: this.o.env });
  }

  onChange(fn: (m: MachineView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async emit(name: string): Promise<void> {
    const v = await this.view(name);
    for (const fn of this.listeners) fn(v);
  }

  async view(name: string): Promise<MachineView> {
    const m = this.machine(name);
    const s = await m.status();
    const cfg: Partial<MachineConfig> = s.state === 'absent' ? {} : m.config();
    let diskUsed = 0;
    try {
      diskUsed = statSync(m.paths.dataDisk).blocks * 512;
    } catch {
      /* no disk yet */
    }
    return {
      name, kind: cfg.kind ?? 'qemu', state: s.state, cpus: cfg.cpus ?? 0, memoryMiB: cfg.memoryMiB ?? 0, diskGiB: cfg.diskGiB ?? 0, diskUsed,
      shares: cfg.shares ?? [], context: s.context ?? contextName(name), bootMs: s.bootMs, engineVersion: s.engineVersion, accel: s.accel,
      lastError: s.lastError, ports: s.ports, portProblems: s.portProblems, progress: this.progress.get(name),
    };
  }

  async list(): Promise<MachineView[]> {
    const d = this.dir();
    const names = existsSync(d) ? readdirSync(d).filter((n) => existsSync(join(d, n, 'config.json'))).sort() : [];
    return Promise.all(names.map((n) => this.view(n)));
  }

  async create(a: { name?: string; cpus?: number; memoryMiB?: number; diskGiB?: number }): Promise<void> {
    const name = a.name ?? DEFAULT_MACHINE;
    const kind: MachineKind = platform() === 'darwin' ? 'vz' : platform() === 'win32' ? 'wsl2' : 'qemu';
    const home = this.o.env?.HOME || homedir();
    if (a.cpus !== undefined && a.cpus > cpus().length) throw new MachineError(`${a.cpus} CPUs is more than this host has (${cpus().length})`);
    await this.machine(name).create({
      name, kind, arch: nativeArch(), cpus: a.cpus ?? Math.min(2, cpus().length), memoryMiB: a.memoryMiB ?? 2048, diskGiB: a.diskGiB ?? 60,
      shares: [home], created: new Date().toISOString(),
    });
    await this.emit(name);
  }

  /** Resolves when the engine answers; progress lines go to listeners meanwhile. */
  async start(name: string): Promise<void> {
    if (this.progress.has(name)) throw new MachineError(`machine ${name} is already starting`);
    const say = (line: string): void => {
      this.progress.set(name, line);
      void this.emit(name);
    };
    say('Starting…');
    try {
      await this.machine(name).start(say);
    } finally {
      this.progress.delete(name);
      await this.emit(name);
    }
  }

  async stop(name: string, force = false): Promise<void> {
    const m = this.machine(name);
    m.config();
    const stopping = m.stop({ force });
    setTimeout(() => void this.emit(name), 300);
    await stopping;
    await this.emit(name);
  }

  async set(name: string, r: { cpus?: number; memoryMiB?: number; diskGiB?: number }): Promise<void> {
    if (r.cpus !== undefined && r.cpus > cpus().length) throw new MachineError(`${r.cpus} CPUs is more than this host has (${cpus().length})`);
    await this.machine(name).setResources(r);
    await this.emit(name);
  }

  async remove(name: string, force = false): Promise<void> {
    await this.machine(name).delete({ force });
  }

  console(name: string): { lines: string[] } {
    const m = this.machine(name);
    m.config();
    return { lines: consoleTail(m.paths.consoleLog, 300) };
  }
}
