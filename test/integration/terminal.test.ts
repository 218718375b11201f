// The UI's terminal stream at the host: a shell on a pty inside the container whose output is
// paced by the UI's acknowledgements, so a flood never piles up in the engine or the transport.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TERMINAL_HIGH_WATER } from '../../common/contract.ts';
import { openTerminal } from '../../electron/host/terminalSession.ts';
import { until } from '../helpers/run.ts';
import { startTestEngine, type TestEngine } from '../helpers/testEngine.ts';
import { backendOf } from '../../electron/engine/index.ts';

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
    const h = openTerminal(backendOf(t.engine), { id: c.Id, mode: 'exec', shell: 'sh', cols: 80, rows: 24 }, {
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

  /** Opens an attach terminal and collects its output. */
  function attach(id: string) {
    let out = '';
    const h = openTerminal(backendOf(t.engine), { id, mode: 'attach', cols: 100, rows: 30 }, {
      data: (d) => (out += d),
      end: () => undefined,
    });
    return { h, text: () => out };
  }

  it('attaches to a TTY main process: input, UTF-8 output, resize', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh'], Tty: true, OpenStdin: true });
    await t.engine.start(c.Id);
    const a = attach(c.Id);
    try {
      a.h.input({ data: 'printf "gr\\303\\274n-%s\\n" $((6*7)); stty size\r' });
      await until(() => a.text().includes('grün-42') && a.text().includes('30 100'), 10_000, 'the shell answering through attach');
      a.h.input({ cols: 120, rows: 40 });
      a.h.input({ data: 'stty size\r' });
      await until(() => a.text().includes('40 120'), 10_000, 'the resize reaching the pty');
    } finally {
      a.h.close();
      await t.engine.containers.remove(c.Id, { force: true });
    }
  });

  it('attaches to a main process without a TTY: stdout and stderr with terminal line ends', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'while read l; do echo "out:$l"; echo "err:$l" >&2; done'], OpenStdin: true });
    await t.engine.start(c.Id);
    const a = attach(c.Id);
    try {
      a.h.input({ data: 'one\ntwo\n' });
      await until(() => a.text().includes('err:two'), 10_000, 'both streams through attach');
      // The framing is gone and each bare "\n" became "\r\n" (xterm would otherwise stair-step).
      assert.equal(a.text().split('\r\n').filter(Boolean).sort().join(' '), 'err:one err:two out:one out:two');
      assert.ok(!/[^\r]\n/.test(a.text()), JSON.stringify(a.text()));
    } finally {
      a.h.close();
      await t.engine.containers.remove(c.Id, { force: true });
    }
  });
});
