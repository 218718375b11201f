// Logs, attach and exec.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pty from 'node-pty';
import { logsOf, until } from '../helpers/run.ts';
import { startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  for (let off = 0; off + 8 <= buf.length;) {
    const len = buf.readUInt32BE(off + 4);
    const text = buf.subarray(off + 8, off + 8 + len).toString();
    if (buf[off] === 2) out.stderr += text;
    else out.stdout += text;
    off += 8 + len;
  }
  return out;
}

describe('logs, attach and exec', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('keeps stdout and stderr apart with timestamps, tail, since and until', async () => {
    const { id } = await t.engine.run({ Image: 'busybox', Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf partial'] });
    assert.equal(await logsOf(t.engine, id, 'stdout'), 'out1\nout2\nout3\nout4\nout5\npartial');
    assert.equal(await logsOf(t.engine, id, 'stderr'), 'err1\nerr2\nerr3\nerr4\nerr5\n');
    const tail: string[] = [];
    for await (const l of t.engine.logs(id, { stderr: false, tail: 2 })) tail.push(l.text);
    assert.deepEqual(tail, ['out5\n', 'partial']);
    const all: string[] = [];
    for await (const l of t.engine.logs(id, {})) all.push(l.time);
    assert.ok(all.every((x) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(x)));
    const future: string[] = [];
    for await (const l of t.engine.logs(id, { since: Date.now() / 1000 + 60 })) future.push(l.text);
    assert.deepEqual(future, []);
    const past: string[] = [];
    for await (const l of t.engine.logs(id, { until: Date.now() / 1000 - 3600 })) past.push(l.text);
    assert.deepEqual(past, []);
    await t.engine.containers.remove(id);
  });

  it('follows logs until the container exits', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'for i in 1 2 3; do echo tick$i; sleep 0.2; done'] });
    await t.engine.start(c.Id);
    const seen: string[] = [];
    for await (const l of t.engine.logs(c.Id, { follow: true })) seen.push(l.text.trim());
    assert.deepEqual(seen, ['tick1', 'tick2', 'tick3']);
    await t.engine.containers.remove(c.Id);
  });

  it('rotates logs by size', async () => {
    const { id } = await t.engine.run({ Image: 'busybox', Cmd: ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done'],
      HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '64k', 'max-file': '3' } } } });
    const { readdirSync, statSync } = await import('node:fs');
    const dir = t.engine.containers.containerDir(id);
    const logs = readdirSync(dir).filter((f) => f.startsWith('container.log'));
    assert.deepEqual(logs.sort(), ['container.log', 'container.log.1', 'container.log.2']);
    for (const f of logs) assert.ok(statSync(`${dir}/${f}`).size <= 70 * 1024);
    const text = await logsOf(t.engine, id);
    assert.match(text, /line-2999-/);
    assert.doesNotMatch(text, /^line-0-/m, 'the oldest lines rotated away');
    await t.engine.containers.remove(id);
  });

  it('attaches before start with stdin, and sees every byte of output', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh', '-c', 'read line; echo "got $line"; echo oops >&2'], OpenStdin: true, StdinOnce: true });
    const chunks: Buffer[] = [];
    const exited = t.engine.wait(c.Id, 'next-exit');
    await t.engine.start(c.Id, {
      beforeExec: async (runDir) => {
        const sock = await t.engine.attachTo(runDir, { stdin: true, stdout: true, stderr: true });
        sock.on('data', (d) => chunks.push(d));
        sock.end('hello\n');
      },
    });
    assert.equal((await exited).StatusCode, 0);
    await until(() => demux(Buffer.concat(chunks)).stderr.includes('oops'));
    assert.deepEqual(demux(Buffer.concat(chunks)), { stdout: 'got hello\n', stderr: 'oops\n' });
    await t.engine.containers.remove(c.Id);
  });

  it('runs a TTY container, attaches to it and resizes its terminal', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sh'], Tty: true, OpenStdin: true, HostConfig: { ConsoleSize: [30, 100] } });
    await t.engine.start(c.Id);
    const sock = await t.engine.attach(c.Id, { stdin: true, stdout: true, stderr: true });
    let out = '';
    sock.on('data', (d: Buffer) => (out += demux(d).stdout));
    sock.write('stty size; tty\n');
    await until(() => out.includes('30 100') && out.includes('/dev/pts/0'), 5000, 'stty and tty output');
    await t.engine.containers.resize(c.Id, 40, 120);
    sock.write('stty size\n');
    await until(() => out.includes('40 120'), 5000, 'resized');
    sock.write('exit 5\n');
    assert.equal((await t.engine.wait(c.Id)).StatusCode, 5);
    sock.destroy();
    await t.engine.containers.remove(c.Id);
  });

  it('execs with env, user and workdir, returning the exit code', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '30'], Env: ['BASE=1'] });
    await t.engine.start(c.Id);
    const p = t.engine.exec(c.Id, { Cmd: ['sh', '-c', 'echo $BASE $EXTRA $(id -u) $(pwd); cat /proc/1/cmdline | tr "\\0" " "; grep Seccomp: /proc/self/status; exit 4'], Env: ['EXTRA=2'], User: 'alice', WorkingDir: '/tmp' });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    const code = await new Promise((r) => p.on('close', r));
    assert.equal(code, 4);
    assert.match(out, /^1 2 1000 \/tmp$/m);
    assert.match(out, /^sleep 30 Seccomp/m, 'same pid namespace as the container');
    assert.match(out, /Seccomp:\s+2/);
    const bad = t.engine.exec(c.Id, { Cmd: ['nosuchcmd'] });
    let err = '';
    bad.stderr!.on('data', (d) => (err += d));
    assert.equal(await new Promise((r) => bad.on('close', r)), 127);
    assert.match(err, /executable file not found in \$PATH/);
    await t.engine.containers.remove(c.Id, { force: true });
  });

  it('execs an interactive shell through node-pty (the helper follows the size of the terminal it is given)', async () => {
    const c = await t.engine.create({ Image: 'busybox', Cmd: ['sleep', '30'] });
    await t.engine.start(c.Id);
    const prep = t.engine.prepareExec(c.Id, { Cmd: ['sh'], Tty: true });
    const term = pty.spawn(prep.helper, prep.args, { cols: 90, rows: 20, name: 'xterm' });
    let out = '';
    term.onData((d) => (out += d));
    term.write('echo hello-$((6*7)); stty size; hostname\r');
    // The hostname is the last line of the answer: wait for it, or the check races the pty.
    await until(() => out.includes('hello-42') && out.includes('20 90') && out.includes(c.Id.slice(0, 12)), 5000, 'shell output');
    assert.match(out, new RegExp(`^hello-42\r\n20 90\r\n${c.Id.slice(0, 12)}\r$`, 'm'));
    term.write('exit 3\r');
    const code = await new Promise((r) => term.onExit((e) => r(e.exitCode)));
    assert.equal(code, 3);
    prep.cleanup();
    await t.engine.containers.remove(c.Id, { force: true });
  });
});
