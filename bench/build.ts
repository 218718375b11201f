// Image builds side by side (build.md §6): Berth's builder through the docker CLI 28 (classic
// protocol), dockerd's classic builder (`DOCKER_BUILDKIT=0 /usr/bin/docker` 20.10) and BuildKit
// (`DOCKER_BUILDKIT=1 /usr/bin/docker` against the same dockerd), and `buildah bud --layers`
// when installed, in interleaved rounds; medians in seconds and Berth's ratio to each.
// Needs ../shared/peers/setup.sh (Debian's dockerd, the registry with 127.0.0.1:5000/busybox).
// The peers' builds run on a private dockerd (its own data root, exec root, socket and bridge),
// never on the peer dockerd, which this leaves alone.
//   B1 20 RUN steps, cold and cached; B2 COPY of 10,000 small files + RUN; B3 two independent
//   `sleep 2` stages and an unused one; B4 a 10,000-file context: no change, touch one file,
//   edit one file, edit a late-copied file; B5 20 RUN with 10 ENV and 10 LABEL between them
//   (metadata step cost); B6 a 200 MB context that copies nothing; M the engine's peak memory
//   for contexts of 20, 100 and 400 MB copied into a layer (Berth alone). `cli-floor` is the
//   docker CLI sending each context to a sink that builds nothing: the classic protocol's floor;
//   `cli-keep` the same sink writing the context to a file: the floor of a builder that keeps
//   its context to read COPY's sources from (as dockerd's classic builder and Berth do).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { median, range, startBerthDaemon } from './lib.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** CASES=B3,B4 runs only those */
const want = (c: string) => !process.env.CASES || process.env.CASES.split(',').includes(c);
const IMAGE = '127.0.0.1:5000/busybox';
const work = mkdtempSync('/var/tmp/berth-bench-build-');
const berth = await startBerthDaemon('build');

interface Peer {
  name: string;
  build(dir: string, nocache: boolean): boolean;
}

const run = (cmd: string, args: string[], env: Record<string, string>) => spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
const peers: Peer[] = [{
  name: 'berth',
  build: (dir, nocache) => run('docker', ['build', '-q', '--network', 'none', ...(nocache ? ['--no-cache'] : []), dir], { DOCKER_HOST: `unix://${berth.sock}` }).status === 0,
}];
// The classic protocol's floor: the same docker CLI sending the same context to a sink that
// reads it whole and answers with an image ID at once (no build at all). It runs in a child
// process: the CLI is spawned synchronously, which would stall a server in this one.
const floorSock = `${work}/floor.sock`;
const floorSink = spawn(process.execPath, [new URL('./buildSink.mjs', import.meta.url).pathname, floorSock], { stdio: 'ignore' });
for (let i = 0; i < 100 && !existsSync(floorSock); i++) await new Promise((r) => setTimeout(r, 50));
peers.push({ name: 'cli-floor', build: (dir) => run('docker', ['build', '-q', dir], { DOCKER_HOST: `unix://${floorSock}` }).status === 0 });
const keepSock = `${work}/keep.sock`;
mkdirSync(`${work}/kept`);
const keepSink = spawn(process.execPath, [new URL('./buildSink.mjs', import.meta.url).pathname, keepSock, `${work}/kept`], { stdio: 'ignore' });
for (let i = 0; i < 100 && !existsSync(keepSock); i++) await new Promise((r) => setTimeout(r, 50));
peers.push({ name: 'cli-keep', build: (dir) => run('docker', ['build', '-q', dir], { DOCKER_HOST: `unix://${keepSock}` }).status === 0 });
// A private dockerd: its own bridge (never --bridge none: that deletes the peer's docker0).
const BRIDGE = 'berthbb0';
const dockerSock = `${work}/dockerd.sock`;
let dockerdProc: ReturnType<typeof spawn> | undefined;
if (existsSync('/usr/sbin/dockerd')) {
  spawnSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  spawnSync('ip', ['addr', 'add', '10.213.7.1/24', 'dev', BRIDGE]);
  dockerdProc = spawn('/usr/sbin/dockerd', ['--data-root', `${work}/dockerd-data`, '--exec-root', `/var/run/berth-bench-${process.pid}`, '--pidfile', `${work}/dockerd.pid`,
    '-H', `unix://${dockerSock}`, '--bridge', BRIDGE, '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--storage-driver', 'overlay2',
    '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', '/berth-bench-dockerd'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && run('/usr/bin/docker', ['version'], { DOCKER_HOST: `unix://${dockerSock}` }).status !== 0; i++) await new Promise((r) => setTimeout(r, 200));
}
const dockerd = run('/usr/bin/docker', ['version', '--format', '{{.Server.Version}}'], { DOCKER_HOST: `unix://${dockerSock}` });
if (dockerd.status === 0) {
  run('/usr/bin/docker', ['pull', '-q', IMAGE], { DOCKER_HOST: `unix://${dockerSock}` });
  for (const [name, kit] of [['classic', '0'], ['buildkit', '1']]) {
    peers.push({
      name,
      build: (dir, nocache) => run('/usr/bin/docker', ['build', '-q', '--network', 'none', ...(nocache ? ['--no-cache'] : []), dir], { DOCKER_HOST: `unix://${dockerSock}`, DOCKER_BUILDKIT: kit }).status === 0,
    });
  }
} else {
  console.log('no private dockerd could start (install docker.io): Berth alone');
}
const buildah = run('buildah', ['--version'], {});
if (buildah.status === 0) {
  const root = `${work}/buildah`;
  const b = (args: string[]) => run('buildah', ['--root', `${root}/root`, '--runroot', `${root}/run`, '--storage-driver', 'overlay', ...args], {});
  b(['pull', '--tls-verify=false', `docker://${IMAGE}`]);
  peers.push({ name: 'buildah', build: (dir, nocache) => b(['bud', '--layers', '-q', '--network', 'none', '--tls-verify=false', ...(nocache ? ['--no-cache'] : []), dir]).status === 0 });
} else {
  console.log('buildah is not installed (apt-get install buildah): not compared');
}
run('docker', ['pull', '-q', IMAGE], { DOCKER_HOST: `unix://${berth.sock}` });

function context(name: string, dockerfile: string, files: (dir: string) => void = () => undefined): string {
  const dir = `${work}/${name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/Dockerfile`, dockerfile);
  files(dir);
  return dir;
}

