// `docker -H ssh://user@host` against a Berth host: the docker CLI runs the system's ssh, and
// an sshd the test starts on 127.0.0.1 (its own host key, a client key restricted to
// `berth system dial-stdio`) relays to `berth daemon`'s socket.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { until } from '../helpers/run.ts';
import { SSHD, startSshd, type TestSshd } from '../helpers/sshd.ts';
import { DockerApiBackend } from '../../electron/backend/dockerApi/backend.ts';
import type { EngineEvent } from '../../common/docker.ts';

const DOCKER = '/usr/local/bin/docker';
const BERTH = join(import.meta.dirname, '../../bin/berth.mjs');

describe('the docker CLI over ssh to a Berth host', { timeout: 180_000, skip: (!existsSync(DOCKER) && 'the docker CLI is not installed') || (!existsSync(SSHD) && 'openssh-server is not installed') }, () => {
  let d: TestDaemon;
  let dir: string;
  let sshd: TestSshd | undefined;
  let port: number;

  const docker = (args: string[], input?: string) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const p = execFile(DOCKER, args, {
      env: { ...process.env, DOCKER_HOST: `ssh://${userInfo().username}@127.0.0.1:${port}`, DOCKER_CONFIG: `${dir}/cli`, PATH: `${dir}/bin:${process.env.PATH}` },
      timeout: 60_000, maxBuffer: 1 << 26,
    }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
    p.stdin!.end(input);
  });

  before(async () => {
    d = await startDaemon();
    dir = mkdtempSync(`${tmpdir()}/berth-ssh-`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/client_key`]);
    // The key can do one thing: relay to this engine's socket.
    const forced = `${process.execPath} ${BERTH} system dial-stdio --host unix://${d.sock}`;
    sshd = await startSshd(dir, `command="${forced}",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding ${readFileSync(`${dir}/client_key.pub`, 'utf8')}`);
    port = sshd.port;
    writeFileSync(`${dir}/ssh_config`, [
      'Host 127.0.0.1', `  IdentityFile ${dir}/client_key`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${dir}/known_hosts`,
      '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR',
    ].join('\n') + '\n');
    writeFileSync(`${dir}/known_hosts`, sshd.knownHost);
    // The docker CLI runs `ssh` from PATH; this one reads the test's config.
    mkdirSync(`${dir}/bin`);
    writeFileSync(`${dir}/bin/ssh`, `#!/bin/sh\nexec /usr/bin/ssh -F ${dir}/ssh_config "$@"\n`);
    chmodSync(`${dir}/bin/ssh`, 0o755);
  });

  after(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await d?.stop();
  });

  it('version, import, run with stdin, ps and rm go through ssh and berth system dial-stdio', async () => {
    const v = await docker(['version', '--format', '{{.Server.Version}} {{.Server.Os}}']);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^\S+ linux\n$/);
    const image = 'sshimg:1';
    const imported = await docker(['import', busyboxTarball(), image]); // a 1 MB upload through the relay
    assert.equal(imported.code, 0, imported.err);
    const run = await docker(['run', '--rm', '-i', '--name', 'oversh', image, 'sh', '-c', 'cat; echo done'], 'through ssh\n');
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out, 'through ssh\ndone\n');
    const bg = await docker(['run', '-d', '--name', 'sshbg', image, 'sleep', '300']);
    assert.equal(bg.code, 0, bg.err);
    assert.equal((await docker(['ps', '--format', '{{.Names}}'])).out, 'sshbg\n');
    assert.equal((await docker(['rm', '-f', 'sshbg'])).code, 0);
    assert.equal((await docker(['rmi', image])).code, 0);
  });

  it("the app's Docker API client backend reaches the engine through ssh: lifecycle, events, exec", async () => {
    const b = new DockerApiBackend('over-ssh', { host: `ssh://${userInfo().username}@127.0.0.1:${port}`, sshCommand: ['ssh', '-F', `${dir}/ssh_config`] });
    try {
      assert.match((await b.system.version()).Version, /\S/);
      assert.equal((await d.docker(['import', busyboxTarball(), 'sshbb:1'])).code, 0);
      const events: EngineEvent[] = [];
      const off = b.system.events((e) => events.push(e));
      const { Id } = await b.containers.create({ Image: 'sshbb:1', Cmd: ['sleep', '300'], name: 'ssh-backend' });
      await b.containers.start(Id);
      const x = await b.exec.create(Id, { Cmd: ['echo', 'exec-over-ssh'], AttachStdout: true });
      const s = (await b.exec.start(x.Id))!;
      let out = Buffer.alloc(0);
      for await (const c of s.stream) out = Buffer.concat([out, c as Buffer]);
      assert.match(out.toString(), /exec-over-ssh/);
      assert.equal((await b.exec.inspect(x.Id)).ExitCode, 0);
      await until(() => events.some((e) => e.Actor.ID === Id && e.Action === 'start'), 10_000, 'the start event over ssh');
      off();
      await b.containers.remove(Id, { force: true });
      await d.docker(['rmi', 'sshbb:1']);
    } finally {
      b.dispose();
    }
  });

  it('a refused ssh key is named with the engine', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/other_key`]);
    writeFileSync(`${dir}/ssh_config_other`, readFileSync(`${dir}/ssh_config`, 'utf8').replace(`${dir}/client_key`, `${dir}/other_key`));
    const b = new DockerApiBackend('refused', { host: `ssh://${userInfo().username}@127.0.0.1:${port}`, sshCommand: ['ssh', '-F', `${dir}/ssh_config_other`] });
    try {
      await assert.rejects(b.system.info(), (e: { code?: string; message?: string }) => e.code === 'UNAVAILABLE' && /engine "refused".*ssh failed: .*Permission denied/.test(e.message ?? ''));
    } finally {
      b.dispose();
    }
  });

  it('dial-stdio names an unreachable socket and a host that is not a unix socket', () => {
    const run = (args: string[]) => {
      try {
        execFileSync(process.execPath, [BERTH, 'system', 'dial-stdio', ...args], { input: '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
        return { code: 0, err: '' };
      } catch (e) {
        return { code: (e as { status: number }).status, err: String((e as { stderr: string }).stderr) };
      }
    };
    const gone = run(['--host', `unix://${dir}/nothing.sock`]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, new RegExp(`cannot reach ${dir}/nothing.sock: no engine is listening there; start it with \`berth daemon\``));
    const tcp = run(['--host', 'tcp://127.0.0.1:2375']);
    assert.equal(tcp.code, 1);
    assert.match(tcp.err, /tcp:\/\/127\.0\.0\.1:2375 is not a unix socket; give --host unix:\/\/\/path\/to\/docker\.sock/);
  });
});
