// Web mode: the contract over a WebSocket to `berth daemon --web`, with the token from the page
// URL. Reconnects with backoff after the engine restarts; a refused token is final.
import type { ServerMessage } from '../../common/contract.ts';
import { MessageBridge } from './messageBridge.ts';

export function connectWebSocket(url: string): MessageBridge {
  let ws: WebSocket | undefined;
  let delay = 250;
  let opened = false;
  const bridge = new MessageBridge({
    send(m) {
      if (ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(m));
      return true;
    },
  });
  const connect = () => {
    ws = new WebSocket(url);
    opened = false;
    ws.onopen = () => {
      opened = true;
      delay = 250;
      bridge.setState('open');
    };
    ws.onmessage = (e) => bridge.receive(JSON.parse(String(e.data)) as ServerMessage);
    ws.onclose = () => {
      // A handshake refused before opening, on the first try, is the token: say so and stop.
      bridge.setState('lost', opened ? 'reconnecting to the engine…' : 'cannot reach the engine, retrying…');
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    };
  };
  connect();
  return bridge;
}
