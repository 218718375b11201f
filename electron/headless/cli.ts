// Headless entry points without Electron: `berth run IMAGE CMD…`, image commands (pull, push,
// login, images, tag, rmi, save, load, import, history, inspect, image prune), `berth probe`.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ProgressMessage } from '../engine/images/distribution/pull.ts';
import { humanSize } from '../../common/format.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../api/server.ts';
import { backendOf, createEngine } from '../engine/index.ts';
import { isEngineError } from '../engine/errors.ts';
import { ContractHost } from '../host/contractHost.ts';
import { inProcess, RelayConnection, serveContract, unavailable, type ConnectionFactory } from '../host/contractSocket.ts';
import { ensureTokenFile, startWebServer } from '../host/webServer.ts';
import { Engines, switchable } from '../host/engines.ts';
import { connect as netConnect } from 'node:net';
import { inUserNamespace } from '../engine/sys/userns.ts';
import { loadLibc, MNT_DETACH } from '../engine/sys/libc.ts';
import { claimEngine, checkStore, pauseProcess, prepareRunDir, requirePrerequisites, rootlessChecks, rootlessLayout, RootlessError, runningEngine, startInNamespace, type RootlessLayout } from '../machine/rootless.ts';
import { ensureDockerContext } from '../machine/dockerContext.ts';
import { dialCommand, ownSocket } from './dialStdio.ts';
import { machineCommand } from './machineCli.ts';
import { MachineControl } from '../machine/machineControl.ts';
import { checkSocketFree, claimRoot, RootBusyError } from './rootLock.ts';

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
  if (cmd === 'probe') return probe(args);
  if (cmd === 'daemon') return daemon(args);
  if (cmd === 'system' && args[0] === 'reset') return systemReset(args.slice(1));
  if (cmd === 'web' && args[0] === 'rotate-token') return rotateWebToken(args.slice(1));
  if (cmd === 'machine') return machineCommand(args);
  if (cmd === 'system' && args[0] === 'dial-stdio') {
    return dialCommand(args.slice(1), ownSocket());
  }
  if (process.getuid?.() !== 0) {
    const layout = rootlessLayout();
    console.error(`berth ${cmd}: as a normal user the engine runs rootless in its own process; use the docker CLI against it: `
      + `DOCKER_HOST=unix://${layout.dockerSocket} docker ${cmd} … (start it with \`berth daemon\`)`);
    return 1;
  }
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

/**
 * `berth daemon`: the engine and the Docker API until SIGTERM/SIGINT. As root, in this process.
 * As a normal user, rootless: this process sets up (or rejoins) the user's namespaces, runs the
 * engine inside them as a child, and serves web mode here as a client of the engine.
 */
async function daemon(args: string[]): Promise<number> {
  if (process.env.BERTH_ROOTLESS && inUserNamespace()) return engineDaemon(args, rootlessLayout());
  if (process.getuid?.() === 0) return engineDaemon(args);
  return rootlessDaemon(args);
}

function listFlag(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let v = flag(args, name); v; v = flag(args, name)) out.push(v);
  return out;
}

