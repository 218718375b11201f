// The outside half of rootless mode, without a namespace: where things live, one engine per
// user, the store's guards, and the docker context the CLI reads.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ensureDockerContext } from './dockerContext.ts';
import { checkStore, claimEngine, idMap, rootlessLayout, RootlessError, runningEngine } from './rootless.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(`${tmpdir()}/berth-rl-unit-`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('rootless layout', () => {
  it('follows the XDG directories, and falls back to a private cache directory without XDG_RUNTIME_DIR', () => {
    assert.deepEqual(rootlessLayout({ HOME: '/home/a', XDG_RUNTIME_DIR: '/run/user/1000' }), {
      dataRoot: '/home/a/.local/share/berth', runDir: '/run/user/1000/berth', dockerSocket: '/run/user/1000/berth/docker.sock',
      uiSocket: '/run/user/1000/berth/ui.sock', pauseFile: '/run/user/1000/berth/pause.pid', engineFile: '/run/user/1000/berth/engine.pid',
    });
    const l = rootlessLayout({ HOME: '/home/a', XDG_DATA_HOME: '/data' });
    assert.equal(l.dataRoot, '/data/berth');
    assert.equal(l.runDir, '/home/a/.cache/berth-run/berth');
    assert.equal(idMap(1000, { start: 100000, count: 65536 }), '0 1000 1 1 100000 65536');
  });

  it('lets one engine claim a user, names the running one to a second, and takes over a stale claim', async (t) => {
    const dir = tempDir(t);
    const layout = rootlessLayout({ HOME: dir, XDG_RUNTIME_DIR: dir });
    mkdirSync(layout.runDir);
    const release = claimEngine(layout);
    assert.equal(runningEngine(layout)?.pid, process.pid);
    assert.throws(() => claimEngine(layout), (e: Error) => e instanceof RootlessError && /already running for this user \(pid \d+, Docker API at unix:\/\//.test(e.message));
    release();
    assert.equal(existsSync(layout.engineFile), false);
    // A claim left by a process that is gone.
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(layout.engineFile, `${dead.pid} 12345\n`);
    assert.equal(runningEngine(layout), undefined);
    claimEngine(layout)();
  });

  it('never uses a store of another owner, and refuses one written with other subordinate ids', (t) => {
    const dir = tempDir(t);
    const layout = rootlessLayout({ HOME: dir, XDG_RUNTIME_DIR: dir });
    checkStore(layout, '0 1000 1 1 100000 65536', '0 1000 1 1 100000 65536');
    assert.deepEqual(JSON.parse(readFileSync(`${layout.dataRoot}/idmap.json`, 'utf8')), { uid: '0 1000 1 1 100000 65536', gid: '0 1000 1 1 100000 65536' });
    assert.throws(() => checkStore(layout, '0 1000 1 1 200000 65536', '0 1000 1 1 100000 65536'), /subordinate ids changed since .* was written .*`berth system reset`/);
    if (process.getuid?.() === 0) {
      const other = rootlessLayout({ HOME: `${dir}/o`, XDG_RUNTIME_DIR: dir });
      mkdirSync(other.dataRoot, { recursive: true });
      chownSync(other.dataRoot, 4242, 4242);
      assert.throws(() => checkStore(other, 'a', 'b'), /belongs to uid 4242, not to you .* never uses another user's or a root-mode store/);
    }
  });
});

describe('docker context', () => {
  it('registers "berth" where the docker CLI reads it, and repoints it when the socket moves', (t) => {
    const dir = tempDir(t);
    const env = { HOME: dir, DOCKER_CONFIG: `${dir}/.docker` };
    assert.equal(ensureDockerContext('/run/berth/docker.sock', env), true);
    assert.equal(ensureDockerContext('/run/berth/docker.sock', env), false);
    assert.equal(ensureDockerContext(`${dir}/docker.sock`, env), true);
    if (!existsSync('/usr/local/bin/docker')) return;
    const out = execFileSync('/usr/local/bin/docker', ['context', 'inspect', 'berth', '--format', '{{.Endpoints.docker.Host}}'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(out.trim(), `unix://${dir}/docker.sock`);
  });
});
