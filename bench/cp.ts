// `docker cp` of a 10,000-file directory into and out of a running container, with the same
// docker CLI against Berth's API and against dockerd (and podman's Docker socket when it is
// running), interleaved. Each round copies into a fresh directory and out into a fresh one,
// and nothing is deleted until the end: this ext4 (mounted with discard) makes the next
// files' allocation seconds slower after large deletes, which would swamp the engines' own cost.
// BERTH_BASELINE=<checkout> adds that checkout's Berth (say a worktree of an earlier commit) to
// the rotation as 'baseline'.
// Needs ../shared/peers/setup.sh (dockerd, and the registry holding 127.0.0.1:5000/busybox).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { docker as run, dockerHosts, median, range, startBerthDaemon } from './lib.ts';

const IMAGE = process.env.BENCH_IMAGE ?? '127.0.0.1:5000/busybox';
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const FILES = Number(process.env.FILES ?? 10_000);

const work = mkdtempSync('/var/tmp/berth-bench-cp-');
const src = `${work}/tree`;
// 100 directories of 100 files of 1–4 KiB: the shape of a source tree or node_modules.
for (let d = 0; d < FILES / 100; d++) {
  mkdirSync(`${src}/d${d}`, { recursive: true });
  for (let f = 0; f < 100; f++) writeFileSync(`${src}/d${d}/f${f}.txt`, 'x'.repeat(1024 + ((d * 100 + f) % 3072)));
}

const berth = await startBerthDaemon('cp');
const baseline = process.env.BERTH_BASELINE ? await startBerthDaemon('cp-baseline', process.env.BERTH_BASELINE, 'berth-bench-baseline') : undefined;
const hosts = { ...dockerHosts(berth.sock), ...(baseline ? { baseline: `unix://${baseline.sock}` } : {}) };
const live = Object.entries(hosts).filter(([, h]) => run(h, ['pull', '-q', IMAGE]) !== null);
const names: Record<string, string> = {};
try {
  for (const [name, host] of live) {
    const id = run(host, ['run', '-d', '--label', 'berth-bench=1', IMAGE, 'sleep', '3600'])?.trim();
    if (id) names[name] = id;
  }
  const engines = live.filter(([k]) => names[k]);
  const times: Record<string, { in: number[]; out: number[] }> = Object.fromEntries(engines.map(([k]) => [k, { in: [], out: [] }]));
  for (let i = 0; i < ROUNDS; i++) {
    for (let k = 0; k < engines.length; k++) {
      const [name, host] = engines[(k + i) % engines.length];
      const c = names[name];
      const dst = `/tmp/in${i}`;
      let t0 = performance.now();
      if (run(host, ['cp', src, `${c}:${dst}`]) === null) throw new Error(`${name}: docker cp in failed`);
      times[name].in.push(performance.now() - t0);
      const out = `${work}/out-${name}-${i}`;
      t0 = performance.now();
      if (run(host, ['cp', `${c}:${dst}`, out]) === null) throw new Error(`${name}: docker cp out failed`);
      times[name].out.push(performance.now() - t0);
    }
  }
  for (const dir of ['in', 'out'] as const) {
    console.log(`docker cp ${dir === 'in' ? 'into' : 'out of'} a running container, ${FILES} files, ${ROUNDS} interleaved rounds, median ms [min–max]:`);
    for (const [k, v] of Object.entries(times)) {
      const ratio = k === 'berth' ? '' : `  berth/${k} = ${(median(times.berth[dir]) / median(v[dir])).toFixed(2)}`;
      console.log(`  ${k.padEnd(8)} ${median(v[dir]).toFixed(1).padStart(7)} ${range(v[dir])}${ratio}`);
    }
  }
} finally {
  for (const [name, host] of live) if (names[name]) run(host, ['rm', '-f', names[name]]);
  await berth.stop();
  await baseline?.stop();
  rmSync(work, { recursive: true, force: true });
}
