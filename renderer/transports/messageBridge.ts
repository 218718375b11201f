// A Bridge over any message port that carries the contract's wire messages. The WebSocket and
// Electron transports only supply the port; calls, events and streams are handled here once.
import type { ClientMessage, EventName, ServerMessage, StreamName } from '../../common/contract.ts';
import type { Bridge, BridgeResult, ConnectionState, StreamHandlers } from '../bridge.ts';

export interface MessagePortLike {
  send(m: ClientMessage): boolean;
}

const LOST = { code: 'DISCONNECTED', message: 'connection to the engine lost' };

export class MessageBridge implements Bridge {
  private nextId = 1;
  private readonly pending = new Map<number, (r: BridgeResult<never>) => void>();
  private readonly streams = new Map<number, StreamHandlers<StreamName>>();
  private readonly events = new Map<string, Set<(p: unknown) => void>>();
  private readonly connection = new Set<(s: ConnectionState, detail?: string) => void>();
  private state: ConnectionState = 'connecting';
  private detail?: string;

  constructor(private readonly port: MessagePortLike) {}

  /** The transport calls this for every message from the host. */
  receive(m: ServerMessage): void {
    switch (m.t) {
      case 'result': {
        const done = this.pending.get(m.id);
        this.pending.delete(m.id);
        done?.(m.ok ? { ok: true, value: m.value as never } : { ok: false, error: m.error });
        return;
      }
      case 'event':
        for (const l of this.events.get(m.name) ?? []) l(m.payload);
        return;
      case 'data':
        this.streams.get(m.sid)?.data(m.data as never);
        return;
      case 'end': {
        const s = this.streams.get(m.sid);
        this.streams.delete(m.sid);
        s?.end(m.error);
        return;
      }
      case 'state':
        this.setState(m.state, m.detail);
    }
  }

  /** The transport reports its state; losing it fails everything in flight. */
  setState(s: ConnectionState, detail?: string): void {
    if (s !== 'open') {
      for (const done of this.pending.values()) done({ ok: false, error: LOST });
      this.pending.clear();
      for (const h of this.streams.values()) h.end(LOST);
      this.streams.clear();
    }
    this.state = s;
    this.detail = detail;
    for (const l of this.connection) l(s, detail);
  }

  call: Bridge['call'] = (method, args) => new Promise((resolve) => {
    const id = this.nextId++;
    this.pending.set(id, resolve as (r: BridgeResult<never>) => void);
    if (!this.port.send({ t: 'call', id, method, args })) {
      this.pending.delete(id);
      resolve({ ok: false, error: LOST });
    }
  });

  on: Bridge['on'] = (name, listener) => {
    const set = this.events.get(name) ?? new Set();
    this.events.set(name as EventName, set);
    const l = listener as (p: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  };

  open: Bridge['open'] = (name, args, handlers) => {
    const sid = this.nextId++;
    this.streams.set(sid, handlers as unknown as StreamHandlers<StreamName>);
    if (!this.port.send({ t: 'open', sid, stream: name, args })) {
      this.streams.delete(sid);
      queueMicrotask(() => handlers.end(LOST));
    }
    return {
      input: (input) => {
        if (this.streams.has(sid)) this.port.send({ t: 'input', sid, input });
      },
      close: () => {
        if (this.streams.delete(sid)) this.port.send({ t: 'close', sid });
      },
    };
  };

  onConnection: Bridge['onConnection'] = (listener) => {
    this.connection.add(listener);
    listener(this.state, this.detail);
    return () => this.connection.delete(listener);
  };
}
