// Images: list with size and tags, pull with per-layer progress and cancel, tag, push,
// remove, prune, and an inspect pane with layers and history; "Run" opens the create form.
import { useEffect, useState, type CSSProperties } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ImageView } from '../../../common/views.ts';
import { ago, humanSize, shortId } from '../../format.ts';
import { useApp, useAppStore } from '../../store/context.tsx';
import { JobCard } from '../activity/JobCard.tsx';
import { TrashIcon } from '../../components/icons.tsx';
import { SplitDivider, useListShare } from '../../components/SplitDivider.tsx';

export function ImagesView() {
  const images = useApp((s) => s.images);
  const loaded = useApp((s) => s.imagesLoaded);
  const jobs = useApp((s) => s.jobs);
  const selected = useApp((s) => s.selectedImage);
  const a = useApp(useShallow((s) => ({ pull: s.pull, prune: s.pruneImages, select: s.selectImage })));
  const [ref, setRef] = useState('');
  const pulls = Object.values(jobs).filter((j) => (j.kind === 'pull' || j.kind === 'push') && (j.state === 'running' || (j.finishedAt ?? 0) > Date.now() - 60_000));
  const sel = images.find((i) => i.id === selected);
  const share = useListShare();
  return (
    <div className={`split${sel ? ' with-detail' : ''}`} style={{ '--list': `${share}%` } as CSSProperties}>
      <section className="list-pane" aria-label="images">
        <header className="toolbar">
          <h1>Images</h1>
          <form className="inline" onSubmit={(e) => { e.preventDefault(); if (ref.trim()) { void a.pull(ref.trim()); setRef(''); } }}>
            <input aria-label="image to pull" placeholder="image to pull, e.g. 127.0.0.1:5000/busybox" value={ref} onChange={(e) => setRef(e.target.value)} />
            <button className="primary" type="submit" disabled={!ref.trim()}>Pull</button>
          </form>
          <span className="spacer" />
          <button onClick={() => a.prune(false)} title="remove images without a tag">Prune dangling</button>
        </header>
        {pulls.length > 0 && <div className="jobs-inline">{pulls.map((j) => <JobCard key={j.id} job={j} />)}</div>}
        <div className="row head image-row" role="row"><span className="cell">Tag</span><span className="cell wide">ID</span><span className="cell">Size</span><span className="cell wide">Created</span><span className="cell wide">In use</span><span className="cell actions" /></div>
        {!loaded ? <div className="skeleton">{[0, 1, 2].map((i) => <div key={i} className="row skeleton-row" />)}</div>
          : images.length === 0 ? <div className="empty"><p>No images yet — pull one above.</p></div>
            : <div className="vlist">{images.map((i) => <ImageRow key={i.id} img={i} selected={i.id === selected} onSelect={() => a.select(i.id)} />)}</div>}
      </section>
      {sel && <SplitDivider label="resize the images list" />}
      {sel && <ImageDetail img={sel} />}
    </div>
  );
}

function ImageRow({ img, selected, onSelect }: { img: ImageView; selected: boolean; onSelect: () => void }) {
  const a = useApp(useShallow((s) => ({ remove: s.removeImage, openCreate: s.openCreate })));
  const tag = img.tags[0] ?? '<none>';
  return (
    <div className={`row image-row${selected ? ' selected' : ''}`} role="row" onClick={onSelect} data-image={tag}>
      <span className="cell name"><strong>{tag}</strong>{img.tags.length > 1 && <small className="muted"> +{img.tags.length - 1}</small>}</span>
      <span className="cell wide"><code className="id">{shortId(img.id)}</code></span>
      <span className="cell" title={`${img.size} bytes`}>{humanSize(img.size)}</span>
      <span className="cell wide" title={img.created}>{ago(img.created)}</span>
      <span className="cell wide">{img.containers || ''}</span>
      <span className="cell actions" onClick={(e) => e.stopPropagation()}>
        <button onClick={() => a.openCreate(img.tags[0] ?? img.id)} aria-label={`run ${tag}`}>Run</button>
        <button className="danger" onClick={() => a.remove(img.id, img.containers > 0)} aria-label={`remove ${tag}`}><TrashIcon /></button>
      </span>
    </div>
  );
}

function ImageDetail({ img }: { img: ImageView }) {
  const store = useAppStore();
  const a = useApp(useShallow((s) => ({ tag: s.tagImage, push: s.push, select: s.selectImage })));
  const [data, setData] = useState<{ inspect?: Record<string, unknown>; history?: { CreatedBy: string; Size: number; Created: number }[]; error?: string }>({});
  const [target, setTarget] = useState('');
  useEffect(() => {
    void store.getState().inspectImage(img.id).then((r) => setData(r.ok
      ? { inspect: r.value.inspect as Record<string, unknown>, history: r.value.history as never } : { error: r.error.message }));
  }, [store, img.id, img.tags.length]);
  const layers = ((data.inspect?.RootFS as { Layers?: string[] } | undefined)?.Layers) ?? [];
  return (
    <section className="detail-pane" aria-label={`image ${img.tags[0] ?? img.id}`}>
      <header className="detail-head">
        <div><h2>{img.tags[0] ?? shortId(img.id)}</h2><span className="muted">{humanSize(img.size)} · {img.tags.join(', ')}</span></div>
        <span className="spacer" />
        <button className="ghost" aria-label="close detail" onClick={() => a.select(undefined)}>✕</button>
      </header>
      <div className="tab-body">
        <form className="inline" onSubmit={async (e) => { e.preventDefault(); if (await a.tag(img.id, target.trim())) setTarget(''); }}>
          <input aria-label="new tag" placeholder="new tag, e.g. 127.0.0.1:5000/app:1" value={target} onChange={(e) => setTarget(e.target.value)} />
          <button type="submit" disabled={!target.trim()}>Tag</button>
        </form>
        <div className="tag-list">{img.tags.map((t) => <span key={t} className="chip">{t} <button className="ghost" onClick={() => a.push(t)}>Push</button></span>)}</div>
        {data.error && <p className="error-text">{data.error}</p>}
        <h3>Layers ({layers.length})</h3>
        <ol className="layers">{layers.map((l) => <li key={l}><code>{l.slice(0, 19)}</code></li>)}</ol>
        <h3>History</h3>
        <table className="history"><tbody>{(data.history ?? []).map((h, i) => (
          <tr key={i}><td><code>{h.CreatedBy}</code></td><td>{humanSize(h.Size)}</td></tr>
        ))}</tbody></table>
      </div>
    </section>
  );
}
