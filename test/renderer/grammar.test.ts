// One grammar per user concept: the run form, the contract and the engine give the same verdict,
// with the same message, on the same inputs. Each row goes through the form's validate(), the
// contract's validator (what the form sends, or the raw string where the contract carries one)
// and the engine's own checks (what the Docker API would hand it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, it } from 'node:test';
import { runArgs } from '../../common/contract.ts';
import { EscapeMatcher, parseBindSpec, parseDetachKeys, parsePortSpec, toPortBindings, type PortBindingSpec } from '../../common/grammar/index.ts';
import { mergeConfig, validateHostConfig } from '../../electron/engine/containers/createOptions.ts';
import { validateName } from '../../electron/engine/containers/names.ts';
import { EventBus } from '../../electron/engine/events/eventBus.ts';
import type { Image } from '../../electron/engine/images/imageStore.ts';
import { normalizePortBindings } from '../../electron/engine/network/networkService.ts';
import { loadFsAt } from '../../electron/engine/sys/fsat.ts';
import { VolumeService } from '../../electron/engine/volumes/volumeService.ts';
import { emptyForm, toRunArgs, validate, type RunForm } from '../../renderer/features/containers/formRules.ts';

const dir = mkdtempSync(`${tmpdir()}/berth-grammar-`);
after(() => rmSync(dir, { recursive: true, force: true }));
const volumes = new VolumeService(`${dir}/root`, loadFsAt(), new EventBus(), () => []);
const image = { config: { config: {} } } as unknown as Image;
const CPUS = 2;

const message = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

type Field = 'ports' | 'memory' | 'name' | 'image' | 'binds' | 'env' | 'cpus';
interface Row {
  field: Field;
  text: string;
  ok: boolean;
  /** part of the message every layer gives */
  says?: RegExp;
}

const rows: Row[] = [
  { field: 'ports', text: '99999:80', ok: false, says: /host port "99999".*ports are 1 to 65535/ },
  { field: 'ports', text: '8080:0', ok: false, says: /container port "0"/ },
  { field: 'ports', text: '[::1]:8080:80', ok: true },
  { field: 'ports', text: '127.0.0.1:8080:80/udp', ok: true },
  { field: 'ports', text: '8000-8001:80-81', ok: true },
  { field: 'ports', text: '8000-8002:80-81', ok: false, says: /ranges differ in length/ },
  { field: 'ports', text: '300.1.1.1:80:80', ok: false, says: /invalid IP address "300.1.1.1"/ },
  { field: 'ports', text: '80/sctp', ok: false, says: /sctp is not supported/ },
  { field: 'memory', text: '1x', ok: false, says: /invalid size: '1x'/ },
  { field: 'memory', text: '4m', ok: false, says: /Minimum memory limit allowed is 6MB/ },
  { field: 'memory', text: '512m', ok: true },
  { field: 'name', text: 'a/b', ok: false, says: /Invalid container name \(a\/b\)/ },
  { field: 'name', text: 'x', ok: false, says: /Invalid container name \(x\)/ },
  { field: 'name', text: 'web-1', ok: true },
  { field: 'image', text: 'Busybox', ok: false, says: /repository name must be lowercase/ },
  { field: 'image', text: '127.0.0.1:5000/bb:1', ok: true },
  { field: 'binds', text: `${dir}/src:/dst:ro`, ok: true },
  { field: 'binds', text: 'data:/dst', ok: true },
  { field: 'binds', text: 'data:relative', ok: false, says: /mount path must be absolute/ },
  { field: 'binds', text: 'bad name:/x', ok: false, says: /invalid characters for a local volume name/ },
  { field: 'binds', text: `${dir}/src:/dst:rx`, ok: false, says: /invalid mode: rx/ },
  { field: 'env', text: 'A=1', ok: true },
  { field: 'env', text: '=x', ok: false, says: /invalid environment variable: =x/ },
  { field: 'cpus', text: '0.001', ok: false, says: /Range of CPUs is from 0.01 to 2.00/ },
  { field: 'cpus', text: '9', ok: false, says: /Range of CPUs/ },
  { field: 'cpus', text: '1.5', ok: true },
];

function formFor(r: Row): RunForm {
  const f = emptyForm('busybox');
  const key = r.field === 'ports' ? 'ports' : r.field === 'memory' ? 'memory' : r.field === 'name' ? 'name' : r.field === 'image' ? 'image' : r.field === 'binds' ? 'binds' : r.field === 'env' ? 'env' : 'cpus';
  return { ...f, [key]: r.text };
}

