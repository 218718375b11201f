// Images in memory, with the lookup rules of the real store: any spelling of a name, the full id
// or a unique id prefix; untag before delete; an image in use is kept unless forced.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { familiarName, parseReference } from '../../../common/reference.ts';
import { conflict, notFound, unsupported } from '../errors.ts';
import type { Image, ImageRuntimeConfig, ImageStore } from '../images/imageStore.ts';

export class FakeImageStore implements ImageStore {
  private readonly images = new Map<string, Image>();

  add(name: string, config: ImageRuntimeConfig = { Cmd: ['sh'] }): Image {
    const id = `sha256:${createHash('sha256').update(name + JSON.stringify(config)).digest('hex')}`;
    const img: Image = {
      id, repoTags: [familiarName(parseReference(name))], repoDigests: [], size: 0, created: '2026-01-01T00:00:00Z', layers: [], layerDirs: [],
      config: { architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] } },
    };
    this.images.set(id, img);
    return img;
  }

  get(ref: string): Image {
    const hex = ref.replace(/^sha256:/, '');
    const byId = [...this.images.values()].filter((i) => /^[a-f0-9]+$/.test(hex) && i.id.slice(7).startsWith(hex));
    if (byId.length === 1) return byId[0];
    let name: string | undefined;
    try {
      name = familiarName(parseReference(ref));
    } catch {
      /* not a name */
    }
    const byName = [...this.images.values()].find((i) => name !== undefined && i.repoTags.includes(name));
    if (!byName) throw notFound(`No such image: ${ref}`);
    return byName;
  }

  list(): Image[] {
    return [...this.images.values()];
  }

  importRootfs(_tar: Readable): Promise<Image> {
    return Promise.reject(unsupported('the fake image store does not import archives'));
  }

  tag(idOrRef: string, newRef: string): void {
    const img = this.get(idOrRef);
    const name = familiarName(parseReference(newRef));
    for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => t !== name);
    img.repoTags.push(name);
  }

  remove(ref: string, options: { force?: boolean; inUse?: (id: string) => boolean } = {}): { untagged: string[]; deleted: string[] } {
    const img = this.get(ref);
    let name: string | undefined;
    try {
      name = familiarName(parseReference(ref));
    } catch {
      /* an id */
    }
    if (name && img.repoTags.includes(name) && img.repoTags.length > 1) {
      img.repoTags = img.repoTags.filter((t) => t !== name);
      return { untagged: [name], deleted: [] };
    }
    if (!options.force && options.inUse?.(img.id)) throw conflict(`conflict: unable to remove repository reference "${ref}" (must force) - container is using its referenced image ${img.id.slice(7, 19)}`);
    this.images.delete(img.id);
    return { untagged: img.repoTags, deleted: [img.id] };
  }
}
