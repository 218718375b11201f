// Signal names and numbers as docker kill accepts them (HUP, SIGHUP, 1).
import { constants } from 'node:os';
import { invalid } from '../errors.ts';

export function parseSignal(sig: string | number | undefined, fallback = 'SIGKILL'): number {
  const s = sig === undefined || sig === '' ? fallback : String(sig);
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalid(`Invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw invalid(`Invalid signal: ${s}`);
  return n;
}
