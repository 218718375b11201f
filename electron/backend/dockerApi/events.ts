// One event stream per remote engine, shared by every listener, that survives network drops:
// when GET /events breaks, the feed says it lost the engine, reopens the stream with backoff,
// and replays what happened meanwhile (`since` the last event it saw), so lists built from
// event deltas stay right across a reconnect.
import type { EngineEvent } from '../../../common/docker.ts';
import { jsonLines, type DockerClient } from './client.ts';

export type FeedState = 'open' | 'lost';

type RawEvent = Partial<EngineEvent> & { status?: string; id?: string; from?: string };

function normalize(e: RawEvent): EngineEvent {
  const time = e.time ?? Math.floor(Date.now() / 1000);
  return {
    Type: (e.Type ?? 'container') as EngineEvent['Type'],
    Action: e.Action ?? e.status ?? '',
    Actor: { ID: e.Actor?.ID ?? e.id ?? '', Attributes: e.Actor?.Attributes ?? (e.from ? { image: e.from } : {}) },
    scope: 'local', time, timeNano: e.timeNano ?? time * 1e9,
  };
}

export class EventFeed {
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly stateListeners = new Set<(s: FeedState, detail?: string) => void>();
  private abort?: AbortController;
  private timer?: NodeJS.Timeout;
  private delay = 500;
  private lastNano = 0;
  /** keys of the events at lastNano, so a replay does not repeat them */
  private seenAtLast = new Set<string>();
  private state: FeedState = 'open';
  private lostWhy?: string;
  private disposed = false;

  constructor(private readonly client: DockerClient) {}

  on(listener: (e: EngineEvent) => void, since?: number): () => void {
    if (since !== undefined) {
      void this.recent(since).then((old) => {
        for (const e of old) if (this.listeners.has(listener)) listener(e);
      }, () => undefined);
    }
    this.listeners.add(listener);
    this.run();
    return () => {
      this.listeners.delete(listener);
      this.idle();
    };
  }

  /** Hears each change of the connection; a listener added while it is lost hears that first. */
  onState(listener: (s: FeedState, detail?: string) => void): () => void {
    this.stateListeners.add(listener);
    if (this.state === 'lost') queueMicrotask(() => this.stateListeners.has(listener) && this.state === 'lost' && listener('lost', this.lostWhy));
    this.run();
    return () => {
      this.stateListeners.delete(listener);
      this.idle();
    };
  }

  /** The events the engine kept from `since` (unix seconds; default 15 minutes ago) until now. */
  async recent(since = Date.now() / 1000 - 900): Promise<EngineEvent[]> {
    const now = Date.now() / 1000;
    const res = await this.client.request('GET', '/events', { query: { since: since.toFixed(3), until: now.toFixed(3) } });
    const out: EngineEvent[] = [];
    for await (const e of jsonLines<RawEvent>(res)) out.push(normalize(e));
    return out;
  }

  private idle(): void {
    if (this.listeners.size || this.stateListeners.size) return;
    this.abort?.abort();
    this.abort = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setState(s: FeedState, detail?: string): void {
    if (s === this.state) return;
    this.state = s;
    this.lostWhy = detail;
    for (const l of this.stateListeners) l(s, detail);
  }

  private run(): void {
    if (this.abort || this.timer || this.disposed) return;
    const abort = (this.abort = new AbortController());
    // The first stream starts a little in the past, so an action right after subscribing is
    // heard even if it reaches the engine before this request does.
    const since = this.lastNano ? (this.lastNano / 1e9).toFixed(9) : (Date.now() / 1000 - 2).toFixed(3);
    void (async () => {
      let why = 'the event stream ended';
      try {
        const res = await this.client.request('GET', '/events', { query: { since }, signal: abort.signal });
        this.setState('open');
        this.delay = 500;
        for await (const raw of jsonLines<RawEvent>(res)) {
          const e = normalize(raw);
          const key = `${e.timeNano}/${e.Type}/${e.Action}/${e.Actor.ID}`;
          if (e.timeNano < this.lastNano || (e.timeNano === this.lastNano && this.seenAtLast.has(key))) continue;
          if (e.timeNano > this.lastNano) this.seenAtLast = new Set();
          this.lastNano = e.timeNano;
          this.seenAtLast.add(key);
          for (const l of [...this.listeners]) l(e);
        }
      } catch (e) {
        why = (e as Error).message;
      }
      if (abort.signal.aborted || this.disposed) return;
      this.abort = undefined;
      this.setState('lost', why);
      // The stream did not start from nothing: missed events come back through `since`.
      if (!this.lastNano) this.lastNano = Date.now() * 1e6;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.run();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    })();
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
    this.stateListeners.clear();
    this.abort?.abort();
    clearTimeout(this.timer);
  }
}
