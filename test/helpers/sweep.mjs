// Removes what interrupted test runs left behind: containers and shims under test roots
// (/tmp/berth-t-*), their mounts and their berth-test-* cgroups, and test machines' VMs. Processes are ended by the
// PIDs recorded in the test roots, never by name.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { sweepNetworks } from './netsweep.mjs';

const roots = readdirSync('/tmp').filter((d) => d.startsWith('berth-t-')).map((d) => `/tmp/${d}`);
let swept = 0;
for (const base of roots) {
  // A test registry: its process is recorded by pid.
  try {
    const pid = Number(readFileSync(`${base}/registry.pid`, 'utf8'));
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('docker-registry')) process.kill(pid, 'SIGKILL');
  } catch {
    /* none, or gone */
  }
  // Test machines: their supervisor and VM, by the PIDs in status.json (checked against their command lines).
  const machines = `${base}/machines`;
  for (const name of existsSync(machines) ? readdirSync(machines) : []) {
    try {
      const st = JSON.parse(readFileSync(`${machines}/${name}/status.json`, 'utf8'));
      for (const [pid, marker] of [[st.pid, 'machine'], [st.vmPid, 'qemu-system']]) {
        if (pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) process.kill(pid, 'SIGKILL');
      }
    } catch {
      /* never started, or gone */
    }
  }
  const cdir = `${base}/root/containers`;
  for (const id of existsSync(cdir) ? readdirSync(cdir) : []) {
    try {
      const rec = JSON.parse(readFileSync(`${cdir}/${id}/config.json`, 'utf8'));
      const pid = rec.runtime?.pid;
      if (!pid) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) !== rec.runtime.starttime) continue;
      const shim = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      process.kill(pid, 'SIGKILL');
      if (readFileSync(`/proc/${shim}/cmdline`, 'utf8').includes('berth-helper')) process.kill(shim, 'SIGKILL');
      swept++;
    } catch {
      /* gone already */
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(`${base}/`));
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      /* gone */
    }
  }
  sweepNetworks(`${base}/root`);
  const tag = base.slice(-6);
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    const dir = `/sys/fs/cgroup/${ctrl}`;
    let entries;
    try {
      entries = readdirSync(dir).filter((d) => d.startsWith('berth-test-') && d.endsWith(tag));
    } catch {
      continue;
    }
    for (const parent of entries) {
      for (let i = 0; i < 50; i++) {
        try {
          for (const child of readdirSync(`${dir}/${parent}`, { withFileTypes: true }).filter((d) => d.isDirectory())) rmdirSync(`${dir}/${parent}/${child.name}`);
          rmdirSync(`${dir}/${parent}`);
          break;
        } catch {
          execFileSync('sleep', ['0.05']);
        }
      }
    }
  }
  rmSync(base, { recursive: true, force: true });
}
if (roots.length) console.log(`swept ${roots.length} leftover test roots (${swept} containers)`);