/** What the engine is handed for the row (as the Docker API would carry it), checked the engine's way. */
function engineVerdict(r: Row): string | undefined {
  switch (r.field) {
    case 'ports': {
      // The structure the text means, without the form's parse: the engine checks it itself.
      const m = /^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:([\d-]*):)?([\d-]+)(?:\/(\w+))?$/.exec(r.text)!;
      const b: PortBindingSpec = { hostIp: (m[1] ?? '').replace(/^\[|\]$/g, ''), hostPort: m[2] ?? '', containerPort: m[3], proto: (m[4] ?? 'tcp') as PortBindingSpec['proto'] };
      if (b.containerPort.includes('-') || b.hostPort.includes('-')) return message(() => parsePortSpec(r.text)); // ranges: the CLI's and the form's parse
      return message(() => normalizePortBindings({ [`${b.containerPort}/${b.proto}`]: [{ HostIp: b.hostIp, HostPort: b.hostPort }] }));
    }
    case 'memory': return message(() => validateHostConfig({ Memory: Number.isNaN(Number(r.text)) ? Math.round(parseFloat(r.text) * 1024 ** 2) : Number(r.text) }));
    case 'name': return message(() => validateName(r.text));
    case 'image': return message(() => toRunArgsImage(r.text));
    case 'binds': return message(() => volumes.resolveMounts({ Binds: [r.text] }, [], () => { throw new Error('no volumes-from'); }));
    case 'env': return message(() => mergeConfig({ Image: 'busybox', Cmd: ['true'], Env: [r.text] }, image, 'h'));
    case 'cpus': return message(() => validateHostConfig({ NanoCpus: Math.round(Number(r.text) * 1e9) }));
  }
}

const toRunArgsImage = (ref: string) => runArgs({ image: ref }, '');

it('the form, the contract and the engine agree on every row, in the same words', () => {
  for (const r of rows) {
    const form = validate(formFor(r), { names: [], cpus: CPUS })[r.field];
    assert.equal(form === undefined, r.ok, `form, ${r.field} ${r.text}: ${form}`);
    if (r.says) assert.match(form ?? '', r.says, `form, ${r.field} ${r.text}`);
    // The contract: what the form sends when it parses, else the raw text where the contract takes text.
    let contract: string | undefined;
    if (r.ok || ['name', 'image', 'env'].includes(r.field)) {
      const args = r.ok ? toRunArgs(formFor(r)) : { image: 'busybox', [r.field]: r.field === 'env' ? [r.text] : r.text };
      contract = message(() => runArgs(args, ''));
      assert.equal(contract === undefined, r.ok, `contract, ${r.field} ${r.text}: ${contract}`);
      if (!r.ok) assert.equal(contract, form, `contract and form differ on ${r.field} ${r.text}`);
    }
    if (r.field === 'memory' && r.text === '1x') continue; // a size string never reaches the engine: the API carries bytes
    const engine = engineVerdict(r);
    assert.equal(engine === undefined, r.ok, `engine, ${r.field} ${r.text}: ${engine}`);
    if (!r.ok && r.field !== 'cpus') assert.equal(engine, form, `engine and form differ on ${r.field} ${r.text}`);
    if (r.says) assert.match(engine ?? '', r.says, `engine, ${r.field} ${r.text}`);
  }
});

it('the host turns the form\'s structured values into Docker\'s create options without parsing text again', () => {
  const args = toRunArgs({ ...emptyForm('busybox'), ports: '[::1]:8080:80\n8000-8001:90-91/udp', binds: `${dir}/src:/dst:ro\ndata:/data`, memory: '512m', cpus: '1.5' });
  assert.deepEqual(toPortBindings(args.ports!), { '80/tcp': [{ HostIp: '::1', HostPort: '8080' }], '90/udp': [{ HostIp: '', HostPort: '8000' }], '91/udp': [{ HostIp: '', HostPort: '8001' }] });
  assert.deepEqual(args.binds, [{ source: `${dir}/src`, target: '/dst', readOnly: true }, { source: 'data', target: '/data' }]);
  assert.equal(args.memory, 512 * 1024 ** 2);
  assert.deepEqual(parseBindSpec(`${dir}/src:/dst:ro`).readOnly, true);
});

it('detach keys: dockerd\'s grammar, and a matcher that holds back a partial sequence', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-x,y,ctrl-@,ctrl-['), [24, 121, 0, 27]);
  assert.throws(() => parseDetachKeys('ctrl-bogus'), /Invalid detach keys \(ctrl-bogus\) provided/);
  assert.throws(() => parseDetachKeys('ctrl-1,a'), /"ctrl-1" is neither one character/);
  const m = new EscapeMatcher([16, 17]);
  assert.deepEqual(m.feed(Buffer.from([1, 16])), { pass: Uint8Array.from([1]), detach: false }, 'a ctrl-p is held');
  assert.deepEqual(m.feed(Buffer.from([2])), { pass: Uint8Array.from([16, 2]), detach: false }, 'and given back when the sequence breaks off');
  assert.deepEqual(m.feed(Buffer.from([16, 16])), { pass: Uint8Array.from([16]), detach: false }, 'a repeated first key starts again');
  assert.deepEqual(m.feed(Buffer.from([17, 9])), { pass: Uint8Array.from([]), detach: true }, 'nothing after the sequence is passed on');
});
