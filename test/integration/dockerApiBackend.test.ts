// The Docker API client backend passes the conformance suite the in-process engine and the
// fake pass, against real engines: Berth's daemon on its socket, and a private dockerd over
// tcp with TLS client certificates (a CA and certificates the test makes). Certificates from
// another CA are refused, with the engine and the reason named.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { backendConformance } from '../../electron/backend/testing/backendConformance.ts';
import { DockerApiBackend } from '../../electron/backend/dockerApi/backend.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { DOCKERD, startDockerd, type PrivateDockerd } from '../helpers/dockerd.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { until } from '../helpers/run.ts';
import { makeCerts, type TestCerts } from '../helpers/tlsCerts.ts';
import { freePort } from '../helpers/registry.ts';

backendConformance('Docker API client to a Berth daemon', async () => {
  const d = await startDaemon();
  const loaded = await d.docker(['import', busyboxTarball(), 'busybox:latest']);
  if (loaded.code) await d.stop().then(() => Promise.reject(new Error(`import: ${loaded.err}`)));
  const backend = new DockerApiBackend('berth-test', { host: `unix://${d.sock}` });
  return { backend, image: 'busybox', dispose: async () => { backend.dispose(); await d.stop(); } };
});

describe('a remote engine that goes away and comes back', { timeout: 120_000 }, () => {
  it('reports the loss, reconnects, and its event stream carries on', async () => {
    const d = await startDaemon();
    const b = new DockerApiBackend('restarting', { host: `unix://${d.sock}` });
    try {
      const states: string[] = [];
      const offState = b.onState((s, detail) => states.push(detail ? `${s}: ${detail}` : s));
      const events: string[] = [];
      const off = b.system.events((e) => events.push(`${e.Type}/${e.Action}/${e.Actor.Attributes.name ?? ''}`));
      await d.docker(['volume', 'create', 'before-drop']);
      await until(() => events.includes('volume/create/'), 10_000, 'the first event');
      await d.restart();
      await until(() => states.some((s) => s.startsWith('lost')) && states.at(-1) === 'open', 30_000, `lost then open: ${states.join(' | ')}`);
      assert.match(states.find((s) => s.startsWith('lost'))!, /lost: /);
      await d.docker(['network', 'create', 'after-drop']);
      await until(() => events.includes('network/create/after-drop'), 15_000, `an event after the reconnect: ${events.join(', ')}`);
      assert.equal(events.filter((e) => e === 'volume/create/').length, 1, 'nothing heard twice after the replay');
      off();
      offState();
      await d.docker(['network', 'rm', 'after-drop']);
      await d.docker(['volume', 'rm', 'before-drop']);
    } finally {
      b.dispose();
      await d.stop();
    }
  });
});

if (existsSync(DOCKERD)) {
  // One dockerd for the suite below and the refusals after it.
  let started: Promise<{ d: PrivateDockerd; certs: TestCerts; dir: string }> | undefined;
  const tlsDockerd = () => (started ??= (async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-tls-`);
    const certs = makeCerts(dir);
    const d = await startDockerd({ tls: { port: await freePort(), ca: certs.ca, cert: certs.serverCert, key: certs.serverKey } });
    const loaded = await d.docker(['import', busyboxTarball(), 'busybox:latest']);
    if (loaded.code) throw new Error(`import: ${loaded.err}`);
    return { d, certs, dir };
  })());
  after(async () => {
    if (!started) return;
    const { d, dir } = await started;
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  backendConformance('Docker API client to dockerd over tcp with TLS', async () => {
    const { d, certs } = await tlsDockerd();
    const backend = new DockerApiBackend('dockerd-tls', { host: d.tcp!, tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    return { backend, image: 'busybox', dispose: async () => backend.dispose() };
  });

  describe('TLS refusals', { timeout: 60_000 }, () => {
    const refused = async (name: string, tls: { ca?: string; cert?: string; key?: string }, why: RegExp) => {
      const { d } = await tlsDockerd();
      const b = new DockerApiBackend(name, { host: d.tcp!, tls });
      try {
        await assert.rejects(b.system.info(), (e: { code?: string; message?: string }) => {
          assert.equal(e.code, 'UNAVAILABLE');
          assert.match(e.message ?? '', new RegExp(`engine "${name}" \\(tcp://127\\.0\\.0\\.1:\\d+\\): TLS failed: `));
          assert.match(e.message ?? '', why);
          return true;
        });
      } finally {
        b.dispose();
      }
    };

    it('a client certificate from another CA is refused by the engine', async () => {
      const { certs } = await tlsDockerd();
      await refused('other-ca-client', { ca: certs.ca, cert: certs.otherCert, key: certs.otherKey }, /check the CA certificate and the client certificate/);
    });

    it("an engine whose certificate another CA signed is refused by the client", async () => {
      const { certs } = await tlsDockerd();
      await refused('untrusted-server', { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey }, /certificate/i);
    });

    it('no client certificate at all is refused', async () => {
      const { certs } = await tlsDockerd();
      await refused('no-client-cert', { ca: certs.ca }, /./);
    });
  });
}
