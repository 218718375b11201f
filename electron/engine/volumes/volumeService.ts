// Named and anonymous volumes of the local driver, and the resolution of a container's mounts
// (binds, volumes, tmpfs, --volumes-from) into Docker-shaped mount points.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import type { HostConfig, VolumeView } from '../../../common/models.ts';
import type { VolumeEntry, VolumeListing } from '../../../common/views.ts';
import type { ContainerMount, ContainerRecord } from '../containers/containerRecord.ts';
import { checkVolumeName, parseBindSpec, PROPAGATIONS } from '../../../common/grammar/index.ts';
import { FsView } from '../confined/fsView.ts';
import { removeAt, tarChunks, treeSize } from '../confined/tree.ts';
import { conflict, invalid, notFound } from '../errors.ts';
import type { EventBus } from '../events/eventBus.ts';
import { LayerWriter } from '../images/tar/layerWriter.ts';
import { TarParser } from '../images/tar/tarParser.ts';
import { AT, O, S, isDir, type FsAt } from '../sys/fsat.ts';

const BROWSE_MAX_ENTRIES = 2000;
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const BROWSE_PREVIEW_BYTES = 64 * 1024;

export interface VolumeRecord {
  Name: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  anonymous: boolean;
}

export type { ContainerMount };

/** A mount as the API sends it (Docker's nested options) or as the engine's own callers do. */
type ApiMount = NonNullable<HostConfig['Mounts']>[number] & {
  BindOptions?: { Propagation?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Options?: Record<string, string> } };
};

/** Docker's rule for local volume names (common/grammar). */
export const validVolumeName = checkVolumeName;

function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

export class VolumeService {
  private readonly dir: string;
  private readonly records = new Map<string, VolumeRecord>();

  constructor(root: string, private readonly fs: FsAt, private readonly events: EventBus, private readonly containers: () => ContainerRecord[]) {
    this.dir = `${root}/volumes`;
    mkdirSync(this.dir, { recursive: true, mode: 0o701 });
    for (const name of readdirSync(this.dir)) {
      try {
        this.records.set(name, JSON.parse(readFileSync(`${this.dir}/${name}/meta.json`, 'utf8')));
      } catch {
        /* half-created: no meta.json yet */
      }
    }
  }

  dataDir(name: string): string {
    return `${this.dir}/${name}/_data`;
  }

  list(): VolumeRecord[] {
    return [...this.records.values()].sort((a, b) => a.Name.localeCompare(b.Name));
  }