const smallFiles = (dir: string) => {
  for (let d = 0; d < 100; d++) {
    mkdirSync(`${dir}/files/d${d}`, { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(`${dir}/files/d${d}/f${f}`, `${d}-${f}-`.padEnd(100, 'x'));
  }
  writeFileSync(`${dir}/one.txt`, 'one\n');
};

const results: { label: string; times: Record<string, number[]> }[] = [];

/** Rounds interleaving the peers: `prepare` runs untimed before each build. */
function measure(label: string, dir: string, opts: { nocache?: boolean; prepare?: (round: number) => void } = {}) {
  const times: Record<string, number[]> = Object.fromEntries(peers.map((p) => [p.name, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + i) % peers.length];
      opts.prepare?.(i);
      const t0 = performance.now();
      if (p.build(dir, !!opts.nocache)) times[p.name].push((performance.now() - t0) / 1000);
      else console.log(`  ${p.name}: ${label} failed`);
    }
  }
  results.push({ label, times });
  const berthT = median(times.berth);
  console.log(`${label} (${ROUNDS} rounds, median s [min–max]):`);
  for (const [k, v] of Object.entries(times)) {
    if (!v.length) continue;
    console.log(`  ${k.padEnd(9)} ${median(v).toFixed(2).padStart(7)} ${range(v, 2)}${k === 'berth' ? '' : `  berth/${k} = ${(berthT / median(v)).toFixed(2)}`}`);
  }
}

/** Warms every peer's cache for a context (one untimed build each). */
const warm = (dir: string) => peers.forEach((p) => p.build(dir, false));

try {
  if (want('B1')) {
    const runs = Array.from({ length: 20 }, (_, i) => `RUN echo ${i} > /f${i}`).join('\n');
    const b1 = context('b1', `FROM ${IMAGE}\n${runs}\n`);
    measure('B1 20 RUN steps, no cache', b1, { nocache: true });
    warm(b1);
    measure('B1 20 RUN steps, cached', b1);
  }
  if (want('B2')) {
    const b2 = context('b2', `FROM ${IMAGE}\nCOPY files /files\nRUN ls -R /files | wc -l\n`, smallFiles);
    measure('B2 COPY 10,000 files + RUN, no cache', b2, { nocache: true });
  }
  if (want('B3')) {
    const b3 = context('b3', `FROM ${IMAGE} AS a\nRUN sleep 2 && echo a > /a\nFROM ${IMAGE} AS b\nRUN sleep 2 && echo b > /b\nFROM ${IMAGE} AS unused\nRUN sleep 2\nFROM ${IMAGE}\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n`);
    measure('B3 two independent stages + an unused one, no cache', b3, { nocache: true });
  }
  if (want('B4')) {
    const b4 = context('b4', `FROM ${IMAGE}\nCOPY files /files\nRUN ls -R /files | wc -l\nCOPY one.txt /one.txt\nRUN cat /one.txt\n`, smallFiles);
    warm(b4);
    measure('B4 10,000-file context, no change', b4);
    measure('B4 touch one file', b4, { prepare: (i) => utimesSync(`${b4}/files/d5/f5`, new Date(), new Date(Date.now() + (i + 1) * 1000)) });
    let n = 0;
    measure('B4 edit one of the 10,000 files', b4, { prepare: () => writeFileSync(`${b4}/files/d7/f7`, `edit ${n++}`) });
    measure('B4 edit the late-copied file', b4, { prepare: () => writeFileSync(`${b4}/one.txt`, `edit ${n++}`) });
  }
  if (want('B5')) {
    const meta = Array.from({ length: 10 }, (_, i) => `ENV E${i}=${i}\nRUN echo ${i} > /r${i}\nLABEL l${i}=${i}\nRUN echo ${i} > /s${i}`).join('\n');
    const b5 = context('b5', `FROM ${IMAGE}\n${meta}\n`);
    measure('B5 20 RUN with 10 ENV and 10 LABEL, no cache', b5, { nocache: true });
  }
  if (want('B6')) {
    const b6 = context('b6', `FROM ${IMAGE}\nRUN echo nothing copied\n`, (dir) => {
      mkdirSync(`${dir}/big`);
      for (let i = 0; i < 20; i++) writeFileSync(`${dir}/big/blob${i}`, Buffer.alloc(10 << 20, i));
    });
    warm(b6);
    measure('B6 200 MB context, nothing copied (cached)', b6);
  }
  if (want('M')) {
    // The engine's peak memory while it receives a context of 20, 100 and 400 MB and copies it
    // whole into a layer: flat in the context's size when nothing is held in memory. The peak is
    // the daemon's VmHWM, reset before each build (clear_refs 5).
    console.log('M engine memory by context size (context received and copied into a layer):');
    const peaks: number[] = [];
    for (const mb of [20, 100, 400]) {
      const dir = context(`m${mb}`, `FROM ${IMAGE}\nCOPY big /big\n`, (d) => {
        mkdirSync(`${d}/big`);
        for (let i = 0; i < mb / 10; i++) writeFileSync(`${d}/big/blob${i}`, Buffer.alloc(10 << 20, i + 1));
      });
      const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${berth.pid}/status`, 'utf8'))![1]) / 1024;
      writeFileSync(`/proc/${berth.pid}/clear_refs`, '5');
      const before = hwm();
      const t0 = performance.now();
      const ok = peers[0].build(dir, true);
      const peak = hwm();
      peaks.push(peak - before);
      console.log(`  ${String(mb).padStart(3)} MB context: peak RSS ${peak.toFixed(0)} MB, ${(peak - before).toFixed(0)} MB over the ${before.toFixed(0)} MB before it; ${((performance.now() - t0) / 1000).toFixed(2)} s${ok ? '' : ' (failed)'}`);
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`  growth with a 400 MB context / with a 20 MB one = ${(peaks[2] / peaks[0]).toFixed(2)}`);
  }
} finally {
  floorSink.kill();
  keepSink.kill();
  await berth.stop();
  if (dockerdProc) {
    const exited = new Promise((r) => dockerdProc!.once('exit', r));
    dockerdProc.kill('SIGTERM');
    await exited;
    spawnSync('ip', ['link', 'del', BRIDGE]);
    spawnSync('umount', ['-R', `${work}/dockerd-data`]);
    // Its cgroups, children first (a build step's may outlive its container), and its exec root.
    spawnSync('sh', ['-c', 'for d in /sys/fs/cgroup/*/berth-bench-dockerd; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; ; done; true']);
    rmSync(`/var/run/berth-bench-${process.pid}`, { recursive: true, force: true });
  }
  // Whatever is still mounted under the work directory (buildah's overlay storage), deepest first.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(`${work}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
}
