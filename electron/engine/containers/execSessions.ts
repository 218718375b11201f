// Exec instances (`docker exec`, the app's terminal tabs): created, then started once, with a
// TTY (a pty in the container's devpts, relayed by the helper) or plain pipes; their stdio is a stream in the Docker API's format
// and their exit code is recorded before that stream ends. Records go when their container
// stops or is removed, as dockerd drops them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Duplex, type Writable } from 'node:stream';
import type { ExecConfig, ExecInspect } from '../../../common/docker.ts';
import { conflict, invalid, notFound, notRunning } from '../errors.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { ContainerRecord } from './containerRecord.ts';
import { frame } from './attach.ts';
import type { ExecOptions, PreparedExec } from './execRunner.ts';
import { failureExitCode } from '../runtime/helperClient.ts';

interface ExecRecord {
  id: string;
  container: ContainerRecord;
  cfg: Required<Pick<ExecConfig, 'Cmd' | 'Tty' | 'Privileged' | 'AttachStdin' | 'AttachStdout' | 'AttachStderr'>> & ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  resize?: (rows: number, cols: number) => void;
}

export interface ExecDeps {
  container(ref: string): ContainerRecord;
  prepare(id: string, opts: ExecOptions): PreparedExec;
  events: EventBus;
}

export class ExecSessions {
  private readonly records = new Map<string, ExecRecord>();
  private readonly off: () => void;

  constructor(private readonly d: ExecDeps) {
    this.off = d.events.on((e) => {
      if (e.Type !== 'container' || (e.Action !== 'die' && e.Action !== 'destroy')) return;
      for (const [id, r] of this.records) if (r.container.Id === e.Actor.ID && !r.running) this.records.delete(id);
    });
  }

  create(ref: string, cfg: ExecConfig): string {
    const c = this.d.container(ref);
    if (!Array.isArray(cfg.Cmd) || !cfg.Cmd.length || !cfg.Cmd.every((x) => typeof x === 'string')) throw invalid('No exec command specified');
    if (!c.State.Running) throw conflict(`container ${c.Id} is not running`);
    if (c.State.Paused) throw conflict(`container ${c.Id} is paused, unpause the container before exec`);
    const id = randomBytes(32).toString('hex');
    this.records.set(id, {
      id, container: c, running: false, started: false, exitCode: null, pid: 0,
      cfg: { ...cfg, Tty: !!cfg.Tty, Privileged: !!cfg.Privileged, AttachStdin: !!cfg.AttachStdin, AttachStdout: cfg.AttachStdout !== false, AttachStderr: cfg.AttachStderr !== false },
    });
    this.d.events.emit('container', `exec_create: ${cfg.Cmd.join(' ')}`, c.Id, { execID: id, name: c.Name.slice(1) });
    return id;
  }

  private get(id: string): ExecRecord {
    const r = this.records.get(id);
    if (!r) throw notFound(`No such exec instance: ${id}`);
    return r;
  }

  /** Running exec ids of a container (inspect's ExecIDs). */
  running(containerId: string): string[] {
    return [...this.records.values()].filter((r) => r.container.Id === containerId && r.running).map((r) => r.id);
  }

  start(id: string, opts: { detach?: boolean; consoleSize?: [number, number] } = {}): { stream: Duplex; tty: boolean } | undefined {
    const r = this.get(id);
    if (r.started) throw conflict(`exec ${id} has already run`);
    const prep = this.d.prepare(r.container.Id, { ...r.cfg, Env: r.cfg.Env ?? undefined, Tty: r.cfg.Tty, ConsoleSize: opts.consoleSize });
    r.started = true;
    r.running = true;
    this.d.events.emit('container', `exec_start: ${r.cfg.Cmd.join(' ')}`, r.container.Id, { execID: id, name: r.container.Name.slice(1) });
    const finish = (code: number): string | undefined => {
      const f = prep.cleanup();
      const error = f.error;
      r.exitCode = error ? failureExitCode(f.stage, f.errno) : code;
      r.running = false;
      this.d.events.emit('container', 'exec_die', r.container.Id, { execID: id, exitCode: String(r.exitCode), name: r.container.Name.slice(1) });
      return error;
    };
    if (opts.detach) {
      const child = spawn(prep.helper, prep.args, { stdio: ['ignore', 'ignore', 'ignore'] });
      r.pid = child.pid ?? 0;
      child.on('close', (code) => finish(code ?? 1));
      return undefined;
    }
    return r.cfg.Tty ? this.startTty(r, prep, finish) : this.startPipes(r, prep, finish);
  }

