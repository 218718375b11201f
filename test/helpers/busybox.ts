// A busybox rootfs tarball built offline from Debian's busybox-static.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '/bin/busybox';

/** Returns the path of a tar of / with busybox, its applet links, /etc/passwd and /etc/group. */
export function buildBusyboxTar(dir: string): string {
  const root = mkdtempSync(`${tmpdir()}/bb-rootfs-`);
  try {
    for (const d of ['bin', 'etc', 'tmp', 'root', 'home', 'var', 'proc', 'sys', 'dev']) mkdirSync(`${root}/${d}`);
    chmodSync(`${root}/tmp`, 0o1777);
    copyFileSync(BUSYBOX, `${root}/bin/busybox`);
    chmodSync(`${root}/bin/busybox`, 0o755);
    const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', `${root}/bin/${a}`);
    writeFileSync(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\nalice:x:1000:1000:alice:/home/alice:/bin/sh\n');
    writeFileSync(`${root}/etc/group`, 'root:x:0:\ndaemon:x:1:\nwheel:x:10:root,alice\nnogroup:x:65534:\nalice:x:1000:\n');
    const tar = `${dir}/busybox-rootfs.tar`;
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tar, '.']);
    return tar;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
