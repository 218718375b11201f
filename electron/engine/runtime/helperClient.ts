// Talks to the native helper: spawns a shim per container and reads its status frames,
// sends control commands, and waits for exits through the shim's control socket.
import { constants } from 'node:os';
import { ERROR_CODES, type ErrorCode } from '../../../common/errors.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
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
  | ({ ev: 'exit' } & ExitInfo)
  | { ev: 'gone'; status: number };

/** Docker's exit code for a process that could not be run: 127 when the program is missing, 126 otherwise. */
const ENOENT = constants.errno.ENOENT;

export function failureExitCode(stage: string | undefined, errno: number | undefined): number {
  if (stage === 'exec') return errno === ENOENT ? 127 : 126;
  return stage === 'cwd' || stage === 'user' ? 126 : 128;
}

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
  /** Ends the spawner; running shims stay. */
  close(): void;
}

/** Follows one shim's status lines until its container has started (or failed to). */
class ShimStart {
  readonly handle: Promise<ShimHandle>;
  private created = false;
  private done = false;
  private resolveHandle!: (h: ShimHandle) => void;
  private rejectHandle!: (e: Error) => void;
  private startedResolve!: () => void;
  private startedReject!: (e: Error) => void;
  private readonly started = new Promise<void>((res, rej) => ((this.startedResolve = res), (this.startedReject = rej)));

  constructor() {
    this.started.catch(() => undefined);
    this.handle = new Promise((res, rej) => ((this.resolveHandle = res), (this.rejectHandle = rej)));
  }

  /** Returns true once nothing more is expected. */
  event(ev: StatusEvent): boolean {
    if (ev.ev === 'created') {
      this.created = true;
      this.resolveHandle({ pid: ev.pid, starttime: ev.starttime, started: this.started });
    } else if (ev.ev === 'started') {
      this.startedResolve();
      this.done = true;
    } else if (ev.ev === 'error') {
      const err = helperError(ev);
      if (this.created) this.startedReject(err);
      else this.rejectHandle(err);
    } else if (ev.ev === 'exit') {
      this.startedReject(new EngineError('HELPER_FAILED', 'container exited before it started'));
    } else if (ev.ev === 'gone') {
      this.fail(`container shim exited with status ${ev.status} before the container started (see shim.log)`);
    }
    return this.done;
  }

  fail(why: string): void {
    if (!this.created) this.rejectHandle(new EngineError('HELPER_FAILED', why));
    this.startedReject(new EngineError('HELPER_FAILED', why));
    this.done = true;
  }
}

/**
 * The helper's spawner mode: one small resident process that forks a shim per request, so
 * the engine's own (large) process never forks on the start path. Requests are framed
 * (id, plan length, log path length, plan, log path); replies are the shims' status lines
 * prefixed with the id. Started on first use, again if it died; it exits when we close its
 * stdin, and the shims it forked live on.
 */
class Spawner {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, Request>();

  constructor(private readonly helperPath: string) {}

  spawn(plan: Buffer, shimLog: string): Promise<ShimHandle> {
    const id = this.nextId++;
    const log = Buffer.from(shimLog);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(id, 0);
    head.writeUInt32LE(plan.length, 4);
    head.writeUInt32LE(log.length, 8);
    const req: Request = { start: new ShimStart(), bytes: Buffer.concat([head, plan, log]), heard: false, retried: false };
    this.pending.set(id, req);
    this.send(req);
    return req.start.handle;
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(req: Request): void {
    const child = this.child ?? this.start();
    req.child = child;
    (child.stdout as Socket).ref();
    child.stdin!.write(req.bytes);
  }

  private start(): ChildProcess {
    const child = spawn(this.helperPath, ['spawner'], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.unref();
    (child.stdin as Socket).unref();
    child.stdin!.on('error', () => undefined);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => this.onLine(line));
    let ended = false;
    const gone = (why: string) => {
      if (ended) return;
      ended = true;
      if (this.child === child) this.child = undefined;
      for (const [id, req] of this.pending) {
        if (req.child !== child) continue;
        // The channel closes only when no shim holds it, so a request nothing was heard of
        // has no shim: it went to a spawner that died before reading it, and can go again.
        if (!req.heard && !req.retried && !why.startsWith('spawn ')) {
          req.retried = true;
          this.send(req);
          continue;
        }
        req.start.fail(why);
        this.pending.delete(id);
      }
    };
    child.on('error', (e) => gone(`spawn helper ${this.helperPath}: ${e.message}`));
    lines.on('close', () => gone('the helper spawner exited'));
    return child;
  }

  private onLine(line: string): void {
    const sp = line.indexOf(' ');
    const id = Number(line.slice(0, sp));
    const req = this.pending.get(id);
    if (!req) return;
    let ev: StatusEvent;
    try {
      ev = JSON.parse(line.slice(sp + 1));
    } catch {
      return;
    }
    req.heard = true;
    if (req.start.event(ev)) this.pending.delete(id);
    if (!this.pending.size) (this.child?.stdout as Socket | undefined)?.unref();
  }
}

interface Request {
  start: ShimStart;
  /** the framed request, kept to send again if the spawner died before reading it */
  bytes: Buffer;
  child?: ChildProcess;
  heard: boolean;
  retried: boolean;
}

export class NativeHelperClient implements HelperClient {
  private readonly spawner: Spawner;

  constructor(helperPath: string) {
    this.spawner = new Spawner(helperPath);
  }

  spawnShim(plan: Buffer, shimLog: string): Promise<ShimHandle> {
    return this.spawner.spawn(plan, shimLog);
  }

  close(): void {
    this.spawner.close();
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
        if (line.startsWith('ok')) return resolve(line.slice(3));
        // "err CODE message": the shim names the code (a shim from before codes sends only a message).
        const [, code, message] = /^err (?:([A-Z_]+) )?(.*)$/.exec(line) ?? [];
        const known = (ERROR_CODES as readonly string[]).includes(code ?? '');
        reject(new EngineError(known ? (code as ErrorCode) : 'HELPER_FAILED', known ? `${command.split(' ')[0]}: ${message}` : line.slice(4)));
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
