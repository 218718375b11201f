// Newline-delimited text arriving in chunks (the app's contract socket, a machine's agent
// channel): whole lines, blank ones skipped, however the chunks fall.

/** A chunk feeder that calls fn with each complete, non-blank line. */
export function lineReader(fn: (line: string) => void): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) fn(line);
    }
  };
}
