// Shapes shared by the API's route modules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Backend } from '../backend/backend.ts';

export interface Ctx {
  req: IncomingMessage;
  /** set for ordinary requests */
  res: ServerResponse | undefined;
  /** set for upgrade requests: the raw connection */
  socket: Duplex | undefined;
  head: Buffer | undefined;
  url: URL;
  params: string[];
  backend: Backend;
  version: string;
}

export interface Route {
  method: string;
  path: RegExp;
  hijack?: boolean;
  handler: (ctx: Ctx) => Promise<void>;
}

export const q = (ctx: Ctx, k: string) => ctx.url.searchParams.get(k);
export const res = (ctx: Ctx) => {
  if (!ctx.res) throw new Error('this endpoint does not take over the connection');
  return ctx.res;
};
