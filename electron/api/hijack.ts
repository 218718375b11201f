// Taking over a connection for attach and exec: "101 UPGRADED" for clients that ask for it,
// a close-delimited 200 otherwise. Output framing follows the TTY flag: raw with a TTY, Docker's
// 8-byte multiplexed frames without.
import type { Duplex } from 'node:stream';
import { commonHeaders } from './http.ts';
import type { Ctx } from './types.ts';

export interface Hijacked {
  out: NodeJS.WritableStream & { destroyed?: boolean; end(): void };
  /** stdin from the client (the upgraded socket, or the request body) */
  input: NodeJS.ReadableStream;
  /** bytes that came with the request headers */
  head: Buffer;
  close(): void;
}

export function hijack(ctx: Ctx, tty: boolean): Hijacked {
  const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  if (ctx.socket) {
    const headers = Object.entries({ ...commonHeaders(), 'Content-Type': contentType, Connection: 'Upgrade', Upgrade: 'tcp' }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    ctx.socket.write(`HTTP/1.1 101 UPGRADED\r\n${headers}\r\n\r\n`);
    const s = ctx.socket as Duplex & { setNoDelay?: (b: boolean) => void };
    s.setNoDelay?.(true);
    return { out: s, input: s, head: ctx.head ?? Buffer.alloc(0), close: () => s.end() };
  }
  const res = ctx.res!;
  res.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType, Connection: 'close' });
  res.flushHeaders();
  return { out: res, input: ctx.req, head: Buffer.alloc(0), close: () => res.end() };
}

/**
 * The body of an upgrade request: it comes on the connection itself (in `head`, or after it),
 * its Content-Length's worth, and what follows it is the stream's (stdin, frames).
 */
export async function upgradedBody(ctx: Ctx): Promise<{ body: Buffer; rest: Buffer }> {
  const len = Number(ctx.req.headers['content-length'] ?? 0);
  let head: Buffer = ctx.head ?? Buffer.alloc(0);
  while (head.length < len) {
    const more: Buffer = await new Promise((resolve) => ctx.socket!.once('data', resolve));
    head = Buffer.concat([head, more]);
  }
  return { body: head.subarray(0, len), rest: head.subarray(len) };
}

export function frame(stream: 1 | 2, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}
