// The qemu command line of a machine, and the choice of accelerator. Pure: the backend spawns
// what this returns, the unit tests read it.
import { accessSync, constants, readFileSync } from 'node:fs';
import type { VmPlan } from '../machine.ts';

export type Accel = 'kvm' | 'hvf' | 'tcg';

export interface QemuPlan extends VmPlan {
  arch: 'x86_64' | 'arm64';
  accel: Accel;
  /** host 127.0.0.1 port forwarded to the guest agent */
  agentHostPort: number;
  agentGuestPort: number;
  /** files handed to the guest through fw_cfg: opt/berth/config and opt/berth/token */
  configFile: string;
  tokenFile: string;
  pidFile: string;
  qmpSocket: string;
  /** vhost-user-fs sockets of virtiofsd, one per shared folder (tags share0, share1, …) */
  shareSockets: string[];
}

export function qemuBinary(arch: QemuPlan['arch']): string {
  return arch === 'x86_64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
}

export function qemuArgs(p: QemuPlan): string[] {
  const machine = p.arch === 'x86_64' ? 'q35,vmport=off' : 'virt';
  const cpu = p.accel === 'tcg' ? (p.arch === 'x86_64' ? 'max' : 'cortex-a72') : 'host';
  const console = p.arch === 'x86_64' ? 'ttyS0' : 'ttyAMA0';
  const args = [
    '-name', 'berth', '-accel', p.accel === 'tcg' ? 'tcg,thread=multi,tb-size=256' : p.accel,
    '-M', machine, '-cpu', cpu, '-smp', String(p.cpus), '-m', `${p.memoryMiB}M`,
    '-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config',
    '-chardev', `file,id=con,path=${p.consoleLog}`, '-serial', 'chardev:con',
    '-qmp', `unix:${p.qmpSocket},server=on,wait=off`, '-pidfile', p.pidFile,
    '-kernel', p.kernel, '-initrd', p.initrd,
    '-append', `console=${console} panic=-1 quiet loglevel=3`,
    '-drive', `file=${p.rootImage},format=raw,if=virtio,readonly=on`,
    '-drive', `file=${p.dataDisk},format=raw,if=virtio,discard=unmap,cache=writeback`,
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${p.agentHostPort}-:${p.agentGuestPort}`, '-device', 'virtio-net-pci,netdev=n0',
    '-device', 'virtio-rng-pci',
    '-fw_cfg', `name=opt/berth/config,file=${p.configFile}`, '-fw_cfg', `name=opt/berth/token,file=${p.tokenFile}`,
  ];
  if (p.shareSockets.length) {
    // vhost-user needs the guest's memory shared with virtiofsd.
    args.push('-object', `memory-backend-memfd,id=mem,size=${p.memoryMiB}M,share=on`, '-numa', 'node,memdev=mem');
    p.shareSockets.forEach((sock, i) => {
      args.push('-chardev', `socket,id=fs${i},path=${sock}`, '-device', `vhost-user-fs-pci,chardev=fs${i},tag=share${i}`);
    });
  }
  return args;
}

/**
 * Whether KVM can run this machine's guests. `/dev/kvm` existing is not enough: nested setups
 * (PVM) have one that cannot run a stock kernel. Hardware virtualization must be in the CPU
 * flags, and `probe` (a real boot) has the last word.
 */
export function kvmCandidate(cpuinfo = safeRead('/proc/cpuinfo'), devKvm = safeAccess('/dev/kvm')): boolean {
  return devKvm && /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function safeAccess(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
