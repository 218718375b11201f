// The same docker CLI against Berth's API and against dockerd (and podman's Docker socket when it
// is running), interleaved: `docker run --rm busybox true`, and `docker ps -a` with 200 containers.
// Needs ../shared/peers/setup.sh (dockerd, and the registry holding 127.0.0.1:5000/busybox).
import { spawnSync } from 'node:child_process';
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

try {
  measure(`docker run --rm ${IMAGE} true`, ['run', '--rm', IMAGE, 'true']);
  for (const [, host] of live) for (let i = 0; i < 200; i++) docker(host, ['create', '--label', 'berth-bench=1', IMAGE, 'true']);
  measure('docker ps -a with 200 containers', ['ps', '-a']);
} finally {
  for (const [, host] of live) spawnSync('sh', ['-c', `docker ps -aq --filter label=berth-bench=1 | xargs -r docker rm -f`], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' });
  await berth.stop();
}
