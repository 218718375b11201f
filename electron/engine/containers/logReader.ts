// Reads the shim's log files: "<RFC3339Nano> <stdout|stderr> <F|P> <text>" per record, P
// marking a partial line. Supports tail, since, until and follow across rotation.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry, LogOptions as CommonLogOptions } from '../../../common/docker.ts';

export type { LogEntry };
export type LogOptions = CommonLogOptions & { signal?: AbortSignal };

export function parseRecord(line: string): LogEntry | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  if (a < 0 || b < 0 || line.length < b + 2) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const partial = line[b + 1] === 'P';
  return { stream, time: line.slice(0, a), text: line.slice(b + 3) + (partial ? '' : '\n') };
}

function epoch(time: string): number {
  // Date.parse keeps milliseconds only; good enough for since/until in seconds.
  return Date.parse(time) / 1000;
}

export async function* readLogs(logPath: string, opts: LogOptions, isRunning: () => boolean): AsyncGenerator<LogEntry> {
  const want = (e: LogEntry) =>
    (e.stream === 'stdout' ? opts.stdout !== false : opts.stderr !== false) &&
    (opts.since === undefined || epoch(e.time) >= opts.since) &&
    (opts.until === undefined || epoch(e.time) <= opts.until);
  const files: string[] = [];
  for (let i = 20; i >= 1; i--) if (existsSync(`${logPath}.${i}`)) files.push(`${logPath}.${i}`);
  if (existsSync(logPath)) files.push(logPath);
  let entries: LogEntry[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const e = parseRecord(line);
      if (e && want(e)) entries.push(e);
    }
  }
  if (opts.tail !== undefined && opts.tail >= 0) entries = opts.tail === 0 ? [] : entries.slice(-opts.tail);
  yield* entries;
  if (!opts.follow) return;
  let offset = existsSync(logPath) ? statSync(logPath).size : 0;
  let ino = existsSync(logPath) ? statSync(logPath).ino : 0;
  let rest = '';
  let idleAfterExit = 0;
  while (!opts.signal?.aborted) {
    let grew = false;
    if (existsSync(logPath)) {
      const st = statSync(logPath);
      if (st.ino !== ino || st.size < offset) {
        ino = st.ino; // rotated or truncated: start over on the new file
        offset = 0;
        rest = '';
      }
      if (st.size > offset) {
        const fh = await open(logPath, 'r');
        const buf = Buffer.alloc(st.size - offset);
        await fh.read(buf, 0, buf.length, offset);
        await fh.close();
        offset = st.size;
        grew = true;
        const lines = (rest + buf.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          const e = parseRecord(line);
          if (e && want(e)) yield e;
          if (e && opts.until !== undefined && epoch(e.time) > opts.until) return;
        }
      }
    }
    if (!grew && !isRunning()) {
      // The shim flushes before it records the exit; one more look catches the tail.
      if (++idleAfterExit > 2) return;
    }
    await sleep(grew ? 0 : 50);
  }
}
