// `docker cp`, export, diff and the volume browser against a container that attacks them: a
// static program inside it swaps directories with symlinks to host directories
// (renameat2 RENAME_EXCHANGE) in a loop while the host copies into and out of those
// directories, through the Docker API and through the engine calls the app makes. Nothing may
// be read from the host or written to it. RACE_PEER_SOCKET=/var/run/docker.sock also runs the
// API part against another engine's socket (a dockerd with 127.0.0.1:5000/busybox).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../../electron/api/server.ts';
import { buildTar } from '../../electron/engine/images/tarWriter.ts';
import { TarParser, type TarHeader } from '../../electron/engine/images/tar/tarParser.ts';
import { REPO, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';
import { until } from '../helpers/run.ts';
import { backendOf } from '../../electron/engine/index.ts';
import { HOSTILE_CASES, RACE_CASES } from '../fixtures/hostileTars.ts';

const ROUNDS = 200;
const PEER = process.env.RACE_PEER_SOCKET;

/** Names and file contents of a tar, through the engine's own parser; as far as it goes when it was cut short. */
function readTar(buf: Buffer): { names: string[]; text: string; truncated: boolean } {
  const names: string[] = [];
  let text = '';
  const p = new TarParser({
    entry: (h: TarHeader) => names.push(`${h.name}${h.type === 'symlink' ? ` -> ${h.linkname}` : ''}`),
    data: (c: Buffer) => (text += c.toString('latin1')),
    entryEnd: () => undefined,
  });
  try {
    p.push(buf);
    p.end();
    return { names, text, truncated: false };
  } catch {
    // An engine that fails after it has sent its headers ends the stream early.
    return { names, text: text + buf.toString('latin1'), truncated: true };
  }
}

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

let lastError = '';

function http(sock: string, method: string, path: string, body?: Buffer, type = 'application/x-tar'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time: a kept-alive one can be closed by the server's idle timeout just as it is reused.
    const req = request({ socketPath: sock, method, path, agent: false, headers: body ? { 'content-type': type } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        if (res.statusCode! >= 300) lastError = Buffer.concat(parts).toString();
        resolve({ status: res.statusCode!, body: Buffer.concat(parts) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('docker cp and friends against a container racing symlinks at the host', { timeout: 600_000 }, () => {
  let base: string;
  let secretDir: string;
  let targetDir: string;
  let secret: string;
  let hostOnly: string;
  let t: TestEngine;
  let api: ApiServer;
  let sock: string;
  let id: string;
  let peerId: string | undefined;

  // The container's side: a directory and a symlink at a host directory, swapped in a loop.
  // r/: copies out and reads (the symlink points at the secret); w/: copies in (it points at
  // the target that must stay empty); /vol: the same inside a named volume.
  const script = (h: string, w: string) => [
    'mkdir -p /race/r/dir /race/w/dir /vol/dir',
    'echo inside > /race/r/dir/payload', 'echo inside > /vol/dir/payload',
    `ln -s ${h} /race/r/link`, `ln -s ${w} /race/w/link`, `ln -s ${h} /vol/link`,
    'exec /swapper /race/r/dir /race/r/link /race/w/dir /race/w/link /vol/dir /vol/link',
  ].join(' && ');

  before(async () => {
    base = mkdtempSync('/tmp/berth-race-');
    secretDir = `${base}/host-secret`;
    targetDir = `${base}/host-target`;
    secret = `host-secret-${randomBytes(8).toString('hex')}`;
    hostOnly = `host-only-${randomBytes(8).toString('hex')}`;
    mkdirSync(secretDir);
    mkdirSync(targetDir);
    writeFileSync(`${secretDir}/payload`, `${secret}\n`);
    writeFileSync(`${secretDir}/${hostOnly}`, `${secret}\n`);
    execFileSync('cc', ['-static', '-O2', '-o', `${base}/swapper`, `${REPO}/test/fixtures/swapper.c`]);
    t = await startTestEngine();
    sock = `${base}/docker.sock`;
    api = await startApiServer(backendOf(t.engine), sock);
    t.engine.volumes.create({ Name: 'race-vol' });
    const r = await t.engine.create({
      Image: 'busybox', Cmd: ['sh', '-c', script(secretDir, targetDir)],
      HostConfig: { Binds: [`${base}/swapper:/swapper:ro`, 'race-vol:/vol'] },
    });
    id = r.Id;
    await t.engine.start(id);
    // Swapping: the same path is sometimes the directory, sometimes the symlink.
    const kinds = new Set<string>();
    await until(() => {
      try {
        kinds.add(t.engine.archiveStat(id, '/race/r/dir').linkTarget ? 'link' : 'dir');
      } catch {
        /* not made yet */
      }
      return kinds.size === 2;
    }, 20_000, 'the swapper to run');
    if (PEER) {
      const created = await http(PEER, 'POST', '/containers/create', Buffer.from(JSON.stringify({
        Image: '127.0.0.1:5000/busybox', Cmd: ['sh', '-c', script(secretDir, targetDir)], HostConfig: { Binds: [`${base}/swapper:/swapper:ro`] },
      })), 'application/json');
      peerId = JSON.parse(created.body.toString()).Id;
      assert.equal((await http(PEER, 'POST', `/containers/${peerId}/start`)).status, 204, lastError);
      await until(async () => (await http(PEER, 'HEAD', `/containers/${peerId}/archive?path=/race/w/link`)).status === 200, 20_000, 'the peer\'s swapper');
    }
  });

  after(async () => {
    if (PEER && peerId) await http(PEER, 'DELETE', `/containers/${peerId}?force=1`).catch(() => undefined);
    await api?.close();
    await t?.dispose();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  const hostUntouched = () => {
    assert.deepEqual(readdirSync(targetDir), [], 'nothing was written into the host directory');
    assert.deepEqual(readdirSync(secretDir).sort(), [hostOnly, 'payload'].sort());
    assert.equal(readFileSync(`${secretDir}/payload`, 'utf8'), `${secret}\n`);
  };
  const noLeak = (what: string, tar: Buffer) => {
    const r = readTar(tar);
    assert.ok(!r.text.includes(secret), `${what}: the host's file was read (${r.names.join(', ')})`);
    assert.ok(!r.names.some((n) => n.includes(hostOnly)) && !r.text.includes(hostOnly), `${what}: a host directory was listed (${r.names.join(', ')})`);
    return r;
  };

  /** Copies out and in ROUNDS times each way with get/put, counting what the copies saw. */
  async function race(get: (path: string) => Promise<Buffer | number>, put: (path: string, tar: Buffer) => Promise<number>, label: string) {
    const seen = { inside: 0, symlink: 0, refused: 0, putOk: 0, putRefused: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      for (const path of ['/race/r/dir/payload', '/race/r/dir/']) {
        const out = await get(path);
        if (typeof out === 'number') {
          assert.ok([400, 404, 409].includes(out), `${label} GET ${path}: status ${out} ${lastError}`);
          seen.refused++;
          continue;
        }
        const { names, text, truncated } = noLeak(`${label} GET ${path}`, out);
        if (truncated) seen.refused++;
        else if (text.includes('inside')) seen.inside++;
        if (names.some((n) => n.includes(' -> '))) seen.symlink++;
      }
      const file = buildTar([{ name: `planted-${label}-${i}`, type: 'file', mode: 0o644, data: Buffer.from('planted\n') }]);
      const dir = buildTar([{ name: `pdir-${label}-${i}/`, type: 'dir', mode: 0o755 }, { name: `pdir-${label}-${i}/f`, type: 'file', mode: 0o644, data: Buffer.from('planted\n') }]);
      for (const tar of [file, dir]) {
        const status = await put('/race/w/dir', tar);
        if (status === 200) seen.putOk++;
        else {
          assert.ok([400, 404, 409].includes(status), `${label} PUT: status ${status} ${lastError}`);
          seen.putRefused++;
        }
      }
    }
    hostUntouched();
    // The race was real: copies went through, and some met the symlink.
    assert.ok(seen.inside > 0 && seen.putOk > 0, `${label}: copies succeeded ${JSON.stringify(seen)}`);
    assert.ok(seen.refused + seen.putRefused + seen.symlink > 0, `${label}: the swap was never seen ${JSON.stringify(seen)}`);
    return seen;
  }

  it(`${ROUNDS} copies each way through the Docker API read and write nothing on the host`, async () => {
    const seen = await race(
      async (path) => {
        const r = await http(sock, 'GET', `/containers/${id}/archive?path=${encodeURIComponent(path)}`);
        return r.status === 200 ? r.body : r.status;
      },
      async (path, tar) => (await http(sock, 'PUT', `/containers/${id}/archive?path=${encodeURIComponent(path)}`, tar)).status,
      'api',
    );
    console.log(`# api: ${JSON.stringify(seen)}`);
  });

  it(`${ROUNDS} copies each way through the engine calls read and write nothing on the host`, async () => {
    const seen = await race(
      async (path) => {
        try {
          return await collect(t.engine.archiveGet(id, path).tar);
        } catch (e) {
          return (e as { code?: string }).code === 'NOT_FOUND' ? 404 : 400;
        }
      },
      async (path, tar) => {
        try {
          await t.engine.archivePut(id, path, Readable.from([tar]));
          return 200;
        } catch (e) {
          return (e as { code?: string }).code === 'NOT_FOUND' ? 404 : 400;
        }
      },
      'engine',
    );
    console.log(`# engine: ${JSON.stringify(seen)}`);
  });

  it('the hostile tar corpus, copied in while the directory is swapped with a host symlink, writes nothing on the host', async () => {
    const before = statSync(targetDir);
    const statuses: Record<string, number> = {};
    const put = async (dest: string, tar: Buffer, what: string) => {
      const status = (await http(sock, 'PUT', `/containers/${id}/archive?path=${encodeURIComponent(dest)}`, tar)).status;
      assert.ok([200, 400, 404, 409].includes(status), `${what}: status ${status} ${lastError}`);
      statuses[status] = (statuses[status] ?? 0) + 1;
    };
    for (const c of RACE_CASES) for (let i = 0; i < 30; i++) await put(c.dest, c.tar(), `race case ${c.name}`);
    // Every static case too, its "outside" being the host directory the swapped symlink points at.
    for (const c of HOSTILE_CASES) for (let i = 0; i < 2; i++) await put('/race/w/dir', c.tar(targetDir), `hostile case ${c.name}`);
    hostUntouched();
    const now = statSync(targetDir);
    assert.deepEqual([now.mode, now.uid, now.gid, now.mtimeMs], [before.mode, before.uid, before.gid, before.mtimeMs], 'the host directory\'s mode, owner and time are unchanged');
    assert.ok(statuses[200] > 0, `some copies went through: ${JSON.stringify(statuses)}`);
    console.log(`# hostile corpus under the race: ${JSON.stringify(statuses)}`);
  });

  it('export and diff of the running container never walk into the host', async () => {
    for (let i = 0; i < 40; i++) {
      noLeak('export', await collect(t.engine.exportContainer(id)));
      const changes = t.engine.changes(id);
      assert.ok(!changes.some((c) => c.Path.includes(hostOnly) || c.Path.includes('host-secret')), `diff listed host paths: ${JSON.stringify(changes)}`);
      assert.ok(changes.some((c) => c.Path === '/race/r'), 'diff sees the container\'s own changes');
    }
    const exported = await http(sock, 'GET', `/containers/${id}/export`);
    assert.equal(exported.status, 200);
    noLeak('export over the API', exported.body);
    hostUntouched();
  });

  it('the volume browser never lists or reads the host', () => {
    let listed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      for (const path of ['/dir', '/dir/payload', '/link', '/link/payload']) {
        let l;
        try {
          l = t.engine.volumes.browse('race-vol', path);
        } catch (e) {
          assert.ok(['NOT_FOUND', 'INVALID_ARGUMENT'].includes((e as { code: string }).code), String(e));
          continue;
        }
        assert.ok(!(l.entries ?? []).some((e) => e.name === hostOnly), `browse ${path} listed the host directory`);
        assert.ok(!(l.preview ?? '').includes(secret), `browse ${path} read the host's file`);
        listed++;
      }
    }
    assert.ok(listed > 0);
  });

  it('bad input: escaping paths are refused or stay inside, read-only targets are refused, nothing changes', async () => {
    const setup = 'mkdir -p /data && ln -s /etc /data/abs && ln -s ../../../../../etc /data/rel && ln -s /loop1 /loop2 && ln -s /loop2 /loop1 && exec sleep 300';
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', setup], HostConfig: { Binds: ['/proc:/hostproc:ro', `${secretDir}:/ro:ro`] } });
    const ro = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { ReadonlyRootfs: true } });
    try {
      await t.engine.start(c.Id);
      await t.engine.start(ro.Id);
      await until(() => {
        try {
          return !!t.engine.archiveStat(c.Id, '/loop1').linkTarget;
        } catch {
          return false;
        }
      }, 10_000, 'the setup script');
      const get = async (id: string, path: string) => http(sock, 'GET', `/containers/${id}/archive?path=${encodeURIComponent(path)}`);
      const put = async (id: string, path: string, tar: Buffer) => http(sock, 'PUT', `/containers/${id}/archive?path=${encodeURIComponent(path)}`, tar);
      // Magic links (a host /proc bound into the container) and symlink loops: refused by the kernel.
      for (const path of ['/hostproc/self/root/etc/hostname', '/hostproc/1/root/', '/loop1/x']) {
        const r = await get(c.Id, path);
        assert.equal(r.status, 400, `${path}: ${r.body}`);
        assert.match(r.body.toString(), /escapes container/);
      }
      // `..` and absolute or relative symlinks climbing out resolve inside the container, as in dockerd.
      const hostname = `${c.Id.slice(0, 12)}\n`;
      for (const path of ['/../../../../etc/hostname', '/data/abs/hostname', '/data/rel/hostname']) {
        const r = await get(c.Id, path);
        assert.equal(r.status, 200, path);
        assert.equal(readTar(r.body).text, hostname, `${path} is the container's own file`);
      }
      // Read-only targets and climbing tar entries: refused, nothing written.
      const file = buildTar([{ name: 'planted', type: 'file', mode: 0o644, data: Buffer.from('x') }]);
      let r = await put(c.Id, '/ro', file);
      assert.equal(r.status, 409);
      assert.match(r.body.toString(), /mounted volume is marked read-only/);
      r = await put(ro.Id, '/tmp', file);
      assert.equal(r.status, 409);
      assert.match(r.body.toString(), /container rootfs is marked read-only/);
      r = await put(c.Id, '/data', buildTar([{ name: '../../../../../..' + targetDir + '/planted', type: 'file', mode: 0o644, data: Buffer.from('x') }]));
      assert.equal(r.status, 400);
      assert.match(r.body.toString(), /points outside/);
      r = await put(c.Id, '/data/abs', buildTar([{ name: 'abs/planted', type: 'file', mode: 0o644, data: Buffer.from('x') }]));
      assert.equal(r.status, 200, 'the destination\'s symlink resolves inside the container');
      assert.equal(readTar((await get(c.Id, '/etc/abs/planted')).body).text, 'x');
      hostUntouched();
      assert.ok(t.engine.inspect(c.Id).State.Running && t.engine.inspect(ro.Id).State.Running, 'the containers keep running');
    } finally {
      await t.engine.containers.remove(c.Id, { force: true });
      await t.engine.containers.remove(ro.Id, { force: true });
    }
  });

  it('the race against the peer engine reads and writes nothing on the host either', { skip: !PEER && 'RACE_PEER_SOCKET is not set' }, async () => {
    const seen = await race(
      async (path) => {
        const r = await http(PEER!, 'GET', `/containers/${peerId}/archive?path=${encodeURIComponent(path)}`);
        return r.status === 200 ? r.body : r.status === 500 ? 400 : r.status;
      },
      async (path, tar) => {
        const s = (await http(PEER!, 'PUT', `/containers/${peerId}/archive?path=${encodeURIComponent(path)}`, tar)).status;
        return s === 500 ? 400 : s;
      },
      'peer',
    );
    console.log(`# peer: ${JSON.stringify(seen)}`);
    assert.ok(existsSync(sock));
  });
});