  /**
   * The helper relays between the pty it made in the container's devpts and plain pipes (no
   * second pty on this side: its line discipline cost a quarter of the throughput); window
   * sizes go to it as "ROWS COLS" lines on fd 3.
   */
  private startTty(r: ExecRecord, prep: PreparedExec, finish: (code: number) => string | undefined) {
    const child = spawn(prep.helper, [...prep.args, '--resize-fd', '3'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    r.pid = child.pid ?? 0;
    const sizes = child.stdio[3] as Writable;
    sizes.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    r.resize = (h, w) => sizes.write(`${h} ${w}\n`);
    let done = false;
    const stream = new Duplex({
      read: () => child.stdout.resume(),
      write: (chunk: Buffer, _enc, cb) => {
        if (r.cfg.AttachStdin && child.stdin.writable) child.stdin.write(chunk, () => cb());
        else cb();
      },
      destroy: (err, cb) => {
        if (!done) child.kill('SIGHUP'); // forwarded to the process, as a terminal hangup
        cb(err);
      },
    });
    const push = (d: Buffer) => {
      if (!stream.push(d)) child.stdout.pause();
    };
    child.stdout.on('data', push);
    // The helper's own failure (the process could not run) is in its status file: finish() shows it.
    child.stderr.resume();
    child.on('close', (code) => {
      done = true;
      sizes.destroy();
      const error = finish(code ?? 1);
      if (error) stream.push(Buffer.from(`${error}\r\n`));
      stream.push(null);
    });
    return { stream, tty: true };
  }

  private startPipes(r: ExecRecord, prep: PreparedExec, finish: (code: number) => string | undefined) {
    const child = spawn(prep.helper, prep.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    r.pid = child.pid ?? 0;
    child.stdin.on('error', () => undefined);
    if (!r.cfg.AttachStdin) child.stdin.end();
    const stream = new Duplex({
      read: () => {
        child.stdout.resume();
        child.stderr.resume();
      },
      write: (chunk: Buffer, _enc, cb) => {
        if (r.cfg.AttachStdin && child.stdin.writable) child.stdin.write(chunk, () => cb());
        else cb();
      },
      final: (cb) => {
        child.stdin.end();
        cb();
      },
      destroy: (err, cb) => {
        child.stdin.destroy();
        cb(err);
      },
    });
    const relay = (n: 1 | 2, src: NodeJS.ReadableStream & { pause(): void }, wanted: boolean) => src.on('data', (d: Buffer) => {
      if (wanted && !stream.push(frame(n, d))) {
        child.stdout.pause();
        child.stderr.pause();
      }
    });
    relay(1, child.stdout, r.cfg.AttachStdout);
    relay(2, child.stderr, r.cfg.AttachStderr);
    child.on('close', (code) => {
      const error = finish(code ?? 1);
      if (error) stream.push(frame(2, Buffer.from(`${error}\n`)));
      stream.push(null);
    });
    return { stream, tty: false };
  }

  resize(id: string, rows: number, cols: number): void {
    const r = this.get(id);
    if (!r.running) throw notRunning(`exec ${id} is not running`);
    r.resize?.(rows, cols);
  }

  inspect(id: string): ExecInspect {
    const r = this.get(id);
    return {
      ID: r.id, ContainerID: r.container.Id, Running: r.running, ExitCode: r.exitCode, Pid: r.pid,
      ProcessConfig: { tty: r.cfg.Tty, entrypoint: r.cfg.Cmd[0], arguments: r.cfg.Cmd.slice(1), privileged: r.cfg.Privileged, user: r.cfg.User ?? '' },
      OpenStdin: r.cfg.AttachStdin, OpenStderr: r.cfg.AttachStderr, OpenStdout: r.cfg.AttachStdout, CanRemove: false, DetachKeys: r.cfg.DetachKeys ?? '',
    };
  }

  /** How many records are kept (tests check they go). */
  get size(): number {
    return this.records.size;
  }

  dispose(): void {
    this.off();
  }
}
