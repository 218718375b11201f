// A helper client without processes: it reads the plan it is handed and acts out the command.
// `sh -c 'exit N'`, `true`, `false` and `echo` exit at once with their code; a command named
// `nosuch…` fails to exec as a missing program does (ENOENT); anything else runs until a signal
// ends it. As the first process of a pid namespace it ignores every signal but SIGKILL (137),
// unless it is `sh -c 'trap "exit N" TERM; …'`. Passes the lifecycle suite the real helper does.
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { isoTime, systemClock, type Clock } from '../clock.ts';
import { EngineError } from '../errors.ts';
import { helperError, type ExitInfo, type HelperClient, type ShimHandle } from '../runtime/helperClient.ts';
import { decodePlan, P } from '../runtime/planEncoder.ts';

interface FakeProcess {
  pid: number;
  argv: string[];
  started: boolean;
  exit?: ExitInfo;
  onStart: () => void;
  onFail: (e: Error) => void;
  watchers: ((e: ExitInfo) => void)[];
}

const str = (b: Buffer) => b.toString('utf8', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0));

export class FakeHelperClient implements HelperClient {
  private readonly procs = new Map<string, FakeProcess>();

  /** the clock exits are stamped with (the engine's, so run times add up) */
  constructor(private readonly clock: Clock = systemClock) {}

  private nextPid = 40_000;
  /** every plan spawned, decoded: argv and run dir */
  readonly spawned: { argv: string[]; runDir: string }[] = [];

  async spawnShim(plan: Buffer): Promise<ShimHandle> {
    const records = decodePlan(plan);
    const argv = records.filter((r) => r.type === P.ARGV).map((r) => str(r.payload));
    const runDir = str(records.find((r) => r.type === P.RUN_DIR)!.payload);
    const startNow = records.some((r) => r.type === P.START_NOW);
    this.spawned.push({ argv, runDir });
    let onStart!: () => void;
    let onFail!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => ((onStart = res), (onFail = rej)));
    started.catch(() => undefined);
    const p: FakeProcess = { pid: this.nextPid++, argv, started: false, onStart, onFail, watchers: [] };
    this.procs.set(runDir, p);
    if (startNow) this.start(p);
    return { pid: p.pid, starttime: p.pid * 7, started };
  }

  private start(p: FakeProcess): void {
    if (p.argv[0]?.startsWith('nosuch')) {
      p.onFail(helperError({ stage: 'exec', errno: constants.errno.ENOENT, msg: `exec: "${p.argv[0]}": executable file not found in $PATH` }));
      return;
    }
    p.started = true;
    p.onStart();
    const code = p.argv[0] === 'true' || p.argv[0] === 'echo' ? 0 : p.argv[0] === 'false' ? 1
      : p.argv[0] === 'sh' && p.argv[1] === '-c' && /^exit \d+$/.test(p.argv[2] ?? '') ? Number(p.argv[2].slice(5)) : undefined;
    if (code !== undefined) setImmediate(() => this.exit(p, code, 0));
  }

  private exit(p: FakeProcess, code: number, signal: number): void {
    if (p.exit) return;
    p.exit = { code, signal, oom: false, pid: p.pid, started: p.started, finishedAt: isoTime(this.clock) };
    for (const w of p.watchers.splice(0)) w(p.exit);
  }

  private proc(runDir: string): FakeProcess {
    const p = this.procs.get(runDir);
    if (!p) throw new EngineError('UNAVAILABLE', 'container shim is not reachable: no such shim');
    return p;
  }

  async ctl(runDir: string, command: string): Promise<string> {
    const p = this.proc(runDir);
    const [verb, a] = command.split(' ');
    if (verb === 'start') {
      this.start(p);
      return '';
    }
    if (verb === 'kill') {
      if (p.exit) throw new EngineError('NOT_RUNNING', 'kill: the container has exited');
      const signo = Number(a);
      const trap = /trap "exit (\d+)" TERM/.exec(p.argv[2] ?? '');
      if (signo === 9) setImmediate(() => this.exit(p, 137, 9));
      else if (signo === 15 && trap) setImmediate(() => this.exit(p, Number(trap[1]), 0));
      return '';
    }
    if (verb === 'resize') return '';
    if (verb === 'state') return `${p.pid} ${+p.started} ${+!!p.exit}`;
    throw new EngineError('INVALID_ARGUMENT', `${verb}: unknown command`);
  }

  watch(runDir: string): Promise<ExitInfo | undefined> {
    const p = this.procs.get(runDir);
    if (!p) return Promise.resolve(undefined);
    if (p.exit) return Promise.resolve(p.exit);
    return new Promise((resolve) => p.watchers.push(resolve));
  }

  attach(): Promise<Socket> {
    return Promise.reject(new EngineError('UNSUPPORTED', 'the fake helper has no stdio to attach to'));
  }

  close(): void {
    /* running "shims" stay, as real ones do */
  }
}
