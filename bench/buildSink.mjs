// The classic build protocol's floor, for bench/build.ts: a Docker API that takes a build's
// context whole and answers with an image ID at once, building nothing. Usage: node buildSink.mjs SOCKET
import http from 'node:http';

http.createServer((req, res) => {
  if (req.url.endsWith('/_ping')) return res.writeHead(200, { 'API-Version': '1.41', 'Content-Type': 'text/plain' }).end('OK');
  if (!/\/build(\?|$)/.test(req.url)) return res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not a build"}');
  req.on('data', () => undefined);
  req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(`${JSON.stringify({ aux: { ID: `sha256:${'0'.repeat(64)}` } })}\r\n`));
}).listen(process.argv[2]);
