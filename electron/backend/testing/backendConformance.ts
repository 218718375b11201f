// What every Backend does the same way, whatever is behind it: the engine in this process (run
// as root on the real kernel) and the fake the unit tests use. Lifecycle states, the error
// codes callers switch on, events, exec streams, volumes, networks, images.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EngineEvent } from '../../../common/docker.ts';
import type { Backend, StdioStream } from '../backend.ts';

export interface BackendUnderTest {
  backend: Backend;
  /** an image the backend has, with busybox's echo, cat and sleep */
  image: string;
  dispose(): Promise<void>;
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

async function collect(s: StdioStream): Promise<string> {
  let out = Buffer.alloc(0);
  for await (const chunk of s.stream) out = Buffer.concat([out, chunk as Buffer]);
  if (s.tty) return out.toString();
  let text = '';
  for (let i = 0; i + 8 <= out.length; i += 8 + out.readUInt32BE(i + 4)) text += out.subarray(i + 8, i + 8 + out.readUInt32BE(i + 4)).toString();
  return text;
}

export function backendConformance(name: string, make: () => Promise<BackendUnderTest>): void {
  describe(`backend conformance: ${name}`, { timeout: 120_000 }, () => {
    let t: BackendUnderTest;
    let b: Backend;
    const made: string[] = [];
    const create = async (cmd: string[], extra: { name?: string; Tty?: boolean } = {}) => {
      const { Id } = await b.containers.create({ Image: t.image, Cmd: cmd, ...extra });
      made.push(Id);
      return Id;
    };

    before(async () => {
      t = await make();
      b = t.backend;
    });
    after(async () => {
      for (const id of made) await b.containers.remove(id, { force: true }).catch(() => undefined);
      await t?.dispose();
    });

    it('moves a container through created, running and exited; repeats are NOT_MODIFIED', async () => {
      const events: EngineEvent[] = [];
      const off = b.system.events((e) => e.Type === 'container' && events.push(e));
      const id = await create(['sleep', '300'], { name: `conf-${Date.now()}` });
      assert.equal((await b.containers.inspect(id)).State.Status, 'created');
      assert.ok((await b.containers.list({ all: true })).some((c) => c.Id === id));
      assert.ok(!(await b.containers.list()).some((c) => c.Id === id), 'a created container is not listed without all');
      await b.containers.start(id);
      const running = await b.containers.inspect(id);
      assert.equal(running.State.Status, 'running');
      assert.ok(running.State.Running && running.State.Pid > 0);
      assert.ok((await b.containers.list()).some((c) => c.Id === id));
      await assert.rejects(b.containers.start(id), code('NOT_MODIFIED'));
      await b.containers.stop(id, { timeout: 0 });
      const exited = await b.containers.inspect(id);
      assert.equal(exited.State.Status, 'exited');
      assert.equal(exited.State.Running, false);
      await assert.rejects(b.containers.stop(id), code('NOT_MODIFIED'));
      off();
      const mine = events.filter((e) => e.Actor.ID === id).map((e) => e.Action);
      for (const a of ['create', 'start', 'die']) assert.ok(mine.includes(a), `${a} in ${mine.join(', ')}`);
      assert.ok(mine.indexOf('create') < mine.indexOf('start') && mine.indexOf('start') < mine.indexOf('die'));
      const before = events.length;
      await b.containers.remove(id);
      assert.equal(events.length, before, 'a disposed listener hears nothing more');
      await assert.rejects(b.containers.inspect(id), code('NOT_FOUND'));
    });

    it('answers bad references and requests with the codes callers switch on', async () => {
      await assert.rejects(b.containers.inspect('no-such-container-here'), code('NOT_FOUND'));
      await assert.rejects(b.containers.start('no-such-container-here'), code('NOT_FOUND'));
      await assert.rejects(b.containers.create({ Image: 'no-such-image-here:1' }), code('NOT_FOUND'));
      await assert.rejects(create(['true'], { name: 'bad/name' }), code('INVALID_ARGUMENT'));
      const n = `conf-dup-${Date.now()}`;
      await create(['true'], { name: n });
      await assert.rejects(create(['true'], { name: n }), code('CONFLICT'));
      const id = await create(['sleep', '300']);
      await b.containers.start(id);
      await assert.rejects(b.containers.remove(id), code('CONFLICT'));
      await b.containers.remove(id, { force: true });
      await assert.rejects(b.containers.inspect(id), code('NOT_FOUND'));
      await assert.rejects(b.exec.inspect('0'.repeat(64)), code('NOT_FOUND'));
      await assert.rejects(b.volumes.inspect('no-such-volume-here'), code('NOT_FOUND'));
      await assert.rejects(b.volumes.create({ Name: 'bad name' }), code('INVALID_ARGUMENT'));
      await assert.rejects(b.networks.remove('bridge'), code('PERMISSION'));
      await assert.rejects(b.images.inspect('no-such-image-here:1'), code('NOT_FOUND'));
    });

    it('runs a command to its end: logs, exit code, wait', async () => {
      const id = await create(['echo', 'hello-conformance']);
      const exited = b.containers.wait(id, 'next-exit');
      await b.containers.start(id);
      assert.equal((await exited).StatusCode, 0);
      let text = '';
      for await (const l of b.containers.logs(id, { stdout: true, stderr: true })) text += l.text;
      assert.equal(text, 'hello-conformance\n');
      assert.equal((await b.containers.inspect(id)).State.ExitCode, 0);
    });

    it('execs with stdio as a Docker stream; the exit code is there when it ends; an exec runs once', async () => {
      const stopped = await create(['sleep', '300']);
      await assert.rejects(b.exec.create(stopped, { Cmd: ['true'] }), code('CONFLICT'));
      const id = await create(['sleep', '300']);
      await b.containers.start(id);
      for (const tty of [false, true]) {
        const { Id } = await b.exec.create(id, { Cmd: ['cat'], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: tty });
        const s = (await b.exec.start(Id))!;
        assert.equal(s.tty, tty);
        const text = collect(s);
        s.stream.write(tty ? 'ping\r' : 'ping\n');
        if (tty) {
          await new Promise((r) => setTimeout(r, 200));
          s.stream.write('\x04');
        }
        s.stream.end();
        assert.match(await text, /ping/);
        const x = await b.exec.inspect(Id);
        assert.equal(x.Running, false);
        assert.equal(x.ExitCode, 0);
        await assert.rejects(b.exec.start(Id), code('CONFLICT'));
      }
      const echo = await b.exec.create(id, { Cmd: ['echo', 'from-exec'], AttachStdout: true });
      assert.equal(await collect((await b.exec.start(echo.Id))!), 'from-exec\n');
      // Exec records go with their container's run, as dockerd drops them.
      await b.containers.stop(id, { timeout: 0 });
      await assert.rejects(b.exec.inspect(echo.Id), code('NOT_FOUND'));
      await b.containers.remove(id, { force: true });
    });

    it('creates, lists and removes volumes and networks, and tags images', async () => {
      const vol = `conf-vol-${Date.now()}`;
      const v = await b.volumes.create({ Name: vol, Labels: { conformance: '1' } });
      assert.equal(v.Name, vol);
      assert.equal(v.Labels.conformance, '1');
      assert.ok((await b.volumes.list()).some((x) => x.Name === vol));
      await b.volumes.remove(vol);
      await assert.rejects(b.volumes.inspect(vol), code('NOT_FOUND'));
      const net = `conf-net-${Date.now()}`;
      const { Id } = await b.networks.create({ Name: net });
      assert.equal((await b.networks.inspect(Id)).Name, net);
      await assert.rejects(b.networks.create({ Name: net }), code('CONFLICT'));
      await b.networks.remove(Id);
      await assert.rejects(b.networks.inspect(Id), code('NOT_FOUND'));
      const img = await b.images.inspect(t.image);
      assert.ok((await b.images.list()).some((i) => i.Id === img.Id));
      const tag = `conformance/tagged:${Date.now()}`;
      await b.images.tag(t.image, tag);
      assert.equal((await b.images.inspect(tag)).Id, img.Id);
      const removed = await b.images.remove(tag);
      assert.ok(removed.some((r) => r.Untagged?.endsWith(tag)), JSON.stringify(removed));
      assert.equal((await b.images.inspect(t.image)).Id, img.Id, 'untagging leaves the image');
    });
  });
}
