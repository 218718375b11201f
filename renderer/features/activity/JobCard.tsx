// A long job with its per-layer progress bars, result line and cancel button.
import type { JobView } from '../../../common/views.ts';
import { humanSize } from '../../format.ts';
import { useApp } from '../../store/context.tsx';

export function JobCard({ job }: { job: JobView }) {
  const cancel = useApp((s) => s.cancelJob);
  const total = job.layers.reduce((a, l) => a + l.total, 0);
  const current = job.layers.reduce((a, l) => a + Math.min(l.current, l.total), 0);
  return (
    <div className={`job job-${job.state}`} data-job={job.kind} data-state={job.state}>
      <div className="job-head">
        <strong>{job.kind} {job.title}</strong>
        <span className="muted">{job.state === 'running' ? (total ? `${humanSize(current)} / ${humanSize(total)}` : job.message || 'starting…') : job.message}</span>
        <span className="spacer" />
        {job.state === 'running' && <button onClick={() => cancel(job.id)}>Cancel</button>}
      </div>
      {job.state === 'running' && job.layers.length > 0 && (
        <ul className="layer-bars">
          {job.layers.map((l) => (
            <li key={l.id} data-layer={l.id}>
              <code>{l.id}</code>
              <progress value={l.total ? l.current : undefined} max={l.total || undefined} aria-label={`layer ${l.id}`} />
              <small className="muted">{l.status}</small>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
