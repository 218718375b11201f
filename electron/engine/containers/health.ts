// Health checks: the engine runs a container's check inside it on a timer, as dockerd does,
// and keeps State.Health (status, failing streak, the last five results). It follows the
// containers through the event bus: a start begins the checks, an exit or removal ends them.
import type { HealthConfig, HealthLogEntry } from '../../../common/models.ts';
import type { Clock } from '../clock.ts';
import type { EventBus, Disposer } from '../events/eventBus.ts';
import type { ContainerRecord } from './containerRecord.ts';

const SECOND = 1e9;
export const HEALTH_DEFAULTS = { interval: 30 * SECOND, timeout: 30 * SECOND, retries: 3 };
const KEEP_RESULTS = 5;
/** dockerd keeps at most this much of a check's output */
export const HEALTH_OUTPUT_MAX = 4096;

export interface ProbeResult {
  exitCode: number;
  output: string;
}

export interface HealthDeps {
  clock: Clock;
  events: EventBus;
  /** the live record, or undefined once it is gone */
  record(id: string): ContainerRecord | undefined;
  save(r: ContainerRecord): void;
  /** Runs argv in the container; a check past timeoutMs ends with exit code -1. */
  probe(id: string, argv: string[], timeoutMs: number): Promise<ProbeResult>;
}

/** The check's command, or undefined when the container has none (or NONE). */
export function healthCommand(h: HealthConfig | undefined): string[] | undefined {
  const t = h?.Test;
  if (!t?.length || t[0] === 'NONE') return undefined;
  return t[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', t.slice(1).join(' ')] : t.slice(1);
}

const seconds = (ns: number) => `${+(ns / SECOND).toFixed(3)}s`;

export class HealthMonitor {
  /** the pending timer of each checked container; a new start replaces it */
  private readonly timers = new Map<string, () => void>();
  private readonly off: Disposer;

  constructor(private readonly d: HealthDeps) {
    this.off = d.events.on((e) => {
      if (e.Type !== 'container') return;
      if (e.Action === 'start' || e.Action === 'restart') this.begin(e.Actor.ID, true);
      else if (e.Action === 'die') this.end(e.Actor.ID, true);
      else if (e.Action === 'destroy') this.end(e.Actor.ID, false);
    });
  }

  /** Resumes the checks of a container an earlier engine started, keeping its state. */
  adopt(r: ContainerRecord): void {
    if (r.State.Running) this.begin(r.Id, false);
  }

  private begin(id: string, fresh: boolean): void {
    const r = this.d.record(id);
    if (!r || !healthCommand(r.Config.Healthcheck)) return;
    this.cancel(id);
    if (fresh || !r.State.Health) {
      r.State.Health = { Status: 'starting', FailingStreak: 0, Log: r.State.Health?.Log ?? [] };
      this.d.save(r);
    }
    this.schedule(r);
  }

  private schedule(r: ContainerRecord): void {
    const h = r.Config.Healthcheck!;
    const startedAt = Date.parse(r.State.StartedAt);
    const inStartPeriod = r.State.Health?.Status === 'starting' && !!h.StartPeriod && this.d.clock.now() < startedAt + h.StartPeriod / 1e6;
    const every = inStartPeriod && h.StartInterval ? h.StartInterval : h.Interval || HEALTH_DEFAULTS.interval;
    const cancel = this.d.clock.timer(every / 1e6, () => void this.check(r.Id, cancel));
    this.timers.set(r.Id, cancel);
  }

  private async check(id: string, token: () => void): Promise<void> {
    const r = this.d.record(id);
    const argv = healthCommand(r?.Config.Healthcheck);
    if (!r || !argv || !r.State.Running || this.timers.get(id) !== token) return;
    const h = r.Config.Healthcheck!;
    const timeout = h.Timeout || HEALTH_DEFAULTS.timeout;
    const start = this.d.clock.now();
    let result: ProbeResult;
    if (r.State.Paused) result = { exitCode: -1, output: 'container is paused' };
    else {
      try {
        result = await this.d.probe(id, argv, timeout / 1e6);
      } catch (e) {
        result = { exitCode: -1, output: (e as Error).message };
      }
    }
    if (this.timers.get(id) !== token) return; // stopped or restarted meanwhile
    if (result.exitCode === -1 && this.d.clock.now() - start >= timeout / 1e6) result.output = `Health check exceeded timeout (${seconds(timeout)})`;
    this.record(r, { Start: new Date(start).toISOString(), End: new Date(this.d.clock.now()).toISOString(), ExitCode: result.exitCode, Output: result.output });
    this.schedule(r);
  }

  /** dockerd's rules: a pass is healthy; failures count once the start period is over, or once the container was healthy. */
  private record(r: ContainerRecord, entry: HealthLogEntry): void {
    const health = r.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    const before = health.Status;
    health.Log = [...health.Log, entry].slice(-KEEP_RESULTS);
    const h = r.Config.Healthcheck!;
    if (entry.ExitCode === 0) {
      health.FailingStreak = 0;
      health.Status = 'healthy';
    } else {
      const inStartPeriod = before === 'starting' && !!h.StartPeriod && Date.parse(entry.Start) - Date.parse(r.State.StartedAt) < h.StartPeriod / 1e6;
      if (!inStartPeriod) {
        health.FailingStreak++;
        if (health.FailingStreak >= (h.Retries || HEALTH_DEFAULTS.retries)) health.Status = 'unhealthy';
      }
    }
    r.State.Health = health;
    this.d.save(r);
    if (health.Status !== before) {
      this.d.events.emit('container', `health_status: ${health.Status}`, r.Id, { ...r.Config.Labels, image: r.Config.Image, name: r.Name.slice(1) });
    }
  }

  private cancel(id: string): void {
    this.timers.get(id)?.();
    this.timers.delete(id);
  }

  /** A stopped container reads unhealthy, as in dockerd; its results are kept. */
  private end(id: string, stopped: boolean): void {
    const had = this.timers.has(id);
    this.cancel(id);
    const r = stopped && had ? this.d.record(id) : undefined;
    if (r?.State.Health) {
      r.State.Health = { ...r.State.Health, Status: 'unhealthy' };
      this.d.save(r);
    }
  }

  /** Ends every timer; containers keep running. */
  dispose(): void {
    this.off();
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }
}
