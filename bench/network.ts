// Network figures, Berth against dockerd on the same machine (podman's Docker socket too when it
// runs), in interleaved rounds:
//  - create+start latency through the Docker API with `--network none`, the default bridge and a
//    user network, and what each network adds over `none`;
//  - TCP throughput container → container on one user bridge, host → container through a port
//    published on 127.0.0.1 (userland proxy on both engines), and host → container's bridge IP.
// Throughput uses bench/tools/tcpbench.c, built static and bind-mounted into busybox.
// Needs ../shared/peers/setup.sh (dockerd, and the registry holding 127.0.0.1:5000/busybox).
import { execFileSync, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { REPO } from '../test/helpers/testEngine.ts';
import { docker, dockerHosts, median, range, startBerthDaemon } from './lib.ts';

const IMAGE = process.env.BENCH_IMAGE ?? '127.0.0.1:5000/busybox';
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const TP_ROUNDS = Number(process.env.TP_ROUNDS ?? 5);
const MIB = Number(process.env.TP_MIB ?? 1024);
const NET = 'berth-bench-net';

const berth = await startBerthDaemon('net');
const tool = `${berth.base}/tcpbench`;
execFileSync('cc', ['-O2', '-static', '-o', tool, `${REPO}/bench/tools/tcpbench.c`]);
const live = Object.entries(dockerHosts(berth.sock)).filter(([, h]) => docker(h, ['pull', '-q', IMAGE]) !== null);

function api(host: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: host.replace('unix://', ''), method, path, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject).end(data);
  });
}

function report(label: string, unit: string, times: Record<string, number[]>, higherIsBetter: boolean) {
  console.log(`${label}, median ${unit} [min–max]:`);
  for (const [k, all] of Object.entries(times)) {
    const v = all.filter((x) => !Number.isNaN(x));
    if (v.length < all.length) console.log(`  ${k}: ${all.length - v.length} transfer(s) failed`);
    if (!v.length) continue;
    const ratio = k === 'berth' || !times.berth.length ? '' : `  berth/${k} = ${(median(times.berth) / median(v)).toFixed(2)}${higherIsBetter ? ' (higher is better)' : ''}`;
    console.log(`  ${k.padEnd(8)} ${median(v).toFixed(1).padStart(8)} ${range(v)}${ratio}`);
  }
}

async function latency() {
  const modes = ['none', 'bridge', NET];
  const times: Record<string, number[]> = {};
  for (const [name] of live) for (const m of modes) times[`${name} ${m}`] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (let k = 0; k < live.length; k++) {
      const [name, host] = live[(k + i) % live.length];
      for (const mode of modes) {
        const t0 = performance.now();
        const c = await api(host, 'POST', '/containers/create', { Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: mode } });
        const id = c.json.Id as string;
        const s = await api(host, 'POST', `/containers/${id}/start`);
        if (s.status === 204) times[`${name} ${mode}`].push(performance.now() - t0);
        await api(host, 'POST', `/containers/${id}/wait`);
        await api(host, 'DELETE', `/containers/${id}?force=1`);
      }
    }
  }
  console.log(`create+start through the Docker API (POST create, POST start), ${ROUNDS} interleaved rounds, median ms [min–max]:`);
  for (const [name] of live) {
    const none = median(times[`${name} none`]);
    const line = modes.map((m) => `${m === NET ? 'user network' : m} ${median(times[`${name} ${m}`]).toFixed(1)}${m === 'none' ? '' : ` (+${(median(times[`${name} ${m}`]) - none).toFixed(1)})`}`);
    console.log(`  ${name.padEnd(8)} ${line.join(', ')}`);
  }
  if (live.length > 1) {
    const added = (n: string, m: string) => median(times[`${n} ${m}`]) - median(times[`${n} none`]);
    for (const [name] of live.slice(1)) console.log(`  added by a user network: berth ${added('berth', NET).toFixed(1)} ms, ${name} ${added(name, NET).toFixed(1)} ms; total with a user network berth/${name} = ${(median(times[`berth ${NET}`]) / median(times[`${name} ${NET}`])).toFixed(2)}`);
  }
}

const send = (out: string | null) => (out ? Number(out.trim().split(' ')[2]) : NaN);
const hostSend = (ip: string, port: string) => {
  const r = spawnSync(tool, ['send', ip, port, String(MIB)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
};

async function throughput() {
  const c2c: Record<string, number[]> = {};
  const proxied: Record<string, number[]> = {};
  const direct: Record<string, number[]> = {};
  const servers: Record<string, { ip: string; port: string; bridgeIp: string }> = {};
  const mount = ['-v', `${tool}:/tcpbench:ro`];
  for (const [name, host] of live) {
    c2c[name] = [];
    proxied[name] = [];
    direct[name] = [];
    docker(host, ['run', '-d', '--name', 'berth-bench-recv', '--network', NET, ...mount, IMAGE, '/tcpbench', 'recv', '5001']);
    docker(host, ['run', '-d', '--name', 'berth-bench-pub', '-p', '127.0.0.1::5001', ...mount, IMAGE, '/tcpbench', 'recv', '5001']);
    const ip = docker(host, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, 'berth-bench-recv'])!.trim();
    const bridgeIp = docker(host, ['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'berth-bench-pub'])!.trim();
    const port = docker(host, ['port', 'berth-bench-pub', '5001/tcp'])!.trim().split('\n')[0].split(':').pop()!;
    servers[name] = { ip, port, bridgeIp };
  }
  for (let i = 0; i < TP_ROUNDS; i++) {
    for (let k = 0; k < live.length; k++) {
      const [name, host] = live[(k + i) % live.length];
      const s = servers[name];
      c2c[name].push(send(docker(host, ['run', '--rm', '--network', NET, ...mount, IMAGE, '/tcpbench', 'send', s.ip, '5001', String(MIB)])));
      proxied[name].push(send(hostSend('127.0.0.1', s.port)));
      direct[name].push(send(hostSend(s.bridgeIp, '5001')));
    }
  }
  const label = `${MIB} MiB per transfer, ${TP_ROUNDS} interleaved rounds`;
  report(`TCP container → container on one user bridge, ${label}`, 'MiB/s', c2c, true);
  report(`TCP host → published port on 127.0.0.1 (userland proxy), ${label}`, 'MiB/s', proxied, true);
  report(`TCP host → container's default-bridge IP (no proxy), ${label}`, 'MiB/s', direct, true);
}

try {
  for (const [, host] of live) docker(host, ['network', 'create', NET]);
  await latency();
  await throughput();
} finally {
  for (const [, host] of live) {
    docker(host, ['rm', '-f', 'berth-bench-recv', 'berth-bench-pub']);
    docker(host, ['network', 'rm', NET]);
  }
  await berth.stop();
}
