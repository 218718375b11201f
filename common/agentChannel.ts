// How a build on an engine elsewhere (a VM's, a remote Berth) reaches the app's running SSH
// agent (BuildKit's `--ssh default`). The app opens an agent channel for the build's
// credentials token (POST /berth/build-agents?token=…&id=…, upgraded) before it starts the
// build; the engine serves each id as an agent socket of its own, and sends each request a RUN
// makes there through the channel; the app passes listing and signing on to its agent and
// sends the answer back. Nothing of the agent but those two requests crosses.
// Frames: a request is `seq u32, id length u8, id, length u32, message`; an answer is
// `seq u32, length u32, message`. Messages are the agent protocol's (draft-miller-ssh-agent),
// without the length they have on an agent's socket.
import { joinBytes, sshWire } from './sshKeys.ts';

export const AGENT_FAILURE = 5;
export const AGENT_REQUEST_IDENTITIES = 11;
export const AGENT_IDENTITIES_ANSWER = 12;
export const AGENT_SIGN_REQUEST = 13;
/** the agent protocol's own bound on a message */
export const AGENT_MESSAGE_MAX = 256 * 1024;

/** The requests an agent relayed for a build passes on (read-only, as BuildKit's): listing and signing. */
export const relayable = (msg: Uint8Array): boolean => msg[0] === AGENT_REQUEST_IDENTITIES || msg[0] === AGENT_SIGN_REQUEST;

const readU32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0);

/** A message as it goes on an agent's socket: its length first. */
export function agentMessage(msg: Uint8Array): Uint8Array {
  return sshWire(msg);
}

/**
 * Takes a stream's chunks and gives back whole units as `take` finds them at the start of what
 * is pending: their length, or 0 until enough is there; -1 when the stream is malformed
 * (then `onBad`, and nothing more is read). A unit is a view of bytes never written again, so
 * it may be kept.
 */
function unitReader(take: (pending: Uint8Array) => number, onUnit: (unit: Uint8Array) => void, onBad: () => void): (chunk: Uint8Array) => void {
  let pending: Uint8Array = new Uint8Array(0);
  let bad = false;
  return (chunk) => {
    if (bad) return;
    pending = pending.length ? joinBytes([pending, chunk]) : chunk;
    for (;;) {
      const n = take(pending);
      if (n < 0) {
        bad = true;
        return onBad();
      }
      if (!n) return;
      onUnit(pending.subarray(0, n));
      pending = pending.subarray(n);
    }
  };
}

/** An agent socket's byte stream as messages (without their lengths). */
export function agentMessages(onMessage: (msg: Uint8Array) => void, onBad: () => void): (chunk: Uint8Array) => void {
  return unitReader((p) => {
    if (p.length < 4) return 0;
    const len = readU32(p, 0);
    if (len === 0 || len > AGENT_MESSAGE_MAX) return -1;
    return p.length < 4 + len ? 0 : 4 + len;
  }, (u) => onMessage(u.subarray(4)), onBad);
}

/** An id's bytes: ids are ASCII (letters, digits, ".", "_", "-"), as the engine takes them. */
const idBytes = (id: string) => Uint8Array.from(id, (c) => c.charCodeAt(0) & 0x7f);
const idOf = (b: Uint8Array) => String.fromCharCode(...b);

export function requestFrame(seq: number, id: string, msg: Uint8Array): Uint8Array {
  const name = idBytes(id);
  return joinBytes([sshWire(seq), new Uint8Array([name.length]), name, sshWire(msg)]);
}

export function answerFrame(seq: number, msg: Uint8Array): Uint8Array {
  return sshWire(seq, msg);
}

/** The engine's requests on a channel, as the app reads them. */
export function requestFrames(onRequest: (seq: number, id: string, msg: Uint8Array) => void, onBad: () => void): (chunk: Uint8Array) => void {
  return unitReader((p) => {
    if (p.length < 5) return 0;
    const at = 5 + p[4];
    if (p.length < at + 4) return 0;
    const len = readU32(p, at);
    if (len > AGENT_MESSAGE_MAX) return -1;
    return p.length < at + 4 + len ? 0 : at + 4 + len;
  }, (u) => onRequest(readU32(u, 0), idOf(u.subarray(5, 5 + u[4])), u.subarray(9 + u[4])), onBad);
}

/** The app's answers on a channel, as the engine reads them. */
export function answerFrames(onAnswer: (seq: number, msg: Uint8Array) => void, onBad: () => void): (chunk: Uint8Array) => void {
  return unitReader((p) => {
    if (p.length < 8) return 0;
    const len = readU32(p, 4);
    if (len > AGENT_MESSAGE_MAX) return -1;
    return p.length < 8 + len ? 0 : 8 + len;
  }, (u) => onAnswer(readU32(u, 0), u.subarray(8)), onBad);
}
