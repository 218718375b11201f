// Berth's builder against an image dockerd 20.10's classic builder made (a fixture, recorded by
// test/helpers/dockerdImages.ts): given it with --cache-from, every step comes from it, as
// dockerd matches by each step's history; built afresh, the history Berth writes is dockerd's
// word for word (COPY's source hashes, links followed, --chown, --from an image; the texts of
// ARG, ENV, LABEL, EXPOSE, VOLUME, HEALTHCHECK, ENTRYPOINT, CMD, SHELL, ONBUILD).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { DOCKERD_BUILT, DOCKERD_FIXTURE, DOCKERD_STAGE, writeDockerdContext } from '../helpers/dockerdImages.ts';

describe('builds beside images dockerd built', { timeout: 300_000 }, () => {
  let daemon: TestDaemon;
  let dir: string;
  const history = async (ref: string) => {
    const r = await daemon.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', ref]);
    assert.equal(r.code, 0, r.err);
    return r.out.split('\n');
  };
  const build = async (args: string[]) => {
    const r = await daemon.docker(['build', ...args, dir]);
    assert.equal(r.code, 0, r.out + r.err);
    return r.out;
  };

  before(async () => {
    daemon = await startDaemon();
    dir = mkdtempSync(`${tmpdir()}/berth-dockerd-ctx-`);
    writeDockerdContext(dir);
    const loaded = await daemon.docker(['load', '-i', DOCKERD_FIXTURE]);
    assert.equal(loaded.code, 0, loaded.err);
  });
  after(async () => {
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--cache-from a dockerd-built image: every step from it, by its history', async () => {
    const out = await build(['--cache-from', DOCKERD_STAGE, '--cache-from', DOCKERD_BUILT, '-t', 'fromdockerd']);
    // 24 steps, 2 of them FROM: the other 22 from the cache, no step run.
    assert.equal((out.match(/^ ---> Using cache$/gm) ?? []).length, 22, out);
    assert.doesNotMatch(out, /Running in/);
    assert.deepEqual(await history('fromdockerd'), await history(DOCKERD_BUILT));
    const layers = async (ref: string) => (await daemon.docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])).out;
    assert.equal(await layers('fromdockerd'), await layers(DOCKERD_BUILT));
    assert.equal((await daemon.docker(['run', '--rm', '--entrypoint', 'cat', 'fromdockerd', '/f'])).out, 'm\n');
    // Listing only the first stage: its 18 steps come from it, the last stage's 4 are built.
    const half = await build(['--cache-from', DOCKERD_STAGE, '-t', 'halfdockerd']);
    assert.equal((half.match(/^ ---> Using cache$/gm) ?? []).length, 18, half);
  });

  it('writes the history dockerd writes for the same Dockerfile and context', async () => {
    await build(['--no-cache', '-t', 'fresh-stage', '--target', 'build']);
    await build(['--no-cache', '-t', 'fresh']);
    assert.deepEqual(await history('fresh-stage'), await history(DOCKERD_STAGE));
    assert.deepEqual(await history('fresh'), await history(DOCKERD_BUILT));
  });
});
