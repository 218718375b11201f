// `berth machine …`: Berth's engine in a Linux VM. One default machine; a name is optional.
//   init [NAME] [--backend qemu|vz|wsl2] [--arch x86_64|arm64] [--cpus N] [--memory SIZE] [--disk SIZE]
//        [--share PATH]… [--no-home-share]
//   start [NAME] · stop [NAME] [-f] · status [NAME] [--json] · rm [NAME] [-f] · logs [NAME] [-f]
//   ssh [NAME] [-- CMD…]            a terminal (or a command) in the guest
//   set [NAME] [--cpus N] [--memory SIZE] [--disk SIZE] (applied at the next start)
//   build [--arch x86_64|arm64]     the guest image (needs root: debootstrap)
//   supervise NAME                  (internal) keeps a running machine
//   agent                           (inside the guest) the guest agent
import { createReadStream, existsSync, readFileSync, statSync, watch } from 'node:fs';
import { connect } from 'node:net';
import { header } from '../machine/agentProtocol.ts';
import { cpus as hostCpus, homedir, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGuestAgent } from '../machine/agent.ts';
import { ensureDockerContext } from '../machine/dockerContext.ts';
import { buildGuestImage, ensureGuestImage } from '../machine/guestImage.ts';
import { contextName, DEFAULT_MACHINE, machinesDir, MachineError, nativeArch, parseSize, validName, type GuestArch, type MachineConfig, type MachineStatus } from '../machine/machine.ts';
import { VmMachine } from '../machine/vmMachine.ts';
import { QemuHypervisor } from '../machine/qemu/qemuHypervisor.ts';
import { Supervisor } from '../machine/supervisor.ts';
import { findVfkit, VfkitHypervisor } from '../machine/vz/vfkit.ts';
import { WslHypervisor } from '../machine/wsl/wsl.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = `usage: berth machine init|start|stop|status|rm|logs|set|build [NAME] [options]
  init [NAME] [--backend qemu|vz|wsl2] [--arch x86_64|arm64] [--cpus N] [--memory SIZE] [--disk SIZE] [--share PATH]... [--no-home-share]
  start [NAME] | stop [NAME] [-f] | status [NAME] [--json] | rm [NAME] [-f] | logs [NAME] [-f] | ssh [NAME] [-- CMD...]
  set [NAME] [--cpus N] [--memory SIZE] [--disk SIZE]   (applied at the next start)
  build [--arch x86_64|arm64]`;

function takeFlag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('-')) throw new MachineError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function takeAll(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let v = takeFlag(args, name); v !== undefined; v = takeFlag(args, name)) out.push(v);
  return out;
}

function takeBool(args: string[], ...names: string[]): boolean {
  let found = false;
  for (const n of names) {
    const i = args.indexOf(n);
    if (i >= 0) {
      args.splice(i, 1);
      found = true;
    }
  }
  return found;
}

function machineOf(name: string): VmMachine {
  if (!validName(name)) throw new MachineError(`"${name}" is not a valid machine name`, 'use letters, digits, ".", "_" and "-"');
  return new VmMachine({ dir: join(machinesDir(), name), name, root, berth: [process.execPath, join(root, 'bin/berth.mjs')] });
}

function resources(args: string[]): Partial<Pick<MachineConfig, 'cpus' | 'memoryMiB' | 'diskGiB'>> {
  const out: Partial<Pick<MachineConfig, 'cpus' | 'memoryMiB' | 'diskGiB'>> = {};
  const c = takeFlag(args, '--cpus');
  if (c !== undefined) {
    if (!/^\d+$/.test(c) || +c < 1 || +c > hostCpus().length) throw new MachineError(`--cpus ${c} is not a number of CPUs between 1 and ${hostCpus().length} (this host's)`);
    out.cpus = +c;
  }
  const m = takeFlag(args, '--memory');
  if (m !== undefined) {
    const mib = parseSize(m, 'M');
    if (!mib || mib < 512) throw new MachineError(`--memory ${m} is not a size of at least 512M (e.g. 2G)`);
    out.memoryMiB = mib;
  }
  const d = takeFlag(args, '--disk');
  if (d !== undefined) {
    const mib = parseSize(d, 'G');
    if (!mib || mib < 2048) throw new MachineError(`--disk ${d} is not a size of at least 2G (e.g. 60G)`);
    out.diskGiB = Math.ceil(mib / 1024);
  }
  return out;
}

