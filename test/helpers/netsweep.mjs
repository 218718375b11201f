// Removes the host side of an engine root's networks: bridge devices, veths left on them, and
// the iptables rules tagged with the networks' ids. Used after tests and by the leftover sweep.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const quiet = { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' };

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, quiet);
  } catch {
    return undefined;
  }
}

export function sweepNetworks(root) {
  const dir = `${root}/networks`;
  if (!existsSync(dir)) return 0;
  let n = 0;
  const tags = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    let rec;
    try {
      rec = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
    } catch {
      continue;
    }
    tags.push(`berth:${rec.Id.slice(0, 12)}`);
    if (rec.device && existsSync(`/sys/class/net/${rec.device}`)) {
      for (const port of existsSync(`/sys/class/net/${rec.device}/brif`) ? readdirSync(`/sys/class/net/${rec.device}/brif`) : []) tryRun('ip', ['link', 'del', port]);
      tryRun('ip', ['link', 'del', rec.device]);
      n++;
    }
  }
  if (existsSync('/usr/sbin/iptables') || existsSync('/sbin/iptables')) {
    for (const [table, chain, parent] of [['filter', 'BERTH-FORWARD', 'FORWARD'], ['nat', 'BERTH-POSTROUTING', 'POSTROUTING']]) {
      const rules = tryRun('iptables', ['-w', '-t', table, '-S', chain]);
      if (rules === undefined) continue;
      for (const line of rules.split('\n')) {
        if (!line.startsWith('-A ') || !tags.some((t) => line.includes(`--comment ${t} `) || line.includes(`--comment "${t}"`))) continue;
        tryRun('iptables', ['-w', '-t', table, ...line.replace(/^-A /, '-D ').match(/"[^"]*"|\S+/g).map((w) => w.replace(/^"|"$/g, ''))]);
      }
      const left = tryRun('iptables', ['-w', '-t', table, '-S', chain]) ?? '';
      if (!left.split('\n').some((l) => l.startsWith('-A '))) {
        tryRun('iptables', ['-w', '-t', table, '-D', parent, '-j', chain]);
        tryRun('iptables', ['-w', '-t', table, '-X', chain]);
      }
    }
  }
  return n;
}
