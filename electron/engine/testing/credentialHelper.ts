// A docker-credential-<name> program for tests: keeps one JSON file per server in `vault` and
// logs each request (action and input) to `log`, speaking the helper protocol (get, store,
// erase, list; "credentials not found" with exit 1 for an unknown server).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';

export function writeCredentialHelper(binDir: string, name: string, vault: string, log: string): string {
  mkdirSync(vault, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  const path = `${binDir}/docker-credential-${name}`;
  writeFileSync(path, `#!${process.execPath}
const fs = require('node:fs');
const dir = ${JSON.stringify(vault)};
const file = (s) => dir + '/' + Buffer.from(s).toString('hex') + '.json';
const input = fs.readFileSync(0, 'utf8').trim();
const action = process.argv[2];
fs.appendFileSync(${JSON.stringify(log)}, action + ' ' + input + '\\n');
if (action === 'store') { const v = JSON.parse(input); fs.writeFileSync(file(v.ServerURL), input); }
else if (action === 'get') {
  if (!fs.existsSync(file(input))) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(fs.readFileSync(file(input)));
} else if (action === 'erase') fs.rmSync(file(input), { force: true });
else if (action === 'list') {
  const out = {};
  for (const f of fs.readdirSync(dir)) { const v = JSON.parse(fs.readFileSync(dir + '/' + f, 'utf8')); out[v.ServerURL] = v.Username; }
  process.stdout.write(JSON.stringify(out));
}
`);
  chmodSync(path, 0o755);
  return path;
}
