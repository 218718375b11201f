// Worker entry: runs unpack jobs posted by the pool, one at a time.
import { parentPort } from 'node:worker_threads';
import { LayerPathError } from './layerWriter.ts';
import { TarFormatError } from './tarParser.ts';
import { unpackFile, UnpackError, type UnpackJob } from './unpackFile.ts';

parentPort!.on('message', (msg: { seq: number; job: UnpackJob }) => {
  unpackFile(msg.job).then(
    (result) => parentPort!.postMessage({ seq: msg.seq, result }),
    (e: Error) => {
      const kind = e instanceof LayerPathError ? 'path' : e instanceof TarFormatError ? 'format' : e instanceof UnpackError ? 'unpack' : 'io';
      parentPort!.postMessage({ seq: msg.seq, error: { kind, message: e.message, code: (e as NodeJS.ErrnoException).code } });
    },
  );
});
