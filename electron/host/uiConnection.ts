// One UI connection over any message channel: calls, events and streams of common/contract.ts.
// Shared by the web-mode WebSocket and Electron's IPC so both transports behave the same.
import type { ClientMessage, ServerMessage } from '../../common/contract.ts';
import type { ContractHost } from './contractHost.ts';
import { errorData } from './contractHost.ts';
import type { StreamHandle } from './terminalSession.ts';

export interface Channel {
  send(m: ServerMessage): void;
}

export class UiConnection {
  private readonly streams = new Map<number, StreamHandle<unknown>>();
  private readonly offEvents: () => void;

  constructor(private readonly host: ContractHost, private readonly channel: Channel) {
    this.offEvents = host.onEvent((name, payload) => channel.send({ t: 'event', name, payload }));
  }

  receive(raw: unknown): void {
    const m = raw as ClientMessage;
    if (typeof m !== 'object' || m === null) return;
    switch (m.t) {
      case 'call':
        if (typeof m.id !== 'number') return;
        void this.host.call(String(m.method), m.args).then((r) => this.channel.send({ t: 'result', id: m.id, ...r } as ServerMessage));
        return;
      case 'open': {
        if (typeof m.sid !== 'number' || this.streams.has(m.sid)) return;
        try {
          const h = this.host.open(String(m.stream), m.args, {
            data: (data) => this.streams.has(m.sid) && this.channel.send({ t: 'data', sid: m.sid, data }),
            end: (e) => {
              if (!this.streams.delete(m.sid)) return;
              this.channel.send({ t: 'end', sid: m.sid, ...(e ? { error: errorData(e) } : {}) });
            },
          });
          this.streams.set(m.sid, h);
        } catch (e) {
          this.channel.send({ t: 'end', sid: m.sid, error: errorData(e) });
        }
        return;
      }
      case 'input':
        try {
          this.streams.get(m.sid)?.input(m.input);
        } catch (e) {
          this.streams.get(m.sid)?.close();
          this.streams.delete(m.sid);
          this.channel.send({ t: 'end', sid: m.sid, error: errorData(e) });
        }
        return;
      case 'close':
        this.streams.get(m.sid)?.close();
        this.streams.delete(m.sid);
        return;
    }
  }

  dispose(): void {
    this.offEvents();
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }
}
