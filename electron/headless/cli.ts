// Headless entry points without Electron: `berth run IMAGE CMD…`, `berth import TAR NAME`, `berth probe`.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../engine/engine.ts';
import { isEngineError } from '../engine/errors.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const helperPath = join(root, 'native/build/berth-helper');
const [cmd, ...args] = process.argv.slice(2);
process.stdout.on('error', () => process.exit(0)); // a closed pipe (| head) is not an error
const dirs = {
  root: process.env.BERTH_ROOT ?? '/var/lib/berth',
  runRoot: process.env.BERTH_RUN ?? '/run/berth',
};

async function main(): Promise<number> {
  if (cmd === 'probe') {
    process.stdout.write(execFileSync(helperPath, ['probe'], { encoding: 'utf8' }));
    return 0;
  }
  const engine = await createEngine({ ...dirs, helperPath, helloPath: join(root, 'native/build/hello') });
  try {
    if (cmd === 'import') {
      const img = await engine.importImage(createReadStream(args[0]), { ref: args[1] });
      console.log(img.id);
      return 0;
    }
    if (cmd === 'run') {
      const rm = args[0] === '--rm';
      const [image, ...command] = rm ? args.slice(1) : args;
      const c = await engine.create({ Image: image, Cmd: command.length ? command : undefined });
      const exited = engine.wait(c.Id, 'next-exit');
      const logs = (async () => {
        for await (const l of engine.logs(c.Id, { follow: true })) (l.stream === 'stderr' ? process.stderr : process.stdout).write(l.text);
      })();
      await engine.start(c.Id);
      const { StatusCode } = await exited;
      await logs;
      if (rm) await engine.containers.remove(c.Id);
      return StatusCode;
    }
    console.error('usage: berth start | run [--rm] IMAGE [CMD…] | import TAR NAME | probe');
    return 2;
  } finally {
    engine.close();
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`berth: ${isEngineError(e) ? e.message : (e as Error).stack}`);
  process.exit(isEngineError(e) && e.stage === 'exec' ? 127 : 125);
});
