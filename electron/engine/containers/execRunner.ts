// Runs a process inside a running container through the helper's exec mode: plain pipes,
// or for terminals a pty of the container's devpts that the helper relays to its pipes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { notRunning } from '../errors.ts';
import { P, PlanWriter } from '../runtime/planEncoder.ts';
import { namespaceFlags, writeProcess } from '../runtime/planCompiler.ts';
import type { SeccompCompiler } from '../runtime/seccomp/compiler.ts';
import type { Cgroup } from '../cgroups/cgroupManager.ts';
import type { UserFiles } from '../runtime/users.ts';
import type { ContainerRecord } from './containerRecord.ts';
import { securityFor, withHome } from './specBuilder.ts';

export interface ExecOptions {
  Cmd: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  Privileged?: boolean;
  ConsoleSize?: [number, number];
}

export interface PreparedExec {
  helper: string;
  args: string[];
  /** Removes the plan; the helper's failure, if the process could not be run. */
  cleanup(): { error?: string; stage?: string; errno?: number };
}

export function prepareExec(record: ContainerRecord, files: UserFiles, cgroup: Cgroup, containerDir: string,
  helperPath: string, seccomp: SeccompCompiler, opts: ExecOptions, rootless = false, remap?: { start: number; count: number }): PreparedExec {
  if (!record.State.Running || !record.runtime) throw notRunning(`container ${record.Id} is not running`);
  if (record.State.Paused) throw notRunning(`container ${record.Id} is paused, unpause the container before exec`);
  const withUser = { ...record, Config: { ...record.Config, User: opts.User || record.Config.User } };
  if (opts.Privileged) withUser.HostConfig = { ...record.HostConfig, Privileged: true };
  const sec = securityFor(withUser, files, seccomp, rootless);
  const env = new Map<string, string>();
  for (const e of [...record.Config.Env, ...(opts.Env ?? [])]) env.set(e.split('=')[0], e);
  if (opts.Tty && !env.has('TERM')) env.set('TERM', 'TERM=xterm');
  const w = new PlanWriter();
  const userns = record.HostConfig.UsernsMode === 'private' && !!remap;
  // A container on the host's network has no namespace of its own to join (and a rootless
  // engine may not enter the host's).
  const netns = record.HostConfig.NetworkMode === 'host' ? 'host' : 'new';
  w.record(P.NS_FLAGS, { u32: namespaceFlags({ userns: userns ? { uidMap: '', gidMap: '' } : undefined, netns }) });
  if (userns) w.record(P.UIDMAP, { str: `0 ${remap!.start} ${remap!.count}` });
  w.record(P.TARGET_PID, { u32: record.runtime.pid }, { u64: record.runtime.starttime });
  for (const f of cgroup.procsFiles) w.record(P.CGROUP_PROCS, { str: f });
  // The helper allocates the pty in the container's own devpts and relays it to its stdio.
  if (opts.Tty) {
    w.record(P.TERMINAL, { u8: 1 });
    const [rows, cols] = opts.ConsoleSize ?? [24, 80];
    w.record(P.CONSOLE_SIZE, { u16: rows || 24 }, { u16: cols || 80 });
  }
  writeProcess(w, {
    argv: opts.Cmd, env: withHome([...env.values()], sec.user.home), cwd: opts.WorkingDir || record.Config.WorkingDir || '/',
    user: sec.user, caps: sec.caps, noNewPrivileges: sec.noNewPrivileges, seccomp: sec.seccomp, rlimits: sec.rlimits,
  });
  const tag = randomBytes(6).toString('hex');
  const planFile = `${containerDir}/exec-${tag}.plan`;
  const statusFile = `${containerDir}/exec-${tag}.status`;
  writeFileSync(planFile, w.toBuffer(), { mode: 0o600 });
  return {
    helper: helperPath,
    args: ['exec', '--plan', planFile, '--status', statusFile],
    cleanup() {
      let failure: { error?: string; stage?: string; errno?: number } = {};
      try {
        for (const line of readFileSync(statusFile, 'utf8').split('\n').filter(Boolean)) {
          const ev = JSON.parse(line) as { ev: string; msg?: string; stage?: string; errno?: number };
          if (ev.ev === 'error') failure = { error: ev.msg, stage: ev.stage, errno: ev.errno };
        }
      } catch {
        /* no status: the helper never ran */
      }
      rmSync(planFile, { force: true });
      rmSync(statusFile, { force: true });
      return failure;
    },
  };
}

export function spawnExecPipes(p: PreparedExec): ChildProcess {
  const child = spawn(p.helper, p.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.on('close', () => p.cleanup());
  return child;
}

/**
 * Runs a prepared exec to its end with stdout and stderr gathered (up to max bytes); past
 * timeoutMs the process is sent SIGTERM (the helper forwards it) and the result is -1.
 */
export function runToEnd(p: PreparedExec, timeoutMs: number, max: number): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(p.helper, p.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    const take = (d: Buffer) => {
      if (size >= max) return;
      chunks.push(d.subarray(0, max - size));
      size += Math.min(d.length, max - size);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 1000).unref();
    }, timeoutMs);
    child.on('error', () => undefined);
    child.on('close', (code) => {
      clearTimeout(timer);
      const failure = p.cleanup();
      const output = Buffer.concat(chunks).toString('utf8');
      resolve({ exitCode: timedOut ? -1 : (code ?? -1), output: failure.error && !output ? failure.error : output });
    });
  });
}
