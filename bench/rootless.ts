// Rootless mode side by side, in one interleaved run: `docker run --rm busybox true` against
// Berth rootless (the docker CLI as the user), Berth as root, and rootless podman (Debian's,
// as the same user); published-port TCP throughput against podman's port handler; outbound
// throughput through slirp4netns; engine start to socket ready as the user, with a new
// namespace and rejoining one. The user is created for the run (test/helpers/rootlessUser.ts)
// and deleted afterwards; /dev/net/tun is made usable for the run and restored.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, chownSync } from 'node:fs';
import { busyboxTarball, REPO } from '../test/helpers/testEngine.ts';
import { startRegistry, uploadImage } from '../test/helpers/registry.ts';
import { createRootlessUser, startRootlessDaemon, type RootlessDaemon, type RootlessUser } from '../test/helpers/rootlessUser.ts';
import { median, range, startBerthDaemon } from './lib.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const MIB = 2 ** 20;

function ms(fn: () => { status: number | null; stderr?: string }): number {
  const t = process.hrtime.bigint();
  const r = fn();
  if (r.status !== 0) throw new Error(`failed: ${r.stderr ?? ''}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** A command as the user, synchronously (for timing). */
function asUser(u: RootlessUser, cmd: string[], env: Record<string, string> = {}) {
  return spawnSync('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', '--reset-env', 'env',
    ...Object.entries({ ...u.env, ...env }).map(([k, v]) => `${k}=${v}`), ...cmd], { encoding: 'utf8', cwd: u.home, maxBuffer: 1 << 30 });
}

function hostAddress(): string {
  return /inet (\d+\.\d+\.\d+\.\d+)/.exec(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }))![1];
}

async function main() {
  const u = await createRootlessUser();
  const reg = await startRegistry();
  const root = await startBerthDaemon('rootless-cmp');
  let rootless: RootlessDaemon | undefined;
  try {
    await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
    const img = `${reg.host}/busybox`;
    // Rootless podman as the same user: overlay storage, cgroupfs (no systemd), the test registry over HTTP.
    const conf = `${u.home}/.config/containers`;
    mkdirSync(conf, { recursive: true });
    writeFileSync(`${conf}/storage.conf`, '[storage]\ndriver = "overlay"\n');
    writeFileSync(`${conf}/containers.conf`, '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
    writeFileSync(`${conf}/registries.conf`, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    // podman reads the docker CLI's auth file when DOCKER_CONFIG is set: give it an empty one.
    mkdirSync(`${u.home}/.docker`, { recursive: true });
    writeFileSync(`${u.home}/.docker/config.json`, '{}\n');
    for (const d of [`${u.home}/.docker`, `${u.home}/.docker/config.json`, `${u.home}/.config`, conf, `${conf}/storage.conf`, `${conf}/containers.conf`, `${conf}/registries.conf`]) chownSync(d, u.uid, u.gid);
    const pulled = asUser(u, ['podman', 'pull', '-q', img]);
    const podman = pulled.status === 0;
    if (!podman) console.log(`rootless podman left out: its pull failed: ${pulled.stderr.trim().split('\n').pop()}`);

    // Engine start to socket ready, as the user: a new namespace, then rejoining it.
    const fresh: number[] = [];
    const rejoin: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = Date.now();
      rootless = await startRootlessDaemon(u);
      (i === 0 ? fresh : rejoin).push(Date.now() - t);
      await rootless.stop();
      if (i === 0) {
        // Once more from nothing: end the namespace (the pause process) and time a new one.
        const pause = Number(readFileSync(`${u.runtimeDir}/berth/pause.pid`, 'utf8').split(' ')[0]);
        process.kill(pause, 'SIGKILL');
        const slirp = Number(readFileSync(`${u.runtimeDir}/berth/slirp4netns.pid`, 'utf8').split(' ')[0]);
        try {
          process.kill(slirp, 'SIGKILL');
        } catch {
          /* gone with the namespace */
        }
        await new Promise((r) => setTimeout(r, 200));
        t = Date.now();
        rootless = await startRootlessDaemon(u);
        fresh.push(Date.now() - t);
        await rootless.stop();
      }
    }
    rootless = await startRootlessDaemon(u);
    if (asUser(u, ['docker', 'pull', '-q', img]).status !== 0) throw new Error('rootless pull failed');
    const rootEnv = { ...process.env, DOCKER_HOST: `unix://${root.sock}` };
    if (spawnSync('docker', ['pull', '-q', img], { env: rootEnv }).status !== 0) throw new Error('root pull failed');

    const runs: Record<string, number[]> = { 'berth rootless': [], 'berth root': [], ...(podman ? { 'podman rootless': [] } : {}) };
    for (let i = 0; i < ROUNDS + 2; i++) {
      const a = ms(() => asUser(u, ['docker', 'run', '--rm', img, 'true']));
      const b = ms(() => spawnSync('docker', ['run', '--rm', img, 'true'], { env: rootEnv, encoding: 'utf8' }));
      const c = podman ? ms(() => asUser(u, ['podman', 'run', '--rm', img, 'true'])) : 0;
      if (i < 2) continue; // warm-up
      runs['berth rootless'].push(a);
      runs['berth root'].push(b);
      if (podman) runs['podman rootless'].push(c);
    }
    console.log(`docker run --rm busybox true (default network), ${ROUNDS} interleaved rounds, median ms [min–max]:`);
    const base = median(runs['berth root']);
    for (const [k, v] of Object.entries(runs)) console.log(`  ${k.padEnd(16)} ${median(v).toFixed(1).padStart(7)} ${range(v)}${k === 'berth rootless' ? `  rootless/root = ${(median(v) / base).toFixed(2)}${podman ? `, rootless/podman = ${(median(v) / median(runs['podman rootless'])).toFixed(2)}` : ''}` : ''}`);

    // Published TCP port: 256 MiB from the host's loopback to a receiver in the container
    // (bench/tools/tcpbench.c: the sender times connect to the receiver's close).
    const tool = `${u.base}/tcpbench`;
    execFileSync('cc', ['-O2', '-static', '-o', tool, `${REPO}/bench/tools/tcpbench.c`]);
    for (const [dir, mode, hostCmd] of [['into', 'recv 8080', 'send'], ['out of', 'serve 8080 256', 'fetch']] as const) {
      const ports = { berth: 18601, podman: 18602 };
      const inside = ['-v', `${tool}:/tcpbench:ro`, img, '/tcpbench', ...mode.split(' ')];
      asUser(u, ['docker', 'run', '-d', '--name', 'bench-port', '-p', `127.0.0.1:${ports.berth}:8080`, ...inside]);
      if (podman) asUser(u, ['podman', 'run', '-d', '--name', 'bench-port', '-p', `127.0.0.1:${ports.podman}:8080`, ...inside]);
      await new Promise((r) => setTimeout(r, 2000));
      const tput: Record<string, number[]> = { berth: [], ...(podman ? { podman: [] } : {}) };
      for (let i = 0; i < 5; i++) {
        for (const k of Object.keys(tput)) {
          const args = hostCmd === 'send' ? ['send', '127.0.0.1', String(ports[k as keyof typeof ports]), '256'] : ['fetch', '127.0.0.1', String(ports[k as keyof typeof ports])];
          const [bytes, , rate] = execFileSync(tool, args, { encoding: 'utf8' }).trim().split(' ').map(Number);
          if (bytes !== 256 * MIB) throw new Error(`${k}: moved ${bytes} bytes`);
          tput[k].push(rate);
        }
      }
      const ceiling = Number(spawnSync('sh', ['-c', `${tool} ${hostCmd === 'send' ? 'recv 18604' : 'serve 18604 256'} & R=$!; sleep 0.3; ${tool} ${hostCmd} 127.0.0.1 18604 ${hostCmd === 'send' ? 256 : ''}; kill $R`], { encoding: 'utf8' }).stdout.trim().split(' ')[2]);
      console.log(`published TCP port, 256 MiB ${dir} the container over the host's loopback, 5 interleaved rounds, median MiB/s [min–max]:`);
      for (const [k, v] of Object.entries(tput)) console.log(`  ${k.padEnd(8)} ${median(v).toFixed(0).padStart(6)} ${range(v, 0)}${k === 'berth' ? `  berth/ceiling = ${(median(v) / ceiling).toFixed(2)}${podman ? `, berth/podman = ${(median(v) / median(tput.podman)).toFixed(2)}` : ''}` : ''}`);
      console.log(`  ceiling: the same transfer on the host's loopback, no container or proxy: ${ceiling.toFixed(0)} MiB/s`);
      asUser(u, ['docker', 'rm', '-f', 'bench-port']);
      if (podman) asUser(u, ['podman', 'rm', '-f', 'bench-port']);
    }

    // Outbound: a container sends 256 MiB to a receiver on the host's address, through slirp4netns
    // (bench/tools/tcpbench.c: the sender times connect to the receiver's close).
    const addr = hostAddress();
    const port = 18603;
    const recv = spawn(tool, ['recv', String(port)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const out: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const r = asUser(u, ['docker', 'run', '--rm', '-v', `${tool}:/tcpbench:ro`, img, '/tcpbench', 'send', addr, String(port), '256']);
        const [bytes, , rate] = r.stdout.trim().split(' ').map(Number);
        if (bytes !== 256 * MIB) throw new Error(`outbound: ${r.stdout} ${r.stderr}`);
        out.push(rate);
      }
    } finally {
      recv.kill('SIGKILL');
    }
    console.log(`outbound TCP through slirp4netns (container → ${addr}), 256 MiB, 3 rounds: median ${median(out).toFixed(0)} MiB/s ${range(out, 0)}`);
    console.log(`engine start to socket ready as the user: new namespace ${fresh.map((x) => x.toFixed(0)).join(', ')} ms; rejoining ${rejoin.map((x) => x.toFixed(0)).join(', ')} ms`);
  } finally {
    if (rootless?.proc.exitCode === null) {
      const ids = asUser(u, ['docker', 'ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) asUser(u, ['docker', 'rm', '-f', ...ids]);
      await rootless.stop();
    }
    asUser(u, ['podman', 'rm', '-af']);
    spawnSync('docker', ['rm', '-f', ...(spawnSync('docker', ['ps', '-aq'], { env: { ...process.env, DOCKER_HOST: `unix://${root.sock}` }, encoding: 'utf8' }).stdout.split('\n').filter(Boolean))], { env: { ...process.env, DOCKER_HOST: `unix://${root.sock}` } });
    await root.stop();
    await reg.stop();
    await u.dispose();
  }
}

await main();
