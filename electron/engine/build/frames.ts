// A step's attach stream as Docker multiplexes it: frames of an 8-byte header (the stream,
// 1 stdout or 2 stderr, and the length) and the bytes, read whole however they arrive.

/** Calls `onFrame` per frame; resolves when the stream ends, closes or fails. */
export function readFrames(stream: NodeJS.ReadableStream, onFrame: (fd: number, text: string) => void): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  return new Promise((resolve) => {
    stream.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        onFrame(pending[0], pending.toString('utf8', 8, 8 + size));
        pending = pending.subarray(8 + size);
      }
    });
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}
