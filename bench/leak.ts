// The leak check: CYCLES (1,000) create/start/stop/rm cycles of a busybox container on the
// default bridge through the Docker API, then what is left: mounts, cgroups, processes, veths,
// records, layers, run directories, the daemon's open descriptors and memory. Prints the
// figures every 100 cycles and the leftovers at the end (goal: none, and flat RSS and fds).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { busyboxTarball, HELPER } from '../test/helpers/testEngine.ts';
import { api, pidsOf, procUsage, startBerthDaemon } from './lib.ts';

const CYCLES = Number(process.env.CYCLES ?? 1000);
const PARENT = 'berth-bench-leak';
const d = await startBerthDaemon('leak', undefined, PARENT);

function snapshot() {
  const root = `${d.base}/root`;
  const ls = (p: string) => (existsSync(p) ? readdirSync(p) : []);
  const cgroups = readdirSync('/sys/fs/cgroup').flatMap((c) => ls(`/sys/fs/cgroup/${c}/${PARENT}`).filter((x) => /^[a-f0-9]{64}$/.test(x)).map((x) => `${c}/${x.slice(0, 12)}`));
  return {
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(d.base)).length,
    cgroups,
    shims: pidsOf(HELPER).length,
    veths: readdirSync('/sys/class/net').filter((x) => x.startsWith('veth')).length,
    records: ls(`${root}/containers`).length,
    layers: ls(`${root}/overlay`).length,
    runDirs: ls(`${d.base}/run`).filter((x) => /^[a-f0-9]{16}$/.test(x)).length,
    fds: readdirSync(`/proc/${d.pid}/fd`).length,
    rssMb: procUsage(d.pid).rssMb,
  };
}

async function cycle(): Promise<void> {
  const c = await api(d.sock, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '30'] });
  if (c.status !== 201) throw new Error(`create: ${JSON.stringify(c.body)}`);
  for (const [m, p, want] of [['POST', `/containers/${c.body.Id}/start`, 204], ['POST', `/containers/${c.body.Id}/stop?t=0`, 204], ['DELETE', `/containers/${c.body.Id}`, 204]] as const) {
    const r = await api(d.sock, m, p);
    if (r.status !== want) throw new Error(`${m} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

try {
  execFileSync('docker', ['import', busyboxTarball(), 'busybox:latest'], { env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` }, stdio: 'ignore' });
  for (let i = 0; i < 20; i++) await cycle(); // warm-up: caches, the bridge, the helper
  const before = snapshot();
  console.log(`leak check: ${CYCLES} create/start/stop/rm cycles`);
  console.log(`  before: ${JSON.stringify(before)}`);
  const t0 = performance.now();
  for (let i = 1; i <= CYCLES; i++) {
    await cycle();
    if (i % 100 === 0) {
      const s = snapshot();
      console.log(`  ${String(i).padStart(5)} cycles, ${((performance.now() - t0) / i).toFixed(0)} ms each: RSS ${s.rssMb.toFixed(1)} MB, ${s.fds} fds, ${s.mounts} mounts, ${s.cgroups.length} cgroups, ${s.shims} shims, ${s.veths} veths`);
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = snapshot();
  console.log(`  after:  ${JSON.stringify(after)}`);
  const left: string[] = [];
  for (const k of ['mounts', 'shims', 'veths', 'records', 'layers', 'runDirs', 'fds'] as const) if (after[k] > before[k]) left.push(`${k} +${after[k] - before[k]}`);
  if (after.cgroups.length) left.push(`cgroups ${after.cgroups.join(' ')}`);
  console.log(`leftovers after ${CYCLES} cycles: ${left.length ? left.join(', ') : 'none'}; daemon RSS ${before.rssMb.toFixed(1)} → ${after.rssMb.toFixed(1)} MB`);
} finally {
  await d.stop();
}
