// Long-running work the UI follows in its Activity view: pulls, pushes, prunes. Each job has an
// AbortController for the cancel button; progress updates are coalesced to a few per second.
import { randomBytes } from 'node:crypto';
import type { JobView, LayerProgress } from '../../common/views.ts';
import type { ProgressMessage } from '../../common/docker.ts';

export interface JobContext {
  signal: AbortSignal;
  progress(m: ProgressMessage): void;
}

export class JobManager {
  private readonly jobs = new Map<string, { view: JobView; abort: AbortController; layers: Map<string, LayerProgress>; timer?: NodeJS.Timeout }>();

  constructor(private readonly publish: (j: JobView) => void, private readonly keep = 50) {}

  list(): JobView[] {
    return [...this.jobs.values()].map((j) => this.snapshot(j));
  }

  start(kind: JobView['kind'], title: string, run: (ctx: JobContext) => Promise<string>): string {
    const id = randomBytes(6).toString('hex');
    const j: { view: JobView; abort: AbortController; layers: Map<string, LayerProgress>; timer?: NodeJS.Timeout } = { view: { id, kind, title, state: 'running' as const, startedAt: Date.now(), layers: [], message: '' } as JobView, abort: new AbortController(), layers: new Map<string, LayerProgress>() };
    this.jobs.set(id, j);
    this.trim();
    this.publish(this.snapshot(j));
    const progress = (m: ProgressMessage) => {
      if (!m.id || m.id === j.view.title) {
        j.view.message = m.status;
      } else {
        const l = j.layers.get(m.id) ?? { id: m.id, status: '', current: 0, total: 0 };
        l.status = m.status;
        if (m.progressDetail?.total) {
          l.current = m.progressDetail.current ?? 0;
          l.total = m.progressDetail.total;
        } else if (/complete|exists|mounted|pushed/i.test(m.status) && l.total) {
          l.current = l.total;
        }
        j.layers.set(m.id, l);
      }
      j.timer ??= setTimeout(() => {
        j.timer = undefined;
        if (j.view.state === 'running') this.publish(this.snapshot(j));
      }, 150);
    };
    run({ signal: j.abort.signal, progress }).then(
      (message) => this.finish(j, 'done', message),
      (e: Error) => this.finish(j, j.abort.signal.aborted ? 'cancelled' : 'failed', j.abort.signal.aborted ? 'cancelled' : e.message),
    );
    return id;
  }

  cancel(id: string): boolean {
    const j = this.jobs.get(id);
    if (!j || j.view.state !== 'running') return false;
    j.abort.abort();
    return true;
  }

  dispose(): void {
    for (const j of this.jobs.values()) {
      clearTimeout(j.timer);
      j.abort.abort();
    }
  }

  private finish(j: { view: JobView; timer?: NodeJS.Timeout; layers: Map<string, LayerProgress> }, state: JobView['state'], message: string): void {
    clearTimeout(j.timer);
    j.timer = undefined;
    j.view.state = state;
    j.view.message = message;
    j.view.finishedAt = Date.now();
    this.publish(this.snapshot(j));
  }

  private snapshot(j: { view: JobView; layers: Map<string, LayerProgress> }): JobView {
    return { ...j.view, layers: [...j.layers.values()].map((l) => ({ ...l })) };
  }

  private trim(): void {
    const done = [...this.jobs.entries()].filter(([, j]) => j.view.state !== 'running');
    for (const [id] of done.slice(0, Math.max(0, this.jobs.size - this.keep))) this.jobs.delete(id);
  }
}