/** The engine in this process: root mode, or inside a rootless namespace (`layout`). */
async function engineDaemon(args: string[], layout?: RootlessLayout): Promise<number> {
  const rootDir = flag(args, '--root') ?? layout?.dataRoot ?? process.env.BERTH_ROOT ?? '/var/lib/berth';
  const runRoot = flag(args, '--run') ?? layout?.runDir ?? process.env.BERTH_RUN ?? '/run/berth';
  const socketFlag = flag(args, '--socket');
  const socket = socketFlag ?? layout?.dockerSocket ?? '/run/berth/docker.sock';
  const insecure = listFlag(args, '--insecure-registry');
  const mirrors = listFlag(args, '--registry-mirror');
  const cgroupParent = flag(args, '--cgroup-parent');
  const authFile = flag(args, '--auth-file');
  const web = flag(args, '--web');
  const allowRemote = has(args, '--web-allow-remote');
  const bip = flag(args, '--bip');
  const hostAliases = Object.fromEntries(listFlag(args, '--host-alias').map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  const pause = layout ? pauseProcess(layout) : undefined;
  if (layout && !pause) throw new Error(`the rootless namespace's pause process (${layout.pauseFile}) is gone: start the engine with \`berth daemon\``);
  await checkSocketFree(socket);
  const releaseRoot = claimRoot(rootDir, socket);
  const engine = await createEngine({
    root: rootDir, runRoot, helperPath, helloPath: join(root, 'native/build/hello'), insecureRegistries: insecure, registryMirrors: mirrors,
    ...(cgroupParent ? { cgroupParent } : {}), ...(authFile ? { authFile } : {}), defaultBridge: layout ? 'berth0' : bridgeFor(rootDir),
    ...(bip ? { defaultBridgeIp: bip } : {}), hostAliases, ...(pause ? { rootless: { pausePid: pause.pid } } : {}),
  });
  const api = await startApiServer(backendOf(engine), socket);
  const host = new ContractHost(backendOf(engine), { version: PACKAGE_VERSION, dockerSocket: socket });
  const contractSocket = layout?.uiSocket ?? flag(args, '--contract-socket');
  const contract = contractSocket ? await serveContract(host, contractSocket) : undefined;
  console.log(`berth daemon: Docker API on unix://${socket} (root ${rootDir}${layout ? ', rootless' : ''})`);
  if (!layout && !socketFlag) registerContext(socket);
  const engines = new Engines({ host: `unix://${socket}`, connect: inProcess(host) }, { version: PACKAGE_VERSION, machines: machineControl() });
  const ui = web ? await startWeb(switchable(engines), web, runRoot, allowRemote) : undefined;
  await new Promise<void>((resolve) => {
    process.on('SIGTERM', () => resolve());
    process.on('SIGINT', () => resolve());
  });
  // Containers keep running in their shims; the next daemon adopts them.
  await ui?.close();
  engines.dispose();
  await contract?.close();
  host.dispose();
  await api.close();
  engine.close();
  releaseRoot();
  return 0;
}

/** The machines a web-mode app manages: their supervisors run this install's berth command. */
function machineControl(): MachineControl {
  return new MachineControl({ root, berth: [process.execPath, join(root, 'bin/berth.mjs')] });
}

function registerContext(socket: string): void {
  try {
    ensureDockerContext(socket);
  } catch (e) {
    console.error(`berth daemon: could not register the docker context "berth": ${(e as Error).message}`);
  }
}

/** Resolves when a unix socket accepts connections, or rejects when `dead` settles first. */
async function waitForSocket(path: string, dead: Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  let gone = false;
  void dead.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(path, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(gone ? 'the engine exited before it was ready' : `the engine did not open ${path} within ${timeoutMs / 1000} s`);
}

/** A normal user's `berth daemon`: the rootless engine as a child inside the user's namespaces. */
async function rootlessDaemon(args: string[]): Promise<number> {
  const layout = rootlessLayout({ ...process.env, ...(flagValue(args, '--root') ? { BERTH_ROOT: flagValue(args, '--root') } : {}), ...(flagValue(args, '--run') ? { BERTH_RUN: flagValue(args, '--run') } : {}) });
  for (const f of ['--root', '--run', '--socket']) {
    if (f === '--socket' && flagValue(args, f)) throw new Error('a rootless engine keeps its Docker API socket in its run directory: use --run DIR (or XDG_RUNTIME_DIR)');
    flag(args, f);
  }
  const web = flag(args, '--web');
  const allowRemote = has(args, '--web-allow-remote');
  let maps: { uidMap: string; gidMap: string };
  try {
    maps = requirePrerequisites();
  } catch (e) {
    if (!(e instanceof RootlessError) || !web) throw e;
    // The app is how most people start the engine: show them what is missing and how to fix it.
    console.error(`berth: ${e.message}`);
    prepareRunDir(layout);
    const ui = await startWeb(unavailable(`Berth cannot start its engine: ${e.message}`), web, layout.runDir, allowRemote);
    await untilSignal();
    await ui.close();
    return 1;
  }
  prepareRunDir(layout);
  const release = claimEngine(layout);
  try {
    checkStore(layout, maps.uidMap, maps.gidMap);
    const launch = (fresh = false) => {
      const child = startInNamespace({ helperPath, command: [process.execPath, join(root, 'bin/berth.mjs'), 'daemon', ...args], layout, fresh }, maps);
      const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
      child.once('error', () => undefined);
      return { child, exited };
    };
    let run = launch();
    const forward = (sig: NodeJS.Signals) => run.child.kill(sig);
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    for (let attempt = 0; ; attempt++) {
      try {
        await waitForSocket(layout.uiSocket, run.exited);
        break;
      } catch (e) {
        run.child.kill('SIGTERM');
        const code = await run.exited;
        // 3: the pause process died between the check and the join; a new namespace is made.
        if (code === 3 && attempt === 0) {
          run = launch(true);
          continue;
        }
        console.error(`berth: ${(e as Error).message}`);
        return code || 1;
      }
    }
    const { exited } = run;
    registerContext(layout.dockerSocket);
    console.log(`berth daemon: rootless engine ready; for the docker CLI: export DOCKER_HOST=unix://${layout.dockerSocket} (or docker context use berth)`);
    const engines = new Engines({ host: `unix://${layout.dockerSocket}`, connect: (ch) => new RelayConnection(layout.uiSocket, ch) }, { version: PACKAGE_VERSION, machines: machineControl() });
    const ui = web ? await startWeb(switchable(engines), web, layout.runDir, allowRemote) : undefined;
    const code = await exited;
    await ui?.close();
    engines.dispose();
    return code;
  } finally {
    release();
  }
}

function flagValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

/** Web mode: the UI and its WebSocket on a loopback address, with a token kept across restarts. */
async function startWeb(connect: ConnectionFactory, listen: string, runRoot: string, allowRemote = false): Promise<{ close(): Promise<void> }> {
  const uiDir = join(root, 'dist/renderer');
  if (existsSync(join(root, 'node_modules/esbuild'))) execFileSync(process.execPath, [join(root, 'renderer/build.mjs'), '--if-stale', '--ui-only'], { stdio: 'inherit' });
  const tokenFile = join(runRoot, 'web-token');
  ensureTokenFile(tokenFile);
  let server;
  try {
    server = await startWebServer(connect, { listen, uiDir, tokenFile, allowRemote });
  } catch (e) {
    // The default port taken: take any free one rather than fail `npm start`.
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !listen.endsWith(':7380')) throw new Error(`web mode on ${listen}: ${(e as Error).message}`, { cause: e });
    server = await startWebServer(connect, { listen: listen.replace(/:7380$/, ':0'), uiDir, tokenFile, allowRemote });
  }
  writeFileSync(join(runRoot, 'web-url'), server.url.replace(/\?token=.*$/, ''));
  if (allowRemote) console.log('berth daemon: web mode answers on a non-loopback address over plain HTTP: anyone who sees the URL or its traffic can drive the engine');
  console.log(`berth daemon: web UI at ${server.url}`);
  return { close: () => server.close() };
}

/** `berth web rotate-token [--run DIR]`: a new token for a running web mode; its open sessions close. */
function rotateWebToken(args: string[]): number {
  const runRoot = flag(args, '--run') ?? (process.getuid?.() === 0 ? process.env.BERTH_RUN ?? '/run/berth' : rootlessLayout().runDir);
  const tokenFile = join(runRoot, 'web-token');
  if (!existsSync(tokenFile)) {
    console.error(`berth web rotate-token: ${tokenFile} does not exist: no web mode has run with this run directory (give --run DIR)`);
    return 1;
  }
  const token = ensureTokenFile(tokenFile, true);
  const base = existsSync(join(runRoot, 'web-url')) ? readFileSync(join(runRoot, 'web-url'), 'utf8').trim() : '';
  console.log(base ? `${base}?token=${token}` : token);
  return 0;
}

/**
 * `berth probe [--json]`: the kernel features the engine adapts to and, for a normal user,
 * each rootless prerequisite with its fix.
 */
function probe(args: string[]): number {
  const kernel = JSON.parse(execFileSync(helperPath, ['probe'], { encoding: 'utf8' })) as Record<string, unknown>;
  const rootless = process.getuid?.() !== 0;
  const checks = rootless ? rootlessChecks() : [];
  if (args.includes('--json')) {
    console.log(JSON.stringify({ ...kernel, rootless, checks }));
    return 0;
  }
  console.log(JSON.stringify(kernel));
  if (!rootless) return 0;
  console.log('rootless mode (the engine runs as you, in a user namespace):');
  for (const c of checks) {
    console.log(`  ${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name}: ${c.detail}${c.ok ? '' : `\n       fix: ${c.fix}`}`);
  }
  return checks.some((c) => c.required && !c.ok) ? 1 : 0;
}

/**
 * `berth system reset [--force]`: deletes a rootless engine's store (images, containers,
 * volumes), files owned by subordinate ids included: the deletion runs as root of the user's
 * namespace, after every container and the namespace's processes are stopped.
 */
async function systemReset(args: string[]): Promise<number> {
  if (process.env.BERTH_ROOTLESS && inUserNamespace()) return resetInside(rootlessLayout());
  if (process.getuid?.() === 0) {
    console.error('berth system reset removes a rootless engine\'s store; as root, stop the engine and remove /var/lib/berth yourself');
    return 2;
  }
  const layout = rootlessLayout();
  const running = runningEngine(layout);
  if (running) {
    console.error(`berth system reset: the engine is running (pid ${running.pid}); stop it first (its containers are removed by the reset)`);
    return 1;
  }
  if (!args.includes('--force') && !args.includes('-f')) {
    console.error(`berth system reset deletes every image, container and volume in ${layout.dataRoot}; run it again with --force to go ahead`);
    return 2;
  }
  const maps = requirePrerequisites();
  const release = claimEngine(layout);
  try {
    const child = startInNamespace({ helperPath, command: [process.execPath, join(root, 'bin/berth.mjs'), 'system', 'reset'], layout }, maps);
    const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
    if (code === 0) {
      // The run directory's sockets, pid files and shims' directories are the engine's too.
      for (const f of readdirSync(layout.runDir)) if (join(layout.runDir, f) !== layout.engineFile) rmSync(join(layout.runDir, f), { recursive: true, force: true });
      console.log(`berth system reset: ${layout.dataRoot} removed`);
    }
    return code;
  } finally {
    release();
  }
}

/** Inside the namespace: stop what runs in it, delete the store, then end the namespace. */
function resetInside(layout: RootlessLayout): number {
  const kill = (file: string) => {
    try {
      const [pid] = readFileSync(file, 'utf8').trim().split(' ').map(Number);
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  // Containers: their shims first (a shim that saw its init die would write its exit status into
  // the store while it is removed), port proxies, then inits (each pid namespace dies with its init).
  const containers = join(layout.dataRoot, 'containers');
  const killed: number[] = [];
  for (const id of existsSync(containers) ? readdirSync(containers) : []) {
    try {
      const r = JSON.parse(readFileSync(join(containers, id, 'config.json'), 'utf8')) as { State?: { Pid?: number }; runtime?: { pid?: number; proxy?: { pid?: number } } };
      for (const pid of [r.runtime?.pid, r.runtime?.proxy?.pid, r.State?.Pid]) {
        if (!pid) continue;
        try {
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
        } catch {
          /* gone */
        }
      }
    } catch {
      /* not running */
    }
  }
  // Gone means no longer running (a zombie waits for its parent, which was killed too).
  const running = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + 3000; killed.some(running) && Date.now() < deadline;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  kill(join(layout.runDir, 'slirp4netns.pid'));
  // The containers' overlays are mounted in this namespace.
  const overlays = join(layout.dataRoot, 'overlay');
  const libc = loadLibc();
  for (const id of existsSync(overlays) ? readdirSync(overlays) : []) {
    try {
      libc.umount(join(overlays, id, 'merged'), MNT_DETACH);
    } catch {
      /* not mounted */
    }
  }
  rmSync(layout.dataRoot, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  // Last, the pause process: the namespace's mounts go with it.
  kill(layout.pauseFile);
  return 0;
}

const USAGE = `usage: berth start | daemon [--root DIR] [--socket PATH] [--web ADDR:PORT] [--bip GATEWAY/PREFIX] | run [--rm] IMAGE [CMD…] | probe [--json]
       berth system reset [--force]   (a normal user's rootless store) | system dial-stdio [--host unix://PATH]
       berth web rotate-token [--run DIR]   (a new web-mode token; open sessions close)
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
  const theirs = e instanceof RootlessError || e instanceof RootBusyError;
  console.error(`berth: ${isEngineError(e) || theirs ? (e as Error).message : (e as Error).stack}`);
  // A missing prerequisite or a second engine is the user's to fix, as dockerd exits 1 for them.
  process.exit(theirs ? 1 : isEngineError(e) && e.stage === 'exec' ? 127 : 125);
});
