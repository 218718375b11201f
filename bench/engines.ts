// Remote engines, side by side: the app (web mode, Chromium) showing a private dockerd through a
// unix-socket context and a Berth host through an ssh:// context, against Berth's own engine:
//  - event → row latency: a pause/unpause made on the engine, from the moment a listener on
//    the engine's socket hears the event to the moment the row's state changes in the page;
//  - `docker run --rm busybox true` over ssh:// to Berth vs to dockerd (and over their sockets);
//  - the app's memory (the web-mode process) with four engines connected, vs with one.
// Needs Debian's docker.io (a private dockerd is started: own data root, exec root, socket, bridge),
// openssh-server, chromium and the docker CLI. ROUNDS (default 10).
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type Page } from 'playwright-core';
import { DockerApiBackend } from '../electron/backend/dockerApi/backend.ts';
import { startDaemon } from '../test/helpers/daemon.ts';
import { startDockerd } from '../test/helpers/dockerd.ts';
import { makeCerts } from '../test/helpers/tlsCerts.ts';
import { freePort } from '../test/helpers/registry.ts';
import { busyboxTarball, REPO } from '../test/helpers/testEngine.ts';
import { until } from '../test/helpers/run.ts';
import type {} from '../renderer/main.tsx';
import { median, range } from './lib.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const CLI = '/usr/local/bin/docker';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

