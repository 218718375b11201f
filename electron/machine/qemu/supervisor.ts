// The process that keeps a qemu machine (`berth machine supervise NAME`, started detached by
// `berth machine start`, as Lima's host agent): it runs virtiofsd and qemu, talks to the guest
// agent over its control stream, serves the engine's docker and contract sockets on the host,
// forwards published ports, and writes status.json for the CLI and the app. SIGTERM stops the
// machine cleanly (the guest syncs its data disk and powers off).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { header, lineReader, parseGuestMessage, splice, type Verb } from '../agentProtocol.ts';
import { GUEST_AGENT_PORT } from '../agent.ts';
import { PortForwards } from '../portForwards.ts';
import type { MachineConfig, MachineStatus } from '../machine.ts';
import { kvmCandidate, qemuArgs, qemuBinary, type Accel } from './qemuArgs.ts';
import type { GuestImage } from '../guestImage.ts';

export const VIRTIOFSD = ['/usr/libexec/virtiofsd', '/usr/lib/qemu/virtiofsd'];

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

function freePort(): Promise<number> {
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
  image: GuestImage;
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
  private agentPort = 0;
  private qemu?: ChildProcess;
  private readonly fsds: ChildProcess[] = [];
  private control?: Socket;
  private readonly servers: Server[] = [];
  private readonly forwards = new PortForwards((port) => this.open({ verb: 'tcp', port }));
  private stopping = false;
  private t0 = 0;
  private readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly o: SupervisorOptions) {
    this.status = { name: o.config.name, kind: 'qemu', state: 'starting', pid: process.pid, ports: [], portProblems: [], updated: '' };
    this.done = new Promise((r) => (this.finish = r));
  }

  private set(patch: Partial<MachineStatus>): void {
    this.status = { ...this.status, ...patch };
    writeStatus(this.o.paths.status, this.status);
  }

  /** Runs the machine until it stops; resolves then. */
  async run(): Promise<void> {
    const { paths, config, image } = this.o;
    const accel: Accel = process.platform === 'darwin' ? 'hvf' : kvmCandidate() && process.env.BERTH_MACHINE_ACCEL !== 'tcg' ? 'kvm' : 'tcg';
    this.set({ accel });
    this.agentPort = await freePort();
    const tokenFile = join(paths.dir, 'token');
    writeFileSync(tokenFile, this.token, { mode: 0o600 });
    const configFile = join(paths.dir, 'guest.json');
    writeFileSync(configFile, JSON.stringify({ shares: config.shares }));
    const shareSockets = await this.startShares();
    rmSync(paths.consoleLog, { force: true });
    const args = qemuArgs({
      arch: config.arch, accel, cpus: config.cpus, memoryMiB: config.memoryMiB, kernel: image.kernel, initrd: image.initrd,
      rootImage: image.rootImage, dataDisk: paths.dataDisk, agentHostPort: this.agentPort, agentGuestPort: GUEST_AGENT_PORT,
      configFile, tokenFile, consoleLog: paths.consoleLog, pidFile: join(paths.dir, 'qemu.pid'), qmpSocket: join(paths.dir, 'qmp.sock'), shareSockets,
    });
    this.t0 = Date.now();
    let qemuErr = '';
    const qemu = spawn(qemuBinary(config.arch), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.qemu = qemu;
    qemu.stderr!.setEncoding('utf8').on('data', (d: string) => (qemuErr = (qemuErr + d).slice(-2000)));
    qemu.on('error', (e) => {
      this.fail(`cannot run ${qemuBinary(config.arch)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is not installed (apt-get install qemu-system-x86, brew install qemu)' : e.message}`);
    });
    qemu.on('exit', (code, signal) => {
      this.qemu = undefined;
      if (this.stopping) return this.cleanup('stopped');
      const why = qemuErr.trim() ? `qemu: ${qemuErr.trim().split('\n').slice(-3).join(' ')}` : `the VM exited (${signal ?? `code ${code}`})`;
      this.fail(`machine ${config.name} stopped unexpectedly: ${why}`);
    });
    if (qemu.pid) this.set({ vmPid: qemu.pid });
    const timer = setTimeout(() => {
      if (this.status.state === 'starting') this.fail(`machine ${config.name} did not become ready within ${this.o.bootTimeoutMs / 1000} s`);
    }, this.o.bootTimeoutMs);
    void this.connectControl();
    await this.done;
    clearTimeout(timer);
  }

  /** Clean stop: the guest powers off; qemu is ended if it does not within `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    this.set({ state: 'stopping' });
    const qemu = this.qemu;
    if (!qemu) return this.cleanup('stopped');
    if (this.control?.writable) this.control.write(`${JSON.stringify({ type: 'shutdown' })}\n`);
    else qemu.kill('SIGTERM');
    const hard = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
    await this.done;
    clearTimeout(hard);
  }

  private fail(message: string): void {
    if (this.status.state === 'error' || this.stopping) return;
    this.stopping = true;
    this.set({ state: 'error', lastError: message, console: consoleTail(this.o.paths.consoleLog) });
    if (this.qemu) {
      const q = this.qemu;
      q.kill('SIGTERM');
      setTimeout(() => q.kill('SIGKILL'), 3000).unref();
    } else this.cleanup('error');
  }

  private cleanup(state: 'stopped' | 'error'): void {
    this.forwards.close();
    this.control?.destroy();
    for (const s of this.servers) s.close();
    for (const f of this.fsds) f.kill('SIGTERM');
    const { paths } = this.o;
    for (const f of [paths.dockerSocket, paths.contractSocket, join(paths.dir, 'token'), join(paths.dir, 'qmp.sock'), join(paths.dir, 'qemu.pid')]) rmSync(f, { force: true });
    const final = this.status.state === 'error' ? 'error' : state;
    this.set({ state: final, vmPid: undefined, ports: [], portProblems: [] });
    this.o.onStopped?.();
    this.finish();
  }

  private async startShares(): Promise<string[]> {
    const { config, paths } = this.o;
    if (!config.shares.length) return [];
    const bin = VIRTIOFSD.find((p) => existsSync(p));
    if (!bin) throw new Error('virtiofsd is not installed (Debian: qemu-system-common; others: the virtiofsd package): needed to share folders with the machine');
    const socks: string[] = [];
    for (const [i, share] of config.shares.entries()) {
      const sock = join(paths.dir, `fs${i}.sock`);
      rmSync(sock, { force: true });
      const fsd = spawn(bin, [`--socket-path=${sock}`, '-o', `source=${share}`, '-o', 'cache=auto', '-o', 'xattr'], { stdio: 'ignore' });
      this.fsds.push(fsd);
      for (let t = 0; t < 100 && !existsSync(sock); t++) await new Promise((r) => setTimeout(r, 50));
      if (!existsSync(sock)) throw new Error(`virtiofsd did not start for ${share}`);
      socks.push(sock);
    }
    return socks;
  }

  /** A stream to the guest agent, its header sent. */
  private open(v: Verb): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ port: this.agentPort, host: '127.0.0.1', allowHalfOpen: true }, () => {
        s.write(header(this.token, v));
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  /** Until the guest answers: user-mode networking accepts and drops connections until the agent listens. */
  private async connectControl(): Promise<void> {
    while (!this.stopping && this.qemu) {
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
        s.on('error', () => undefined);
      });
      if (heard) {
        this.control = s;
        s.on('close', () => {
          if (this.control === s) this.control = undefined;
          if (!this.stopping && this.qemu) setTimeout(() => void this.connectControl(), 250);
        });
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private onGuest(line: string): void {
    const m = parseGuestMessage(line);
    if (!m) return;
    if (m.type === 'error') return this.fail(`machine ${this.o.config.name}: ${m.message}`);
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
      dockerSocket: paths.dockerSocket, contractSocket: paths.contractSocket, context: this.o.context,
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
