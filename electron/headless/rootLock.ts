// One daemon per root: `berth daemon` claims ROOT/daemon.pid (pid, start time, socket) before
// it touches the store, created without replacing an existing one; a claim whose process is
// gone is stale and taken over. A second daemon on the same root is refused, naming the first.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { socketAnswers } from '../api/server.ts';
import { procStarttime } from '../engine/sys/proc.ts';

export class RootBusyError extends Error {}

interface Claim {
  pid: number;
  starttime: number;
  socket: string;
}

function readClaim(file: string): Claim | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Claim;
    return c.pid && procStarttime(c.pid) === c.starttime ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Claims `root` for this process; the returned function gives it up (only if still ours). */
export function claimRoot(root: string, socket: string): () => void {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const file = `${root}/daemon.pid`;
  const own: Claim = { pid: process.pid, starttime: procStarttime(process.pid) ?? 0, socket };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, `${JSON.stringify(own)}\n`);
      closeSync(fd);
      return () => {
        if (readClaim(file)?.pid === process.pid) rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = readClaim(file);
      if (other) {
        throw new RootBusyError(`another berth daemon (pid ${other.pid}) is using ${root}, with its Docker API at unix://${other.socket}: use that one, or stop it first (kill ${other.pid})`);
      }
      rmSync(file, { force: true }); // stale: its daemon is gone
    }
  }
  throw new RootBusyError(`cannot claim ${root}: another daemon is starting on it at this moment`);
}

/** Refuses a socket path another engine answers on, before anything of this one is made. */
export async function checkSocketFree(socket: string): Promise<void> {
  if (existsSync(socket) && await socketAnswers(socket)) throw new RootBusyError(`another engine is listening on ${socket}: stop it, or give this daemon another --socket`);
}
