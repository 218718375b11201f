// Builds: a form to build an image from a folder (Dockerfile, tags, build args, a target from
// the Dockerfile's stages, no-cache, pull) with the context's size after .dockerignore; the
// history of the engine's builds, the docker CLI's and compose's included; and a build's detail:
// its steps live (running with a timer, cached, done with a duration, failed with an exit code),
// each step's output folded under it, the Dockerfile with the failing line marked, and actions.
import { useEffect, useState, type CSSProperties } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { BuildPhaseName, BuildRecord, BuildStep, BuildSummary } from '../../../common/build.ts';
import { ago, humanSize, shortId } from '../../format.ts';
import { useApp, useAppStore } from '../../store/context.tsx';
import { SplitDivider, useListShare } from '../../components/SplitDivider.tsx';
import { TrashIcon } from '../../components/icons.tsx';

const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

function duration(b: { startedAt: number; finishedAt?: number }, now: number): string {
  return seconds((b.finishedAt ?? now) - b.startedAt);
}

/** Ticks once a second while something runs, for timers. */
function useNow(running: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  return running ? now : Date.now();
}

export function BuildsView() {
  const builds = useApp((s) => s.builds);
  const loaded = useApp((s) => s.buildsLoaded);
  const selected = useApp((s) => s.selectedBuild);
  const a = useApp(useShallow((s) => ({ load: s.loadBuilds, select: s.selectBuild })));
  useEffect(() => {
    void a.load();
  }, [a]);
  const sel = builds.find((b) => b.id === selected);
  const share = useListShare();
  const now = useNow(builds.some((b) => b.status === 'running'));
  return (
    <div className={`split${sel ? ' with-detail' : ''}`} style={{ '--list': `${share}%` } as CSSProperties}>
      <section className="list-pane" aria-label="builds">
        <header className="toolbar"><h1>Builds</h1><span className="spacer" /><BuildCache /></header>
        <BuildForm />
        <div className="row head build-row" role="row">
          <span className="cell">Build</span><span className="cell">Status</span><span className="cell wide">Started</span><span className="cell">Took</span><span className="cell">Cached</span><span className="cell actions" />
        </div>
        {!loaded ? <div className="skeleton">{[0, 1].map((i) => <div key={i} className="row skeleton-row" />)}</div>
          : builds.length === 0 ? <div className="empty"><p>No builds yet — build a folder above, or run <code>docker build</code> against this engine.</p></div>
            : <div className="vlist">{builds.map((b) => <BuildRow key={b.id} b={b} now={now} selected={b.id === selected} onSelect={() => a.select(b.id)} />)}</div>}
      </section>
      {sel && <SplitDivider label="resize the builds list" />}
      {sel && <BuildDetail summary={sel} now={now} />}
    </div>
  );
}

/** The build cache's size, and a prune (cache mounts and partial downloads; images stay). */
function BuildCache() {
  const cache = useApp((s) => s.buildCache);
  const [usage, setUsage] = useState<{ entries: number; bytes: number }>();
  const builds = useApp((s) => s.builds.length);
  useEffect(() => {
    void cache().then((r) => r && setUsage(r));
  }, [cache, builds]);
  return (
    <span className="inline build-cache">
      <span className="muted" data-testid="build-cache">{usage ? `Build cache: ${humanSize(usage.bytes)} in ${usage.entries} entries` : ''}</span>
      <button onClick={() => void cache(true).then((r) => r && setUsage(r))} title="delete cache mounts and partial downloads">Prune build cache</button>
    </span>
  );
}

