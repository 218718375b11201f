// One daemon per root and per socket: a second `berth daemon` is refused before it makes
// anything, naming the running one, and the first keeps serving; a claim left by a killed
// daemon is taken over.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { REPO } from '../helpers/testEngine.ts';

describe('one berth daemon per root', { timeout: 120_000 }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    await d?.stop();
  });

  const second = (root: string, socket: string) => spawnSync(process.execPath, [`${REPO}/bin/berth.mjs`, 'daemon', '--root', root, '--run', `${d.base}/run2`,
    '--socket', socket, '--cgroup-parent', `berth-test-lock-${process.pid}`], { encoding: 'utf8', timeout: 60_000 });

  it('a second daemon on the same root exits 1 naming the first, and its socket is never made', async () => {
    const claim = JSON.parse(readFileSync(`${d.base}/root/daemon.pid`, 'utf8'));
    assert.equal(claim.pid, d.proc.pid);
    const r = second(`${d.base}/root`, `${d.base}/other.sock`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`another berth daemon \\(pid ${d.proc.pid}\\) is using ${d.base}/root, with its Docker API at unix://${d.sock}: use that one, or stop it first`));
    assert.equal(existsSync(`${d.base}/other.sock`), false);
    assert.equal((await d.docker(['version', '-f', '{{.Server.Os}}'])).out, 'linux\n', 'the first still serves');
  });

  it('a daemon on another root is refused a socket another engine answers on, before it makes anything', async () => {
    const r = second(`${d.base}/root2`, d.sock);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`another engine is listening on ${d.sock}: stop it, or give this daemon another --socket`));
    assert.equal(existsSync(`${d.base}/root2`), false, 'nothing of the second engine was made');
    assert.equal((await d.docker(['version', '-f', '{{.Server.Os}}'])).out, 'linux\n');
    rmSync(`${d.base}/run2`, { recursive: true, force: true });
  });

  it('the claim and socket of a SIGKILLed daemon are taken over by the next one', async () => {
    await d.restart(async () => undefined); // a clean stop gives up the claim
    process.kill(d.proc.pid!, 'SIGKILL');
    await new Promise((r) => d.proc.once('exit', r));
    assert.equal(existsSync(`${d.base}/root/daemon.pid`), true, 'the killed daemon left its claim');
    await d.restart();
    assert.equal(JSON.parse(readFileSync(`${d.base}/root/daemon.pid`, 'utf8')).pid, d.proc.pid);
    assert.equal((await d.docker(['version', '-f', '{{.Server.Os}}'])).out, 'linux\n');
  });
});
