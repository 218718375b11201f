// The build's SSH agent against OpenSSH's own clients: keys ssh-keygen made (Ed25519, RSA,
// ECDSA; OpenSSH and PEM files) are listed by `ssh-add -l` and sign for `ssh-keygen -Y sign`,
// whose signatures `ssh-keygen -Y check-novalidate` accepts. Bad key files are refused by name.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { parseOpensshKey } from '../../../common/sshKeys.ts';
import { agentAnswers, loadSshKey, sshAgentFor, SshAgent } from './sshAgent.ts';

const hasOpenssh = spawnSync('ssh-keygen', ['-?']).error === undefined;

/** A client of the agent runs beside it, never blocking the process the agent answers in. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = execFile(cmd, args, { env, encoding: 'utf8' }, (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: out + err }));
    c.stdin!.end(input ?? '');
  });
}

describe('build ssh agent', { skip: !hasOpenssh && 'ssh-keygen is not installed (openssh-client)' }, () => {
  const dir = mkdtempSync(`${tmpdir()}/berth-sshagent-`);
  const KEYS = [
    { name: 'ed', args: ['-t', 'ed25519'] },
    { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'] },
    { name: 'ec', args: ['-t', 'ecdsa', '-b', '384'] },
    { name: 'pem', args: ['-t', 'rsa', '-b', '2048', '-m', 'PEM'] },
  ];
  let agent: SshAgent;
  const env = () => ({ ...process.env, SSH_AUTH_SOCK: agent.path });

  before(async () => {
    for (const k of KEYS) execFileSync('ssh-keygen', ['-q', ...k.args, '-N', '', '-C', `key-${k.name}`, '-f', `${dir}/${k.name}`]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret words', '-f', `${dir}/locked`]);
    const keys = KEYS.map((k) => loadSshKey(readFileSync(`${dir}/${k.name}`), k.name));
    agent = await SshAgent.listen(keys, `${dir}/agent/sock`);
  });
  after(async () => {
    await agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads OpenSSH key files to the public key ssh-keygen wrote', () => {
    for (const k of KEYS.slice(0, 3)) {
      const parsed = parseOpensshKey(readFileSync(`${dir}/${k.name}`, 'utf8'));
      const [type, blob, comment] = readFileSync(`${dir}/${k.name}.pub`, 'utf8').trim().split(' ');
      assert.deepEqual([parsed.type, Buffer.from(parsed.publicBlob).toString('base64'), parsed.comment], [type, blob, comment]);
    }
  });

  it('lists its keys to ssh-add', async () => {
    const listed = (await run('ssh-add', ['-L'], env())).out.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
    const want = KEYS.map((k) => readFileSync(`${dir}/${k.name}.pub`, 'utf8').split(' ').slice(0, 2).join(' '));
    assert.deepEqual(listed, want);
  });

  it('signs with every key type, and the signatures verify', async () => {
    writeFileSync(`${dir}/data`, 'signed by the build agent\n');
    for (const k of KEYS) {
      rmSync(`${dir}/data.sig`, { force: true });
      // Given a public key, ssh-keygen asks the agent to sign.
      const signed = await run('ssh-keygen', ['-Y', 'sign', '-n', 'file', '-f', `${dir}/${k.name}.pub`, `${dir}/data`], env());
      assert.equal(signed.code, 0, `${k.name}: ${signed.out}`);
      const check = await run('ssh-keygen', ['-Y', 'check-novalidate', '-n', 'file', '-s', `${dir}/data.sig`], env(), readFileSync(`${dir}/data`));
      assert.equal(check.code, 0, `${k.name}: ${check.out}`);
    }
  });

  it('answers a request it does not serve with a failure, and drops a client that is not one', async () => {
    const ask = (frame: Buffer) => new Promise<Buffer | 'closed'>((resolve) => {
      const c = createConnection(agent.path);
      c.once('data', (d) => {
        resolve(d);
        c.destroy();
      });
      c.once('close', () => resolve('closed'));
      c.write(frame);
    });
    assert.deepEqual(await ask(Buffer.from([0, 0, 0, 1, 17])), Buffer.from([0, 0, 0, 1, 5])); // add identity: refused
    assert.equal(await ask(Buffer.from([0xff, 0xff, 0xff, 0xff, 11])), 'closed');
    assert.equal((await run('ssh-add', ['-l'], env())).out.trim().split('\n').length, KEYS.length, 'still serving');
  });

  it('refuses a key with a passphrase, and a file that is no key, naming it', () => {
    assert.throws(() => loadSshKey(readFileSync(`${dir}/locked`), 'ssh key default (locked)'), /^.*ssh key default \(locked\): it is protected by a passphrase: give a copy without one/);
    assert.throws(() => loadSshKey(readFileSync(`${dir}/ed.pub`), 'ssh key x'), /ssh key x: it is not a private key file/);
    const damaged = readFileSync(`${dir}/ed`, 'utf8').replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END');
    assert.throws(() => loadSshKey(Buffer.from(damaged), 'ssh key y'), /ssh key y: the file is damaged/);
  });

  it('relays a running ssh-agent read-only: its keys list and sign, adding, removing and locking fail', async () => {
    // OpenSSH's own agent, in the foreground so that it is ended by its PID.
    const upstream = `${dir}/running.sock`;
    const real = spawn('ssh-agent', ['-D', '-a', upstream], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(upstream); i++) await new Promise((r) => setTimeout(r, 20));
      const realEnv = { ...process.env, SSH_AUTH_SOCK: upstream };
      assert.equal((await run('ssh-add', [`${dir}/ed`], realEnv)).code, 0);
      assert.equal(await agentAnswers(upstream), true);
      assert.equal(await agentAnswers(`${dir}/no-such.sock`), false);
      const relay = await sshAgentFor({ type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', sharing: 'shared', readOnly: true, required: false, uid: process.getuid?.(), gid: process.getgid?.() }, undefined, `${dir}/relay/sock`, upstream);
      assert.ok(relay);
      try {
        const relayEnv = { ...process.env, SSH_AUTH_SOCK: relay.path };
        const listed = (await run('ssh-add', ['-L'], relayEnv)).out.trim().split(' ').slice(0, 2).join(' ');
        assert.equal(listed, readFileSync(`${dir}/ed.pub`, 'utf8').split(' ').slice(0, 2).join(' '));
        writeFileSync(`${dir}/data`, 'signed through the relay\n');
        rmSync(`${dir}/data.sig`, { force: true });
        const signed = await run('ssh-keygen', ['-Y', 'sign', '-n', 'file', '-f', `${dir}/ed.pub`, `${dir}/data`], relayEnv);
        assert.equal(signed.code, 0, signed.out);
        assert.equal((await run('ssh-keygen', ['-Y', 'check-novalidate', '-n', 'file', '-s', `${dir}/data.sig`], relayEnv, readFileSync(`${dir}/data`))).code, 0);
        // The build may not change the running agent.
        assert.notEqual((await run('ssh-add', [`${dir}/rsa`], relayEnv)).code, 0, 'adding a key fails');
        assert.notEqual((await run('ssh-add', ['-D'], relayEnv)).code, 0, 'removing all fails');
        assert.notEqual((await run('ssh-add', ['-x'], relayEnv, Buffer.from('pw\npw\n'))).code, 0, 'locking fails');
        assert.equal((await run('ssh-add', ['-l'], realEnv)).out.trim().split('\n').length, 1, 'the running agent holds its one key still');
      } finally {
        await relay.close();
      }
      await assert.rejects(sshAgentFor({ type: 'ssh', id: 'gone', target: '/x', sharing: 'shared', readOnly: true, required: true }, undefined, `${dir}/relay2/sock`, `${dir}/no-such.sock`),
        /ssh "gone": no SSH agent answers at .*no-such\.sock \(on the engine's machine, or through the app's agent channel\): start one, or give key files instead/);
    } finally {
      real.kill();
    }
  });
});
