// Pull + unpack of a big image from a registry on 127.0.0.1, against `docker pull` (dockerd) and
// `podman pull` in interleaved rounds; unpack throughput of its gzip layer against `tar -xzf` of
// the same file on the same file system; and the peak RSS of a process doing a pull, for growing layers.
// Needs ../shared/peers/setup.sh (registry on 127.0.0.1:5000 with debian:bookworm-minbase).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createEngine } from '../electron/engine/engine.ts';
import { UnpackPool } from '../electron/engine/images/tar/unpackPool.ts';
import { HELPER, REPO } from '../test/helpers/testEngine.ts';
import { startRegistry, uploadImage } from '../test/helpers/registry.ts';
import { buildTar } from '../electron/engine/images/tarWriter.ts';
import { randomBytes } from 'node:crypto';

const IMAGE = process.env.BENCH_IMAGE ?? '127.0.0.1:5000/debian:bookworm-minbase';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const sync = () => execFileSync('sync');

const [domain, ...rest] = IMAGE.split('/');
const repoTag = rest.join('/');
const [repo, tag] = repoTag.split(':');
let manifest: { layers: { digest: string; size: number }[] };
try {
  const r = await fetch(`http://${domain}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
  manifest = (await r.json()) as typeof manifest;
} catch {
  console.log(`registry ${domain} is not reachable: run ../shared/peers/setup.sh first`);
  process.exit(0);
}

const base = mkdtempSync('/var/tmp/berth-bench-pull-');
const engine = await createEngine({ root: `${base}/engine`, runRoot: `${base}/run`, helperPath: HELPER, cgroupParent: 'berth-bench' });
const cliEnv = { ...process.env, BERTH_ROOT: `${base}/cli`, BERTH_RUN: `${base}/cli-run` };
const berthCli = (...args: string[]) => spawnSync(process.execPath, [`${REPO}/bin/berth.mjs`, ...args], { env: cliEnv, stdio: 'ignore' }).status === 0;

interface Cmd {
  name: string;
  prep: () => void;
  run: () => Promise<boolean> | boolean;
}

const cmds: Cmd[] = [
  {
    name: 'berth engine pull (warm engine, as a daemon)',
    prep: () => {
      try {
        engine.removeImage(IMAGE, { force: true });
      } catch {
        /* not there */
      }
    },
    run: async () => !!(await engine.pull(IMAGE)),
  },
  { name: 'berth pull (CLI: node start + engine + pull)', prep: () => void berthCli('rmi', '-f', IMAGE), run: () => berthCli('pull', IMAGE) },
];
if (ok('docker', ['info'])) cmds.push({ name: 'docker pull (dockerd)', prep: () => void ok('docker', ['rmi', '-f', IMAGE]), run: () => ok('docker', ['pull', '-q', IMAGE]) });
if (ok('podman', ['--version'])) cmds.push({ name: 'podman pull', prep: () => void ok('podman', ['rmi', '-f', IMAGE]), run: () => ok('podman', ['pull', '-q', '--tls-verify=false', IMAGE]) });

// On ext4 without a journal (this machine's disk), the inode allocator passes over every free
// inode deleted in the last 60 s, or the last 360 s once its inode-table block is dirty again
// (fs/ext4/ialloc.c: find_inode_bit → recently_deleted, RECENTCY_MIN + RECENTCY_DIRTY), and
// starts each search from the group's first inode. Unpacking 6,662 files into groups where the
// previous round deleted 6,662 then costs seconds of kernel time (perf: find_get_block_common,
// recently_deleted), and it hits whichever engine unpacks there next: with a 61 s wait the first
// pull of a round dirties the blocks and the deletes count as recent again for the next ones.
// So every round removes the image from all engines first, then lets the deletes age past
// 360 s before any timed pull; PULL_SETTLE_S=1 for a quick (unfair) check.
const SETTLE_S = Number(process.env.PULL_SETTLE_S ?? 361);
let lastDelete = performance.now();
const settle = async () => {
  sync();
  const wait = SETTLE_S * 1000 - (performance.now() - lastDelete);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
};
const times = new Map<string, number[]>(cmds.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cmds) c.prep();
  lastDelete = performance.now();
  await settle();
  for (let k = 0; k < cmds.length; k++) {
    const c = cmds[(k + round) % cmds.length];
    sync();
    const t0 = performance.now();
    const good = await c.run();
    const ms = performance.now() - t0;
    if (good) times.get(c.name)!.push(ms);
    else console.log(`  ${c.name}: failed in round ${round}`);
  }
}
console.log(`pull + unpack of ${IMAGE} (${manifest.layers.length} layer(s), ${(manifest.layers.reduce((s, l) => s + l.size, 0) / 2 ** 20).toFixed(1)} MiB compressed), ${ROUNDS} interleaved rounds, deletes aged ${SETTLE_S} s, median ms [min–max]:`);
const ref = median(times.get(cmds[0].name)!);
for (const [name, v] of times) {
  if (!v.length) continue;
  const m = median(v);
  console.log(`  ${name.padEnd(46)} ${m.toFixed(0).padStart(6)} [${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}]  berth-engine/this = ${(ref / m).toFixed(2)}`);
}

// Unpack throughput: the same gzip layer blob, Berth's worker vs tar -xzf, same file system.
const blob = engine.images.content.path(manifest.layers[0].digest);
const pool = new UnpackPool(1);
await pool.run({ src: blob, dest: mkdtempSync(`${base}/warm-`), mode: 'overlay', chown: true }); // start the worker
// On tmpfs the figure is the unpacker's own work; on the disk it is mostly ext4's, and noisy.
const size = Number(execFileSync('stat', ['-c', '%s', blob], { encoding: 'utf8' }));
for (const [where, dir] of [['tmpfs (/dev/shm)', mkdtempSync('/dev/shm/berth-bench-unpack-')], ['the store\'s disk', `${base}/untar`]] as const) {
  mkdirSync(dir, { recursive: true });
  const unpack = { berth: [] as number[], tar: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const dests = { berth: `${dir}/berth-${round}`, tar: `${dir}/tar-${round}` };
    for (const dest of Object.values(dests)) mkdirSync(dest);
    if (where !== 'tmpfs (/dev/shm)' && round === 0) await settle(); // the warm-up and tmpfs rounds deleted nothing on the disk
    for (const which of round % 2 ? ['tar', 'berth'] as const : ['berth', 'tar'] as const) {
      const dest = dests[which];
      sync();
      const t0 = performance.now();
      if (which === 'berth') await pool.run({ src: blob, dest, mode: 'overlay', chown: true });
      else execFileSync('tar', ['--numeric-owner', '-xzpf', blob, '-C', dest], { stdio: 'ignore' });
      unpack[which].push(performance.now() - t0);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`unpack of the ${(size / 2 ** 20).toFixed(1)} MiB gzip layer on ${where} (no deletes between rounds), median ms [min–max]:`);
  for (const [k, v] of Object.entries(unpack)) console.log(`  ${k.padEnd(6)} ${median(v).toFixed(0).padStart(6)} [${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}]  ${(size / 2 ** 20 / (median(v) / 1000)).toFixed(1)} MiB/s compressed`);
  console.log(`  berth throughput = ${((median(unpack.tar) / median(unpack.berth)) * 100).toFixed(0)}% of tar -xzf`);
}
await pool.close();

// Peak RSS of a process doing a whole pull, for layers of 8, 64 and 256 MiB of incompressible
// data from a private registry: with streams, not buffers, the peak levels off instead of
// following the layer size (what grows at first is garbage V8 collects once it passes its
// external-memory threshold).
const reg = await startRegistry();
try {
  const peakRss = (label: string, ref: string, dir: string) => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', `${REPO}/test/helpers/pullChild.ts`, `${base}/${dir}`, ref], { env: { ...process.env, BERTH_REPORT_RSS: '1' }, encoding: 'utf8' });
    const m = /rss (\d+) (\d+)/.exec(child.stdout);
    return m ? `${label} → ${(Number(m[1]) / 1024).toFixed(1)} MiB` : `${label} → failed: ${child.stderr.slice(0, 200)}`;
  };
  const peaks: string[] = [];
  for (const mib of [8, 64, 256]) {
    await uploadImage(reg, 'rss', `m${mib}`, [buildTar([{ name: 'big.bin', type: 'file', mode: 0o644, data: randomBytes(mib << 20) }])]);
    peaks.push(peakRss(`${mib} MiB layer`, `${reg.host}/rss:m${mib}`, `rss-${mib}`));
  }
  peaks.push(peakRss(IMAGE, IMAGE, 'rss'));
  console.log(`peak RSS of a process pulling (node + the engine's store, registry client and unpack worker): ${peaks.join('; ')}`);
} finally {
  await reg.stop();
}

engine.close();
engine.removeCgroupParent();
rmSync(base, { recursive: true, force: true });
