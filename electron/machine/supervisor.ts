// The process that keeps a machine (`berth machine supervise NAME`, started detached by
// `berth machine start`, as Lima's host agent), whatever its hypervisor: it launches the VM,
// talks to the guest agent over its control stream, serves the engine's docker and contract
// sockets on the host, forwards published ports, and writes status.json for the CLI and the app.
// SIGTERM stops the machine cleanly (the guest syncs its data disk and powers off).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { header, lineReader, parseGuestMessage, splice, type Verb } from './agentProtocol.ts';
import { PortForwards } from './portForwards.ts';
import type { MachineConfig, MachineKind, MachineStatus } from './machine.ts';

/** What a backend does for the supervisor: run the VM and reach the guest agent. */
export interface Hypervisor {
  readonly kind: MachineKind;
  /** how the VM is accelerated (kvm, hvf, tcg, vz, wsl) */
  readonly accel: string;
  /** starts the VM; the guest gets `token` to check the host's streams against */
  launch(token: string): Promise<ChildProcess>;
  /** a new stream to the guest agent */
  dial(): Socket;
  /** where dial() connects, for other processes of this user (`berth machine ssh`) */
  address(): { port: number } | { path: string };
  /** removes what launch made, once the VM is gone */
  cleanup(): void;
  /** a missing program, said as its fix */
  missing(e: NodeJS.ErrnoException): string;
}

export interface MachinePaths {
  dir: string;
  config: string;
  status: string;
  dataDisk: string;
  consoleLog: string;
  dockerSocket: string;
  contractSocket: string;
  supervisorLog: string;
}

export function machinePaths(dir: string): MachinePaths {
  return {
    dir, config: join(dir, 'config.json'), status: join(dir, 'status.json'), dataDisk: join(dir, 'data.img'),
    consoleLog: join(dir, 'console.log'), dockerSocket: join(dir, 'docker.sock'), contractSocket: join(dir, 'contract.sock'),
    supervisorLog: join(dir, 'supervisor.log'),
  };
}

export function writeStatus(file: string, s: MachineStatus): void {
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...s, updated: new Date().toISOString() }, null, 1));
  renameSync(`${file}.tmp`, file);
}

