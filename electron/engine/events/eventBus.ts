// One bus for engine events; the Docker API /events, the UI and logs all read it.
import type { EngineEvent } from '../../../common/docker.ts';
import type { Disposer } from '../../../common/disposable.ts';

export type { EngineEvent };

export type { Disposer };

export class EventBus {
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly history: EngineEvent[] = [];

  constructor(private readonly keep = 1000) {}

  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: EngineEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nowNs / 1_000_000_000n), timeNano: Number(nowNs),
    };
    this.history.push(e);
    if (this.history.length > this.keep) this.history.shift();
    for (const l of this.listeners) l(e);
    return e;
  }

  /** The last events kept (for /events?since=…). */
  recent(): EngineEvent[] {
    return [...this.history];
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  on(listener: (e: EngineEvent) => void): Disposer {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
