// Browses the files of one volume: a directory's entries (directories first), a file's first
// bytes, and a breadcrumb back up. Paths resolve inside the volume on the engine side.
import { useCallback, useEffect, useState } from 'react';
import type { VolumeEntry, VolumeListing } from '../../../common/views.ts';
import { ago, humanSize } from '../../format.ts';
import { useAppStore } from '../../store/context.tsx';

const join = (dir: string, name: string) => `${dir.replace(/\/$/, '')}/${name}`;

function Crumbs({ path, open }: { path: string; open: (p: string) => void }) {
  const parts = path.split('/').filter(Boolean);
  return (
    <nav className="crumbs" aria-label="path">
      <button className="link" onClick={() => open('/')}>/</button>
      {parts.map((p, i) => (
        <span key={i}>
          {i > 0 && '/'}
          <button className="link" onClick={() => open(`/${parts.slice(0, i + 1).join('/')}`)}>{p}</button>
        </span>
      ))}
    </nav>
  );
}

function Entry({ e, open }: { e: VolumeEntry; open: () => void }) {
  return (
    <div className="row file-row" role="row" data-entry={e.name}>
      <span className="cell name">
        <button className="link" onClick={open} aria-label={`open ${e.name}`}>{e.type === 'dir' ? `${e.name}/` : e.name}</button>
        {e.target !== undefined && <small className="muted"> → {e.target}</small>}
      </span>
      <span className="cell muted">{e.type}</span>
      <span className="cell" title={`${e.size} bytes`}>{e.type === 'dir' ? '' : humanSize(e.size)}</span>
      <span className="cell muted" title={e.mtime}>{ago(e.mtime)}</span>
    </div>
  );
}

export function VolumeBrowser({ name, onClose }: { name: string; onClose: () => void }) {
  const store = useAppStore();
  const [listing, setListing] = useState<VolumeListing>();
  const [error, setError] = useState<string>();
  const open = useCallback((path: string) => {
    void store.getState().browseVolume(name, path).then((r) => {
      if (r.ok) {
        setListing(r.value);
        setError(undefined);
      } else setError(r.error.message);
    });
  }, [store, name]);
  useEffect(() => open('/'), [open]);
  const here = listing?.path ?? '/';
  const up = here === '/' ? undefined : here.slice(0, here.lastIndexOf('/')) || '/';
  return (
    <section className="browser" aria-label={`files of volume ${name}`}>
      <header className="toolbar small">
        <strong title={name}>{name.length > 24 ? name.slice(0, 12) : name}</strong>
        <Crumbs path={here} open={open} />
        <span className="spacer" />
        {up && <button onClick={() => open(up)}>Up</button>}
        <button onClick={() => open(here)} title="read again">Refresh</button>
        <button onClick={onClose} aria-label="close the file browser">Close</button>
      </header>
      {error && <p className="error-text" role="alert">{error}</p>}
      {!listing ? <div className="skeleton"><div className="row skeleton-row" /></div>
        : listing.type === 'dir' ? (
          listing.entries!.length === 0 ? <div className="empty"><p>This directory is empty.</p></div> : (
            <div className="vlist">
              {listing.entries!.map((e) => <Entry key={e.name} e={e} open={() => open(join(here, e.name))} />)}
              {listing.more ? <p className="muted">…and {listing.more} more entries</p> : null}
            </div>
          )
        ) : (
          <div className="file-view">
            <p className="muted">{humanSize(listing.size ?? 0)}{listing.binary ? ' · binary file, not shown' : (listing.size ?? 0) > (listing.preview?.length ?? 0) ? ' · first 64 KiB shown' : ''}</p>
            {!listing.binary && <pre className="file-preview" data-testid="file-preview">{listing.preview}</pre>}
          </div>
        )}
    </section>
  );
}
