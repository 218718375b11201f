// The guest image of this install: built by guest/build-image.sh from Debian and npm packages,
// with this install's engine (bundle, helper, the native modules it loads) on top. It lives in
// dist/guest/<arch> beside the other build outputs and is rebuilt when the engine changes; the
// Debian base under it is cached by the hash of its inputs. A new install replaces the kernel,
// initramfs and root image; machines' data disks are separate and survive.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { MachineError, type GuestArch } from './machine.ts';

export interface GuestImage {
  dir: string;
  kernel: string;
  initrd: string;
  rootImage: string;
  manifest: { arch: string; kernel: string; node: string; bytes: Record<string, number>; buildSeconds: number; payloadHash?: string };
}

/** What of the install goes into the guest (relative to the install's root), the same for each architecture. */
const PAYLOAD = ['package.json', 'dist/headless/cli.js', 'dist/headless/unpackWorker.js', 'dist/headless/dialStdio.js', 'node_modules/koffi', 'node_modules/ws'];
/** The native parts, per architecture: [in the install, in the guest]. Another architecture's are built for it. */
const NATIVE: Record<GuestArch, [string, string][]> = {
  x86_64: [['native/build/berth-helper', 'native/build/berth-helper'], ['native/build/hello', 'native/build/hello'], ['node_modules/@koromix/koffi-linux-x64', 'node_modules/@koromix/koffi-linux-x64']],
  arm64: [['native/build-arm64/berth-helper', 'native/build/berth-helper'], ['native/build-arm64/hello', 'native/build/hello'], ['dist/guest/npm/koffi-linux-arm64', 'node_modules/@koromix/koffi-linux-arm64']],
};
const hostArch: GuestArch = process.arch === 'arm64' ? 'arm64' : 'x86_64';

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((n) => files(join(path, n)));
}

function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 1 << 24 }, (e, out, err) => (e ? reject(new MachineError(`${cmd} ${args.join(' ')} failed: ${(err || e.message).trim().split('\n').slice(-4).join(' ')}`)) : resolve(out)));
  });
}

/** Another architecture's helper (cross-compiled) and koffi's prebuilt module (from npm). */
async function crossParts(root: string, arch: GuestArch, log: (line: string) => void): Promise<void> {
  const cc = arch === 'arm64' ? 'aarch64-linux-gnu-gcc' : 'x86_64-linux-gnu-gcc';
  const hasCc = await run(cc, ['--version']).then(() => true, () => false);
  if (!hasCc) throw new MachineError(`building the ${arch} guest needs a cross compiler for the helper`, `apt-get install gcc-${arch === 'arm64' ? 'aarch64' : 'x86-64'}-linux-gnu`);
  log(`Building the helper for ${arch} with ${cc}…`);
  await run('make', ['-s', '-C', join(root, 'native'), `BUILD=build-${arch === 'arm64' ? 'arm64' : 'x86_64'}`, `CC=${cc}`]);
  const koffiVersion = (JSON.parse(readFileSync(join(root, 'node_modules/koffi/package.json'), 'utf8')) as { version: string }).version;
  const npmDir = join(root, 'dist/guest/npm');
  const target = join(npmDir, `koffi-linux-${arch === 'arm64' ? 'arm64' : 'x64'}`);
  if (existsSync(join(target, 'package.json')) && (JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { version: string }).version === koffiVersion) return;
  mkdirSync(npmDir, { recursive: true });
  const pkg = `@koromix/koffi-linux-${arch === 'arm64' ? 'arm64' : 'x64'}@${koffiVersion}`;
  log(`Fetching ${pkg} from npm…`);
  const file = (await run('npm', ['pack', '-q', pkg], npmDir)).trim().split('\n').pop()!;
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target);
  await run('tar', ['-xzf', join(npmDir, file), '-C', target, '--strip-components=1']);
  rmSync(join(npmDir, file), { force: true });
}

