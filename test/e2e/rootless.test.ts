// The web UI served by a rootless engine (`berth daemon --web` as an unprivileged user this
// test creates), in Debian's Chromium: the app is a client of the engine over its contract
// socket; it says the engine is rootless and what limits it lacks, runs a container from the
// form and opens its terminal. A user without subordinate ids gets the missing prerequisite
// and its fix on the page instead.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startRegistry, uploadImage, type TestRegistry } from '../helpers/registry.ts';
import { createRootlessUser, rootlessSkip, startRootlessDaemon, type RootlessDaemon, type RootlessUser } from '../helpers/rootlessUser.ts';
import { busyboxTarball } from '../helpers/testEngine.ts';
import type {} from '../../renderer/main.tsx';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skip = (!existsSync(CHROMIUM) && 'chromium is not installed (apt-get install chromium)') || rootlessSkip();

describe('web UI of a rootless engine', { timeout: 180_000, skip }, () => {
  let u: RootlessUser;
  let reg: TestRegistry;
  let daemon: RootlessDaemon;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    u = await createRootlessUser();
    reg = await startRegistry();
    await uploadImage(reg, 'busybox', 'latest', [readFileSync(busyboxTarball())], { cmd: ['sh'] });
    daemon = await startRootlessDaemon(u, [], '127.0.0.1:0');
    assert.equal((await u.docker(['pull', '-q', `${reg.host}/busybox`])).code, 0);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  });
  after(async () => {
    await browser?.close();
    try {
      await daemon?.shutdown();
    } finally {
      await reg?.stop();
      await u?.dispose();
    }
  });

  it('shows the rootless engine, its DOCKER_HOST line and the missing limits', async () => {
    await page.goto(daemon.url());
    await page.locator('.engine-status.engine-open').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.engine-status .badge').textContent(), 'rootless');
    assert.equal(await page.locator('[data-testid=docker-host]').textContent(), `export DOCKER_HOST=unix://${u.sock}`);
    const info = JSON.parse((await u.docker(['info', '--format', '{{json .CgroupDriver}}'])).out) as string;
    if (info === 'none') await page.locator('[data-testid=limits-banner]', { hasText: 'Resource limits are unavailable' }).waitFor();
  });

  it('runs a container from the form and opens its terminal', async () => {
    await page.click('button:has-text("Run a container")');
    if (await page.locator('[data-testid=limits-banner]').count()) assert.equal(await page.locator('input[name=memory]').isDisabled(), true);
    await page.fill('input[name=image]', `${reg.host}/busybox`);
    await page.fill('input[name=name]', 'rl-ui');
    await page.fill('input[name=command]', 'sleep 300');
    await page.click('button[type=submit]');
    const row = page.locator('.row[data-name="rl-ui"]');
    await row.waitFor();
    await page.waitForFunction(() => document.querySelector('.row[data-name="rl-ui"] [data-state]')?.getAttribute('data-state') === 'running');
    assert.equal((await u.docker(['inspect', '-f', '{{.State.Running}}', 'rl-ui'])).out.trim(), 'true');
    await row.click();
    await page.click('button[role=tab]:has-text("Terminal")');
    await page.click('button:has-text("Open sh")');
    await page.locator('.term-tab[data-status=open]').waitFor();
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('echo uid=$(id -u)""-ok\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => d.textContent?.trim() === 'uid=0-ok'), undefined, { timeout: 15_000 });
    assert.deepEqual(pageErrors, []);
  });
});

describe('web UI when the rootless engine cannot start', { timeout: 60_000, skip }, () => {
  it('shows the missing prerequisite and its fix', async () => {
    const u = await createRootlessUser({ subordinate: false });
    let browser: Browser | undefined;
    let proc;
    try {
      proc = u.spawn(['node', `${u.app}/bin/berth.mjs`, 'daemon', '--web', '127.0.0.1:0']);
      let log = '';
      proc.stdout!.on('data', (d) => (log += d));
      proc.stderr!.on('data', (d) => (log += d));
      const deadline = Date.now() + 30_000;
      while (!/web UI at (\S+)/.test(log) && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const url = /web UI at (\S+)/.exec(log)?.[1];
      assert.ok(url, log);
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
      const page = await browser.newPage();
      await page.goto(url);
      const banner = page.locator('.banner[role=alert]');
      await banner.waitFor({ timeout: 15_000 });
      assert.match(await banner.textContent() ?? '', /Berth cannot start its engine: rootless mode needs subordinate uids: .* Fix: sudo usermod --add-subuids/);
    } finally {
      await browser?.close();
      if (proc && proc.exitCode === null) {
        const exited = new Promise((r) => proc!.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      await u.dispose();
    }
  });
});
