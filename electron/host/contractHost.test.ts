// The app's host over a fake backend, without root: the contract's methods and errors, deltas
// from backend events, stats relayed, terminal and log streams, and nothing left subscribed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventName } from '../../common/contract.ts';
import { FakeBackend } from '../backend/testing/fakeBackend.ts';
import { ContractHost } from './contractHost.ts';
import { noLeftovers } from '../testing/leftovers.ts';

function hostOver(fake: FakeBackend) {
  const host = new ContractHost(fake, { version: '0.0.0-test' });
  const events: { name: EventName; payload: unknown }[] = [];
  const off = host.onEvent((name, payload) => events.push({ name, payload }));
  const call = async <T>(method: string, args: unknown = {}) => {
    const r = await host.call(method, args);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    return r.value as T;
  };
  return { host, events, call, dispose: () => (off(), host.dispose()) };
}

describe('contract host over a fake backend', () => {
  it('runs a container from the form, lists it, stops it twice without an error, and reports deltas', async (t) => {
    const fake = new FakeBackend();
    noLeftovers(t, { 'backend listeners': () => fake.listenerCount });
    const h = hostOver(fake);
    try {
      const { id } = await h.call<{ id: string }>('containers.run', { image: 'busybox', name: 'from-form', cmd: ['sleep', '9'], env: ['A=1'], labels: { x: 'y' } });
      assert.deepEqual(fake.calls, ['create from-form']);
      const list = await h.call<{ id: string; name: string; state: string; labels: Record<string, string> }[]>('containers.list');
      assert.deepEqual(list.map((c) => [c.name, c.state, c.labels.x]), [['from-form', 'running', 'y']]);
      await h.call('containers.stop', { id });
      await h.call('containers.stop', { id }); // already stopped: done, not an error
      await sleep(10);
      const deltas = h.events.filter((e) => e.name === 'container').map((e) => (e.payload as { summary: { state: string } | null }).summary?.state);
      assert.deepEqual(deltas.slice(-2), ['exited', 'exited'], 'a delta per event, each with the state after it');
      await h.call('containers.remove', { id });
      await sleep(10);
      assert.deepEqual(h.events.filter((e) => e.name === 'container').at(-1)?.payload, { id, summary: null });
    } finally {
      h.dispose();
    }
  });

  it('returns errors as data with their codes, validated arguments included', async (t) => {
    const fake = new FakeBackend();
    noLeftovers(t, { 'backend listeners': () => fake.listenerCount });
    const h = hostOver(fake);
    try {
      const errs: [string, unknown, string][] = [
        ['containers.start', { id: 'nope' }, 'NOT_FOUND'],
        ['containers.run', { image: 'busybox', ports: [{ hostIp: '', hostPort: '99999', containerPort: '80', proto: 'tcp' }] }, 'INVALID_ARGUMENT'],
        ['containers.run', { image: 'Busybox' }, 'INVALID_ARGUMENT'],
        ['containers.run', { image: 'busybox', name: 'bad/name' }, 'INVALID_ARGUMENT'],
        ['containers.run', { image: 'no-such-image' }, 'NOT_FOUND'],
        ['no.such.method', {}, 'INVALID_ARGUMENT'],
        ['jobs.cancel', { jobId: 'x' }, 'NOT_FOUND'],
      ];
      for (const [m, args, code] of errs) {
        const r = await h.host.call(m, args);
        assert.equal(r.ok, false, m);
        assert.equal(!r.ok && r.error.code, code, `${m} ${JSON.stringify(args)}: ${!r.ok && r.error.message}`);
      }
      assert.equal((await h.call<unknown[]>('containers.list')).length, 0, 'nothing was made by the refused calls');
    } finally {
      h.dispose();
    }
  });

  it('takes a build\'s SSH agent from SSH_AUTH_SOCK or a socket path, and refuses what cannot be one', async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-host-ssh-`);
    const sock = createServer();
    const saved = process.env.SSH_AUTH_SOCK;
    const h = hostOver(new FakeBackend());
    try {
      writeFileSync(`${dir}/Dockerfile`, 'FROM busybox\n');
      writeFileSync(`${dir}/key`, 'not a key\n');
      await new Promise<void>((r) => sock.listen(`${dir}/agent.sock`, r));
      const start = (ssh: Record<string, string>) => h.call('builds.start', { folder: dir, ssh });
      delete process.env.SSH_AUTH_SOCK;
      await assert.rejects(start({ default: '' }), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /ssh default: no SSH agent is running for the app \(SSH_AUTH_SOCK is not set\)/.test(e.message));
      await assert.rejects(start({ default: `${dir}/agent.sock,${dir}/key` }), /ssh default: .*agent\.sock is an agent's socket: give it alone/);
      await assert.rejects(start({ default: `${dir}/key` }), /ssh key default: .*key: it is not a private key file/, 'a plain file is read as a key');
      // An agent's socket, given or from SSH_AUTH_SOCK, passes the host's checks (the fake engine has no builder).
      process.env.SSH_AUTH_SOCK = `${dir}/agent.sock`;
      for (const ssh of [{ default: '' }, { deploy: `${dir}/agent.sock` }]) {
        const { jobId } = await h.call<{ jobId: string }>('builds.start', { folder: dir, ssh });
        assert.ok(jobId);
      }
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      h.dispose();
      await new Promise((r) => sock.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('relays stats and marks, builds network and volume views, and leaves nothing subscribed', async () => {
    const fake = new FakeBackend();
    const h = hostOver(fake);
    const sample = { id: 'x', t: 1, cpuPercent: 1, memory: 2, memoryLimit: 0, rxBytes: 0, txBytes: 0, rxRate: 0, txRate: 0, blkRead: 0, blkWrite: 0, blkReadRate: 0, blkWriteRate: 0, pids: 1 };
    fake.pushStats([sample]);
    assert.deepEqual(h.events.find((e) => e.name === 'stats')?.payload, [sample]);
    await h.call('volumes.create', { name: 'data' });
    const vols = await h.call<{ name: string; anonymous: boolean }[]>('volumes.list');
    assert.deepEqual(vols.map((v) => [v.name, v.anonymous]), [['data', false]]);
    const nets = await h.call<{ name: string; builtin: boolean }[]>('networks.list');
    assert.ok(nets.some((n) => n.name === 'bridge' && n.builtin));
    const info = await h.call<{ kernel: string; cgroupMode: string; cpus: number }>('system.info');
    assert.deepEqual([info.kernel, info.cgroupMode, info.cpus], ['6.0.0-fake', 'v2', 2]);
    assert.ok(fake.listenerCount > 0);
    h.dispose();
    assert.equal(fake.listenerCount, 0, 'the host disposed every subscription it made');
  });

  it('streams a terminal through an exec and a container log', async (t) => {
    const fake = new FakeBackend();
    noLeftovers(t, { 'backend listeners': () => fake.listenerCount });
    const h = hostOver(fake);
    try {
      const { id } = await h.call<{ id: string }>('containers.run', { image: 'echo', cmd: ['echo', 'logged'] }).catch(async () => {
        fake.addImage('echo');
        return h.call<{ id: string }>('containers.run', { image: 'echo', cmd: ['echo', 'logged'] });
      });
      let out = '';
      let ended: Error | undefined | null = null;
      const term = h.host.open('terminal', { id, mode: 'exec', shell: 'cat', cols: 80, rows: 24 }, { data: (d) => (out += d as string), end: (e) => (ended = e) });
      term.input({ data: 'typed\r' });
      await sleep(30);
      assert.match(out, /typed/);
      term.close();
      const lines: unknown[] = [];
      await new Promise<void>((resolve) => h.host.open('logs', { id }, { data: (d) => lines.push(...(d as unknown[])), end: () => resolve() }));
      assert.deepEqual(lines.map((l) => (l as { text: string }).text), ['logged\n']);
      assert.equal(ended, null);
      let err: Error | undefined;
      await new Promise<void>((resolve) => h.host.open('logs', { id: 'nope' }, { data: () => undefined, end: (e) => ((err = e), resolve()) }));
      assert.equal((err as { code?: string } | undefined)?.code, 'NOT_FOUND');
    } finally {
      h.dispose();
    }
  });
});
