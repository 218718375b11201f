// The classic build protocol's floor, for bench/build.ts: a Docker API that takes a build's
// context whole and answers with an image ID at once, building nothing.
// Usage: node buildSink.mjs SOCKET [DIR] — with DIR the context is also written to a file
// there (4 MiB at a time) and removed after: the floor of a builder that keeps its context.
import fs from 'node:fs';
import http from 'node:http';

const keep = process.argv[3];
let n = 0;
http.createServer((req, res) => {
  if (req.url.endsWith('/_ping')) return res.writeHead(200, { 'API-Version': '1.41', 'Content-Type': 'text/plain' }).end('OK');
  if (!/\/build(\?|$)/.test(req.url)) return res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not a build"}');
  const file = keep && `${keep}/context-${n++}.tar`;
  const fd = file && fs.openSync(file, 'w', 0o600);
  let batch = [];
  let size = 0;
  const flush = () => {
    if (fd && size) fs.writevSync(fd, batch);
    batch = [];
    size = 0;
  };
  req.on('data', (chunk) => {
    if (!fd) return;
    batch.push(chunk);
    size += chunk.length;
    if (size >= 4 << 20) flush();
  });
  req.on('end', () => {
    if (fd) {
      flush();
      fs.closeSync(fd);
      fs.rmSync(file);
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(`${JSON.stringify({ aux: { ID: `sha256:${'0'.repeat(64)}` } })}\r\n`);
  });
}).listen(process.argv[2]);
