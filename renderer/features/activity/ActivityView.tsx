// Long jobs (pull, push, prune) with progress and results, and the engine's event stream.
import { useApp } from '../../store/context.tsx';
import { JobCard } from './JobCard.tsx';

export function ActivityView() {
  const jobs = useApp((s) => s.jobs);
  const events = useApp((s) => s.events);
  const list = Object.values(jobs).sort((a, b) => b.startedAt - a.startedAt);
  return (
    <section className="list-pane activity" aria-label="activity">
      <header className="toolbar"><h1>Activity</h1></header>
      <h3>Jobs</h3>
      {list.length === 0 ? <div className="empty small"><p>No pulls, pushes or prunes yet.</p></div> : list.map((j) => <JobCard key={j.id} job={j} />)}
      <h3>Engine events</h3>
      <ol className="events" data-testid="events">
        {[...events].reverse().slice(0, 200).map((e, i) => (
          <li key={`${e.time}-${i}`}><time>{new Date(e.time * 1000).toLocaleTimeString()}</time> <span className="chip">{e.type}</span> {e.action} <strong>{e.name || e.id.slice(0, 12)}</strong></li>
        ))}
      </ol>
    </section>
  );
}
