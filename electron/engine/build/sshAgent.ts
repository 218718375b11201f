// An SSH agent for RUN --mount=type=ssh, serving the keys a build was given, as BuildKit's
// does for `--ssh id=keyfile`: it lists them and signs with them (the agent protocol's two
// requests a client needs, draft-miller-ssh-agent §4.4–4.5), never hands a key out, and lives on
// a socket of the build's own that the RUN sees. Anything else gets SSH_AGENT_FAILURE.
// Or it relays a running agent (BuildKit's `--ssh default` with SSH_AUTH_SOCK), read-only as
// BuildKit's is: listing and signing go through, adding, removing or locking keys fail.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { NOT_A_KEY, publicBlobOf, readKeyFile, SshKeyError, SshReader, sshWire, mpintBytes, type SshKeyType } from '../../../common/sshKeys.ts';
import { invalid } from '../errors.ts';
import { AGENT_FAILURE as FAILURE, AGENT_IDENTITIES_ANSWER as IDENTITIES_ANSWER, AGENT_REQUEST_IDENTITIES as REQUEST_IDENTITIES, AGENT_SIGN_REQUEST as SIGN_REQUEST, agentMessages, relayable } from '../../../common/agentChannel.ts';
import type { RunMount } from './runMounts.ts';

const SIGN_RESPONSE = 14;
const RSA_SHA2_256 = 2;
const RSA_SHA2_512 = 4;
/** A socket path fits in sun_path (108 bytes); a deep engine root gets one under the temp dir. */
const SUN_PATH = 100;

interface AgentKey {
  type: SshKeyType;
  key: KeyObject;
  blob: Buffer;
  comment: string;
}

/** One private key file's bytes as a key the agent can sign with; `what` names it in errors. */
export function loadSshKey(file: Uint8Array, what: string): AgentKey {
  const textOf = Buffer.from(file).toString('utf8');
  try {
    const k = readKeyFile(textOf);
    if (k !== 'pem') return { type: k.type, key: createPrivateKey({ key: k.jwk as Record<string, string>, format: 'jwk' }), blob: Buffer.from(k.publicBlob), comment: k.comment };
    const key = createPrivateKey(textOf);
    const { type, blob } = publicBlobOf(key.export({ format: 'jwk' }));
    return { type, key, blob: Buffer.from(blob), comment: '' };
  } catch (e) {
    throw invalid(`${what}: ${e instanceof SshKeyError ? e.message : NOT_A_KEY}`);
  }
}

const DIGEST: Record<string, string> = { 'ecdsa-sha2-nistp256': 'sha256', 'ecdsa-sha2-nistp384': 'sha384', 'ecdsa-sha2-nistp521': 'sha512' };

/** The signature blob of `data` as SSH carries it (the algorithm's name, then its bytes). */
function signWith(k: AgentKey, data: Buffer, flags: number): Buffer {
  if (k.type === 'ssh-ed25519') return Buffer.from(sshWire('ssh-ed25519', sign(null, data, k.key)));
  if (k.type === 'ssh-rsa') {
    const [name, hash] = flags & RSA_SHA2_512 ? ['rsa-sha2-512', 'sha512'] : flags & RSA_SHA2_256 ? ['rsa-sha2-256', 'sha256'] : ['ssh-rsa', 'sha1'];
    return Buffer.from(sshWire(name, sign(hash, data, k.key)));
  }
  const rs = sign(DIGEST[k.type], data, { key: k.key, dsaEncoding: 'ieee-p1363' });
  const half = rs.length / 2;
  return Buffer.from(sshWire(k.type, sshWire(mpintBytes(rs.subarray(0, half)), mpintBytes(rs.subarray(half)))));
}

/** Whether a running agent answers at `path`: connects and asks it for its keys. */
export function agentAnswers(path: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(timeoutMs, () => done(false));
    c.once('error', () => done(false));
    c.on('data', agentMessages((msg) => done(msg[0] === IDENTITIES_ANSWER), () => done(false)));
    c.write(Buffer.from(sshWire(Buffer.from([REQUEST_IDENTITIES]))));
  });
}

export class SshAgent {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();

  private constructor(private readonly keys: AgentKey[], readonly path: string, private readonly ownDir?: string, private readonly upstream?: string) {
    this.server = createServer((s) => (upstream ? this.relay(s, upstream) : this.serve(s)));
  }

