// The contract over a unix socket, as the app reaches an engine in another process: calls and
// events through a relay, calls sent before the socket connected, the renderer told when the
// engine goes away and comes back, and nothing left open.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../common/contract.ts';
import { FakeBackend } from '../backend/testing/fakeBackend.ts';
import { ContractHost } from './contractHost.ts';
import { RelayConnection, serveContract, unavailable } from './contractSocket.ts';
import { until } from '../testing/until.ts';

describe('contract socket', () => {
  it('relays calls and events, queues what came before the connection, and survives an engine restart', async (t) => {
    const dir = mkdtempSync(`${tmpdir()}/berth-cs-`);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = `${dir}/ui.sock`;
    const fake = new FakeBackend();
    const host = new ContractHost(fake, { version: '0.0.0-test' });
    let server = await serveContract(host, path);
    assert.equal(statSync(path).mode & 0o777, 0o600, 'only this user may connect');
    const got: ServerMessage[] = [];
    const relay = new RelayConnection(path, { send: (m) => got.push(m) });
    try {
      relay.receive({ t: 'call', id: 1, method: 'system.info', args: {} });
      await until(() => got.some((m) => m.t === 'result' && m.id === 1));
      const info = got.find((m) => m.t === 'result' && m.id === 1) as Extract<ServerMessage, { t: 'result'; ok: true }>;
      assert.equal(info.ok, true);
      assert.equal((info.value as { version: string }).version, '0.0.0-test');
      relay.receive({ t: 'call', id: 2, method: 'containers.run', args: { image: 'busybox', name: 'over-socket' } });
      await until(() => got.some((m) => m.t === 'event' && m.name === 'container'));
      assert.ok(!got.some((m) => m.t === 'state'), 'no state news while all is well');
      await server.close();
      await until(() => got.some((m) => m.t === 'state' && m.state === 'lost'));
      server = await serveContract(host, path);
      await until(() => got.some((m) => m.t === 'state' && m.state === 'open'));
      relay.receive({ t: 'call', id: 3, method: 'containers.list', args: {} });
      await until(() => got.some((m) => m.t === 'result' && m.id === 3));
    } finally {
      relay.dispose();
      await server.close();
      host.dispose();
    }
    assert.equal(fake.listenerCount, 0, 'the host unsubscribed from the backend');
  });

  it('without an engine, every connection is told why', () => {
    const got: ServerMessage[] = [];
    unavailable('rootless mode needs subordinate uids')({ send: (m) => got.push(m) }).receive({ t: 'call', id: 1, method: 'system.info', args: {} });
    assert.deepEqual(got, [{ t: 'state', state: 'lost', detail: 'rootless mode needs subordinate uids' }]);
  });
});
