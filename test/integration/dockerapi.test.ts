// The real docker CLI (client v28) against `berth daemon` on a unix socket started by the test.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { busyboxTarball } from '../helpers/testEngine.ts';
import { startRegistry, uploadImage, type TestRegistry } from '../helpers/registry.ts';
import { until } from '../helpers/run.ts';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { buildTar } from '../../electron/engine/images/tarWriter.ts';

const DOCKER = '/usr/local/bin/docker';

describe('docker CLI against berth daemon', { timeout: 300_000, skip: !existsSync(DOCKER) && 'the docker CLI is not installed' }, () => {
  let base: string;
  let sock: string;
  let daemon: TestDaemon;
  let reg: TestRegistry;
  let B: string;

  const docker = (args: string[], opts: { input?: string; timeout?: number } = {}) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const p = execFile(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: `${base}/docker-cli` }, timeout: opts.timeout ?? 60_000 }, (e, out, err) => {
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err });
    });
    if (opts.input !== undefined) p.stdin!.end(opts.input);
    else p.stdin!.end();
  });
  const ok = async (args: string[], input?: string) => {
    const r = await docker(args, { input });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const api = (method: string, path: string, body?: string, type = 'application/json') => new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, agent: false, headers: body ? { 'content-type': type } : {} }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : Buffer.from(body, type === 'application/json' ? 'utf8' : 'latin1'));
  });

  before(async () => {
    reg = await startRegistry();
    B = `${reg.host}/busybox`;
    await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
    daemon = await startDaemon();
    base = daemon.base;
    sock = daemon.sock;
  });
  after(async () => {
    await daemon?.stop();
    await reg?.stop();
  });

  it('version and ping negotiate the API; errors are exact JSON', async () => {
    const v = await ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}}']);
    assert.match(v.trim(), /^1\.4\d 1\.24$/);
    const ping = await api('GET', '/_ping');
    assert.equal(ping.body, 'OK');
    assert.ok(ping.headers['api-version']);
    const miss = await api('GET', '/v1.41/containers/nope/json');
    assert.equal(miss.status, 404);
    assert.equal(miss.headers['content-type'], 'application/json');
    assert.match(JSON.parse(miss.body).message, /No such container: nope/);
    const bad = await api('POST', '/containers/create', '{"Image": 5');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /malformed JSON/);
    const wrongType = await api('POST', '/containers/create', '{"Image": "busybox", "Cmd": 7}');
    assert.equal(wrongType.status, 400);
    const long = await api('POST', `/containers/create?name=${'x'.repeat(300)}`, JSON.stringify({ Image: B }));
    assert.equal(long.status, 400);
    const old = await api('GET', '/v1.12/version');
    assert.equal(old.status, 400);
  });

  it('wire pitfalls: identity rules, lenient booleans, both filter shapes, /wait headers at once', async () => {
    await ok(['pull', '-q', B]);
    // Seventeen IDs share a first hex digit somewhere (pigeonhole): that prefix is ambiguous.
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) ids.push(JSON.parse((await api('POST', '/containers/create', JSON.stringify({ Image: B, Cmd: ['true'], Labels: { pit: 'fall' } }))).body).Id);
    const first = [...'0123456789abcdef'].find((c) => ids.filter((id) => id.startsWith(c)).length > 1)!;
    const amb = await api('GET', `/containers/${first}/json`);
    assert.equal(amb.status, 400);
    assert.match(JSON.parse(amb.body).message, /multiple IDs found with provided prefix: /);
    const unique = ids.find((id) => ids.filter((o) => o.startsWith(id.slice(0, 8))).length === 1)!;
    assert.equal(JSON.parse((await api('GET', `/containers/${unique.slice(0, 8)}/json`)).body).Id, unique, 'a unique prefix resolves');
    // Names: stored and listed with a leading slash, found with or without it; one character is invalid.
    const named = await api('POST', '/containers/create?name=/slashed', JSON.stringify({ Image: B, Cmd: ['true'], Labels: { pit: 'fall' } }));
    assert.equal(named.status, 201, named.body);
    assert.equal(JSON.parse((await api('GET', '/containers/slashed/json')).body).Name, '/slashed');
    assert.equal((await api('GET', '/containers/%2Fslashed/json')).status, 200);
    const listed = JSON.parse((await api('GET', '/containers/json?all=1&filters={"name":["slashed"]}')).body);
    assert.deepEqual(listed.map((c: { Names: string[] }) => c.Names), [['/slashed']]);
    assert.equal((await api('POST', '/containers/create?name=a', JSON.stringify({ Image: B }))).status, 400);
    assert.equal((await api('POST', '/containers/create?name=slashed', JSON.stringify({ Image: B }))).status, 409);
    // Booleans the Docker way; the legacy and the current filter encodings; label filters are ANDed.
    for (const all of ['1', 'true', 'True', 'yes']) assert.equal(JSON.parse((await api('GET', `/containers/json?all=${all}&filters={"label":{"pit=fall":true}}`)).body).length, 18, `all=${all}`);
    for (const all of ['0', 'false', 'False', 'no', 'none', '']) assert.equal(JSON.parse((await api('GET', `/containers/json?all=${all}&filters={"label":["pit=fall"]}`)).body).length, 0, `all=${all}`);
    assert.equal(JSON.parse((await api('GET', '/containers/json?all=1&filters={"label":["pit=fall","pit=other"]}')).body).length, 0);
    // /wait answers 200 headers before the container exits (the CLI waits for them before /start).
    const waiter = JSON.parse((await api('POST', '/containers/create', JSON.stringify({ Image: B, Cmd: ['sleep', '1'], Labels: { pit: 'fall' } }))).body).Id;
    const headersAt = await new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      request({ socketPath: sock, agent: false, method: 'POST', path: `/containers/${waiter}/wait?condition=next-exit` }, (r) => {
        resolve(Date.now() - t0);
        r.resume();
      }).on('error', reject).end();
      setTimeout(() => void api('POST', `/containers/${waiter}/start`), 300);
    });
    assert.ok(headersAt < 250, `wait headers came after ${headersAt} ms, before the start`);
    await ok(['rm', '-f', ...ids, 'slashed', waiter]);
  });

  it('a client that vanishes mid-stream or half-opens a request leaves the daemon serving', async () => {
    const id = (await ok(['run', '-d', '--name', 'streamer', B, 'sh', '-c', 'while true; do echo tick; sleep 0.05; done'])).trim();
    const cut = (path: string, method = 'GET') => new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: sock, method, path, agent: false }, (r) => {
        const drop = () => {
          req.destroy();
          resolve();
        };
        r.once('data', drop);
        setTimeout(drop, 200); // a stream with nothing to say yet (events)
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(e))).end();
    });
    for (let i = 0; i < 5; i++) {
      await cut(`/containers/${id}/logs?follow=1&stdout=1`);
      await cut(`/containers/${id}/stats?stream=1`);
      await cut('/events');
      await cut(`/containers/${id}/attach?stream=1&stdout=1`, 'POST');
    }
    // A request cut off inside its headers, and one whose body never completes.
    for (const raw of ['GET /containers/json HTTP/1.1\r\nHost: x\r\n', `POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Image":`]) {
      await new Promise<void>((resolve) => {
        const s = connect(sock, () => s.end(raw));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
        setTimeout(() => s.destroy(), 5_000);
      });
    }
    assert.equal((await api('GET', '/_ping')).body, 'OK');
    assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'streamer'])).trim(), 'true');
    assert.match(await ok(['logs', '--tail', '1', 'streamer']), /tick/);
    assert.equal(JSON.parse((await api('GET', '/containers/json?all=1')).body).filter((c: { Names: string[] }) => c.Names[0] === '/streamer').length, 1);
    await ok(['rm', '-f', 'streamer']);
  });

  it('pull, run --rm (exit codes, stdin, tty), images, info', async () => {
    const pull = await ok(['pull', B]);
    assert.match(pull, /Downloaded newer image|Image is up to date/);
    assert.equal(await ok(['run', '--rm', B, 'echo', 'hello']), 'hello\n');
    assert.equal((await docker(['run', '--rm', B, 'sh', '-c', 'exit 3'])).code, 3);
    const missing = await docker(['run', '--rm', B, 'nosuchcmd']);
    assert.equal(missing.code, 127);
    assert.match(missing.err, /executable file not found/);
    assert.equal(await ok(['run', '--rm', '-i', B, 'sh', '-c', 'cat; echo done'], 'from stdin\n'), 'from stdin\ndone\n');
    const tty = await docker(['run', '--rm', '-t', B, 'sh', '-c', 'test -t 1 && echo is-a-tty'], { input: '' });
    assert.match(tty.out, /is-a-tty/);
    const images = await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(images, new RegExp(`${B}:latest`));
    const info = JSON.parse(await ok(['info', '--format', '{{json .}}']));
    assert.ok(info.NCPU >= 1 && info.MemTotal > 0);
    assert.equal(info.Images, 2);
  });

  it('run -d, ps with filters, logs --tail -f, exec, stats, top, inspect, stop, kill, rm -f', async () => {
    const id = (await ok(['run', '-d', '--name', 'ticker', '--label', 'app=berth', B, 'sh', '-c', 'i=0; while true; i=$((i+1)); do echo line-$i; sleep 0.2; done'])).trim();
    assert.match(id, /^[a-f0-9]{64}$/);
    assert.equal((await ok(['ps', '--filter', 'label=app=berth', '--format', '{{.Names}} {{.Status}}'])).split(' ')[0], 'ticker');
    assert.equal(await ok(['ps', '-a', '--filter', 'status=exited', '--filter', 'name=ticker', '-q']), '');
    await until(async () => (await ok(['logs', 'ticker'])).includes('line-3'), 10_000, 'logs');
    const tail = (await ok(['logs', '--tail', '2', 'ticker'])).trim().split('\n');
    assert.equal(tail.length, 2);
    const follow = await docker(['logs', '-f', '--tail', '1', 'ticker'], { timeout: 1500 });
    assert.ok(follow.out.trim().split('\n').length >= 2, 'follow streams new lines');
    assert.equal(await ok(['exec', 'ticker', 'echo', 'in-exec']), 'in-exec\n');
    assert.equal(await ok(['exec', '-i', 'ticker', 'sh', '-c', 'cat | wc -c'], '12345'), '5\n');
    assert.equal((await docker(['exec', 'ticker', 'sh', '-c', 'exit 4'])).code, 4);
    const stats = await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'ticker']);
    assert.match(stats, /^ticker [1-9]/);
    const top = await ok(['top', 'ticker']);
    assert.match(top, /while true/);
    assert.equal((await ok(['inspect', '-f', '{{.State.Running}} {{.Config.Labels.app}} {{.HostConfig.LogConfig.Type}}', 'ticker'])).trim(), 'true berth json-file');
    await ok(['stop', '-t', '1', 'ticker']);
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'ticker'])).trim(), 'exited');
    await ok(['start', 'ticker']);
    await ok(['kill', 'ticker']);
    assert.equal((await ok(['inspect', '-f', '{{.State.ExitCode}}', 'ticker'])).trim(), '137');
    await ok(['rm', '-f', 'ticker']);
    assert.equal((await docker(['inspect', 'ticker'])).code, 1);
  });

  it('TTYs come from the container\'s own devpts: exec -t names a pty that exists inside, job control works', async () => {
    await ok(['run', '-d', '--name', 'ttys', B, 'sleep', '300']);
    const name = (await ok(['exec', '-t', 'ttys', 'tty'])).trim();
    assert.match(name, /^\/dev\/pts\/\d+$/);
    assert.equal((await ok(['exec', '-t', 'ttys', 'sh', '-c', 'test -c "$(tty)" && ls /dev/pts | grep -c .'])).trim() >= '2', true, 'the pty and ptmx are inside');
    const size = await ok(['exec', '-t', '-e', 'X=1', 'ttys', 'sh', '-c', 'stty size; printf "a\\nb\\n"']);
    assert.match(size, /^\d+ \d+\r\na\r\nb\r\n$/, 'one line discipline: \\n becomes \\r\\n once');
    // An interactive shell under a real terminal on the client side: job control needs a controlling tty.
    const script = await new Promise<string>((resolve) => {
      const p = spawn('script', ['-qec', `${DOCKER} exec -it ttys sh`, '/dev/null'], { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: `${base}/docker-cli` } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => resolve(out));
      p.stdin.write('sleep 30 &\n');
      setTimeout(() => p.stdin.write('jobs; kill %1; wait; echo waited\nexit\n'), 500);
    });
    assert.match(script, /\[1\]\+? +Running +sleep 30/, script);
    assert.match(script, /\[1\]\+? +Terminated +sleep 30/, script);
    assert.doesNotMatch(script, /can't access tty|job control turned off/, script);
    await ok(['rm', '-f', 'ttys']);
    await ok(['run', '-d', '-t', '--name', 'ttyc', B, 'sleep', '300']);
    assert.match(await ok(['exec', 'ttyc', 'ls', '-l', '/dev/console']), /^c/, 'a TTY container has /dev/console');
    await ok(['rm', '-f', 'ttyc']);
  });

  it('--init: pid 1 reaps orphaned zombies, forwards signals and exits as the command did', async () => {
    // The command execs a sleep as the container's main process: it never waits, so an
    // orphan reparented to pid 1 stays a zombie unless pid 1 is an init.
    const orphan = ['sh', '-c', '(sleep 0.1 &); exec sleep 300'];
    await ok(['run', '-d', '--name', 'noinit', B, ...orphan]);
    await ok(['run', '-d', '--init', '--name', 'withinit', B, ...orphan]);
    const zombies = async (c: string) => (await ok(['exec', c, 'ps', '-o', 'stat,comm'])).split('\n').filter((l) => /^Z/.test(l.trim())).length;
    await until(async () => (await zombies('noinit')) === 1, 5000, 'the orphan to be a zombie without --init');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await zombies('withinit'), 0, 'the init reaped it');
    assert.match(await ok(['exec', 'withinit', 'ps', '-o', 'pid,comm']), /^\s*1 init\s*$/m);
    assert.equal((await ok(['inspect', '-f', '{{.HostConfig.Init}}', 'withinit', 'noinit'])).trim(), 'true\n<nil>'.replace('<nil>', (await ok(['inspect', '-f', '{{.HostConfig.Init}}', 'noinit'])).trim()));
    const t0 = Date.now();
    await ok(['stop', '-t', '10', 'withinit']); // SIGTERM reaches the sleep, which is not pid 1 and so dies of it
    assert.ok(Date.now() - t0 < 5000, 'the stop signal was forwarded');
    assert.equal((await ok(['inspect', '-f', '{{.State.ExitCode}}', 'withinit'])).trim(), '143');
    assert.equal((await docker(['run', '--rm', '--init', B, 'sh', '-c', 'exit 3'])).code, 3);
    const missing = await docker(['run', '--rm', '--init', B, 'nosuchcmd']);
    assert.equal(missing.code, 127);
    assert.match(missing.err, /executable file not found/);
    await ok(['rm', '-f', 'noinit', 'withinit']);
  });

  it('health checks: starting, unhealthy after the retries, healthy again, with events, ps and filters; the image\'s check', async () => {
    const since = Math.floor(Date.now() / 1000);
    await ok(['run', '-d', '--name', 'hc', '--health-cmd', 'test -f /tmp/ok && echo fine', '--health-interval', '300ms', '--health-retries', '2', '--health-timeout', '2s', B, 'sleep', '300']);
    assert.match(await ok(['ps', '--format', '{{.Status}}', '-f', 'name=hc']), /^Up .* \(health: starting\)$/m);
    assert.equal((await ok(['ps', '-q', '-f', 'health=starting'])).trim().length, 12);
    const health = async () => JSON.parse(await ok(['inspect', '-f', '{{json .State.Health}}', 'hc']));
    await until(async () => (await health()).Status === 'unhealthy', 10_000, 'unhealthy');
    let h = await health();
    assert.ok(h.FailingStreak >= 2);
    assert.equal(h.Log.at(-1).ExitCode, 1);
    assert.match(await ok(['ps', '--format', '{{.Status}}', '-f', 'health=unhealthy']), /\(unhealthy\)/);
    await ok(['exec', 'hc', 'touch', '/tmp/ok']);
    await until(async () => (await health()).Status === 'healthy', 10_000, 'healthy again');
    h = await health();
    assert.equal(h.FailingStreak, 0);
    assert.deepEqual([h.Log.at(-1).ExitCode, h.Log.at(-1).Output], [0, 'fine\n']);
    assert.ok(h.Log.length <= 5, 'the last five results');
    assert.match(await ok(['ps', '--format', '{{.Names}} {{.Status}}', '-f', 'health=healthy']), /^hc Up .* \(healthy\)$/m);
    assert.equal(await ok(['ps', '-q', '-f', 'health=none', '-f', 'name=hc']), '');
    const events = await ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '-f', 'container=hc', '--format', '{{.Action}}']);
    assert.deepEqual(events.split('\n').filter((l) => l.startsWith('health_status')), ['health_status: unhealthy', 'health_status: healthy']);
    await ok(['stop', '-t', '0', 'hc']);
    assert.equal((await health()).Status, 'unhealthy', 'a stopped container reads unhealthy, as in dockerd');
    assert.match(await ok(['ps', '-a', '--format', '{{.Status}}', '-f', 'name=hc']), /^Exited \(137\)/);
    await ok(['rm', 'hc']);
    // a timed-out check
    await ok(['run', '-d', '--name', 'hct', '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', B, 'sleep', '300']);
    await until(async () => (await ok(['inspect', '-f', '{{.State.Health.Status}}', 'hct'])).trim() === 'unhealthy', 10_000, 'timeout to count as a failure');
    const last = JSON.parse(await ok(['inspect', '-f', '{{json .State.Health.Log}}', 'hct'])).at(-1);
    assert.deepEqual([last.ExitCode, last.Output], [-1, 'Health check exceeded timeout (0.3s)']);
    await ok(['rm', '-f', 'hct']);
    // the image's HEALTHCHECK, overridden field by field, and --no-healthcheck
    await uploadImage(reg, 'busybox', 'checked', [readFileSync(busyboxTarball())], { cmd: ['sleep', '300'], config: { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 200_000_000, Retries: 4 } } });
    await ok(['run', '-d', '--name', 'hci', '--health-retries', '1', `${B}:checked`]);
    assert.equal((await ok(['inspect', '-f', '{{json .Config.Healthcheck}}', 'hci'])).trim(), '{"Test":["CMD-SHELL","true"],"Interval":200000000,"Retries":1}');
    await until(async () => (await ok(['inspect', '-f', '{{.State.Health.Status}}', 'hci'])).trim() === 'healthy', 10_000, 'the image\'s check to pass');
    await ok(['run', '-d', '--name', 'hcn', '--no-healthcheck', `${B}:checked`]);
    assert.equal((await ok(['inspect', '-f', '{{.State.Health}}', 'hcn'])).trim(), '<nil>');
    assert.doesNotMatch(await ok(['ps', '--format', '{{.Status}}', '-f', 'name=hcn']), /health/);
    await ok(['rm', '-f', 'hci', 'hcn']);
    await ok(['rmi', `${B}:checked`]);
    // bad input: named, and nothing created
    const bad = await docker(['create', '--name', 'hcbad', '--health-cmd', 'true', '--health-interval', '1us', B]);
    assert.match(bad.err, /Interval in Healthcheck cannot be less than 1ms/);
    const badTest = await api('POST', '/containers/create?name=hcbad', JSON.stringify({ Image: B, Healthcheck: { Test: ['RUN', 'true'] } }));
    assert.equal(badTest.status, 400);
    assert.match(JSON.parse(badTest.body).message, /Healthcheck.Test "RUN".*NONE, CMD or CMD-SHELL/);
    const badFilter = await docker(['ps', '-f', 'health=sick']);
    assert.match(badFilter.err, /Unrecognised filter value for health: sick/);
    assert.equal((await docker(['inspect', 'hcbad'])).code, 1);
  });

  it('detach keys: attach and exec end the client\'s connection on the sequence, the processes keep running', async () => {
    /** An upgraded connection to path; resolves with everything the engine sent once it closes it. */
    const upgrade = (path: string, body: string, send: Buffer[]) => new Promise<string>((resolve, reject) => {
      const s = connect(sock, () => {
        s.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
      let got = '';
      let sent = false;
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (!sent && got.includes('\r\n\r\n')) {
          sent = true;
          let delay = 200;
          for (const b of send) setTimeout(() => s.write(b), (delay += 300));
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(got));
      setTimeout(() => s.destroy(new Error(`no detach within 10 s: ${JSON.stringify(got)}`)), 10_000).unref();
    });
    const id = (await ok(['run', '-d', '-i', '-t', '--name', 'dk', B, 'sh'])).trim();
    // The default sequence, ctrl-p ctrl-q; a lone ctrl-p is passed on when another key follows.
    const got = await upgrade(`/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, '', [Buffer.from('echo one-$((1+1))\n'), Buffer.from([0x10, 0x61, 0x08]), Buffer.from([0x10]), Buffer.from([0x11])]);
    assert.match(got, /^HTTP\/1\.1 101 UPGRADED/);
    assert.match(got, /one-2/);
    assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'dk'])).trim(), 'true', 'the container keeps running');
    // A custom sequence on attach, and a bad one refused.
    const custom = await upgrade(`/containers/${id}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,y`, '', [Buffer.from('echo two-$((1+1))\n'), Buffer.from([0x18, 0x79])]);
    assert.match(custom, /two-2/);
    const bad = await api('POST', `/containers/${id}/attach?stream=1&stdin=1&detachKeys=ctrl-bogus`);
    assert.deepEqual([bad.status, JSON.parse(bad.body).message], [400, 'Invalid detach keys (ctrl-bogus) provided']);
    // exec: the detached shell keeps running with the job it started.
    const ex = JSON.parse((await api('POST', `/containers/${id}/exec`, JSON.stringify({ Cmd: ['sh'], AttachStdin: true, AttachStdout: true, Tty: true, DetachKeys: 'ctrl-e,e' }))).body).Id;
    const exOut = await upgrade(`/exec/${ex}/start`, JSON.stringify({ Tty: true }), [Buffer.from('sleep 171\n'), Buffer.from([0x05, 0x65])]);
    assert.match(exOut, /sleep 171/);
    const exec = JSON.parse((await api('GET', `/exec/${ex}/json`)).body);
    assert.deepEqual([exec.Running, exec.DetachKeys], [true, 'ctrl-e,e']);
    assert.match(await ok(['top', 'dk']), /sleep 171/);
    const badExec = await api('POST', `/containers/${id}/exec`, JSON.stringify({ Cmd: ['sh'], DetachKeys: 'ctrl-xx' }));
    assert.deepEqual([badExec.status, JSON.parse(badExec.body).message], [400, 'Invalid escape keys (ctrl-xx) provided']);
    await ok(['rm', '-f', 'dk']);
  });

  it('run options: pid, ipc, uts and cgroup namespaces, group-add, devices, MAC, unset env, runtime and isolation', async () => {
    const ownPid = async (args: string[]) => (await ok(['run', '--rm', ...args, B, 'sh', '-c', 'ps -o pid,comm | grep -c .'])).trim();
    assert.ok(Number(await ownPid(['--pid', 'host'])) > 10, 'the host\'s processes');
    await ok(['run', '-d', '--name', 'donor', '--ipc', 'shareable', B, 'sleep', '300']);
    assert.match(await ok(['run', '--rm', '--pid', 'container:donor', B, 'ps', '-o', 'pid,comm']), /^\s*1 sleep$/m, 'the donor\'s pid 1');
    await ok(['exec', 'donor', 'sh', '-c', 'echo shared > /dev/shm/f']);
    assert.equal(await ok(['run', '--rm', '--ipc', 'container:donor', B, 'cat', '/dev/shm/f']), 'shared\n');
    const ipcNs = (args: string[]) => ok(['run', '--rm', ...args, B, 'readlink', '/proc/self/ns/ipc']);
    assert.equal(await ipcNs(['--ipc', 'container:donor']), await ok(['exec', 'donor', 'readlink', '/proc/self/ns/ipc']));
    assert.equal(await ipcNs(['--ipc', 'host']), `${readlinkSync('/proc/self/ns/ipc')}\n`);
    assert.notEqual(await ipcNs([]), `${readlinkSync('/proc/self/ns/ipc')}\n`);
    assert.equal((await docker(['run', '--rm', '--ipc', 'none', B, 'ls', '/dev/shm'])).code, 1, 'no /dev/shm');
    await ok(['run', '-d', '--name', 'private', B, 'sleep', '300']);
    const notShareable = await docker(['run', '--rm', '--ipc', 'container:private', B, 'true']);
    assert.match(notShareable.err, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    assert.equal(await ok(['run', '--rm', '--uts', 'host', B, 'hostname']), `${hostname()}\n`);
    assert.equal(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), hostname(), 'the host keeps its name');
    assert.match((await docker(['run', '--rm', '--uts', 'host', '-h', 'x1', B, 'true'])).err, /conflicting options: hostname and the UTS mode/);
    assert.equal(await ok(['run', '--rm', '--cgroupns', 'host', B, 'readlink', '/proc/self/ns/cgroup']), `${readlinkSync('/proc/self/ns/cgroup')}\n`);
    assert.equal(await ok(['run', '--rm', '--group-add', '123', '--group-add', 'wheel', B, 'id', '-G']), '0 10 123\n');
    assert.match((await docker(['run', '--rm', '--group-add', 'nosuch', B, 'id'])).err, /Unable to find group nosuch: no matching entries in group file/);
    assert.match(await ok(['run', '--rm', '--device', '/dev/null:/dev/mynull', B, 'sh', '-c', 'ls -l /dev/mynull && echo hi > /dev/mynull && echo written']), /^crw-rw-rw- .* 1,\s+3 .*\/dev\/mynull\nwritten$/m);
    assert.match((await docker(['run', '--rm', '--device', '/dev/nonexist', B, 'true'])).err, /error gathering device information while adding custom device "\/dev\/nonexist": no such file or directory/);
    // The device cgroup: a node given with r only cannot be opened for writing; with rwm it can.
    const openForWrite = (perms: string) => docker(['run', '--rm', '--device', `/dev/loop-control:/dev/z2:${perms}`, B, 'sh', '-c', ': >> /dev/z2 && echo opened']);
    assert.equal((await openForWrite('rwm')).out, 'opened\n');
    assert.match((await openForWrite('r')).err, /Operation not permitted/);
    assert.equal(await ok(['run', '--rm', '--mac-address', '02:42:ac:11:00:99', B, 'cat', '/sys/class/net/eth0/address']), '02:42:ac:11:00:99\n');
    assert.match((await docker(['run', '--rm', '--mac-address', '03:00:00:00:00:01', B, 'true'])).err, /invalid MAC address: 03:00:00:00:00:01/);
    const env = await docker(['run', '--rm', '-e', 'NOTSET_IN_CLIENT', '-e', 'A=1', B, 'sh', '-c', 'echo $A; env | grep -c NOTSET_IN_CLIENT']);
    assert.equal(env.out, '1\n0\n', 'a bare name is not set in the container');
    // A real-time budget needs one in the cgroup above: the kernel's refusal is named with the fix.
    if (existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us')) {
      assert.match((await docker(['run', '--rm', '--cpu-rt-runtime', '1000', B, 'true'])).err, /the kernel refused a real-time budget of 1000 µs .*give \S+ a cpu\.rt_runtime_us at least that large first/);
    }
    assert.match((await docker(['run', '--rm', '--runtime', 'crun', B, 'true'])).err, /unknown or invalid runtime name: crun/);
    assert.match((await docker(['run', '--rm', '--isolation', 'hyperv', B, 'true'])).err, /Invalid isolation: "hyperv" - linux only supports 'default'/);
    assert.match((await docker(['run', '--rm', '--ipc', 'bogus', B, 'true'])).err, /Invalid IPC mode: bogus/);
    assert.equal((await ok(['inspect', '-f', '{{.HostConfig.Runtime}} {{.HostConfig.IpcMode}}', 'donor'])).trim(), 'runc shareable');
    await ok(['rm', '-f', 'donor', 'private']);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(`${base}/run`) && /\/shm /.test(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(base)).join('\n')), false, 'the shareable /dev/shm is unmounted');
  });

  it('log drivers: json-file and local keep logs with rotation, none keeps nothing, an unknown one is refused', async () => {
    await ok(['run', '-d', '--name', 'lnone', '--log-driver', 'none', B, 'echo', 'hi']);
    await until(async () => (await ok(['inspect', '-f', '{{.State.Status}}', 'lnone'])).trim() === 'exited', 5000, 'exit');
    const none = await docker(['logs', 'lnone']);
    assert.equal(none.code, 1);
    assert.match(none.err, /configured logging driver does not support reading/);
    assert.equal(await ok(['run', '--rm', '--log-driver', 'none', B, 'echo', 'attached']), 'attached\n', 'attach still sees the output');
    await ok(['run', '-d', '--name', 'llocal', '--log-driver', 'local', B, 'echo', 'kept']);
    await until(async () => (await ok(['logs', 'llocal'])) === 'kept\n', 5000, 'local logs');
    assert.equal((await ok(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', 'llocal'])).trim(), 'local');
    await ok(['run', '-d', '--name', 'lrot', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', B, 'sh', '-c', 'for i in $(seq 200); do echo line-$i-xxxxxxxxxxxxxxxxxxxx; done']);
    await until(async () => (await ok(['inspect', '-f', '{{.State.Status}}', 'lrot'])).trim() === 'exited', 5000, 'exit');
    const kept = (await ok(['logs', 'lrot'])).trim().split('\n');
    assert.ok(kept.length < 100 && kept.at(-1) === 'line-200-xxxxxxxxxxxxxxxxxxxx', `rotation keeps the newest lines: ${kept.length}`);
    assert.match((await docker(['run', '--rm', '--log-driver', 'bogus', B, 'true'])).err, /error looking up logging plugin bogus: plugin "bogus" not found/);
    assert.match((await docker(['run', '--rm', '--log-opt', 'max-size=bogus', B, 'true'])).err, /failed to initialize logging driver: invalid size: 'bogus'/);
    assert.match((await docker(['run', '--rm', '--log-driver', 'none', '--log-opt', 'max-size=1m', B, 'true'])).err, /invalid logging opts for driver none/);
    await ok(['rm', '-f', 'lnone', 'llocal', 'lrot']);
  });

  it('prune filters: until, label and label! for containers and images; bad filters refused; image counts match info', async () => {
    await ok(['create', '--name', 'pk1', '--label', 'keep=yes', B, 'true']);
    await ok(['create', '--name', 'pk2', '--label', 'keep=no', B, 'true']);
    await ok(['create', '--name', 'pk3', B, 'true']);
    const names = async () => (await ok(['ps', '-a', '--format', '{{.Names}}'])).trim().split('\n').filter(Boolean).sort();
    assert.match((await docker(['container', 'prune', '-f', '--filter', 'bogus=1'])).err, /Invalid filter 'bogus'/);
    assert.match((await docker(['container', 'prune', '-f', '--filter', 'until=soon'])).err, /invalid value for filter 'until': soon/);
    assert.deepEqual(await names(), ['pk1', 'pk2', 'pk3'], 'a refused prune removes nothing');
    await ok(['container', 'prune', '-f', '--filter', 'label=keep=no']);
    assert.deepEqual(await names(), ['pk1', 'pk3']);
    await ok(['container', 'prune', '-f', '--filter', 'label!=keep=yes']);
    assert.deepEqual(await names(), ['pk1']);
    await ok(['container', 'prune', '-f', '--filter', 'until=1h']);
    assert.deepEqual(await names(), ['pk1'], 'younger than an hour');
    await ok(['container', 'prune', '-f', '--filter', 'until=0s']);
    assert.deepEqual(await names(), []);
    await ok(['tag', B, 'prune-me:1']);
    const count = async () => [JSON.parse((await api('GET', '/images/json')).body).length, JSON.parse(await ok(['info', '--format', '{{json .Images}}']))];
    const [listed, info] = await count();
    assert.equal(listed, info, 'one entry per image, as info counts them');
    // The test image was made in 2026-01-01: older than a date before it is false, so it stays.
    await ok(['image', 'prune', '-a', '-f', '--filter', 'until=2025-12-31T00:00:00']);
    assert.match(await ok(['images', '--format', '{{.Repository}}']), /prune-me/);
    await ok(['image', 'prune', '-a', '-f', '--filter', 'label=nosuch']);
    assert.match(await ok(['images', '--format', '{{.Repository}}']), /prune-me/, 'no image has that label');
    assert.match((await docker(['image', 'prune', '-f', '--filter', 'bogus=1'])).err, /Invalid filter 'bogus'/);
    await ok(['rmi', 'prune-me:1']);
    // system prune ends with the build cache (/build/prune), which answered 404 before.
    assert.match(await ok(['system', 'prune', '-f']), /Total reclaimed space/);
  });

  it('update changes limits of a running container at once, and refuses bad values without changing anything', async () => {
    await ok(['run', '-d', '--name', 'upd', '--memory', '128m', B, 'sleep', '300']);
    const cg = (v2: string, v1: string) => ok(['exec', 'upd', 'sh', '-c', `cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1}`]);
    assert.equal((await cg('memory.max', 'memory/memory.limit_in_bytes')).trim(), String(128 * 2 ** 20));
    assert.equal((await ok(['update', '--memory', '64m', '--memory-swap', '-1', '--pids-limit', '50', '--cpus', '0.5', '--restart', 'on-failure:3', 'upd'])).trim(), 'upd');
    assert.equal((await cg('memory.max', 'memory/memory.limit_in_bytes')).trim(), String(64 * 2 ** 20));
    assert.equal((await cg('pids.max', 'pids/pids.max')).trim(), '50');
    assert.match((await cg('cpu.max', 'cpu/cpu.cfs_quota_us')).trim(), /^50000( 100000)?$/);
    const inspect = () => ok(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd']);
    const after = (await inspect()).trim();
    assert.equal(after, `${64 * 2 ** 20} 500000000 50 on-failure:3`);
    const bad = await docker(['update', '--memory', '1m', 'upd']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /Minimum memory limit allowed is 6MB/i);
    assert.equal((await inspect()).trim(), after, 'a refused update changes nothing');
    assert.equal((await cg('memory.max', 'memory/memory.limit_in_bytes')).trim(), String(64 * 2 ** 20));
    await ok(['rm', '-f', 'upd']);
  });

  it('credentials the client holds (X-Registry-Auth) reach a registry the daemon never logged in to', async () => {
    const user = { username: 'cli-user', password: 'cli-secret' };
    const authReg = await startRegistry({ auth: user });
    try {
      const withCreds = `${base}/cli-with-creds`;
      mkdirSync(withCreds, { recursive: true });
      writeFileSync(`${withCreds}/config.json`, JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') } } }));
      const as = (config: string, args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: config }, timeout: 60_000 }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
      });
      await ok(['pull', '-q', B]);
      await ok(['tag', B, `${authReg.host}/private/bb:1`]);
      const anon = await as(`${base}/cli-anonymous`, ['push', `${authReg.host}/private/bb:1`]);
      assert.notEqual(anon.code, 0, 'no credentials anywhere: refused');
      assert.match(anon.err, /authentication required|unauthorized/i);
      const pushed = await as(withCreds, ['push', `${authReg.host}/private/bb:1`]);
      assert.equal(pushed.code, 0, pushed.err);
      await ok(['rmi', `${authReg.host}/private/bb:1`]);
      const pulled = await as(withCreds, ['pull', `${authReg.host}/private/bb:1`]);
      assert.equal(pulled.code, 0, pulled.err);
      assert.equal((await api('GET', `/images/${authReg.host}/private/bb:1/json`)).status, 200);
      await ok(['rmi', `${authReg.host}/private/bb:1`]);
    } finally {
      await authReg.stop();
    }
  });

  it('cp both ways, diff, export; cp archives cannot write outside the container', async () => {
    await ok(['run', '-d', '--name', 'files', B, 'sleep', '300']);
    await ok(['exec', 'files', 'sh', '-c', 'echo inside > /tmp/made.txt && rm /bin/vi && mkdir /data && ln -s /etc /data/etc-link && ln -s / /data/up']);
    const diff = (await ok(['diff', 'files'])).trim().split('\n');
    for (const line of ['C /bin', 'D /bin/vi', 'A /data', 'A /tmp/made.txt']) assert.ok(diff.includes(line), `${line} in ${diff.join(', ')}`);
    assert.ok(!diff.includes('A /etc/hostname'), 'the engine\'s own files are not changes');
    const out = `${base}/cp-out`;
    await ok(['cp', 'files:/tmp/made.txt', out]);
    assert.equal(readFileSync(out, 'utf8'), 'inside\n');
    await ok(['cp', 'files:/etc', `${base}/cp-etc`]);
    assert.ok(existsSync(`${base}/cp-etc/passwd`));
    writeFileSync(`${base}/cp-in.txt`, 'from host\n');
    await ok(['cp', `${base}/cp-in.txt`, 'files:/data/']);
    assert.equal(await ok(['exec', 'files', 'cat', '/data/cp-in.txt']), 'from host\n');
    // Symlinks in the destination resolve inside the container, never on the host.
    await ok(['cp', `${base}/cp-in.txt`, 'files:/data/up/etc/']);
    assert.equal(await ok(['exec', 'files', 'cat', '/etc/cp-in.txt']), 'from host\n');
    assert.equal(existsSync('/etc/cp-in.txt'), false);
    // A tar whose entries climb out is refused with a 400 and writes nothing.
    const evil = buildTar([{ name: '../../../../tmp/berth-cp-escape', type: 'file', mode: 0o644, data: Buffer.from('x') }]);
    const put = await api('PUT', '/containers/files/archive?path=/data', evil.toString('latin1'), 'application/x-tar');
    assert.equal(put.status, 400, put.body);
    assert.match(JSON.parse(put.body).message, /outside/);
    assert.equal(existsSync('/tmp/berth-cp-escape'), false);
    assert.equal((await api('GET', '/containers/files/archive?path=/nope')).status, 404);
    const tarList = execFileSync('tar', ['-t'], { input: execFileSync(DOCKER, ['export', 'files'], { env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, maxBuffer: 64 << 20 }) }).toString();
    assert.ok(tarList.includes('tmp/made.txt') && tarList.includes('bin/busybox') && !tarList.includes('bin/vi\n'), 'export has the merged filesystem');
    await ok(['rm', '-f', 'files']);
  });

  it('tag, push to the registry, save | load, rmi, system df, events --since', async () => {
    await ok(['tag', B, `${reg.host}/copies/bb:1`]);
    const push = await ok(['push', `${reg.host}/copies/bb:1`]);
    assert.match(push, /1: digest: sha256:[a-f0-9]{64} size: \d+/);
    const saved = await new Promise<Buffer>((resolve) => {
      const p = spawn(DOCKER, ['save', `${reg.host}/copies/bb:1`], { env: { ...process.env, DOCKER_HOST: `unix://${sock}` } });
      const parts: Buffer[] = [];
      p.stdout.on('data', (d) => parts.push(d));
      p.on('close', () => resolve(Buffer.concat(parts)));
    });
    await ok(['rmi', `${reg.host}/copies/bb:1`]);
    const load = await new Promise<string>((resolve) => {
      const p = spawn(DOCKER, ['load'], { env: { ...process.env, DOCKER_HOST: `unix://${sock}` } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => resolve(out));
      p.stdin.end(saved);
    });
    assert.match(load, new RegExp(`Loaded image: ${reg.host}/copies/bb:1`));
    const df = await ok(['system', 'df']);
    assert.match(df, /Images\s+2/);
    // The CLI sends whole seconds: an end a second ahead streams until then and takes in this second's events.
    const events = await ok(['events', '--since', '5m', '--until', String(Math.floor(Date.now() / 1000) + 2), '--filter', 'type=image', '--format', '{{.Action}}']);
    for (const a of ['pull', 'tag', 'push', 'untag', 'load']) assert.ok(events.split('\n').includes(a), `event ${a} in ${events}`);
    const rmi = await docker(['rmi', 'no/such:image']);
    assert.equal(rmi.code, 1);
    assert.match(rmi.err, /No such image/);
    // pull -a: every tag of the repository, and nothing from other repositories.
    await ok(['tag', B, `${reg.host}/copies/bb:2`]);
    await ok(['push', `${reg.host}/copies/bb:2`]);
    await ok(['rmi', `${reg.host}/copies/bb:1`, `${reg.host}/copies/bb:2`]);
    const all = await ok(['pull', '-a', `${reg.host}/copies/bb`]);
    assert.match(all, new RegExp(`${reg.host}/copies/bb`));
    const tags = (await ok(['images', `${reg.host}/copies/bb`, '--format', '{{.Tag}}'])).trim().split('\n').sort();
    assert.deepEqual(tags, ['1', '2']);
    const tagged = await docker(['pull', '-a', `${reg.host}/copies/bb:1`]);
    assert.equal(tagged.code, 1, 'a tag with --all-tags is refused');
  });
});
