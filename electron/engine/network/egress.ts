// Outbound traffic of a rootless engine's containers: one slirp4netns per engine, attached to
// the network namespace its bridges live in, as Docker's rootless mode does. Options from
// rootless.md §5: the MTU of the bridges (65520), no access to the host's loopback (a container
// must not reach services bound only on 127.0.0.1, Berth's own web UI among them), its own
// sandbox and seccomp filter. The process outlives an engine restart (its pid is kept in the
// run directory) so running containers keep their connections.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAlive, procStarttime, terminate, type ProcessRef } from '../sys/proc.ts';
import { ROOTLESS_MTU } from './networkService.ts';

const SLIRP = ['/usr/bin/slirp4netns', '/usr/local/bin/slirp4netns', '/bin/slirp4netns'].find((p) => existsSync(p));
const TAP = 'tap0';

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
  const child = spawn(SLIRP!, ['--configure', `--mtu=${ROOTLESS_MTU}`, '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp',
    '--netns-type=path', `/proc/${netnsPid}/ns/net`, TAP], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => undefined);
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    if (tapExists(netnsPid)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!tapExists(netnsPid)) {
    child.kill('SIGKILL');
    await exited;
    return { warning: `slirp4netns failed, so containers have no outbound network: ${stderr.trim().split('\n').pop() ?? 'no output'}` };
  }
  child.stderr!.destroy();
  child.unref();
  const ref = { pid: child.pid!, starttime: procStarttime(child.pid!) ?? 0 };
  writeFileSync(pidFile, `${ref.pid} ${ref.starttime}\n`);
  return { process: ref };
}
