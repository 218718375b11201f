// Secrets and SSH keys for a build sent the way the app sends them to an engine it reaches over
// the Docker API (a VM's, a remote one): ahead of the build, to Berth's build-credentials
// extension. A RUN --mount=type=ssh gets an agent with the keys (checked by a static agent
// client in the image: it lists the key and has it sign, and the signature verifies), a
// secret its file; neither lands in the image; a required key that was not given, an unknown
// token and an engine without the extension (a dockerd) are refused with what to do.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { DockerApiBackend } from '../../electron/backend/dockerApi/backend.ts';
import { packFolder, scanFolder } from '../../electron/host/buildContext.ts';
import { SshReader } from '../../common/sshKeys.ts';
import type { BuildRequest } from '../../common/build.ts';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { SSHD, startSshd } from '../helpers/sshd.ts';

const hasTools = spawnSync('ssh-keygen', ['-?']).error === undefined && spawnSync('gcc', ['--version']).status === 0;

describe('build secrets and SSH keys over the Docker API', { timeout: 300_000, skip: !hasTools && 'needs ssh-keygen (openssh-client) and gcc' }, () => {
  let daemon: TestDaemon;
  let backend: DockerApiBackend;
  let work: string;

  before(async () => {
    work = mkdtempSync(`${tmpdir()}/berth-buildcred-`);
    daemon = await startDaemon();
    const loaded = await daemon.docker(['import', busyboxTarball(), 'busybox:latest']);
    assert.equal(loaded.code, 0, loaded.err);
    backend = new DockerApiBackend('berth-test', { host: `unix://${daemon.sock}` });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@berth-test', '-f', `${work}/key`]);
  });
  after(async () => {
    backend?.dispose();
    await daemon?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const build = async (name: string, dockerfile: string, req: BuildRequest) => {
    const dir = `${work}/${name}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/Dockerfile`, dockerfile);
    const out: string[] = [];
    try {
      const id = await backend.images.build(packFolder(scanFolder(dir)), req, { stream: (t) => out.push(t), aux: () => undefined, progress: () => undefined });
      return { id, out: out.join(''), error: undefined };
    } catch (e) {
      return { error: e as Error & { code?: string }, out: out.join('') };
    }
  };
  const cat = async (image: string, cmd: string) => (await daemon.docker(['run', '--rm', image, 'sh', '-c', cmd])).out;
  /** The agent client's output in an image: one key (its comment, the .pub key's blob), and a signature that verifies with it. */
  const signedByKey = async (image: string, comment: string) => {
    const lines = (await cat(image, 'cat /agent.out')).trim().split('\n');
    const [, pubB64] = readFileSync(`${work}/key.pub`, 'utf8').split(' ');
    assert.equal(lines[0], 'keys 1');
    assert.equal(lines[1], `key ${comment} ${Buffer.from(pubB64, 'base64').toString('hex')}`);
    const sig = new SshReader(Buffer.from(lines[2].replace(/^sig /, ''), 'hex'));
    assert.equal(Buffer.from(sig.string()).toString(), 'ssh-ed25519');
    const pub = new SshReader(Buffer.from(pubB64, 'base64'));
    pub.string();
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub.string()).toString('base64url') }, format: 'jwk' });
    assert.ok(verify(null, Buffer.from('berth-build'), key, Buffer.from(sig.string())), 'the signature verifies');
  };

  it('serves the keys to RUN --mount=type=ssh: listed, signing, at the mount\'s path, owner and mode; a secret too; none in the image', async () => {
    mkdirSync(`${work}/ok`, { recursive: true });
    execFileSync('gcc', ['-static', '-O1', '-o', `${work}/ok/agentclient`, 'test/fixtures/ssh/agentclient.c']);
    const r = await build('ok', [
      'FROM busybox:latest',
      'COPY agentclient /agentclient',
      'RUN --mount=type=ssh /agentclient > /agent.out && echo "$SSH_AUTH_SOCK" > /sock.out',
      'RUN --mount=type=ssh,id=deploy,target=/tmp/deploy.sock,uid=65534,mode=0660 stat -c "%u %a %F" /tmp/deploy.sock > /deploy.out && echo "$SSH_AUTH_SOCK" >> /deploy.out',
      'RUN --mount=type=secret,id=token,required=true cat /run/secrets/token > /token.out',
      'RUN --mount=type=ssh,id=absent true',
      '',
    ].join('\n'), {
      tags: ['credtest'],
      secrets: { token: Buffer.from('s3cret-value') },
      ssh: { default: [readFileSync(`${work}/key`)], deploy: [readFileSync(`${work}/key`)] },
    });
    assert.ok(!r.error, `${r.out}${r.error?.message ?? ''}`);
    // The agent lists the key with its comment and signs; the signature verifies with the .pub key.
    await signedByKey('credtest', 'deploy@berth-test');
    assert.equal(await cat('credtest', 'cat /sock.out'), '/run/buildkit/ssh_agent.0\n');
    assert.equal(await cat('credtest', 'cat /deploy.out'), '65534 660 socket\n/tmp/deploy.sock\n');
    assert.equal(await cat('credtest', 'cat /token.out'), 's3cret-value');
    // Nothing of the mounts is left in the image.
    assert.equal(await cat('credtest', 'ls -A /tmp; test -e /run/buildkit || echo no-agent; test -e /run/secrets || echo no-secret'), 'no-agent\nno-secret\n');
    // Nor on the engine: the agent sockets and the secret files went with the build.
    assert.equal(spawnSync('sh', ['-c', `ls -d ${daemon.base}/root/build/*/ssh ${tmpdir()}/berth-ssh-* 2>/dev/null`]).stdout.toString(), '');
  });

  it('relays the app\'s running ssh-agent to RUN --mount=type=ssh (BuildKit\'s --ssh default) through an agent channel, read-only', async () => {
    // OpenSSH's own agent holding the key, in the foreground so that it is ended by its PID.
    const upstream = `${work}/running-agent.sock`;
    const real = spawn('ssh-agent', ['-D', '-a', upstream], { stdio: 'ignore' });
    // The app reaches the engine through a proxy that keeps what the app sends: the agent's path
    // must not be in it (an engine elsewhere could not use it), the channel must.
    const proxySock = `${work}/proxy.sock`;
    const sent: Buffer[] = [];
    const proxy = createNetServer((s) => {
      const up = netConnect(daemon.sock);
      s.on('data', (d) => sent.push(d));
      s.pipe(up).pipe(s);
      for (const x of [s, up]) for (const ev of ['error', 'close']) x.on(ev, () => (s.destroy(), up.destroy()));
    });
    await new Promise<void>((r) => proxy.listen(proxySock, r));
    const viaProxy = new DockerApiBackend('berth-proxied', { host: `unix://${proxySock}` });
    const buildVia = async (name: string, dockerfile: string, req: BuildRequest) => {
      mkdirSync(`${work}/${name}`, { recursive: true });
      writeFileSync(`${work}/${name}/Dockerfile`, dockerfile);
      return viaProxy.images.build(packFolder(scanFolder(`${work}/${name}`)), req, { stream: () => undefined, aux: () => undefined, progress: () => undefined }).then((id) => ({ id, error: undefined }), (error: Error) => ({ id: undefined, error }));
    };
    try {
      for (let i = 0; i < 100 && !existsSync(upstream); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', [`${work}/key`], { env: { ...process.env, SSH_AUTH_SOCK: upstream }, stdio: 'ignore' });
      mkdirSync(`${work}/relay`, { recursive: true });
      execFileSync('gcc', ['-static', '-O1', '-o', `${work}/relay/agentclient`, 'test/fixtures/ssh/agentclient.c']);
      const r = await buildVia('relay', 'FROM busybox:latest\nCOPY agentclient /agentclient\nRUN --mount=type=ssh /agentclient > /agent.out\n', { tags: ['relaytest'], sshAgents: { default: upstream } });
      assert.ok(!r.error, r.error?.message);
      await signedByKey('relaytest', 'deploy@berth-test');
      const wire = Buffer.concat(sent).toString('latin1');
      assert.match(wire, /POST \/v[\d.]+\/berth\/build-agents\?token=[0-9a-f]+&id=default /);
      assert.ok(!wire.includes(upstream), 'the agent\'s path stays with the app');
      // Read-only: the client's request to remove every key failed, and the key stays.
      assert.equal((await cat('relaytest', 'cat /agent.out')).trim().split('\n')[3], 'remove-all 5');
      assert.match(execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: upstream }, encoding: 'utf8' }), /deploy@berth-test/);
      await daemon.docker(['rmi', 'relaytest']);
      // The channel's sockets went with the build.
      const channelDirs = () => spawnSync('sh', ['-c', `ls -d ${tmpdir()}/berth-agents-* 2>/dev/null`]).stdout.toString();
      for (let i = 0; i < 100 && channelDirs(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(channelDirs(), '');
      // An engine with credentials but no agent channel (a Berth older than the app): refused before the build.
      const seen: string[] = [];
      const oldSock = `${work}/old-berth.sock`;
      const old = createServer((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        req.resume();
        if (req.url?.includes('/berth/build-credentials')) res.writeHead(201, { 'content-type': 'application/json' }).end('{"Token":"0123456789abcdef"}');
        else res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
      });
      old.on('upgrade', (req, socket) => {
        seen.push(`${req.method} ${req.url}`);
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 28\r\n\r\n{"message":"page not found"}');
      });
      await new Promise<void>((r) => old.listen(oldSock, r));
      const oldBackend = new DockerApiBackend('old-berth', { host: `unix://${oldSock}` });
      try {
        await assert.rejects(oldBackend.images.build(packFolder(scanFolder(`${work}/relay`)), { sshAgents: { default: upstream } }, { stream: () => undefined, aux: () => undefined, progress: () => undefined }),
          (e: Error & { code?: string }) => e.code === 'UNSUPPORTED' && /engine "old-berth" cannot reach this machine's SSH agent .*give key files instead/.test(e.message));
        assert.ok(!seen.some((x) => /\/build\?/.test(x)), seen.join(', '));
      } finally {
        oldBackend.dispose();
        await new Promise((r) => old.close(r));
      }
      // An agent that does not answer on the app's machine: said before anything is sent, with what to do.
      const gone = await build('relay', 'FROM busybox:latest\nRUN --mount=type=ssh true\n', { sshAgents: { default: `${work}/no-agent.sock` } });
      assert.match(gone.error?.message ?? '', /ssh "default": no SSH agent answers at .*no-agent\.sock: start one .*or give key files instead/);
    } finally {
      viaProxy.dispose();
      await new Promise((r) => proxy.close(r));
      real.kill();
    }
  });

  it('refuses a required key it was not given, an unknown token, and an engine that cannot take them', async () => {
    const missing = await build('missing', 'FROM busybox:latest\nRUN --mount=type=ssh,required=true true\n', { ssh: { other: [readFileSync(`${work}/key`)] } });
    assert.match(missing.error?.message ?? '', /ssh key "default" is required, but this build was not given it: set it in the Builds view's SSH keys/);
    const bad = await build('badkey', 'FROM busybox:latest\nRUN --mount=type=ssh true\n', { ssh: { default: [readFileSync(`${work}/key.pub`)] } });
    assert.match(bad.error?.message ?? '', /ssh key "default": it is not a private key file/);
    // A token nobody sent.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: daemon.sock, method: 'POST', path: '/build?berthcredentials=0123456789abcdef', headers: { 'content-type': 'application/x-tar' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(Buffer.alloc(1024));
    });
    assert.equal(status, 400);
    // An engine without the extension answers 404, as dockerd does: refused, and no build is sent.
    const seen: string[] = [];
    const sock = `${work}/dockerd-like.sock`;
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const other = new DockerApiBackend('dockerd-like', { host: `unix://${sock}` });
    try {
      await assert.rejects(other.images.build(packFolder(scanFolder(`${work}/missing`)), { secrets: { a: Buffer.from('x') } }, { stream: () => undefined, aux: () => undefined, progress: () => undefined }),
        (e: Error & { code?: string }) => e.code === 'UNSUPPORTED' && /engine "dockerd-like" cannot take build secrets or SSH keys/.test(e.message));
      assert.ok(seen.every((s) => s.includes('/berth/build-credentials')), seen.join(', '));
    } finally {
      other.dispose();
      await new Promise((r) => server.close(r));
    }
  });

  it('ADD of a git repository over ssh uses the build\'s default key; without one it says what to do', { skip: !existsSync(SSHD) && 'openssh-server is not installed' }, async () => {
    const src = `${work}/gitsrc`;
    mkdirSync(`${src}/sub`, { recursive: true });
    writeFileSync(`${src}/sub/hello.txt`, 'over ssh\n');
    const g = (args: string[], cwd = src) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd, stdio: 'pipe' });
    g(['init', '-q', '-b', 'main']);
    g(['add', '.']);
    g(['commit', '-q', '-m', 'one']);
    g(['clone', '-q', '--bare', src, `${work}/repo.git`], work);
    mkdirSync(`${work}/sshd`);
    const sshd = await startSshd(`${work}/sshd`, readFileSync(`${work}/key.pub`, 'utf8'));
    try {
      const url = `ssh://${userInfo().username}@127.0.0.1:${sshd.port}${work}/repo.git#main:sub`;
      const r = await build('gitssh', `FROM busybox:latest\nADD ${url} /app\n`, { tags: ['gitssh'], ssh: { default: [readFileSync(`${work}/key`)] } });
      assert.ok(!r.error, `${r.out}${r.error?.message ?? ''}`);
      assert.equal(await cat('gitssh', 'cat /app/hello.txt; ls -A /app'), 'over ssh\nhello.txt\n');
      const none = await build('gitssh-nokey', `FROM busybox:latest\nADD ${url} /app\n`, {});
      assert.match(none.error?.message ?? '', /ssh needs a key: set one in the Builds view's SSH keys/);
    } finally {
      await sshd.stop();
    }
  });
});
