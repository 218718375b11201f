// The same docker CLI against Berth's API and against dockerd (and podman's Docker socket when it
// is running), interleaved: `docker run --rm busybox true`, and `docker ps -a` with 200 containers;
// then the idle memory of each engine with 0 and with 50 running containers (daemon, its helper
// daemons such as containerd, and the per-container shims; RSS and PSS summed).
// Needs ../shared/peers/setup.sh (dockerd, and the registry holding 127.0.0.1:5000/busybox).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { docker as run, dockerHosts, median, range, startBerthDaemon } from './lib.ts';

const IMAGE = process.env.BENCH_IMAGE ?? '127.0.0.1:5000/busybox';
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const berth = await startBerthDaemon('api');
const docker = (host: string, args: string[]) => run(host, args) !== null;
const live = Object.entries(dockerHosts(berth.sock)).filter(([, h]) => docker(h, ['pull', '-q', IMAGE]));

function measure(label: string, args: string[]) {
  const times: Record<string, number[]> = Object.fromEntries(live.map(([k]) => [k, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (let k = 0; k < live.length; k++) {
      const [name, host] = live[(k + i) % live.length];
      const t0 = performance.now();
      if (docker(host, args)) times[name].push(performance.now() - t0);
    }
  }
  console.log(`${label}, ${ROUNDS} interleaved rounds, median ms [min–max]:`);
  for (const [k, v] of Object.entries(times)) {
    if (!v.length) continue;
    console.log(`  ${k.padEnd(8)} ${median(v).toFixed(1).padStart(7)} ${range(v)}${k === 'berth' ? '' : `  berth/${k} = ${(median(times.berth) / median(v)).toFixed(2)}`}`);
  }
}

function kib(pid: number, field: 'Rss' | 'Pss'): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const children = (pid: number) => {
  const f = `/proc/${pid}/task/${pid}/children`;
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
};

/** The engine's processes: the daemon and its children (containerd), plus each container's shim. */
function engineProcesses(name: string, host: string): number[] {
  const daemonPid = name === 'berth' ? berth.pid : name === 'dockerd' ? Number(readFileSync('/var/run/docker.pid', 'utf8')) : 0;
  if (!daemonPid) return [];
  const pids = new Set([daemonPid, ...children(daemonPid).filter((c) => !/^(docker|podman)$/.test(readFileSync(`/proc/${c}/comm`, 'utf8').trim()))]);
  const running = (run(host, ['ps', '-q']) ?? '').split('\n').filter(Boolean);
  if (running.length) {
    for (const p of (run(host, ['inspect', '-f', '{{.State.Pid}}', ...running]) ?? '').split('\n').filter(Boolean).map(Number)) if (p > 0) pids.add(ppid(p));
  }
  return [...pids];
}

function memory(label: string) {
  console.log(`idle memory ${label} (daemon + helpers + shims), MiB:`);
  const rows: Record<string, { rss: number; pss: number; n: number }> = {};
  for (const [name, host] of live) {
    const pids = engineProcesses(name, host);
    if (!pids.length) continue;
    rows[name] = { rss: pids.reduce((s, p) => s + kib(p, 'Rss'), 0) / 1024, pss: pids.reduce((s, p) => s + kib(p, 'Pss'), 0) / 1024, n: pids.length };
  }
  for (const [k, v] of Object.entries(rows)) {
    const ratio = k === 'berth' || !rows.berth ? '' : `  berth/${k} RSS = ${(rows.berth.rss / v.rss).toFixed(2)}, PSS = ${(rows.berth.pss / v.pss).toFixed(2)}`;
    console.log(`  ${k.padEnd(8)} RSS ${v.rss.toFixed(1).padStart(7)}  PSS ${v.pss.toFixed(1).padStart(7)}  (${v.n} processes)${ratio}`);
  }
}

try {
  await new Promise((r) => setTimeout(r, 3000));
  memory('with 0 containers');
  for (const [, host] of live) for (let i = 0; i < 50; i++) docker(host, ['run', '-d', '--label', 'berth-bench=1', IMAGE, 'sleep', '3600']);
  await new Promise((r) => setTimeout(r, 5000));
  memory('with 50 running containers');
  for (const [, host] of live) spawnSync('sh', ['-c', `docker ps -aq --filter label=berth-bench=1 | xargs -r docker rm -f`], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' });
  measure(`docker run --rm ${IMAGE} true`, ['run', '--rm', IMAGE, 'true']);
  for (const [, host] of live) for (let i = 0; i < 200; i++) docker(host, ['create', '--label', 'berth-bench=1', IMAGE, 'true']);
  measure('docker ps -a with 200 containers', ['ps', '-a']);
} finally {
  for (const [, host] of live) spawnSync('sh', ['-c', `docker ps -aq --filter label=berth-bench=1 | xargs -r docker rm -f`], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' });
  await berth.stop();
}
