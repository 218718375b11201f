// The sandboxed preload: one fixed channel pair carrying common/contract.ts messages, which
// main validates per message. No ipcRenderer, no Node, no logic reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import type { ClientMessage, ServerMessage } from '../../common/contract.ts';

contextBridge.exposeInMainWorld('berthIpc', {
  post: (m: ClientMessage) => ipcRenderer.send('berth:contract', m),
  onMessage: (listener: (m: ServerMessage) => void) => {
    ipcRenderer.on('berth:contract', (_e, m: ServerMessage) => listener(m));
  },
});
