// Outbound traffic of a rootless engine's containers: one slirp4netns per engine, attached to
// the network namespace its bridges live in, as Docker's rootless mode does. Options from
// rootless.md §5: the MTU of the bridges (65520), no access to the host's loopback (a container
// must not reach services bound only on 127.0.0.1, Berth's own web UI among them), its own
// sandbox and seccomp filter. The process outlives an engine restart (its pid is kept in the
// run directory) so running containers keep their connections.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAlive, procStarttime, terminate, type ProcessRef } from '../sys/proc.ts';
import { ROOTLESS_MTU } from './networkService.ts';

const SLIRP = ['/usr/bin/slirp4netns', '/usr/local/bin/slirp4netns', '/bin/slirp4netns'].find((p) => existsSync(p));
const TAP = 'tap0';
/** slirp4netns configures the namespace in milliseconds; a loaded machine may take seconds */
const READY_TIMEOUT_MS = 15_000;

export interface Egress {
  /** the running slirp4netns, if outbound traffic works */
  process?: ProcessRef;
  /** why containers have no outbound traffic, with the fix */
  warning?: string;
}

/** Why slirp4netns cannot run here, or undefined when it can. */
export function egressProblem(): string | undefined {
  if (!SLIRP) return 'slirp4netns is not installed, so containers have no outbound network (apt-get install slirp4netns)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is not usable by this user, so containers have no outbound network (make it mode 0666, as udev does on most systems: chmod 0666 /dev/net/tun)';
  }
  return undefined;
}

/** The namespace routes outbound traffic through slirp4netns's device (configured and up). */
function tapExists(netnsPid: number): boolean {
  try {
    return readFileSync(`/proc/${netnsPid}/net/route`, 'latin1').split('\n').some((l) => l.startsWith(`${TAP}\t00000000\t`));
  } catch {
    return false;
  }
}

/** Starts slirp4netns for the namespace of `netnsPid` unless one already serves it. */
export async function ensureEgress(netnsPid: number, pidFile: string): Promise<Egress> {
  try {
    const [pid, starttime] = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    const ref = { pid, starttime };
    if (isAlive(ref) && tapExists(netnsPid)) return { process: ref };
    if (isAlive(ref)) terminate(ref);
  } catch {
    /* none recorded */
  }
  const problem = egressProblem();
  if (problem) return { warning: problem };
  // The sandbox and seccomp options are hardening that some kernels or sandboxes refuse; as
  // rootlesskit's "auto" does, slirp4netns then runs without them rather than not at all.
  let started = await startSlirp(netnsPid, true);
  if ('failure' in started) {
    const hardened = started.failure;
    started = await startSlirp(netnsPid, false);
    if ('failure' in started) {
      return { warning: `slirp4netns failed, so containers have no outbound network: ${hardened} (without its sandbox: ${started.failure})` };
    }
  }
  const child = started.child;
  child.stderr!.destroy();
  child.unref();
  (child.stdio[3] as NodeJS.ReadableStream | null)?.removeAllListeners();
  (child.stdio[3] as { destroy?: () => void } | null)?.destroy?.();
  const ref = { pid: child.pid!, starttime: procStarttime(child.pid!) ?? 0 };
  writeFileSync(pidFile, `${ref.pid} ${ref.starttime}\n`);
  return { process: ref };
}

/** Waits for slirp4netns's ready byte on fd 3 (the namespace is configured) or its exit. */
async function startSlirp(netnsPid: number, hardened: boolean): Promise<{ child: ChildProcess } | { failure: string }> {
  const args = ['--configure', `--mtu=${ROOTLESS_MTU}`, '--disable-host-loopback', '--ready-fd=3'];
  if (hardened) args.push('--enable-sandbox', '--enable-seccomp');
  const child = spawn(SLIRP!, [...args, '--netns-type=path', `/proc/${netnsPid}/ns/net`, TAP],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const outcome = await new Promise<'ready' | 'exit' | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
    (child.stdio[3] as NodeJS.ReadableStream).once('data', () => {
      clearTimeout(timer);
      resolve('ready');
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve('exit');
    });
    child.once('error', () => {
      clearTimeout(timer);
      resolve('exit');
    });
  });
  if (outcome === 'ready' && tapExists(netnsPid)) return { child };
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  const why = outcome === 'timeout' ? `not ready after ${READY_TIMEOUT_MS / 1000} s` : stderr.trim().split('\n').pop() || `exited with ${child.exitCode ?? child.signalCode}`;
  return { failure: why };
}
