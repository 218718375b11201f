// Stats graphs for an engine reached over its API: one streaming GET /containers/{id}/stats per
// running container while someone watches, each reading turned into the app's sample (Docker's
// CPU formula, rates against the previous reading), 15 minutes kept per container, and marks
// from the engine's events. The same shapes the in-process sampler gives.
import type { IncomingMessage } from 'node:http';
import type { ContainerStatsReading, EngineEvent } from '../../../common/docker.ts';
import type { StatsMark, StatsSample } from '../../../common/views.ts';
import type { ContainersBackend, StatsBackend } from '../backend.ts';
import type { EventFeed } from './events.ts';
import { jsonLines } from './client.ts';

/** The stats JSON of the Docker API (the parts the graphs read). */
export interface DockerStatsJson {
  read: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; usage_in_usermode?: number; usage_in_kernelmode?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number; throttling_data?: { throttled_periods?: number } };
  precpu_stats?: DockerStatsJson['cpu_stats'];
  memory_stats?: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: { io_service_bytes_recursive?: { major: number; minor: number; op: string; value: number }[] | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number; rx_errors: number; tx_errors: number; rx_dropped: number; tx_dropped: number }>;
}

const KEEP_MS = 15 * 60_000;

export function readingOf(j: DockerStatsJson): ContainerStatsReading {
  const cpu = j.cpu_stats ?? {};
  const mem = j.memory_stats ?? {};
  const st = mem.stats ?? {};
  const blk = (j.blkio_stats?.io_service_bytes_recursive ?? []).filter((b) => /^(read|write)$/i.test(b.op));
  return {
    read: j.read,
    cpu: {
      totalNs: cpu.cpu_usage?.total_usage ?? 0, userNs: cpu.cpu_usage?.usage_in_usermode ?? 0, systemNs: cpu.cpu_usage?.usage_in_kernelmode ?? 0,
      perCpuNs: cpu.cpu_usage?.percpu_usage ?? [], throttledPeriods: cpu.throttling_data?.throttled_periods ?? 0,
      systemNs_host: cpu.system_cpu_usage ?? 0, onlineCpus: cpu.online_cpus ?? 0,
    },
    memory: { usage: mem.usage ?? 0, limit: mem.limit ?? 0, cache: st.cache ?? st.file ?? 0, inactiveFile: st.total_inactive_file ?? st.inactive_file ?? 0, maxUsage: mem.max_usage ?? 0, stats: st },
    pids: { current: j.pids_stats?.current ?? 0, limit: j.pids_stats?.limit ?? 0 },
    blkio: blk.map((b) => ({ op: b.op.toLowerCase() as 'read' | 'write', major: b.major, minor: b.minor, value: b.value })),
    oomKills: st.oom_kill ?? 0,
    networks: Object.fromEntries(Object.entries(j.networks ?? {}).map(([k, n]) => [k, {
      rx_bytes: n.rx_bytes, tx_bytes: n.tx_bytes, rx_packets: n.rx_packets, tx_packets: n.tx_packets,
      rx_errors: n.rx_errors, tx_errors: n.tx_errors, rx_dropped: n.rx_dropped, tx_dropped: n.tx_dropped,
    }])) as ContainerStatsReading['networks'],
  };
}

