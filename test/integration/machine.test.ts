// Berth's engine in a qemu machine, end to end: the guest image built from Debian and npm
// packages, booted under qemu (TCG here), reached through the docker context it registers;
// published ports on the host's 127.0.0.1, a shared host folder, a volume kept across stop/start
// and across a new root image, and the refusals.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { buildBusyboxTar } from '../helpers/busybox.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { freePort } from '../helpers/registry.ts';
import { REPO } from '../helpers/testEngine.ts';
import type { MachineStatus } from '../../electron/machine/machine.ts';

const DOCKER = '/usr/local/bin/docker';
const BERTH = join(import.meta.dirname, '../../bin/berth.mjs');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const QEMU = ['/usr/bin/qemu-system-x86_64'].find((p) => existsSync(p));
const skip = (process.arch !== 'x64' && 'the qemu test boots the x86_64 guest') || (!QEMU && 'qemu-system-x86 is not installed')
  || (!existsSync('/usr/sbin/debootstrap') && 'debootstrap is not installed') || (!existsSync(DOCKER) && 'the docker CLI is not installed');

interface Run {
  code: number;
  out: string;
  err: string;
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

  it('containers reach the host\'s 127.0.0.1 as host.berth.internal', async (t) => {
    const server = createHttpServer((req, res) => res.end(`the host saw ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    assert.equal(await ok(['run', '--rm', 'berth-test/busybox:1', 'wget', '-qO-', `http://host.berth.internal:${port}/ping`]), 'the host saw /ping');
  });

  it('the app (web mode, in Chromium) shows the machine, switches to its engine, lists its containers, stops and starts it', { skip: !existsSync(CHROMIUM) && 'chromium is not installed' }, async (t) => {
    await ok(['run', '-d', '--name', 'in-vm', 'berth-test/busybox:1', 'sleep', '600']);
    t.after(() => docker(['rm', '-f', 'in-vm']));
    const daemon = await startDaemon({ web: true, env: { DOCKER_CONFIG: env.DOCKER_CONFIG!, XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_HOST: '', BERTH_MACHINES: env.BERTH_MACHINES! } });
    t.after(() => daemon.stop());
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    t.after(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${daemon.url}&engine=berth-vm`);
    await page.locator('.row[data-name="in-vm"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('select[aria-label=engine]').inputValue(), 'berth-vm');
    assert.match(await page.locator('[data-testid="sidebar-machine-default"]').textContent() ?? '', /VM default: running/);
    await page.click('.sidebar button:has-text("Engines")');
    await page.locator('[data-testid="engine-status-berth-vm"].ok').waitFor({ timeout: 20_000 });
    assert.match(await page.locator('[data-testid="engine-status-berth-vm"]').textContent() ?? '', /-berth/);
    const state = page.locator('[data-testid="machine-state-default"]');
    assert.equal(await state.getAttribute('data-state'), 'running');
    assert.match(await page.locator('.row[data-machine="default"]').textContent() ?? '', /2 CPUs · 1\.5 GiB · 4 GiB disk/);
    await page.screenshot({ path: `${REPO}/test-artifacts/ui/machine-engine.png` }).catch(() => undefined);
    // The console, then stop and start from the app; the window follows the engine back.
    await page.click('button[aria-label="console of machine default"]');
    assert.match(await page.locator('pre[aria-label="console of default"]').textContent() ?? '', /berth-init: boot done/);
    await page.click('button[aria-label="stop machine default"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="machine-state-default"]')?.getAttribute('data-state') === 'stopped', undefined, { timeout: 60_000 });
    assert.equal((await status()).state, 'stopped');
    // Removing asks first (the data disk goes too); cancelled, nothing changes.
    await page.click('button[aria-label="remove machine default"]');
    assert.match(await page.locator('[role=alertdialog]').textContent() ?? '', /Remove the machine default\?.*Its data disk goes with it/);
    await page.click('[role=alertdialog] button:has-text("Cancel")');
    assert.equal((await status()).state, 'stopped');
    await page.click('button[aria-label="start machine default"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="machine-state-default"]')?.getAttribute('data-state') === 'running', undefined, { timeout: 180_000 });
    assert.equal((await status()).state, 'running');
    await page.click('.sidebar button:has-text("Containers")');
    await page.locator('.row[data-name="in-vm"]').waitFor({ timeout: 30_000 });
    assert.deepEqual(errors, []);
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
    // Space freed in the guest goes back to the host: the data disk is a sparse file, mounted with discard.
    const disk = join(dir, 'machines/default/data.img');
    const used = () => statSync(disk).blocks * 512;
    const empty = used();
    await ok(['run', '--rm', '-v', 'keep:/data', 'berth-test/busybox:1', 'sh', '-c', 'dd if=/dev/urandom of=/data/big bs=1M count=200 conv=fsync 2>/dev/null']);
    const full = used();
    assert.ok(full - empty > 150 * 1024 ** 2, `writing 200 MiB grew the disk file (${empty} → ${full})`);
    await ok(['run', '--rm', '-v', 'keep:/data', 'berth-test/busybox:1', 'sh', '-c', 'rm /data/big; sync']);
    await until(async () => (used() - empty < 50 * 1024 ** 2 ? true : undefined), 20_000, 'the data disk file to shrink');
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
    // A command in the guest itself (no sshd there: a terminal through the agent).
    const inGuest = await berth(['ssh', '--', 'cat', '/etc/berth-image']);
    assert.equal(inGuest.code, 0, inGuest.err);
    assert.equal(inGuest.out.replace(/\r/g, '').trim(), 'upgrade-test');
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
    assert.equal((await berth(['init', 'broken', '--disk', '2G', '--memory', '768M', '--no-home-share'])).code, 0);
    // No qemu on this host (as the CLI sees it), and a guest that cannot boot: the console's last lines.
    const noQemu = await berth(['start', 'broken'], { PATH: '/nonexistent' });
    assert.match(noQemu.err, /cannot start machine broken: qemu-system-x86_64 is not installed \(Debian\/Ubuntu: apt-get install qemu-system-x86/);
    const badImage = join(dir, 'bad-image');
    mkdirSync(badImage);
    const src = join(import.meta.dirname, '../../dist/guest/x86_64');
    for (const f of ['vmlinuz', 'initrd.img', 'manifest.json']) copyFileSync(join(src, f), join(badImage, f));
    writeFileSync(join(badImage, 'root.img'), Buffer.alloc(1 << 20));
    const noBoot = await berth(['start', 'broken'], { BERTH_GUEST_IMAGE: badImage });
    assert.equal(noBoot.code, 1);
    assert.match(noBoot.err, /machine broken (failed to boot|stopped unexpectedly): .*\nlast console lines:\n(.|\n)*berth-init: cannot mount the root image \/dev\/vda/);
    // A data disk whose superblocks are gone: the guest refuses it, the file stays for recovery.
    const disk = join(dir, 'machines/broken/data.img');
    execFileSync('dd', ['if=/dev/zero', `of=${disk}`, 'bs=1M', 'count=64', 'conv=notrunc'], { stdio: 'ignore' });
    const broken = await berth(['start', 'broken']);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /machine broken: the data disk is damaged \(e2fsck exit \d+: .+\); its file data.img is kept for recovery/);
    assert.ok(existsSync(disk) && statSync(disk).size === 2 * 1024 ** 3, 'the damaged disk is kept');
    assert.equal((await status('broken')).state, 'error');
    assert.equal((await berth(['rm', 'broken'])).code, 0);
    assert.equal(existsSync(join(dir, 'machines/broken')), false);
    // The running machine was not disturbed.
    assert.equal(await ok(['run', '--rm', 'berth-test/busybox:1', 'echo', 'still here']), 'still here\n');
    const down = await berth(['rm', '-f']);
    assert.equal(down.code, 0, down.err);
    assert.equal(existsSync(join(dir, 'machines/default')), false);
    assert.doesNotMatch((await exec(DOCKER, ['context', 'ls', '--format', '{{.Name}}'])).out, /^berth-vm$/m, 'rm takes the machine\'s docker context with it');
  });

  it('builds the arm64 guest (the vz payload) from Debian\'s arm64 packages and boots it under qemu-system-aarch64 to ready', {
    skip: (!existsSync('/usr/bin/qemu-system-aarch64') && 'qemu-system-arm is not installed') || (!existsSync('/usr/bin/aarch64-linux-gnu-gcc') && 'gcc-aarch64-linux-gnu is not installed'),
  }, async () => {
    const init = await berth(['init', 'arm', '--arch', 'arm64', '--cpus', '2', '--memory', '1G', '--disk', '2G', '--no-home-share']);
    assert.equal(init.code, 0, init.err + init.out);
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../../dist/guest/arm64/manifest.json'), 'utf8')) as { kernel: string; arch: string };
    assert.equal(manifest.arch, 'arm64');
    // The arm64 kernel is an uncompressed Image (VZLinuxBootLoader boots only those): "ARM\x64" at 0x38.
    assert.equal(readFileSync(join(import.meta.dirname, '../../dist/guest/arm64/vmlinuz')).subarray(0x38, 0x3c).toString('latin1'), 'ARM\x64');
    const start = await berth(['start', 'arm']);
    assert.equal(start.code, 0, start.err + start.out);
    const s = await status('arm');
    assert.equal(s.state, 'running');
    assert.equal(s.accel, 'tcg');
    assert.match(s.kernel!, /-arm64$/);
    assert.equal(s.context, 'berth-vm-arm');
    const arch = await exec(DOCKER, ['--context', 'berth-vm-arm', 'version', '--format', '{{.Server.Arch}} {{.Server.Os}}']);
    assert.equal(arch.out.trim(), 'arm64 linux', arch.err);
    const uname = await berth(['ssh', 'arm', '--', 'uname', '-m']);
    assert.equal(uname.out.replace(/\r/g, '').trim(), 'aarch64');
    assert.equal((await berth(['stop', 'arm'])).code, 0);
    assert.equal((await berth(['rm', 'arm'])).code, 0);
  });
});