/** A hash of everything the image is made from: the build script, the guest's init, the engine. */
export function payloadHash(root: string, arch: GuestArch): string {
  const h = createHash('sha256').update(arch).update(process.versions.node);
  const guest = join(root, 'electron/machine/guest');
  // Another architecture's native parts are made from the helper's sources and koffi's version.
  const native = arch === hostArch ? NATIVE[arch].map(([src]) => src) : readdirSync(join(root, 'native')).filter((n) => /\.(c|h)$|^Makefile$/.test(n)).sort().map((n) => `native/${n}`);
  for (const p of [...readdirSync(guest).sort().map((n) => join(guest, n)), ...[...PAYLOAD, ...native].map((p) => join(root, p))]) {
    if (!existsSync(p)) continue;
    for (const f of files(p)) h.update(relative(root, f)).update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

export function guestImageDir(root: string, arch: GuestArch, env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_GUEST_IMAGE ?? join(root, 'dist/guest', arch);
}

export function readGuestImage(dir: string): GuestImage | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as GuestImage['manifest'];
    const img = { dir, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), rootImage: join(dir, 'root.img'), manifest };
    return [img.kernel, img.initrd, img.rootImage].every((f) => existsSync(f)) ? img : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The image for `arch`, built first when missing or older than the engine. Building needs root
 * (debootstrap); a normal user is told the one command to run.
 */
export async function ensureGuestImage(root: string, arch: GuestArch, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<GuestImage> {
  const dir = guestImageDir(root, arch, env);
  const have = readGuestImage(dir);
  if (env.BERTH_GUEST_IMAGE) {
    if (!have) throw new MachineError(`no guest image in ${dir} (BERTH_GUEST_IMAGE)`, 'point it at a directory `berth machine build` made, or unset it');
    return have;
  }
  const hash = payloadHash(root, arch);
  if (have?.manifest.payloadHash === hash) return have;
  if (process.getuid?.() !== 0) {
    throw new MachineError(have ? `the guest image in ${dir} is older than this install's engine` : `the guest image for ${arch} is not built yet`,
      'run `sudo berth machine build` once (building it from Debian packages needs root)');
  }
  return buildGuestImage(root, arch, log, hash);
}

export async function buildGuestImage(root: string, arch: GuestArch, log: (line: string) => void, hash = payloadHash(root, arch)): Promise<GuestImage> {
  const dir = join(root, 'dist/guest', arch);
  if (arch !== hostArch) await crossParts(root, arch, log);
  const missing = [...PAYLOAD, ...NATIVE[arch].map(([src]) => src)].filter((p) => !existsSync(join(root, p)));
  if (missing.length) throw new MachineError(`the guest image needs ${missing.join(', ')}`, 'run `npm install` (it builds the helper and the bundles)');
  const payload = mkdtempSync(join(tmpdir(), 'berth-payload-'));
  try {
    for (const p of PAYLOAD) cpSync(join(root, p), join(payload, p), { recursive: true });
    for (const [src, dest] of NATIVE[arch]) cpSync(join(root, src), join(payload, dest), { recursive: true });
    mkdirSync(join(root, 'dist/guest'), { recursive: true });
    log(`Building the ${arch} guest image (Debian bookworm, Node ${process.versions.node}); the first build takes a minute or two…`);
    const script = join(root, 'electron/machine/guest/build-image.sh');
    const child = spawn('bash', [script, arch, dir, join(root, 'dist/guest/base'), payload, process.versions.node], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => d.split('\n').filter(Boolean).forEach(log));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    if (code !== 0) throw new MachineError(`building the guest image failed (exit ${code}): ${err.trim().split('\n').slice(-6).join('\n')}`);
  } finally {
    rmSync(payload, { recursive: true, force: true });
  }
  const manifestFile = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as GuestImage['manifest'];
  writeFileSync(manifestFile, JSON.stringify({ ...manifest, payloadHash: hash }, null, 1));
  return readGuestImage(dir)!;
}