function BuildForm() {
  const a = useApp(useShallow((s) => ({ start: s.startBuild, inspect: s.inspectFolder })));
  const [folder, setFolder] = useState('');
  const [dockerfile, setDockerfile] = useState('');
  const [tags, setTags] = useState('');
  const [args, setArgs] = useState('');
  const [secretText, setSecretText] = useState('');
  const [sshText, setSshText] = useState('');
  const [target, setTarget] = useState('');
  const [nocache, setNocache] = useState(false);
  const [pull, setPull] = useState(false);
  const [scan, setScan] = useState<{ stages: string[]; files: number; bytes: number } | { error: string } | undefined>();
  const check = async () => {
    if (!folder.trim()) return setScan(undefined);
    const r = await a.inspect(folder.trim(), dockerfile.trim() || undefined);
    setScan(r.ok ? r.value : { error: r.error.message });
    if (r.ok && target && !r.value.stages.includes(target)) setTarget('');
  };
  const buildArgs = Object.fromEntries(args.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const eq = l.indexOf('=');
    return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
  }));
  const badArg = Object.keys(buildArgs).find((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
  const secretLines = secretText.split('\n').map((l) => l.trim()).filter(Boolean);
  const secrets = Object.fromEntries(secretLines.map((l) => [l.slice(0, Math.max(0, l.indexOf('='))), l.slice(l.indexOf('=') + 1)]));
  const badSecret = secretLines.find((l) => !/^[A-Za-z0-9_.-]+=\S/.test(l));
  // SSH keys: id=path lines (several for one id add up, as BuildKit's id=key1,key2).
  const sshLines = sshText.split('\n').map((l) => l.trim()).filter(Boolean);
  const ssh: Record<string, string> = {};
  for (const l of sshLines) {
    // `id` alone: the app's running agent (SSH_AUTH_SOCK), as BuildKit's --ssh default
    const eq = l.indexOf('=');
    const id = eq < 0 ? l : l.slice(0, eq);
    const path = eq < 0 ? '' : l.slice(eq + 1);
    ssh[id] = ssh[id] && path ? `${ssh[id]},${path}` : path || (ssh[id] ?? '');
  }
  const badSsh = sshLines.find((l) => !/^[A-Za-z0-9_.-]+(=\S.*)?$/.test(l));
  const tagList = tags.split(/[\s,]+/).filter(Boolean);
  return (
    <form className="build-form" aria-label="build an image" onSubmit={async (e) => {
      e.preventDefault();
      if (!folder.trim() || badArg || badSecret || badSsh) return;
      await a.start({ folder: folder.trim(), dockerfile: dockerfile.trim() || undefined, tags: tagList.length ? tagList : undefined,
        buildArgs: Object.keys(buildArgs).length ? buildArgs : undefined, target: target || undefined, nocache, pull,
        secrets: secretLines.length ? secrets : undefined, ssh: sshLines.length ? ssh : undefined });
    }}>
      <label>Folder<input aria-label="build folder" placeholder="/path/to/project" value={folder} onChange={(e) => setFolder(e.target.value)} onBlur={() => void check()} /></label>
      <label>Dockerfile<input aria-label="dockerfile" placeholder="Dockerfile" value={dockerfile} onChange={(e) => setDockerfile(e.target.value)} onBlur={() => void check()} /></label>
      <label>Tags<input aria-label="tags" placeholder="myapp:dev (several: spaces or commas)" value={tags} onChange={(e) => setTags(e.target.value)} /></label>
      <label>Build args<textarea aria-label="build args" placeholder={'NAME=value, one per line'} rows={2} value={args} onChange={(e) => setArgs(e.target.value)} /></label>
      {badArg !== undefined && <p className="error-text">build arg "{badArg}": a name is letters, digits and _, not starting with a digit</p>}
      <label>Secrets<textarea aria-label="build secrets" placeholder={'id=/path/to/file, one per line (RUN --mount=type=secret,id=…)'} rows={1} value={secretText} onChange={(e) => setSecretText(e.target.value)} /></label>
      {badSecret !== undefined && <p className="error-text">secret "{badSecret}": write id=/path/to/file (id: letters, digits, '.', '-' or '_')</p>}
      <label>SSH keys<textarea aria-label="build ssh keys" placeholder={'default=~/.ssh/id_ed25519 (no passphrase), or default alone for your running agent; one per line (RUN --mount=type=ssh)'} rows={1} value={sshText} onChange={(e) => setSshText(e.target.value)} /></label>
      {badSsh !== undefined && <p className="error-text">ssh key "{badSsh}": write id=/path/to/private_key, or id alone for your running SSH agent (the id RUN --mount=type=ssh names, default if it names none)</p>}
      <div className="inline">
        <label>Target
          <select aria-label="target stage" value={target} onChange={(e) => setTarget(e.target.value)} disabled={!scan || 'error' in scan || !scan.stages.length}>
            <option value="">last stage</option>
            {scan && !('error' in scan) && scan.stages.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label className="check"><input type="checkbox" checked={nocache} onChange={(e) => setNocache(e.target.checked)} /> No cache</label>
        <label className="check"><input type="checkbox" checked={pull} onChange={(e) => setPull(e.target.checked)} /> Pull base images</label>
        <span className="spacer" />
        <button className="primary" type="submit" disabled={!folder.trim() || badArg !== undefined || badSecret !== undefined || badSsh !== undefined || (!!scan && 'error' in scan)}>Build</button>
      </div>
      {scan && ('error' in scan ? <p className="error-text" role="alert">{scan.error}</p>
        : <p className="muted" data-testid="context-size">Context: {scan.files} files, {humanSize(scan.bytes)} after .dockerignore{scan.bytes > 100 * 1024 * 1024 ? ' — large: add a .dockerignore?' : ''}</p>)}
    </form>
  );
}

function BuildRow({ b, now, selected, onSelect }: { b: BuildSummary; now: number; selected: boolean; onSelect: () => void }) {
  return (
    <div className={`row build-row${selected ? ' selected' : ''}`} role="row" onClick={onSelect} data-build={b.name} data-status={b.status}>
      <span className="cell name"><strong>{b.name}</strong></span>
      <span className="cell"><span className={`chip status-${b.status}`}>{b.status}</span></span>
      <span className="cell wide">{ago(new Date(b.startedAt).toISOString())}</span>
      <span className="cell">{duration(b, now)}</span>
      <span className="cell" title="steps from the cache / steps">{b.cached}/{b.total}</span>
      <span className="cell actions" />
    </div>
  );
}

/** The build's time line: where a step starts and how long it takes, as shares of the whole. */
interface Span { origin: number; total: number }

const PHASE_WORDS: Record<BuildPhaseName, string> = { pull: 'pull', download: 'download', hash: 'hash sources', exec: 'run', copy: 'copy files', commit: 'commit' };

/** A part of a step's bar, as a share of the step. */
const share = (x: number, of: number) => `${Math.max(0, Math.min(100, (x / Math.max(1, of)) * 100)).toFixed(2)}%`;

/** "run 1.2 s · commit 0.03 s": where a step's time went (a phase still going counts to now). */
function phaseText(s: BuildStep, ms: number): string {
  return (s.phases ?? []).map((p) => `${PHASE_WORDS[p.name]} ${seconds(p.ms ?? Math.max(0, ms - p.at))}`).join(' · ');
}

/** The colours of the phases the build's steps went through. */
function PhaseLegend({ steps }: { steps: BuildStep[] }) {
  const names = (Object.keys(PHASE_WORDS) as BuildPhaseName[]).filter((n) => steps.some((s) => s.state !== 'cached' && s.phases?.some((p) => p.name === n)));
  if (!names.length) return null;
  return (
    <p className="phase-legend muted" data-testid="phase-legend">
      {names.map((n) => <span key={n}><span className={`swatch phase-${n}`} />{PHASE_WORDS[n]}</span>)}
    </p>
  );
}

function StepRow({ s, now, span }: { s: BuildStep; now: number; span: Span }) {
  const label = s.state === 'running' ? `running ${seconds(now - s.startedAt)}` : s.state === 'cached' ? 'cached'
    : s.state === 'failed' ? `failed${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}` : `done ${seconds(s.ms ?? 0)}`;
  const ms = s.state === 'running' ? now - s.startedAt : s.ms ?? 0;
  const pct = (x: number) => `${Math.max(0, Math.min(100, (x / span.total) * 100)).toFixed(2)}%`;
  return (
    <li className={`step step-${s.state}`} data-step={s.n} data-state={s.state}>
      <details open={s.state === 'failed'}>
        <summary>
          <span className="step-n">{s.n}</span>
          <code className="step-ins">{s.instruction}</code>
          <span className="spacer" />
          <span className="step-track" aria-hidden="true" title={`starts at ${seconds(s.startedAt - span.origin)}, takes ${seconds(ms)}${s.phases?.length ? `: ${phaseText(s, ms)}` : ''}`}>
            <span className={`step-bar bar-${s.state}${s.state === 'done' && s.phases?.length ? ' has-phases' : ''}`} style={{ left: pct(s.startedAt - span.origin), width: pct(Math.max(ms, span.total / 200)) }}>
              {s.state !== 'cached' && s.phases?.map((p) => (
                <span key={`${p.name}${p.at}`} className={`phase phase-${p.name}`} data-phase={p.name}
                  style={{ left: share(p.at, ms), width: share(p.ms ?? Math.max(0, ms - p.at), ms) }} />
              ))}
            </span>
          </span>
          <span className={`chip status-${s.state}`}>{label}</span>
        </summary>
        {(!!s.phases?.length || s.layerBytes !== undefined) && (
          <p className="muted step-phases" data-testid="step-phases">{phaseText(s, ms)}{s.layerBytes !== undefined ? `${s.phases?.length ? ' · ' : ''}layer ${humanSize(s.layerBytes)}` : ''}</p>
        )}
        {s.output ? <pre className="step-output">{s.output}</pre> : <p className="muted">no output</p>}
      </details>
    </li>
  );
}

/** The steps, a lane per stage when there are several (stages that ran in parallel side by side). */
function StepLanes({ steps, now, span }: { steps: BuildStep[]; now: number; span: Span }) {
  const stages = [...new Set(steps.filter((s) => s.stage !== 'global').map((s) => s.stage))];
  if (stages.length < 2) return <ol className="steps">{steps.map((s) => <StepRow key={s.n} s={s} now={now} span={span} />)}</ol>;
  return (
    <>
      {steps.some((s) => s.stage === 'global') && <ol className="steps">{steps.filter((s) => s.stage === 'global').map((s) => <StepRow key={s.n} s={s} now={now} span={span} />)}</ol>}
      <div className="lanes">
        {stages.map((stage) => (
          <div className="lane" key={stage} data-stage={stage}>
            <h4>{/^\d+$/.test(stage) ? `stage ${stage}` : stage}</h4>
            <ol className="steps">{steps.filter((s) => s.stage === stage).map((s) => <StepRow key={s.n} s={s} now={now} span={span} />)}</ol>
          </div>
        ))}
      </div>
    </>
  );
}

function BuildDetail({ summary, now }: { summary: BuildSummary; now: number }) {
  const store = useAppStore();
  const a = useApp(useShallow((s) => ({ select: s.selectBuild, remove: s.removeBuild, cancel: s.cancelBuild, start: s.startBuild, setView: s.setView, selectImage: s.selectImage })));
  const [rec, setRec] = useState<{ record: BuildRecord } | { failure: string } | undefined>();
  // Re-read on every change of the summary (events while it runs).
  useEffect(() => {
    void store.getState().buildRecord(summary.id).then((r) => setRec(r.ok ? { record: r.value } : { failure: r.error.message }));
  }, [store, summary]);
  const r = rec && 'record' in rec && rec.record.id === summary.id ? rec.record : undefined;
  const lines = r?.dockerfile.replace(/\n$/, '').split('\n') ?? [];
  return (
    <section className="detail-pane" aria-label={`build ${summary.name}`}>
      <header className="detail-head">
        <div>
          <h2>{summary.name}</h2>
          <span className="muted">{summary.status} · {duration(summary, now)} · {summary.cached}/{summary.total} cached{summary.imageId ? ` · ${shortId(summary.imageId)}` : ''}</span>
        </div>
        <span className="spacer" />
        {summary.status === 'running' && <button className="danger" onClick={() => void a.cancel(summary.id)} title="stop this build: its RUN is killed, the cache is kept">Cancel build</button>}
        {summary.imageId && <button onClick={() => { a.selectImage(summary.imageId); a.setView('images'); }}>Open image</button>}
        {summary.context && summary.status !== 'running' && (
          <button onClick={() => void a.start({ folder: summary.context!, tags: summary.tags.length ? summary.tags : undefined, target: summary.target,
            buildArgs: summary.buildArgs ? Object.fromEntries(Object.entries(summary.buildArgs).map(([k, v]) => [k, v ?? ''])) : undefined,
            dockerfile: summary.dockerfileName.startsWith('.dockerfile.') ? undefined : summary.dockerfileName })}>Rebuild</button>
        )}
        {summary.status !== 'running' && <button className="danger" aria-label="delete build" onClick={() => a.remove(summary.id)}><TrashIcon /></button>}
        <button className="ghost" aria-label="close detail" onClick={() => a.select(undefined)}>✕</button>
      </header>
      <div className="tab-body">
        {rec && 'failure' in rec && <p className="error-text">{rec.failure}</p>}
        {summary.error && <p className="error-text" role="alert" data-testid="build-error">{summary.error}</p>}
        <h3>Steps</h3>
        {r?.contextMs !== undefined && (
          <p className="muted build-context" data-testid="build-context">Context: {humanSize(r.contextBytes ?? 0)} received in {seconds(r.contextMs)}, before the first step</p>
        )}
        <PhaseLegend steps={r?.steps ?? []} />
        <StepLanes steps={r?.steps ?? []} now={now} span={{ origin: summary.startedAt, total: Math.max(1, (summary.finishedAt ?? now) - summary.startedAt) }} />
        <h3>{r?.dockerfileName ?? 'Dockerfile'}</h3>
        <pre className="dockerfile" aria-label="dockerfile source">{lines.map((l, i) => (
          <div key={i} className={i + 1 === r?.errorLine ? 'failing' : undefined} data-line={i + 1}>
            <span className="ln">{i + 1}</span>{l || ' '}
            {i + 1 === r?.errorLine && <span className="failing-note"> ← {summary.error}</span>}
          </div>
        ))}</pre>
      </div>
    </section>
  );
}
