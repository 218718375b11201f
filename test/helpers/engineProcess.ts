// Runs an engine in a separate Node process, so a test can SIGKILL it mid-flight.
import { createEngine } from '../../electron/engine/engine.ts';
import { HELLO, HELPER } from './testEngine.ts';

const [root, runRoot, cgroupParent, script] = process.argv.slice(2);
const engine = await createEngine({ root, runRoot, helperPath: HELPER, helloPath: HELLO, cgroupParent });
const ids: string[] = [];
for (const cmd of JSON.parse(script) as string[][]) {
  const c = await engine.create({ Image: 'busybox', Cmd: cmd, OpenStdin: true });
  await engine.start(c.Id);
  ids.push(c.Id);
}
process.stdout.write(`${JSON.stringify(ids)}\n`);
setInterval(() => undefined, 1000);
