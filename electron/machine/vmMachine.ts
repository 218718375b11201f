// A machine in a VM (qemu, vz or wsl2): its settings, data disk and status in one directory, and
// a supervisor process (supervisor.ts, with the backend's Hypervisor) that keeps it while it runs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ensureGuestImage } from './guestImage.ts';
import { removeDockerContext } from './dockerContext.ts';
import { contextName, MachineError, type Capabilities, type Machine, type MachineConfig, type MachineKind, type MachineStatus } from './machine.ts';
import { kvmCandidate, qemuBinary } from './qemu/qemuArgs.ts';
import { machinePaths, type MachinePaths } from './supervisor.ts';

const alive = (pid: number | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface VmMachineOptions {
  /** the machine's directory */
  dir: string;
  name: string;
  /** the install's root (for the guest image) */
  root: string;
  /** how to run `berth machine supervise NAME` detached: argv before the subcommand */
  berth: string[];
  env?: NodeJS.ProcessEnv;
}

export class VmMachine implements Machine {
  readonly paths: MachinePaths;

  constructor(private readonly o: VmMachineOptions) {
    this.paths = machinePaths(o.dir);
  }

  get kind(): MachineKind {
    return existsSync(this.paths.config) ? this.config().kind : 'qemu';
  }

  config(): MachineConfig {
    if (!existsSync(this.paths.config)) throw new MachineError(`machine ${this.o.name} does not exist`, 'create it with `berth machine init`', 'NOT_FOUND');
    return JSON.parse(readFileSync(this.paths.config, 'utf8')) as MachineConfig;
  }

  async capabilities(): Promise<Capabilities> {
    if (this.kind === 'vz') return process.platform === 'darwin' ? { available: true, accel: 'vz' } : { available: false, reason: 'the vz backend runs on macOS 13 or later' };
    if (this.kind === 'wsl2') return process.platform === 'win32' ? { available: true, accel: 'wsl' } : { available: false, reason: 'the wsl2 backend runs on Windows' };
    const arch = process.arch === 'arm64' ? 'arm64' : 'x86_64';
    const r = spawnSync(qemuBinary(arch), ['--version'], { encoding: 'utf8' });
    if (r.error) return { available: false, reason: `${qemuBinary(arch)} is not installed (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils; macOS: brew install qemu)` };
    return { available: true, accel: process.platform === 'darwin' ? 'hvf' : kvmCandidate() ? 'kvm' : 'tcg' };
  }

  async create(cfg: MachineConfig): Promise<void> {
    if (existsSync(this.paths.config)) throw new MachineError(`machine ${cfg.name} already exists`, 'start it with `berth machine start`, or remove it with `berth machine rm`', 'CONFLICT');
    for (const s of cfg.shares) if (!existsSync(s)) throw new MachineError(`the folder ${s} to share does not exist`, 'give an existing folder to --share');
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    try {
      // A sparse file: it takes the space the guest writes, and gives it back (discard) when images go.
      const mkfs = ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'].find((p) => existsSync(p)) ?? 'mkfs.ext4';
      writeFileSync(this.paths.dataDisk, '');
      const r = spawnSync(mkfs, ['-q', '-F', '-L', 'berthdata', '-E', 'nodiscard,lazy_itable_init=1', '-m', '0', this.paths.dataDisk, `${cfg.diskGiB}G`], { encoding: 'utf8' });
      if (r.error || r.status !== 0) throw new MachineError(`cannot make the data disk of machine ${cfg.name}: ${r.error ? 'mkfs.ext4 is not installed (e2fsprogs)' : r.stderr.trim()}`);
      writeFileSync(this.paths.config, JSON.stringify(cfg, null, 1));
    } catch (e) {
      rmSync(this.o.dir, { recursive: true, force: true });
      throw e;
    }
  }

  async status(): Promise<MachineStatus> {
    const base: MachineStatus = { name: this.o.name, kind: this.kind, state: 'absent', ports: [], portProblems: [], updated: new Date().toISOString() };
    if (!existsSync(this.paths.config)) return base;
    let s: MachineStatus;
    try {
      s = JSON.parse(readFileSync(this.paths.status, 'utf8')) as MachineStatus;
    } catch {
      return { ...base, state: 'stopped' };
    }
    if ((s.state === 'running' || s.state === 'starting' || s.state === 'stopping') && !alive(s.pid)) {
      return { ...s, state: 'stopped', pid: undefined, vmPid: undefined, ports: [], lastError: s.state === 'stopping' ? undefined : 'the machine\'s supervisor process ended (the host restarted, or it was killed)' };
    }
    return s;
  }

  async start(progress: (line: string) => void = () => undefined, timeoutMs = 300_000): Promise<MachineStatus> {
    const cfg = this.config();
    const now = await this.status();
    if (now.state === 'running' || now.state === 'starting') throw new MachineError(`machine ${cfg.name} is already ${now.state}`, 'stop it first with `berth machine stop`', 'CONFLICT');
    const caps = await this.capabilities();
    if (!caps.available) throw new MachineError(`cannot start machine ${cfg.name}: ${caps.reason}`);
    await ensureGuestImage(this.o.root, cfg.arch, progress, this.o.env);
    rmSync(this.paths.status, { force: true });
    const log = openSync(this.paths.supervisorLog, 'a');
    const child = spawn(this.o.berth[0]!, [...this.o.berth.slice(1), 'machine', 'supervise', cfg.name], {
      detached: true, stdio: ['ignore', log, log], env: { ...(this.o.env ?? process.env), BERTH_MACHINES: this.o.dir.replace(/\/[^/]+$/, '') },
    });
    child.unref();
    progress(`Booting machine ${cfg.name} (${cfg.cpus} CPUs, ${cfg.memoryMiB} MiB, ${cfg.kind} ${caps.accel})…`);
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    child.on('exit', () => (exited = true));
    for (let last = false; Date.now() < deadline && !last;) {
      await sleep(200);
      // Once the supervisor is gone, what it wrote last is read once more: it writes before it exits.
      last = exited;
      let s: MachineStatus | undefined;
      try {
        s = JSON.parse(readFileSync(this.paths.status, 'utf8')) as MachineStatus;
      } catch {
        s = undefined;
      }
      if (s?.state === 'running') return s;
      if (s?.state === 'error') {
        const lines = s.console?.length ? `\nlast console lines:\n  ${s.console.join('\n  ')}` : '';
        throw new MachineError(`${s.lastError ?? `machine ${cfg.name} failed to start`}${lines}`);
      }
      if (last) {
        const tail = readFileSync(this.paths.supervisorLog, 'utf8').trim().split('\n').slice(-5).join('\n');
        throw new MachineError(`machine ${cfg.name} failed to start: ${tail || 'its supervisor exited'}`);
      }
    }
    await this.stop({ force: true });
    throw new MachineError(`machine ${cfg.name} did not start within ${timeoutMs / 1000} s`, 'see `berth machine logs`');
  }

  async stop(opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const s = await this.status();
    if (s.state === 'absent') throw new MachineError(`machine ${this.o.name} does not exist`, 'create it with `berth machine init`', 'NOT_FOUND');
    if (!alive(s.pid)) return;
    process.kill(s.pid!, opts.force ? 'SIGKILL' : 'SIGTERM');
    if (opts.force && s.vmPid && alive(s.vmPid)) process.kill(s.vmPid, 'SIGKILL');
    const deadline = Date.now() + (opts.timeoutMs ?? 45_000);
    while (alive(s.pid) && Date.now() < deadline) await sleep(100);
    if (alive(s.pid)) {
      process.kill(s.pid!, 'SIGKILL');
      if (s.vmPid && alive(s.vmPid)) process.kill(s.vmPid, 'SIGKILL');
    }
    if (opts.force) {
      for (const f of [this.paths.dockerSocket, this.paths.contractSocket]) rmSync(f, { force: true });
      writeFileSync(this.paths.status, JSON.stringify({ ...s, state: 'stopped', pid: undefined, vmPid: undefined, ports: [], updated: new Date().toISOString() }));
    }
  }

  async setResources(r: Partial<Pick<MachineConfig, 'cpus' | 'memoryMiB' | 'diskGiB'>>): Promise<void> {
    const cfg = this.config();
    if (r.diskGiB !== undefined && r.diskGiB < cfg.diskGiB) throw new MachineError(`the data disk of machine ${cfg.name} cannot shrink (${cfg.diskGiB} GiB)`, 'give a size at least as large');
    const next = { ...cfg, ...r };
    if (r.diskGiB && r.diskGiB > cfg.diskGiB) {
      const stat = await this.status();
      if (stat.state === 'running' || stat.state === 'starting') throw new MachineError(`machine ${cfg.name} is running`, 'stop it before growing its disk');
      const resize = ['/usr/sbin/resize2fs', '/sbin/resize2fs'].find((p) => existsSync(p)) ?? 'resize2fs';
      spawnSync('/usr/sbin/e2fsck', ['-f', '-p', this.paths.dataDisk]);
      const out = spawnSync('truncate', ['-s', `${r.diskGiB}G`, this.paths.dataDisk]);
      const rs = spawnSync(resize, [this.paths.dataDisk], { encoding: 'utf8' });
      if (out.status !== 0 || rs.status !== 0) throw new MachineError(`cannot grow the data disk of machine ${cfg.name}: ${rs.stderr?.trim() || 'truncate failed'}`);
    }
    writeFileSync(this.paths.config, JSON.stringify(next, null, 1));
  }

  async delete(opts: { force?: boolean } = {}): Promise<void> {
    const s = await this.status();
    if (s.state === 'absent') throw new MachineError(`machine ${this.o.name} does not exist`, undefined, 'NOT_FOUND');
    if ((s.state === 'running' || s.state === 'starting' || s.state === 'stopping') && !opts.force) {
      throw new MachineError(`machine ${this.o.name} is ${s.state}`, 'stop it first, or remove it anyway with `berth machine rm -f`', 'CONFLICT');
    }
    if (alive(s.pid)) await this.stop({ force: true });
    rmSync(this.o.dir, { recursive: true, force: true });
    removeDockerContext(contextName(this.o.name), this.paths.dockerSocket, this.o.env);
  }
}
