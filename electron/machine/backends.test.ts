// The vz (vfkit) and wsl2 backends, which cannot run on this Linux machine: what they generate
// (command lines) and what they parse (vfkit's REST answers, wsl.exe's output).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_VSOCK_PORT, findVfkit, parseVfkitState, vfkitArgs } from './vz/vfkit.ts';
import { DATA_DISTRO, decodeWslOutput, DISTRO, importDistros, parseWslList, replaceRoot, wslArgs, wslProblem } from './wsl/wsl.ts';

const devices = (args: string[]): string[] => args.flatMap((a, i) => (args[i - 1] === '--device' ? [a] : []));

describe('the vz backend (vfkit)', () => {
  const plan = {
    cpus: 4, memoryMiB: 4096, kernel: '/A/vmlinuz', initrd: '/A/initrd.img', rootImage: '/A/root.img', dataDisk: '/M/data.img',
    consoleLog: '/M/console.log', restSocket: '/M/vfkit.sock', agentSocket: '/M/agent.sock', configDir: '/M/guest', shares: ['/Users/me'],
  };

  it('boots the arm64 kernel with hvc0, the two disks, NAT, vsock to the agent and virtio-fs shares', () => {
    const a = vfkitArgs(plan);
    assert.deepEqual(a.slice(0, 4), ['--cpus', '4', '--memory', '4096']);
    assert.equal(a[a.indexOf('--bootloader') + 1], 'linux,kernel=/A/vmlinuz,initrd=/A/initrd.img,cmdline="console=hvc0 panic=-1 quiet loglevel=3"');
    assert.equal(a[a.indexOf('--restful-uri') + 1], 'unix:///M/vfkit.sock');
    assert.deepEqual(devices(a), [
      'virtio-blk,path=/A/root.img', 'virtio-blk,path=/M/data.img', 'virtio-net,nat', 'virtio-serial,logFilePath=/M/console.log', 'virtio-rng',
      `virtio-vsock,port=${AGENT_VSOCK_PORT},socketURL=/M/agent.sock,connect`, 'virtio-fs,sharedDir=/M/guest,mountTag=berthcfg',
      'virtio-fs,sharedDir=/Users/me,mountTag=share0',
    ]);
    assert.ok(devices(vfkitArgs({ ...plan, rosetta: true })).includes('rosetta,mountTag=rosetta'));
  });

  it('reads vfkit\'s VM states and refuses what it does not know', () => {
    assert.deepEqual(parseVfkitState('{"state":"VirtualMachineStateRunning","canStart":false,"canPause":true,"canResume":false,"canStop":true,"canHardStop":true}'),
      { state: 'running', canStop: true, canHardStop: true });
    assert.equal(parseVfkitState('{"state":"VirtualMachineStateStopped"}').state, 'stopped');
    assert.equal(parseVfkitState('{"state":"VirtualMachineStateError"}').state, 'error');
    assert.throws(() => parseVfkitState('{"state":"Dancing"}'), /unknown state "Dancing"/);
    assert.throws(() => parseVfkitState('<html>'), /not JSON/);
  });

  it('finds vfkit beside the app first, then on PATH', () => {
    assert.equal(findVfkit('/nonexistent', '/nope:/also-nope'), undefined);
  });
});

describe('the wsl2 backend', () => {
  it('decodes wsl.exe\'s UTF-16LE output (with or without a BOM) and UTF-8', () => {
    const text = '  NAME      STATE           VERSION\r\n* Ubuntu    Running         2\r\n  berth     Stopped         2\r\n';
    const parsed = [
      { name: 'Ubuntu', state: 'Running', version: 2, default: true },
      { name: 'berth', state: 'Stopped', version: 2, default: false },
    ];
    assert.deepEqual(parseWslList(decodeWslOutput(Buffer.from(text, 'utf16le'))), parsed);
    assert.deepEqual(parseWslList(decodeWslOutput(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))), parsed);
    assert.deepEqual(parseWslList(decodeWslOutput(Buffer.from(text, 'utf8'))), parsed);
    // A localized header and state: read by position, kept as given.
    assert.deepEqual(parseWslList('  NOM    ÉTAT     VERSION\n* berth  En cours 2\n'), [{ name: 'berth', state: 'En cours', version: 2, default: true }]);
  });

  it('turns wsl.exe\'s failures into fixes', () => {
    assert.match(wslProblem('Error code: Wsl/Service/CreateInstance/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED')!, /Virtual Machine Platform/);
    assert.match(wslProblem('WSL_E_DISTRO_NOT_FOUND')!, /berth machine init/);
    assert.equal(wslProblem('something else'), undefined);
  });

  it('imports the data distro, then the engine\'s; undoes the first when the second fails; an upgrade replaces only the engine\'s', () => {
    const calls: string[][] = [];
    const ok = (args: string[]) => {
      calls.push(args);
      return { status: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) } as never;
    };
    importDistros('C:\\m', 'root.tar.gz', 'data.tar', ok);
    assert.deepEqual(calls, [wslArgs.import(DATA_DISTRO, 'C:\\m\\data', 'data.tar'), wslArgs.import(DISTRO, 'C:\\m\\root', 'root.tar.gz')]);
    assert.deepEqual(wslArgs.import(DISTRO, 'C:\\m\\root', 'r.tar'), ['--import', 'berth', 'C:\\m\\root', 'r.tar', '--version', '2']);
    calls.length = 0;
    const failSecond = (args: string[]) => {
      calls.push(args);
      const bad = args[1] === DISTRO && args[0] === '--import';
      return { status: bad ? 1 : 0, stdout: Buffer.from(bad ? 'ERROR_ALREADY_EXISTS' : '', 'utf16le'), stderr: Buffer.alloc(0) } as never;
    };
    assert.throws(() => importDistros('C:\\m', 'root.tar.gz', 'data.tar', failSecond), /exists already/);
    assert.deepEqual(calls.at(-1), wslArgs.unregister(DATA_DISTRO));
    calls.length = 0;
    replaceRoot('C:\\m', 'new.tar.gz', ok);
    assert.deepEqual(calls, [wslArgs.terminate(DISTRO), wslArgs.unregister(DISTRO), wslArgs.import(DISTRO, 'C:\\m\\root', 'new.tar.gz')]);
    assert.ok(!calls.flat().includes(DATA_DISTRO), 'the data distro is never touched by an upgrade');
    assert.deepEqual(wslArgs.init(), ['--distribution', 'berth', '--user', 'root', '--exec', '/sbin/berth-init', 'wsl']);
  });
});
