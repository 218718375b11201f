// The engine's StatsBackend: the sampler reading each running container's counters once a
// second, and the marks (OOM kills, restarts, starts, exits) put on the graphs' time axis.
import { Disposables } from '../../../common/disposable.ts';
import type { StatsMark } from '../../../common/views.ts';
import type { StatsBackend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { StatsSampler } from '../stats/statsSampler.ts';

export class EngineStats implements StatsBackend {
  readonly sampler: StatsSampler;
  private readonly markListeners = new Set<(m: StatsMark) => void>();
  private readonly owned = new Disposables();
  private watching = false;

  constructor(private readonly e: Engine) {
    this.sampler = new StatsSampler({
      running: () => e.containers.list(false).filter((c) => c.State.Running && !c.State.Paused).map((c) => c.Id),
      target: (id) => e.usageTarget(id),
    });
  }

  /** Sampling and marks begin with the first listener: an engine nobody watches pays nothing. */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const e = this.e;
    this.owned.add(e.events.on((ev) => {
      if (ev.Type !== 'container') return;
      const id = ev.Actor.ID;
      if (ev.Action === 'destroy') return this.sampler.forget(id);
      const kind = ev.Action === 'oom' ? 'oom' : ev.Action === 'die' ? 'die' : ev.Action === 'start' ? (e.containers.exists(id) && e.containers.get(id).RestartCount > 0 ? 'restart' : 'start') : undefined;
      if (kind) {
        const m = { id, t: Date.now(), kind } as const;
        this.sampler.mark(m);
        for (const l of this.markListeners) l(m);
      }
      if (ev.Action === 'start') this.sampler.wake();
    }));
  }

  subscribe(listener: Parameters<StatsBackend['subscribe']>[0]) {
    this.watch();
    return this.sampler.on(listener);
  }

  onMark(listener: (m: StatsMark) => void) {
    this.watch();
    this.markListeners.add(listener);
    return () => this.markListeners.delete(listener);
  }

  async history(id: string) {
    return this.sampler.get(id);
  }

  dispose(): void {
    this.owned.dispose();
    this.markListeners.clear();
    this.sampler.stop();
  }
}
