// Shapes shared by the API's route modules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine/engine.ts';

/** A client attached to a container that has not started yet: its stdin waits for the start. */
export interface PendingAttach {
  streams: { stdin: boolean; stdout: boolean; stderr: boolean };
  tty: boolean;
  out: NodeJS.WritableStream & { destroyed?: boolean };
  input: NodeJS.ReadableStream | undefined;
  buffered: Buffer[];
  stdinEnded: boolean;
  connect(runDir: string): Promise<void>;
}

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  DetachKeys: string;
  opts: { Cmd: string[]; Env?: string[]; WorkingDir?: string; User?: string; Tty: boolean; Privileged: boolean; AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean };
  resize?: (rows: number, cols: number) => void;
}

export interface ApiState {
  engine: Engine;
  pendingAttach: Map<string, PendingAttach[]>;
  execs: Map<string, ExecRecord>;
}

export interface Ctx {
  req: IncomingMessage;
  /** set for ordinary requests */
  res: ServerResponse | undefined;
  /** set for upgrade requests: the raw connection */
  socket: Duplex | undefined;
  head: Buffer | undefined;
  url: URL;
  params: string[];
  state: ApiState;
  engine: Engine;
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
