// A real unprivileged user for rootless tests (rootless.md §8): created here with an explicit
// subordinate range that overlaps no line in /etc/subuid or /etc/subgid, private HOME and
// XDG_RUNTIME_DIR, a copy of the app it can read, and /dev/net/tun usable for the run. Teardown
// kills the user's processes by pid, deletes the user and its files, and restores the device.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { REPO } from './testEngine.ts';
import { until } from './run.ts';

export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  /** first subordinate id */
  sub: number;
  base: string;
  home: string;
  runtimeDir: string;
  app: string;
  /** the user's engine socket */
  sock: string;
  env: Record<string, string>;
  /** a command as this user */
  run(cmd: string[], opts?: { input?: string; timeout?: number; env?: Record<string, string> }): Promise<{ code: number; out: string; err: string }>;
  spawn(cmd: string[], env?: Record<string, string>): ChildProcess;
  /** spawn, but in the cgroup v2 directory `cgroup` */
  spawnIn(cgroup: string, cmd: string[]): ChildProcess;
  docker(args: string[], input?: string): Promise<{ code: number; out: string; err: string }>;
  /** pids of every process the user has */
  pids(): number[];
  dispose(): Promise<void>;
}

/** Why rootless tests cannot run here, or undefined. */
export function rootlessSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a test user';
  for (const t of ['/usr/bin/newuidmap', '/usr/bin/newgidmap', '/usr/bin/setpriv', '/usr/sbin/useradd']) if (!existsSync(t)) return `${t} is missing (apt-get install uidmap)`;
  try {
    execFileSync('unshare', ['-U', 'true'], { stdio: 'ignore' });
  } catch {
    return 'user namespaces are disabled';
  }
  return undefined;
}

function takenRanges(): [number, number][] {
  const out: [number, number][] = [];
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    if (!existsSync(f)) continue;
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      const [, s, n] = l.split(':');
      if (s && n) out.push([Number(s), Number(s) + Number(n)]);
    }
  }
  return out;
}

/** Copies what `berth daemon` needs into a directory the user can read (the clone may sit under a 0700 directory). */
function stageApp(dir: string): void {
  execFileSync(process.execPath, [`${REPO}/renderer/build.mjs`, '--if-stale'], { stdio: 'ignore' });
  const pty = 'node_modules/node-pty';
  for (const p of ['bin', 'dist/headless', 'dist/renderer', 'native/build/berth-helper', 'native/build/hello', 'package.json', 'node_modules/koffi', 'node_modules/ws',
    `node_modules/@koromix/koffi-${process.platform}-${process.arch}`,
    `${pty}/package.json`, `${pty}/lib`, `${pty}/build`, `${pty}/prebuilds/${process.platform}-${process.arch}`, 'node_modules/node-addon-api']) {
    if (existsSync(`${REPO}/${p}`)) cpSync(`${REPO}/${p}`, `${dir}/${p}`, { recursive: true, preserveTimestamps: true });
  }
  // bin/berth.mjs compares the bundle with the sources; a copy has none, so the bundle is fresh.
  for (const d of ['electron', 'common']) mkdirSync(`${dir}/${d}`, { recursive: true });
  execFileSync('chmod', ['-R', 'a+rX', dir]);
}

