// Wire helpers of the Docker Engine API: exact JSON content type, Docker's headers, errors as
// {"message"}, lenient booleans, both filter encodings, request bodies with a size cap.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Filters } from '../../common/docker.ts';
import { HTTP_STATUS, isCodedError } from '../../common/errors.ts';

export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';
export const SERVER_HEADER = 'Docker/27.5.0 (linux) Berth/0.1';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function commonHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, Server: SERVER_HEADER, 'Docker-Experimental': 'false', Ostype: 'linux' };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': String(data.length) });
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, commonHeaders());
  res.end();
}

export function errorStatus(e: unknown): { status: number; message: string } {
  if (e instanceof ApiError) return { status: e.status, message: e.message };
  if (isCodedError(e)) return { status: HTTP_STATUS[e.code], message: e.message };
  return { status: 500, message: (e as Error)?.message ?? String(e) };
}

export function sendError(res: ServerResponse, e: unknown): void {
  const { status, message } = errorStatus(e);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 304) return sendEmpty(res, 304);
  sendJson(res, status, { message });
}

/** Docker's rule: "", 0, no, false, none (any case) are false; anything else is true. */
export function bool(v: string | null | undefined, fallback = false): boolean {
  if (v === null || v === undefined) return fallback;
  return !['', '0', 'no', 'false', 'none'].includes(v.toLowerCase());
}

export function int(v: string | null | undefined, name: string): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ApiError(400, `invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}

/** filters={"label":{"a=b":true}} or {"label":["a=b"]} → key → values. */
export function filters(v: string | null): Filters {
  const out: Filters = {};
  if (!v) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new ApiError(400, `invalid filter: ${v.slice(0, 100)}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError(400, 'invalid filter: expected an object');
  for (const [k, val] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(val)) out[k] = val.map(String);
    else if (val && typeof val === 'object') out[k] = Object.entries(val).filter(([, b]) => b).map(([x]) => x);
    else throw new ApiError(400, `invalid filter for ${k}`);
  }
  return out;
}

const MAX_JSON = 4 << 20;

export async function readBody(req: IncomingMessage, limit = MAX_JSON): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > limit) throw new ApiError(413, `request body larger than ${limit} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export async function readJson<T>(req: IncomingMessage, optional = false): Promise<T> {
  const body = await readBody(req);
  if (!body.length) {
    if (optional) return {} as T;
    throw new ApiError(400, 'request body is empty: expected JSON');
  }
  try {
    const v = JSON.parse(body.toString('utf8')) as T;
    if (v === null || typeof v !== 'object') throw new Error('not an object');
    return v;
  } catch (e) {
    throw new ApiError(400, `malformed JSON in request body: ${(e as Error).message}`);
  }
}

/** Starts a streamed JSON response (pull/push/load progress, stats, events). */
export function startStream(res: ServerResponse, contentType = 'application/json'): void {
  res.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType });
  res.flushHeaders();
}
