// qemu for the supervisor: KVM (after the CPU-flag check), HVF on macOS, TCG otherwise; the
// guest agent through user-mode networking's hostfwd on 127.0.0.1; host folders through one
// virtiofsd per share; the guest's settings and token through fw_cfg (files, never argv).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { GUEST_AGENT_PORT } from '../agent.ts';
import type { GuestImage } from '../guestImage.ts';
import { nativeArch, type MachineConfig } from '../machine.ts';
import { freePort, type Hypervisor, type MachinePaths } from '../supervisor.ts';
import { kvmCandidate, qemuArgs, qemuBinary, type Accel } from './qemuArgs.ts';

export const VIRTIOFSD = ['/usr/libexec/virtiofsd', '/usr/lib/qemu/virtiofsd'];

export class QemuHypervisor implements Hypervisor {
  readonly kind = 'qemu' as const;
  readonly accel: Accel;
  private agentPort = 0;
  private readonly fsds: ChildProcess[] = [];

  constructor(private readonly config: MachineConfig, private readonly image: GuestImage, private readonly paths: MachinePaths, env: NodeJS.ProcessEnv = process.env) {
    // Another architecture's guest is emulated (TCG) whatever the host has.
    this.accel = config.arch !== nativeArch() || env.BERTH_MACHINE_ACCEL === 'tcg' ? 'tcg' : process.platform === 'darwin' ? 'hvf' : kvmCandidate() ? 'kvm' : 'tcg';
  }

  missing(e: NodeJS.ErrnoException): string {
    const bin = qemuBinary(this.config.arch);
    return e.code === 'ENOENT' ? `${bin} is not installed (Debian/Ubuntu: apt-get install qemu-system-x86; macOS: brew install qemu)` : `${bin}: ${e.message}`;
  }

  async launch(token: string): Promise<ChildProcess> {
    const { config, image, paths } = this;
    this.agentPort = await freePort();
    const tokenFile = join(paths.dir, 'token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const configFile = join(paths.dir, 'guest.json');
    writeFileSync(configFile, JSON.stringify({ shares: config.shares, network: 'user' }));
    const shareSockets = await this.startShares();
    const args = qemuArgs({
      arch: config.arch, accel: this.accel, cpus: config.cpus, memoryMiB: config.memoryMiB, kernel: image.kernel, initrd: image.initrd,
      rootImage: image.rootImage, dataDisk: paths.dataDisk, agentHostPort: this.agentPort, agentGuestPort: GUEST_AGENT_PORT,
      configFile, tokenFile, consoleLog: paths.consoleLog, pidFile: join(paths.dir, 'qemu.pid'), qmpSocket: join(paths.dir, 'qmp.sock'), shareSockets,
    });
    return spawn(qemuBinary(config.arch), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  address(): { port: number } {
    return { port: this.agentPort };
  }

  dial(): Socket {
    return connect({ port: this.agentPort, host: '127.0.0.1', allowHalfOpen: true });
  }

  cleanup(): void {
    for (const f of this.fsds) f.kill('SIGTERM');
    for (const f of ['token', 'qmp.sock', 'qemu.pid', ...this.config.shares.map((_, i) => `fs${i}.sock`)]) rmSync(join(this.paths.dir, f), { force: true });
  }

  private async startShares(): Promise<string[]> {
    const { config, paths } = this;
    if (!config.shares.length) return [];
    const bin = VIRTIOFSD.find((p) => existsSync(p));
    if (!bin) throw new Error('virtiofsd is not installed (Debian: qemu-system-common; elsewhere: the virtiofsd package); it shares folders with the machine');
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
}
