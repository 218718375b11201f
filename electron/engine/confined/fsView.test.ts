// The confined file layer on a real file system, without root: the kernel's resolution and the
// walk give the same answers, mounts are mapped in, removal and measurement stay inside, and
// the writer writes where the container would see it and nowhere else.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { buildTar } from '../images/tarWriter.ts';
import { LayerWriter } from '../images/tar/layerWriter.ts';
import { TarParser } from '../images/tar/tarParser.ts';
import { AT, O, loadFsAt } from '../sys/fsat.ts';
import { cleanPath, FsView } from './fsView.ts';
import { removeAt, tarChunks, treeSize } from './tree.ts';

const fs = loadFsAt();

function tarNames(chunks: Iterable<Buffer>): { names: string[]; text: string } {
  const names: string[] = [];
  let text = '';
  const p = new TarParser({ entry: (h) => names.push(h.type === 'symlink' ? `${h.name} -> ${h.linkname}` : h.name), data: (c) => (text += c), entryEnd: () => undefined });
  for (const c of chunks) p.push(c);
  p.end();
  return { names, text };
}

describe('confined file access', () => {
  let dir: string;
  let root: string;
  let outside: string;

  before(() => {
    dir = mkdtempSync(`${tmpdir()}/berth-confined-`);
    root = `${dir}/root`;
    outside = `${dir}/outside`;
    mkdirSync(`${root}/etc`, { recursive: true });
    mkdirSync(`${root}/data/sub`, { recursive: true });
    mkdirSync(outside);
    writeFileSync(`${outside}/secret`, 'HOST-SECRET\n');
    writeFileSync(`${root}/etc/passwd`, 'root:x:0:0::/root:/bin/sh\n');
    writeFileSync(`${root}/data/sub/file`, 'inside\n');
    symlinkSync('/etc', `${root}/data/abs`);
    symlinkSync('../../../../../../etc', `${root}/data/rel`);
    symlinkSync(outside, `${root}/data/host`);
    symlinkSync('sub/file', `${root}/data/file-link`);
    symlinkSync('/loop-b', `${root}/loop-a`);
    symlinkSync('/loop-a', `${root}/loop-b`);
    symlinkSync('/nowhere', `${root}/dangling`);
    symlinkSync('/data/sub', `${root}/vol-link`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('cleans paths lexically, as docker cp does', () => {
    assert.equal(cleanPath('/a/../../b/./c/'), '/b/c');
    assert.equal(cleanPath('../..'), '/');
    assert.equal(cleanPath(''), '/');
  });

  it('resolves the same way through the kernel and through the walk, always inside the root', () => {
    const view = FsView.open(fs, root, 'the test root');
    const table: [string, boolean, string][] = [
      ['/etc/passwd', true, 'file'], ['/data/abs/passwd', true, 'file'], ['/data/rel/passwd', true, 'file'],
      ['/../../etc/passwd', true, 'file'], ['/data/file-link', true, 'file'], ['/data/file-link', false, 'link'],
      ['/data/abs', false, 'link'], ['/data/abs/', true, 'dir'], ['/data/host/secret', true, 'NOT_FOUND'],
      ['/data/host', true, 'NOT_FOUND'], ['/loop-a/x', true, 'INVALID_ARGUMENT'], ['/dangling', true, 'NOT_FOUND'],
      ['/dangling', false, 'link'], ['/etc/passwd/x', true, 'NOT_FOUND'], ['/', true, 'dir'],
    ];
    try {
      for (const [path, follow, want] of table) {
        for (const resolvedPath of [false, true]) {
          let got: string;
          try {
            const e = view.lookup(path, follow, { resolvedPath });
            fs.close(e.fd);
            got = (e.stat.mode & 0o170000) === 0o040000 ? 'dir' : (e.stat.mode & 0o170000) === 0o120000 ? 'link' : 'file';
            if (got === 'file') assert.equal(e.stat.size, path.includes('passwd') ? 26 : 7, path);
          } catch (e) {
            got = (e as { code: string }).code;
          }
          assert.equal(got, want, `${path} (follow ${follow}, ${resolvedPath ? 'walk' : 'kernel'})`);
        }
      }
      assert.equal(view.lookup('/data/abs/', true, { resolvedPath: true }).path, '/etc');
    } finally {
      view.close();
    }
  });

  it('maps mounts in at their destinations, directories and files, and knows which are read-only', () => {
    const vol = `${dir}/vol`;
    mkdirSync(vol, { recursive: true });
    writeFileSync(`${vol}/in-volume`, 'volume\n');
    writeFileSync(`${dir}/hosts`, '127.0.0.1 localhost\n');
    const view = FsView.open(fs, root, 'the test root', {
      mounts: [{ destination: '/data/sub', source: vol, readOnly: true }, { destination: '/etc/hosts', source: `${dir}/hosts`, readOnly: false }],
    });
    try {
      const e = view.lookup('/vol-link/in-volume', true);
      assert.equal(e.stat.size, 7);
      assert.equal(e.readOnly, 'mount');
      fs.close(e.fd);
      assert.equal(view.readFile('/data/abs/hosts', 100), '127.0.0.1 localhost\n', 'a symlink into a file mount');
      const top = view.lookup('/', true);
      const { names, text } = tarNames(tarChunks(fs, view, top, ''));
      fs.close(top.fd);
      assert.ok(names.includes('data/sub/in-volume') && !names.includes('data/sub/file'), names.join(' '));
      assert.ok(names.includes('etc/hosts') && text.includes('127.0.0.1 localhost'));
      assert.ok(names.includes(`data/host -> ${outside}`) && !text.includes('HOST-SECRET'), 'a symlink out is archived as a symlink');
      assert.equal(view.lookup('/etc/../data/sub/in-volume', true, { resolvedPath: true }).path, '/data/sub/in-volume');
    } finally {
      view.close();
    }
  });

  it('removes and measures a tree by descriptors, never through a symlink', () => {
    const t = `${dir}/tree`;
    mkdirSync(`${t}/a/b`, { recursive: true });
    writeFileSync(`${t}/a/b/f`, '12345');
    writeFileSync(`${t}/a/g`, '123');
    symlinkSync(outside, `${t}/a/out`);
    symlinkSync(`${outside}/secret`, `${t}/a/out-file`);
    const parent = fs.openat(AT.FDCWD, dir, O.RDONLY | O.DIRECTORY);
    const tfd = fs.openat(parent, 'tree', O.RDONLY | O.DIRECTORY);
    try {
      assert.equal(treeSize(fs, tfd), 8, 'the symlinked file outside is not counted');
      removeAt(fs, parent, 'tree');
      removeAt(fs, parent, 'tree'); // gone already: nothing to do
    } finally {
      fs.close(tfd);
      fs.close(parent);
    }
    assert.ok(!readdirSync(dir).includes('tree'));
    assert.equal(readFileSync(`${outside}/secret`, 'utf8'), 'HOST-SECRET\n');
  });

  it('writes beneath a mount into its source, refuses read-only mounts and mount points, never writes outside', () => {
    const target = `${dir}/w`;
    const vol = `${dir}/w-vol`;
    const rovol = `${dir}/w-ro`;
    for (const d of [`${target}/app/node_modules`, `${target}/app/ro`, vol, rovol]) mkdirSync(d, { recursive: true });
    symlinkSync(outside, `${target}/app/esc`);
    const view = FsView.open(fs, target, 'the test target', {
      mounts: [{ destination: '/app/node_modules', source: vol, readOnly: false }, { destination: '/app/ro', source: rovol, readOnly: true }],
    });
    const write = (entries: Parameters<typeof buildTar>[0]) => {
      const e = view.lookup('/app', true);
      const rootFd = fs.openat(e.fd, '.', O.RDONLY | O.DIRECTORY);
      const below = new Map([...view.mountsBelow(e.path)].map(([rel, m]) => [rel, { fd: m.fd, dir: m.dir, readOnly: m.readOnly }]));
      const w = new LayerWriter(rootFd, fs, { mode: 'plain', chown: false }, below);
      try {
        const p = new TarParser(w);
        p.push(buildTar(entries));
        p.end();
        w.finish();
      } catch (err) {
        w.abort();
        throw err;
      } finally {
        fs.close(rootFd);
        fs.close(e.fd);
      }
    };
    try {
      write([{ name: 'node_modules/', type: 'dir', mode: 0o755 }, { name: 'node_modules/pkg/index.js', type: 'file', mode: 0o644, data: Buffer.from('x') }, { name: 'main.js', type: 'file', mode: 0o644, data: Buffer.from('m') }]);
      assert.equal(readFileSync(`${vol}/pkg/index.js`, 'utf8'), 'x', 'landed in the volume');
      assert.deepEqual(readdirSync(`${target}/app/node_modules`), [], 'not under the mount point in the rootfs');
      assert.equal(readFileSync(`${target}/app/main.js`, 'utf8'), 'm');
      assert.throws(() => write([{ name: 'ro/x', type: 'file', mode: 0o644, data: Buffer.from('x') }]), /read-only mount/);
      assert.throws(() => write([{ name: 'node_modules', type: 'file', mode: 0o644, data: Buffer.from('x') }]), /replace a mount point/);
      assert.throws(() => write([{ name: 'esc/x', type: 'file', mode: 0o644, data: Buffer.from('x') }]), /through the symlink esc/);
      assert.throws(() => write([{ name: '../../x', type: 'file', mode: 0o644, data: Buffer.from('x') }]), /points outside/);
      // A directory in the way of a file is removed by descriptors; the symlink in it is not followed.
      mkdirSync(`${target}/app/in-way`);
      symlinkSync(outside, `${target}/app/in-way/link`);
      write([{ name: 'in-way', type: 'file', mode: 0o644, data: Buffer.from('now a file') }]);
      assert.equal(readFileSync(`${target}/app/in-way`, 'utf8'), 'now a file');
      assert.deepEqual(readdirSync(rovol), []);
      assert.deepEqual(readdirSync(outside), ['secret']);
      assert.equal(readFileSync(`${outside}/secret`, 'utf8'), 'HOST-SECRET\n');
    } finally {
      view.close();
    }
  });
});
