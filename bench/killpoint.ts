// The kill-point matrix: for each operation, KILLS SIGKILLs of the daemon at random points
// (seeded), a restart, and the consistency check of test/helpers/killpoint.ts; then every
// container is removed and what is left is counted. Prints operations × kills and orphans.
import { startDaemon } from '../test/helpers/daemon.ts';
import { bridgePrefix, checkConsistency, leftovers, mulberry32, removeTestBridges } from '../test/helpers/killpoint.ts';
import { busyboxTarball } from '../test/helpers/testEngine.ts';
import { startRegistry, uploadImage } from '../test/helpers/registry.ts';
import { randomBytes } from 'node:crypto';
import { buildTar } from '../electron/engine/images/tarWriter.ts';

const KILLS = Number(process.env.KILLS ?? 20);
const d = await startDaemon();
// A registry on loopback with a 24 MiB image of three incompressible layers, for kills mid-pull.
const reg = await startRegistry();
const layers = [0, 1, 2].map((i) => buildTar([{ name: `l${i}`, type: 'file', mode: 0o644, data: randomBytes(8 << 20) }]));
await uploadImage(reg, 'kp/big', 'v1', layers);
const bigRef = `${reg.host}/kp/big:v1`;
const random = mulberry32(Number(process.env.SEED ?? 1));
let n = 0;
const ops: Record<string, (name: string) => Promise<unknown>> = {
  create: (c) => d.docker(['create', '--name', c, 'busybox', 'sleep', '300']),
  run: (c) => d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '300']),
  start: async (c) => {
    await d.docker(['create', '--name', c, 'busybox', 'sleep', '300']);
    return d.docker(['start', c]);
  },
  stop: async (c) => {
    await d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '300']);
    return d.docker(['stop', '-t', '0', c]);
  },
  restart: async (c) => {
    await d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '300']);
    return d.docker(['restart', '-t', '0', c]);
  },
  'rm -f': async (c) => {
    await d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '300']);
    return d.docker(['rm', '-f', c]);
  },
  'network create': (c) => d.docker(['network', 'create', '-o', `com.docker.network.bridge.name=${bridgePrefix(d)}${c.slice(2)}`, c]),
  'network rm': async (c) => {
    await d.docker(['network', 'create', '-o', `com.docker.network.bridge.name=${bridgePrefix(d)}${c.slice(2)}`, c]);
    return d.docker(['network', 'rm', c]);
  },
  'volume create/rm': async (c) => {
    await d.docker(['volume', 'create', c]);
    return d.docker(['volume', 'rm', c]);
  },
  pull: async () => {
    await d.docker(['rmi', bigRef]);
    return d.docker(['pull', bigRef]);
  },
  exec: async (c) => {
    await d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '300']);
    return d.docker(['exec', c, 'true']);
  },
};
try {
  await d.docker(['import', busyboxTarball(), 'busybox:latest']);
  console.log(`kill-point matrix, ${KILLS} kills per operation:`);
  let total = 0;
  for (const [name, op] of Object.entries(ops)) {
    let problems = 0;
    for (let i = 0; i < KILLS; i++) {
      const done = op(`kp${n++}`);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 300)));
      process.kill(d.proc.pid!, 'SIGKILL');
      await done;
      await d.restart();
      const found = await checkConsistency(d);
      if (name === 'pull') {
        // Whole or absent: a listed image has every layer (save reads them all), and a pull again works.
        const listed = (await d.docker(['images', '-q', bigRef])).out.trim();
        if (listed && (await d.docker(['save', '-o', `${d.base}/save.tar`, bigRef])).code !== 0) found.push(`pull: ${bigRef} is listed but cannot be saved`);
        if ((await d.docker(['pull', bigRef])).code !== 0) found.push(`pull: ${bigRef} cannot be pulled after the kill`);
      }
      problems += found.length;
      for (const p of found) console.log(`  ${name}: ${p}`);
    }
    total += problems;
    console.log(`  ${name.padEnd(18)} ${KILLS} kills, ${problems} orphans or half objects`);
  }
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).out.split('\n').filter(Boolean);
  if (ids.length) await d.docker(['rm', '-f', ...ids]);
  const left = leftovers(d, ids);
  console.log(`after removing all ${ids.length} containers: ${left.length} leftovers${left.length ? `: ${left.join(', ')}` : ''}; total ${total}`);
  const nets = (await d.docker(['network', 'ls', '-q', '--filter', 'name=kp'])).out.split('\n').filter(Boolean);
  if (nets.length) await d.docker(['network', 'rm', ...nets]);
  const after = await checkConsistency(d);
  console.log(`after removing all ${nets.length} networks: ${after.length} problems${after.length ? `: ${after.join(', ')}` : ''}`);
} finally {
  await d.stop();
  removeTestBridges(d);
  await reg.stop();
}
