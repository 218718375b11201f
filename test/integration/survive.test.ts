// Containers outlive the engine: SIGKILL it, start a new one, and they are still there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { logsOf, until } from '../helpers/run.ts';
import { REPO, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';

describe('containers survive an engine crash', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('re-adopts running containers and records the exit of those that ended meanwhile', async () => {
    t.engine.close();
    const child = spawn(process.execPath, ['--import', 'tsx', `${REPO}/test/helpers/engineProcess.ts`, t.root, t.runRoot, t.cgroupParent,
      JSON.stringify([['sh', '-c', 'echo up; while read l; do echo "echo:$l"; done'], ['sh', '-c', 'sleep 1; exit 42']])],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    let line = '';
    child.stdout.on('data', (d) => (line += d));
    try {
      await until(() => line.includes('\n'), 20_000, 'the engine process to start two containers');
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.on('close', r));
    const [running, ending] = JSON.parse(line) as string[];
    await new Promise((r) => setTimeout(r, 1500)); // the second one exits while no engine runs

    const engine = await t.reopen();
    assert.equal(engine.inspect(running).State.Running, true);
    const pid = engine.inspect(running).State.Pid;
    process.kill(pid, 0);
    await until(() => !engine.inspect(ending).State.Running, 5000, 'the exit to be recorded');
    assert.equal(engine.inspect(ending).State.ExitCode, 42);

    const sock = await engine.attach(running, { stdin: true, stdout: true, stderr: true });
    sock.write('ping\n');
    await until(async () => (await logsOf(engine, running)).includes('echo:ping'), 5000, 'attach after re-adoption');
    sock.destroy();
    const p = engine.exec(running, { Cmd: ['echo', 'exec-ok'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => p.on('close', r));
    assert.equal(out, 'exec-ok\n');
    await engine.containers.stop(running, { timeout: 1 });
    assert.equal(engine.inspect(running).State.Running, false);
  });
});
