// Network records on disk, one JSON file each, written atomically, and Docker's ways of
// naming one: full id, exact name, unique id prefix.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { invalid, notFound } from '../errors.ts';
import type { PoolConfig } from './ipam.ts';

export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: 'bridge' | 'host' | 'null';
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: PoolConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** the bridge device on the host */
  device?: string;
  /** address → container id */
  used: Record<string, string>;
  cursor: number;
  /** the subnet was picked by the engine, so it may pick another while no address is handed out */
  autoSubnet?: boolean;
  /** the IPv6 pool of a dual-stack network (--ipv6); its addresses share `used` */
  ipv6?: PoolConfig;
  /** a removal was asked for and its host side may be half gone: the engine finishes it at startup */
  removing?: boolean;
}

export class NetworkStore {
  private readonly records = new Map<string, NetworkRecord>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      try {
        const r = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as NetworkRecord;
        this.records.set(r.Id, r);
      } catch {
        /* a hand-edited file */
      }
    }
  }

  newRecord(name: string, driver: NetworkRecord['Driver'], pools: PoolConfig[]): NetworkRecord {
    let id: string;
    do id = randomBytes(32).toString('hex'); while (this.records.has(id) || /^\d{12}/.test(id));
    return {
      Id: id, Name: name, Created: new Date().toISOString(), Driver: driver,
      IPAM: { Driver: 'default', Options: {}, Config: pools }, Internal: false, Attachable: false, Options: {}, Labels: {}, used: {}, cursor: 0,
    };
  }

  save(r: NetworkRecord): void {
    writeFileSync(`${this.dir}/${r.Id}.json.tmp`, JSON.stringify(r));
    renameSync(`${this.dir}/${r.Id}.json.tmp`, `${this.dir}/${r.Id}.json`);
    this.records.set(r.Id, r);
  }

  delete(id: string): void {
    rmSync(`${this.dir}/${id}.json`, { force: true });
    this.records.delete(id);
  }

  /** by full id */
  byId(id: string): NetworkRecord | undefined {
    return this.records.get(id);
  }

  byName(name: string): NetworkRecord | undefined {
    return this.all().find((n) => n.Name === name);
  }

  all(): NetworkRecord[] {
    return [...this.records.values()];
  }

  get(ref: string): NetworkRecord {
    if (!ref) throw invalid('network name must not be empty');
    const exact = this.records.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    const matches = this.all().filter((n) => n.Id.startsWith(ref));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalid(`network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  list(): NetworkRecord[] {
    return this.all().sort((a, b) => a.Name.localeCompare(b.Name));
  }
}