  /**
   * Listens on `path` (its directory made 0700), or in a directory of its own under the temp
   * dir when `path` would not fit a socket address; the caller sets the socket's owner and mode.
   */
  static async listen(keys: AgentKey[], path: string, upstream?: string): Promise<SshAgent> {
    let ownDir: string | undefined;
    if (Buffer.byteLength(path) > SUN_PATH) {
      ownDir = mkdtempSync(`${tmpdir()}/berth-ssh-`);
      path = `${ownDir}/agent`;
    }
    mkdirSync(path.replace(/\/[^/]+$/, ''), { recursive: true, mode: 0o700 });
    rmSync(path, { force: true });
    const a = new SshAgent(keys, path, ownDir, upstream);
    await new Promise<void>((resolve, reject) => {
      a.server.once('error', reject);
      a.server.listen(path, () => resolve());
    });
    return a;
  }

  private serve(s: Socket): void {
    this.clients.add(s);
    s.on('close', () => this.clients.delete(s));
    s.on('error', () => undefined);
    s.on('data', agentMessages((msg) => s.write(this.answer(msg)), () => s.destroy())); // not an agent client: dropped
  }

  /**
   * A client's requests to the running agent at `upstream`, one at a time over a connection of its
   * own: listing and signing are passed on and their answers back, anything else fails here.
   */
  private relay(s: Socket, upstream: string): void {
    this.clients.add(s);
    const up = connect(upstream);
    const answers: ((msg: Uint8Array) => void)[] = [];
    let queue = Promise.resolve();
    const close = () => {
      s.destroy();
      up.destroy();
    };
    s.on('close', () => (this.clients.delete(s), up.destroy()));
    for (const c of [s, up]) c.on('error', close);
    up.on('close', () => s.destroy());
    up.on('data', agentMessages((msg) => answers.shift()?.(msg), close));
    const ask = (msg: Uint8Array) => new Promise<Uint8Array>((resolve) => {
      answers.push(resolve);
      up.write(Buffer.from(sshWire(msg)));
    });
    s.on('data', agentMessages((msg) => {
      queue = queue.then(async () => {
        const reply = relayable(msg) ? await ask(msg) : Buffer.from([FAILURE]);
        if (!s.destroyed) s.write(Buffer.from(sshWire(reply)));
      });
    }, close));
  }

  private answer(msg: Uint8Array): Buffer {
    const reply = (body: Uint8Array) => Buffer.from(sshWire(body));
    try {
      if (msg[0] === REQUEST_IDENTITIES) {
        const list = this.keys.flatMap((k) => [k.blob, k.comment]);
        return reply(Buffer.concat([Buffer.from([IDENTITIES_ANSWER]), sshWire(this.keys.length, ...list)]));
      }
      if (msg[0] === SIGN_REQUEST) {
        const r = new SshReader(msg.subarray(1));
        const blob = Buffer.from(r.string());
        const data = Buffer.from(r.string());
        const flags = r.left >= 4 ? r.uint32() : 0;
        const k = this.keys.find((x) => x.blob.equals(blob));
        if (k) return reply(Buffer.concat([Buffer.from([SIGN_RESPONSE]), sshWire(signWith(k, data, flags))]));
      }
    } catch {
      /* a malformed request: a failure, as any agent answers */
    }
    return reply(Buffer.from([FAILURE]));
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.ownDir ?? this.path, { recursive: true, force: true });
  }
}

/**
 * The agent of one RUN --mount=type=ssh (target and id already defaulted): none when the build was
 * given neither keys nor a running agent for its id and the mount is not required (BuildKit skips
 * it), else listening with the mount's owner and mode (default 0600, root's). `running`: the socket
 * of a running agent to relay instead, which must answer now.
 */
export async function sshAgentFor(m: RunMount, files: Uint8Array[] | undefined, path: string, running?: string): Promise<SshAgent | undefined> {
  if (running) {
    if (!(await agentAnswers(running))) {
      throw invalid(`ssh "${m.id}": no SSH agent answers at ${running} (on the engine's machine, or through the app's agent channel): start one, or give key files instead (${m.id}=/path/to/key)`);
    }
  } else if (!files?.length) {
    if (!m.required) return undefined;
    throw invalid(`ssh key "${m.id}" is required, but this build was not given it: set it in the Builds view's SSH keys (${m.id}=/path/to/key); the docker CLI cannot send SSH keys over the classic protocol`);
  }
  const keys = running ? [] : files!.map((f, i) => loadSshKey(f, `ssh key "${m.id}"${files!.length > 1 ? ` (file ${i + 1})` : ''}`));
  const agent = await SshAgent.listen(keys, path, running);
  try {
    chmodSync(agent.path, m.mode ?? 0o600);
    chownSync(agent.path, m.uid ?? 0, m.gid ?? 0);
  } catch (e) {
    await agent.close();
    throw e;
  }
  return agent;
}
