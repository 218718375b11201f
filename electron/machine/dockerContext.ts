// The docker CLI's context named "berth", pointing at this engine's socket, so `docker context
// use berth` (or `--context berth`) reaches Berth wherever it runs. The CLI keeps contexts as
// files: $DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json (docker/cli
// cli/context/store). Only the default engine of each mode registers (tests and side engines
// on other sockets do not).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CONTEXT_NAME = 'berth';

export function contextFile(env: NodeJS.ProcessEnv = process.env, name = CONTEXT_NAME): string {
  const config = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(config, 'contexts/meta', createHash('sha256').update(name).digest('hex'), 'meta.json');
}

/** Creates the context, or points it at `socket` if it names another; returns whether it changed. */
export function ensureDockerContext(socket: string, env: NodeJS.ProcessEnv = process.env, name = CONTEXT_NAME, description = 'Berth engine'): boolean {
  const file = contextFile(env, name);
  const host = `unix://${socket}`;
  if (existsSync(file)) {
    try {
      const meta = JSON.parse(readFileSync(file, 'utf8')) as { Endpoints?: { docker?: { Host?: string } } };
      if (meta.Endpoints?.docker?.Host === host) return false;
    } catch {
      /* unreadable: written again below */
    }
  }
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 });
  const meta = { Name: name, Metadata: { Description: description }, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } };
  writeFileSync(`${file}.tmp`, JSON.stringify(meta));
  renameSync(`${file}.tmp`, file);
  return true;
}

/** Removes a context Berth registered (`berth machine rm`); a context the user changed stays. */
export function removeDockerContext(name: string, socket: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = contextFile(env, name);
  try {
    const meta = JSON.parse(readFileSync(file, 'utf8')) as { Endpoints?: { docker?: { Host?: string } } };
    if (meta.Endpoints?.docker?.Host === `unix://${socket}`) rmSync(join(file, '..'), { recursive: true, force: true });
  } catch {
    /* absent or unreadable: nothing of ours */
  }
}
