// A Bridge for store tests: answers calls from a table, lets the test emit events, records calls.
import type { EventMap, EventName, MethodName } from '../../common/contract.ts';
import type { Bridge, BridgeResult, ConnectionState } from '../bridge.ts';

export class FakeBridge implements Bridge {
  readonly calls: { method: string; args: unknown }[] = [];
  private readonly listeners = new Map<string, Set<(p: unknown) => void>>();
  private readonly conn = new Set<(s: ConnectionState, detail?: string) => void>();

  constructor(private readonly answers: Partial<Record<MethodName, (args: never) => BridgeResult<unknown>>> = {}) {}

  call: Bridge['call'] = async (method, args) => {
    this.calls.push({ method, args });
    const a = this.answers[method] as ((args: unknown) => BridgeResult<unknown>) | undefined;
    return (a ? a(args) : { ok: true, value: null }) as never;
  };

  on: Bridge['on'] = (name, listener) => {
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set);
    set.add(listener as (p: unknown) => void);
    return () => set.delete(listener as (p: unknown) => void);
  };

  emit<E extends EventName>(name: E, payload: EventMap[E]): void {
    for (const l of this.listeners.get(name) ?? []) l(payload);
  }

  open: Bridge['open'] = () => ({ input: () => undefined, close: () => undefined });

  onConnection: Bridge['onConnection'] = (l) => {
    this.conn.add(l);
    l('connecting');
    return () => this.conn.delete(l);
  };

  connect(s: ConnectionState, detail?: string): void {
    for (const l of this.conn) l(s, detail);
  }
}
