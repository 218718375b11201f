// Berth's image builder: a Dockerfile's stages run on the engine's own containers and layers,
// speaking dockerd's classic build stream (Step lines, `---> Using cache`, aux IDs) so the
// docker CLI, compose v1 and docker-py work unchanged. Every step makes an image whose parent
// is the step before (Docker's intermediate images), and the step's key on it is the cache:
// a later build with the same parent and key reuses it. COPY keys hash file contents and
// modes, never mtimes. Only the stages the target needs are built.
import { randomBytes } from 'node:crypto';
import { invalid, notFound, EngineError } from '../errors.ts';
import type { Engine } from '../engine.ts';
import type { ImageConfig } from '../images/imageStore.ts';
import { hostArch } from '../images/localImageStore.ts';
import { resolveUser } from '../runtime/users.ts';
import { userFiles } from '../containers/specBuilder.ts';
import { parseDockerfile, type Dockerfile, type Instruction, type Stage } from './dockerfile.ts';
import { applyMeta, commandOf, DEFAULT_SHELL, envVars, platformArgs, PROXY_ARGS, type MetaContext } from './metadata.ts';
import { expandWord, expandWords, type Vars } from './shellWords.ts';
import { contextSource, CopyJob, resolveDest, viewSource, type CopyPlan } from './copy.ts';
import { lockCache, mountSpecs, parseRunMount, secretFile, sshDefaults, type RunMount } from './runMounts.ts';
import { sshAgentFor } from './sshAgent.ts';
import { deframer } from '../containers/attach.ts';
import { cacheComment, keyOf, restoreFrom } from './cacheFrom.ts';
import type { MountSpec } from '../../../common/models.ts';
import { mkdirSync } from 'node:fs';
import { isDir } from '../sys/fsat.ts';
import { FsView } from '../confined/fsView.ts';
import { fetchAddSources } from './addSources.ts';
import { coalesce, TAR_END } from '../images/tarWriter.ts';
import { Readable } from 'node:stream';
import type { ContainersBackend } from '../../backend/backend.ts';
import type { BuildOptions, BuildOutput } from './types.ts';
import type { BuildRecorder } from './history.ts';