export function consoleTail(file: string, n = 15): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim()).slice(-n);
  } catch {
    return [];
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface SupervisorOptions {
  paths: MachinePaths;
  config: MachineConfig;
  hypervisor: Hypervisor;
  /** ms to wait for the engine in the guest */
  bootTimeoutMs: number;
  /** the docker context that names the forwarded socket */
  context: string;
  /** registers the docker context for the forwarded socket */
  onReady?: (s: MachineStatus) => void;
  onStopped?: () => void;
}

export class Supervisor {
  private status: MachineStatus;
  private readonly token = randomBytes(24).toString('hex');
  private vm?: ChildProcess;
  private control?: Socket;
  private readonly servers: Server[] = [];
  private readonly forwards = new PortForwards((port) => this.open({ verb: 'tcp', port }));
  private stopping = false;
  private t0 = 0;
  private readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly o: SupervisorOptions) {
    this.status = { name: o.config.name, kind: o.hypervisor.kind, state: 'starting', pid: process.pid, ports: [], portProblems: [], updated: '' };
    this.done = new Promise((r) => (this.finish = r));
  }

  private set(patch: Partial<MachineStatus>): void {
    this.status = { ...this.status, ...patch };
    writeStatus(this.o.paths.status, this.status);
  }

  /** Runs the machine until it stops; resolves then. */
  async run(): Promise<void> {
    const { paths, config, hypervisor } = this.o;
    this.set({ accel: hypervisor.accel });
    rmSync(paths.consoleLog, { force: true });
    // For this user's other processes that open streams to the agent (`berth machine ssh`).
    writeFileSync(join(paths.dir, 'agent-token'), this.token, { mode: 0o600 });
    this.t0 = Date.now();
    let vmErr = '';
    let vm: ChildProcess;
    try {
      vm = await hypervisor.launch(this.token);
    } catch (e) {
      this.fail(`cannot start machine ${config.name}: ${(e as Error).message}`);
      return this.done;
    }
    this.vm = vm;
    vm.stderr?.setEncoding('utf8').on('data', (d: string) => (vmErr = (vmErr + d).slice(-2000)));
    vm.on('error', (e) => {
      // the program could not be run: there is no process to wait for
      if (!vm.pid) this.vm = undefined;
      this.fail(`cannot start machine ${config.name}: ${hypervisor.missing(e as NodeJS.ErrnoException)}`);
    });
    vm.on('exit', (code, signal) => {
      this.vm = undefined;
      if (this.stopping) return this.cleanup('stopped');
      const why = vmErr.trim() ? vmErr.trim().split('\n').slice(-3).join(' ') : `the VM exited (${signal ?? `code ${code}`})`;
      this.fail(`machine ${config.name} stopped unexpectedly: ${why}`);
    });
    if (vm.pid) this.set({ vmPid: vm.pid });
    const timer = setTimeout(() => {
      if (this.status.state === 'starting') this.fail(`machine ${config.name} did not become ready within ${this.o.bootTimeoutMs / 1000} s`);
    }, this.o.bootTimeoutMs);
    const watch = setInterval(() => this.watchConsole(), 500);
    void this.connectControl();
    await this.done;
    clearTimeout(timer);
    clearInterval(watch);
  }

  /** A boot that cannot go on says so on the console (our init's stage, or a kernel panic): no need to wait it out. */
  private watchConsole(): void {
    if (this.status.state !== 'starting') return;
    const fatal = consoleTail(this.o.paths.consoleLog, 40).find((l) => /berth-init: cannot mount the root image|Kernel panic/.test(l));
    if (fatal) this.fail(`machine ${this.o.config.name} failed to boot: ${fatal.replace(/^\[[\s\d.]+\]\s*/, '')}`);
  }

  /** Clean stop: the guest powers off; the VM is ended if it does not within `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    this.set({ state: 'stopping' });
    const vm = this.vm;
    if (!vm) return this.cleanup('stopped');
    if (this.control?.writable) this.control.write(`${JSON.stringify({ type: 'shutdown' })}\n`);
    else vm.kill('SIGTERM');
    const hard = setTimeout(() => vm.kill('SIGKILL'), timeoutMs);
    await this.done;
    clearTimeout(hard);
  }

  private fail(message: string): void {
    if (this.status.state === 'error' || this.stopping) return;
    this.stopping = true;
    this.set({ state: 'error', lastError: message, console: consoleTail(this.o.paths.consoleLog) });
    if (this.vm) {
      const q = this.vm;
      q.kill('SIGTERM');
      setTimeout(() => q.kill('SIGKILL'), 3000).unref();
    } else this.cleanup('error');
  }

  private cleanup(state: 'stopped' | 'error'): void {
    this.forwards.close();
    this.control?.destroy();
    for (const s of this.servers) s.close();
    this.o.hypervisor.cleanup();
    const { paths } = this.o;
    for (const f of [paths.dockerSocket, paths.contractSocket, join(paths.dir, 'agent-token')]) rmSync(f, { force: true });
    const final = this.status.state === 'error' ? 'error' : state;
    this.set({ state: final, vmPid: undefined, ports: [], portProblems: [] });
    this.o.onStopped?.();
    this.finish();
  }

  /** A stream to the guest agent, its header sent. */
  private open(v: Verb): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = this.o.hypervisor.dial();
      s.once('connect', () => {
        s.write(header(this.token, v));
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  /** Until the guest answers: user-mode networking (and vsock relays) accept and drop connections until the agent listens. */
  private async connectControl(): Promise<void> {
    while (!this.stopping && this.vm) {
      const s = await this.open({ verb: 'control' }).catch(() => undefined);
      if (!s) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const heard = await new Promise<boolean>((resolve) => {
        let any = false;
        s.setEncoding('utf8').on('data', lineReader((line) => {
          any = true;
          resolve(true);
          this.onGuest(line);
        }));
        s.on('close', () => resolve(any));
        // The guest side ended (user-mode networking found nothing listening yet): try again.
        s.on('end', () => s.destroy());
        s.on('error', () => undefined);
      });
      if (heard) {
        this.control = s;
        s.on('close', () => {
          if (this.control === s) this.control = undefined;
          if (!this.stopping && this.vm) setTimeout(() => void this.connectControl(), 250);
        });
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private onGuest(line: string): void {
    const m = parseGuestMessage(line);
    if (!m) return;
    if (m.type === 'error') return this.fail(`machine ${this.o.config.name}: ${m.reason}`);
    if (m.type === 'ready' && this.status.state === 'starting') void this.ready(m);
    if (m.type === 'ports') {
      void this.forwards.apply(m.bound).then((problems) => {
        this.set({ ports: this.forwards.active(), portProblems: problems.map((p) => p.message) });
      });
    }
  }

  private async ready(m: Extract<ReturnType<typeof parseGuestMessage>, { type: 'ready' }>): Promise<void> {
    const { paths } = this.o;
    this.servers.push(await this.relay(paths.dockerSocket, { verb: 'api' }), await this.relay(paths.contractSocket, { verb: 'contract' }));
    this.set({
      state: 'running', bootMs: Date.now() - this.t0, guestBootMs: m.bootMs, engineVersion: m.version, kernel: m.kernel, image: m.image,
      dockerSocket: paths.dockerSocket, contractSocket: paths.contractSocket, context: this.o.context, agent: this.o.hypervisor.address(),
    });
    this.o.onReady?.(this.status);
  }

  /** A host unix socket (this user's only) whose every connection is a stream to the guest. */
  private relay(path: string, v: Verb): Promise<Server> {
    rmSync(path, { force: true });
    // Half-closes pass through: `docker run` ends its side of an attach and still reads the output.
    const server = createServer({ allowHalfOpen: true }, (client) => {
      client.pause();
      client.on('error', () => undefined);
      this.open(v).then((guest) => {
        splice(client, guest);
        client.resume();
      }, () => client.destroy());
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const old = process.umask(0o177);
      server.listen(path, () => {
        process.umask(old);
        resolve(server);
      });
    });
  }
}
