// The host ids root mode gives a container with --userns=private: 65536 ids registered in
// /etc/subuid and /etc/subgid under the name "berth-remap", as dockerd registers "dockremap".
// Registered, they cannot be handed out again: useradd's automatic ranges (100000 and up, the
// first of which root mode used to take) and a rootless user's own range skip them. An
// administrator may choose the range by writing the lines first.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EngineError } from '../errors.ts';

export const REMAP_NAME = 'berth-remap';
export const REMAP_COUNT = 65536;
/** Above useradd's SUB_UID_MAX (600100000 by default), so never an automatic range. */
export const DEFAULT_REMAP_START = 0x70000000;

export interface IdFiles {
  subuid: string;
  subgid: string;
}

export const SYSTEM_ID_FILES: IdFiles = { subuid: '/etc/subuid', subgid: '/etc/subgid' };

interface Line {
  name: string;
  start: number;
  count: number;
}

function lines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim().split(':'))
    .filter((f) => f.length === 3 && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2]))
    .map(([name, start, count]) => ({ name, start: Number(start), count: Number(count) }));
}

/** The first start at or above `from` whose 65536 ids overlap no line. */
export function freeStart(taken: Line[], from = DEFAULT_REMAP_START): number {
  let start = from;
  for (let moved = true; moved;) {
    moved = false;
    for (const l of taken) {
      if (start < l.start + l.count && l.start < start + REMAP_COUNT) {
        start = l.start + l.count;
        moved = true;
      }
    }
  }
  if (start + REMAP_COUNT > 0xffffffff) throw new EngineError('UNAVAILABLE', 'no free range of 65536 ids for --userns=private in /etc/subuid');
  return start;
}

const cache = new Map<string, number>();

/** The registered range (registering it on first use). */
export function remapRange(files: IdFiles = SYSTEM_ID_FILES): { start: number; count: number } {
  const key = `${files.subuid}\0${files.subgid}`;
  let start = cache.get(key);
  if (start === undefined) {
    const uid = lines(files.subuid);
    const gid = lines(files.subgid);
    const own = uid.find((l) => l.name === REMAP_NAME && l.count >= REMAP_COUNT);
    const ownG = gid.find((l) => l.name === REMAP_NAME && l.count >= REMAP_COUNT);
    if (own && ownG && own.start === ownG.start) {
      start = own.start;
    } else {
      start = freeStart([...uid, ...gid].filter((l) => l.name !== REMAP_NAME));
      for (const file of [files.subuid, files.subgid]) {
        const kept = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${REMAP_NAME}:`)) : [];
        writeFileSync(file, [...kept, `${REMAP_NAME}:${start}:${REMAP_COUNT}`].join('\n') + '\n', { mode: 0o644 });
      }
    }
    cache.set(key, start);
  }
  return { start, count: REMAP_COUNT };
}
