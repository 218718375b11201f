// What a container sees from inside: namespaces, mounts, capabilities, seccomp, identity.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { REPO, startTestEngine, type TestEngine } from '../helpers/testEngine.ts';
import { sh } from '../helpers/run.ts';

describe('isolation by default', { timeout: 180_000 }, () => {
  let t: TestEngine;
  before(async () => (t = await startTestEngine()));
  after(() => t.dispose());

  it('runs the built-in hello-world image offline', async () => {
    const { id, exitCode } = await t.engine.run({ Image: 'hello-world' });
    let out = '';
    for await (const l of t.engine.logs(id, {})) out += l.text;
    assert.equal(exitCode, 0);
    assert.match(out, /Hello from Berth!/);
    assert.match(out, /as pid 1 on host "[0-9a-f]{12}"/);
  });

  it('is pid 1 with the short id as hostname, in its own namespaces', async () => {
    const { out, record } = await sh(t.engine, 'echo pid=$$; hostname; ls /sys/class/net; readlink /proc/1/ns/mnt /proc/1/ns/net /proc/1/ns/cgroup');
    assert.match(out, /^pid=1$/m);
    assert.match(out, new RegExp(`^${record.Id.slice(0, 12)}$`, 'm'));
    // Its own network namespace: the default bridge's eth0 and lo, none of the host's interfaces.
    assert.deepEqual(out.split('\n').filter((l) => /^(lo|eth\d)$/.test(l)), ['eth0', 'lo']);
    const hostNet = (await import('node:fs')).readlinkSync('/proc/self/ns/net');
    assert.ok(!out.includes(hostNet), 'network namespace differs from the host');
    const own = (await import('node:fs')).readlinkSync('/proc/self/ns/mnt');
    assert.ok(!out.includes(own), 'mount namespace differs from the host');
  });

  it("has Docker's default capabilities and seccomp, without no_new_privs", async () => {
    const { out } = await sh(t.engine, 'grep -E "^(CapEff|CapBnd|CapInh|Seccomp|NoNewPrivs):" /proc/self/status');
    assert.match(out, /CapEff:\s+00000000a80425fb/);
    assert.match(out, /CapBnd:\s+00000000a80425fb/);
    assert.match(out, /CapInh:\s+0000000000000000/);
    assert.match(out, /Seccomp:\s+2/);
    assert.match(out, /NoNewPrivs:\s+0/);
  });

  it('seccomp refuses io_uring as Docker 25+ does (EPERM), and lets ordinary calls through', async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-t-sys-`);
    try {
      execFileSync('cc', ['-static', '-O2', '-o', `${dir}/syscalls`, `${REPO}/test/fixtures/syscalls.c`]);
      const host = execFileSync(`${dir}/syscalls`, { encoding: 'utf8' });
      assert.doesNotMatch(host, /io_uring_setup=(1|38)\n/, 'the host has io_uring, so the container\'s refusal is the filter\'s');
      const { out } = await sh(t.engine, '/probe/syscalls', { HostConfig: { Binds: [`${dir}:/probe:ro`] } });
      assert.equal(out, 'io_uring_setup=1\nio_uring_enter=1\nio_uring_register=1\ngetpid=0\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a container cannot reach the host\'s helper binary through /proc/self/exe (CVE-2019-5736)', async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-t-exe-`);
    try {
      // An entrypoint whose interpreter is /proc/self/exe runs the helper itself as the container's pid 1.
      writeFileSync(`${dir}/evil`, '#!/proc/self/exe spawner\n', { mode: 0o755 });
      const c = await t.engine.create({ Image: 'busybox', Cmd: ['/evil'], OpenStdin: true, HostConfig: { Binds: [`${dir}/evil:/evil:ro`] } });
      await t.engine.start(c.Id);
      const inside = await new Promise<string>((resolve) => {
        const p = t.engine.exec(c.Id, { Cmd: ['readlink', '/proc/1/exe'] });
        let out = '';
        p.stdout!.on('data', (d) => (out += d));
        p.on('close', () => resolve(out.trim()));
      });
      assert.equal(inside, '/memfd:berth-helper (deleted)', 'pid 1 runs a sealed copy, not the host file');
      const shim = Number(readFileSync(`/proc/${t.engine.inspect(c.Id).State.Pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      assert.equal(readlinkSync(`/proc/${shim}/exe`), '/memfd:berth-helper (deleted)', 'so does the shim');
      await t.engine.containers.remove(c.Id, { force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('seccomp refuses namespace creation, the capabilities refuse mounts', async () => {
    const { out } = await sh(t.engine, 'unshare -n true; echo unshare=$?; mount -t tmpfs x /mnt; echo mount=$?');
    assert.match(out, /unshare=1/);
    assert.match(out, /mount=\d+/);
    assert.doesNotMatch(out, /mount=0/);
  });

  it('masks and read-only paths as Docker does, /sys read-only', async () => {
    const { out } = await sh(t.engine, [
      'ls -l /proc/keys | cut -c1', 'ls /proc/acpi | wc -l', 'echo 1 > /proc/sys/kernel/domainname; echo sysctl=$?',
      'touch /sys/x; echo sys=$?', 'grep -c " /proc/sys " /proc/self/mountinfo', 'ls -l /dev/null | cut -c1-10',
      'ls /dev', 'readlink /dev/ptmx', 'readlink /dev/fd'].join('; '));
    const lines = out.split('\n');
    assert.equal(lines[0], 'c', '/proc/keys is bound to /dev/null');
    assert.equal(lines[1], '0', '/proc/acpi is an empty tmpfs');
    assert.match(out, /sysctl=1/);
    assert.match(out, /sys=1/);
    assert.match(out, /crw-rw-rw-/);
    for (const dev of ['full', 'mqueue', 'null', 'pts', 'random', 'shm', 'tty', 'urandom', 'zero']) assert.match(out, new RegExp(`^${dev}$`, 'm'));
    assert.match(out, /^pts\/ptmx$/m);
    assert.match(out, /^\/proc\/self\/fd$/m);
  });

  it('sees its own cgroup as the root of every hierarchy', async () => {
    const { out } = await sh(t.engine, 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max', { HostConfig: { Memory: 64 * 1024 * 1024 } });
    for (const line of out.split('\n').filter((l) => /^\d+:/.test(l))) assert.match(line, /:\/$/, line);
    assert.match(out, /^67108864$/m);
  });

  it('applies --cap-add, --cap-drop, --privileged and no-new-privileges', async () => {
    const drop = await sh(t.engine, 'grep CapEff /proc/self/status', { HostConfig: { CapDrop: ['CHOWN', 'NET_RAW'] } });
    assert.match(drop.out, /CapEff:\s+00000000a80425fa/.test(drop.out) ? /a80425fa/ : /a80405fa/);
    const add = await sh(t.engine, 'grep CapEff /proc/self/status', { HostConfig: { CapAdd: ['NET_ADMIN'] } });
    assert.match(add.out, /CapEff:\s+00000000a80435fb/);
    const priv = await sh(t.engine, 'grep -E "CapEff|Seccomp:" /proc/self/status; mkdir /m && mount -t tmpfs t /m && echo mounted', { HostConfig: { Privileged: true } });
    assert.match(priv.out, /Seccomp:\s+0/);
    assert.match(priv.out, /mounted/);
    const nnp = await sh(t.engine, 'grep NoNewPrivs /proc/self/status', { HostConfig: { SecurityOpt: ['no-new-privileges'] } });
    assert.match(nnp.out, /NoNewPrivs:\s+1/);
  });

  it('resolves users and groups from the image, drops caps for non-root users', async () => {
    const { out } = await sh(t.engine, 'id; grep CapEff /proc/self/status; echo $HOME; pwd', { User: 'alice', WorkingDir: '/tmp/work' });
    assert.match(out, /uid=1000\(alice\) gid=1000\(alice\) groups=10\(wheel\)/);
    assert.match(out, /CapEff:\s+0000000000000000/);
    assert.match(out, /^\/home\/alice$/m);
    assert.match(out, /^\/tmp\/work$/m);
    const num = await sh(t.engine, 'id -u; id -g', { User: '4242:4343' });
    assert.match(num.out, /^4242\n4343$/m);
  });

  it('passes env, entrypoint and command the Docker way', async () => {
    const { out } = await sh(t.engine, '', { Entrypoint: ['sh', '-c', 'echo "$0 $1 $FOO"'], Cmd: ['a', 'b'], Env: ['FOO=bar'] });
    assert.match(out, /^a b bar$/m);
  });

  it('honours a read-only rootfs, bind mounts and tmpfs mounts', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/berth-bind-');
    writeFileSync(`${dir}/in.txt`, 'from host');
    try {
      const { out } = await sh(t.engine, 'touch /x; echo root=$?; cat /data/in.txt; echo; echo out > /data/out.txt; touch /ro/y; echo ro=$?; touch /scratch/z && echo tmpfs-ok; grep " /scratch " /proc/self/mountinfo', {
        HostConfig: {
          ReadonlyRootfs: true, Binds: [`${dir}:/data`, `${dir}:/ro:ro`],
          Tmpfs: { '/scratch': 'size=1m' },
        },
      });
      assert.match(out, /root=1/);
      assert.match(out, /from host/);
      assert.match(out, /ro=1/);
      assert.match(out, /tmpfs-ok/);
      assert.match(out, /tmpfs .*size=1024k/);
      assert.equal(readFileSync(`${dir}/out.txt`, 'utf8'), 'out\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('clamps rlimits to what the host allows', async () => {
    const { out } = await sh(t.engine, 'ulimit -n; ulimit -Hn', { HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 10_000_000 }] } });
    const [soft, hard] = out.trim().split('\n').map(Number);
    assert.equal(soft, 1024);
    assert.ok(hard <= 10_000_000 && hard >= 1024, `hard ${hard}`);
  });

  it('remaps users with a private user namespace, on a range it registers', async () => {
    const { out } = await sh(t.engine, 'cat /proc/self/uid_map; id -u', { HostConfig: { UsernsMode: 'private' } });
    // The range is registered as berth-remap (not useradd's first automatic 100000:65536).
    const line = readFileSync(`${t.root}/../subuid`, 'utf8').split('\n').find((l) => l.startsWith('berth-remap:'))!;
    const start = Number(line.split(':')[1]);
    assert.ok(start >= 600100000, `range ${line}`);
    assert.match(readFileSync(`${t.root}/../subgid`, 'utf8'), new RegExp(`^berth-remap:${start}:65536$`, 'm'));
    assert.match(out, new RegExp(`^\\s*0\\s+${start}\\s+65536$`, 'm'));
    assert.match(out, /^0$/m);
  });
});