function show(s: MachineStatus): string {
  const lines = [`machine ${s.name} (${s.kind}): ${s.state}`];
  if (s.state === 'running') {
    lines.push(`  engine ${s.engineVersion} on Linux ${s.kernel}, ${s.accel}; booted in ${((s.bootMs ?? 0) / 1000).toFixed(1)} s`);
    lines.push(`  docker: DOCKER_HOST=unix://${s.dockerSocket}  (docker --context ${s.context ?? contextName(s.name)})`);
    for (const p of s.ports) lines.push(`  port ${p.hostIp}:${p.hostPort}/${p.proto} → ${p.container}`);
    for (const p of s.portProblems) lines.push(`  warning: ${p}`);
  }
  if (s.lastError) lines.push(`  last error: ${s.lastError}`);
  if (s.state === 'error' && s.console?.length) lines.push('  last console lines:', ...s.console.map((l) => `    ${l}`));
  return lines.join('\n');
}

export async function machineCommand(argv: string[]): Promise<number> {
  const args = [...argv];
  const sub = args.shift();
  try {
    if (sub === 'agent') return await runGuestAgent();
    if (sub === 'supervise') return await supervise(args[0] ?? DEFAULT_MACHINE);
    if (sub === 'build') {
      const arch = (takeFlag(args, '--arch') ?? nativeArch()) as GuestArch;
      if (arch !== 'x86_64' && arch !== 'arm64') throw new MachineError(`--arch ${String(arch)}: x86_64 or arm64`);
      if (process.getuid?.() !== 0) throw new MachineError('building the guest image needs root (debootstrap)', 'run `sudo berth machine build`');
      const img = await buildGuestImage(root, arch, (l) => console.log(l));
      console.log(JSON.stringify(img.manifest));
      return 0;
    }
    const force = takeBool(args, '-f', '--force');
    const json = takeBool(args, '--json');
    const follow = takeBool(args, '--follow');
    if (sub === 'init') {
      const backend = takeFlag(args, '--backend') ?? (platform() === 'darwin' ? 'vz' : platform() === 'win32' ? 'wsl2' : 'qemu');
      if (backend !== 'qemu' && backend !== 'vz' && backend !== 'wsl2') throw new MachineError(`--backend ${backend}: qemu, vz (macOS) or wsl2 (Windows)`);
      if (backend === 'vz' && platform() !== 'darwin') throw new MachineError('the vz backend runs on macOS 13 or later', 'use --backend qemu');
      if (backend === 'wsl2' && platform() !== 'win32') throw new MachineError('the wsl2 backend runs on Windows 10 2004 or later', 'use --backend qemu');
      const shares = takeAll(args, '--share').map((p) => resolve(p));
      const noHome = takeBool(args, '--no-home-share');
      const arch = (takeFlag(args, '--arch') ?? nativeArch()) as GuestArch;
      if (arch !== 'x86_64' && arch !== 'arm64') throw new MachineError(`--arch ${String(arch)}: x86_64 or arm64`, undefined, 'INVALID_ARGUMENT');
      if (arch !== nativeArch() && backend !== 'qemu') throw new MachineError(`the ${backend} backend runs guests of this computer's architecture only`, 'use --backend qemu (emulated, slow) for another');
      const r = resources(args);
      const name = args.shift() ?? DEFAULT_MACHINE;
      if (args.length) throw new MachineError(`unknown arguments: ${args.join(' ')}`, USAGE);
      const home = process.env.HOME || homedir();
      const all = [...new Set([...(noHome ? [] : [home]), ...shares])];
      const cfg: MachineConfig = {
        name, kind: backend, arch, cpus: r.cpus ?? Math.min(2, hostCpus().length), memoryMiB: r.memoryMiB ?? 2048, diskGiB: r.diskGiB ?? 60,
        shares: all.filter((p, i) => !all.some((q, j) => j !== i && p.startsWith(`${q}/`))), created: new Date().toISOString(),
      };
      const m = machineOf(name);
      await m.create(cfg);
      await ensureGuestImage(root, cfg.arch, (l) => console.log(l));
      console.log(`machine ${name} created (${cfg.cpus} CPUs, ${cfg.memoryMiB} MiB, ${cfg.diskGiB} GiB disk, sharing ${cfg.shares.join(', ') || 'nothing'}); start it with \`berth machine start${name === DEFAULT_MACHINE ? '' : ` ${name}`}\``);
      return 0;
    }
    const name = args[0] && !args[0].startsWith('-') ? args.shift()! : DEFAULT_MACHINE;
    const m = machineOf(name);
    if (sub === 'start') {
      const s = await m.start((l) => console.log(l));
      console.log(show(s));
      return 0;
    }
    if (sub === 'stop') {
      m.config();
      await m.stop({ force });
      console.log(`machine ${name} stopped`);
      return 0;
    }
    if (sub === 'status') {
      const s = await m.status();
      console.log(json ? JSON.stringify(s) : show(s));
      return s.state === 'absent' ? 1 : 0;
    }
    if (sub === 'rm') {
      await m.delete({ force });
      console.log(`machine ${name} removed (its data disk with it)`);
      return 0;
    }
    if (sub === 'set') {
      const r = resources(args);
      await m.setResources(r);
      console.log(`machine ${name}: ${JSON.stringify(r)} (applied at the next start)`);
      return 0;
    }
    if (sub === 'logs') {
      m.config();
      if (!existsSync(m.paths.consoleLog)) return 0;
      await new Promise<void>((r) => createReadStream(m.paths.consoleLog).on('end', r).pipe(process.stdout, { end: false }));
      if (!follow && !force) return 0;
      let at = statSync(m.paths.consoleLog).size;
      watch(m.paths.consoleLog, () => {
        const text = readFileSync(m.paths.consoleLog);
        process.stdout.write(text.subarray(at));
        at = text.length;
      });
      await new Promise(() => undefined);
    }
    if (sub === 'ssh') return await shell(m, name, args[0] === '--' ? args.slice(1) : args);
    console.error(USAGE);
    return 2;
  } catch (e) {
    if (e instanceof MachineError) {
      console.error(`berth machine ${sub ?? ''}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

/** `berth machine ssh [NAME] [-- CMD…]`: a terminal in the guest through the agent (no sshd in the guest). */
async function shell(m: VmMachine, name: string, command: string[]): Promise<number> {
  const s = await m.status();
  if (s.state !== 'running' || !s.agent) throw new MachineError(`machine ${name} is ${s.state}`, 'start it with `berth machine start`', 'CONFLICT');
  const token = readFileSync(join(m.paths.dir, 'agent-token'), 'utf8');
  const sock = 'port' in s.agent ? connect({ port: s.agent.port, host: '127.0.0.1', allowHalfOpen: true }) : connect({ path: s.agent.path, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.write(header(token, { verb: 'shell', ...(command.length ? { command: command.join(' ') } : {}) }));
  const tty = process.stdin.isTTY;
  if (tty) process.stdin.setRawMode(true);
  process.stdin.pipe(sock);
  sock.pipe(process.stdout);
  // The guest ends the stream when the shell exits; our input may still be open.
  sock.on('end', () => sock.destroy());
  await new Promise((r) => sock.on('close', r));
  if (tty) process.stdin.setRawMode(false);
  process.stdin.unpipe(sock);
  process.stdin.destroy();
  return 0;
}

async function supervise(name: string): Promise<number> {
  const m = machineOf(name);
  const config = m.config();
  const image = await ensureGuestImage(root, config.arch, (l) => console.log(l));
  const context = contextName(name);
  const hypervisor = config.kind === 'vz' ? new VfkitHypervisor(config, image, m.paths, findVfkit(process.env.BERTH_RESOURCES))
    : config.kind === 'wsl2' ? new WslHypervisor() : new QemuHypervisor(config, image, m.paths);
  const sup = new Supervisor({
    paths: m.paths, config, hypervisor, bootTimeoutMs: 300_000, context,
    onReady: (s) => {
      try {
        ensureDockerContext(s.dockerSocket!, process.env, context, `Berth engine in machine ${name}`);
      } catch (e) {
        console.error(`could not register the docker context ${context}: ${(e as Error).message}`);
      }
      console.log(`machine ${name} ready in ${s.bootMs} ms (guest ${s.guestBootMs} ms)`);
    },
  });
  process.on('SIGTERM', () => void sup.stop());
  process.on('SIGINT', () => void sup.stop());
  await sup.run();
  return 0;
}
