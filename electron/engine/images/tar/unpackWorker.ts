// Worker entry: runs unpack jobs posted by the pool, one at a time. A job that follows a file
// still being downloaded gets the file's growth as further messages with the same seq.
import { parentPort } from 'node:worker_threads';
import { LayerPathError } from './layerWriter.ts';
import { TarFormatError } from './tarParser.ts';
import { FollowAborted, FollowReader, unpackFile, UnpackError, type FollowMessage, type UnpackJob } from './unpackFile.ts';

const following = new Map<number, FollowReader>();

parentPort!.on('message', (msg: { seq: number; job?: UnpackJob; follow?: FollowMessage }) => {
  if (msg.follow) {
    following.get(msg.seq)?.feed(msg.follow);
    return;
  }
  const job = msg.job!;
  const reader = job.followFd === undefined ? undefined : new FollowReader(job.followFd);
  if (reader) following.set(msg.seq, reader);
  unpackFile(job, reader).then(
    (result) => parentPort!.postMessage({ seq: msg.seq, result }),
    (e: Error) => {
      const kind = e instanceof FollowAborted ? 'aborted' : e instanceof LayerPathError ? 'path' : e instanceof TarFormatError ? 'format' : e instanceof UnpackError ? 'unpack' : 'io';
      parentPort!.postMessage({ seq: msg.seq, error: { kind, message: e.message, code: (e as NodeJS.ErrnoException).code } });
    },
  ).finally(() => following.delete(msg.seq));
});
