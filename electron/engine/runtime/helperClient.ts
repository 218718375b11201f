// Talks to the native helper: spawns a shim per container and reads its status frames,
// sends control commands, and waits for exits through the shim's control socket.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { EngineError } from '../errors.ts';

export interface ExitInfo {
  code: number;
  signal: number;
  oom: boolean;
  pid: number;
  started: boolean;
  finishedAt: string;
}

export interface ShimHandle {
  pid: number;
  starttime: number;
  /** resolves once the process has exec'd (or rejects with the helper's error) */
  started: Promise<void>;
}

type StatusEvent =
  | { ev: 'created'; pid: number; starttime: number }
  | { ev: 'started' }
  | { ev: 'error'; stage: string; errno: number; msg: string }
  | ({ ev: 'exit' } & ExitInfo);

/** A helper failure as a typed error; the message keeps Docker's phrases the CLI maps to 126/127. */
export function helperError(e: { stage: string; errno: number; msg: string }): EngineError {
  const code = e.stage === 'exec' || e.stage === 'cwd' || e.stage === 'user' ? 'INVALID_ARGUMENT' : 'HELPER_FAILED';
  const prefix = e.stage === 'exec' ? '' : `${e.stage}: `;
  return new EngineError(code, `${prefix}${e.msg}`, { stage: e.stage, errno: e.errno });
}

export interface HelperClient {
  spawnShim(plan: Buffer, shimLog: string): Promise<ShimHandle>;
  ctl(runDir: string, command: string): Promise<string>;
  watch(runDir: string): Promise<ExitInfo | undefined>;
  attach(runDir: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<import('node:net').Socket>;
}

export class NativeHelperClient implements HelperClient {
  constructor(private readonly helperPath: string) {}

  spawnShim(plan: Buffer, shimLog: string): Promise<ShimHandle> {
    const logFd = openSync(shimLog, 'a', 0o640);
    const child = spawn(this.helperPath, ['shim'], { detached: true, stdio: ['ignore', 'ignore', logFd, 'pipe', 'pipe'] });
    closeSync(logFd);
    const planPipe = child.stdio[3] as Writable;
    const statusPipe = child.stdio[4] as Readable;
    planPipe.on('error', () => undefined);
    planPipe.end(plan);
    child.unref();
    return new Promise((resolve, reject) => {
      let startedResolve!: () => void;
      let startedReject!: (e: Error) => void;
      const started = new Promise<void>((res, rej) => ((startedResolve = res), (startedReject = rej)));
      started.catch(() => undefined);
      let created = false;
      const lines = createInterface({ input: statusPipe });
      child.on('error', (e) => reject(new EngineError('HELPER_FAILED', `spawn helper ${this.helperPath}: ${e.message}`)));
      lines.on('line', (line) => {
        let ev: StatusEvent;
        try {
          ev = JSON.parse(line);
        } catch {
          return;
        }
        if (ev.ev === 'created') {
          created = true;
          resolve({ pid: ev.pid, starttime: ev.starttime, started });
        } else if (ev.ev === 'started') {
          startedResolve();
          lines.close();
          statusPipe.destroy();
        } else if (ev.ev === 'error') {
          const err = helperError(ev);
          if (created) startedReject(err);
          else reject(err);
        } else if (ev.ev === 'exit') {
          startedReject(new EngineError('HELPER_FAILED', 'container exited before it started'));
        }
      });
      lines.on('close', () => {
        if (!created) reject(new EngineError('HELPER_FAILED', 'helper exited without reporting (see shim.log)'));
        startedReject(new EngineError('HELPER_FAILED', 'helper closed its status pipe before the container started'));
      });
    });
  }

  ctl(runDir: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(`${runDir}/ctl`);
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(`${command}\n`));
      sock.on('data', (d) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        sock.destroy();
        const line = buf.slice(0, nl);
        if (line.startsWith('ok')) resolve(line.slice(3));
        else reject(new EngineError('HELPER_FAILED', line.replace(/^err /, '')));
      });
      sock.on('error', (e) => reject(new EngineError('UNAVAILABLE', `container shim is not reachable: ${e.message}`)));
      sock.on('close', () => reject(new EngineError('UNAVAILABLE', 'container shim closed the control connection')));
    });
  }

  /** Resolves at the container's exit (undefined when the shim was already gone). */
  watch(runDir: string): Promise<ExitInfo | undefined> {
    return new Promise((resolve) => {
      const sock = createConnection(`${runDir}/ctl`);
      let buf = '';
      let exit: ExitInfo | undefined;
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write('watch\n'));
      sock.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith('exit ')) exit = JSON.parse(line.slice(5));
        }
      });
      sock.on('error', () => undefined);
      sock.on('close', () => resolve(exit));
    });
  }

  attach(runDir: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean }) {
    return new Promise<import('node:net').Socket>((resolve, reject) => {
      const sock = createConnection(`${runDir}/attach`);
      sock.once('connect', () => {
        sock.write(`attach ${+opts.stdin} ${+opts.stdout} ${+opts.stderr}\n`);
        resolve(sock);
      });
      sock.once('error', (e) => reject(new EngineError('UNAVAILABLE', `attach: ${e.message}`)));
    });
  }
}
