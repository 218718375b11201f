// The run form: every field validated inline before submit; the engine's own error, if the
// run still fails, is shown in the form next to the button.
import { useMemo, useState, type ReactNode } from 'react';
import { useApp } from '../../store/context.tsx';
import { emptyForm, toRunArgs, validate, type RunForm } from './formRules.ts';

export function CreateForm() {
  const open = useApp((s) => s.createForm);
  if (!open) return null;
  return <Form initialImage={open.image ?? ''} />;
}

function Form({ initialImage }: { initialImage: string }) {
  const images = useApp((s) => s.images);
  const containers = useApp((s) => s.containers);
  const cpus = useApp((s) => s.info?.cpus ?? 1);
  const noLimits = useApp((s) => (s.info?.limits === false ? s.info.limitsReason ?? 'unavailable on this engine' : undefined));
  const run = useApp((s) => s.run);
  const close = useApp((s) => s.closeCreate);
  const [f, setF] = useState<RunForm>(emptyForm(initialImage));
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [engineError, setEngineError] = useState<string | undefined>();
  const names = useMemo(() => Object.values(containers).map((c) => c.name), [containers]);
  const errors = validate(f, { names, cpus });
  const shown = (k: keyof RunForm) => (touched || f[k] !== emptyForm(initialImage)[k] ? errors[k] : undefined);
  const set = <K extends keyof RunForm>(k: K, v: RunForm[K]) => setF((x) => ({ ...x, [k]: v }));
  const submit = async () => {
    setTouched(true);
    if (Object.keys(errors).length) return;
    setBusy(true);
    setEngineError(undefined);
    const err = await run(toRunArgs(f));
    setBusy(false);
    if (err) setEngineError(err.message);
  };
  const field = (k: keyof RunForm, label: string, input: ReactNode, hint?: string) => (
    <label className={`field${shown(k) ? ' invalid' : ''}`}>
      <span>{label}</span>
      {input}
      {shown(k) ? <small className="error-text" data-error={k}>{shown(k)}</small> : hint ? <small className="muted">{hint}</small> : null}
    </label>
  );
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && close()}>
      <form className="modal create-form" aria-label="run a container" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <h2>Run a container</h2>
        {field('image', 'Image', <>
          <input autoFocus name="image" list="image-suggestions" value={f.image} onChange={(e) => set('image', e.target.value)} placeholder="busybox:latest" />
          <datalist id="image-suggestions">{images.flatMap((i) => i.tags).map((t) => <option key={t} value={t} />)}</datalist>
        </>)}
        {field('name', 'Name', <input name="name" value={f.name} onChange={(e) => set('name', e.target.value)} placeholder="optional" />)}
        {field('command', 'Command', <input name="command" value={f.command} onChange={(e) => set('command', e.target.value)} placeholder="the image's default" />, 'split like a shell: quotes group words')}
        <div className="field-row">
          {field('env', 'Environment', <textarea name="env" rows={3} value={f.env} onChange={(e) => set('env', e.target.value)} placeholder="KEY=value, one per line" />)}
          {field('binds', 'Volumes', <textarea name="binds" rows={3} value={f.binds} onChange={(e) => set('binds', e.target.value)} placeholder="volume:/data or /host/dir:/in/container[:ro]" />)}
        </div>
        <div className="field-row">
          {field('ports', 'Ports', <textarea name="ports" rows={2} value={f.ports} onChange={(e) => set('ports', e.target.value)} placeholder="8080:80, one per line" />)}
          {field('network', 'Network', <input name="network" value={f.network} onChange={(e) => set('network', e.target.value)} placeholder="bridge" />)}
        </div>
        <div className="field-row">
          {field('memory', 'Memory limit', <input name="memory" value={f.memory} disabled={!!noLimits} onChange={(e) => set('memory', e.target.value)} placeholder={noLimits ? 'unavailable' : 'e.g. 256m'} />, noLimits)}
          {field('cpus', 'CPUs', <input name="cpus" value={f.cpus} disabled={!!noLimits} onChange={(e) => set('cpus', e.target.value)} placeholder={noLimits ? 'unavailable' : `0.01–${cpus}`} />, noLimits)}
          {field('restart', 'Restart policy', (
            <select name="restart" value={f.restart} onChange={(e) => set('restart', e.target.value as RunForm['restart'])}>
              <option value="no">no</option><option value="on-failure">on-failure</option><option value="always">always</option><option value="unless-stopped">unless-stopped</option>
            </select>
          ))}
        </div>
        <label className="check-field"><input type="checkbox" name="tty" checked={f.tty} onChange={(e) => set('tty', e.target.checked)} /> Allocate a TTY (interactive)</label>
        {engineError && <p className="error-text" role="alert" data-testid="engine-error">{engineError}</p>}
        <div className="modal-actions">
          <button type="button" onClick={close}>Cancel</button>
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Starting…' : 'Run'}</button>
        </div>
      </form>
    </div>
  );
}
