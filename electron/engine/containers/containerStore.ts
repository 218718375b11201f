// Container records in memory, each persisted as a small JSON file written atomically.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { conflict, invalid, notFound } from '../errors.ts';
import type { ContainerRecord } from './containerRecord.ts';

export class ContainerStore {
  private readonly records = new Map<string, ContainerRecord>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const id of readdirSync(dir)) {
      const file = `${dir}/${id}/config.json`;
      if (!existsSync(file)) continue;
      try {
        this.records.set(id, JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        /* a torn write cannot happen (rename), but a hand-edited file can */
      }
    }
  }

  containerDir(id: string): string {
    return `${this.dir}/${id}`;
  }

  newId(): string {
    for (;;) {
      const id = randomBytes(32).toString('hex');
      // An all-digit short id would read as a number where it is used as the hostname.
      if (!/^\d{12}/.test(id) && !this.records.has(id)) return id;
    }
  }

  all(): ContainerRecord[] {
    return [...this.records.values()];
  }

  byName(name: string): ContainerRecord | undefined {
    const n = `/${name.replace(/^\//, '')}`;
    return this.all().find((r) => r.Name === n);
  }

  /** Docker's lookup order: full id, exact name, unique id prefix. */
  resolve(ref: string): ContainerRecord {
    if (!ref) throw invalid('container reference must not be empty');
    const exact = this.records.get(ref);
    if (exact) return exact;
    const named = this.byName(ref);
    if (named) return named;
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = this.all().filter((r) => r.Id.startsWith(ref));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw notFound(`No such container: ${ref}`);
  }

  claimName(name: string, id: string): void {
    const other = this.byName(name);
    if (other && other.Id !== id) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${other.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
  }

  save(record: ContainerRecord): void {
    const dir = this.containerDir(record.Id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/config.json.tmp`, JSON.stringify(record));
    renameSync(`${dir}/config.json.tmp`, `${dir}/config.json`);
    this.records.set(record.Id, record);
  }

  delete(id: string): void {
    this.records.delete(id);
    rmSync(this.containerDir(id), { recursive: true, force: true });
  }
}
