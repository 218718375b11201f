// Headless entry points without Electron: `berth run IMAGE CMD…`, image commands (pull, push,
// login, images, tag, rmi, save, load, import, history, inspect, image prune), `berth probe`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ProgressMessage } from '../engine/images/distribution/pull.ts';
import { humanSize } from '../../common/format.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../api/server.ts';
import { backendOf, createEngine } from '../engine/index.ts';
import { isEngineError } from '../engine/errors.ts';
import { ContractHost } from '../host/contractHost.ts';
import { startWebServer } from '../host/webServer.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const helperPath = join(root, 'native/build/berth-helper');
const [cmd, ...args] = process.argv.slice(2);
// A closed pipe (| head) is not an error: output stops, the command still finishes (run --rm cleans up).
process.stdout.on('error', () => undefined);
const dirs = {
  root: process.env.BERTH_ROOT ?? '/var/lib/berth',
  runRoot: process.env.BERTH_RUN ?? '/run/berth',
};

/** The system engine's default bridge is berth0; engines in other roots get one named by network id. */
function bridgeFor(rootDir: string): string | undefined {
  return rootDir === '/var/lib/berth' ? 'berth0' : undefined;
}

async function main(): Promise<number> {
  if (cmd === 'probe') {
    process.stdout.write(execFileSync(helperPath, ['probe'], { encoding: 'utf8' }));
    return 0;
  }
  if (cmd === 'daemon') return daemon(args);
  const engine = await createEngine({ ...dirs, helperPath, helloPath: join(root, 'native/build/hello'), defaultBridge: bridgeFor(dirs.root) });
  try {
    if (cmd === 'run') {
      const rm = args[0] === '--rm';
      const [image, ...command] = rm ? args.slice(1) : args;
      const c = await engine.create({ Image: image, Cmd: command.length ? command : undefined });
      const exited = engine.wait(c.Id, 'next-exit');
      const logs = (async () => {
        for await (const l of engine.logs(c.Id, { follow: true })) (l.stream === 'stderr' ? process.stderr : process.stdout).write(l.text);
      })();
      await engine.start(c.Id);
      const { StatusCode } = await exited;
      await logs;
      if (rm) await engine.containers.remove(c.Id);
      return StatusCode;
    }
    const images = await imageCommand(engine, cmd, args);
    if (images !== undefined) return images;
    console.error(USAGE);
    return 2;
  } finally {
    engine.close();
  }
}

/** `berth daemon [--root DIR] [--socket PATH]`: the engine and the Docker API, until SIGTERM/SIGINT. */
async function daemon(args: string[]): Promise<number> {
  const isRoot = process.getuid?.() === 0;
  const dataHome = process.env.XDG_DATA_HOME ?? join(process.env.HOME ?? '/tmp', '.local/share');
  const runtimeDir = process.env.XDG_RUNTIME_DIR ?? `/tmp/berth-${process.getuid?.()}`;
  const rootDir = flag(args, '--root') ?? process.env.BERTH_ROOT ?? (isRoot ? '/var/lib/berth' : join(dataHome, 'berth'));
  const runRoot = flag(args, '--run') ?? process.env.BERTH_RUN ?? (isRoot ? '/run/berth' : join(runtimeDir, 'berth'));
  const socket = flag(args, '--socket') ?? (isRoot ? '/run/berth/docker.sock' : join(runtimeDir, 'berth/docker.sock'));
  const insecure: string[] = [];
  for (let v = flag(args, '--insecure-registry'); v; v = flag(args, '--insecure-registry')) insecure.push(v);
  const mirrors: string[] = [];
  for (let v = flag(args, '--registry-mirror'); v; v = flag(args, '--registry-mirror')) mirrors.push(v);
  const cgroupParent = flag(args, '--cgroup-parent');
  const authFile = flag(args, '--auth-file');
  const web = flag(args, '--web');
  const bip = flag(args, '--bip');
  const engine = await createEngine({
    root: rootDir, runRoot, helperPath, helloPath: join(root, 'native/build/hello'), insecureRegistries: insecure, registryMirrors: mirrors,
    ...(cgroupParent ? { cgroupParent } : {}), ...(authFile ? { authFile } : {}), defaultBridge: bridgeFor(rootDir),
    ...(bip ? { defaultBridgeIp: bip } : {}),
  });
  const api = await startApiServer(backendOf(engine), socket);
  console.log(`berth daemon: Docker API on unix://${socket} (root ${rootDir})`);
  const ui = web ? await startWeb(engine, web, runRoot, socket) : undefined;
  await new Promise<void>((resolve) => {
    process.on('SIGTERM', () => resolve());
    process.on('SIGINT', () => resolve());
  });
  // Containers keep running in their shims; the next daemon adopts them.
  await ui?.close();
  await api.close();
  engine.close();
  return 0;
}

/** Web mode: the UI and its WebSocket on a loopback address, with a token kept across restarts. */
async function startWeb(engine: AnyEngine, listen: string, runRoot: string, socket: string): Promise<{ close(): Promise<void> }> {
  const uiDir = join(root, 'dist/renderer');
  if (existsSync(join(root, 'node_modules/esbuild'))) execFileSync(process.execPath, [join(root, 'renderer/build.mjs'), '--if-stale', '--ui-only'], { stdio: 'inherit' });
  const tokenFile = join(runRoot, 'web-token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : randomBytes(24).toString('base64url');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const host = new ContractHost(backendOf(engine), { version: PACKAGE_VERSION, dockerSocket: socket });
  let server;
  try {
    server = await startWebServer(host, { listen, uiDir, token });
  } catch (e) {
    // The default port taken: take any free one rather than fail `npm start`.
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !listen.endsWith(':7380')) throw new Error(`web mode on ${listen}: ${(e as Error).message}`, { cause: e });
    server = await startWebServer(host, { listen: listen.replace(/:7380$/, ':0'), uiDir, token });
  }
  console.log(`berth daemon: web UI at ${server.url}`);
  return {
    close: async () => {
      await server.close();
      host.dispose();
    },
  };
}

