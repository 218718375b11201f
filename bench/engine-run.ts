// Engine-level create+start+wait+remove of `true` in busybox, against raw `crun run` and
// `runc run` on the same rootfs when they are installed, in interleaved rounds; and the
// RSS of one idle shim. Prints medians and ratios.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startTestEngine } from '../test/helpers/testEngine.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 50);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ociBundle(runtime: string, tar: string): string {
  const dir = mkdtempSync(`${tmpdir()}/bench-${runtime}-`);
  mkdirSync(`${dir}/rootfs`);
  execFileSync('tar', ['-xf', tar, '-C', `${dir}/rootfs`]);
  execFileSync(runtime, ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
  spec.process.args = ['true'];
  spec.process.terminal = false;
  writeFileSync(`${dir}/config.json`, JSON.stringify(spec));
  return dir;
}

const t = await startTestEngine();
try {
  const { busyboxTarball } = await import('../test/helpers/testEngine.ts');
  const peers = ['crun', 'runc'].filter(which).map((rt) => ({ rt, dir: ociBundle(rt, busyboxTarball()) }));
  const times: Record<string, number[]> = { berth: [] };
  for (const p of peers) times[p.rt] = [];
  await t.engine.run({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }).then((r) => t.engine.containers.remove(r.id)); // warm the seccomp cache
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = performance.now();
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    const done = t.engine.wait(c.Id, 'next-exit');
    await t.engine.start(c.Id);
    await done;
    await t.engine.containers.remove(c.Id);
    times.berth.push(performance.now() - t0);
    for (const p of peers) {
      t0 = performance.now();
      const r = spawnSync(p.rt, ['run', '--bundle', p.dir, `bench-${process.pid}-${i}`], { stdio: 'ignore' });
      if (r.status === 0) times[p.rt].push(performance.now() - t0);
    }
  }
  console.log(`create+start+wait+remove of true, ${ROUNDS} interleaved rounds (median ms):`);
  for (const [k, v] of Object.entries(times)) {
    if (!v.length) continue;
    const ratio = k === 'berth' ? '' : `  berth/${k} = ${(median(times.berth) / median(v)).toFixed(2)}`;
    console.log(`  ${k.padEnd(6)} ${median(v).toFixed(2)} [${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}]${ratio}`);
  }
  if (!peers.length) console.log('  (crun and runc are not installed: ../shared/peers/setup.sh installs them)');

  const idle = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '60'] });
  await t.engine.start(idle.Id);
  const pid = t.engine.inspect(idle.Id).State.Pid;
  const shimPid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  const status = readFileSync(`/proc/${shimPid}/status`, 'utf8');
  const rss = (k: string) => /(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(k)) ?? '')?.[1];
  console.log(`idle shim: VmRSS ${rss('VmRSS')} kB (RssAnon ${rss('RssAnon')} kB, RssFile ${rss('RssFile')} kB)`);
  for (const p of peers) rmSync(p.dir, { recursive: true, force: true });
} finally {
  await t.dispose();
}
