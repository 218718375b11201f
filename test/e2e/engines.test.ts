// The app on a second, real engine: a private dockerd (Debian's docker.io) registered as a
// docker context with the real docker CLI. In Chromium through web mode the app lists it,
// switches to it (from the Engines view and by ?engine=), shows its container, stops it, opens
// its terminal and reads an echo back, and draws its stats graph; the all-engines view lists
// running containers of both engines; a context at a closed socket is shown with why.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { DOCKERD, startDockerd, type PrivateDockerd } from '../helpers/dockerd.ts';
import { busyboxTarball, REPO } from '../helpers/testEngine.ts';
import type {} from '../../renderer/main.tsx';

const CHROMIUM = '/usr/bin/chromium';
const CLI = '/usr/local/bin/docker';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skip = (!existsSync(CHROMIUM) && 'chromium is not installed') || (!existsSync(DOCKERD) && 'dockerd is not installed (apt-get install docker.io)') || (!existsSync(CLI) && 'the docker CLI is not installed');

describe('the app on another engine (a private dockerd through a docker context)', { timeout: 240_000, skip }, () => {
  let dockerd: PrivateDockerd;
  let daemon: TestDaemon;
  let browser: Browser;
  let page: Page;
  let home: string;
  const pageErrors: string[] = [];
  const cli = (args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(CLI, args, { env: { ...process.env, DOCKER_CONFIG: `${home}/docker`, DOCKER_HOST: '' }, timeout: 60_000 },
      (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
  const row = (name: string) => page.locator(`.row[data-name="${name}"]`);

  before(async () => {
    home = mkdtempSync(`${tmpdir()}/berth-engines-`);
    dockerd = await startDockerd();
    assert.equal((await dockerd.docker(['import', busyboxTarball(), 'busybox:latest'])).code, 0);
    // The user's contexts, made by the docker CLI itself; one of them points at nothing.
    assert.equal((await cli(['context', 'create', 'private-dockerd', '--docker', `host=unix://${dockerd.sock}`])).code, 0);
    assert.equal((await cli(['context', 'create', 'gone', '--docker', `host=unix://${home}/closed.sock`])).code, 0);
    assert.equal((await cli(['--context', 'private-dockerd', 'run', '-d', '--name', 'e2e-remote', 'busybox', 'sh', '-c', 'while :; do :; done'])).code, 0);
    daemon = await startDaemon({ web: true, env: { DOCKER_CONFIG: `${home}/docker`, XDG_CONFIG_HOME: `${home}/config`, DOCKER_HOST: '' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  });
  after(async () => {
    await page?.close().catch(() => undefined);
    await browser?.close();
    await daemon?.stop();
    await dockerd?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists Berth, the reachable context and the closed one with why', async () => {
    await page.goto(daemon.url);
    await page.click('.sidebar button:has-text("Engines")');
    await page.locator('[data-testid="engine-status-private-dockerd"].ok').waitFor({ timeout: 20_000 });
    assert.match(await page.locator('[data-testid="engine-status-private-dockerd"]').textContent() ?? '', /^20\.10/);
    assert.match(await page.locator('[data-testid="engine-status-berth"]').textContent() ?? '', /Linux|linux/i);
    const gone = await page.locator('[data-testid="engine-status-gone"]').textContent();
    assert.match(gone ?? '', /engine "gone".*not reachable/);
    await page.screenshot({ path: `${REPO}/test-artifacts/ui/engines.png` }).catch(() => undefined);
  });

  it('switches to the dockerd, shows its container and stops it from the app', async () => {
    await page.click('button[aria-label="show engine private-dockerd"]');
    await page.click('.sidebar button:has-text("Containers")');
    await row('e2e-remote').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('select[aria-label=engine]').inputValue(), 'private-dockerd');
    assert.match(page.url(), /engine=private-dockerd/);
    await row('e2e-remote').click();
    await page.click('button[aria-label="stop e2e-remote"]');
    await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-remote"] [data-state]')?.getAttribute('data-state') === 'exited', undefined, { timeout: 30_000 });
    assert.equal((await dockerd.docker(['inspect', '-f', '{{.State.Running}}', 'e2e-remote'])).out.trim(), 'false');
  });

  it('opens on the engine named by ?engine=, with a terminal and a stats graph', async () => {
    assert.equal((await dockerd.docker(['start', 'e2e-remote'])).code, 0);
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      page = fresh;
      const u = new URL(daemon.url);
      u.searchParams.set('engine', 'private-dockerd');
      await page.goto(u.toString());
      await row('e2e-remote').waitFor({ timeout: 20_000 });
      await page.waitForFunction(() => document.querySelector('.row[data-name="e2e-remote"] [data-state]')?.getAttribute('data-state') === 'running', undefined, { timeout: 20_000 });
      await row('e2e-remote').click();
      await page.click('button[role=tab]:has-text("Terminal")');
      await page.click('button:has-text("Open sh")');
      await page.locator('.term-tab[data-status=open]').waitFor();
      await page.locator('.xterm-helper-textarea').focus();
      await page.keyboard.type('echo rem""ote\n');
      await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => d.textContent?.trim() === 'remote'), undefined, { timeout: 15_000 });
      const id = await page.evaluate(() => Object.values(window.berth!.store.getState().containers).find((c) => c.name === 'e2e-remote')?.id ?? '');
      await page.click('button[role=tab]:has-text("Stats")');
      await page.waitForFunction((i) => window.berth!.store.stats.get(i).length >= 3, id, { timeout: 20_000 });
      // One sample can fall where the loop was barely scheduled (2 cores, a browser beside it):
      // a busy loop shows CPU in one of the next ones.
      const busy = await page.waitForFunction((i) => (window.berth!.store.stats.latest(i)?.cpuPercent ?? 0) > 20, id, { timeout: 20_000 }).then(() => true, () => false);
      const latest = await page.evaluate((i) => window.berth!.store.stats.latest(i), id);
      assert.ok(busy, `a busy loop on dockerd shows CPU: ${latest?.cpuPercent}`);
      await page.locator('[data-chart=cpu] canvas').waitFor();
    } finally {
      await fresh.close();
    }
  });

  it('adds a context the docker CLI then sees, refuses a bad one, and removes it', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(daemon.url);
    await page.click('.sidebar button:has-text("Engines")');
    await page.fill('input[aria-label="context name"]', 'added-in-app');
    await page.fill('input[aria-label="engine address"]', `unix://${dockerd.sock}`);
    await page.fill('input[aria-label="description"]', 'made in the app');
    await page.click('form[aria-label="add or edit an engine"] button:has-text("Save")');
    await page.locator('[data-testid="engine-status-added-in-app"].ok').waitFor({ timeout: 20_000 });
    const ls = await cli(['context', 'ls', '--format', '{{.Name}} {{.DockerEndpoint}} {{.Description}}']);
    assert.match(ls.out, new RegExp(`^added-in-app unix://${dockerd.sock} made in the app$`, 'm'));
    assert.match((await cli(['--context', 'added-in-app', 'ps', '--format', '{{.Names}}'])).out, /e2e-remote/);
    // A TLS file that does not exist: named, and nothing written.
    await page.fill('input[aria-label="context name"]', 'bad-tls');
    await page.fill('input[aria-label="engine address"]', 'tcp://127.0.0.1:1');
    await page.fill('input[aria-label="CA certificate path"]', `${home}/missing-ca.pem`);
    await page.click('form[aria-label="add or edit an engine"] button:has-text("Save")');
    await page.locator('.toast', { hasText: 'missing-ca.pem cannot be read' }).waitFor({ timeout: 10_000 });
    assert.doesNotMatch((await cli(['context', 'ls', '--format', '{{.Name}}'])).out, /bad-tls/);
    await page.click('button[aria-label="remove engine added-in-app"]');
    await page.click('[role=alertdialog] button:has-text("Remove")');
    await page.locator('[data-engine="added-in-app"]').waitFor({ state: 'detached', timeout: 10_000 });
    assert.doesNotMatch((await cli(['context', 'ls', '--format', '{{.Name}}'])).out, /added-in-app/);
  });

  it('lists running containers of every engine, and names the one it cannot reach', async () => {
    assert.equal((await daemon.docker(['import', busyboxTarball(), 'busybox:latest'])).code, 0);
    assert.equal((await daemon.docker(['run', '-d', '--name', 'e2e-local', 'busybox', 'sleep', '300'])).code, 0);
    await page.goto(daemon.url);
    await page.click('.sidebar button:has-text("Engines")');
    await page.locator('[data-all-running="private-dockerd/e2e-remote"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-all-running="berth/e2e-local"]').waitFor({ timeout: 20_000 });
    assert.deepEqual(pageErrors, []);
  });
});
