// A published port: a link that opens it in the browser (TCP), or plain text (UDP, unpublished).
import type { PortView } from '../../common/views.ts';

/** The address a browser on this machine reaches a binding at: loopback for wildcard binds. */
export function portUrl(p: PortView): string | undefined {
  if (!p.publicPort || p.type !== 'tcp') return undefined;
  const host = !p.ip || p.ip === '0.0.0.0' || p.ip === '::' ? '127.0.0.1' : p.ip.includes(':') ? `[${p.ip}]` : p.ip;
  return `http://${host}:${p.publicPort}`;
}

export function PortLink({ port: p, short = false }: { port: PortView; short?: boolean }) {
  const label = short ? `${p.publicPort}:${p.privatePort}` : p.publicPort ? `${p.ip || '0.0.0.0'}:${p.publicPort} → ${p.privatePort}/${p.type}` : `${p.privatePort}/${p.type}`;
  const url = portUrl(p);
  return url ? <a href={url} target="_blank" rel="noreferrer" title={`open ${url}`}>{label}</a> : <span className="muted">{label}</span>;
}
