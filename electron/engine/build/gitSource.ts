// ADD of a git repository, as BuildKit does it: `ADD https://host/repo.git#ref:subdir /dest`
// copies the tree at ref (a branch, tag or commit; the default branch without one), or its
// subdirectory, without .git unless --keep-git-dir. The clone runs with the host's git, with no
// hooks, no system or user configuration, no prompts, and only http(s) and git:// transports;
// ssh (git@host:repo, ssh://) too when the build was given SSH keys (the `default` id, as
// BuildKit forwards): they are served by an agent of the clone's own, and as in BuildKit without
// known hosts, the server's host key is not checked.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { invalid } from '../errors.ts';
import { sshAgentFor, type SshAgent } from './sshAgent.ts';

const GIT = ['/usr/bin/git', '/bin/git', '/usr/local/bin/git'].find((p) => existsSync(p));

/** BuildKit's git source forms: git://, git@, ssh://, github.com/…, and http(s) URLs ending in .git. */
export function isGitSource(src: string): boolean {
  const [url] = src.split('#');
  return /^(git:\/\/|git@|ssh:\/\/|github\.com\/)/.test(url) || /^https?:\/\/\S+\.git\/?$/i.test(url);
}

/** ssh for git: no configuration of the host's, no prompt, no host key check (BuildKit's, without known hosts). */
const GIT_SSH = 'ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';

function git(args: string[], cwd: string, home: string, signal: AbortSignal, agent?: SshAgent): Promise<string> {
  const ssh = agent ? ['-c', 'protocol.ssh.allow=always'] : [];
  return new Promise((resolve, reject) => {
    execFile(GIT!, ['-c', 'core.hooksPath=/dev/null', '-c', 'protocol.allow=never', '-c', 'protocol.http.allow=always', '-c', 'protocol.https.allow=always', '-c', 'protocol.git.allow=always', ...ssh, ...args], {
      cwd, signal, timeout: 300_000, maxBuffer: 16 << 20,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/false',
        ...(agent ? { GIT_SSH_COMMAND: GIT_SSH, SSH_AUTH_SOCK: agent.path } : {}),
      },
    }, (e, out, err) => (e ? reject(new Error((err || e.message).trim().split('\n').pop())) : resolve(out.trim())));
  });
}

/**
 * Clones `src` into `dir`; returns the path in it to copy (`.`, or the subdirectory named after
 * the ref), which the caller resolves inside the clone, so a symlink cannot lead out.
 */
export async function cloneGit(src: string, dir: string, opts: { keepGitDir: boolean; checksum?: string; signal: AbortSignal; sshKeys?: Uint8Array[]; sshAgent?: string }): Promise<string> {
  const hash = src.indexOf('#');
  const url = hash < 0 ? src : src.slice(0, hash);
  const [ref, subdir] = hash < 0 ? ['', ''] : src.slice(hash + 1).split(':');
  const fail = (why: string) => invalid(`ADD failed: git source ${url}${ref ? ` at ${ref}` : ''}: ${why}`);
  const overSsh = /^(git@|ssh:\/\/)/.test(url);
  if (overSsh && !opts.sshKeys?.length && !opts.sshAgent) {
    throw fail('ssh needs a key: set one in the Builds view\'s SSH keys (default=/path/to/key, or default alone for the app\'s running agent), or use an https:// URL; the docker CLI cannot send SSH keys over the classic protocol');
  }
  if (!GIT) throw fail('the host has no git (apt-get install git)');
  if (subdir && subdir.split('/').includes('..')) throw fail(`subdirectory ${subdir} climbs out of the repository`);
  const home = `${dir}.home`;
  mkdirSync(home, { recursive: true });
  let agent: SshAgent | undefined;
  try {
    if (overSsh) {
      agent = await sshAgentFor({ type: 'ssh', id: 'default', target: '', sharing: 'shared', readOnly: true, required: true, uid: process.getuid?.(), gid: process.getgid?.() }, opts.sshKeys, `${home}/agent`, opts.sshAgent);
    }
    const full = url.startsWith('github.com/') ? `https://${url}` : url;
    await git(['clone', '--quiet', '--no-checkout', '--', full, dir], home, home, opts.signal, agent).catch((e) => {
      throw fail((e as Error).message);
    });
    await git(['checkout', '--quiet', '--detach', ref ? (/^[0-9a-f]{7,40}$/.test(ref) ? ref : `origin/${ref}`) : 'HEAD'], dir, home, opts.signal)
      .catch(() => git(['checkout', '--quiet', '--detach', `refs/tags/${ref}`], dir, home, opts.signal))
      .catch(() => {
        throw fail(`no branch, tag or commit named ${ref}`);
      });
    const commit = await git(['rev-parse', 'HEAD'], dir, home, opts.signal);
    if (opts.checksum && !commit.startsWith(opts.checksum)) throw fail(`expected checksum to match ${opts.checksum}, got ${commit}`);
    if (!opts.keepGitDir) rmSync(`${dir}/.git`, { recursive: true, force: true });
    return subdir ? subdir.replace(/^\/+|\/+$/g, '') || '.' : '.';
  } finally {
    await agent?.close();
    rmSync(home, { recursive: true, force: true });
  }
}
