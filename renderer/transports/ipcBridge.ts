// Electron: the contract over the preload's IPC port (see electron/preload/preload.ts).
import type { ClientMessage, ServerMessage } from '../../common/contract.ts';
import { MessageBridge } from './messageBridge.ts';

/** What the preload exposes: post a contract message, receive them. Nothing else. */
export interface IpcPort {
  post(m: ClientMessage): void;
  onMessage(listener: (m: ServerMessage) => void): void;
}

export function connectIpc(port: IpcPort): MessageBridge {
  const bridge = new MessageBridge({
    send(m) {
      port.post(m);
      return true;
    },
  });
  port.onMessage((m) => bridge.receive(m));
  bridge.setState('open');
  return bridge;
}
