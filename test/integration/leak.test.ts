// 200 create/start/stop/remove cycles leave no mount, cgroup, process or file behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { detectLayout } from '../../electron/engine/cgroups/layout.ts';
import { HELPER, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

function helperProcesses(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(`${HELPER}\0shim`);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('no leaks', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('200 create/start/stop/remove cycles leave nothing behind', async () => {
    const shimsBefore = helperProcesses();
    for (let i = 0; i < 200; i++) {
      const c = await t.engine.create({ Image: 'busybox', Cmd: i % 2 ? ['true'] : ['sleep', '10'] });
      await t.engine.start(c.Id);
      if (i % 2 === 0) await t.engine.containers.stop(c.Id, { timeout: 0 });
      else await t.engine.wait(c.Id);
      await t.engine.containers.remove(c.Id);
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(t.root));
    assert.deepEqual(mounts, []);
    const layout = detectLayout();
    for (const mount of new Set([...layout.v1.values(), ...(layout.unified ? [layout.unified] : [])])) {
      const dir = `${mount}/${t.cgroupParent}`;
      const children = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()) : [];
      assert.deepEqual(children.map((d) => d.name), [], `cgroups under ${dir}`);
    }
    assert.deepEqual(helperProcesses().filter((p) => !shimsBefore.includes(p)), []);
    assert.deepEqual(readdirSync(`${t.root}/containers`), []);
    assert.deepEqual(readdirSync(`${t.root}/overlay`), []);
    assert.deepEqual(readdirSync(t.runRoot), []);
    const zombies = execFileSync('ps', ['-eo', 'stat,comm'], { encoding: 'utf8' }).split('\n').filter((l) => /^Z.*(sleep|true)/.test(l));
    assert.deepEqual(zombies, []);
  });
});
