// The qemu machine, measured on this host (TCG: no usable KVM here):
//  - boot to engine ready (host clock from starting qemu to the agent's `ready`, and the guest's
//    uptime then), BOOTS times (default 3), with the stop time; the arm64 guest too (ARM=0: not);
//  - `docker run --rm busybox true` through the machine vs Berth's engine on the host, interleaved;
//  - a 1 GiB file written then read, and a 10,000-file tree made then read, from a container
//    through the shared host folder (virtiofs) vs a volume on the guest's own disk;
//  - idle CPU of the VM (qemu) and its supervisor over IDLE seconds (default 30).
// Needs root (the guest image is built on first use), qemu-system-x86, debootstrap, the docker CLI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../test/helpers/daemon.ts';
import { buildBusyboxTar } from '../test/helpers/busybox.ts';
import { REPO } from '../test/helpers/testEngine.ts';
import type { MachineStatus } from '../electron/machine/machine.ts';
import { median, range } from './lib.ts';

const BOOTS = Number(process.env.BOOTS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const IDLE = Number(process.env.IDLE ?? 30);
const CLI = '/usr/local/bin/docker';
const dir = mkdtempSync('/tmp/berth-t-bench-machine-');
const share = join(dir, 'share');
mkdirSync(share);
const env = { ...process.env, BERTH_MACHINES: join(dir, 'machines'), DOCKER_CONFIG: join(dir, 'docker'), DOCKER_HOST: '' };

function run(cmd: string, args: string[], extra: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { env: { ...env, ...extra }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}
const berth = (...args: string[]) => run(process.execPath, [join(REPO, 'bin/berth.mjs'), 'machine', ...args]);
const status = (): MachineStatus => JSON.parse(berth('status', '--json')) as MachineStatus;
const vm = (...args: string[]) => run(CLI, ['--context', 'berth-vm', ...args]);
const timed = (fn: () => unknown): number => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const cpuTicks = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};

const native = await startDaemon();
try {
  berth('init', '--cpus', '2', '--memory', '2G', '--disk', '20G', '--no-home-share', '--share', share);
  const boots: number[] = [];
  const guest: number[] = [];
  const stops: number[] = [];
  for (let i = 0; i < BOOTS; i++) {
    berth('start');
    const s = status();
    boots.push(s.bootMs! / 1000);
    guest.push(s.guestBootMs! / 1000);
    if (i < BOOTS - 1) stops.push(timed(() => berth('stop')) / 1000);
  }
  const img = JSON.parse(readFileSync(join(REPO, 'dist/guest/x86_64/manifest.json'), 'utf8')) as { bytes: Record<string, number>; buildSeconds: number };
  console.log(`guest image: kernel ${(img.bytes.vmlinuz! / 1e6).toFixed(1)} MB, initramfs ${(img.bytes.initrd! / 1e6).toFixed(1)} MB, root ${(img.bytes.root! / 1e6).toFixed(0)} MB; last build ${img.buildSeconds} s`);
  console.log(`boot to engine ready (x86_64, TCG, 2 vCPU): host ${median(boots).toFixed(1)} s ${range(boots)}, guest uptime ${median(guest).toFixed(1)} s ${range(guest)}; stop ${median(stops).toFixed(1)} s`);
  const grep = spawnSync('grep', ['-m1', 'boot done', join(dir, 'machines/default/console.log')], { encoding: 'utf8' }).stdout.trim();
  console.log(`  guest init done (modules, network, disks mounted) at: ${grep.replace(/.*uptime=/, '')} s uptime; the rest is Node starting the engine under TCG`);

  // The arm64 guest (the vz payload), emulated: boots only.
  if (process.env.ARM !== '0') {
    berth('init', 'arm', '--arch', 'arm64', '--memory', '1G', '--disk', '2G', '--no-home-share');
    const arm: number[] = [];
    const armGuest: number[] = [];
    for (let i = 0; i < BOOTS; i++) {
      berth('start', 'arm');
      const a = JSON.parse(berth('status', 'arm', '--json')) as MachineStatus;
      arm.push(a.bootMs! / 1000);
      armGuest.push(a.guestBootMs! / 1000);
      berth('stop', 'arm');
    }
    berth('rm', 'arm');
    console.log(`boot to engine ready (arm64 guest on this x86_64 host, TCG, 2 vCPU): host ${median(arm).toFixed(1)} s ${range(arm)}, guest uptime ${median(armGuest).toFixed(1)} s ${range(armGuest)}`);
  }

  const tar = buildBusyboxTar(dir);
  vm('import', tar, 'busybox:latest');
  run(CLI, ['-H', `unix://${native.sock}`, 'import', tar, 'busybox:latest']);
  const tVm: number[] = [];
  const tNative: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    tVm.push(timed(() => vm('run', '--rm', 'busybox', 'true')));
    tNative.push(timed(() => run(CLI, ['-H', `unix://${native.sock}`, 'run', '--rm', 'busybox', 'true'])));
  }
  console.log(`docker run --rm busybox true: machine ${median(tVm).toFixed(0)} ms ${range(tVm, 0)}, host engine ${median(tNative).toFixed(0)} ms ${range(tNative, 0)} (${(median(tVm) / median(tNative)).toFixed(1)}x)`);

  vm('volume', 'create', 'benchvol');
  const io = (target: string, label: string) => {
    const write = timed(() => vm('run', '--rm', '-v', target, 'busybox', 'dd', 'if=/dev/zero', 'of=/d/big', 'bs=1M', 'count=1024', 'conv=fsync'));
    const read = timed(() => vm('run', '--rm', '-v', target, 'busybox', 'sh', '-c', 'echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; dd if=/d/big of=/dev/null bs=1M'));
    const tree = timed(() => vm('run', '--rm', '-v', target, 'busybox', 'sh', '-c', 'mkdir -p /d/t && cd /d/t && i=0; while [ $i -lt 100 ]; do mkdir $i; j=0; while [ $j -lt 100 ]; do echo x > $i/$j; j=$((j+1)); done; i=$((i+1)); done'));
    const readTree = timed(() => vm('run', '--rm', '-v', target, 'busybox', 'sh', '-c', 'cat /d/t/*/* > /dev/null'));
    vm('run', '--rm', '-v', target, 'busybox', 'rm', '-rf', '/d/big', '/d/t');
    console.log(`${label}: 1 GiB write ${(1024 / (write / 1000)).toFixed(0)} MiB/s, read ${(1024 / (read / 1000)).toFixed(0)} MiB/s; 10,000 files made in ${(tree / 1000).toFixed(1)} s, read in ${(readTree / 1000).toFixed(1)} s`);
    return { write, read, tree, readTree };
  };
  const shared = io(`${share}:/d`, 'shared host folder (virtiofs)');
  const own = io('benchvol:/d', "guest's own disk (volume)      ");
  console.log(`  shared/own time ratios: write ${(shared.write / own.write).toFixed(1)}x, read ${(shared.read / own.read).toFixed(1)}x, tree ${(shared.tree / own.tree).toFixed(1)}x, tree read ${(shared.readTree / own.readTree).toFixed(1)}x`);

  const s = status();
  await new Promise((r) => setTimeout(r, 5000));
  const hz = 100;
  const vm0 = cpuTicks(s.vmPid!);
  const sup0 = cpuTicks(s.pid!);
  await new Promise((r) => setTimeout(r, IDLE * 1000));
  const vmUsed = (cpuTicks(s.vmPid!) - vm0) / hz;
  const supUsed = (cpuTicks(s.pid!) - sup0) / hz;
  console.log(`idle machine over ${IDLE} s: ${(100 * (vmUsed + supUsed) / IDLE).toFixed(1)}% of one core (qemu ${(100 * vmUsed / IDLE).toFixed(1)}%, supervisor ${(100 * supUsed / IDLE).toFixed(1)}%)`);
} finally {
  spawnSync(process.execPath, [join(REPO, 'bin/berth.mjs'), 'machine', 'rm', '-f'], { env });
  await native.stop();
  rmSync(dir, { recursive: true, force: true });
}
