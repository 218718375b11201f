// The UI in Debian's Chromium, through web mode, against a real engine in `berth daemon --web`:
// pull with progress, run from the form, a terminal, live CPU graph, logs, pause/resume,
// stop, remove, the engine's errors in the form, and the token check. Screenshots of each
// view go to test-artifacts/ui/.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { createServer } from 'node:net';
import { startRegistry, uploadImage, type TestRegistry } from '../helpers/registry.ts';
import { busyboxTarball, REPO } from '../helpers/testEngine.ts';
import type {} from '../../renderer/main.tsx'; // window.berth, the page's debug handle
import { WebSocket } from 'ws';

const CHROMIUM = '/usr/bin/chromium';
const COMPOSE = '/usr/bin/docker-compose';
const SHOTS = `${REPO}/test-artifacts/ui`;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('desktop UI in web mode', { timeout: 240_000, skip: !existsSync(CHROMIUM) && 'chromium is not installed (apt-get install chromium)' }, () => {
  let daemon: TestDaemon;
  let reg: TestRegistry;
  let browser: Browser;
  let page: Page;
  let image: string;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: `${SHOTS}/${name}.png` });
  const row = (name: string) => page.locator(`.row[data-name="${name}"]`);
  const stateOf = (name: string) => row(name).locator('[data-state]').getAttribute('data-state');
  const idOf = (name: string) => page.evaluate((n) => Object.values(window.berth!.store.getState().containers).find((c) => c.name === n)?.id ?? '', name);

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    reg = await startRegistry();
    image = `${reg.host}/busybox`;
    await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
    daemon = await startDaemon({ web: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await reg?.stop();
  });

  it('refuses a missing or wrong token', async () => {
    const u = new URL(daemon.url);
    assert.equal((await fetch(`${u.origin}/`)).status, 401);
    assert.equal((await fetch(`${u.origin}/?token=wrong`)).status, 401);
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://${u.host}/ws?token=wrong`);
      ws.on('open', () => resolve('opened'));
      ws.on('error', (e) => resolve(e.message));
    });
    assert.match(refused, /401/);
    assert.equal((await fetch(daemon.url)).status, 200);
  });

  it('opens to an empty container list and pulls an image with per-layer progress', async () => {
    await page.goto(daemon.url);
    await page.locator('.empty', { hasText: 'No containers yet' }).waitFor();
    await shot('containers-empty');
    await page.click('.sidebar button:has-text("Images")');
    // Record every job update the store sees, to prove layer progress reached the UI.
    await page.evaluate(() => {
      const seen: { layers: number; bytes: number; state: string }[] = [];
      (window as unknown as { jobLog: typeof seen }).jobLog = seen;
      window.berth!.store.subscribe((s) => {
        for (const j of Object.values(s.jobs)) seen.push({ layers: j.layers.length, bytes: j.layers.reduce((a, l) => a + l.total, 0), state: j.state });
      });
    });
    await page.fill('input[aria-label="image to pull"]', image);
    await page.click('button:has-text("Pull")');
    await page.locator('.job[data-job=pull][data-state=done]').waitFor({ timeout: 60_000 });
    const log = await page.evaluate(() => (window as unknown as { jobLog: { layers: number; bytes: number; state: string }[] }).jobLog);
    assert.ok(log.some((j) => j.layers > 0 && j.bytes > 0), `layer progress reached the UI: ${JSON.stringify(log.slice(-3))}`);
    await page.locator(`.row[data-image="${image}:latest"]`).waitFor();
    await page.click(`.row[data-image="${image}:latest"]`);
    await page.locator('.layers li').first().waitFor();
    await shot('images');
  });

  it('runs a container from the form, with inline validation and the engine error shown', async () => {
    await page.click('.sidebar button:has-text("Containers")');
    await page.click('button:has-text("Run hello-world")');
    await page.fill('input[name=image]', 'Not A Ref');
    await page.fill('input[name=memory]', '1m');
    await page.click('button[type=submit]');
    await page.locator('[data-error=image]').waitFor();
    await page.locator('[data-error=memory]').waitFor();
    await shot('form-invalid');
    await page.fill('input[name=image]', `${reg.host}/nothere`);
    await page.fill('input[name=memory]', '');
    await page.click('button[type=submit]');
    const err = await page.locator('[data-testid=engine-error]').textContent({ timeout: 30_000 });
    assert.match(err ?? '', /nothere/);
    await page.fill('input[name=image]', image);
    await page.fill('input[name=name]', 'e2e-burn');
    await page.fill('input[name=command]', 'sh -c "while :; do :; done"');
    await page.fill('input[name=memory]', '64m');
    await page.click('button[type=submit]');
    await row('e2e-burn').waitFor();
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-burn"] [data-state]')?.getAttribute('data-state') === 'running');
    const inspect = await daemon.docker(['inspect', '-f', '{{.State.Running}} {{.HostConfig.Memory}}', 'e2e-burn']);
    assert.equal(inspect.out.trim(), `true ${64 * 1024 * 1024}`);
    await page.click('button:has-text("Run a container")');
    await page.fill('input[name=image]', image);
    await page.fill('input[name=name]', 'e2e-burn');
    await page.locator('[data-error=name]', { hasText: 'already exists' }).waitFor();
    await page.click('button:has-text("Cancel")');
  });

  it('opens a terminal, types echo hello and reads hello back', async () => {
    await row('e2e-burn').click();
    await page.click('button[role=tab]:has-text("Terminal")');
    await page.click('button:has-text("Open sh")');
    await page.locator('.term-tab[data-status=open]').waitFor();
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('echo hel""lo\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => d.textContent?.trim() === 'hello'), undefined, { timeout: 15_000 });
    await shot('terminal');
    // The session survives switching views.
    await page.click('.sidebar button:has-text("Images")');
    await page.click('.sidebar button:has-text("Containers")');
    await page.click('button[role=tab]:has-text("Terminal")');
    await page.click('[data-testid=terminal]');
    await page.keyboard.type('echo again$((1+1))\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => d.textContent?.trim() === 'again2'), undefined, { timeout: 15_000 });
    // A flood larger than the flow-control window (4.7 MB) reaches xterm whole and in order: the
    // UI batches it and acknowledges each batch, or the host would hold the shell at the window.
    await page.keyboard.type('seq 1 600000; echo flood$((1+1))\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => d.textContent?.trim() === 'flood2'), undefined, { timeout: 60_000 });
    const lines = (await page.evaluate(() => window.berth!.terminals.text(window.berth!.terminals.list()[0].key))).split('\n').map((l) => l.trim());
    const end = lines.indexOf('flood2');
    const tail = lines.slice(end - 4000, end);
    assert.deepEqual(tail, Array.from({ length: 4000 }, (_, i) => String(596001 + i)), 'the last 4,000 lines of the flood, in order');
    // Widening the detail (the list at its minimum) refits the terminal and resizes the shell's pty.
    const size = async (marker: string) => {
      await page.click('[data-testid=terminal]');
      await page.keyboard.type(`echo ${marker}:$(stty size | tr " " x)\n`);
      const found = await page.waitForFunction((m) => [...document.querySelectorAll('.xterm-rows > div')].map((d) => d.textContent?.trim() ?? '').find((t) => t.startsWith(`${m}:`) && /x\d+$/.test(t)), marker, { timeout: 15_000 });
      const [rows, cols] = String(await found.jsonValue()).split(':')[1].split('x').map(Number);
      return { rows, cols };
    };
    const narrow = await size('s1');
    const screenWidth = () => page.evaluate(() => document.querySelector<HTMLElement>('[data-testid=terminal] .xterm-screen')!.offsetWidth);
    const before = await screenWidth();
    await page.focus('[role=separator]');
    await page.keyboard.press('Home');
    // xterm's screen takes its new width when the fit has resized it, which also sends the resize.
    await page.waitForFunction((w) => document.querySelector<HTMLElement>('[data-testid=terminal] .xterm-screen')!.offsetWidth > w + 100, before);
    const wide = await size('s2');
    assert.ok(wide.cols >= narrow.cols + 20, `the pty got wider: ${narrow.cols} → ${wide.cols} columns`);
    assert.equal(wide.rows, narrow.rows);
    await shot('terminal-wide');
    await page.focus('[role=separator]');
    await page.keyboard.press('Enter');
    await page.waitForFunction((w) => document.querySelector<HTMLElement>('[data-testid=terminal] .xterm-screen')!.offsetWidth === w, before);
    // The mouse drags it too, and the width is remembered.
    const bar = (await page.locator('[role=separator]').boundingBox())!;
    await page.mouse.move(bar.x + bar.width / 2, bar.y + 300);
    await page.mouse.down();
    await page.mouse.move(bar.x - 150, bar.y + 300, { steps: 5 });
    await page.mouse.up();
    const dragged = Number(await page.locator('[role=separator]').getAttribute('aria-valuenow'));
    assert.ok(dragged < 35 && dragged > 25, `dragged 150 px left of 44%: ${dragged}%`);
    assert.equal(await page.evaluate(() => localStorage.getItem('berth.listShare')), String(dragged));
    await page.locator('[role=separator]').dblclick();
    assert.equal(await page.locator('[role=separator]').getAttribute('aria-valuenow'), '44');
  });

  it('draws new CPU points while the container burns CPU', async () => {
    const id = await idOf('e2e-burn');
    await page.click('button[role=tab]:has-text("Stats")');
    const count = () => page.evaluate((i) => window.berth!.store.stats.get(i).length, id);
    const first = await count();
    const pixels = () => page.evaluate(() => (document.querySelector('[data-chart=cpu] canvas') as HTMLCanvasElement).toDataURL());
    const before = await pixels();
    await page.waitForFunction(([i, n]) => window.berth!.store.stats.get(i as string).length >= (n as number) + 3, [id, first], { timeout: 20_000 });
    const latest = await page.evaluate((i) => window.berth!.store.stats.latest(i), id);
    assert.ok(latest && latest.cpuPercent > 20, `a busy loop shows CPU: ${latest?.cpuPercent}`);
    assert.equal(latest!.memoryLimit, 64 * 1024 * 1024);
    assert.notEqual(await pixels(), before, 'the CPU chart was redrawn');
    await shot('stats');
  });

  it('follows logs, pauses and resumes, stops and removes with confirmation', async () => {
    await page.click('button:has-text("Run a container")');
    await page.fill('input[name=image]', image);
    await page.fill('input[name=name]', 'e2e-log');
    await page.fill('input[name=command]', `sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; [ $((i%5)) = 0 ] && echo oops $i >&2; sleep 0.1; done'`);
    await page.click('button[type=submit]');
    await row('e2e-log').waitFor();
    await page.click('button[role=tab]:has-text("Logs")');
    await page.locator('.log-line', { hasText: 'tick 3' }).waitFor();
    await page.locator('.log-line', { hasText: 'tick 25' }).waitFor({ timeout: 20_000 });
    await page.fill('input[aria-label="search logs"]', 'oops');
    assert.match((await page.locator('[data-testid=match-count]').textContent()) ?? '', /^1\/\d+$/);
    await shot('logs');

    await page.click('.detail-actions button:has-text("Pause")');
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-log"] [data-state]')?.getAttribute('data-state') === 'paused');
    await page.click('.detail-actions button:has-text("Resume")');
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-log"] [data-state]')?.getAttribute('data-state') === 'running');
    await page.click('.detail-actions button:has-text("Stop")');
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-log"] [data-state]')?.getAttribute('data-state') === 'exited', undefined, { timeout: 20_000 });
    assert.equal(await stateOf('e2e-log'), 'exited');
    await shot('containers');
    await page.click('.detail-actions button:has-text("Remove")');
    await page.locator('[role=alertdialog]').waitFor();
    await page.click('[role=alertdialog] button:has-text("Remove")');
    await row('e2e-log').waitFor({ state: 'detached' });
    const ps = await daemon.docker(['ps', '-a', '--format', '{{.Names}}']);
    assert.doesNotMatch(ps.out, /e2e-log/);
  });

  it('creates a network, runs a web server on it with a volume and a published port, and lists who uses what', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    await page.click('.sidebar button:has-text("Networks")');
    await page.locator('.row[data-network="bridge"]').waitFor();
    await page.fill('input[aria-label="network name"]', 'e2e-net');
    await page.click('.toolbar button:has-text("Create")');
    await page.locator('.row[data-network="e2e-net"]').waitFor();
    await page.click('.sidebar button:has-text("Containers")');
    await page.click('button:has-text("Run a container")');
    await page.fill('input[name=image]', image);
    await page.fill('input[name=name]', 'e2e-web');
    await page.fill('input[name=command]', 'sh -c "echo e2e-page > /srv/index.html; exec httpd -f -p 80 -h /srv"');
    await page.fill('textarea[name=binds]', 'e2e-vol:/srv');
    await page.fill('textarea[name=ports]', `127.0.0.1:${port}:80`);
    await page.fill('input[name=network]', 'e2e-net');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-web"] [data-state]')?.getAttribute('data-state') === 'running');
    await row('e2e-web').locator(`a[href="http://127.0.0.1:${port}"]`).waitFor({ state: 'attached' });
    await row('e2e-web').click();
    await page.locator(`.facts a[href="http://127.0.0.1:${port}"]`, { hasText: `127.0.0.1:${port} → 80/tcp` }).waitFor();
    const served = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await served.text(), 'e2e-page\n');
    await page.click('.sidebar button:has-text("Volumes")');
    await page.locator('.row[data-volume="e2e-vol"] .chip', { hasText: 'e2e-web' }).waitFor();
    await page.click('button[aria-label="browse volume e2e-vol"]');
    await page.click('.browser .row[data-entry="index.html"] button');
    assert.equal(await page.locator('[data-testid=file-preview]').textContent(), 'e2e-page\n');
    await shot('volumes');
    await page.click('button[aria-label="close the file browser"]');
    await page.click('.sidebar button:has-text("Networks")');
    await page.locator('.row[data-network="e2e-net"] .chip', { hasText: 'e2e-web' }).waitFor();
    await shot('networks');
    assert.equal((await daemon.docker(['rm', '-f', 'e2e-web'])).code, 0);
    await page.locator('.row[data-network="e2e-net"] .muted', { hasText: 'unused' }).waitFor();
    await page.click('button[aria-label="remove network e2e-net"]');
    await page.click('[role=alertdialog] button:has-text("Remove")');
    await page.locator('.row[data-network="e2e-net"]').waitFor({ state: 'detached' });
  });

  it('shows a compose project as one row that folds its containers and stops them all', { skip: !existsSync(COMPOSE) && 'docker-compose is not installed' }, async () => {
    const dir = `${daemon.base}/compose-e2e`;
    mkdirSync(dir, { recursive: true });
    const service = `    image: ${image}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n`;
    writeFileSync(`${dir}/docker-compose.yml`, `version: "3"\nservices:\n  api:\n${service}  worker:\n${service}`);
    const compose = (args: string[]) => {
      const r = spawnSync(COMPOSE, ['-p', 'e2eapp', ...args], { cwd: dir, env: { ...process.env, DOCKER_HOST: `unix://${daemon.sock}` }, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
    };
    try {
      compose(['up', '-d']);
      await page.click('.sidebar button:has-text("Containers")');
      const project = page.locator('.row.group[data-project="e2eapp"]');
      await project.locator('.state-cell', { hasText: '2/2 up' }).waitFor();
      await page.locator('.row.grouped[data-name="e2eapp_api_1"]').waitFor();
      await shot('compose');
      await project.locator('button[aria-label="fold e2eapp"]').click();
      await page.locator('.row[data-name="e2eapp_api_1"]').waitFor({ state: 'detached' });
      await project.locator('button[aria-label="stop e2eapp"]').click();
      await project.locator('.state-cell', { hasText: 'stopped' }).waitFor({ timeout: 30_000 });
      const states = await page.evaluate(() => Object.values(window.berth!.store.getState().containers).filter((c) => c.name.startsWith('e2eapp_')).map((c) => c.state));
      assert.deepEqual(states, ['exited', 'exited']);
    } finally {
      compose(['down', '--timeout', '1']);
    }
  });

  it('builds a folder: steps live, the cache on a rebuild, the image opened; a failing line marked; CLI builds listed', async () => {
    const dir = mkdtempSync(`${tmpdir()}/berth-e2e-build-`);
    try {
      writeFileSync(`${dir}/Dockerfile`, `FROM ${image}\nRUN echo built-in-ui > /ui.txt\nCOPY hello.txt /hello.txt\nCMD ["cat", "/ui.txt"]\n`);
      writeFileSync(`${dir}/Dockerfile.bad`, `FROM ${image}\nRUN echo about to fail && exit 7\n`);
      writeFileSync(`${dir}/hello.txt`, 'hello\n');
      writeFileSync(`${dir}/ignored.bin`, Buffer.alloc(4096));
      writeFileSync(`${dir}/.dockerignore`, 'ignored.bin\n*.key\n');
      await page.click('.sidebar button:has-text("Builds")');
      await page.locator('.empty', { hasText: 'No builds yet' }).waitFor();
      await page.fill('input[aria-label="build folder"]', dir);
      await page.fill('input[aria-label="tags"]', 'uibuilt:1');
      await page.locator('input[aria-label="dockerfile"]').focus(); // the folder's blur checks it
      await page.locator('[data-testid=context-size]', { hasText: '4 files' }).waitFor();
      await page.click('.build-form button:has-text("Build")');
      const done = page.locator('.row.build-row[data-build="uibuilt:1"][data-status=done]');
      await done.first().waitFor({ timeout: 60_000 });
      await done.first().click();
      await page.locator('.step[data-step="4"][data-state=done]').waitFor();
      assert.equal(await page.locator('.step[data-state=cached]').count(), 0);
      // The time line: the context's transfer, and a bar per step placed in the build's span.
      await page.locator('[data-testid=build-context]', { hasText: /Context: .* received in/ }).waitFor();
      const bar = await page.locator('.step[data-step="2"] .step-bar').evaluate((el) => ({ left: parseFloat((el as HTMLElement).style.left), width: parseFloat((el as HTMLElement).style.width) }));
      assert.ok(bar.width > 0 && bar.left >= 0 && bar.left + bar.width <= 100.01, JSON.stringify(bar));
      // Inside a bar, the step's phases: the RUN ran, then committed its layer; the COPY hashed, copied, committed.
      assert.deepEqual(await page.locator('.step[data-step="2"] .step-bar .phase').evaluateAll((els) => els.map((el) => el.getAttribute('data-phase'))), ['exec', 'commit']);
      assert.match(await page.locator('.step[data-step="2"] [data-testid=step-phases]').textContent() ?? '', /^run [\d.]+ m?s · commit [\d.]+ m?s · layer \d+B$/);
      assert.match(await page.locator('.step[data-step="3"] [data-testid=step-phases]').textContent() ?? '', /^hash sources .* · copy files .* · commit .* · layer 6B$/);
      await page.locator('[data-testid=phase-legend]', { hasText: 'hash sources' }).waitFor();
      await shot('build-done');
      // Rebuild: every step after FROM comes from the cache.
      await page.click('.detail-pane button:has-text("Rebuild")');
      await page.waitForFunction(() => document.querySelectorAll('.row.build-row[data-build="uibuilt:1"][data-status=done]').length === 2, undefined, { timeout: 60_000 });
      await done.first().click();
      await page.waitForFunction(() => document.querySelectorAll('.step[data-state=cached]').length === 3);
      await page.click('.detail-pane button:has-text("Open image")');
      await page.locator('.detail-pane[aria-label="image uibuilt:1"]').waitFor();
      // A secret from the form: readable by its RUN and in no layer; an unreadable file is refused at once.
      // And an SSH key: its RUN gets an agent socket at SSH_AUTH_SOCK.
      writeFileSync(`${dir}/Dockerfile.secret`, `FROM ${image}\nRUN --mount=type=secret,id=token,required wc -c < /run/secrets/token > /token-size && cat /run/secrets/token | tr a-z A-Z > /shout\n`
        + 'RUN --mount=type=ssh,required test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /agent\n');
      writeFileSync(`${dir}/token.key`, 'sesame'); // outside the context (.dockerignore)
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/id.key`]);
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', `${dir}/locked.key`]);
      await page.click('.sidebar button:has-text("Builds")');
      await page.fill('input[aria-label="build folder"]', dir);
      await page.fill('input[aria-label="dockerfile"]', 'Dockerfile.secret');
      await page.fill('input[aria-label="tags"]', 'uisecret');
      await page.fill('textarea[aria-label="build secrets"]', `token=${dir}/token.key`);
      await page.fill('textarea[aria-label="build ssh keys"]', `default=${dir}/id.key`);
      await page.click('.build-form button:has-text("Build")');
      await page.locator('.row.build-row[data-build="uisecret"][data-status=done]').waitFor({ timeout: 60_000 });
      const seen = spawnSync('docker', ['run', '--rm', 'uisecret', 'sh', '-c', 'cat /token-size /shout; echo; test -e /run/secrets/token && echo present || echo absent; cat /agent'], { env: { ...process.env, DOCKER_HOST: `unix://${daemon.sock}` }, encoding: 'utf8' });
      assert.equal(seen.stdout, '6\nSESAME\nabsent\n/run/buildkit/ssh_agent.0\n', seen.stderr);
      // A running agent's socket instead of key files: relayed to the RUN (BuildKit's --ssh default).
      const agentSock = `${dir}/agent.sock`;
      const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
      try {
        for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
        spawnSync('ssh-add', [`${dir}/id.key`], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
        await page.fill('input[aria-label="tags"]', 'uiagent');
        await page.fill('textarea[aria-label="build ssh keys"]', `default=${agentSock}`);
        await page.click('.build-form button:has-text("Build")');
        await page.locator('.row.build-row[data-build="uiagent"][data-status=done]').waitFor({ timeout: 60_000 });
      } finally {
        agent.kill();
      }
      // An id alone is the app's own agent; a line that is neither is refused in the form.
      await page.fill('textarea[aria-label="build ssh keys"]', 'not an id');
      await page.locator('.build-form .error-text', { hasText: /or id alone for your running SSH agent/ }).waitFor();
      await page.fill('input[aria-label="tags"]', 'uisecret');
      await page.fill('textarea[aria-label="build ssh keys"]', `default=${dir}/locked.key`);
      await page.click('.build-form button:has-text("Build")');
      await page.locator('.toast', { hasText: /ssh key default: .*locked.key: it is protected by a passphrase/ }).waitFor();
      await page.fill('textarea[aria-label="build ssh keys"]', '');
      await page.fill('textarea[aria-label="build secrets"]', `token=${dir}/no-such-file`);
      await page.click('.build-form button:has-text("Build")');
      await page.locator('.toast', { hasText: /secret token: cannot read .*no-such-file/ }).waitFor();
      await page.fill('textarea[aria-label="build secrets"]', '');
      await page.fill('input[aria-label="dockerfile"]', '');
      // A failing build: the step's exit code, and its line marked in the Dockerfile.
      await page.click('.sidebar button:has-text("Builds")');
      await page.fill('input[aria-label="build folder"]', dir);
      await page.fill('input[aria-label="dockerfile"]', 'Dockerfile.bad');
      await page.fill('input[aria-label="tags"]', 'uibad');
      await page.click('.build-form button:has-text("Build")');
      const failed = page.locator('.row.build-row[data-build="uibad"][data-status=failed]');
      await failed.waitFor({ timeout: 60_000 });
      await failed.click();
      await page.locator('.step[data-step="2"][data-state=failed]', { hasText: 'exit 7' }).waitFor().catch(async (e) => {
        await shot('build-failed-debug');
        writeFileSync(`${SHOTS}/build-failed-debug.html`, await page.content());
        throw e;
      });
      await page.locator('.step[data-step="2"] .step-output', { hasText: 'about to fail' }).waitFor();
      await page.locator('.dockerfile .failing[data-line="2"]', { hasText: 'returned a non-zero code: 7' }).waitFor();
      await shot('build-failed');
      // A build the docker CLI started shows up too.
      const cli = spawnSync('docker', ['build', '-q', '-t', 'clibuilt', dir], { env: { ...process.env, DOCKER_HOST: `unix://${daemon.sock}` }, encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      await page.locator('.row.build-row[data-build="clibuilt"][data-status=done]').waitFor();
      // A CLI build cancelled from its detail: the RUN is stopped and the CLI's build fails.
      writeFileSync(`${dir}/Dockerfile.slow`, `FROM ${image}\nRUN sleep 60\n`);
      const slow = spawn('docker', ['build', '-t', 'clislow', '-f', `${dir}/Dockerfile.slow`, dir], { env: { ...process.env, DOCKER_HOST: `unix://${daemon.sock}` }, stdio: 'ignore' });
      const slowExit = new Promise<number | null>((r) => slow.once('exit', r));
      try {
        const running = page.locator('.row.build-row[data-build="clislow"][data-status=running]');
        await running.waitFor({ timeout: 30_000 });
        await running.click();
        await page.locator('.step[data-step="2"][data-state=running]').waitFor({ timeout: 30_000 });
        const t0 = Date.now();
        await page.click('.detail-pane button:has-text("Cancel build")');
        await page.locator('.row.build-row[data-build="clislow"][data-status=cancelled]').waitFor({ timeout: 15_000 });
        assert.notEqual(await slowExit, 0, 'the CLI sees its build fail');
        assert.ok(Date.now() - t0 < 15_000);
      } finally {
        if (slow.exitCode === null) slow.kill();
      }
      await page.locator('[data-testid=build-cache]', { hasText: 'Build cache:' }).waitFor();
      await page.click('button:has-text("Prune build cache")');
      await page.locator('.toast', { hasText: 'build cache pruned' }).waitFor();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows activity and reports no page errors', async () => {
    await page.click('.sidebar button:has-text("Activity")');
    await page.locator('[data-testid=events] li', { hasText: 'e2e-log' }).first().waitFor();
    await shot('activity');
    assert.deepEqual(pageErrors.filter((e) => !/favicon/.test(e)), []);
  });

  // Last: while the engine is away the browser logs failed WebSocket attempts as console errors.
  it('survives an engine restart: banner while away, then the list and the terminal tab reconnect', async () => {
    await page.click('.sidebar button:has-text("Containers")');
    await row('e2e-burn').click();
    await page.click('button[role=tab]:has-text("Terminal")');
    await page.locator('.term-tab[data-status=open]').first().waitFor();
    const sessions = await page.evaluate(() => window.berth!.terminals.list().length);
    await daemon.restart(async () => {
      await page.locator('.banner[role=alert]', { hasText: 'Lost the connection to the engine' }).waitFor({ timeout: 15_000 });
      await page.locator('.term-tab[data-status=lost]').first().waitFor({ timeout: 15_000 });
      await shot('engine-lost');
    });
    await page.locator('.banner[role=alert]').waitFor({ state: 'detached', timeout: 30_000 });
    // The container kept running in its shim and the new engine adopted it.
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-burn"] [data-state]')?.getAttribute('data-state') === 'running');
    await page.locator('.term-tab[data-status=open]').first().waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.berth!.terminals.list().length), sessions, 'the same tab came back, not a new one');
    await page.click('[data-testid=terminal]');
    await page.keyboard.type('echo back$((2+2))\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => d.textContent?.trim() === 'back4'), undefined, { timeout: 15_000 });
    await shot('engine-reconnected');
  });
});
