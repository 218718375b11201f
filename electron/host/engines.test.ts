import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ServerMessage } from '../../common/contract.ts';
import { until } from '../testing/until.ts';
import { ContextStore } from './dockerContexts.ts';
import { EngineConnection, Engines } from './engines.ts';

describe('engines: one window, one engine at a time, switchable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-engines-'));
  const env = { DOCKER_CONFIG: join(dir, 'docker'), XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
  new ContextStore(env).save({ name: 'gone', host: `unix://${dir}/closed.sock`, description: 'nothing there' });
  const own: unknown[] = [];
  let ownDisposed = 0;
  const engines = new Engines({
    host: `unix://${dir}/own.sock`,
    connect: () => ({ receive: (m) => own.push(m), dispose: () => void ownDisposed++ }),
  }, { version: 'test', env, statusTimeoutMs: 2000 });
  after(() => {
    engines.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = () => {
    const sent: ServerMessage[] = [];
    const c = new EngineConnection(engines, { send: (m) => sent.push(m) });
    const call = async (method: string, args: unknown = {}) => {
      const id = Math.floor(Math.random() * 1e9);
      c.receive({ t: 'call', id, method, args });
      await until(() => sent.some((m) => m.t === 'result' && m.id === id), 5000, method);
      return sent.find((m) => m.t === 'result' && m.id === id) as Extract<ServerMessage, { t: 'result' }>;
    };
    return { c, sent, call };
  };

  it("starts on Berth's engine and passes other calls to it", async () => {
    const { c, call } = open();
    c.receive({ t: 'call', id: 1, method: 'containers.list', args: {} });
    assert.deepEqual(own.at(-1), { t: 'call', id: 1, method: 'containers.list', args: {} });
    const list = await call('engines.list');
    assert.ok(list.ok);
    const views = list.value as { name: string; current: boolean; status: { reachable: boolean; error?: string } }[];
    assert.deepEqual(views.map((v) => [v.name, v.current]), [['berth', true], ['gone', false]]);
    assert.match(views[1].status.error ?? '', /engine "gone" \(unix:\/\/.*closed\.sock\) is not reachable: nothing listens there/);
    c.dispose();
  });

  it('refuses an unknown engine and bad names, changing nothing', async () => {
    const { c, call } = open();
    const r = await call('engines.use', { name: 'nope' });
    assert.ok(!r.ok && r.error.code === 'NOT_FOUND' && /no engine named "nope"/.test(r.error.message));
    const bad = await call('engines.use', { name: '../x' });
    assert.ok(!bad.ok && bad.error.code === 'INVALID_ARGUMENT');
    const reserved = await call('engines.save', { name: 'berth', host: 'tcp://h:1' });
    assert.ok(!reserved.ok && /Berth's own engine/.test(reserved.error.message));
    c.dispose();
  });

  it('switches: open streams end, the UI is told, the choice is remembered and the lost engine named', async () => {
    const { c, sent, call } = open();
    c.receive({ t: 'open', sid: 7, stream: 'logs', args: { id: 'x' } });
    const before = ownDisposed;
    const r = await call('engines.use', { name: 'gone' });
    assert.ok(r.ok);
    assert.equal(ownDisposed, before + 1, "Berth's connection was let go");
    assert.ok(sent.some((m) => m.t === 'end' && m.sid === 7 && m.error?.code === 'DISCONNECTED'));
    assert.ok(sent.some((m) => m.t === 'event' && m.name === 'engines' && (m.payload as { current: string }).current === 'gone'));
    assert.equal(JSON.parse(readFileSync(join(dir, 'config/berth/engine.json'), 'utf8')).engine, 'gone');
    await until(() => sent.some((m) => m.t === 'state' && m.state === 'lost' && /engine "gone"/.test(m.detail ?? '')), 5000, 'the lost state');
    const rm = await call('engines.remove', { name: 'gone' });
    assert.ok(!rm.ok && rm.error.code === 'CONFLICT');
    c.dispose();
    // A new window opens on the remembered engine, and hears at once that it is lost.
    const next = open();
    await until(() => next.sent.some((m) => m.t === 'state' && m.state === 'lost'), 5000, 'lost on open');
    assert.ok((await next.call('engines.use', { name: 'berth' })).ok);
    next.c.dispose();
  });
});
