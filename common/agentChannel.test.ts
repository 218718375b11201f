import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AGENT_MESSAGE_MAX, agentMessage, agentMessages, answerFrame, answerFrames, requestFrame, requestFrames } from './agentChannel.ts';

/** Feeds `bytes` to a reader in pieces of `size`. */
const feed = (read: (c: Uint8Array) => void, bytes: Uint8Array, size: number) => {
  for (let at = 0; at < bytes.length; at += size) read(bytes.subarray(at, at + size));
};
const join = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

it('carries requests and answers whole, however the stream is cut', () => {
  const msgs = [new Uint8Array([11]), Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff), new Uint8Array([13, 0, 0, 0, 1, 7])];
  const requests = join(msgs.map((m, i) => requestFrame(i + 1, i % 2 ? 'default' : 'deploy.key_2', m)));
  const answers = join(msgs.map((m, i) => answerFrame(100 + i, m)));
  const onSocket = join(msgs.map(agentMessage));
  for (const size of [1, 3, 7, 64, 100_000]) {
    const gotRequests: [number, string, number[]][] = [];
    feed(requestFrames((seq, id, m) => gotRequests.push([seq, id, [...m]]), () => assert.fail('bad')), requests, size);
    assert.deepEqual(gotRequests, msgs.map((m, i) => [i + 1, i % 2 ? 'default' : 'deploy.key_2', [...m]]), `requests in pieces of ${size}`);
    const gotAnswers: [number, number[]][] = [];
    feed(answerFrames((seq, m) => gotAnswers.push([seq, [...m]]), () => assert.fail('bad')), answers, size);
    assert.deepEqual(gotAnswers, msgs.map((m, i) => [100 + i, [...m]]), `answers in pieces of ${size}`);
    const gotMessages: number[][] = [];
    feed(agentMessages((m) => gotMessages.push([...m]), () => assert.fail('bad')), onSocket, size);
    assert.deepEqual(gotMessages, msgs.map((m) => [...m]), `agent messages in pieces of ${size}`);
  }
});

it('stops at a length out of the agent protocol\'s bounds, and reads nothing after', () => {
  let bad = 0;
  const seen: number[][] = [];
  const read = agentMessages((m) => seen.push([...m]), () => bad++);
  read(agentMessage(new Uint8Array([11])));
  read(Uint8Array.from([0, 0, 0, 0]));
  read(agentMessage(new Uint8Array([13])));
  assert.deepEqual([seen, bad], [[[11]], 1]);
  let badFrame = 0;
  const tooLong = requestFrame(1, 'default', new Uint8Array(0));
  new DataView(tooLong.buffer).setUint32(tooLong.length - 4, AGENT_MESSAGE_MAX + 1);
  requestFrames(() => assert.fail('no request'), () => badFrame++)(tooLong);
  assert.equal(badFrame, 1);
});
