// The pipe form of an exec: the helper in exec mode with its stdio as pipes. The caller runs
// the prepared exec's cleanup itself, to read the helper's error before the files go.
import { spawn, type ChildProcess } from 'node:child_process';
import type { PreparedExec } from '../engine/containers/execRunner.ts';

export const spawnPipes = (p: PreparedExec): ChildProcess => spawn(p.helper, p.args, { stdio: ['pipe', 'pipe', 'pipe'] });
