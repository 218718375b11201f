// The UI's terminal stream at the host: a shell on a pty inside the container whose output is
// paced by the UI's acknowledgements, so a flood never piles up in the engine or the transport.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TERMINAL_HIGH_WATER } from '../../common/contract.ts';
import { openTerminal } from '../../electron/host/terminalSession.ts';
import { until } from '../helpers/run.ts';
import { startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

describe('terminal stream', { timeout: 120_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('holds a flood at the high-water mark until the UI acknowledges, then delivers every byte', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '120'] });
    await t.engine.start(c.Id);
    let received = 0;
    let acked = 0;
    let tail = '';
    let ended: Error | undefined | null = null;
    const h = openTerminal(t.engine, { id: c.Id, mode: 'exec', shell: 'sh', cols: 80, rows: 24 }, {
      data(d) {
        received += d.length;
        tail = (tail + d).slice(-64);
      },
      end(e) {
        ended = e;
      },
    });
    try {
      // 40-character lines, each "\r\n"-terminated by the pty: 24 MiB in all, six times the window.
      const lines = 600_000;
      h.input({ data: `stty -echo; yes 012345678901234567890123456789012345678 | head -n ${lines}; echo FLOOD-DONE\r` });
      await until(() => received >= TERMINAL_HIGH_WATER, 15_000, 'the flood to fill the window');
      await sleep(1000);
      const held = received;
      await sleep(1000);
      assert.equal(received, held, 'no output while nothing is acknowledged');
      assert.ok(held < TERMINAL_HIGH_WATER + 256 * 1024, `paused near the high-water mark (${held} bytes out)`);
      assert.ok(!tail.includes('FLOOD-DONE'));

      // Acknowledge as the UI does, in batches, until the end marker arrives.
      await until(() => {
        if (received > acked) {
          h.input({ ack: received - acked });
          acked = received;
        }
        return tail.includes('FLOOD-DONE');
      }, 60_000, 'the rest of the flood after acknowledgements');
      assert.ok(received >= lines * 41, `every line arrived (${received} bytes)`);
      assert.equal(ended, null, 'the shell is still open');
      h.input({ data: 'echo still-$((6*7))\r' });
      await until(() => tail.includes('still-42'), 5000, 'the shell answering after the flood');
    } finally {
      h.close();
      await t.engine.containers.remove(c.Id, { force: true });
    }
  });
});
