// Rootless mode end to end: `berth daemon` started by an unprivileged user this test creates
// (explicit subordinate ids, its own HOME and XDG_RUNTIME_DIR), driven through the docker CLI
// as that user and the Docker API: rootless.md §11. Everything the user ran is killed by pid
// and the user deleted at the end, even when a test fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request, get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { buildTar } from '../../electron/engine/images/tarWriter.ts';
import { busyboxTarball, REPO } from '../helpers/testEngine.ts';
import { startRegistry, uploadImage, type TestRegistry } from '../helpers/registry.ts';
import { createRootlessUser, rootlessSkip, startRootlessDaemon, type RootlessDaemon, type RootlessUser } from '../helpers/rootlessUser.ts';
import { until } from '../helpers/run.ts';

const skip = rootlessSkip();

function api(sock: string, method: string, path: string, body?: object): Promise<{ status: number; json: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = request({ socketPath: sock, method, path, agent: false, headers: data ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('latin1').on('data', (c: string) => (text += c)).on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function listen(host: string, reply: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((c) => c.end(reply)).listen(0, host, () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function hostAddress(): string | undefined {
  const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' });
  return /inet (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
}

describe('rootless mode', { skip }, () => {
  let u: RootlessUser;
  let daemon: RootlessDaemon;
  let reg: TestRegistry;
  let image: string;
  let dataRoot: string;

  before(async () => {
    u = await createRootlessUser();
    reg = await startRegistry();
    // busybox, then a layer with a uid-33 file, then one with a whiteout, an opaque dir and an
    // overlay attribute an unprivileged image author could set (which must not take effect).
    const owned = buildTar([
      { name: 'var/', type: 'dir', mode: 0o755 }, { name: 'var/www/', type: 'dir', mode: 0o755, uid: 33, gid: 33 },
      { name: 'var/www/index.html', type: 'file', mode: 0o600, uid: 33, gid: 33, data: Buffer.from('owned by www-data\n') },
      { name: 'gone.txt', type: 'file', mode: 0o644, data: Buffer.from('deleted above\n') },
      { name: 'opt/', type: 'dir', mode: 0o755 }, { name: 'opt/dir/', type: 'dir', mode: 0o755 },
      { name: 'opt/dir/old', type: 'file', mode: 0o644, data: Buffer.from('old\n') },
      { name: 'shadow/', type: 'dir', mode: 0o755 }, { name: 'shadow/keep', type: 'file', mode: 0o644, data: Buffer.from('kept\n') },
    ]);
    const top = buildTar([
      { name: '.wh.gone.txt', type: 'file', mode: 0o644 },
      { name: 'opt/', type: 'dir', mode: 0o755 }, { name: 'opt/dir/', type: 'dir', mode: 0o755 },
      { name: 'opt/dir/.wh..wh..opq', type: 'file', mode: 0o644 },
      { name: 'opt/dir/new', type: 'file', mode: 0o644, data: Buffer.from('new\n') },
      { name: 'shadow/', type: 'dir', mode: 0o755, xattrs: { 'user.overlay.opaque': 'y' } },
    ]);
    await uploadImage(reg, 'rl/busybox', 'latest', [readFileSync(busyboxTarball()), owned, top], { cmd: ['sh'] });
    image = `${reg.host}/rl/busybox:latest`;
    daemon = await startRootlessDaemon(u);
    dataRoot = `${u.home}/.local/share/berth`;
    const pull = await u.docker(['pull', '-q', image]);
    assert.equal(pull.code, 0, pull.err);
  });

  after(async () => {
    try {
      await daemon?.shutdown();
    } finally {
      await reg?.stop();
      // No host mount may reference the user's files, ever (rootless mounts live in its namespace).
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => u && l.includes(u.base));
      await u?.dispose();
      assert.deepEqual(mounts, []);
    }
  });

  it('probe reports each prerequisite; info says rootless and why there are no limits', async () => {
    const probe = JSON.parse((await u.run(['node', `${u.app}/bin/berth.mjs`, 'probe', '--json'])).out) as { rootless: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    assert.equal(probe.rootless, true);
    const check = (n: string) => probe.checks.find((c) => c.name === n)!;
    assert.equal(check('subordinate uids').ok, true);
    assert.match(check('subordinate uids').detail, new RegExp(`^${u.sub}-${u.sub + 65535}$`));
    assert.equal(check('newuidmap').ok, true);
    assert.equal(check('/dev/net/tun').ok, true);
    assert.ok(check('cgroups'), 'cgroup mode reported');
    assert.match(check('ports below 1024').detail, /ip_unprivileged_port_start = \d+/);
    const info = JSON.parse((await u.docker(['info', '--format', '{{json .}}'])).out) as { SecurityOptions: string[]; CgroupDriver: string; Warnings: string[]; DockerRootDir: string };
    assert.ok(info.SecurityOptions.some((o) => o.includes('rootless')));
    assert.equal(info.DockerRootDir, dataRoot);
    if (info.CgroupDriver === 'none') assert.ok(info.Warnings.some((w) => /Running in rootless-mode without cgroups/.test(w)), info.Warnings.join('\n'));
    // The docker context "berth" points at this engine.
    const ctx = await u.docker(['--context', 'berth', 'version', '--format', '{{.Server.Version}}']);
    assert.equal(ctx.code, 0, ctx.err);
    const ls = await u.docker(['context', 'ls', '--format', '{{.Name}} {{.DockerEndpoint}}']);
    assert.match(ls.out, /^berth unix:\/\/\S+\/docker\.sock$/m, ls.out);
    const hello = await u.docker(['--context', 'berth', 'run', '--rm', 'hello-world']);
    assert.equal(hello.code, 0, hello.err);
    assert.match(hello.out, /Hello from/);
  });

  it('runs containers as root of the namespace: output, exit codes, host uid', async () => {
    const r = await u.docker(['run', '--rm', image, 'sh', '-c', 'echo hi; id -u; cat /proc/self/uid_map']);
    assert.equal(r.code, 0, r.err);
    const [hi, id, ...map] = r.out.trim().split('\n');
    assert.equal(hi, 'hi');
    assert.equal(id, '0');
    assert.match(map.join('\n'), new RegExp(`^\\s*0\\s+${u.uid}\\s+1$`, 'm'));
    assert.match(map.join('\n'), new RegExp(`^\\s*1\\s+${u.sub}\\s+65536$`, 'm'));
    assert.equal((await u.docker(['run', '--rm', image, 'sh', '-c', 'exit 3'])).code, 3);
    const d = await u.docker(['run', '-d', '--name', 'sleeper', image, 'sleep', '300']);
    assert.equal(d.code, 0, d.err);
    const pid = Number((await u.docker(['inspect', '-f', '{{.State.Pid}}', 'sleeper'])).out.trim());
    // Container root is the user on the host.
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${u.uid}\\s`, 'm'));
  });

  it('unpacks layers with mapped owners, whiteouts and opaque dirs, and ignores image overlay attributes', async () => {
    const r = await u.docker(['run', '--rm', image, 'sh', '-c', 'ls -n /var/www/index.html; ls /opt/dir; ls /shadow; test -e /gone.txt && echo present || echo absent']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^-rw-------\s+1\s+33\s+33\s/);
    assert.deepEqual(lines.slice(1), ['new', 'keep', 'absent']);
    // On the host, the file belongs to the subordinate id of uid 33.
    const layers = `${dataRoot}/layers`;
    const owners = readdirSync(layers).map((l) => `${layers}/${l}/var/www/index.html`).filter((f) => existsSync(f)).map((f) => statSync(f).uid);
    assert.deepEqual(owners, [u.sub + 32]);
  });

  it('exec, logs, cp, export and diff work inside the namespace, and no overlay shows on the host', async () => {
    assert.equal((await u.docker(['exec', 'sleeper', 'sh', '-c', 'echo changed > /etc/motd; mkdir -p /work'])).code, 0);
    const ex = await u.docker(['exec', '-u', '33', 'sleeper', 'id', '-u']);
    assert.equal(ex.out.trim(), '33');
    const cpIn = await u.run(['sh', '-c', `echo from-host > ${u.home}/f.txt && docker cp ${u.home}/f.txt sleeper:/work/f.txt && docker exec sleeper cat /work/f.txt`]);
    assert.equal(cpIn.out.trim(), 'from-host', cpIn.err);
    const cpOut = await u.run(['sh', '-c', 'docker cp sleeper:/var/www/index.html - | tar -tv']);
    assert.match(cpOut.out, /33\/33/, cpOut.err);
    const exp = await u.run(['sh', '-c', 'docker export sleeper | tar -tvf - var/www/index.html']);
    assert.match(exp.out, /33\/33/, exp.err);
    const diff = await u.docker(['diff', 'sleeper']);
    assert.match(diff.out, /^C \/etc$/m);
    assert.match(diff.out, /^A \/work\/f\.txt$/m);
    const logs = await u.run(['sh', '-c', `docker run --name talker ${image} sh -c 'echo out; echo err >&2' && docker logs talker`]);
    assert.match(logs.out, /out/);
    assert.match(logs.err, /err/);
    await u.docker(['rm', 'talker']);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(dataRoot), 'a rootless overlay is visible in the host mount namespace');
  });

  it('gives a container a terminal that follows resizes', async () => {
    const c = await api(u.sock, 'POST', '/containers/create', { Image: image, Tty: true, OpenStdin: true, Cmd: ['sh', '-c', 'while :; do stty size; sleep 0.1; done'] });
    assert.equal(c.status, 201, c.text);
    const id = (c.json as { Id: string }).Id;
    assert.equal((await api(u.sock, 'POST', `/containers/${id}/start`)).status, 204);
    assert.equal((await api(u.sock, 'POST', `/containers/${id}/resize?h=41&w=101`)).status, 200);
    await until(async () => (await u.docker(['logs', id])).out.includes('41 101'), 10_000, 'the new size inside');
    // The container's terminal is a pty of its own devpts instance.
    const tty = await u.docker(['exec', id, 'sh', '-c', 'tty < /proc/1/fd/0']);
    assert.match(tty.out, /^\/dev\/pts\/\d+/, tty.out + tty.err);
    await u.docker(['rm', '-f', id]);
  });

  it('publishes TCP and UDP ports through the proxy, and refuses ports below the unprivileged start', async () => {
    const port = await freePort();
    const r = await u.docker(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:8080`, image, 'sh', '-c',
      'mkdir /srv && head -c 134217728 /dev/zero > /srv/big && echo ok > /srv/i && httpd -f -p 8080 -h /srv']);
    assert.equal(r.code, 0, r.err);
    let body = '';
    await until(async () => {
      body = await new Promise<string>((resolve) => get(`http://127.0.0.1:${port}/i`, (res) => {
        let t = '';
        res.on('data', (d) => (t += d)).on('end', () => resolve(t));
      }).on('error', () => resolve('')));
      return body === 'ok\n';
    }, 15_000, 'the published port');
    const t0 = process.hrtime.bigint();
    const bytes = await new Promise<number>((resolve, reject) => get(`http://127.0.0.1:${port}/big`, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length)).on('end', () => resolve(n)).on('error', reject);
    }).on('error', reject));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.equal(bytes, 134217728);
    assert.ok(bytes / secs / 2 ** 20 > 50, `published TCP at ${(bytes / secs / 2 ** 20).toFixed(0)} MiB/s`);
    const low = await u.docker(['run', '--rm', '-p', '80:80', image, 'true']);
    assert.notEqual(low.code, 0);
    assert.match(low.err, /cannot expose privileged port 80, you can add 'net\.ipv4\.ip_unprivileged_port_start=80' to \/etc\/sysctl\.conf \(currently \d+\)/);
    // UDP: a datagram through the published port reaches the container's listener, and its answer comes back.
    execFileSync('cc', ['-static', '-O2', '-o', `${u.base}/udpecho`, `${REPO}/test/fixtures/udpecho.c`]);
    const uport = await freePort();
    const ud = await u.docker(['run', '-d', '--name', 'udp', '-v', `${u.base}/udpecho:/udpecho:ro`, '-p', `127.0.0.1:${uport}:9999/udp`, image, '/udpecho', '9999']);
    assert.equal(ud.code, 0, ud.err);
    const sock = createSocket('udp4');
    let answer = '';
    sock.on('message', (m) => (answer = m.toString()));
    try {
      await until(() => {
        sock.send('datagram-in', uport, '127.0.0.1');
        return answer === 'echo:datagram-in';
      }, 10_000, 'the echo of a datagram');
    } finally {
      sock.close();
    }
    await u.docker(['rm', '-f', 'web', 'udp']);
  });

  it('user networks resolve names; host and none modes; no way to the host loopback', async () => {
    assert.equal((await u.docker(['network', 'create', 'rlnet'])).code, 0);
    assert.equal((await u.docker(['run', '-d', '--name', 'peer1', '--network', 'rlnet', image, 'sleep', '300'])).code, 0);
    const ping = await u.docker(['run', '--rm', '--network', 'rlnet', image, 'ping', '-c', '1', '-W', '2', 'peer1']);
    assert.equal(ping.code, 0, ping.out + ping.err);
    const mtu = await u.docker(['run', '--rm', '--network', 'rlnet', image, 'cat', '/sys/class/net/eth0/mtu']);
    assert.equal(mtu.out.trim(), '65520');
    const host = await u.docker(['run', '--rm', '--network', 'host', image, 'ls', '/sys/class/net']);
    assert.equal(host.code, 0, host.err);
    assert.deepEqual(host.out.trim().split('\n').sort(), readdirSync('/sys/class/net').sort());
    const none = await u.docker(['run', '--rm', '--network', 'none', image, 'ls', '/sys/class/net']);
    assert.equal(none.out.trim(), 'lo');
    // Services bound only on the host's loopback stay out of reach; others are reachable.
    const lo = await listen('127.0.0.1', 'loopback-only\n');
    const addr = hostAddress();
    const pub = addr ? await listen('0.0.0.0', 'public\n') : undefined;
    try {
      const reach = await u.docker(['run', '--rm', image, 'sh', '-c',
        `nc -w 3 10.0.2.2 ${lo.port} </dev/null; echo lo=$?; ${pub ? `nc -w 3 ${addr} ${pub.port} </dev/null; echo pub=$?` : ''}`]);
      assert.doesNotMatch(reach.out, /loopback-only/);
      assert.match(reach.out, /lo=1/);
      if (pub) {
        const info = await u.docker(['info', '--format', '{{json .Warnings}}']);
        assert.match(reach.out, /public/, `${reach.out}${reach.err}engine warnings: ${info.out}`);
      }
    } finally {
      lo.server.close();
      pub?.server.close();
    }
    await u.docker(['rm', '-f', 'peer1']);
    await u.docker(['network', 'rm', 'rlnet']);
  });

  it('without cgroups: limits dropped with warnings, --cpus and pause refused', async (t) => {
    const info = JSON.parse((await u.docker(['info', '--format', '{{json .}}'])).out) as { CgroupDriver: string };
    if (info.CgroupDriver !== 'none') return t.skip('this host delegates cgroups to the user');
    const m = await u.docker(['run', '--rm', '-m', '64m', image, 'true']);
    assert.equal(m.code, 0, m.err);
    assert.match(m.err, /WARNING: Your kernel does not support memory limit capabilities or the cgroup is not mounted\. Limitation discarded\./);
    const cpus = await u.docker(['run', '--rm', '--cpus', '1', image, 'true']);
    assert.notEqual(cpus.code, 0);
    assert.match(cpus.err, /NanoCPUs can not be set/);
    const p = await u.docker(['pause', 'sleeper']);
    assert.notEqual(p.code, 0);
    assert.match(p.err, /cannot pause container .*: rootless mode has no cgroups/);
    const stats = await u.docker(['stats', '--no-stream', '--format', '{{.MemUsage}} {{.PIDs}}', 'sleeper']);
    assert.equal(stats.code, 0, stats.err);
    assert.match(stats.out, /[1-9]/);
  });

  it('volumes, push and compose work as in root mode', async () => {
    assert.equal((await u.docker(['volume', 'create', 'rlvol'])).code, 0);
    const w = await u.docker(['run', '--rm', '-v', 'rlvol:/data', image, 'sh', '-c', 'echo kept > /data/f && chown 33:33 /data/f']);
    assert.equal(w.code, 0, w.err);
    const rd = await u.docker(['run', '--rm', '-u', '33', '-v', 'rlvol:/data', image, 'sh', '-c', 'ls -n /data/f; cat /data/f']);
    assert.match(rd.out, /^-\S+\s+1\s+33\s+33\s.*\nkept$/m, rd.err);
    const pushed = `${reg.host}/rl/pushed:1`;
    assert.equal((await u.docker(['tag', image, pushed])).code, 0);
    const push = await u.docker(['push', pushed]);
    assert.equal(push.code, 0, push.err);
    assert.equal((await u.docker(['rmi', pushed])).code, 0);
    assert.equal((await u.docker(['pull', '-q', pushed])).code, 0);
    await u.docker(['rmi', pushed]);
    if (existsSync('/usr/bin/docker-compose')) {
      const dir = `${u.home}/proj`;
      const compose = `version: "3"\nservices:\n  web:\n    image: ${image}\n    command: sleep 300\n  client:\n    image: ${image}\n    command: sh -c "ping -c 1 -W 2 web && sleep 300"\n`;
      const up = await u.run(['sh', '-c', `mkdir -p ${dir} && cd ${dir} && printf '%s' '${compose}' > docker-compose.yml && docker-compose -p rlc up -d`]);
      assert.equal(up.code, 0, up.err);
      await until(async () => /1 packets received/.test((await u.docker(['logs', 'rlc_client_1'])).out), 15_000, 'the client to reach web by name');
      const down = await u.run(['sh', '-c', `cd ${dir} && docker-compose -p rlc down`]);
      assert.equal(down.code, 0, down.err);
    }
    await u.docker(['volume', 'rm', 'rlvol']);
  });

  it('keeps the isolation of root mode: seccomp, capabilities, read-only /proc/sys, masked paths', async () => {
    const r = await u.docker(['run', '--rm', image, 'sh', '-c',
      'grep -E "^(Seccomp|CapEff):" /proc/self/status; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo sys-writable || echo sys-ro; ls -l /proc/keys | cut -c1; ls /proc/acpi 2>/dev/null | wc -l']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Seccomp:\s+2$/m);
    assert.match(r.out, /^CapEff:\s+00000000a80425fb$/m);
    assert.match(r.out, /^sys-ro$/m);
    assert.match(r.out, /^c$/m, '/proc/keys is bound to /dev/null');
    assert.match(r.out, /^0$/m, '/proc/acpi is masked');
  });

  it('refuses a second engine for the same user', async () => {
    const second = await u.run(['node', `${u.app}/bin/berth.mjs`, 'daemon'], { timeout: 30_000 });
    assert.equal(second.code, 1);
    assert.match(second.err, /a Berth engine is already running for this user \(pid \d+/);
  });

  it('a killed engine rejoins its namespace and adopts the running containers', async () => {
    const pause = readFileSync(`${u.runtimeDir}/berth/pause.pid`, 'utf8');
    const inner = Number(execFileSync('pgrep', ['-P', String(daemon.proc.pid), '-x', 'node'], { encoding: 'utf8' }).trim().split('\n')[0])
      || Number(execFileSync('pgrep', ['-P', String(daemon.proc.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    const setprivExit = new Promise((r) => daemon.proc.once('exit', r));
    process.kill(inner, 'SIGKILL');
    await setprivExit;
    daemon = await startRootlessDaemon(u);
    assert.equal(readFileSync(`${u.runtimeDir}/berth/pause.pid`, 'utf8'), pause, 'the same pause process');
    const pauses = execFileSync('ps', ['-u', String(u.uid), '-o', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => / rootless-init /.test(l));
    assert.equal(pauses.length, 1, pauses.join('\n'));
    assert.equal((await u.docker(['inspect', '-f', '{{.State.Running}}', 'sleeper'])).out.trim(), 'true');
    assert.equal((await u.docker(['exec', 'sleeper', 'echo', 'still-here'])).out.trim(), 'still-here');
    assert.equal((await u.docker(['stop', '-t', '1', 'sleeper'])).code, 0);
  });

  it('system reset removes the store, subordinate-owned files included, and the namespace', async () => {
    await u.docker(['rm', '-f', 'sleeper']);
    await u.docker(['run', '-d', '--name', 'left-running', image, 'sleep', '300']);
    await daemon.stop();
    const refused = await u.run(['node', `${u.app}/bin/berth.mjs`, 'system', 'reset']);
    assert.equal(refused.code, 2);
    assert.ok(existsSync(dataRoot));
    const r = await u.run(['node', `${u.app}/bin/berth.mjs`, 'system', 'reset', '--force']);
    assert.equal(r.code, 0, r.err);
    assert.ok(!existsSync(dataRoot), 'the store is gone');
    await until(() => u.pids().length === 0, 10_000, 'no process of the user left');
  });
});

/** The cgroup2 mount, when the host has one this test can delegate from. */
function cgroup2(): string | undefined {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];
}

describe('rootless mode in a delegated cgroup v2 subtree', { skip: skip || (!cgroup2() && 'no cgroup2 hierarchy') }, () => {
  it('places containers in it, pauses with cgroup.freeze, stops, and counts their processes', async () => {
    const u = await createRootlessUser();
    const cg = `${cgroup2()}/berth-rl-deleg-${u.name}`;
    let daemon: RootlessDaemon | undefined;
    try {
      // What systemd does for a user service (Delegate=yes), done by hand: the directory and its
      // process files belong to the user.
      execFileSync('mkdir', [cg]);
      execFileSync('chown', [`${u.uid}:${u.gid}`, cg, `${cg}/cgroup.procs`, `${cg}/cgroup.subtree_control`, `${cg}/cgroup.threads`]);
      const reg = await startRegistry();
      try {
        await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
        daemon = await startRootlessDaemon(u, [], undefined, cg);
        const img = `${reg.host}/busybox`;
        const info = JSON.parse((await u.docker(['info', '--format', '{{json .}}'])).out) as { CgroupDriver: string; CgroupVersion: string };
        assert.deepEqual([info.CgroupDriver, info.CgroupVersion], ['cgroupfs', '2']);
        const run = await u.docker(['run', '-d', '--name', 'deleg', img, 'sh', '-c', 'sleep 300 & sleep 300 & wait']);
        assert.equal(run.code, 0, run.err);
        const id = run.out.trim();
        const pid = Number((await u.docker(['inspect', '-f', '{{.State.Pid}}', 'deleg'])).out.trim());
        const rel = cg.slice(cgroup2()!.length);
        assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`^0::${rel}/containers/${id}$`, 'm'));
        assert.ok(readFileSync(`${cg}/engine/cgroup.procs`, 'utf8').trim().length > 0, 'the engine sits in its own leaf');
        assert.equal((await u.docker(['pause', 'deleg'])).code, 0);
        assert.match(readFileSync(`${cg}/containers/${id}/cgroup.events`, 'utf8'), /^frozen 1$/m);
        assert.equal((await u.docker(['unpause', 'deleg'])).code, 0);
        assert.match(readFileSync(`${cg}/containers/${id}/cgroup.events`, 'utf8'), /^frozen 0$/m);
        const stats = await u.docker(['stats', '--no-stream', '--format', '{{.PIDs}}', 'deleg']);
        assert.equal(stats.out.trim(), '3', stats.err);
        assert.equal((await u.docker(['rm', '-f', 'deleg'])).code, 0);
        await until(() => !existsSync(`${cg}/containers/${id}`), 10_000, 'the container\'s cgroup to go');
        await daemon.stop();
      } finally {
        await reg.stop();
      }
    } finally {
      await daemon?.stop();
      await u.dispose();
      // Leaves first; the user's processes are gone, so every directory is empty.
      if (existsSync(cg)) execFileSync('find', [cg, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    }
    assert.ok(!existsSync(cg));
  });
});

describe('rootless mode without subordinate ids', { skip }, () => {
  it('says which prerequisite is missing and how to fix it, and leaves nothing behind', async () => {
    const u = await createRootlessUser({ subordinate: false });
    try {
      const r = await u.run(['node', `${u.app}/bin/berth.mjs`, 'daemon'], { timeout: 30_000 });
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`rootless mode needs subordinate uids: no line for ${u.name} in /etc/subuid\\. Fix: sudo usermod --add-subuids`));
      assert.ok(!existsSync(`${u.home}/.local/share/berth`), 'no store');
      assert.ok(!existsSync(`${u.runtimeDir}/berth`), 'no run directory');
      assert.deepEqual(u.pids(), []);
    } finally {
      await u.dispose();
    }
  });
});

