// The renderer's only way to the engine, typed from common/contract.ts. Two transports
// implement it: Electron IPC (through the preload) and a WebSocket in web mode.
import type {
  EventMap, EventName, MethodArgs, MethodName, MethodResult, StreamArgs, StreamData, StreamInput, StreamName,
} from '../common/contract.ts';

export interface BridgeError {
  code: string;
  message: string;
}

export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: BridgeError };

export type ConnectionState = 'connecting' | 'open' | 'lost';

export interface StreamHandlers<S extends StreamName> {
  data(d: StreamData<S>): void;
  end(error?: BridgeError): void;
}

export interface StreamControl<S extends StreamName> {
  input(i: StreamInput<S>): void;
  close(): void;
}

export interface Bridge {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<BridgeResult<MethodResult<M>>>;
  on<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void;
  open<S extends StreamName>(name: S, args: StreamArgs<S>, handlers: StreamHandlers<S>): StreamControl<S>;
  /** Called with the current state at once, then on every change. */
  onConnection(listener: (s: ConnectionState, detail?: string) => void): () => void;
}
