// Berth's builder over the Docker API, driven by the docker CLI (classic protocol), docker-py,
// compose v1 and raw requests: the stream dockerd's clients read, Dockerfile semantics checked
// with run and inspect, the layers a build writes, the cache (edit, touch, no change,
// cachefrom), errors before and after the first step, cancel on disconnect, and commit.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { BuildRecord } from '../../common/build.ts';
import { golden, GOLDEN_BASE, runSession, SESSIONS } from '../helpers/buildSessions.ts';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { startRegistry, uploadImage, type TestRegistry } from '../helpers/registry.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { until } from '../helpers/run.ts';

const hasDockerPy = await new Promise<boolean>((r) => execFile('python3', ['-c', 'import docker'], (e) => r(!e)));
const hasCompose = await new Promise<boolean>((r) => execFile('docker-compose', ['version'], (e) => r(!e)));

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('image builds: docker build and docker commit', { timeout: 600_000 }, () => {
  let daemon: TestDaemon;
  let reg: TestRegistry;
  let work: string;
  let base: string;

  const docker = (args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile('docker', args, { cwd: opts.cwd, env: { ...process.env, DOCKER_HOST: `unix://${daemon.sock}`, ...opts.env }, maxBuffer: 64 << 20 },
        (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
      child.stdin!.end(opts.input ?? '');
    });

  /** A context directory with these files. */
  const context = (name: string, files: Record<string, string>) => {
    const dir = `${work}/${name}`;
    rmSync(dir, { recursive: true, force: true });
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(`${dir}/${f}`.replace(/\/[^/]*$/, ''), { recursive: true });
      writeFileSync(`${dir}/${f}`, text);
    }
    return dir;
  };

  const build = (dir: string, args: string[] = []) => docker(['build', '--build-arg', `BASE=${base}`, ...args, '.'], { cwd: dir });

  before(async () => {
    reg = await startRegistry();
    base = `${reg.host}/busybox:latest`;
    await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
    daemon = await startDaemon();
    work = mkdtempSync(`${tmpdir()}/berth-build-`);
    const pull = await docker(['pull', base]);
    assert.equal(pull.code, 0, pull.err);
  });
  after(async () => {
    await daemon?.stop();
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const APP = {
    Dockerfile: [
      'ARG BASE',
      'FROM ${BASE} AS first',
      'ARG V=3',
      'ENV A=1 B="two words"',
      'RUN echo "V=$V A=$A" > /v.txt && echo to-stderr >&2 && echo to-stdout',
      'WORKDIR /app/sub',
      'COPY hello.txt ./',
      'COPY dir/ /data/',
      'LABEL x=y',
      'EXPOSE 80/tcp 53/udp',
      'USER nobody',
      'CMD ["cat", "/v.txt"]',
      '',
    ].join('\n'),
    'hello.txt': 'hello\n',
    'dir/a': 'a\n',
    'dir/inner/b': 'b\n',
  };

  it('builds with the classic stream: steps, output, tags; the image runs and inspects as written', async () => {
    const dir = context('app', APP);
    const r = await build(dir, ['-t', 'app:1', '-t', 'app:2']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^Step 1\/12 : ARG BASE$/m);
    assert.match(r.out, /^Step 2\/12 : FROM \$\{BASE\} AS first$/m);
    assert.match(r.out, /^ ---> Running in [0-9a-f]{12}$/m);
    // dockerd's framing: stderr chunks in red, stdout as it came (the two pipes are not ordered).
    assert.ok(r.out.includes('\x1b[91mto-stderr\n\x1b[0m') && r.out.replaceAll('\x1b[0m', '').split('\n').includes('to-stdout'), r.out);
    assert.match(r.out, /^Successfully built [0-9a-f]{12}$/m);
    assert.match(r.out, /^Successfully tagged app:1$/m);
    assert.match(r.out, /^Successfully tagged app:2$/m);
    assert.equal((await docker(['run', '--rm', 'app:1'])).out, 'V=3 A=1\n');
    const inside = await docker(['run', '--rm', 'app:1', 'sh', '-c', 'cat hello.txt; pwd; id -u; cat /data/a /data/inner/b; echo "$B"']);
    assert.equal(inside.out, 'hello\n/app/sub\n65534\na\nb\ntwo words\n');
    const cfg = JSON.parse((await docker(['image', 'inspect', 'app:1', '--format', '{{json .Config}}'])).out);
    assert.equal(cfg.User, 'nobody');
    assert.equal(cfg.WorkingDir, '/app/sub');
    assert.deepEqual(cfg.Labels, { x: 'y' });
    assert.deepEqual(Object.keys(cfg.ExposedPorts).sort(), ['53/udp', '80/tcp']);
    assert.deepEqual(cfg.Cmd, ['cat', '/v.txt']);
    assert.ok(cfg.Env.includes('A=1') && cfg.Env.includes('B=two words') && !cfg.Env.some((e: string) => e.startsWith('V=')));
    // Intermediate images: the final one's parent, listed with -a only; history names them.
    const parent = (await docker(['image', 'inspect', 'app:1', '--format', '{{.Parent}}'])).out.trim();
    assert.match(parent, /^sha256:[0-9a-f]{64}$/);
    const shown = (await docker(['images', '-q', '--no-trunc'])).out;
    const all = (await docker(['images', '-a', '-q', '--no-trunc'])).out;
    assert.ok(!shown.includes(parent) && all.includes(parent));
    const history = (await docker(['history', '-q', 'app:1'])).out.trim().split('\n');
    assert.ok(history.slice(0, 10).every((id) => /^[0-9a-f]{12}$/.test(id)), history.join(','));
    // No container is left behind by a successful build.
    assert.equal((await docker(['ps', '-aq'])).out, '');
    // The build's record says where each step's time went, and the size of the layer it made.
    const dirOf = `${daemon.base}/root/build-history`;
    const rec = readdirSync(dirOf).map((f) => JSON.parse(readFileSync(`${dirOf}/${f}`, 'utf8')) as BuildRecord).sort((a, b) => b.startedAt - a.startedAt)[0];
    const phases = (ins: string) => {
      const step = rec.steps.find((st) => st.instruction.startsWith(ins))!;
      let end = 0;
      for (const p of step.phases ?? []) {
        assert.ok(p.at >= end && p.ms !== undefined && p.at + p.ms <= step.ms! + 1, `${ins}: ${JSON.stringify(step)}`);
        end = p.at + p.ms;
      }
      return [(step.phases ?? []).map((p) => p.name).join(','), step.layerBytes];
    };
    assert.deepEqual(phases('RUN'), ['exec,commit', 'V=3 A=1\n'.length]);
    assert.deepEqual(phases('COPY hello.txt'), ['hash,copy,commit', 'hello\n'.length]);
    assert.deepEqual(phases('COPY dir/'), ['hash,copy,commit', 4]);
    assert.deepEqual(phases('ENV'), ['', undefined]);
    assert.deepEqual(phases('FROM'), ['', undefined]);
  });

  it('answers the docker CLI as dockerd 20.10 does: golden sessions (stdout, stderr, exit code) for success, cache, -q, --iidfile and errors', async () => {
    assert.equal((await docker(['tag', base, GOLDEN_BASE])).code, 0);
    const diffs: string[] = [];
    for (const s of SESSIONS) {
      const got = await runSession(`unix://${daemon.sock}`, s, `${work}/golden`);
      const want = golden(s.name);
      for (const k of ['code', 'stdout', 'stderr', 'extra'] as const) {
        if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) diffs.push(`${s.name} ${k}:\n  want ${JSON.stringify(want[k])}\n  got  ${JSON.stringify(got[k])}`);
      }
    }
    assert.deepEqual(diffs, []);
    // The RUN that exited 3 left its container, as dockerd's does (rm=1, forcerm=0).
    const left = (await docker(['ps', '-aq'])).out.trim().split('\n').filter(Boolean);
    assert.equal(left.length, 1);
    await docker(['rm', '-f', ...left]);
  });

  it('keys the cache by content: no change and touch hit every step, an edit busts from its COPY on, --no-cache none', async () => {
    const dir = `${work}/app`;
    const hits = async (args: string[] = []) => {
      const r = await build(dir, ['-t', 'app:1', ...args]);
      assert.equal(r.code, 0, r.out + r.err);
      return (r.out.match(/^ ---> Using cache$/gm) ?? []).length;
    };
    assert.equal(await hits(), 10);
    utimesSync(`${dir}/dir/a`, new Date(), new Date(Date.now() + 60_000));
    assert.equal(await hits(), 10);
    writeFileSync(`${dir}/dir/a`, 'changed\n');
    // ARG, ENV, RUN, WORKDIR and the first COPY hit; COPY dir/ and the four after it run.
    assert.equal(await hits(), 5);
    assert.equal((await docker(['run', '--rm', 'app:1', 'cat', '/data/a'])).out, 'changed\n');
    // The new COPY layer links what it has unchanged from the one before (no second inode).
    const layers = `${daemon.base}/root/layers`;
    const inodes = (f: string) => readdirSync(layers).filter((d) => /^[0-9a-f]{64}$/.test(d) && existsSync(`${layers}/${d}/data/${f}`)).map((d) => statSync(`${layers}/${d}/data/${f}`).ino);
    assert.equal(inodes('inner/b').length, 2);
    assert.equal(new Set(inodes('inner/b')).size, 1, 'the unchanged file is shared');
    assert.equal(new Set(inodes('a')).size, 2, 'the edited file is new');
    assert.equal(await hits(['--no-cache']), 0);
    // cachefrom: only steps in the listed images' chains; a missing image gives none.
    assert.equal(await hits(['--cache-from', 'nosuchimage']), 0);
    assert.equal(await hits(['--cache-from', 'app:1']), 10);
    // The cache, and the build history, survive the engine's restart.
    const before = JSON.parse(readFileSync(`${daemon.base}/root/build-history/${readdirSync(`${daemon.base}/root/build-history`)[0]}`, 'utf8')).id as string;
    await daemon.restart();
    assert.equal(await hits(), 10);
    assert.ok(readdirSync(`${daemon.base}/root/build-history`).includes(`${before}.json`));
  });

  it('--cache-from an image with no local chain (saved and loaded, as a pulled one): its history gives the cache', async () => {
    const dir = context('cachefrom', {
      Dockerfile: 'ARG BASE\nFROM ${BASE}\nENV MODE=prod\nRUN echo built > /built\nCOPY f.txt /f.txt\nWORKDIR /w\nCMD ["cat", "/built"]\n',
      'f.txt': 'f\n',
    });
    const hits = async (args: string[] = []) => {
      const r = await build(dir, ['-t', 'cf:1', ...args]);
      assert.equal(r.code, 0, r.out + r.err);
      return (r.out.match(/^ ---> Using cache$/gm) ?? []).length;
    };
    assert.equal(await hits(), 0);
    const first = (await docker(['image', 'inspect', '-f', '{{.Id}}', 'cf:1'])).out.trim();
    const saved = `${work}/cf.tar`;
    assert.equal((await docker(['save', '-o', saved, 'cf:1'])).code, 0);
    // Gone with its build steps, then back from the archive: no parent chain, no build keys.
    assert.equal((await docker(['rmi', 'cf:1'])).code, 0);
    assert.equal((await docker(['load', '-i', saved])).code, 0);
    assert.equal(await hits(['--cache-from', 'cf:1']), 5, 'ENV, RUN, COPY, WORKDIR and CMD come from the loaded image');
    assert.equal((await docker(['image', 'inspect', '-f', '{{.Id}}', 'cf:1'])).out.trim(), first, 'the same image again');
    assert.equal((await docker(['run', '--rm', 'cf:1'])).out, 'built\n');
    // An edit busts from its step on; the steps before still match.
    writeFileSync(`${dir}/f.txt`, 'g\n');
    assert.equal((await docker(['rmi', 'cf:1'])).code, 0);
    assert.equal((await docker(['load', '-i', saved])).code, 0);
    assert.equal(await hits(['--cache-from', 'cf:1']), 2);
  });

  it('multi-stage: --target, unused stages skipped, scratch, COPY --from with --chown/--chmod, heredocs, whiteouts in layers', async () => {
    const dir = context('multi', {
      Dockerfile: [
        'ARG BASE',
        'FROM ${BASE} AS base',
        'RUN echo base > /base.txt',
        'FROM base AS unused',
        'RUN exit 9',
        'FROM scratch AS files',
        'COPY --chown=1000:1000 --chmod=0640 f.txt /f.txt',
        'FROM base',
        'COPY --from=files /f.txt /copied.txt',
        'COPY --from=0 /base.txt /b2',
        'RUN <<EOF',
        'echo heredoc-one > /h1',
        'echo "two" >> /h1',
        'EOF',
        'COPY <<EOT /etc/greeting',
        'Hello ${UNSET:-default} world',
        'EOT',
        'RUN rm /bin/vi && mkdir -p /opq && touch /opq/x && rm -rf /home && mkdir /home && touch /home/new',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["cat /h1 /etc/greeting /copied.txt /b2; stat -c %u:%g:%a /copied.txt"]',
        '',
      ].join('\n'),
      'f.txt': 'filedata\n',
      '.dockerignore': 'Dockerfile\n',
    });
    const r = await build(dir, ['-t', 'multi']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.doesNotMatch(r.out, /exit 9/, 'the unused stage is not built');
    assert.match(r.out, /^Step 1\/13 : ARG BASE$/m);
    assert.equal((await docker(['run', '--rm', 'multi'])).out, 'heredoc-one\ntwo\nHello default world\nfiledata\nbase\n1000:1000:640\n');
    const gone = await docker(['run', '--rm', 'multi', 'ls /bin/vi /Dockerfile 2>&1; ls /home']);
    assert.match(gone.out, /\/bin\/vi: No such file/);
    assert.match(gone.out, /\/Dockerfile: No such file/);
    assert.match(gone.out, /^new$/m);
    const target = await build(dir, ['--target', 'files', '-t', 'onlyfiles']);
    assert.equal(target.code, 0, target.out + target.err);
    assert.equal((target.out.match(/^Step /gm) ?? []).length, 3, 'ARG BASE, FROM scratch, COPY');
    // The layers: whiteouts and opaque dirs as .wh. entries, none of the engine's mount targets.
    const saved = `${work}/saved`;
    mkdirSync(saved, { recursive: true });
    execFileSync('sh', ['-c', `docker save multi | tar -x -C ${saved}`], { env: { ...process.env, DOCKER_HOST: `unix://${daemon.sock}` } });
    const manifest = JSON.parse(readFileSync(`${saved}/manifest.json`, 'utf8'));
    const entries = (manifest[0].Layers as string[]).slice(1).map((l) => execFileSync('tar', ['-tf', `${saved}/${l}`], { encoding: 'utf8' }));
    const all = entries.join('\n');
    assert.match(all, /^bin\/\.wh\.vi$/m);
    assert.match(all, /^home\/\.wh\.\.wh\.\.opq$/m);
    for (const own of ['proc/', 'sys/', 'dev/', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.dockerenv']) {
      assert.ok(!entries.some((e) => e.split('\n').includes(own)), `${own} in a layer`);
    }
  });

  it('RUN --mount: a cache persists across builds and stays out of layers; tmpfs; a read-only bind of the context; --network=none', async () => {
    const dir = context('mounts', {
      Dockerfile: [
        'ARG BASE',
        'FROM ${BASE}',
        'ARG N=1',
        'RUN --mount=type=cache,target=/cache,id=counter echo "run $N" >> /cache/log && cat /cache/log > /seen && mkdir -p /work',
        'RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && grep -q " /scratch tmpfs" /proc/mounts && echo tmpfs-ok > /tmpfs-ok',
        'RUN --mount=type=bind,source=data,target=/data cat /data/in.txt > /copied && (touch /data/new 2>/dev/null && echo writable || echo read-only) > /bind-mode',
        'RUN --network=none sh -c "ls /sys/class/net" > /nets',
        '',
      ].join('\n'),
      'data/in.txt': 'from-context\n',
    });
    const first = await build(dir, ['-t', 'mounts:1']);
    assert.equal(first.code, 0, first.out + first.err);
    const second = await build(dir, ['-t', 'mounts:2', '--build-arg', 'N=2']);
    assert.equal(second.code, 0, second.out + second.err);
    const read = async (img: string, f: string) => (await docker(['run', '--rm', img, 'cat', f])).out;
    assert.equal(await read('mounts:1', '/seen'), 'run 1\n');
    assert.equal(await read('mounts:2', '/seen'), 'run 1\nrun 2\n', 'the cache mount kept the first build\'s file');
    assert.equal(await read('mounts:2', '/tmpfs-ok'), 'tmpfs-ok\n');
    assert.equal(await read('mounts:2', '/copied'), 'from-context\n');
    assert.equal(await read('mounts:2', '/bind-mode'), 'read-only\n');
    assert.equal(await read('mounts:2', '/nets'), 'lo\n');
    // Neither the cache's files nor the mount points are in the image.
    const ls = await docker(['run', '--rm', 'mounts:2', 'sh', '-c', 'ls -d /cache /scratch /data 2>&1; true']);
    assert.equal((ls.out.match(/No such file or directory/g) ?? []).length, 3, ls.out);
    // The cache shows as build cache, and a prune deletes it.
    const df = await docker(['system', 'df', '-v', '--format', '{{json .BuildCache}}']);
    assert.match(df.out, /exec\.cachemount/);
    const prune = await docker(['builder', 'prune', '-f']);
    assert.equal(prune.code, 0, prune.err);
    assert.match(prune.out, /Total reclaimed space: \d/);
    assert.doesNotMatch((await docker(['system', 'df', '-v', '--format', '{{json .BuildCache}}'])).out, /exec\.cachemount/);
    const bad = await docker(['build', '-'], { input: `FROM ${base}\nRUN --mount=type=secret,id=token,required cat /run/secrets/token\n` });
    assert.match(bad.err, /secret token is required/);
  });

  it('ADD of a URL (on 127.0.0.1): mode 0600, mtime from Last-Modified, --checksum; an unreachable one fails in-band and fast', async () => {
    const server = createServer((req, res) => {
      if (req.url !== '/files/data.txt') return void res.writeHead(404).end();
      res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end('downloaded\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const ok = await docker(['build', '-t', 'addurl', '-'], { input: `FROM ${base}\nADD http://127.0.0.1:${port}/files/data.txt /dl/\nCMD ["stat", "-c", "%a %Y %n", "/dl/data.txt"]\n` });
      assert.equal(ok.code, 0, ok.out + ok.err);
      assert.equal((await docker(['run', '--rm', 'addurl'])).out, '600 1445412480 /dl/data.txt\n');
      assert.equal((await docker(['run', '--rm', 'addurl', 'cat', '/dl/data.txt'])).out, 'downloaded\n');
      const missing = await docker(['build', '-'], { input: `FROM ${base}\nADD http://127.0.0.1:${port}/nope /x\n` });
      assert.match(missing.err, /ADD failed: GET http:\/\/127\.0\.0\.1:\d+\/nope: 404 Not Found/);
      const refused = await docker(['build', '-'], { input: `FROM ${base}\nADD http://127.0.0.1:9/x /x\n` });
      assert.match(refused.err, /ADD failed: GET http:\/\/127\.0\.0\.1:9\/x: connect ECONNREFUSED/);
      assert.match((await docker(['build', '-'], { input: `FROM ${base}\nCOPY http://127.0.0.1:${port}/files/data.txt /x\n` })).err, /source can't be a URL for COPY/);
      // --checksum: the download must have that digest; only one HTTP(S) source may carry one.
      const sum = createHash('sha256').update('downloaded\n').digest('hex');
      const pinned = await docker(['build', '-q', '-'], { input: `FROM ${base}\nADD --checksum=sha256:${sum} http://127.0.0.1:${port}/files/data.txt /pinned\n` });
      assert.equal(pinned.code, 0, pinned.err);
      const wrong = await docker(['build', '-'], { input: `FROM ${base}\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/files/data.txt /pinned\n` });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.err, new RegExp(`digest mismatch sha256:0{64}: sha256:${sum}`));
      assert.match((await docker(['build', '-'], { input: `FROM ${base}\nADD --checksum=sha256:${sum} Dockerfile /x\n` })).err, /checksum can't be specified for non-HTTP\(S\) sources/);
      assert.match((await docker(['build', '-'], { input: `FROM ${base}\nADD --checksum=md5:abc http://127.0.0.1:${port}/files/data.txt /x\n` })).err, /invalid checksum digest format: md5:abc/);
      assert.match((await docker(['build', '-'], { input: `FROM ${base}\nCOPY --checksum=sha256:${sum} a /x\n` })).err, /unknown flag: --checksum/);
    } finally {
      server.close();
    }
  });

  it('ADD of a git repository (served on 127.0.0.1): the default branch, a tag with a subdirectory, --keep-git-dir, a pinned commit; bad refs refused', async () => {
    // A bare repository served as static files (git's dumb HTTP protocol).
    const repo = `${work}/gitsrc`;
    const g = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: work } }).trim();
    mkdirSync(`${repo}/sub`, { recursive: true });
    writeFileSync(`${repo}/top.txt`, 'v1\n');
    writeFileSync(`${repo}/sub/inner.txt`, 'inner v1\n');
    symlinkSync('/etc', `${repo}/sub/etc-link`);
    g('init', '-q', '-b', 'main');
    g('add', '-A');
    g('commit', '-q', '-m', 'one');
    g('tag', 'v1');
    const first = g('rev-parse', 'HEAD');
    writeFileSync(`${repo}/top.txt`, 'v2\n');
    g('commit', '-q', '-am', 'two');
    execFileSync('git', ['clone', '-q', '--bare', repo, `${work}/served/repo.git`]);
    execFileSync('git', ['update-server-info'], { cwd: `${work}/served/repo.git` });
    const server = createServer((req, res) => {
      const file = `${work}/served${decodeURIComponent(req.url!.split('?')[0])}`;
      if (!file.startsWith(`${work}/served/`) || !existsSync(file) || req.url!.includes('..')) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/repo.git`;
    try {
      const ok = await docker(['build', '-t', 'gitadd', '-'], {
        input: `FROM ${base}\nADD ${url} /src\nADD ${url}#v1:sub /sub\nADD --keep-git-dir=true ${url}#main /kept\nADD --checksum=${first} ${url}#${first} /pinned\n`
          + 'CMD ["sh", "-c", "cat /src/top.txt /src/sub/inner.txt /sub/inner.txt /pinned/top.txt; readlink /sub/etc-link; ls -a /src | grep -c .git; test -d /kept/.git && echo kept"]\n',
      });
      assert.equal(ok.code, 0, ok.out + ok.err);
      assert.equal((await docker(['run', '--rm', 'gitadd'])).out, 'v2\ninner v1\ninner v1\nv1\n/etc\n0\nkept\n');
      const badRef = await docker(['build', '-'], { input: `FROM ${base}\nADD ${url}#nosuch /x\n` });
      assert.match(badRef.err, /ADD failed: git source http:\/\/127\.0\.0\.1:\d+\/repo\.git at nosuch: no branch, tag or commit named nosuch/);
      const pin = await docker(['build', '-'], { input: `FROM ${base}\nADD --checksum=${'0'.repeat(40)} ${url} /x\n` });
      assert.match(pin.err, new RegExp(`expected checksum to match 0{40}, got [0-9a-f]{40}`));
      const ssh = await docker(['build', '-'], { input: `FROM ${base}\nADD git@example.com:org/repo.git /x\n` });
      assert.match(ssh.err, /ssh needs a key: set one in the Builds view's SSH keys .* the docker CLI cannot send SSH keys over the classic protocol/);
      const gone = await docker(['build', '-'], { input: `FROM ${base}\nADD http://127.0.0.1:9/nope.git /x\n` });
      assert.match(gone.err, /ADD failed: git source http:\/\/127\.0\.0\.1:9\/nope\.git: .*(refused|Failed to connect)/i);
    } finally {
      server.close();
    }
  });

  it('COPY --parents keeps the source paths (after a `./` pivot); --exclude leaves matches out; destinations resolve in the rootfs', async () => {
    const dir = context('copyflags', {
      Dockerfile: 'ARG BASE\nFROM ${BASE}\nCOPY --parents a/x.txt b/c/y.txt /p/\nCOPY --parents ./b/./c/*.txt ./tree/./sub/ok /pivot/\nCOPY --exclude=*.log --exclude=**/skip tree /t\n'
        + 'RUN mkdir -p /opt/real && ln -s /opt/real /linked && mkdir -m 0700 /secret && chown 1000:1000 /secret\nCOPY a/x.txt /linked/\nCOPY a/x.txt /secret/\n'
        + 'CMD ["sh", "-c", "cd / && find p pivot t -type f | sort && readlink /linked && ls /opt/real && stat -c %a:%u /secret"]\n',
      'a/x.txt': 'x', 'b/c/y.txt': 'y', 'tree/keep.txt': 'k', 'tree/drop.log': 'd', 'tree/sub/deep.log': 'd', 'tree/sub/ok': 'o', 'tree/sub/skip/z': 'z',
    });
    const r = await build(dir, ['-t', 'copyflags']);
    assert.equal(r.code, 0, r.out + r.err);
    // A destination through a symlink lands where the link points; an existing parent keeps its mode and owner.
    // `./` in a --parents source is the pivot: what follows it is kept.
    assert.equal((await docker(['run', '--rm', 'copyflags'])).out, 'p/a/x.txt\np/b/c/y.txt\npivot/c/y.txt\npivot/sub/ok\nt/keep.txt\nt/sub/deep.log\nt/sub/ok\n/opt/real\nx.txt\n700:1000\n');
  });

  it('is reproducible with SOURCE_DATE_EPOCH: the same inputs give the same image id, without the cache', async () => {
    const noDate = context('repro', {
      Dockerfile: 'ARG BASE\nFROM ${BASE}\nARG TARGETARCH\nRUN echo "$TARGETARCH" > /arch && mkdir -p /out/sub\nCOPY f.txt /out/\nCOPY <<EOF /out/doc\nhello\nEOF\n',
      'f.txt': 'f\n',
    });
    // Two builds a second apart, without the cache: wall-clock mtimes and created times would differ.
    const same: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await build(noDate, ['-q', '--no-cache', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000']);
      same.push(r.out.trim());
      if (i === 0) await new Promise((res) => setTimeout(res, 1100));
    }
    assert.equal(same[0], same[1]);
    assert.match((await docker(['image', 'inspect', same[0], '--format', '{{.Created}}'])).out, /^2023-11-14T22:13:20/);
    assert.match((await docker(['run', '--rm', same[0], 'cat', '/arch'])).out, /^(amd64|arm64|arm|386|ppc64le|s390x)\n$/);
  });

  it('runs independent stages side by side: both RUNs start before either ends', async () => {
    const dir = context('parallel', {
      Dockerfile: `FROM ${base} AS a\nRUN sleep 2 && echo a > /a\nFROM ${base} AS b\nRUN sleep 2 && echo b > /b\nFROM ${base}\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCMD ["cat", "/a", "/b"]\n`,
    });
    const r = await build(dir, ['-t', 'parallel', '--no-cache']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal((await docker(['run', '--rm', 'parallel'])).out, 'a\nb\n');
    // Sequential stages would finish one RUN before the other's Step line.
    const lines = r.out.split('\n');
    const firstEnd = lines.findIndex((l) => l.startsWith(' ---> Removed intermediate container'));
    const runA = lines.findIndex((l) => l.startsWith('Step 2/8 : RUN sleep 2 && echo a'));
    const runB = lines.findIndex((l) => l.startsWith('Step 4/8 : RUN sleep 2 && echo b'));
    assert.ok(runA >= 0 && runB >= 0 && runA < firstEnd && runB < firstEnd, r.out);
  });

  it('gives dockerd\'s errors: HTTP before the first step, in-band after, a RUN\'s exit code as the CLI\'s', async () => {
    const stdin = (text: string, args: string[] = []) => docker(['build', ...args, '-'], { input: text });
    const run3 = await stdin(`FROM ${base}\nRUN exit 3\n`);
    assert.equal(run3.code, 3);
    assert.match(run3.err, /The command '\/bin\/sh -c exit 3' returned a non-zero code: 3/);
    const parse = await stdin(`FROM ${base}\nFOO bar\n`);
    assert.equal(parse.code, 1);
    assert.match(parse.err, /Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO/);
    assert.match((await stdin('')).err, /Error response from daemon: the Dockerfile \(Dockerfile\) cannot be empty/);
    const missing = await stdin(`FROM ${base}\nCOPY nope.txt /x\n`);
    assert.match(missing.out, /^Step 2\/2 : COPY nope.txt \/x$/m);
    assert.match(missing.err, /COPY failed: file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist/);
    assert.match((await stdin(`FROM ${base}\nRUN true\n`, ['--target', 'nosuch'])).err, /target stage "nosuch" could not be found/);
    // Stages that need each other, by name or by index, are refused before any step (BuildKit's words).
    const cycle = await stdin(`FROM ${base} AS one\nCOPY --from=three /a /a\nFROM ${base} AS two\nCOPY --from=one /a /b\nFROM ${base} AS three\nCOPY --from=two /b /c\n`);
    assert.equal(cycle.code, 1);
    assert.match(cycle.err, /Error response from daemon: circular dependency detected on stage: one/);
    assert.doesNotMatch(cycle.out, /Step /);
    assert.match((await stdin(`FROM ${base}\nCOPY --from=0 /etc/passwd /p\n`)).err, /circular dependency detected on stage: stage-0/);
    // A stage named by --from may come later in the file, as in BuildKit: it is built first.
    const forward = await stdin(`FROM ${base} AS app\nCOPY --from=maker /made /made\nRUN cat /made\nFROM ${base} AS maker\nRUN echo made-later > /made\n`, ['--target', 'app']);
    assert.equal(forward.code, 0, forward.out + forward.err);
    assert.match(forward.out, /^made-later$/m);
    const unused = await stdin(`FROM ${base}\nRUN true\n`, ['--build-arg', 'FOO=1']);
    assert.equal(unused.code, 0);
    assert.match(unused.out, /\[Warning\] One or more build-args \[FOO\] were not consumed/);
    assert.match((await stdin(`FROM ${base}\nEXPOSE 99999\n`)).err, /Invalid containerPort: 99999/);
    assert.match((await stdin(`FROM ${base}\nSTOPSIGNAL SIGFOO\n`)).err, /Invalid signal: SIGFOO/);
    assert.match((await stdin('ARG X\nFROM $X\n')).err, /base name \(\$X\) should not be blank/);
    // The failed RUN's container stays, as with dockerd (rm=1, forcerm=0); --force-rm removes it.
    const left = (await docker(['ps', '-aq'])).out.trim().split('\n').filter(Boolean);
    assert.equal(left.length, 1);
    await docker(['rm', '-f', ...left]);
    assert.equal((await stdin(`FROM ${base}\nRUN exit 4\n`, ['--force-rm'])).code, 4);
    assert.equal((await docker(['ps', '-aq'])).out, '');
    // A BuildKit client is told what to do; a body that is not a tar is refused.
    const bk = await rawBuild('/build?version=2', Buffer.alloc(0));
    assert.equal(bk.status, 400);
    assert.match(bk.body, /DOCKER_BUILDKIT=0/);
    const notTar = await rawBuild('/build', Buffer.from('this is not a tar archive'.repeat(40)));
    assert.equal(notTar.status, 400);
    assert.match(notTar.body, /invalid tar header/);
  });

  function rawBuild(path: string, body: Buffer, onData?: (s: string, destroy: () => void) => void): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: daemon.sock, path, method: 'POST', agent: false, headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
          onData?.(text, () => req.destroy());
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        res.on('close', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', (e) => (onData ? resolve({ status: 0, body: String(e) }) : reject(e)));
      req.end(body);
    });
  }

  it('takes contexts as tar, gzip, bzip2, xz or zstd (by content), and refuses an unknown platform', async () => {
    const dir = context('compressed', { Dockerfile: `FROM ${base}\nCOPY f.txt /f.txt\n`, 'f.txt': 'packed\n' });
    const tar = execFileSync('tar', ['-c', '-C', dir, '.']);
    for (const [tool, args] of [['cat', []], ['gzip', ['-c']], ['bzip2', ['-c']], ['xz', ['-c']], ['zstd', ['-c', '-q']]] as const) {
      const body = execFileSync(tool, [...args], { input: tar });
      const r = await rawBuild(`/build?t=packed-${tool}`, body);
      assert.equal(r.status, 200, `${tool}: ${r.body}`);
      assert.match(r.body, /Successfully built/, `${tool}: ${r.body}`);
    }
    assert.equal((await docker(['run', '--rm', 'packed-zstd', 'cat', '/f.txt'])).out, 'packed\n');
    const plat = await rawBuild('/build?platform=foobar', tar);
    assert.equal(plat.status, 400);
    assert.equal(JSON.parse(plat.body).message, '"foobar": unknown operating system or architecture: invalid argument');
  });

  it('keeps a hostile context inside itself: links resolve in the context, `..` and absolute names go nowhere', async () => {
    // A context tar made by hand: links to host paths, a name with `..`, an absolute name.
    const { buildTar } = await import('../../electron/engine/images/tarWriter.ts');
    const body = buildTar([
      { name: 'Dockerfile', type: 'file', mode: 0o644, data: Buffer.from(`FROM ${base}\nCOPY etc/ /ctx-etc/\nCOPY inside.txt /\nCOPY abs.txt /\n`) },
      { name: 'pw', type: 'symlink', mode: 0o777, linkname: '/etc/passwd' },
      { name: 'etcl', type: 'symlink', mode: 0o777, linkname: '../../../../etc' },
      { name: 'etc/own.txt', type: 'file', mode: 0o644, data: Buffer.from('the context\'s own etc\n') },
      { name: '../escape.txt', type: 'file', mode: 0o644, data: Buffer.from('escaped\n') },
      { name: '/abs.txt', type: 'file', mode: 0o644, data: Buffer.from('absolute name, kept inside\n') },
      { name: 'inside.txt', type: 'symlink', mode: 0o777, linkname: '/etc/own.txt' },
    ]);
    const ok = await rawBuild('/build?t=hostile', body);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /Successfully tagged hostile:latest/, ok.body);
    const ls = await docker(['run', '--rm', 'hostile', 'sh', '-c', 'ls /ctx-etc; cat /inside.txt /abs.txt; ls /escape.txt 2>&1']);
    assert.equal(ls.out, 'own.txt\nthe context\'s own etc\nabsolute name, kept inside\nls: /escape.txt: No such file or directory\n');
    assert.ok(!existsSync(`${daemon.base}/escape.txt`) && !existsSync(`${daemon.base}/root/escape.txt`));
    for (const src of ['pw', 'etcl/passwd', 'etcl/shadow']) {
      const r = await rawBuild('/build', buildTar([{ name: 'Dockerfile', type: 'file', mode: 0o644, data: Buffer.from(`FROM ${base}\nCOPY ${src} /x\n`) },
        { name: 'pw', type: 'symlink', mode: 0o777, linkname: '/etc/passwd' }, { name: 'etcl', type: 'symlink', mode: 0o777, linkname: '../../../../etc' }]));
      assert.match(r.body, /file not found in build context/, `${src}: ${r.body}`);
    }
  });

  it('-q, --iidfile and -f - (a Dockerfile from stdin with a context)', async () => {
    const dir = `${work}/app`;
    const q = await build(dir, ['-q']);
    assert.equal(q.code, 0, q.err);
    assert.match(q.out.trim(), /^sha256:[0-9a-f]{64}$/);
    const iid = `${work}/iid`;
    assert.equal((await build(dir, ['--iidfile', iid])).code, 0);
    assert.equal(readFileSync(iid, 'utf8'), q.out.trim());
    const f = await docker(['build', '-f', '-', '-t', 'fromstdin', '.'], { cwd: dir, input: `FROM ${base}\nCOPY hello.txt /h\nCMD ["cat", "/h"]\n` });
    assert.equal(f.code, 0, f.out + f.err);
    assert.equal((await docker(['run', '--rm', 'fromstdin'])).out, 'hello\n');
    const ls = await docker(['run', '--rm', 'fromstdin', 'ls', '-a', '/']);
    assert.doesNotMatch(ls.out, /\.dockerfile/);
  });

  it('cancels a build when the client goes away: the RUN is killed and its container removed', async () => {
    const dir = context('slow', { Dockerfile: `FROM ${base}\nRUN echo started && sleep 60\n` });
    const tar = execFileSync('tar', ['-c', '-C', dir, '.']);
    let destroyedAt = 0;
    await rawBuild('/build', tar, (text, destroy) => {
      if (!destroyedAt && text.includes('started')) {
        destroyedAt = Date.now();
        destroy();
      }
    });
    assert.ok(destroyedAt, 'the RUN started');
    await until(async () => (await docker(['ps', '-aq'])).out === '', 5_000, 'the step container to go');
    assert.ok(Date.now() - destroyedAt < 5_000);
    // The container goes first, then the build's directory.
    await until(() => readdirSync(`${daemon.base}/root/build`).length === 0, 5_000, 'no build directory left');
  });

  it('commit: changes, author, message, parent; a running container is frozen meanwhile; bad changes refused', async () => {
    assert.equal((await docker(['run', '-d', '--name', 'cm', base, 'sh', '-c', 'echo hi > /committed; rm /bin/vi; exec sleep 300'])).code, 0);
    await until(async () => (await docker(['exec', 'cm', 'cat', '/committed'])).out === 'hi\n', 5_000, 'the file');
    const c = await docker(['commit', '-c', 'EXPOSE 8000', '-c', 'CMD ["cat","/committed"]', '-c', 'ENV X=1', '-m', 'msg', '-a', 'me', 'cm', 'snap:1']);
    assert.equal(c.code, 0, c.err);
    assert.equal((await docker(['run', '--rm', 'snap:1'])).out, 'hi\n');
    assert.match((await docker(['run', '--rm', 'snap:1', 'sh', '-c', 'ls /bin/vi 2>&1; echo $X'])).out, /No such file[\s\S]*\n1\n$/);
    const inspect = JSON.parse((await docker(['image', 'inspect', 'snap:1'])).out)[0];
    assert.deepEqual(Object.keys(inspect.Config.ExposedPorts), ['8000/tcp']);
    assert.deepEqual(inspect.Config.Cmd, ['cat', '/committed']);
    assert.equal(inspect.Author, 'me');
    assert.equal(inspect.Comment, 'msg');
    assert.equal(inspect.Parent, (await docker(['image', 'inspect', base, '--format', '{{.Id}}'])).out.trim());
    assert.equal((await docker(['inspect', 'cm', '--format', '{{.State.Status}}'])).out.trim(), 'running');
    const bad = await docker(['commit', '-c', 'FROM x', 'cm', 'snap:2']);
    assert.match(bad.err, /FROM is not a valid change command/);
    assert.match((await docker(['commit', 'nosuch', 'snap:3'])).err, /No such container: nosuch/);
    await docker(['rm', '-f', 'cm']);
    // Removing the image deletes it; its parent (a pulled image) stays.
    assert.equal((await docker(['rmi', 'snap:1'])).code, 0);
    assert.equal((await docker(['image', 'inspect', base])).code, 0);
  });

  it('docker-py builds and reads the image id from the stream', { skip: !hasDockerPy && 'python3-docker is not installed' }, async () => {
    const dir = context('py', { Dockerfile: `FROM ${base}\nRUN echo py-build\nCMD ["echo", "hello world"]\n` });
    const script = [
      'import docker, sys',
      `c = docker.DockerClient(base_url="unix://${daemon.sock}")`,
      `img, logs = c.images.build(path="${dir}", tag="pybuilt", rm=True)`,
      'print(img.id)',
      'print(c.containers.run("pybuilt", remove=True).decode(), end="")',
      'try:',
      `    c.images.build(fileobj=__import__("io").BytesIO(b"FROM ${base}\\nRUN exit 1\\n"))`,
      'except docker.errors.BuildError as e:',
      '    print("error:", e.msg)',
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) => execFile('python3', ['-c', script], (e, o, err) => (e ? reject(new Error(err)) : resolve(o))));
    const [id, hello, err] = out.split('\n');
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hello, 'hello world');
    assert.match(err, /The command '\/bin\/sh -c exit 1' returned a non-zero code: 1/);
    await docker(['container', 'prune', '-f']);
  });

  it('compose v1: build: then up', { skip: !hasCompose && 'docker-compose is not installed' }, async () => {
    const dir = context('compose', {
      'docker-compose.yml': 'version: "3"\nservices:\n  web:\n    build:\n      context: ./web\n      args:\n        MSG: from-compose\n    image: composed:dev\n    command: ["sh", "-c", "cat /msg; sleep 300"]\n',
      'web/Dockerfile': `FROM ${base}\nARG MSG\nRUN echo "$MSG" > /msg\n`,
    });
    const env = { DOCKER_HOST: `unix://${daemon.sock}` };
    const compose = (args: string[]) => new Promise<Run>((resolve) => execFile('docker-compose', ['-p', 'bt', ...args], { cwd: dir, env: { ...process.env, ...env } },
      (e, out, err) => resolve({ code: e ? 1 : 0, out, err })));
    const b = await compose(['build']);
    assert.equal(b.code, 0, b.out + b.err);
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.out + up.err);
    await until(async () => (await docker(['logs', 'bt_web_1'])).out === 'from-compose\n', 10_000, 'the service output');
    assert.equal((await compose(['down'])).code, 0);
  });
});