const USAGE = `usage: berth start | daemon [--root DIR] [--socket PATH] [--web ADDR:PORT] [--bip GATEWAY/PREFIX] | run [--rm] IMAGE [CMD…] | probe
       berth pull [--platform OS/ARCH] IMAGE | push IMAGE | login [-u USER] [-p PASS | --password-stdin] SERVER | logout SERVER
       berth images | tag SOURCE TARGET | rmi [-f] IMAGE… | image prune [-a] | history IMAGE | inspect IMAGE
       berth save [-o FILE] IMAGE… | load [-i FILE | DIR] | import TAR [NAME]`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

function has(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
}

/** Docker-like progress: one line per layer status; byte counts redrawn in place on a terminal. */
function progressPrinter(): (m: ProgressMessage) => void {
  const tty = process.stdout.isTTY;
  return (m) => {
    if (m.status === 'Downloading' || m.status === 'Pushing' || m.status === 'Extracting') {
      if (tty && m.progressDetail?.total) process.stdout.write(`\r${m.id}: ${m.status} ${humanSize(m.progressDetail.current ?? 0)}/${humanSize(m.progressDetail.total)}\x1b[K`);
      return;
    }
    process.stdout.write(`${tty ? '\r\x1b[K' : ''}${m.id ? `${m.id}: ` : ''}${m.status}\n`);
  };
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const c of process.stdin) s += c;
  return s.trim();
}

type AnyEngine = Awaited<ReturnType<typeof createEngine>>;

async function imageCommand(engine: AnyEngine, cmd: string, args: string[]): Promise<number | undefined> {
  switch (cmd) {
    case 'pull': {
      const platform = flag(args, '--platform');
      const all = has(args, '-a') || has(args, '--all-tags');
      const [os, architecture, variant] = platform?.split('/') ?? [];
      const opts = { onProgress: progressPrinter(), platform: platform ? { os, architecture, variant } : undefined };
      if (all) await engine.pullAllTags(args[0], opts);
      else await engine.pull(args[0], opts);
      return 0;
    }
    case 'push': {
      await engine.push(args[0], { onProgress: progressPrinter() });
      return 0;
    }
    case 'login': {
      const user = flag(args, '-u') ?? flag(args, '--username');
      let pass = flag(args, '-p') ?? flag(args, '--password');
      if (has(args, '--password-stdin')) pass = await readStdin();
      if (!user || pass === undefined) throw new Error('login needs -u USER and -p PASS or --password-stdin');
      await engine.login(args[0] ?? 'docker.io', user, pass);
      console.log('Login Succeeded');
      return 0;
    }
    case 'logout':
      console.log(engine.logout(args[0] ?? 'docker.io') ? `Removing login credentials for ${args[0]}` : `Not logged in to ${args[0]}`);
      return 0;
    case 'images': {
      const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
      for (const img of engine.listImages()) {
        const created = new Date(img.Created * 1000).toISOString().replace('T', ' ').slice(0, 19);
        const names = img.RepoTags.length ? img.RepoTags : ['<none>:<none>'];
        for (const n of names) {
          const i = n.lastIndexOf(':');
          rows.push([n.slice(0, i), n.slice(i + 1), img.Id.slice(7, 19), created, humanSize(img.Size)]);
        }
      }
      const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
      for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c])).join('   ').trimEnd());
      return 0;
    }
    case 'tag':
      engine.tagImage(args[0], args[1]);
      return 0;
    case 'rmi': {
      const force = has(args, '-f');
      for (const ref of args) {
        const r = engine.removeImage(ref, { force });
        for (const u of r.untagged) console.log(`Untagged: ${u}`);
        for (const d of r.deleted) console.log(`Deleted: ${d}`);
      }
      return 0;
    }
    case 'image':
      if (args[0] === 'prune') {
        const r = engine.pruneImages({ all: has(args, '-a') });
        for (const d of r.ImagesDeleted ?? []) console.log(d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`);
        console.log(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}`);
        return 0;
      }
      return undefined;
    case 'history':
      for (const h of engine.imageHistory(args[0])) console.log(`${h.Id === '<missing>' ? h.Id : h.Id.slice(7, 19)}\t${humanSize(h.Size)}\t${h.CreatedBy}`);
      return 0;
    case 'inspect':
      console.log(JSON.stringify([engine.inspectImage(args[0])], null, 4));
      return 0;
    case 'save': {
      const out = flag(args, '-o') ?? flag(args, '--output');
      if (!out && process.stdout.isTTY) throw new Error('refusing to write an archive to a terminal: use -o FILE or redirect');
      await pipeline(engine.saveImages(args), out ? createWriteStream(out) : process.stdout);
      return 0;
    }
    case 'load': {
      const input = flag(args, '-i') ?? flag(args, '--input') ?? args[0];
      const isDir = input ? statSync(input).isDirectory() : false;
      const r = await engine.loadImages(isDir ? input! : input ? createReadStream(input) : process.stdin);
      for (const m of r.messages) console.log(m);
      return 0;
    }
    case 'import': {
      const img = await engine.importImage(args[0] === '-' ? process.stdin : createReadStream(args[0]), { ref: args[1] });
      console.log(img.id);
      return 0;
    }
    default:
      return undefined;
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`berth: ${isEngineError(e) ? e.message : (e as Error).stack}`);
  process.exit(isEngineError(e) && e.stage === 'exec' ? 127 : 125);
});