  get(name: string): VolumeRecord {
    const v = this.records.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  /** Where a volume's files are on the host: its device for a bind volume, else its data dir. */
  private filesOf(v: VolumeRecord): string {
    return v.Options.type === 'none' || /\bbind\b/.test(v.Options.o ?? '') ? v.Options.device! : this.dataDir(v.Name);
  }

  /**
   * A path inside a volume for the UI's browser: a directory's entries (directories first) or a
   * file's first bytes. Symlinks resolve inside the volume, never out of it, and the files are
   * read through descriptors: a container using the volume may be renaming things meanwhile.
   */
  browse(name: string, path: string): VolumeListing {
    const v = this.get(name);
    const view = FsView.open(this.fs, this.filesOf(v), `volume ${name}`);
    try {
      const entry = view.lookup(path, true, { resolvedPath: true });
      try {
        return this.listing(name, entry.path, entry.fd, entry.stat.mode, entry.stat.size, path);
      } finally {
        this.fs.close(entry.fd);
      }
    } finally {
      view.close();
    }
  }

  private listing(name: string, rel: string, pathFd: number, mode: number, size: number, asked: string): VolumeListing {
    const fs = this.fs;
    if ((mode & S.IFMT) === S.IFDIR) {
      const dir = fs.openat(pathFd, '.', O.RDONLY | O.DIRECTORY);
      try {
        const entries: VolumeEntry[] = [];
        for (const { name: n } of fs.readdir(dir)) {
          const e = fs.statatIfExists(dir, n, AT.SYMLINK_NOFOLLOW);
          if (!e) continue; // removed while listing
          const kind = e.mode & S.IFMT;
          const type = kind === S.IFDIR ? 'dir' : kind === S.IFREG ? 'file' : kind === S.IFLNK ? 'link' : 'other';
          let target: string | undefined;
          try {
            if (type === 'link') target = fs.readlinkat(dir, n);
          } catch {
            continue; // replaced while listing
          }
          entries.push({ name: n, type, size: e.size, mtime: new Date(e.mtimeMs).toISOString(), ...(target !== undefined ? { target } : {}) });
        }
        entries.sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name));
        return { volume: name, path: rel, type: 'dir', entries: entries.slice(0, BROWSE_MAX_ENTRIES), ...(entries.length > BROWSE_MAX_ENTRIES ? { more: entries.length - BROWSE_MAX_ENTRIES } : {}) };
      } finally {
        fs.close(dir);
      }
    }
    if ((mode & S.IFMT) !== S.IFREG) throw invalid(`${asked} in volume ${name} is not a regular file or directory`);
    // The entry was checked to be a regular file through its own descriptor, and that inode is what is opened.
    const fd = fs.reopen(pathFd, O.RDONLY | O.NONBLOCK);
    const head = Buffer.alloc(Math.min(size, BROWSE_PREVIEW_BYTES));
    try {
      readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.close(fd);
    }
    const binary = head.includes(0);
    return { volume: name, path: rel, type: 'file', size, binary, ...(binary ? {} : { preview: head.toString('utf8') }) };
  }

  users(name: string): ContainerRecord[] {
    return this.containers().filter((c) => (c.Mounts ?? []).some((m) => m.Type === 'volume' && m.Name === name));
  }

  view(v: VolumeRecord, usage = false): VolumeView {
    return {
      // Docker 23+ marks anonymous volumes with this label.
      Name: v.Name, Driver: 'local', Mountpoint: this.dataDir(v.Name), CreatedAt: v.CreatedAt, Labels: v.anonymous ? { ...v.Labels, [ANONYMOUS_LABEL]: '' } : v.Labels, Scope: 'local', Options: v.Options,
      ...(usage ? { UsageData: { Size: this.size(v.Name), RefCount: this.users(v.Name).length } } : {}),
    };
  }

  create(o: { Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null } = {}, anonymous = false): VolumeRecord {
    if (o.Driver && o.Driver !== 'local') throw notFound(`error looking up volume plugin ${o.Driver}: plugin "${o.Driver}" not found`);
    const name = o.Name ? validVolumeName(o.Name) : randomBytes(32).toString('hex');
    const existing = this.records.get(name);
    if (existing) return existing; // Docker: creating an existing volume returns it
    const opts = { ...(o.DriverOpts ?? {}) };
    for (const k of Object.keys(opts)) if (!['type', 'device', 'o', 'size'].includes(k)) throw invalid(`invalid option key: "${k}"`);
    if (opts.type === 'none' || /\bbind\b/.test(opts.o ?? '')) {
      if (!opts.device?.startsWith('/') || !existsSync(opts.device)) throw invalid(`invalid volume device for a bind: "${opts.device ?? ''}" must be an existing absolute path`);
    } else if (opts.type && opts.type !== 'tmpfs') {
      throw invalid(`volume type "${opts.type}" is not supported: use tmpfs, or none with o=bind`);
    }
    if (opts.o && /[^\w=,.:/-]/.test(opts.o)) throw invalid(`invalid mount options: ${opts.o}`);
    const rec: VolumeRecord = { Name: name, CreatedAt: new Date().toISOString(), Labels: { ...(o.Labels ?? {}) }, Options: opts, anonymous };
    mkdirSync(this.dataDir(name), { recursive: true, mode: 0o755 });
    writeFileSync(`${this.dir}/${name}/meta.json.tmp`, JSON.stringify(rec));
    renameSync(`${this.dir}/${name}/meta.json.tmp`, `${this.dir}/${name}/meta.json`);
    this.records.set(name, rec);
    this.events.emit('volume', 'create', name, { driver: 'local' });
    return rec;
  }

  remove(name: string, force = false): void {
    const v = this.records.get(name);
    if (!v) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.users(name);
    if (users.length && !(force && users.every((c) => !c.State.Running))) {
      throw conflict(`remove ${name}: volume is in use - [${users.map((c) => c.Id).join(', ')}]`);
    }
    this.destroy(name);
  }

  /** Bytes of the files in a volume, counted beneath its directory without following symlinks. */
  private size(name: string): number {
    let fd: number;
    try {
      fd = this.fs.openat(AT.FDCWD, this.dataDir(name), O.RDONLY | O.DIRECTORY);
    } catch {
      return 0;
    }
    try {
      return treeSize(this.fs, fd);
    } finally {
      this.fs.close(fd);
    }
  }

  private destroy(name: string): void {
    const data = this.dataDir(name);
    if (mountedAt(data)) execFileSync('umount', [data]);
    this.records.delete(name);
    // The files are whatever containers left there: removed by descriptors, never through a symlink.
    const dir = this.fs.openat(AT.FDCWD, this.dir, O.RDONLY | O.DIRECTORY);
    try {
      removeAt(this.fs, dir, name);
    } finally {
      this.fs.close(dir);
    }
    this.events.emit('volume', 'destroy', name, { driver: 'local' });
  }

  /** Unused volumes: anonymous ones only, unless `all` (Docker 23+). */
  prune(all: boolean, pred: (v: VolumeRecord) => boolean = () => true): { names: string[]; reclaimed: number } {
    const names: string[] = [];
    let reclaimed = 0;
    for (const v of this.list()) {
      if ((!all && !v.anonymous) || !pred(v) || this.users(v.Name).length) continue;
      reclaimed += this.size(v.Name);
      this.remove(v.Name);
      names.push(v.Name);
    }
    return { names, reclaimed };
  }

  /**
   * The container's mount points at create time: -v binds and named volumes, --mount, --tmpfs,
   * --volumes-from, and an anonymous volume for each image VOLUME not otherwise mounted.
   */
  resolveMounts(h: HostConfig, imageVolumes: string[], volumesFrom: (ref: string) => ContainerRecord): ContainerMount[] {
    const out: ContainerMount[] = [];
    const add = (m: ContainerMount) => {
      if (!m.Destination.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: ${m.Destination}`);
      if (out.some((o) => o.Destination === m.Destination)) throw invalid(`Duplicate mount point: ${m.Destination}`);
      out.push(m);
    };
    for (const spec of h.VolumesFrom ?? []) {
      const [ref, mode = ''] = spec.split(':');
      if (mode && !['ro', 'rw'].includes(mode)) throw invalid(`invalid mode for volumes-from: ${mode}`);
      for (const m of volumesFrom(ref).Mounts ?? []) {
        if (m.Type === 'tmpfs') continue;
        add({ ...m, RW: mode ? mode === 'rw' : m.RW, anonymous: false });
      }
    }
    for (const bind of h.Binds ?? []) {
      const b = parseBindSpec(bind);
      if (b.type === 'bind') {
        // -v creates a missing host directory, as Docker does; --mount refuses it.
        if (!existsSync(b.source)) mkdirSync(b.source, { recursive: true });
        add({ Type: 'bind', Source: b.source, Destination: b.target, Mode: b.mode, RW: !b.readOnly, Propagation: b.propagation || 'rprivate' });
      } else {
        const v = this.create({ Name: b.source });
        add({ Type: 'volume', Name: v.Name, Source: this.dataDir(v.Name), Destination: b.target, Driver: 'local', Mode: b.mode, RW: !b.readOnly, Propagation: '', NoCopy: b.nocopy });
      }
    }
    for (const m of (h.Mounts ?? []) as ApiMount[]) {
      const target = m.Target;
      if (typeof target !== 'string' || !target.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: ${target}`);
      if (m.Type === 'bind') {
        if (!m.Source?.startsWith('/')) throw invalid(`invalid mount config for type "bind": invalid mount path: '${m.Source}' mount path must be absolute`);
        if (!existsSync(m.Source)) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        const prop = m.BindOptions?.Propagation ?? m.Propagation ?? '';
        if (prop && !PROPAGATIONS.includes(prop)) throw invalid(`invalid propagation mode: ${prop}`);
        add({ Type: 'bind', Source: m.Source, Destination: target, Mode: '', RW: !m.ReadOnly, Propagation: prop || 'rprivate' });
      } else if (m.Type === 'volume') {
        const v = m.Source ? this.create({ Name: validVolumeName(m.Source), Labels: m.VolumeOptions?.Labels, DriverOpts: m.VolumeOptions?.DriverConfig?.Options })
          : this.create({ Labels: m.VolumeOptions?.Labels }, true);
        add({ Type: 'volume', Name: v.Name, Source: this.dataDir(v.Name), Destination: target, Driver: 'local', Mode: 'z', RW: !m.ReadOnly, Propagation: '', NoCopy: !!m.VolumeOptions?.NoCopy, anonymous: !m.Source });
      } else if (m.Type === 'tmpfs') {
        const size = m.TmpfsOptions?.SizeBytes ?? m.TmpfsSize;
        const mode = m.TmpfsOptions?.Mode ?? m.TmpfsMode ?? 0o1777;
        add({ Type: 'tmpfs', Source: '', Destination: target, Mode: '', RW: !m.ReadOnly, Propagation: '', Data: [size ? `size=${size}` : '', `mode=${Number(mode).toString(8)}`].filter(Boolean).join(',') });
      } else {
        throw invalid(`invalid mount config: mount type "${m.Type}" is not supported`);
      }
    }
    for (const [target, options] of Object.entries(h.Tmpfs ?? {})) {
      const words = options.split(',').filter(Boolean);
      add({ Type: 'tmpfs', Source: '', Destination: target, Mode: options, RW: !words.includes('ro'), Propagation: '', Data: words.filter((w) => /^(size|mode|uid|gid|nr_inodes)=/.test(w)).join(',') || 'mode=1777' });
    }
    for (const dst of imageVolumes) {
      if (out.some((o) => o.Destination === dst)) continue;
      const v = this.create({}, true);
      add({ Type: 'volume', Name: v.Name, Source: this.dataDir(v.Name), Destination: dst, Driver: 'local', Mode: '', RW: true, Propagation: '', anonymous: true });
    }
    return out;
  }

  /**
   * At start: mounts volumes backed by tmpfs or a bind on their data directory, and copies the
   * image's content at the mount path into an empty volume (Docker's first-mount behaviour).
   * The copy reads the container's rootfs and writes the volume through descriptors: another
   * container may already be using the volume.
   */
  prepareForStart(mounts: ContainerMount[], rootfs: string): void {
    let view: FsView | undefined;
    try {
      for (const m of mounts) {
        if (m.Type !== 'volume' || !m.Name) continue;
        const v = this.records.get(m.Name);
        if (!v) throw notFound(`volume ${m.Name} of mount ${m.Destination} no longer exists`);
        const data = this.dataDir(v.Name);
        if (v.Options.type && !mountedAt(data)) {
          if (v.Options.type === 'tmpfs') execFileSync('mount', ['-t', 'tmpfs', ...(v.Options.o ? ['-o', v.Options.o] : []), 'tmpfs', data]);
          else execFileSync('mount', ['--bind', v.Options.device, data]);
        }
        if (m.NoCopy) continue;
        view ??= FsView.open(this.fs, rootfs, 'the image');
        this.copyUp(view, m.Destination, data);
      }
    } finally {
      view?.close();
    }
  }

  private copyUp(rootfs: FsView, destination: string, data: string): void {
    const fs = this.fs;
    const dest = fs.openat(AT.FDCWD, data, O.RDONLY | O.DIRECTORY);
    let src;
    try {
      if (fs.readdir(dest).length) return;
      try {
        src = rootfs.lookup(destination, true);
      } catch {
        return; // nothing at the mount path in the image
      }
      if (!isDir(src.stat)) return;
      const srcDir = fs.openat(src.fd, '.', O.RDONLY | O.DIRECTORY);
      const empty = fs.readdir(srcDir).length === 0;
      fs.close(srcDir);
      if (empty) return;
      // As `cp -a`: the volume's root takes the directory's owner, mode and time ('.' is its entry).
      const writer = new LayerWriter(dest, fs, { mode: 'copy', chown: true });
      const parser = new TarParser(writer);
      try {
        for (const chunk of tarChunks(fs, null, src, '.')) parser.push(chunk);
        parser.end();
      } catch (e) {
        writer.abort();
        throw e;
      }
      writer.finish();
    } finally {
      if (src) fs.close(src.fd);
      fs.close(dest);
    }
  }

  /** Anonymous volumes of a removed container (`run --rm`, `rm -v`). */
  removeAnonymous(r: ContainerRecord): void {
    for (const m of r.Mounts ?? []) {
      if (m.Type !== 'volume' || !m.Name || !this.records.get(m.Name)?.anonymous) continue;
      if (this.users(m.Name).some((c) => c.Id !== r.Id)) continue;
      try {
        this.destroy(m.Name);
      } catch {
        /* left for prune */
      }
    }
  }

  /** Unmounts tmpfs/bind-backed volumes (tests and shutdown of a private root). */
  unmountAll(): void {
    for (const v of this.records.values()) {
      const data = this.dataDir(v.Name);
      if (v.Options.type && mountedAt(data)) execFileSync('umount', ['-l', data]);
    }
  }
}
