// Network figures of Berth's engine: the create+start latency a network adds over
// `--network none`, on the default bridge and on a user network. Throughput figures and
// dockerd's side of the ratios are not measured here yet.
import { startTestEngine } from '../test/helpers/testEngine.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const t = await startTestEngine();
const e = t.engine;
try {
  e.networks.create({ Name: 'bench-net' });
  const lat: Record<string, number[]> = { none: [], bridge: [], 'bench-net': [] };
  for (let i = 0; i < 15; i++) {
    for (const mode of Object.keys(lat)) {
      const t0 = performance.now();
      const c = await e.containers.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: mode } });
      await e.containers.start(c.Id);
      lat[mode].push(performance.now() - t0);
      await e.containers.wait(c.Id);
      await e.containers.remove(c.Id, { force: true });
    }
  }
  const none = median(lat.none);
  console.log(`create+start median: none ${none.toFixed(1)} ms, default bridge ${median(lat.bridge).toFixed(1)} ms (+${(median(lat.bridge) - none).toFixed(1)}), user network ${median(lat['bench-net']).toFixed(1)} ms (+${(median(lat['bench-net']) - none).toFixed(1)})`);

  await e.networks.remove('bench-net');
} finally {
  await t.dispose();
}