const home = mkdtempSync(`${tmpdir()}/berth-bench-engines-`);
const env = { ...process.env, DOCKER_CONFIG: `${home}/docker`, DOCKER_HOST: '' };
const cli = (args: string[], extra: Record<string, string> = {}) => {
  const r = spawnSync(CLI, args, { env: { ...env, PATH: `${home}/bin:${process.env.PATH}`, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

mkdirSync(`${home}/tls`);
const certs = makeCerts(`${home}/tls`);
const dockerd = await startDockerd({ tls: { port: await freePort(), ca: certs.ca, cert: certs.serverCert, key: certs.serverKey } });
// The app runs the system's ssh from PATH: the bench's wrapper reads the bench's ssh config.
const daemon = await startDaemon({ web: true, env: { DOCKER_CONFIG: `${home}/docker`, XDG_CONFIG_HOME: `${home}/config`, DOCKER_HOST: '', PATH: `${home}/bin:${process.env.PATH}` } });
let sshd: ReturnType<typeof spawn> | undefined;
let madePrivsep = false;
try {
  for (const sock of [dockerd.sock, daemon.sock]) cli(['-H', `unix://${sock}`, 'import', busyboxTarball(), 'busybox:latest']);
  // sshd on loopback, one key per engine, each forced to relay to its engine's socket.
  const port = await freePort();
  const d = `${home}/ssh`;
  mkdirSync(d);
  for (const k of ['host_key', 'berth_key', 'dockerd_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/${k}`]);
  const forced = (cmd: string, key: string) => `command="${cmd}",no-pty,no-port-forwarding ${readFileSync(`${d}/${key}.pub`, 'utf8')}`;
  writeFileSync(`${d}/authorized_keys`, forced(`${process.execPath} ${REPO}/bin/berth.mjs system dial-stdio --host unix://${daemon.sock}`, 'berth_key')
    + forced(`${CLI} -H unix://${dockerd.sock} system dial-stdio`, 'dockerd_key'));
  writeFileSync(`${d}/sshd_config`, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${d}/host_key`, `PidFile ${d}/sshd.pid`, `AuthorizedKeysFile ${d}/authorized_keys`,
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'LogLevel ERROR', 'MaxStartups 100'].join('\n') + '\n');
  writeFileSync(`${d}/known_hosts`, `[127.0.0.1]:${port} ${readFileSync(`${d}/host_key.pub`, 'utf8')}`);
  writeFileSync(`${d}/ssh_config`, ['berth', 'dockerd'].map((h) => [`Host ${h}-host`, '  HostName 127.0.0.1', `  IdentityFile ${d}/${h}_key`, '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${d}/known_hosts`, '  HostKeyAlias [127.0.0.1]:' + port, '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR'].join('\n')).join('\n') + '\n');
  mkdirSync(`${home}/bin`);
  writeFileSync(`${home}/bin/ssh`, `#!/bin/sh\nexec /usr/bin/ssh -F ${d}/ssh_config "$@"\n`);
  chmodSync(`${home}/bin/ssh`, 0o755);
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    madePrivsep = true;
  }
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', `${d}/sshd_config`], { stdio: 'ignore' });
  await until(() => existsSync(`${d}/sshd.pid`), 10_000, 'sshd');
  const sshBerth = `ssh://root@berth-host:${port}`;
  const sshDockerd = `ssh://root@dockerd-host:${port}`;

  // The contexts the app sees (made by the docker CLI).
  cli(['context', 'create', 'dockerd-unix', '--docker', `host=unix://${dockerd.sock}`]);
  cli(['context', 'create', 'dockerd-tls', '--docker', `host=${dockerd.tcp},ca=${certs.ca},cert=${certs.clientCert},key=${certs.clientKey}`]);
  cli(['context', 'create', 'berth-ssh', '--docker', `host=${sshBerth}`]);

  console.log(`docker run --rm busybox true, ${ROUNDS} rounds interleaved (median [min–max] s):`);
  const runs: Record<string, number[]> = { 'Berth over ssh': [], 'dockerd over ssh': [], 'Berth socket': [], 'dockerd socket': [] };
  const hosts: Record<string, string> = { 'Berth over ssh': sshBerth, 'dockerd over ssh': sshDockerd, 'Berth socket': `unix://${daemon.sock}`, 'dockerd socket': `unix://${dockerd.sock}` };
  for (const h of Object.values(hosts)) cli(['run', '--rm', 'busybox', 'true'], { DOCKER_HOST: h });
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, h] of Object.entries(hosts)) {
      const t = performance.now();
      cli(['run', '--rm', 'busybox', 'true'], { DOCKER_HOST: h });
      runs[name].push((performance.now() - t) / 1000);
    }
  }
  for (const [name, xs] of Object.entries(runs)) console.log(`  ${name.padEnd(18)} ${median(xs).toFixed(3)} ${range(xs, 3)}`);
  console.log(`  ratio over ssh (Berth / dockerd): ${(median(runs['Berth over ssh']) / median(runs['dockerd over ssh'])).toFixed(2)}`);

  // The app's process with only Berth's engine shown, then with four engines connected.
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  const open = async (engine: string) => {
    const p = await browser.newPage();
    const u = new URL(daemon.url);
    u.searchParams.set('engine', engine);
    await p.goto(u.toString());
    await p.waitForFunction(() => window.berth!.store.getState().containersLoaded, undefined, { timeout: 30_000 }).catch(async (e) => {
      const st = await p.evaluate(() => ({ conn: window.berth!.store.getState().connection, engines: window.berth!.store.getState().engines }));
      throw new Error(`${engine}: ${JSON.stringify(st)}`, { cause: e });
    });
    return p;
  };
  const first = await open('berth');
  await new Promise((r) => setTimeout(r, 3000));
  const rssOne = rssKb(daemon.proc.pid!);
  const pages: Record<string, Page> = { berth: first };
  for (const e of ['dockerd-unix', 'dockerd-tls', 'berth-ssh']) pages[e] = await open(e);

  console.log(`\nevent → row latency (ms), ${ROUNDS} pause/unpause each, median [min–max]:`);
  const sockOf: Record<string, string> = { berth: daemon.sock, 'dockerd-unix': dockerd.sock, 'berth-ssh': daemon.sock };
  for (const [engine, sock] of Object.entries(sockOf)) {
    const name = `lat-${engine}`;
    cli(['-H', `unix://${sock}`, 'run', '-d', '--name', name, 'busybox', 'sleep', '600']);
    const page = pages[engine];
    await page.waitForFunction((n) => Object.values(window.berth!.store.getState().containers).some((c) => c.name === n && c.state === 'running'), name, { timeout: 30_000 });
    await page.evaluate((n) => {
      const seen: { t: number; state: string }[] = [];
      (window as unknown as { seen: typeof seen }).seen = seen;
      let last = '';
      window.berth!.store.subscribe((s) => {
        const c = Object.values(s.containers).find((x) => x.name === n);
        if (c && c.state !== last) {
          last = c.state;
          seen.push({ t: Date.now(), state: c.state });
        }
      });
    }, name);
    const listener = new DockerApiBackend('listener', { host: `unix://${sock}` });
    const heard: { t: number; action: string }[] = [];
    const off = listener.system.events((e) => e.Type === 'container' && e.Actor.Attributes.name === name && (e.Action === 'pause' || e.Action === 'unpause') && heard.push({ t: Date.now(), action: e.Action }));
    await new Promise((r) => setTimeout(r, 500));
    const lat: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const [action, state] of [['pause', 'paused'], ['unpause', 'running']] as const) {
        const n = heard.length;
        // Not spawnSync: the listener must hear the event while the CLI runs.
        await new Promise<void>((resolve, reject) => execFile(CLI, ['-H', `unix://${sock}`, action, name], { env }, (e) => (e ? reject(e) : resolve())));
        await until(() => heard.length > n, 10_000, `${action} heard`);
        const t0 = heard[n].t;
        const t1 = await page.waitForFunction(([st, since]) => (window as unknown as { seen: { t: number; state: string }[] }).seen.find((x) => x.state === st && x.t >= (since as number) - 50)?.t, [state, t0] as const, { timeout: 10_000 })
          .catch(async (e) => {
            throw new Error(`${engine} ${action}: heard at ${t0}, page saw ${JSON.stringify(await page.evaluate(() => (window as unknown as { seen: unknown }).seen))}`, { cause: e });
          });
        lat.push((await t1.jsonValue() as number) - t0);
      }
    }
    off();
    listener.dispose();
    console.log(`  ${engine.padEnd(14)} ${median(lat).toFixed(0)} ${range(lat, 0)}`);
    cli(['-H', `unix://${sock}`, 'rm', '-f', name]);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const rssFour = rssKb(daemon.proc.pid!);
  console.log(`\napp (web-mode process, engine included) RSS: Berth's engine shown ${(rssOne / 1024).toFixed(0)} MB; four engines connected (berth, dockerd unix, dockerd TLS, berth ssh) ${(rssFour / 1024).toFixed(0)} MB (+${((rssFour - rssOne) / 1024).toFixed(0)} MB)`);
  await browser.close();
} finally {
  if (sshd?.pid && sshd.exitCode === null) {
    const exited = new Promise((r) => sshd!.once('exit', r));
    process.kill(sshd.pid, 'SIGTERM');
    await exited;
  }
  if (madePrivsep) rmSync('/run/sshd', { recursive: true, force: true });
  await daemon.stop();
  await dockerd.stop();
  rmSync(home, { recursive: true, force: true });
}