/** One reading as a graph sample, with rates against the previous one. */
export function sampleOf(id: string, j: DockerStatsJson, prev: StatsSample | undefined, t = Date.now()): StatsSample {
  const cpu = j.cpu_stats ?? {};
  const pre = j.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 1;
  const st = j.memory_stats?.stats ?? {};
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(j.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let r = 0;
  let w = 0;
  for (const b of j.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (/^read$/i.test(b.op)) r += b.value;
    else if (/^write$/i.test(b.op)) w += b.value;
  }
  const dt = prev ? (t - prev.t) / 1000 : 0;
  const rate = (now: number, before: number | undefined) => (prev && dt > 0 && before !== undefined ? Math.max(0, (now - before) / dt) : 0);
  return {
    id, t,
    cpuPercent: pre.system_cpu_usage && sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0,
    memory: Math.max(0, (j.memory_stats?.usage ?? 0) - (st.total_inactive_file ?? st.inactive_file ?? 0)),
    memoryLimit: j.memory_stats?.limit ?? 0,
    rxBytes: rx, txBytes: tx, rxRate: rate(rx, prev?.rxBytes), txRate: rate(tx, prev?.txBytes),
    blkRead: r, blkWrite: w, blkReadRate: rate(r, prev?.blkRead), blkWriteRate: rate(w, prev?.blkWrite),
    pids: j.pids_stats?.current ?? 0,
  };
}

interface Watched {
  res?: IncomingMessage;
  abort: AbortController;
}

export class ApiStats implements StatsBackend {
  private readonly kept = new Map<string, { samples: StatsSample[]; marks: StatsMark[] }>();
  private readonly listeners = new Set<(s: StatsSample[]) => void>();
  private readonly markListeners = new Set<(m: StatsMark) => void>();
  private readonly streams = new Map<string, Watched>();
  private offEvents?: () => void;
  private pending: StatsSample[] = [];
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly containers: Pick<ContainersBackend, 'list'>,
    private readonly feed: EventFeed,
    /** a container's stats as a stream, one reading a second */
    private readonly open: (id: string, signal: AbortSignal) => Promise<IncomingMessage>,
  ) {}

  subscribe(listener: (samples: StatsSample[]) => void): () => void {
    this.listeners.add(listener);
    this.watch();
    return () => {
      this.listeners.delete(listener);
      this.unwatch();
    };
  }

  onMark(listener: (m: StatsMark) => void): () => void {
    this.markListeners.add(listener);
    this.watch();
    return () => {
      this.markListeners.delete(listener);
      this.unwatch();
    };
  }

  async history(id: string) {
    const h = this.kept.get(id);
    return h ? { samples: [...h.samples], marks: [...h.marks] } : { samples: [], marks: [] };
  }

  private entry(id: string) {
    let h = this.kept.get(id);
    if (!h) this.kept.set(id, (h = { samples: [], marks: [] }));
    return h;
  }

  private watch(): void {
    if (this.offEvents) return;
    const offEvents = this.feed.on((e) => this.event(e));
    // Reconnects replay what was missed; the running set is read again as well.
    const offState = this.feed.onState((s) => s === 'open' && void this.resync());
    this.offEvents = () => {
      offEvents();
      offState();
    };
    void this.resync();
  }

  private unwatch(): void {
    if (this.listeners.size || this.markListeners.size) return;
    this.offEvents?.();
    this.offEvents = undefined;
    for (const id of [...this.streams.keys()]) this.stop(id);
  }

  private async resync(): Promise<void> {
    const running = await this.containers.list({ filters: { status: ['running'] } }).catch(() => undefined);
    if (!running || !this.offEvents) return;
    const ids = new Set(running.map((c) => c.Id));
    for (const id of ids) this.start(id);
    for (const id of [...this.streams.keys()]) if (!ids.has(id)) this.stop(id);
  }

  private event(e: EngineEvent): void {
    if (e.Type !== 'container') return;
    const id = e.Actor.ID;
    const kind = e.Action === 'oom' ? 'oom' : e.Action === 'die' ? 'die' : e.Action === 'start' ? 'start' : e.Action === 'restart' ? 'restart' : undefined;
    if (kind) {
      const m: StatsMark = { id, t: e.time * 1000, kind };
      const h = this.entry(id);
      h.marks.push(m);
      while (h.marks.length && h.marks[0].t < Date.now() - KEEP_MS) h.marks.shift();
      for (const l of this.markListeners) l(m);
    }
    if (e.Action === 'start' || e.Action === 'unpause') this.start(id);
    if (e.Action === 'die' || e.Action === 'pause') this.stop(id);
    if (e.Action === 'destroy') {
      this.stop(id);
      this.kept.delete(id);
    }
  }

  private start(id: string): void {
    if (this.streams.has(id)) return;
    const w: Watched = { abort: new AbortController() };
    this.streams.set(id, w);
    void (async () => {
      try {
        const res = await this.open(id, w.abort.signal);
        w.res = res;
        for await (const j of jsonLines<DockerStatsJson>(res)) {
          if (!j.read || j.read.startsWith('0001-')) continue;
          const h = this.entry(id);
          const s = sampleOf(id, j, h.samples.at(-1));
          h.samples.push(s);
          while (h.samples.length && h.samples[0].t < s.t - KEEP_MS) h.samples.shift();
          this.emit(s);
        }
      } catch {
        /* the container stopped, or the engine went away: a start or a resync opens it again */
      } finally {
        if (this.streams.get(id) === w) this.streams.delete(id);
      }
    })();
  }

  /** Samples of one second go out together, as the in-process sampler's do. */
  private emit(s: StatsSample): void {
    this.pending.push(s);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const batch = this.pending;
      this.pending = [];
      for (const l of this.listeners) l(batch);
    }, 100);
  }

  private stop(id: string): void {
    const w = this.streams.get(id);
    if (!w) return;
    this.streams.delete(id);
    w.abort.abort();
    w.res?.destroy();
  }

  dispose(): void {
    this.listeners.clear();
    this.markListeners.clear();
    this.unwatch();
    this.offEvents?.();
    clearTimeout(this.flushTimer);
  }
}
