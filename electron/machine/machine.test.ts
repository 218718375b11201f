// The machine layer's pure parts: the agent protocol, qemu's command line and accelerator
// choice, sizes and names, and the port-forward manager over real loopback sockets.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { boundPorts, header, lineReader, parseGuestMessage, parseHeader, splice } from './agentProtocol.ts';
import { contextName, parseSize, validName } from './machine.ts';
import { PortForwards } from './portForwards.ts';
import { kvmCandidate, qemuArgs, type QemuPlan } from './qemu/qemuArgs.ts';

const TOKEN = 'a'.repeat(48);

describe('the guest agent protocol', () => {
  it('accepts a header only with the token and a known verb', () => {
    assert.equal(header(TOKEN, { verb: 'tcp', port: 8080 }), `${TOKEN} tcp 8080\n`);
    assert.deepEqual(parseHeader(header(TOKEN, { verb: 'api' }), TOKEN), { verb: 'api' });
    assert.deepEqual(parseHeader(`${TOKEN} tcp 443`, TOKEN), { verb: 'tcp', port: 443 });
    assert.deepEqual(parseHeader(`${TOKEN} control`, TOKEN), { verb: 'control' });
    for (const bad of [`${'b'.repeat(48)} api`, `${TOKEN}x api`, `${TOKEN} sh`, `${TOKEN} tcp 0`, `${TOKEN} tcp 65536`, `${TOKEN} tcp 80 x`, `${TOKEN} api extra`, '', ' api']) {
      assert.equal(parseHeader(bad, TOKEN), undefined, bad);
    }
    assert.equal(parseHeader(' api', ''), undefined, 'an empty token opens nothing');
    assert.deepEqual(parseHeader(header(TOKEN, { verb: 'shell', command: 'cat /etc/os-release | head -1' }), TOKEN), { verb: 'shell', command: 'cat /etc/os-release | head -1' });
    assert.deepEqual(parseHeader(`${TOKEN} shell`, TOKEN), { verb: 'shell' });
    assert.equal(parseHeader(`${TOKEN} shell not/base64`, TOKEN), undefined);
  });

  it('reads the guest\'s messages and drops malformed ones', () => {
    assert.deepEqual(parseGuestMessage('{"type":"ports","bound":[{"proto":"tcp","hostIp":"0.0.0.0","hostPort":80,"container":"web"}]}'),
      { type: 'ports', bound: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, container: 'web' }] });
    assert.equal(parseGuestMessage('{"type":"ports","bound":[{"proto":"sctp","hostPort":80}]}'), undefined);
    assert.equal(parseGuestMessage('{"type":"ports","bound":[{"proto":"tcp","hostPort":70000}]}'), undefined);
    assert.equal(parseGuestMessage('{"type":"ready"}'), undefined);
    assert.equal(parseGuestMessage('not json'), undefined);
    assert.deepEqual(parseGuestMessage('{"type":"error","reason":"the data disk is damaged"}'), { type: 'error', reason: 'the data disk is damaged' });
    const lines: string[] = [];
    const feed = lineReader((l) => lines.push(l));
    feed('{"a":1}\n{"b"');
    feed(':2}\n\n');
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  });

  it('lists published ports from the Docker API\'s container list, once per address', () => {
    const bound = boundPorts([
      { Id: 'c1', Names: ['/web'], Ports: [{ IP: '0.0.0.0', PublicPort: 8080, Type: 'tcp' }, { IP: '::', PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' } as never] },
      { Id: 'c2abcdef012345', Ports: [{ IP: '127.0.0.1', PublicPort: 53, Type: 'udp' }, { IP: '0.0.0.0', PublicPort: 8080, Type: 'tcp' }] },
    ]);
    assert.deepEqual(bound, [
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, container: 'c2abcdef0123' },
      { proto: 'tcp', hostIp: '::', hostPort: 8080, container: 'web' },
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, container: 'c2abcdef0123' },
    ]);
  });
});

const plan: QemuPlan = {
  arch: 'x86_64', accel: 'tcg', cpus: 2, memoryMiB: 2048, kernel: '/img/vmlinuz', initrd: '/img/initrd.img', rootImage: '/img/root.img',
  dataDisk: '/m/data.img', agentHostPort: 40000, agentGuestPort: 7390, configFile: '/m/guest.json', tokenFile: '/m/token',
  consoleLog: '/m/console.log', pidFile: '/m/qemu.pid', qmpSocket: '/m/qmp.sock', shareSockets: [],
};
const after = (args: string[], flag: string): string[] => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));

