// An sshd for tests on 127.0.0.1: its own host key, config and port, the given authorized
// keys; stopped by its PID (and /run/sshd, its privilege separation directory, removed when
// this made it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { until } from './run.ts';

export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  /** `[127.0.0.1]:port key` for a known_hosts file */
  knownHost: string;
  stop(): Promise<void>;
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts sshd with its files in `dir` (which the caller removes). */
export async function startSshd(dir: string, authorizedKeys: string): Promise<TestSshd> {
  const port = await freeLoopbackPort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/host_key`]);
  writeFileSync(`${dir}/authorized_keys`, authorizedKeys);
  writeFileSync(`${dir}/sshd_config`, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${dir}/host_key`, `PidFile ${dir}/sshd.pid`, `AuthorizedKeysFile ${dir}/authorized_keys`,
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'LogLevel ERROR',
  ].join('\n') + '\n');
  let madePrivsep = false;
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    madePrivsep = true;
  }
  const sshd = spawn(SSHD, ['-D', '-e', '-f', `${dir}/sshd_config`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr!.on('data', (b) => (log += b));
  const stop = async () => {
    if (sshd.pid && sshd.exitCode === null) {
      const exited = new Promise((r) => sshd.once('exit', r));
      process.kill(sshd.pid, 'SIGTERM');
      await exited;
    }
    if (madePrivsep) rmSync('/run/sshd', { recursive: true, force: true });
  };
  await until(() => existsSync(`${dir}/sshd.pid`) || sshd.exitCode !== null, 10_000, 'sshd to listen');
  if (sshd.exitCode !== null) {
    await stop();
    throw new Error(`sshd exited: ${log}`);
  }
  return { port, knownHost: `[127.0.0.1]:${port} ${readFileSync(`${dir}/host_key.pub`, 'utf8')}`, stop };
}
