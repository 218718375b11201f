// Helpers for integration tests: run a command in a container and collect its output.
import type { ContainerCreateOptions } from '../../common/models.ts';
import type { Engine } from '../../electron/engine/engine.ts';

export async function logsOf(engine: Engine, id: string, stream?: 'stdout' | 'stderr'): Promise<string> {
  let out = '';
  for await (const l of engine.logs(id, { stdout: stream !== 'stderr', stderr: stream !== 'stdout' })) out += l.text;
  return out;
}

/** create + start + wait; returns stdout+stderr and the exit code, and removes the container. */
export async function sh(engine: Engine, script: string, extra: Partial<ContainerCreateOptions> = {}) {
  const { id, exitCode } = await engine.run({ Image: 'busybox', Cmd: ['sh', '-c', script], ...extra });
  const out = await logsOf(engine, id);
  const record = engine.inspect(id);
  await engine.containers.remove(id, { force: true });
  return { out, exitCode, record };
}

export { until } from '../../electron/testing/until.ts';
