// Image references normalized the Docker way: `busybox` → docker.io/library/busybox:latest.
import { CodedError } from './errors.ts';

export interface ImageReference {
  /** Registry host, with port when given (docker.io for Docker Hub). */
  domain: string;
  /** Repository path inside the registry (library/busybox). */
  path: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A reference that does not parse: INVALID_ARGUMENT wherever it was typed. */
export class ReferenceError extends CodedError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'ReferenceError';
  }
}

export function parseReference(input: string): ImageReference {
  if (!input || input.length > 4096) throw new ReferenceError(`invalid reference format: ${JSON.stringify(input)}`);
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ReferenceError(`invalid digest in reference "${input}"`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError(`invalid tag "${tag}" in reference "${input}"`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!path || !path.split('/').every((c) => PATH_COMPONENT.test(c))) {
    throw new ReferenceError(`invalid reference format: repository name must be lowercase: "${input}"`);
  }
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

/** Full name: docker.io/library/busybox:latest */
export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Name as Docker shows it in RepoTags: busybox:latest, 127.0.0.1:5000/bb:1 */
export function familiarName(ref: ImageReference): string {
  let repo = `${ref.domain}/${ref.path}`;
  if (ref.domain === DEFAULT_DOMAIN) repo = ref.path.startsWith('library/') ? ref.path.slice(8) : ref.path;
  return `${repo}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Whether a name as given carries a tag or digest (`busybox:1`, `x@sha256:…`), not just a repository. */
export function namesTagOrDigest(name: string): boolean {
  return /[:@]/.test(name.split('/').pop() ?? '');
}
