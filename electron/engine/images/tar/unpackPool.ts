// A small pool of unpack workers, started on first use and unref'd while idle so they never
// keep the process alive.
import { Worker } from 'node:worker_threads';
import type { FollowMessage, UnpackJob, UnpackResult } from './unpackFile.ts';

export interface UnpackFailure extends Error {
  /** aborted: a followed download was given up (the caller unpacks the whole file instead) */
  kind: 'path' | 'format' | 'unpack' | 'io' | 'aborted';
  code?: string;
}

/** The owner's side of a job that follows a file being written (UnpackJob.followFd). */
export class FollowFeed {
  private send?: (m: FollowMessage) => void;
  private last?: FollowMessage;

  grow(size: number): void {
    this.post({ grow: size });
  }

  end(size: number): void {
    this.post({ end: size });
  }

  abort(why: string): void {
    this.post({ abort: why });
  }

  /** @internal the pool connects the feed once a worker has the job */
  connect(send: (m: FollowMessage) => void): void {
    this.send = send;
    if (this.last) send(this.last);
  }

  private post(m: FollowMessage): void {
    if (this.last && !('grow' in this.last)) return; // ended or aborted: final
    this.last = m;
    this.send?.(m);
  }
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  job: UnpackJob;
  feed?: FollowFeed;
  resolve: (r: UnpackResult) => void;
  reject: (e: Error) => void;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './unpackWorker.ts' : './unpackWorker.js', import.meta.url).href;

function spawnWorker(): Worker {
  if (WORKER_URL.endsWith('.ts')) {
    // Running from sources under tsx: workers need the loader registered first.
    const tsx = import.meta.resolve('tsx/esm/api');
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })`, { eval: true });
  }
  return new Worker(new URL(WORKER_URL));
}

export class UnpackPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private seq = 0;
  /** jobs handed to workers so far */
  jobsRun = 0;
  private readonly waiting = new Map<number, { slot: Slot; p: Pending }>();

  constructor(private readonly size = 2) {}

  run(job: UnpackJob, feed?: FollowFeed): Promise<UnpackResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, feed, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.busy);
      if (!slot && this.slots.length < this.size) slot = this.add();
      if (!slot) return;
      const p = this.queue.shift()!;
      const seq = ++this.seq;
      this.jobsRun++;
      slot.busy = true;
      slot.worker.ref();
      this.waiting.set(seq, { slot, p });
      slot.worker.postMessage({ seq, job: p.job });
      p.feed?.connect((follow) => slot.worker.postMessage({ seq, follow }));
    }
  }

  private add(): Slot {
    const slot: Slot = { worker: spawnWorker(), busy: false };
    slot.worker.on('message', (msg: { seq: number; result?: UnpackResult; error?: { kind: UnpackFailure['kind']; message: string; code?: string } }) => {
      const w = this.waiting.get(msg.seq);
      if (!w) return;
      this.waiting.delete(msg.seq);
      slot.busy = false;
      slot.worker.unref();
      if (msg.error) {
        const e = new Error(msg.error.message) as UnpackFailure;
        e.kind = msg.error.kind;
        e.code = msg.error.code;
        w.p.reject(e);
      } else {
        w.p.resolve(msg.result!);
      }
      this.pump();
    });
    const fail = (err: Error) => {
      this.slots.splice(this.slots.indexOf(slot), 1);
      for (const [seq, w] of this.waiting) {
        if (w.slot !== slot) continue;
        this.waiting.delete(seq);
        w.p.reject(err);
      }
      this.pump();
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => fail(new Error(`unpack worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
