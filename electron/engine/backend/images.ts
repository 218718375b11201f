// The engine's ImagesBackend: the image store, registry and archives in the Docker API's shapes,
// with `docker images --filter`.
import type { Filters, ImageSummary } from '../../../common/docker.ts';
import type { ContainersBackend, ImagesBackend } from '../../backend/backend.ts';
import { buildFromArchive } from '../build/index.ts';
import type { Engine } from '../engine.ts';
import { invalid } from '../errors.ts';
import { pruneMatcher } from './pruneFilters.ts';
import { labelMatch } from './containerViews.ts';

/** A `reference` filter value (`repo`, `repo:tag`, with `*` globs) as a test on `repo:tag` names. */
function referenceMatcher(v: string): (name: string) => boolean {
  const re = new RegExp(`^${v.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(:[^/]*)?$`);
  return (t) => re.test(t) || re.test(t.replace(/[:@][^:/]*$/, ''));
}

/** As dockerd: under a reference filter an image lists only the names that matched. */
function onlyMatchingNames(img: ImageSummary, refs: string[] | undefined): ImageSummary {
  if (!refs?.length) return img;
  const match = (n: string) => refs.some((r) => referenceMatcher(r)(n));
  return { ...img, RepoTags: img.RepoTags.filter(match), RepoDigests: img.RepoDigests.filter(match) };
}

const truthy = (v: string) => !['', '0', 'no', 'false', 'none'].includes(v.toLowerCase());

function matchImage(e: Engine, img: ImageSummary, f: Filters): boolean {
  for (const [k, vals] of Object.entries(f)) {
    if (!vals.length) continue;
    const ok = vals.some((v) => {
      switch (k) {
        case 'dangling': return truthy(v) === (img.RepoTags.length === 0);
        case 'label': return labelMatch(img.Labels, v);
        case 'reference': return img.RepoTags.some(referenceMatcher(v));
        case 'before': case 'since': {
          const created = Math.floor(Date.parse(e.images.get(v).created) / 1000);
          return k === 'before' ? img.Created < created : img.Created > created;
        }
        default: throw invalid(`invalid filter '${k}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

export function imagesBackend(e: Engine, containers: ContainersBackend): ImagesBackend {
  return {
    async build(context, req, out, signal) {
      return buildFromArchive(e, containers, context, req, out, signal);
    },
    async commit(container, opts) {
      return { Id: await e.commit(container, opts) };
    },
    async builds() {
      return e.builds.list();
    },
    async buildRecord(id) {
      return e.builds.get(id);
    },
    async removeBuildRecord(id) {
      e.builds.remove(id);
    },
    async cancelBuild(id) {
      e.builds.cancel(id);
    },
    onBuild(listener) {
      return e.builds.on(listener);
    },
    async list(opts = {}) {
      const f = opts.filters ?? {};
      return e.listImages({ all: !!opts.all, sharedSize: !!opts.sharedSize }).filter((i) => matchImage(e, i, f)).map((i) => onlyMatchingNames(i, f.reference));
    },
    async inspect(ref) {
      return e.inspectImage(ref);
    },
    async history(ref) {
      return e.imageHistory(ref);
    },
    async pull(ref, opts = {}) {
      if (opts.allTags) await e.pullAllTags(ref, opts);
      else await e.pull(ref, opts);
    },
    push: (ref, opts) => e.push(ref, opts),
    async tag(source, target) {
      e.tagImage(source, target);
    },
    async remove(ref, opts) {
      const r = e.removeImage(ref, opts);
      return [...r.untagged.map((u) => ({ Untagged: u })), ...r.deleted.map((d) => ({ Deleted: d }))];
    },
    async prune(opts = {}) {
      const dangling = opts.filters?.dangling?.[0];
      const matches = pruneMatcher(opts.filters ?? {}, ['dangling']);
      return e.pruneImages({ all: opts.all ?? (dangling !== undefined && !truthy(dangling)), matches: (img) => matches(img.created ?? 0, img.labels) });
    },
    async import(tar, opts = {}) {
      return (await e.importImage(tar, { ref: opts.ref, comment: opts.comment })).id;
    },
    async load(tar) {
      return (await e.loadImages(tar)).messages;
    },
    async save(refs) {
      if (!refs.length) throw invalid('no image names given');
      for (const r of refs) e.images.resolveId(r);
      return e.saveImages(refs);
    },
    async login(server, c) {
      await e.login(server, c.username, c.password);
    },
    async logout(server) {
      return e.logout(server);
    },
  };
}
