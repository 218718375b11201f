// The builds an engine ran, whoever asked (the docker CLI, compose, docker-py or the app): each
// step's state, timing and output as the build goes, kept on disk (the newest 50) so the app's
// Builds view shows them after a restart. Listeners hear every change, coalesced.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import type { BuildPhaseName, BuildRecord, BuildStep } from '../../../common/build.ts';
import { conflict, notFound } from '../errors.ts';

const KEEP = 50;
const OUTPUT_MAX = 64 * 1024;

export class BuildHistory {
  private readonly live = new Map<string, BuildRecord>();
  private readonly listeners = new Set<(r: BuildRecord) => void>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly cancellers = new Map<string, () => void>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    // A build that was running when the engine stopped did not finish.
    for (const r of this.saved()) {
      if (r.status === 'running') this.save({ ...r, status: 'cancelled', error: 'the engine stopped during the build', finishedAt: r.finishedAt ?? r.startedAt });
    }
  }

  private saved(): BuildRecord[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.json')).flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(`${this.dir}/${f}`, 'utf8')) as BuildRecord];
      } catch {
        return [];
      }
    });
  }

  private save(r: BuildRecord): void {
    const file = `${this.dir}/${r.id}.json`;
    writeFileSync(`${file}.tmp`, JSON.stringify(r));
    renameSync(`${file}.tmp`, file);
  }

  /** Newest first. */
  list(): BuildRecord[] {
    const byId = new Map(this.saved().map((r) => [r.id, r]));
    for (const r of this.live.values()) byId.set(r.id, r);
    return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  get(id: string): BuildRecord {
    const r = this.live.get(id) ?? this.saved().find((b) => b.id === id);
    if (!r) throw notFound(`No such build: ${id}`);
    return r;
  }

  /** Stops a running build through the canceller its run registered. */
  cancel(id: string): void {
    const stop = this.cancellers.get(id);
    if (stop) return stop();
    const r = this.get(id);
    throw conflict(`build ${id} is not running (it is ${r.status})`);
  }

  /** How a running build is stopped; the registration ends with the build. */
  cancellable(id: string, stop: () => void): void {
    this.cancellers.set(id, stop);
  }

  remove(id: string): void {
    if (this.live.has(id)) throw conflict(`build ${id} is running: cancel it first`);
    this.get(id);
    rmSync(`${this.dir}/${id}.json`, { force: true });
  }

  on(listener: (r: BuildRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(r: BuildRecord, now = false): void {
    const fire = () => {
      this.pending.delete(r.id);
      for (const l of this.listeners) l(structuredClone(r));
    };
    if (now) {
      clearTimeout(this.pending.get(r.id));
      fire();
    } else if (!this.pending.has(r.id)) {
      this.pending.set(r.id, setTimeout(fire, 100));
    }
  }

  start(init: Omit<BuildRecord, 'id' | 'status' | 'startedAt' | 'steps' | 'total'>): BuildRecorder {
    const r: BuildRecord = { ...init, id: randomBytes(6).toString('hex'), status: 'running', startedAt: Date.now(), steps: [], total: 0 };
    this.live.set(r.id, r);
    this.changed(r, true);
    const step = (n: number) => r.steps.find((s) => s.n === n);
    /** ends a running step's open phase */
    const closePhase = (s: BuildStep) => {
      const open = s.phases?.at(-1);
      if (open && open.ms === undefined) open.ms = Date.now() - s.startedAt - open.at;
    };
    return {
      id: r.id,
      total: (n) => {
        r.total = n;
      },
      begin: (n, instruction, line, stage) => {
        r.steps.push({ n, instruction, line, stage, state: 'running', startedAt: Date.now(), output: '' });
        r.steps.sort((a, b) => a.n - b.n);
        this.changed(r);
      },
      output: (n, text) => {
        const s = step(n);
        if (!s || s.output.length >= OUTPUT_MAX) return;
        s.output += text.slice(0, OUTPUT_MAX - s.output.length);
        this.changed(r);
      },
      phase: (n, name) => {
        const s = step(n);
        if (!s || s.state !== 'running') return;
        closePhase(s);
        (s.phases ??= []).push({ name, at: Date.now() - s.startedAt });
        this.changed(r);
      },
      layer: (n, bytes) => {
        const s = step(n);
        if (s) s.layerBytes = bytes;
      },
      end: (n, state, exitCode) => {
        const s = step(n);
        if (!s || s.state !== 'running') return;
        closePhase(s);
        s.state = state;
        s.ms = Date.now() - s.startedAt;
        if (exitCode !== undefined) s.exitCode = exitCode;
        this.changed(r);
      },
      finish: (result) => {
        Object.assign(r, result, { finishedAt: Date.now() });
        for (const s of r.steps) {
          if (s.state !== 'running') continue;
          closePhase(s);
          s.state = result.status === 'done' ? 'done' : 'failed';
          s.ms = Date.now() - s.startedAt;
        }
        if (result.status === 'failed') r.errorLine = r.steps.find((s) => s.state === 'failed')?.line || undefined;
        this.live.delete(r.id);
        this.cancellers.delete(r.id);
        this.save(r);
        this.trim();
        this.changed(r, true);
      },
    };
  }

  private trim(): void {
    const all = this.saved().sort((a, b) => b.startedAt - a.startedAt);
    for (const r of all.slice(KEEP)) rmSync(`${this.dir}/${r.id}.json`, { force: true });
  }
}

export interface BuildRecorder {
  id: string;
  total(n: number): void;
  begin(n: number, instruction: string, line: number, stage: string): void;
  output(n: number, text: string): void;
  /** a step's next phase begins (ending the one before) */
  phase(n: number, name: BuildPhaseName): void;
  /** the layer a step made */
  layer(n: number, bytes: number): void;
  end(n: number, state: BuildStep['state'], exitCode?: number): void;
  finish(result: Pick<BuildRecord, 'status'> & Partial<Pick<BuildRecord, 'imageId' | 'error' | 'errorLine'>>): void;
}
