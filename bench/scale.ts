// Many containers at once, side by side with a private dockerd 20.10 in one interleaved run:
// N containers (busybox `sleep`, default bridge) created and started concurrently over the API,
// the engine's memory with them running, N streaming stats requests and the CPU the engine
// spends on them, then all N removed concurrently. "daemon" is Berth's daemon or dockerd alone;
// "all" adds what each needs per container (Berth's helper and shims; dockerd's containerd and
// shims). Env: N (200), ROUNDS (2), STATS_S (15).
import { startDockerd } from '../test/helpers/dockerd.ts';
import { busyboxTarball, HELPER } from '../test/helpers/testEngine.ts';
import { api, median, pidsOf, procUsage, startBerthDaemon } from './lib.ts';
import { readdirSync, readFileSync } from 'node:fs';

const N = Number(process.env.N ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const STATS_S = Number(process.env.STATS_S ?? 15);

interface Peer {
  name: string;
  sock: string;
  daemon: number;
  all(): number[];
}

const berth = await startBerthDaemon('scale');
const dockerd = await startDockerd();
const cmdlineHas = (needle: string) => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
  try {
    return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}).map(Number);
const peers: Peer[] = [
  { name: 'berth', sock: berth.sock, daemon: berth.pid, all: () => [berth.pid, ...pidsOf(HELPER)] },
  { name: 'dockerd', sock: dockerd.sock, daemon: dockerd.pid, all: () => [dockerd.pid, ...cmdlineHas(dockerd.exec)] },
];
const sum = (pids: number[], f: (u: { cpu: number; rssMb: number }) => number) => pids.reduce((a, p) => a + f(procUsage(p)), 0);

async function startAll(p: Peer): Promise<string[]> {
  return Promise.all(Array.from({ length: N }, async () => {
    const c = await api(p.sock, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '3600'] });
    if (c.status !== 201) throw new Error(`${p.name} create: ${JSON.stringify(c.body)}`);
    const s = await api(p.sock, 'POST', `/containers/${c.body.Id}/start`);
    if (s.status !== 204) throw new Error(`${p.name} start: ${JSON.stringify(s.body)}`);
    return c.body.Id!;
  }));
}

/** N streaming stats requests for STATS_S seconds: CPU seconds per second of the daemon and of all. */
async function statsCpu(p: Peer, ids: string[]): Promise<{ daemon: number; all: number; samples: number }> {
  const http = await import('node:http');
  let samples = 0;
  const reqs = ids.map((id) => {
    const req = http.request({ socketPath: p.sock, path: `/containers/${id}/stats?stream=1`, agent: false }, (res) => res.on('data', (d: Buffer) => (samples += d.toString().split('\n').filter(Boolean).length)));
    req.on('error', () => undefined);
    req.end();
    return req;
  });
  await new Promise((r) => setTimeout(r, 3000));
  const pids = p.all();
  const [d0, a0, s0, t0] = [procUsage(p.daemon).cpu, sum(pids, (u) => u.cpu), samples, Date.now()];
  await new Promise((r) => setTimeout(r, STATS_S * 1000));
  const secs = (Date.now() - t0) / 1000;
  const out = { daemon: (procUsage(p.daemon).cpu - d0) / secs, all: (sum(pids, (u) => u.cpu) - a0) / secs, samples: (samples - s0) / secs };
  for (const r of reqs) r.destroy();
  await new Promise((r) => setTimeout(r, 1000));
  return out;
}

const rows: Record<string, { start: number[]; rm: number[]; rss: number[]; rssAll: number[]; idleRss: number[]; stats?: { daemon: number; all: number; samples: number } }> = {};
try {
  for (const p of peers) {
    const cli = p.name === 'berth' ? berth.sock : dockerd.sock;
    const { execFileSync } = await import('node:child_process');
    execFileSync('docker', ['import', busyboxTarball(), 'busybox:latest'], { env: { ...process.env, DOCKER_HOST: `unix://${cli}` }, stdio: 'ignore' });
    rows[p.name] = { start: [], rm: [], rss: [], rssAll: [], idleRss: [] };
  }
  console.log(`${N} containers started concurrently, then removed; ${ROUNDS} rounds, interleaved`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of round % 2 ? [...peers].reverse() : peers) {
      const row = rows[p.name];
      row.idleRss.push(procUsage(p.daemon).rssMb);
      let t = performance.now();
      const ids = await startAll(p);
      row.start.push((performance.now() - t) / 1000);
      await new Promise((r) => setTimeout(r, 2000));
      row.rss.push(procUsage(p.daemon).rssMb);
      row.rssAll.push(sum(p.all(), (u) => u.rssMb));
      if (round === 0) row.stats = await statsCpu(p, ids);
      t = performance.now();
      const gone = await Promise.all(ids.map((id) => api(p.sock, 'DELETE', `/containers/${id}?force=1`)));
      row.rm.push((performance.now() - t) / 1000);
      const bad = gone.filter((g) => g.status !== 204);
      if (bad.length) throw new Error(`${p.name} rm: ${JSON.stringify(bad[0].body)}`);
      console.log(`  round ${round + 1} ${p.name.padEnd(8)} start ${row.start.at(-1)!.toFixed(1)} s, rm ${row.rm.at(-1)!.toFixed(1)} s, daemon RSS ${row.rss.at(-1)!.toFixed(0)} MB (all ${row.rssAll.at(-1)!.toFixed(0)} MB)`);
    }
  }
  const b = rows.berth;
  const dk = rows.dockerd;
  const line = (label: string, x: number, y: number, unit: string, digits = 1) => console.log(`${label.padEnd(44)} ${x.toFixed(digits).padStart(8)} ${y.toFixed(digits).padStart(8)} ${unit.padEnd(4)} ${(x / y).toFixed(2)}x`);
  console.log(`\n${''.padEnd(44)} ${'berth'.padStart(8)} ${'dockerd'.padStart(8)}      berth/dockerd (medians)`);
  line(`start ${N} concurrently`, median(b.start), median(dk.start), 's');
  line(`remove ${N} concurrently (rm -f)`, median(b.rm), median(dk.rm), 's');
  line('daemon RSS, idle', median(b.idleRss), median(dk.idleRss), 'MB', 0);
  line(`daemon RSS with ${N} running`, median(b.rss), median(dk.rss), 'MB', 0);
  line(`all processes' RSS with ${N} running`, median(b.rssAll), median(dk.rssAll), 'MB', 0);
  line(`${N} stats streams: daemon CPU`, b.stats!.daemon * 100, dk.stats!.daemon * 100, '%');
  line(`${N} stats streams: all processes' CPU`, b.stats!.all * 100, dk.stats!.all * 100, '%');
  line(`${N} stats streams: samples per second`, b.stats!.samples, dk.stats!.samples, '/s');
} finally {
  await berth.stop();
  await dockerd.stop();
}