describe('qemu\'s command line', () => {
  it('boots the kernel with a read-only root image, a discardable data disk and the agent port on 127.0.0.1 only', () => {
    const a = qemuArgs(plan);
    assert.deepEqual(after(a, '-accel'), ['tcg,thread=multi,tb-size=256']);
    assert.deepEqual(after(a, '-M'), ['q35,vmport=off']);
    assert.deepEqual(after(a, '-cpu'), ['max']);
    assert.deepEqual(after(a, '-drive'), ['file=/img/root.img,format=raw,if=virtio,readonly=on', 'file=/m/data.img,format=raw,if=virtio,discard=unmap,cache=writeback']);
    assert.deepEqual(after(a, '-netdev'), ['user,id=n0,hostfwd=tcp:127.0.0.1:40000-:7390']);
    assert.deepEqual(after(a, '-fw_cfg'), ['name=opt/berth/config,file=/m/guest.json', 'name=opt/berth/token,file=/m/token']);
    assert.match(after(a, '-append')[0]!, /^console=ttyS0 panic=-1 /);
    assert.ok(!a.join(' ').includes('aaaa'), 'no secret on the command line');
    assert.ok(!a.includes('vhost-user-fs-pci'));
  });

  it('shares folders through virtiofsd with the memory shared, and uses the arm64 machine and console', () => {
    const a = qemuArgs({ ...plan, arch: 'arm64', accel: 'hvf', shareSockets: ['/m/fs0.sock', '/m/fs1.sock'] });
    assert.deepEqual(after(a, '-M'), ['virt']);
    assert.deepEqual(after(a, '-cpu'), ['host']);
    assert.deepEqual(after(a, '-accel'), ['hvf']);
    assert.match(after(a, '-append')[0]!, /^console=ttyAMA0 /);
    assert.deepEqual(after(a, '-object'), ['memory-backend-memfd,id=mem,size=2048M,share=on']);
    assert.deepEqual(after(a, '-device').filter((d) => d.startsWith('vhost-user-fs')), ['vhost-user-fs-pci,chardev=fs0,tag=share0', 'vhost-user-fs-pci,chardev=fs1,tag=share1']);
  });

  it('takes KVM only with hardware virtualization in the CPU flags, not for /dev/kvm alone', () => {
    assert.equal(kvmCandidate('flags\t\t: fpu vme hypervisor lahf_lm\n', true), false, 'a nested PVM host: /dev/kvm without vmx/svm');
    assert.equal(kvmCandidate('flags\t\t: fpu vmx ept\n', true), true);
    assert.equal(kvmCandidate('flags\t\t: fpu svm npt\n', false), false);
  });
});

describe('machine settings', () => {
  it('reads sizes and names', () => {
    assert.equal(parseSize('2G', 'M'), 2048);
    assert.equal(parseSize('1536M', 'G'), 1536);
    assert.equal(parseSize('1536', 'M'), 1536);
    assert.equal(parseSize('60', 'G'), 60 * 1024);
    assert.equal(parseSize('1.5GiB', 'M'), 1536);
    assert.equal(parseSize('lots', 'M'), undefined);
    assert.ok(validName('default') && validName('dev-2.x'));
    assert.equal(contextName('default', 'linux'), 'berth-vm', 'beside the native engine');
    assert.equal(contextName('default', 'darwin'), 'berth', 'the only engine');
    assert.equal(contextName('dev', 'win32'), 'berth-dev');
    assert.ok(!validName('../x') && !validName('') && !validName('-f') && !validName('a/b'));
  });
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe('port forwards', () => {
  it('listens on the host with the same numbers, relays both ways with half-close, and stops with the binding', async (t) => {
    // The "guest": an echo server that answers after its client ends its input.
    const guest = createServer({ allowHalfOpen: true }, (s) => {
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => (got += d)).on('end', () => s.end(`echo:${got}`));
    });
    const guestPort = await listen(guest);
    t.after(() => guest.close());
    const opened: number[] = [];
    const fw = new PortForwards(async (port) => {
      opened.push(port);
      return connect({ port: guestPort, host: '127.0.0.1', allowHalfOpen: true });
    });
    const free = createServer();
    const hostPort = await listen(free);
    await new Promise((r) => free.close(r));
    const problems = await fw.apply([{ proto: 'tcp', hostIp: '127.0.0.1', hostPort, container: 'web' }, { proto: 'udp', hostIp: '0.0.0.0', hostPort: 5353, container: 'dns' }]);
    assert.deepEqual(problems.map((p) => p.message), ['UDP port 5353 of dns is published in the machine only: UDP is not forwarded to the host yet']);
    const reply = await new Promise<string>((resolve, reject) => {
      const c: Socket = connect({ port: hostPort, host: '127.0.0.1', allowHalfOpen: true }, () => c.end('hello'));
      let out = '';
      c.setEncoding('utf8').on('data', (d: string) => (out += d)).on('end', () => resolve(out)).on('error', reject);
    });
    assert.equal(reply, 'echo:hello');
    assert.deepEqual(opened, [hostPort]);
    assert.deepEqual(fw.active().map((p) => p.hostPort), [hostPort]);
    await fw.apply([]);
    await assert.rejects(new Promise((resolve, reject) => connect(hostPort, '127.0.0.1', () => resolve(undefined)).on('error', reject)), /ECONNREFUSED/);
  });

  it('names a host port that is in use, and forwards the others', async (t) => {
    const busy = createServer();
    const taken = await listen(busy);
    t.after(() => busy.close());
    const fw = new PortForwards(() => Promise.reject(new Error('unused')));
    t.after(() => fw.close());
    const problems = await fw.apply([{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: taken, container: 'web' }]);
    assert.deepEqual(problems.map((p) => p.message), [`port 127.0.0.1:${taken} of web is in use on the host: stop what listens there, or publish the container on another port`]);
    assert.deepEqual(fw.active(), []);
  });

  it('splice passes a half-close through and ends the other side when one goes', async (t) => {
    const server = createServer({ allowHalfOpen: true }, (s) => {
      const upstream = connect({ port: echoPort, host: '127.0.0.1', allowHalfOpen: true });
      splice(s, upstream);
    });
    const echo = createServer({ allowHalfOpen: true }, (s) => {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length)).on('end', () => s.end(String(n)));
    });
    const echoPort = await listen(echo);
    const port = await listen(server);
    t.after(() => {
      server.close();
      echo.close();
    });
    const got = await new Promise<string>((resolve) => {
      const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => c.end(Buffer.alloc(100_000)));
      let out = '';
      c.setEncoding('utf8').on('data', (d: string) => (out += d)).on('end', () => resolve(out));
    });
    assert.equal(got, '100000');
  });
});