export async function createRootlessUser(opts: { subordinate?: boolean } = {}): Promise<RootlessUser> {
  const name = `berthrl${randomBytes(3).toString('hex')}`;
  const base = mkdtempSync('/var/tmp/berth-rl-');
  chmodSync(base, 0o755);
  const home = `${base}/home`;
  const runtimeDir = `${base}/run`;
  const app = `${base}/app`;
  let tunMode: number | undefined;
  let created = false;
  const cleanup: (() => void)[] = [];
  const u = {} as RootlessUser;
  try {
    execFileSync('useradd', ['-M', '-d', home, '-s', '/usr/sbin/nologin', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', name]);
    created = true;
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    let sub = 1_100_000;
    const taken = takenRanges();
    while (taken.some(([a, b]) => sub < b && a < sub + 65536)) sub += 65536;
    if (opts.subordinate !== false) execFileSync('usermod', ['--add-subuids', `${sub}-${sub + 65535}`, '--add-subgids', `${sub}-${sub + 65535}`, name]);
    for (const d of [home, runtimeDir]) {
      mkdirSync(d, { mode: 0o700 });
      chownSync(d, uid, gid);
    }
    stageApp(app);
    if ((statSync('/dev/net/tun').mode & 0o006) !== 0o006) {
      tunMode = statSync('/dev/net/tun').mode & 0o777;
      chmodSync('/dev/net/tun', 0o666);
    }
    const env = {
      HOME: home, XDG_RUNTIME_DIR: runtimeDir, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      DOCKER_HOST: `unix://${runtimeDir}/berth/docker.sock`, DOCKER_CONFIG: `${home}/.docker`, LANG: 'C.UTF-8',
    };
    const argv = (cmd: string[], extra: Record<string, string> = {}) => ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--reset-env',
      'env', ...Object.entries({ ...env, ...extra }).map(([k, v]) => `${k}=${v}`), ...cmd];
    Object.assign(u, {
      name, uid, gid, sub, base, home, runtimeDir, app, env, sock: `${runtimeDir}/berth/docker.sock`,
      run: (cmd: string[], o: { input?: string; timeout?: number; env?: Record<string, string> } = {}) => new Promise((resolve) => {
        const child = execFile('setpriv', argv(cmd, o.env), { timeout: o.timeout ?? 60_000, maxBuffer: 64 << 20, cwd: base }, (e, out, err) => {
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err });
        });
        if (o.input !== undefined) child.stdin!.end(o.input);
        else child.stdin!.end();
      }),
      spawn: (cmd: string[], extra?: Record<string, string>) => spawn('setpriv', argv(cmd, extra), { stdio: ['ignore', 'pipe', 'pipe'], cwd: base }),
      spawnIn: (cgroup: string, cmd: string[]) => spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec setpriv "$@"', cgroup, ...argv(cmd)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: base }),
      docker: (args: string[], input?: string) => u.run(['/usr/local/bin/docker', ...args], { input }),
      pids: () => {
        try {
          return execFileSync('ps', ['-u', String(uid), '-o', 'pid='], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((p) => p > 0);
        } catch {
          return [];
        }
      },
      async dispose() {
        for (const fn of cleanup.reverse()) fn();
        // Every process of the user, by pid (the pause process, slirp4netns, shims, containers).
        for (let round = 0; round < 50 && u.pids().length; round++) {
          for (const pid of u.pids()) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        const left = u.pids();
        if (created) execFileSync('userdel', [name]);
        created = false;
        rmSync(base, { recursive: true, force: true });
        if (tunMode !== undefined) chmodSync('/dev/net/tun', tunMode);
        tunMode = undefined;
        if (left.length) throw new Error(`processes of ${name} survived teardown: ${left.join(' ')}`);
      },
    });
    return u;
  } catch (e) {
    if (created) execFileSync('userdel', [name]);
    rmSync(base, { recursive: true, force: true });
    if (tunMode !== undefined) chmodSync('/dev/net/tun', tunMode);
    throw e;
  }
}

export interface RootlessDaemon {
  proc: ChildProcess;
  log(): string;
  url(): string;
  stop(): Promise<void>;
  /** removes every container, then stops */
  shutdown(): Promise<void>;
}

/** `berth daemon` as the user, until stop(); resolves once its Docker API is up. */
export async function startRootlessDaemon(u: RootlessUser, args: string[] = [], web?: string, cgroup?: string): Promise<RootlessDaemon> {
  const cmd = ['node', `${u.app}/bin/berth.mjs`, 'daemon', ...args, ...(web ? ['--web', web] : [])];
  // In a cgroup delegated to the user: the shell joins it, then becomes the user's daemon.
  const proc = cgroup ? u.spawnIn(cgroup, cmd) : u.spawn(cmd);
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise((r) => proc.once('exit', r));
  await until(() => log.includes('rootless engine ready') || proc.exitCode !== null, 60_000, `rootless daemon start (${log})`);
  if (proc.exitCode !== null) throw new Error(`the rootless daemon exited: ${log}`);
  if (web) await until(() => log.includes('web UI at'), 30_000, `web UI (${log})`);
  const d: RootlessDaemon = {
    proc, log: () => log,
    url: () => /web UI at (\S+)/.exec(log)?.[1] ?? '',
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
    async shutdown() {
      if (proc.exitCode !== null) return;
      const ids = (await u.docker(['ps', '-aq'])).out.split('\n').filter(Boolean);
      if (ids.length) await u.docker(['rm', '-f', ...ids]);
      await d.stop();
    },
  };
  return d;
}
