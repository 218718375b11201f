// The Docker SDKs against `berth daemon`: dockerode (npm) and docker-py (Debian python3-docker),
// each pulling from a registry on 127.0.0.1, then run, logs, exec, stats and remove; dockerode
// builds, commits and prunes the build cache too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { startRegistry, uploadImage, type TestRegistry } from '../helpers/registry.ts';
import { REPO, busyboxTarball } from '../helpers/testEngine.ts';

const hasDockerPy = await new Promise<boolean>((r) => execFile('python3', ['-c', 'import docker'], (e) => r(!e)));

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
    stream.on('error', reject);
  });
}

describe('Docker SDKs against berth daemon', { timeout: 300_000 }, () => {
  let daemon: TestDaemon;
  let reg: TestRegistry;
  let image: string;

  before(async () => {
    reg = await startRegistry();
    image = `${reg.host}/busybox:latest`;
    await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
    daemon = await startDaemon();
  });
  after(async () => {
    await daemon?.stop();
    await reg?.stop();
  });

  it('dockerode: pull, run, logs, exec, stats, remove', async () => {
    const docker = new Docker({ socketPath: daemon.sock });
    const pull = await docker.pull(image);
    const events = await new Promise<{ status?: string }[]>((resolve, reject) => docker.modem.followProgress(pull, (e, r) => (e ? reject(e) : resolve(r))));
    assert.ok(events.some((e) => /Downloaded newer image|Image is up to date/.test(e.status ?? '')), JSON.stringify(events.slice(-3)));
    assert.equal((await docker.getImage(image).inspect()).RepoTags?.[0], image);

    // run: create, attach, start, wait — as docker.run does it.
    const out = new PassThrough();
    const err = new PassThrough();
    const outText = collect(out);
    const errText = collect(err);
    const [result, ran] = await docker.run(image, ['sh', '-c', 'echo run-out; echo run-err >&2; exit 3'], [out, err], { Tty: false });
    out.end();
    err.end();
    assert.equal(result.StatusCode, 3);
    assert.equal(await outText, 'run-out\n');
    assert.equal(await errText, 'run-err\n');
    await ran.remove();

    const c = await docker.createContainer({ Image: image, Cmd: ['sh', '-c', 'echo started; exec sleep 300'], Labels: { sdk: 'dockerode' } });
    try {
      await c.start();
      assert.equal((await c.inspect()).State.Running, true);
      let logs = '';
      for (let i = 0; i < 100 && !logs.includes('started'); i++) logs = (await c.logs({ stdout: true, stderr: true })).toString();
      assert.match(logs, /started/);

      const exec = await c.exec({ Cmd: ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 4'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const eo = new PassThrough();
      const ee = new PassThrough();
      const eoText = collect(eo);
      const eeText = collect(ee);
      docker.modem.demuxStream(stream, eo, ee);
      await new Promise((r) => stream.on('end', r));
      eo.end();
      ee.end();
      assert.equal(await eoText, 'exec-out\n');
      assert.equal(await eeText, 'exec-err\n');
      assert.equal((await exec.inspect()).ExitCode, 4);

      const stats = await c.stats({ stream: false });
      assert.ok(stats.memory_stats.usage > 0, JSON.stringify(stats.memory_stats));
      assert.ok((stats.pids_stats?.current ?? 0) >= 1);
      assert.ok(stats.cpu_stats.cpu_usage.total_usage > 0);

      const listed = await docker.listContainers({ filters: { label: ['sdk=dockerode'] } });
      assert.deepEqual(listed.map((x) => x.Id), [c.id]);
    } finally {
      await c.remove({ force: true });
    }
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: ['sdk=dockerode'] } }), []);
    await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  it('docker-py: pull, run, logs, exec, stats, remove', { skip: !hasDockerPy && 'python3-docker is not installed' }, async () => {
    const stdout = await new Promise<string>((resolve, reject) => execFile('python3', [`${REPO}/test/integration/sdk/dockerpy_flow.py`, daemon.sock, image], { timeout: 120_000 },
      (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))));
    const r = JSON.parse(stdout);
    assert.deepEqual(r.pulled, [image]);
    assert.deepEqual(r.run.split('\n').filter(Boolean).sort(), ['run-err', 'run-out'], 'both streams come back from run');
    assert.equal(r.status, 'running');
    assert.match(r.logs, /started/);
    assert.deepEqual(r.exec, { code: 4, output: 'exec-out\n' });
    assert.ok(r.stats.memory > 0 && r.stats.pids >= 1 && r.stats.cpu, JSON.stringify(r.stats));
    assert.deepEqual(r.listed, ['py-flow']);
    assert.deepEqual(r.after, []);
  });

  it('docker-py, second pass: health, init, an exec TTY inside, kill then reload, swarm 503', { skip: !hasDockerPy && 'python3-docker is not installed' }, async () => {
    const stdout = await new Promise<string>((resolve, reject) => execFile('python3', [`${REPO}/test/integration/sdk/dockerpy_second.py`, daemon.sock, image], { timeout: 120_000 },
      (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))));
    const r = JSON.parse(stdout);
    assert.equal(r.health, 'healthy');
    assert.equal(r.init, true);
    assert.equal(r.pid1, 'init');
    assert.match(r.tty, /^\/dev\/pts\/\d+$/);
    assert.deepEqual(r.killed, ['exited', 137], 'the state right after kill');
    assert.deepEqual(r.nodes, [503, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.']);
  });

  it('dockerode, second pass: an exec TTY is a raw stream from the container\'s devpts; kill then inspect; detach keys', async () => {
    const docker = new Docker({ socketPath: daemon.sock });
    const c = await docker.createContainer({ Image: image, Cmd: ['sleep', '300'], OpenStdin: true, Tty: true });
    try {
      await c.start();
      const exec = await c.exec({ Cmd: ['sh', '-c', 'tty; printf "a\\nb\\n"'], AttachStdout: true, AttachStderr: true, Tty: true });
      const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
      const raw = await collect(stream as unknown as PassThrough);
      assert.match(raw, /^\/dev\/pts\/\d+\r\na\r\nb\r\n$/, 'raw, not multiplexed');
      // An interactive exec shell follows a resize.
      const sh = await c.exec({ Cmd: ['sh'], AttachStdin: true, AttachStdout: true, Tty: true });
      const io = await sh.start({ hijack: true, stdin: true, Tty: true });
      let seen = '';
      io.on('data', (d: Buffer) => (seen += d.toString()));
      await sh.resize({ h: 33, w: 111 });
      io.write('stty size; exit\n');
      await new Promise((r) => io.on('end', r));
      assert.match(seen, /^33 111\r$/m);
      // attach with a custom detach sequence: the stream ends, the container runs on.
      const att = await c.attach({ stream: true, stdin: true, stdout: true, hijack: true, detachKeys: 'ctrl-x,y' });
      const ended = new Promise((r) => att.on('end', r));
      att.resume();
      att.write(Buffer.from([0x18, 0x79]));
      await ended;
      assert.equal((await c.inspect()).State.Running, true);
      await c.kill();
      const s = (await c.inspect()).State;
      assert.deepEqual([s.Status, s.ExitCode], ['exited', 137]);
    } finally {
      await c.remove({ force: true });
    }
  });

  it('dockerode: buildImage (args, labels, target; the stream with aux and errorDetail), commit with changes, pruneBuilder', async () => {
    const docker = new Docker({ socketPath: daemon.sock });
    const dir = mkdtempSync(`${tmpdir()}/berth-sdk-build-`);
    try {
      writeFileSync(`${dir}/Dockerfile`, `FROM ${image} AS base\nARG V=1\nCOPY app.txt /app.txt\nRUN echo "v=$V" >> /app.txt\nFROM base AS final\nRUN exit 9\n`);
      writeFileSync(`${dir}/app.txt`, 'from-context\n');
      const follow = (stream: NodeJS.ReadableStream) => new Promise<{ stream?: string; aux?: { ID: string }; errorDetail?: { message: string; code?: number } }[]>((resolve, reject) => {
        docker.modem.followProgress(stream, (e, r) => (e ? reject(e) : resolve(r)));
      });
      const built = await follow(await docker.buildImage({ context: dir, src: ['Dockerfile', 'app.txt'] }, { t: 'sdkbuilt:1', buildargs: { V: '7' }, labels: { made: 'by-dockerode' }, target: 'base' }));
      const id = built.find((m) => m.aux)?.aux?.ID;
      assert.match(id ?? '', /^sha256:[0-9a-f]{64}$/, JSON.stringify(built.slice(-3)));
      assert.ok(built.some((m) => m.stream === 'Successfully tagged sdkbuilt:1\n'));
      const info = await docker.getImage('sdkbuilt:1').inspect();
      assert.equal(info.Id, id);
      assert.deepEqual(info.Config.Labels, { made: 'by-dockerode' });
      const out = new PassThrough();
      const text = collect(out);
      const [res, ran] = await docker.run('sdkbuilt:1', ['cat', '/app.txt'], [out, new PassThrough()], { Tty: false });
      out.end();
      assert.equal(res.StatusCode, 0);
      assert.equal(await text, 'from-context\nv=7\n');
      // The last stage fails: the stream ends with errorDetail and the RUN's code.
      const failed = await follow(await docker.buildImage({ context: dir, src: ['Dockerfile', 'app.txt'] }, { t: 'sdkbuilt:bad', forcerm: true }));
      assert.deepEqual(failed.at(-1)?.errorDetail, { message: "The command '/bin/sh -c exit 9' returned a non-zero code: 9", code: 9 });
      // commit with changes, from the container the run left.
      const committed = await ran.commit({ repo: 'sdkcommit', tag: 'v1', changes: ['CMD ["echo", "committed"]', 'ENV FROM_COMMIT=1'], comment: 'by dockerode' });
      const cinfo = await docker.getImage('sdkcommit:v1').inspect();
      assert.equal(cinfo.Id, committed.Id);
      assert.deepEqual(cinfo.Config.Cmd, ['echo', 'committed']);
      assert.ok(cinfo.Config.Env.includes('FROM_COMMIT=1'));
      assert.equal(cinfo.Comment, 'by dockerode');
      await ran.remove();
      const pruned = await docker.pruneBuilder();
      assert.equal(typeof pruned.SpaceReclaimed, 'number');
      await docker.getImage('sdkcommit:v1').remove();
      await docker.getImage('sdkbuilt:1').remove();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
