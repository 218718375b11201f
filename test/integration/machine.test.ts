// Berth's engine in a qemu machine, end to end: the guest image built from Debian and npm
// packages, booted under qemu (TCG here), reached through the docker context it registers;
// published ports on the host's 127.0.0.1, a shared host folder, a volume kept across stop/start
// and across a new root image, and the refusals.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxTar } from '../helpers/busybox.ts';
import type { MachineStatus } from '../../electron/machine/machine.ts';

const DOCKER = '/usr/local/bin/docker';
const BERTH = join(import.meta.dirname, '../../bin/berth.mjs');
const QEMU = ['/usr/bin/qemu-system-x86_64'].find((p) => existsSync(p));
const skip = (process.arch !== 'x64' && 'the qemu test boots the x86_64 guest') || (!QEMU && 'qemu-system-x86 is not installed')
  || (!existsSync('/usr/sbin/debootstrap') && 'debootstrap is not installed') || (!existsSync(DOCKER) && 'the docker CLI is not installed');

interface Run {
  code: number;
  out: string;
  err: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The first value `fn` gives that is not undefined, polling every 200 ms. */
async function until<T>(fn: () => Promise<T | undefined>, ms: number, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

describe('a qemu machine running Berth\'s engine', { timeout: 900_000, skip }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let share: string;

  const exec = (cmd: string, args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) => new Promise<Run>((resolve) => {
    const p = execFile(cmd, args, { env: opts.env ?? env, timeout: opts.timeout ?? 120_000, maxBuffer: 1 << 27, encoding: 'buffer' }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: out.toString(), err: err.toString() });
    });
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
  const berth = (args: string[], extra: NodeJS.ProcessEnv = {}) => exec(process.execPath, [BERTH, 'machine', ...args], { env: { ...env, ...extra }, timeout: 600_000 });
  const docker = (args: string[], input?: Buffer | string) => exec(DOCKER, ['--context', 'berth-vm', ...args], { input });
  const ok = async (args: string[], input?: Buffer | string): Promise<string> => {
    const r = await docker(args, input);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const status = async (name = 'default'): Promise<MachineStatus> => JSON.parse((await berth(['status', name, '--json'])).out) as MachineStatus;

  before(() => {
    dir = mkdtempSync('/tmp/berth-t-machine-');
    share = join(dir, 'share');
    mkdirSync(share);
    env = { ...process.env, BERTH_MACHINES: join(dir, 'machines'), DOCKER_CONFIG: join(dir, 'docker') };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
  });

  after(async () => {
    // Every machine this test made, stopped by its recorded PIDs and removed with its disk.
    const machines = join(dir, 'machines');
    for (const name of existsSync(machines) ? readdirSync(machines) : []) {
      await berth(['rm', '-f', name]);
      try {
        const s = JSON.parse(readFileSync(join(machines, name, 'status.json'), 'utf8')) as MachineStatus;
        for (const pid of [s.pid, s.vmPid]) if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        /* removed, or never started */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('init builds the guest image and the data disk; start boots it and registers the docker context berth-vm', async () => {
    const init = await berth(['init', '--cpus', '2', '--memory', '1536M', '--disk', '4G', '--no-home-share', '--share', share]);
    assert.equal(init.code, 0, init.err);
    assert.match(init.out, /machine default created \(2 CPUs, 1536 MiB, 4 GiB disk, sharing \/tmp\/berth-t-machine-\w+\/share\)/);
    const disk = statSync(join(dir, 'machines/default/data.img'));
    assert.equal(disk.size, 4 * 1024 ** 3);
    assert.ok(disk.blocks * 512 < 200 * 1024 ** 2, `the data disk is sparse (${disk.blocks * 512} bytes used)`);
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../../dist/guest/x86_64/manifest.json'), 'utf8')) as { kernel: string; bytes: Record<string, number> };
    assert.match(manifest.kernel, /cloud-amd64$/);
    const start = await berth(['start']);
    assert.equal(start.code, 0, start.err + start.out);
    assert.match(start.out, /machine default \(qemu\): running\n\s+engine [\d.]+-berth on Linux [\d.]+-\d+-cloud-amd64, (tcg|kvm); booted in [\d.]+ s/);
    const s = await status();
    assert.equal(s.state, 'running');
    assert.equal(s.context, 'berth-vm');
    assert.ok(s.bootMs! > 0 && s.guestBootMs! > 0);
    const contexts = await exec(DOCKER, ['context', 'ls', '--format', '{{.Name}} {{.DockerEndpoint}}']);
    assert.match(contexts.out, new RegExp(`^berth-vm unix://${s.dockerSocket}$`, 'm'));
    assert.equal((statSync(s.dockerSocket!).mode & 0o777), 0o600, 'the forwarded socket is this user\'s only');
    assert.match(await ok(['version', '--format', '{{.Server.Os}} {{.Server.KernelVersion}}']), /^linux \d\.\d+\.\d+-\d+-cloud-amd64$/m);
  });

  it('docker load, then docker run --rm busybox echo hi, with input and output through the forwarded socket', async () => {
    const rootfs = buildBusyboxTar(dir);
    await ok(['import', rootfs, 'berth-test/busybox:1']);
    const tar = join(dir, 'bb.tar');
    await ok(['save', '-o', tar, 'berth-test/busybox:1']);
    await ok(['rmi', 'berth-test/busybox:1']);
    assert.match(await ok(['load', '-i', tar]), /Loaded image: berth-test\/busybox:1/);
    assert.equal(await ok(['run', '--rm', 'berth-test/busybox:1', 'echo', 'hi']), 'hi\n');
    assert.equal(await ok(['run', '--rm', '-i', 'berth-test/busybox:1', 'tr', 'a-z', 'A-Z'], 'piped in\n'), 'PIPED IN\n');
    const r = await docker(['run', '--rm', 'berth-test/busybox:1', 'sh', '-c', 'echo oops >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.err, 'oops\n');
  });

  it('publishes a container\'s port on the host\'s 127.0.0.1 with the same number, and drops it with the container', async () => {
    const port = await freePort();
    const id = (await ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, 'berth-test/busybox:1', 'httpd', '-f', '-p', '80', '-h', '/etc'])).trim();
    const res = await until(async () => {
      const r = await get(port, '/hostname').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 30_000, `port ${port} on the host`);
    assert.equal(res.body.trim(), id.slice(0, 12));
    const s = await status();
    assert.deepEqual(s.ports.map((p) => [p.hostIp, p.hostPort, p.proto, p.container]), [['127.0.0.1', port, 'tcp', 'web']]);
    // A port the host already uses is named, and the container still runs in the machine.
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const taken = (busy.address() as { port: number }).port;
    try {
      await ok(['run', '-d', '--name', 'clash', '-p', `127.0.0.1:${taken}:80`, 'berth-test/busybox:1', 'httpd', '-f', '-p', '80']);
      const problem = await until(async () => (await status()).portProblems.find((p) => p.includes(String(taken))), 20_000);
      assert.match(problem, new RegExp(`port 127.0.0.1:${taken} of clash is in use on the host: stop what listens there, or publish the container on another port`));
      await ok(['rm', '-f', 'clash']);
    } finally {
      busy.close();
    }
    await ok(['rm', '-f', 'web']);
    await until(async () => ((await get(port, '/hostname').then(() => false, () => true)) && (await status()).ports.length === 0) || undefined, 20_000, 'the port to go');
  });

  it('a bind mount of a shared host folder is read and written at the same path', async () => {
    writeFileSync(join(share, 'in.txt'), 'from the host\n');
    const out = await ok(['run', '--rm', '-v', `${share}:/work`, 'berth-test/busybox:1', 'sh', '-c', 'cat /work/in.txt; echo from the machine > /work/out.txt; mkdir -p /work/d/e']);
    assert.equal(out, 'from the host\n');
    assert.equal(readFileSync(join(share, 'out.txt'), 'utf8'), 'from the machine\n');
    assert.ok(statSync(join(share, 'd/e')).isDirectory());
  });

  it('keeps a named volume across stop and start, and across a new root image', async () => {
    await ok(['volume', 'create', 'keep']);
    await ok(['run', '--rm', '-v', 'keep:/data', 'berth-test/busybox:1', 'sh', '-c', 'echo kept > /data/f']);
    const stop = await berth(['stop']);
    assert.equal(stop.code, 0, stop.err);
    const stopped = await status();
    assert.equal(stopped.state, 'stopped');
    assert.equal(existsSync(join(dir, 'machines/default/docker.sock')), false);
    assert.match(readFileSync(join(dir, 'machines/default/console.log'), 'utf8'), /reboot: Power down/);
    const again = await berth(['start']);
    assert.equal(again.code, 0, again.err + again.out);
    assert.equal(await ok(['run', '--rm', '-v', 'keep:/data', 'berth-test/busybox:1', 'cat', '/data/f']), 'kept\n');
    const before = (await status()).image;
    // An upgrade: a new install's kernel, initramfs and root image (here: the same with a new identity).
    assert.equal((await berth(['stop'])).code, 0);
    const img = join(dir, 'image2');
    mkdirSync(img);
    const src = join(import.meta.dirname, '../../dist/guest/x86_64');
    for (const f of ['vmlinuz', 'initrd.img', 'manifest.json']) copyFileSync(join(src, f), join(img, f));
    execFileSync('cp', ['--sparse=always', join(src, 'root.img'), join(img, 'root.img')]);
    writeFileSync(join(dir, 'id'), 'upgrade-test\n');
    execFileSync('debugfs', ['-w', '-R', 'rm /etc/berth-image', join(img, 'root.img')], { stdio: 'ignore' });
    execFileSync('debugfs', ['-w', '-R', `write ${join(dir, 'id')} /etc/berth-image`, join(img, 'root.img')], { stdio: 'ignore' });
    const upgraded = await berth(['start'], { BERTH_GUEST_IMAGE: img });
    assert.equal(upgraded.code, 0, upgraded.err + upgraded.out);
    const s = await status();
    assert.notEqual(s.image, before);
    assert.equal(s.image, 'upgrade-test');
    assert.equal(await ok(['run', '--rm', '-v', 'keep:/data', 'berth-test/busybox:1', 'cat', '/data/f']), 'kept\n');
    assert.match(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^berth-test\/busybox:1$/m);
  });

  it('refuses a second start, removing a running machine, bad sizes and names; names a damaged data disk and keeps it', async () => {
    const second = await berth(['start']);
    assert.equal(second.code, 1);
    assert.match(second.err, /machine default is already running: stop it first with `berth machine stop`/);
    const rm = await berth(['rm']);
    assert.equal(rm.code, 1);
    assert.match(rm.err, /machine default is running: stop it first, or remove it anyway with `berth machine rm -f`/);
    assert.equal((await status()).state, 'running');
    assert.match((await berth(['init', '--memory', '12'])).err, /--memory 12 is not a size of at least 512M/);
    assert.match((await berth(['init', '--no-home-share'])).err, /machine default already exists: start it with `berth machine start`, or remove it with `berth machine rm`/);
    assert.match((await berth(['init', 'bad/name'])).err, /"bad\/name" is not a valid machine name/);
    assert.match((await berth(['start', 'nope'])).err, /machine nope does not exist: create it with `berth machine init`/);
    // A data disk whose superblocks are gone: the guest refuses it, the file stays for recovery.
    assert.equal((await berth(['init', 'broken', '--disk', '2G', '--memory', '768M', '--no-home-share'])).code, 0);
    const disk = join(dir, 'machines/broken/data.img');
    execFileSync('dd', ['if=/dev/zero', `of=${disk}`, 'bs=1M', 'count=64', 'conv=notrunc'], { stdio: 'ignore' });
    const broken = await berth(['start', 'broken']);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /machine broken: the data disk is damaged \(e2fsck exit \d+\)/);
    assert.ok(existsSync(disk) && statSync(disk).size === 2 * 1024 ** 3, 'the damaged disk is kept');
    assert.equal((await status('broken')).state, 'error');
    assert.equal((await berth(['rm', 'broken'])).code, 0);
    assert.equal(existsSync(join(dir, 'machines/broken')), false);
    // The running machine was not disturbed.
    assert.equal(await ok(['run', '--rm', 'berth-test/busybox:1', 'echo', 'still here']), 'still here\n');
    const down = await berth(['rm', '-f']);
    assert.equal(down.code, 0, down.err);
    assert.equal(existsSync(join(dir, 'machines/default')), false);
  });
});
