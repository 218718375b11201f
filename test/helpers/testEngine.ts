// A real engine in a temporary root, with a cgroup parent of its own, removed after the test.
import { execFileSync } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine, type EngineOptions } from '../../electron/engine/engine.ts';
import { buildBusyboxTar } from './busybox.ts';
import { sweepNetworks } from './netsweep.mjs';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const HELPER = `${REPO}/native/build/berth-helper`;
export const HELLO = `${REPO}/native/build/hello`;

export interface TestEngine {
  engine: Engine;
  root: string;
  runRoot: string;
  cgroupParent: string;
  reopen(): Promise<Engine>;
  dispose(): Promise<void>;
}

let busyboxTar: string | undefined;

export function busyboxTarball(): string {
  if (!busyboxTar || !existsSync(busyboxTar)) {
    const dir = mkdtempSync(`${tmpdir()}/bb-tar-`);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    busyboxTar = buildBusyboxTar(dir);
  }
  return busyboxTar;
}

export async function startTestEngine(opts: { busybox?: boolean; engine?: Partial<EngineOptions> } = {}): Promise<TestEngine> {
  const base = mkdtempSync(`${tmpdir()}/berth-t-`);
  chmodSync(base, 0o711); // a remapped container root must be able to reach its rootfs
  const root = `${base}/root`;
  const runRoot = `${base}/run`;
  const cgroupParent = `berth-test-${process.pid}-${base.slice(-6)}`;
  const make = () => createEngine({ root, runRoot, helperPath: HELPER, helloPath: HELLO, cgroupParent, authFile: `${base}/docker-config.json`,
    idFiles: { subuid: `${base}/subuid`, subgid: `${base}/subgid` }, ...opts.engine });
  const t: TestEngine = {
    engine: await make(),
    root,
    runRoot,
    cgroupParent,
    async reopen() {
      t.engine.close();
      t.engine = await make();
      return t.engine;
    },
    async dispose() {
      const e = t.engine;
      for (const c of e.containers.list(true)) await e.containers.remove(c.Id, { force: true }).catch(() => undefined);
      await e.networks.teardownAll().catch(() => undefined);
      e.volumes.unmountAll();
      e.close();
      sweepNetworks(root);
      // Belt and braces: shims we started, then mounts under our root.
      for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        const mp = line.split(' ')[4];
        if (mp?.startsWith(base)) {
          try {
            execFileSync('umount', ['-l', mp]);
          } catch {
            /* gone */
          }
        }
      }
      e.removeCgroupParent();
      rmSync(base, { recursive: true, force: true });
    },
  };
  if (opts.busybox !== false) {
    await t.engine.importImage(createReadStream(busyboxTarball()), { ref: 'busybox:latest', changes: { Cmd: ['sh'] } });
  }
  return t;
}