interface StageState {
  stage: Stage;
  /** the current image: id ('' for scratch before any step) and config */
  imageId: string;
  config: ImageConfig;
  /** ARGs declared in the stage, with their values */
  args: Map<string, string>;
  cmdSet: boolean;
  /** the step number running in this stage */
  step: number;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function emptyConfig(): ImageConfig {
  return { architecture: hostArch(), os: 'linux', created: new Date().toISOString(), config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

export class Builder {
  private readonly numbers = new Map<Instruction, number>();
  /** where the steps are recorded for the app's Builds view */
  recorder?: BuildRecorder;
  /** aborted by the client, or by a failure in a stage running beside */
  private readonly abort = new AbortController();
  private failure?: Error;
  private failedContainer?: string;
  private total = 0;
  private readonly used = new Set<string>();
  private readonly results = new Map<number, string>();
  private readonly df: Dockerfile;
  /** ARGs before the first FROM, with BuildKit's predefined platform args among them */
  private readonly metaArgs = new Map<string, string>(Object.entries(platformArgs()));
  private readonly containers: string[] = [];

  constructor(private readonly e: Engine, private readonly containersApi: ContainersBackend, private readonly opts: BuildOptions, private readonly out: BuildOutput,
    private readonly signal?: AbortSignal) {
    this.df = parseDockerfile(opts.dockerfileText, opts.dockerfileName);
    if (signal?.aborted) this.abort.abort();
    signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
  }

  /** The target stage: --target, or the last one. */
  private target(): Stage {
    const stages = this.df.stages;
    if (!this.opts.target) return stages.at(-1)!;
    const t = stages.find((s) => s.name === this.opts.target!.toLowerCase());
    if (!t) throw invalid(`target stage "${this.opts.target}" could not be found`);
    return t;
  }

  /**
   * The stages to build, in the Dockerfile's order: the target and what it needs (FROM, COPY
   * --from, RUN --mount from=). As in BuildKit, a stage named by --from may come later in the
   * file, and stages that need each other, through any path, are refused before anything runs.
   */
  plan(): Stage[] {
    const stages = this.df.stages;
    const target = this.target();
    // Depth-first over every stage (BuildKit checks them all, used or not): a dependency still
    // on the current path closes a cycle.
    const state = new Map<number, 'path' | 'done'>();
    const visit = (s: Stage) => {
      state.set(s.index, 'path');
      for (const d of this.dependencies(s)) {
        if (state.get(d) === 'path') throw invalid(`circular dependency detected on stage: ${stages[d].name ?? `stage-${d}`}`);
        if (!state.has(d)) visit(stages[d]);
      }
      state.set(s.index, 'done');
    };
    for (const s of stages) if (!state.has(s.index)) visit(s);
    const need = new Set<number>();
    const reach = (s: Stage) => {
      if (need.has(s.index)) return;
      need.add(s.index);
      for (const d of this.dependencies(s)) reach(stages[d]);
    };
    reach(target);
    return stages.filter((s) => need.has(s.index));
  }

  /** A stage named (or numbered) by `ref`: only earlier ones for a FROM (`before`), any for --from. */
  private stageRef(ref: string, before = Infinity): Stage | undefined {
    const stages = this.df.stages;
    if (/^\d+$/.test(ref)) return stages[Number(ref)] && Number(ref) < before ? stages[Number(ref)] : undefined;
    return stages.find((s) => s.name === ref.toLowerCase() && s.index < before);
  }

  /** Runs the build; the final image's id. */
  async run(): Promise<string> {
    const stages = this.plan();
    const target = this.target();
    const labels = Object.entries(this.opts.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
    // Step numbers are fixed up front: stages that run side by side print theirs as they go.
    let n = 0;
    for (const ins of this.df.metaArgs) this.numbers.set(ins, ++n);
    const lists = new Map<number, Instruction[]>();
    for (const stage of stages) {
      const list = [...stage.instructions];
      if (stage === target) {
        for (const [k, v] of labels) {
          list.push({ cmd: 'LABEL', flags: [], rest: `${JSON.stringify(k)}=${JSON.stringify(v)}`, heredocs: [], line: 0, original: `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}` });
        }
      }
      lists.set(stage.index, list);
      for (const ins of [stage.from, ...list]) this.numbers.set(ins, ++n);
    }
    this.total = n;
    this.recorder?.total(n);
    const vars = this.argVars(this.metaArgs);
    for (const ins of this.df.metaArgs) {
      this.stepLine(ins, 'global');
      this.declareArg(ins, this.metaArgs, vars);
      this.recorder?.end(this.numbers.get(ins)!, 'done');
    }
    // Each stage starts once the stages it names are built; independent ones run in parallel.
    // The first failure stops the others.
    const done = new Map<number, Promise<string>>();
    const schedule = (stage: Stage): Promise<string> => {
      let p = done.get(stage.index);
      if (p) return p;
      // A stage named later in the file is scheduled first (plan() refused cycles).
      const deps = [...this.dependencies(stage)].map((d) => schedule(this.df.stages[d]));
      p = Promise.all(deps).then(() => this.runStage(stage, lists.get(stage.index)!));
      p.catch((e) => {
        this.failure ??= e as Error;
        this.abort.abort();
      });
      done.set(stage.index, p);
      return p;
    };
    for (const stage of stages) schedule(stage);
    const settled = await Promise.allSettled(done.values());
    if (this.failure) throw this.failure;
    const bad = settled.find((r) => r.status === 'rejected');
    if (bad) throw (bad as PromiseRejectedResult).reason;
    const unused = Object.keys(this.opts.buildArgs ?? {}).filter((k) => !this.used.has(k) && !PROXY_ARGS.includes(k) && k !== 'SOURCE_DATE_EPOCH');
    if (unused.length) this.out.stream(`[Warning] One or more build-args [${unused.sort().join(' ')}] were not consumed\n`);
    return this.results.get(target.index)!;
  }

  /** The stages a stage names: its base (an earlier stage), COPY --from and RUN --mount from= (any stage). */
  private dependencies(stage: Stage): Set<number> {
    const out = new Set<number>();
    const base = this.stageRef(stage.base, stage.index);
    if (base) out.add(base.index);
    for (const ins of stage.instructions) {
      for (const f of ins.flags) {
        const ref = f.name === 'from' ? f.value : f.name === 'mount' ? /(?:^|,)from=([^,]+)/.exec(f.value ?? '')?.[1] : undefined;
        const dep = ref ? this.stageRef(ref) : undefined;
        if (dep) out.add(dep.index);
      }
    }
    return out;
  }

  private async runStage(stage: Stage, instructions: Instruction[]): Promise<string> {
    const st = await this.from(stage);
    for (const ins of instructions) {
      this.checkCancel();
      st.step = this.numbers.get(ins) ?? 0;
      this.stepLine(ins, stage.name ?? String(stage.index));
      try {
        await this.exec(st, ins);
      } catch (e) {
        this.recorder?.end(st.step, 'failed', (e as { exitCode?: number }).exitCode);
        throw e;
      }
      this.recorder?.end(st.step, 'done');
      this.out.stream(` ---> ${short(st.imageId)}\n`);
    }
    // A stage of only metadata on scratch still needs an image.
    if (!st.imageId) await this.scratch(st);
    this.results.set(stage.index, st.imageId);
    this.out.aux({ ID: st.imageId });
    return st.imageId;
  }

  /** Removes the containers left by steps, but for a failed RUN's (dockerd keeps it) unless forcerm or cancelled. */
  async cleanup(failed: boolean): Promise<void> {
    const keep = failed && !this.opts.forcerm && !this.signal?.aborted ? this.failedContainer : undefined;
    for (const id of this.containers) if (id !== keep) await this.e.containers.remove(id, { force: true }).catch(() => undefined);
  }

  private checkCancel(): void {
    if (this.abort.signal.aborted) throw this.failure ?? new EngineError('UNAVAILABLE', 'Build cancelled');
  }

  private stepLine(ins: Instruction, stage: string): void {
    const n = this.numbers.get(ins) ?? 0;
    const text = ins.original.replace(/\s+/g, ' ');
    this.recorder?.begin(n, text, ins.line, stage);
    this.out.stream(`Step ${n}/${this.total} : ${text}\n`);
  }

  private argVars(args: Map<string, string>, env?: string[] | null): Vars {
    const fromEnv = envVars(env);
    return (n) => fromEnv(n) ?? args.get(n);
  }

  /** Declares an ARG; its history text (`ARG NAME` or `ARG NAME=default`, the default expanded). */
  private declareArg(ins: Instruction, into: Map<string, string>, vars: Vars): string {
    const [, name, def] = /^([^=\s]+)(?:=([\s\S]*))?$/.exec(ins.rest.trim()) ?? [];
    if (!name) throw invalid(`dockerfile parse error line ${ins.line}: ARG requires exactly one argument`);
    const given = this.opts.buildArgs?.[name];
    if (given !== undefined) this.used.add(name);
    let value: string | undefined;
    if (given !== undefined && given !== null) value = given;
    else if (def !== undefined) value = expandWord(def, vars, this.df.escape);
    else if (this.metaArgs.has(name) && into !== this.metaArgs) value = this.metaArgs.get(name);
    if (value !== undefined) into.set(name, value);
    else into.delete(name);
    return def === undefined ? `ARG ${name}` : `ARG ${name}=${expandWord(def, vars, this.df.escape)}`;
  }

  private async from(stage: Stage): Promise<StageState> {
    this.stepLine(stage.from, stage.name ?? String(stage.index));
    const base = expandWord(stage.base, (n) => this.metaArgs.get(n), this.df.escape);
    if (!base) throw invalid(`base name (${stage.base}) should not be blank`);
    const st: StageState = { stage, imageId: '', config: emptyConfig(), args: new Map(), cmdSet: false, step: this.numbers.get(stage.from) ?? 0 };
    st.config.created = this.created();
    const dep = this.stageRef(base, stage.index);
    if (dep) {
      st.imageId = this.results.get(dep.index)!;
    } else if (base.toLowerCase() !== 'scratch') {
      st.imageId = await this.image(base, st.step);
    }
    if (st.imageId) st.config = structuredClone(this.e.images.get(st.imageId).config);
    this.out.stream(` ---> ${short(st.imageId)}\n`);
    this.recorder?.end(st.step, 'done');
    const triggers = st.config.config.OnBuild ?? [];
    if (triggers.length) {
      this.out.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      st.config.config.OnBuild = null;
      const parsed = parseDockerfile(`FROM scratch\n${triggers.join('\n')}`).stages[0].instructions;
      for (const ins of parsed) await this.exec(st, ins);
      if (triggers.length) this.out.stream(` ---> ${short(st.imageId)}\n`);
    }
    return st;
  }

  /** A base image by name: the local one, or pulled (always with pull=1). */
  private async image(ref: string, step: number): Promise<string> {
    if (!this.opts.pull) {
      try {
        return this.e.images.resolveId(ref);
      } catch {
        /* pull it */
      }
    }
    this.recorder?.phase(step, 'pull');
    const img = await this.e.pull(ref, { onProgress: (m) => this.out.progress(m), signal: this.abort.signal });
    return img.id;
  }

  private async exec(st: StageState, ins: Instruction): Promise<void> {
    const c = st.config.config;
    const vars = this.argVars(st.args, c.Env);
    switch (ins.cmd) {
      case 'ARG': {
        const declared = this.declareArg(ins, st.args, vars);
        return this.commitMeta(st, declared, `ARG ${ins.rest.trim()}`);
      }
      case 'RUN': return this.runStep(st, ins);
      case 'COPY': case 'ADD': return this.copyStep(st, ins);
      case 'MAINTAINER': {
        st.config.author = ins.rest.trim();
        return this.commitMeta(st, ins.original, `MAINTAINER ${ins.rest.trim()}`);
      }
      case 'WORKDIR': {
        applyMeta(c, ins, { vars, escape: this.df.escape, cmdSet: st.cmdSet });
        return this.workdirStep(st, `WORKDIR ${c.WorkingDir}`);
      }
      default: {
        const ctx: MetaContext = { vars, escape: this.df.escape, cmdSet: st.cmdSet };
        if (!applyMeta(c, ins, ctx)) throw invalid(`dockerfile parse error line ${ins.line}: unknown instruction: ${ins.cmd}`);
        st.cmdSet = !!ctx.cmdSet;
        return this.commitMeta(st, ctx.history ?? ins.original, `${ins.cmd} ${ins.cmd === 'ONBUILD' ? ins.rest.trim() : JSON.stringify(c)}`);
      }
    }
  }

  private shell(st: StageState): string[] {
    return st.config.config.Shell?.length ? st.config.config.Shell : DEFAULT_SHELL;
  }

  /** The cached image for this parent and key, if the cache may be used. */
  private cached(parent: string, key: string): string | undefined {
    if (this.opts.nocache) return undefined;
    const buildKey = keyOf(parent, key);
    const hit = this.e.images.byBuildKey(buildKey).map((id) => ({ id, rec: this.e.images.record(id) })).find((x) => (x.rec?.parent ?? '') === parent);
    if (!hit) return undefined;
    const from = this.opts.cacheFrom;
    if (from !== undefined && from.length) {
      // Only steps in the chains of the listed images count (dockerd's ImageCache).
      const chain = new Set<string>();
      for (const ref of from) {
        let id: string | undefined;
        try {
          id = this.e.images.resolveId(ref);
        } catch {
          continue; // a missing image is skipped
        }
        for (let p: string | undefined = id; p && !chain.has(p); p = this.e.images.record(p)?.parent) chain.add(p);
      }
      if (!chain.has(hit.id)) return undefined;
    }
    return hit.id;
  }

  /** A cached image for this step, local or restored from --cache-from images; `createdBy` the history it would write. */
  private async useCache(st: StageState, key: string, createdBy?: () => string): Promise<boolean> {
    const hit = this.cached(st.imageId, key) ?? (this.opts.nocache ? undefined : await restoreFrom(this.e, this.opts.cacheFrom, st, { key, createdBy }));
    if (!hit) return false;
    this.out.stream(' ---> Using cache\n');
    this.recorder?.end(st.step, 'cached');
    st.imageId = hit;
    st.config = structuredClone(this.e.images.get(hit).config);
    return true;
  }

  private history(st: StageState, createdBy: string, emptyLayer: boolean, key: string): void {
    const created = this.created();
    st.config.created = created;
    delete (st.config as { container_config?: unknown }).container_config;
    st.config.history = [...(st.config.history ?? []), { created, created_by: createdBy, comment: cacheComment(key), ...(emptyLayer ? { empty_layer: true } : {}) }];
  }

  /** SOURCE_DATE_EPOCH, when the build is asked to be reproducible: every `created` and no file newer */
  private epoch(): number | undefined {
    const v = this.opts.buildArgs?.SOURCE_DATE_EPOCH;
    return v && /^\d+$/.test(v) ? Number(v) : undefined;
  }

  private created(): string {
    const epoch = this.epoch();
    return epoch !== undefined ? new Date(epoch * 1000).toISOString() : new Date().toISOString();
  }

  /** FROM scratch as an image, the same one each build (the cache keys on it). */
  private async scratch(st: StageState): Promise<void> {
    const hit = this.cached('', 'scratch');
    if (hit) {
      st.imageId = hit;
      st.config = structuredClone(this.e.images.get(hit).config);
      return;
    }
    await this.save(st, 'scratch');
  }

  private async save(st: StageState, key: string): Promise<void> {
    const parent = st.imageId;
    const img = await this.e.storeImage(st.config, { parent: parent || undefined, buildKey: keyOf(parent, key) });
    st.imageId = img.id;
  }

  /**
   * A step that changes only the config: an image with the same layers, and no container. dockerd
   * makes (and removes) one for such a step and says so; the same two lines are written here,
   * with a fresh id that names nothing, so the stream reads as dockerd's to people and parsers.
   */
  private async commitMeta(st: StageState, original: string, key: string): Promise<void> {
    const pending = structuredClone(st.config);
    const createdBy = `${this.shell(st).join(' ')} #(nop)  ${original.replace(/^\S+/, (w) => w.toUpperCase())}`;
    if (await this.useCache(st, key, () => createdBy)) return;
    const id = randomBytes(32).toString('hex');
    this.out.stream(` ---> Running in ${short(id)}\n`);
    st.config = pending;
    this.history(st, createdBy, true, key);
    await this.save(st, key);
    this.out.stream(` ---> Removed intermediate container ${short(id)}\n`);
  }

  /** Env for a step's process: the image's, then the build args in scope (not kept in the image). */
  private stepEnv(st: StageState): { env: string[]; argText: string } {
    const args = new Map(st.args);
    for (const p of PROXY_ARGS) {
      const v = this.opts.buildArgs?.[p];
      if (v !== undefined && v !== null && !args.has(p)) args.set(p, v);
    }
    const env = [...(st.config.config.Env ?? [])];
    const names = new Set(env.map((e) => e.split('=')[0]));
    const extra = [...args].filter(([k]) => !names.has(k)).map(([k, v]) => `${k}=${v}`);
    const declared = [...st.args].map(([k, v]) => `${k}=${v}`).sort();
    return { env: [...env, ...extra], argText: declared.length ? `|${declared.length} ${declared.join(' ')} ` : '' };
  }

  /** A container of the current image for a step; removed at the end of the build. */
  private async stepContainer(st: StageState, cmd: string[], env: string[], run: { mounts?: MountSpec[]; network?: string } = {}): Promise<string> {
    if (!st.imageId) await this.scratch(st);
    const o = this.opts;
    const network = run.network && run.network !== 'default' ? run.network : o.networkMode && o.networkMode !== 'default' ? o.networkMode : undefined;
    const { Id } = await this.containersApi.create({
      Image: st.imageId, Cmd: cmd, Entrypoint: [], Env: env, User: st.config.config.User ?? '', WorkingDir: st.config.config.WorkingDir ?? '',
      Healthcheck: { Test: ['NONE'] }, Labels: {},
      HostConfig: {
        NetworkMode: network, Mounts: run.mounts?.length ? run.mounts : undefined,
        ExtraHosts: o.extraHosts?.length ? o.extraHosts : undefined,
        ShmSize: o.shmSize || undefined, Memory: o.memory || undefined, MemorySwap: o.memswap || undefined,
        CpuShares: o.cpuShares || undefined, CpusetCpus: o.cpusetCpus || undefined, CpuQuota: o.cpuQuota || undefined, CpuPeriod: o.cpuPeriod || undefined,
      },
    });
    this.containers.push(Id);
    this.e.volatileRootfs(Id);
    return Id;
  }

  private async finishContainer(st: StageState, id: string, createdBy: string, key: string): Promise<void> {
    this.recorder?.phase(st.step, 'commit');
    const layer = await this.e.commitLayer(id, { pause: false, adopt: this.opts.rm !== false, clampMtime: this.epoch() });
    if (layer) {
      this.recorder?.layer(st.step, layer.size);
      st.config.rootfs = { type: 'layers', diff_ids: [...st.config.rootfs.diff_ids, layer.diffId] };
    }
    this.history(st, createdBy, !layer, key);
    await this.save(st, key);
    if (this.opts.rm !== false) {
      await this.e.containers.remove(id, { force: true });
      this.containers.splice(this.containers.indexOf(id), 1);
      this.out.stream(` ---> Removed intermediate container ${short(id)}\n`);
    }
  }

  private async runStep(st: StageState, ins: Instruction): Promise<void> {
    const vars = this.argVars(st.args, st.config.config.Env);
    const mounts: RunMount[] = [];
    let network: string | undefined;
    for (const f of ins.flags) {
      const v = expandWord(f.value ?? '', vars, this.df.escape);
      if (f.name === 'mount') mounts.push(parseRunMount(v));
      else if (f.name === 'network') {
        if (!['default', 'none', 'host'].includes(v)) throw invalid(`RUN --network=${v}: use default, none or host`);
        network = v;
      } else if (f.name === 'security') {
        if (v !== 'sandbox') throw invalid(`RUN --security=${v} needs an entitlement Berth does not grant: only sandbox is allowed`);
      } else {
        throw invalid(`dockerfile parse error line ${ins.line}: unknown flag: --${f.name}`);
      }
    }
    let cmd = commandOf(ins, st.config.config.Shell);
    if (ins.heredocs.length && !ins.json && new RegExp(`^<<-?["']?${ins.heredocs[0].name}["']?\\s*$`).test(ins.rest.trim())) {
      // `RUN <<EOF` alone: the body is the script (BuildKit's dispatchRun).
      cmd = [...this.shell(st), ins.heredocs[0].body];
    } else if (ins.heredocs.length && !ins.json) {
      // The heredocs go to the shell as written.
      cmd = [...this.shell(st), `${ins.rest}\n${ins.heredocs.map((h) => `${h.body}${h.name}`).join('\n')}`];
    }
    const { env, argText } = this.stepEnv(st);
    const createdBy = `${argText}${cmd.join(' ')}`;
    sshDefaults(mounts);
    const prepared = await this.prepareMounts(st, mounts);
    try {
      const key = `RUN ${createdBy}${mounts.length || network ? ` ${JSON.stringify({ mounts: prepared.keys, network })}` : ''}`;
      if (await this.useCache(st, key, () => createdBy)) return;
      const own = env.some((x) => x.startsWith('SSH_AUTH_SOCK=')); // the image's own wins, as in BuildKit
      await this.runContainer(st, cmd, own ? env : [...env, ...prepared.env], createdBy, key, { mounts: prepared.specs, network, targets: mounts.map((m) => m.target) });
    } finally {
      prepared.release();
    }
  }

  /** The mounts a RUN asked for: cache dirs (locked while used), tmpfs, and binds copied out of their source. */
  private async prepareMounts(st: StageState, mounts: RunMount[]): Promise<{ specs: MountSpec[]; keys: unknown[]; env: string[]; release: () => void }> {
    const releases: (() => void)[] = [];
    const env: string[] = [];
    const specs: { m: RunMount; source?: string }[] = [];
    const keys: unknown[] = [];
    try {
      for (const m of mounts) {
        if (m.type === 'cache') {
          const { dir, lockKey } = this.e.cacheMounts.prepare(m);
          releases.push(await lockCache(lockKey));
          specs.push({ m, source: dir });
          keys.push({ type: 'cache', target: m.target }); // its content never keys the cache
        } else if (m.type === 'tmpfs') {
          specs.push({ m });
          keys.push({ type: 'tmpfs', target: m.target, size: m.size });
        } else if (m.type === 'bind') {
          const copied = await this.bindCopy(st, m, specs.length);
          specs.push({ m, source: copied.path });
          keys.push({ type: 'bind', target: m.target, from: m.from, source: m.source, rw: !m.readOnly, digest: copied.digest });
        } else if (m.type === 'secret') {
          const id = m.id ?? m.target.split('/').pop() ?? '';
          const value = this.opts.secrets?.[id];
          keys.push({ type: 'secret', target: m.target }); // its content never keys the cache
          if (value === undefined) {
            if (m.required) throw invalid(`secret ${id} is required, but this build was not given it: the docker CLI cannot send secrets over the classic protocol; build from the app's Builds view with the secret set`);
            continue;
          }
          specs.push({ m: { ...m, readOnly: true }, source: secretFile(this.opts.workDir, specs.length, m, value) });
        } else if (m.type === 'ssh') {
          keys.push({ type: 'ssh', target: m.target, id: m.id }); // nor do its keys
          const agent = await sshAgentFor(m, this.opts.ssh?.[m.id!], `${this.opts.workDir}/ssh/${st.step}.${specs.length}`, this.opts.sshAgents?.[m.id!]);
          if (!agent) continue;
          releases.push(() => void agent.close());
          specs.push({ m, source: agent.path });
          if (!env.length) env.push(`SSH_AUTH_SOCK=${m.target}`);
        } else {
          throw invalid(`RUN --mount=type=${m.type} is not supported by Berth's builder`);
        }
      }
    } catch (e) {
      for (const r of releases) r();
      throw e;
    }
    return { specs: mountSpecs(specs), keys, env, release: () => releases.forEach((r) => r()) };
  }

  /** A bind source (context, stage or image), copied into the build's own directory, read-only unless rw (whose writes are dropped). */
  private async bindCopy(st: StageState, m: RunMount, n: number): Promise<{ path: string; digest: string }> {
    let fromImage: string | undefined;
    if (m.from) {
      const dep = this.stageRef(m.from);
      fromImage = dep ? this.results.get(dep.index) : await this.image(m.from, st.step);
    }
    const srcContainer = fromImage ? await this.tempContainer(fromImage) : undefined;
    const source = srcContainer ? viewSource(this.e.fsAt, this.e.rootfsView(srcContainer)) : contextSource(this.opts.context);
    const dir = `${this.opts.workDir}/binds/${n}-${Date.now()}`;
    mkdirSync(dir, { recursive: true });
    try {
      const path = m.source ?? '/';
      const st = source.stat(path);
      if (!st) throw notFound(`RUN --mount: ${path} not found in ${m.from ?? 'the build context'}`);
      const file = !st.isDir;
      const plan: CopyPlan = { add: false, sources: [path], heredocs: [], dest: file ? '/f' : '/d', from: m.from };
      const job = new CopyJob(source, plan, undefined, false);
      const digest = job.digest();
      await this.e.extractIntoDir(dir, Readable.from(job.tar()));
      return { path: `${dir}/${file ? 'f' : 'd'}`, digest };
    } finally {
      source.close();
      if (srcContainer) await this.dropContainer(srcContainer);
    }
  }

  private async runContainer(st: StageState, cmd: string[], env: string[], createdBy: string, key: string, run: { mounts: MountSpec[]; network?: string; targets: string[] }): Promise<void> {
    this.recorder?.phase(st.step, 'exec');
    const id = await this.stepContainer(st, cmd, env, run);
    this.out.stream(` ---> Running in ${short(id)}\n`);
    const b = this.containersApi;
    // Attached before the start, as `docker run` is: no output can be missed.
    const stdio = await b.attach(id, { stdin: false, stdout: true, stderr: true, stream: true });
    // A cancel kills the step once its start is through (the process may print before that).
    let started: Promise<void> = Promise.resolve();
    const onAbort = () => void started.then(() => this.e.containers.kill(id, 'SIGKILL')).catch(() => undefined);
    this.abort.signal.addEventListener('abort', onAbort);
    try {
      const output = this.relay(stdio.stream, st.step);
      started = b.start(id);
      await started;
      await output;
      const { StatusCode } = await b.wait(id);
      this.checkCancel();
      if (StatusCode !== 0) {
        this.failedContainer = id;
        throw Object.assign(invalid(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`), { exitCode: StatusCode });
      }
    } finally {
      stdio.stream.destroy();
      this.abort.signal.removeEventListener('abort', onAbort);
    }
    if (run.targets.length) this.e.removeMountStubs(id, run.targets);
    await this.finishContainer(st, id, createdBy, key);
  }

  /** Docker's multiplexed frames (8-byte headers) to the build stream; stderr in red, as dockerd marks it. */
  private relay(stream: NodeJS.ReadableStream, step: number): Promise<void> {
    const frames = deframer();
    return new Promise((resolve) => {
      stream.on('data', (d: Buffer) => {
        for (const f of frames(d)) {
          const text = f.data.toString('utf8');
          this.out.stream(f.stream === 2 ? `\x1b[91m${text}\x1b[0m` : text);
          this.recorder?.output(step, text);
        }
      });
      for (const ev of ['end', 'close', 'error']) stream.once(ev, () => resolve());
    });
  }

  private async workdirStep(st: StageState, key: string): Promise<void> {
    const dir = st.config.config.WorkingDir ?? '/';
    const createdBy = `${this.shell(st).join(' ')} #(nop) WORKDIR ${dir}`;
    if (await this.useCache(st, key, () => createdBy)) return;
    const id = await this.stepContainer(st, ['/bin/sh'], []);
    this.out.stream(` ---> Running in ${short(id)}\n`);
    const view = this.e.rootfsView(id);
    try {
      let at = '';
      for (const part of dir.split('/').filter(Boolean)) {
        at += `/${part}`;
        view.ensureDir(at, 0o755);
      }
    } finally {
      view.close();
    }
    await this.finishContainer(st, id, createdBy, key);
  }

  private async copyStep(st: StageState, ins: Instruction): Promise<void> {
    const vars = this.argVars(st.args, st.config.config.Env);
    const plan: CopyPlan = { add: ins.cmd === 'ADD', sources: [], dest: '', heredocs: [], chown: undefined, chmod: undefined };
    let checksum: string | undefined;
    let keepGitDir = false;
    for (const f of ins.flags) {
      const v = expandWord(f.value ?? '', vars, this.df.escape);
      if (f.name === 'from') plan.from = v;
      else if (f.name === 'chown') plan.chown = v;
      else if (f.name === 'chmod') {
        if (!/^[0-7]{1,4}$/.test(v)) throw invalid(`invalid chmod parameter: ${v}: use an octal mode such as 0755`);
        plan.chmod = parseInt(v, 8);
      } else if (f.name === 'parents') plan.parents = f.value === undefined || f.value === 'true';
      else if (f.name === 'exclude') (plan.exclude ??= []).push(v);
      else if (f.name === 'link') continue; // a layer of its own changes nothing here: layers are diffs already
      else if (f.name === 'checksum' && plan.add) checksum = v;
      else if (f.name === 'keep-git-dir' && plan.add) keepGitDir = f.value === undefined || f.value === 'true';
      else throw invalid(`dockerfile parse error line ${ins.line}: unknown flag: --${f.name}`);
    }
    const words = ins.json ?? expandWords(ins.rest, vars, this.df.escape);
    if (words.length < 2 && !ins.heredocs.length) throw invalid(`dockerfile parse error line ${ins.line}: ${ins.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    plan.dest = words.at(-1)!;
    const destWritten = plan.dest; // as the history shows it, before WORKDIR makes it absolute
    for (const w of words.slice(0, -1)) {
      const h = ins.heredocs.find((d) => new RegExp(`^<<-?["']?${d.name}["']?$`).test(w));
      if (h) plan.heredocs.push({ name: h.name, body: h.quoted ? h.body : expandWord(h.body.replace(/(["'])/g, '\\$1'), vars, this.df.escape) });
      else plan.sources.push(w);
    }
    const gitDir = plan.add ? `${this.opts.workDir}/git-${st.step}` : undefined;
    if (plan.add && plan.sources.some((src) => /^[a-z]+:\/\//i.test(src))) this.recorder?.phase(st.step, 'download');
    const git = await fetchAddSources(plan, { line: ins.line, checksum, keepGitDir, gitDir, signal: this.abort.signal, sshKeys: this.opts.ssh?.default, sshAgent: this.opts.sshAgents?.default });
    if (plan.from) {
      const dep = this.stageRef(plan.from);
      plan.fromImage = dep ? this.results.get(dep.index) : await this.image(plan.from, st.step);
    }
    if (!plan.dest.startsWith('/')) {
      const wd = st.config.config.WorkingDir || '/';
      plan.dest = `${wd.replace(/\/$/, '')}/${plan.dest}`;
    }
    if (!st.imageId) await this.scratch(st);
    const owner = plan.chown ? await this.resolveChown(st, plan.chown) : undefined;
    const srcContainer = plan.fromImage ? await this.tempContainer(plan.fromImage) : undefined;
    const source = git ? viewSource(this.e.fsAt, FsView.open(this.e.fsAt, gitDir!, `git source ${git}`))
      : srcContainer ? viewSource(this.e.fsAt, this.e.rootfsView(srcContainer)) : contextSource(this.opts.context);
    let target: string | undefined;
    try {
      // Whether the destination is an existing directory matters only for one file without a trailing /.
      let destIsDir = false;
      if (!plan.dest.endsWith('/') && plan.sources.length + plan.heredocs.length === 1) {
        target = await this.stepContainer(st, ['/bin/sh'], []);
        const view = this.e.rootfsView(target);
        try {
          const entry = view.lookup(plan.dest, true);
          destIsDir = isDir(entry.stat);
          this.e.fsAt.close(entry.fd);
        } catch {
          destIsDir = false;
        } finally {
          view.close();
        }
      }
      this.recorder?.phase(st.step, 'hash');
      const job = new CopyJob(source, plan, owner, destIsDir);
      const key = `${ins.cmd} ${job.digest()} ${JSON.stringify({ dest: plan.dest, owner, chmod: plan.chmod })}`;
      const createdBy = () => `${this.shell(st).join(' ')} #(nop) ${ins.cmd} ${plan.chown ? `--chown=${plan.chown}` : ''}${job.dockerdSummary() ?? job.summary()} in ${destWritten} `;
      if (await this.useCache(st, key, createdBy)) return;
      // The layer is written straight from the sources (no container upper dir to fill and read
      // back): the destination resolved in the rootfs as the container sees it, its existing
      // parent directories with their own metadata (what a copy-up keeps), then the files.
      target ??= await this.stepContainer(st, ['/bin/sh'], []);
      const view = this.e.rootfsView(target);
      let resolved: { dest: string; parents: Buffer[] };
      try {
        resolved = resolveDest(this.e.fsAt, view, plan.dest, this.epoch());
      } finally {
        view.close();
      }
      const layerJob = new CopyJob(source, { ...plan, dest: resolved.dest, clampMtime: this.epoch() }, owner, destIsDir);
      function* tar(): Generator<Buffer> {
        yield* resolved.parents;
        yield* layerJob.entries();
        yield TAR_END;
      }
      this.recorder?.phase(st.step, 'copy');
      // Files unchanged since this instruction's last layer are linked from it (see importLayer);
      // what the sources hold (the cache key) tells whether the layer is new.
      const similar = { key: `${ins.cmd} ${JSON.stringify({ sources: plan.sources, from: plan.from, dest: plan.dest, owner, chmod: plan.chmod })}`, content: key };
      const layer = await this.e.images.importLayer(Readable.from(coalesce(tar(), 1 << 20)), `${ins.cmd} at step ${st.step}`, similar);
      this.recorder?.layer(st.step, layer.size);
      this.recorder?.phase(st.step, 'commit');
      st.config.rootfs = { type: 'layers', diff_ids: [...st.config.rootfs.diff_ids, layer.diffId] };
      this.history(st, createdBy(), false, key);
      await this.save(st, key);
      // The container only showed the destination as the image has it: dockerd names none for a COPY.
      const id = target;
      target = undefined;
      await this.dropContainer(id);
    } finally {
      source.close();
      if (srcContainer) await this.dropContainer(srcContainer);
      if (target) await this.dropContainer(target);
    }
  }

  /** A container of an image that never starts: its rootfs to read files from. */
  private async tempContainer(imageId: string): Promise<string> {
    const { Id } = await this.containersApi.create({ Image: imageId, Cmd: ['/bin/sh'], Entrypoint: [], Labels: {} });
    this.containers.push(Id);
    this.e.volatileRootfs(Id);
    return Id;
  }

  private async dropContainer(id: string): Promise<void> {
    await this.e.containers.remove(id, { force: true }).catch(() => undefined);
    const at = this.containers.indexOf(id);
    if (at >= 0) this.containers.splice(at, 1);
  }

  private async resolveChown(st: StageState, spec: string): Promise<{ uid: number; gid: number }> {
    const [u, g] = spec.split(':');
    if (/^\d+$/.test(u) && (g === undefined || /^\d+$/.test(g))) return { uid: Number(u), gid: Number(g ?? u) };
    let files = { passwd: '', group: '' };
    if (st.imageId) {
      const id = await this.tempContainer(st.imageId);
      const view = this.e.rootfsView(id);
      try {
        files = userFiles(view);
      } finally {
        view.close();
        await this.dropContainer(id);
      }
    }
    const user = resolveUser(files, g === undefined ? u : `${u}:${g}`);
    return { uid: user.uid, gid: user.gid };
  }
}


