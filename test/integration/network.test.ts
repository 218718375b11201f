// Networks and volumes through the real docker CLI: name resolution on a user network, published
// ports reached from the host on 127.0.0.1, named volumes that outlive containers, the other
// network modes, bad input, and create/connect/remove cycles that leave nothing on the host.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { until } from '../helpers/run.ts';

const DOCKER = '/usr/local/bin/docker';
const COMPOSE = '/usr/bin/docker-compose';

const COMPOSE_APP = `version: "3"
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo served-from-volume > /srv/index.html && exec httpd -f -p 80 -h /srv"]
    volumes:
      - site:/srv
    stop_grace_period: 1s
  client:
    image: busybox:latest
    command: ["sh", "-c", "for i in $$(seq 40); do wget -q -O- http://web/ && break; sleep 0.25; done; exec sleep 300"]
    depends_on:
      - web
    stop_grace_period: 1s
volumes:
  site: {}
`;

function hostLinks(): string[] {
  return readdirSync('/sys/class/net');
}

function iptablesRules(): string {
  try {
    return execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' }) + execFileSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

async function get(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return `${r.status} ${await r.text()}`;
}

describe('networks and volumes through the docker CLI', { timeout: 600_000, skip: !existsSync(DOCKER) && 'the docker CLI is not installed' }, () => {
  let d: TestDaemon;
  let linksBefore: string[];
  const ok = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
    return r.out.trim();
  };
  const fails = async (args: string[], re: RegExp) => {
    const r = await d.docker(args);
    assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
    assert.match(r.err, re, `docker ${args.join(' ')}`);
  };

  /** docker-compose (v1) for project `project` in `dir`, against this daemon; a failure fails the test. */
  const composeIn = (dir: string, project: string) => (args: string[]) => {
    const r = spawnSync(COMPOSE, ['-p', project, ...args], { cwd: dir, env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` }, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    linksBefore = hostLinks();
    d = await startDaemon();
    execFileSync(DOCKER, ['import', '--change', 'CMD ["sh"]', busyboxTarball(), 'busybox:latest'], { env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` } });
  });
  after(async () => {
    await d?.stop();
  });

  it('two containers on a user network reach each other by name and alias', async () => {
    await ok(['network', 'create', '--label', 'purpose=test', 'appnet']);
    const inspect = JSON.parse(await ok(['network', 'inspect', 'appnet']))[0];
    assert.equal(inspect.Driver, 'bridge');
    assert.equal(inspect.Labels.purpose, 'test');
    assert.match(inspect.IPAM.Config[0].Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    await ok(['run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'www', 'busybox', 'sh', '-c',
      'mkdir /srv && echo served-by-web > /srv/index.html && exec httpd -f -p 80 -h /srv']);
    const byName = await ok(['run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-q', '-O-', 'http://web/']);
    assert.equal(byName, 'served-by-web');
    const byAlias = await ok(['run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-q', '-O-', 'http://www/']);
    assert.equal(byAlias, 'served-by-web');
    const ip = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "appnet").IPAddress}}', 'web']);
    assert.ok(ip.startsWith(inspect.IPAM.Config[0].Subnet.split('.').slice(0, 2).join('.')), ip);
    const members = JSON.parse(await ok(['network', 'inspect', 'appnet']))[0].Containers;
    assert.deepEqual(Object.values(members).map((m) => (m as { Name: string }).Name), ['web']);
    // An unknown name is an error inside the container, not a hang.
    const miss = await d.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-q', '-O-', 'http://nosuchhost.invalid/']);
    assert.notEqual(miss.code, 0);
    await fails(['network', 'rm', 'appnet'], /has active endpoints/);
    await ok(['rm', '-f', 'web']);
    await ok(['network', 'rm', 'appnet']);
  });

  it('a published port is reachable from the host on 127.0.0.1 and shown in ps and port', async () => {
    await ok(['run', '-d', '--name', 'pub', '-p', '127.0.0.1::8080', '-p', '127.0.0.1::7000', '-p', '127.0.0.1:0:9090/udp', 'busybox', 'sh', '-c',
      'mkdir /srv && echo published > /srv/index.html && { nc -l -p 7000 > /tmp/upload & } && exec httpd -f -p 8080 -h /srv']);
    const port = await ok(['port', 'pub', '8080/tcp']);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(port);
    assert.ok(m, port);
    assert.equal(await get(`http://127.0.0.1:${m[1]}/`), '200 published\n');
    const ps = await ok(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']);
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${m[1]}->8080/tcp`));
    // Bytes arrive intact both ways, and a half-close reaches the container.
    await ok(['exec', 'pub', 'sh', '-c', 'head -c 6000000 /dev/urandom > /srv/big']);
    const big = Buffer.from(await (await fetch(`http://127.0.0.1:${m[1]}/big`)).arrayBuffer());
    assert.equal(createHash('md5').update(big).digest('hex'), (await ok(['exec', 'pub', 'md5sum', '/srv/big'])).split(' ')[0]);
    const upload = randomBytes(3_000_000);
    const up = connect(Number((await ok(['port', 'pub', '7000/tcp'])).split(':')[1]), '127.0.0.1');
    up.end(upload);
    await new Promise((r) => up.on('close', r).resume());
    assert.equal((await ok(['exec', 'pub', 'md5sum', '/tmp/upload'])).split(' ')[0], createHash('md5').update(upload).digest('hex'));
    // The TCP proxy outlives an engine restart: the port keeps serving while the daemon is away.
    await d.restart(async () => assert.equal(await get(`http://127.0.0.1:${m[1]}/`), '200 published\n'));
    assert.equal(await get(`http://127.0.0.1:${m[1]}/`), '200 published\n');
    await ok(['rm', '-f', 'pub']);
    await assert.rejects(get(`http://127.0.0.1:${m[1]}/`), 'the port is closed with the container');
  });

  it('a port in use is a clear error and nothing half-configured remains', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const links = hostLinks().filter((l) => l.startsWith('veth'));
      await fails(['run', '--rm', '-p', `127.0.0.1:${taken}:80`, 'busybox', 'true'], new RegExp(`127\\.0\\.0\\.1:${taken}/tcp: address already in use`));
      await fails(['run', '-d', '--name', 'clash', '-p', `127.0.0.1:${taken}:80`, 'busybox', 'sleep', '30'], /address already in use/);
      const state = await ok(['inspect', '-f', '{{.State.Running}} {{.NetworkSettings.IPAddress}}', 'clash']);
      assert.equal(state, 'false');
      await ok(['rm', 'clash']);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(hostLinks().filter((l) => l.startsWith('veth')), links, 'no veth left by the failed starts');
    } finally {
      blocker.close();
    }
    await fails(['run', '--rm', '-p', '80:99999', 'busybox', 'true'], /invalid (port|containerPort)/i);
  });

  it('data in a named volume survives removing and recreating the container', async () => {
    await ok(['volume', 'create', '--label', 'k=v', 'data1']);
    await ok(['run', '--rm', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo kept > /data/file']);
    assert.equal(await ok(['run', '--rm', '-v', 'data1:/data:ro', 'busybox', 'cat', '/data/file']), 'kept');
    const ro = await d.docker(['run', '--rm', '-v', 'data1:/data:ro', 'busybox', 'sh', '-c', 'echo x > /data/other']);
    assert.notEqual(ro.code, 0, 'a read-only volume refuses writes');
    const v = JSON.parse(await ok(['volume', 'inspect', 'data1']))[0];
    assert.equal(v.Labels.k, 'v');
    assert.equal(readFileSync(`${v.Mountpoint}/file`, 'utf8'), 'kept\n');
    // In use: refused; --volumes-from shares it.
    await ok(['create', '--name', 'holder', '-v', 'data1:/data', 'busybox', 'true']);
    await fails(['volume', 'rm', 'data1'], /volume is in use/);
    assert.equal(await ok(['run', '--rm', '--volumes-from', 'holder', 'busybox', 'cat', '/data/file']), 'kept');
    const mounts = JSON.parse(await ok(['inspect', '-f', '{{json .Mounts}}', 'holder']));
    assert.deepEqual(mounts.map((m: { Type: string; Name: string; Destination: string }) => [m.Type, m.Name, m.Destination]), [['volume', 'data1', '/data']]);
    // docker cp reaches into the volume: on the stopped holder, and on a running container.
    const dir = mkdtempSync(`${tmpdir()}/berth-t-cp-`);
    try {
      writeFileSync(`${dir}/put.txt`, 'copied-in');
      await ok(['cp', `${dir}/put.txt`, 'holder:/data/put.txt']);
      assert.equal(readFileSync(`${v.Mountpoint}/put.txt`, 'utf8'), 'copied-in', 'cp into a stopped container lands in the volume');
      await ok(['run', '-d', '--name', 'reader', '-v', 'data1:/data', 'busybox', 'sleep', '300']);
      await ok(['cp', 'reader:/data/file', `${dir}/out.txt`]);
      assert.equal(readFileSync(`${dir}/out.txt`, 'utf8'), 'kept\n', 'cp out of a running container reads the volume');
      await ok(['cp', `${dir}/put.txt`, 'reader:/data/put2.txt']);
      assert.equal(readFileSync(`${v.Mountpoint}/put2.txt`, 'utf8'), 'copied-in');
      await ok(['rm', '-f', 'reader']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await ok(['rm', 'holder']);
    await ok(['volume', 'rm', 'data1']);
    await fails(['volume', 'create', 'bad/name'], /includes invalid characters for a local volume name/);
    await fails(['volume', 'inspect', 'data1'], /no such volume/i);
  });

  it('an empty volume is filled from the image on first mount; anonymous volumes go with --rm', async () => {
    await ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'true']);
    const v = JSON.parse(await ok(['volume', 'inspect', 'etcvol']))[0];
    assert.ok(existsSync(`${v.Mountpoint}/passwd`), 'the image /etc was copied into the new volume');
    await ok(['volume', 'rm', 'etcvol']);
    const before = (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean);
    await ok(['run', '--rm', '--mount', 'type=volume,target=/scratch', 'busybox', 'sh', '-c', 'echo x > /scratch/y']);
    assert.deepEqual((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean), before, 'the anonymous volume was removed');
    const tmp = await ok(['run', '--rm', '--tmpfs', '/t:size=1m', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts']);
    assert.match(tmp, /tmpfs \/t tmpfs .*size=1024k/);
    const dir = mkdtempSync(`${tmpdir()}/berth-t-bind-`);
    try {
      writeFileSync(`${dir}/in.txt`, 'from-host');
      assert.equal(await ok(['run', '--rm', '-v', `${dir}:/h:ro`, 'busybox', 'cat', '/h/in.txt']), 'from-host');
      await fails(['run', '--rm', '--mount', `type=bind,source=${dir}/missing,target=/m`, 'busybox', 'true'], /bind source path does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the default bridge takes its subnet from --bip', async () => {
    const other = await startDaemon({ args: ['--bip', '10.213.7.1/24'] });
    try {
      execFileSync(DOCKER, ['import', '--change', 'CMD ["sh"]', busyboxTarball(), 'busybox:latest'], { env: { ...process.env, DOCKER_HOST: `unix://${other.sock}` } });
      const r = await other.docker(['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route show default']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /inet 10\.213\.7\.\d+\/24/);
      assert.match(r.out, /default via 10\.213\.7\.1 /);
      const net = JSON.parse((await other.docker(['network', 'inspect', 'bridge'])).out)[0];
      assert.deepEqual([net.IPAM.Config[0].Subnet, net.IPAM.Config[0].Gateway], ['10.213.7.0/24', '10.213.7.1']);
    } finally {
      await other.stop();
    }
  });

  it('a default bridge whose subnet was taken meanwhile moves to a free one before its first address', async () => {
    const other = await startDaemon();
    const squatter = `berth-tq${process.pid % 100000}`;
    try {
      const env = { ...process.env, DOCKER_HOST: `unix://${other.sock}` };
      execFileSync(DOCKER, ['import', '--change', 'CMD ["sh"]', busyboxTarball(), 'busybox:latest'], { env });
      const planned = JSON.parse((await other.docker(['network', 'inspect', 'bridge'])).out)[0].IPAM.Config[0];
      // Someone else brings up a device on that subnet before the engine's first container.
      execFileSync('ip', ['link', 'add', squatter, 'type', 'bridge']);
      execFileSync('ip', ['addr', 'add', `${planned.Gateway}/${planned.Subnet.split('/')[1]}`, 'dev', squatter]);
      execFileSync('ip', ['link', 'set', squatter, 'up']);
      const r = await other.docker(['run', '--rm', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
      assert.equal(r.code, 0, r.err);
      const moved = JSON.parse((await other.docker(['network', 'inspect', 'bridge'])).out)[0].IPAM.Config[0];
      assert.notEqual(moved.Subnet, planned.Subnet);
      assert.match(r.out, new RegExp(`inet ${moved.Subnet.split('.').slice(0, 2).join('\\.')}\\.`));
    } finally {
      spawnSync('ip', ['link', 'del', squatter]);
      await other.stop();
    }
  });

  it('host, none and container: network modes, links and extra hosts', async () => {
    const none = await ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net | tr "\\n" " "']);
    assert.equal(none.trim(), 'lo');
    const hostIfs = await ok(['run', '--rm', '--network', 'host', 'busybox', 'ls', '/sys/class/net']);
    assert.ok(hostIfs.split('\n').includes('eth0') || hostIfs.split('\n').length > 1, hostIfs);
    await ok(['run', '-d', '--name', 'srv', 'busybox', 'sh', '-c', 'echo shared > /tmp/i && exec httpd -f -p 8081 -h /tmp']);
    // Sharing srv's namespace: its server is on our localhost.
    assert.equal(await ok(['run', '--rm', '--network', 'container:srv', 'busybox', 'wget', '-q', '-O-', 'http://127.0.0.1:8081/i']), 'shared');
    const linked = await ok(['run', '--rm', '--link', 'srv:backend', '--add-host', 'db.local:10.1.2.3', 'busybox', 'sh', '-c',
      'wget -q -O- http://backend:8081/i; grep -c db.local /etc/hosts; echo $BACKEND_NAME']);
    const [body, hostsLines, linkName] = linked.split('\n');
    assert.equal(body, 'shared');
    assert.equal(hostsLines, '1');
    assert.match(linkName, /^\/[^/]+\/backend$/);
    await ok(['rm', '-f', 'srv']);
    await fails(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], /network nosuchnet not found/);
  });

  it('connect and disconnect a running container; bad network input is refused', async () => {
    await ok(['network', 'create', '--subnet', '10.213.0.0/24', '--gateway', '10.213.0.1', 'n1']);
    await fails(['network', 'create', '--subnet', '10.213.0.128/25', 'n2'], /overlaps/);
    await fails(['network', 'create', 'n1'], /already exists/);
    await fails(['network', 'rm', 'bridge'], /pre-defined network and cannot be removed/);
    await ok(['run', '-d', '--name', 'c1', 'busybox', 'sleep', '300']);
    await ok(['network', 'connect', '--ip', '10.213.0.50', 'n1', 'c1']);
    const addrs = await ok(['exec', 'c1', 'ip', '-o', '-4', 'addr']);
    assert.match(addrs, /10\.213\.0\.50\/24/);
    await fails(['network', 'connect', 'n1', 'c1'], /already exists in network n1/);
    await ok(['network', 'disconnect', 'n1', 'c1']);
    assert.doesNotMatch(await ok(['exec', 'c1', 'ip', '-o', '-4', 'addr']), /10\.213\.0\.50/);
    await ok(['rm', '-f', 'c1']);
    await ok(['network', 'rm', 'n1']);
  });

  it('a dual-stack network: containers reach each other over IPv6 by name; --ip6, AAAA records, bad pools refused', async () => {
    await ok(['network', 'create', '--ipv6', '--subnet', 'fd00:b7::/64', 'dual']);
    const net = JSON.parse(await ok(['network', 'inspect', 'dual']))[0];
    assert.equal(net.EnableIPv6, true);
    assert.deepEqual(net.IPAM.Config.map((c: { Subnet: string }) => c.Subnet).filter((x: string) => x.includes(':')), ['fd00:b7::/64']);
    await ok(['run', '-d', '--name', 'v6a', '--network', 'dual', 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', 'v6b', '--network', 'dual', '--ip6', 'fd00:b7::99', 'busybox', 'sh', '-c',
      'mkdir /srv && echo over-v6 > /srv/index.html && exec httpd -f -p 80 -h /srv']);
    assert.match(await ok(['exec', 'v6a', 'ip', '-6', 'addr', 'show', 'eth0']), /inet6 fd00:b7::2\/64 scope global/);
    assert.match(await ok(['exec', 'v6a', 'ip', '-6', 'route']), /default via fd00:b7::1 dev eth0/);
    assert.match(await ok(['exec', 'v6a', 'nslookup', '-type=AAAA', 'v6b']), /Address: fd00:b7::99/);
    // busybox wget crashes on an IPv6 literal: HTTP by hand over a v6 TCP connection.
    await until(async () => /over-v6/.test((await d.docker(['exec', 'v6a', 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 fd00:b7::99 80'])).out), 10_000, 'HTTP over IPv6');
    assert.match(await ok(['exec', 'v6a', 'ping', '-6', '-c', '1', '-W', '5', 'v6b']), /1 packets received/, 'by name over IPv6');
    const ep = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Networks.dual}}', 'v6b']));
    assert.deepEqual([ep.GlobalIPv6Address, ep.GlobalIPv6PrefixLen, ep.IPv6Gateway], ['fd00:b7::99', 64, 'fd00:b7::1']);
    await fails(['run', '--rm', '--network', 'dual', '--ip6', 'fd00:b7::99', 'busybox', 'true'], /address fd00:b7::99 is already in use on network dual/);
    await fails(['network', 'create', '--ipv6', '--subnet', 'fd00:b7::/80', 'clash6'], /Pool overlaps with other one on this address space \(network dual has fd00:b7::\/64\)/);
    await fails(['network', 'create', '--subnet', 'fd00:b8::/64', 'noflag'], /needs IPv6 enabled on the network: add --ipv6/);
    await fails(['run', '--rm', '--ip6', 'fd00::5', 'busybox', 'true'], /IPv6 address is supported only on networks with IPv6 enabled/);
    await ok(['rm', '-f', 'v6a', 'v6b']);
    await ok(['network', 'rm', 'dual']);
    assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), /clash6|noflag/, 'nothing half-created');
  });

  it('an internal network has no route out; connect with alias, MAC and link-local address; forced disconnect; rm --link', async () => {
    await ok(['network', 'create', '--internal', 'inner']);
    await ok(['run', '-d', '--name', 'in1', '--network', 'inner', 'busybox', 'sleep', '300']);
    assert.doesNotMatch(await ok(['exec', 'in1', 'ip', 'route']), /default/);
    const out = await d.docker(['exec', 'in1', 'ip', 'route', 'get', '192.0.2.1']);
    assert.match(out.err, /Network is unreachable/, 'no packet can leave');
    await ok(['network', 'create', 'side']);
    await ok(['network', 'connect', '--alias', 'sidekick', '--link-local-ip', '169.254.7.7', 'side', 'in1']);
    assert.match(await ok(['exec', 'in1', 'ip', '-4', 'addr', 'show', 'eth1']), /inet 169\.254\.7\.7\/16/);
    assert.equal(await ok(['run', '--rm', '--network', 'side', 'busybox', 'sh', '-c', 'nslookup sidekick >/dev/null && echo resolved']), 'resolved');
    await fails(['network', 'connect', '--link-local-ip', '10.1.1.1', 'side', 'in1'], /invalid link-local IP address: 10\.1\.1\.1/);
    await ok(['network', 'disconnect', '-f', 'side', 'in1']);
    await ok(['network', 'disconnect', '-f', 'side', 'in1']); // forced: not connected is not an error
    await fails(['network', 'disconnect', 'side', 'in1'], /is not connected to network side/);
    await ok(['run', '-d', '--name', 'mac1', '--mac-address', '02:42:0a:00:00:42', 'busybox', 'sleep', '300']);
    assert.equal(await ok(['exec', 'mac1', 'cat', '/sys/class/net/eth0/address']), '02:42:0a:00:00:42');
    await ok(['run', '-d', '--name', 'linker', '--link', 'mac1:db', 'busybox', 'sleep', '300']);
    await ok(['rm', '--link', 'linker/db']);
    assert.equal(await ok(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker']), 'null');
    assert.equal(await ok(['inspect', '-f', '{{.State.Running}}', 'mac1']), 'true', 'rm --link removes no container');
    await fails(['rm', '--link', 'linker/db'], /No such link: \/linker\/db/);
    await fails(['network', 'create', '-d', 'host', 'h2'], /only one instance of "host" network is allowed/);
    await fails(['network', 'create', 'inner'], /network with name inner already exists/);
    await ok(['rm', '-f', 'in1', 'mac1', 'linker']);
    await ok(['network', 'rm', 'inner', 'side']);
  });

  it('docker-compose (v1) brings up, lists, logs and tears down a web + client app', { skip: !existsSync(COMPOSE) && 'docker-compose is not installed' }, async () => {
    const dir = `${d.base}/compose`;
    mkdirSync(dir);
    writeFileSync(`${dir}/docker-compose.yml`, COMPOSE_APP);
    const compose = composeIn(dir, 'demo');
    try {
      compose(['up', '-d']);
      let logs = '';
      for (let i = 0; i < 50 && !logs.includes('served-from-volume'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        logs = compose(['logs', '--no-color', 'client']);
      }
      assert.match(logs, /served-from-volume/, 'the client fetched the file by service name');
      const ps = compose(['ps']);
      assert.match(ps, /demo_web_1 .* Up/);
      assert.match(ps, /demo_client_1 .* Up/);
      assert.equal(ps.split('\n').filter((l) => /^demo_/.test(l)).length, 2);
      assert.match(await ok(['volume', 'ls', '-q']), /^demo_site$/m);
    } finally {
      compose(['down', '-v']);
    }
    assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), /demo_default/);
    assert.doesNotMatch(await ok(['volume', 'ls', '-q']), /demo_site/);
    assert.equal(await ok(['ps', '-aq']), '');
  });

  it('docker-compose (v1) depends_on service_healthy: web starts only once the database passes its check', { skip: !existsSync(COMPOSE) && 'docker-compose is not installed' }, async () => {
    const dir = `${d.base}/compose-health`;
    mkdirSync(dir);
    // The "database" becomes ready after a second; its check looks for the ready file.
    writeFileSync(`${dir}/docker-compose.yml`, `version: "2.4"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 20
    stop_grace_period: 1s
  web:
    image: busybox:latest
    command: ["sleep", "300"]
    depends_on:
      db:
        condition: service_healthy
    stop_grace_period: 1s
`);
    const compose = composeIn(dir, 'hdemo');
    try {
      compose(['up', '-d']);
      const db = JSON.parse(await ok(['inspect', 'hdemo_db_1']))[0];
      const web = JSON.parse(await ok(['inspect', 'hdemo_web_1']))[0];
      assert.equal(db.State.Health.Status, 'healthy');
      const firstPass = db.State.Health.Log.find((l: { ExitCode: number }) => l.ExitCode === 0);
      assert.ok(Date.parse(web.State.StartedAt) >= Date.parse(firstPass.End), `web started ${web.State.StartedAt}, before db passed ${firstPass.End}`);
      assert.ok(db.State.Health.Log.some((l: { ExitCode: number }) => l.ExitCode === 1), 'the check failed before the database was ready');
    } finally {
      compose(['down']);
    }
  });

  it('100 create/connect/remove cycles leave no veth, bridge, rule or address behind', async () => {
    const rulesBefore = iptablesRules();
    await ok(['network', 'create', 'cyc']);
    const net = JSON.parse(await ok(['network', 'inspect', 'cyc']))[0];
    for (let i = 0; i < 100; i++) {
      const id = await ok(['create', '--network', 'cyc', 'busybox', 'sleep', '60']);
      await ok(['start', id]);
      if (i % 10 === 0) await ok(['network', 'connect', 'bridge', id]);
      await ok(['rm', '-f', id]);
    }
    const rec = JSON.parse(readFileSync(`${d.base}/root/networks/${net.Id}.json`, 'utf8'));
    assert.deepEqual(rec.used, {}, 'every address was freed');
    await ok(['network', 'rm', 'cyc']);
    await new Promise((r) => setTimeout(r, 500));
    const extra = hostLinks().filter((l) => !linksBefore.includes(l) && !l.startsWith('berth-'));
    assert.deepEqual(extra, [], 'no veth left');
    assert.equal(iptablesRules().split('\n').filter((l) => l.includes(net.Id.slice(0, 12))).length, 0, 'no rule of the removed network');
    assert.ok(iptablesRules().length <= rulesBefore.length + 400);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${d.base}/root/overlay`));
    assert.deepEqual(mounts, [], 'no container mount left');
  });
});

