// The vz backend (macOS 13+): Apple's Virtualization.framework through vfkit, a small signed
// helper process (as podman machine does), so the VM does not live in the app's process. The
// same arm64 kernel, initramfs and root image as the qemu backend (the arm64 kernel is an
// uncompressed Image, which VZLinuxBootLoader needs); NAT networking with DHCP; the guest agent
// over vsock, which vfkit exposes as a unix socket; folders and the guest's settings through
// virtio-fs. Not run on this machine (Linux): tested by what it generates and parses.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { GuestImage } from '../guestImage.ts';
import type { MachineConfig, VmPlan } from '../machine.ts';
import type { Hypervisor, MachinePaths } from '../supervisor.ts';

export const AGENT_VSOCK_PORT = 7390;

export interface VfkitPlan extends VmPlan {
  /** vfkit's REST API (state, stop) */
  restSocket: string;
  /** the host end of the agent's vsock port */
  agentSocket: string;
  /** the folder with guest.json and token, shared as berthcfg */
  configDir: string;
  shares: string[];
  rosetta?: boolean;
}

/** vfkit's command line (crc-org/vfkit doc/usage.md). */
export function vfkitArgs(p: VfkitPlan): string[] {
  const args = [
    '--cpus', String(p.cpus), '--memory', String(p.memoryMiB),
    '--bootloader', `linux,kernel=${p.kernel},initrd=${p.initrd},cmdline="console=hvc0 panic=-1 quiet loglevel=3"`,
    '--restful-uri', `unix://${p.restSocket}`,
    '--device', `virtio-blk,path=${p.rootImage}`,
    '--device', `virtio-blk,path=${p.dataDisk}`,
    '--device', 'virtio-net,nat',
    '--device', `virtio-serial,logFilePath=${p.consoleLog}`,
    '--device', 'virtio-rng',
    '--device', `virtio-vsock,port=${AGENT_VSOCK_PORT},socketURL=${p.agentSocket},connect`,
    '--device', `virtio-fs,sharedDir=${p.configDir},mountTag=berthcfg`,
  ];
  p.shares.forEach((dir, i) => args.push('--device', `virtio-fs,sharedDir=${dir},mountTag=share${i}`));
  if (p.rosetta) args.push('--device', 'rosetta,mountTag=rosetta');
  return args;
}

export type VfkitState = 'running' | 'stopped' | 'starting' | 'stopping' | 'paused' | 'error';

/** `GET /vm/state`'s answer: {"state":"VirtualMachineStateRunning","canStop":true,…}. */
export function parseVfkitState(body: string): { state: VfkitState; canStop: boolean; canHardStop: boolean } {
  let j: { state?: unknown; canStop?: unknown; canHardStop?: unknown };
  try {
    j = JSON.parse(body) as typeof j;
  } catch {
    throw new Error(`vfkit answered something that is not JSON: ${body.slice(0, 80)}`);
  }
  const map: Record<string, VfkitState> = {
    VirtualMachineStateRunning: 'running', VirtualMachineStateStopped: 'stopped', VirtualMachineStateStarting: 'starting',
    VirtualMachineStateStopping: 'stopping', VirtualMachineStatePaused: 'paused', VirtualMachineStatePausing: 'paused',
    VirtualMachineStateResuming: 'starting', VirtualMachineStateError: 'error',
  };
  const state = typeof j.state === 'string' ? map[j.state] : undefined;
  if (!state) throw new Error(`vfkit reported an unknown state ${JSON.stringify(j.state)}`);
  return { state, canStop: j.canStop === true, canHardStop: j.canHardStop === true };
}

/** vfkit's REST API on its unix socket. */
export class VfkitClient {
  constructor(private readonly socket: string) {}

  private call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method, path, agent: false, timeout: 5000, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`vfkit ${method} ${path}: HTTP ${res.statusCode} ${text.trim()}`));
          else resolve(text);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`vfkit ${method} ${path}: no answer within 5 s`)));
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async state(): Promise<ReturnType<typeof parseVfkitState>> {
    return parseVfkitState(await this.call('GET', '/vm/state'));
  }

  /** `Stop` asks the guest (ACPI-like request); `HardStop` ends it. */
  async stop(hard = false): Promise<void> {
    await this.call('POST', '/vm/state', { state: hard ? 'HardStop' : 'Stop' });
  }
}

/** Where vfkit is: beside the app (signed, in Resources), or on PATH (brew install vfkit). */
export function findVfkit(resources: string | undefined, path = process.env.PATH ?? ''): string | undefined {
  const candidates = [...(resources ? [join(resources, 'vfkit')] : []), ...path.split(':').filter(Boolean).map((d) => join(d, 'vfkit'))];
  return candidates.find((c) => existsSync(c));
}

export class VfkitHypervisor implements Hypervisor {
  readonly kind = 'vz' as const;
  readonly accel = 'vz';
  private readonly agentSocket: string;
  private readonly configDir: string;

  constructor(private readonly config: MachineConfig, private readonly image: GuestImage, private readonly paths: MachinePaths, private readonly vfkit: string | undefined) {
    this.agentSocket = join(paths.dir, 'agent.sock');
    this.configDir = join(paths.dir, 'guest');
  }

  missing(e: NodeJS.ErrnoException): string {
    return e.code === 'ENOENT' ? 'vfkit is not installed: reinstall Berth (it ships vfkit), or brew install vfkit' : `vfkit: ${e.message}`;
  }

  async launch(token: string): Promise<ChildProcess> {
    if (process.platform !== 'darwin') throw new Error('the vz backend needs macOS 13 or later');
    if (!this.vfkit) throw new Error(this.missing({ code: 'ENOENT' } as NodeJS.ErrnoException));
    mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.configDir, 'token'), token, { mode: 0o600 });
    writeFileSync(join(this.configDir, 'guest.json'), JSON.stringify({ shares: this.config.shares, network: 'dhcp', vsock: AGENT_VSOCK_PORT }));
    rmSync(this.agentSocket, { force: true });
    const args = vfkitArgs({
      cpus: this.config.cpus, memoryMiB: this.config.memoryMiB, kernel: this.image.kernel, initrd: this.image.initrd, rootImage: this.image.rootImage,
      dataDisk: this.paths.dataDisk, consoleLog: this.paths.consoleLog, restSocket: join(this.paths.dir, 'vfkit.sock'), agentSocket: this.agentSocket,
      configDir: this.configDir, shares: this.config.shares,
    });
    return spawn(this.vfkit, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  address(): { path: string } {
    return { path: this.agentSocket };
  }

  dial(): Socket {
    return connect({ path: this.agentSocket, allowHalfOpen: true });
  }

  cleanup(): void {
    rmSync(this.configDir, { recursive: true, force: true });
    for (const f of ['agent.sock', 'vfkit.sock']) rmSync(join(this.paths.dir, f), { force: true });
  }
}
