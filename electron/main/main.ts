// Electron composition root: one window, a tray with the running count and quick actions, the
// app menu, the contract over IPC and the Docker API on its socket, all over one engine.
import { app, BrowserWindow, ipcMain, Menu, nativeImage, shell, Tray, type WebContents } from 'electron';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../api/server.ts';
import type { Backend } from '../backend/backend.ts';
import { backendOf, createEngine } from '../engine/index.ts';
import { ContractHost } from '../host/contractHost.ts';
import { inProcess, RelayConnection, type Connection, type ConnectionFactory } from '../host/contractSocket.ts';
import { Engines, switchable } from '../host/engines.ts';
import { ensureRootlessEngine } from '../machine/rootless.ts';
import { MachineControl } from '../machine/machineControl.ts';

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
const resources = app.isPackaged ? process.resourcesPath : appRoot;
const unpacked = app.isPackaged ? join(resources, 'app.asar.unpacked') : appRoot;
const indexHtml = join(appRoot, 'dist/renderer/index.html');

if (!app.requestSingleInstanceLock()) app.exit(0);

let win: BrowserWindow | undefined;
let tray: Tray | undefined;

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1280, height: 800, minWidth: 760, minHeight: 480, show: false, title: 'Berth',
    webPreferences: {
      preload: join(appRoot, 'dist/electron/preload.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false,
      webSecurity: true, allowRunningInsecureContent: false, spellcheck: false,
    },
  });
  w.once('ready-to-show', () => w.show());
  // Navigation and new windows are blocked; http(s) links (published ports) open in the browser.
  w.webContents.on('will-navigate', (e) => e.preventDefault());
  w.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void w.loadFile(indexHtml);
  return w;
}

function trustedSender(wc: WebContents, frameUrl: string | undefined): boolean {
  return !!win && wc.id === win.webContents.id && !!frameUrl && frameUrl.startsWith('file://') && fileURLToPath(frameUrl.split('?')[0]) === indexHtml;
}

function menu(): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate([
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' }, { role: 'editMenu' }, { role: 'viewMenu' }, { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: 'Docker API socket…', click: () => void shell.openExternal('https://docs.docker.com/engine/api/') }] },
  ]));
}

async function updateTray(backend: Backend): Promise<void> {
  const running = await backend.containers.list();
  tray?.setToolTip(`Berth — ${running.length} running`);
  tray?.setContextMenu(Menu.buildFromTemplate([
    { label: `${running.length} container${running.length === 1 ? '' : 's'} running`, enabled: false },
    { type: 'separator' },
    ...running.slice(0, 10).map((c) => ({ label: `Stop ${c.Names[0].slice(1)}`, click: () => void backend.containers.stop(c.Id).catch(() => undefined) })),
    { type: 'separator' },
    { label: 'Show Berth', click: () => { win ??= createWindow(); win.show(); } },
    { label: 'Quit', role: 'quit' as const },
  ]));
}

/** The contract over IPC for the app's window, each window its own connection. */
function serveIpc(connect: ConnectionFactory): void {
  const connections = new Map<number, Connection>();
  ipcMain.on('berth:contract', (e, m: unknown) => {
    if (!trustedSender(e.sender, e.senderFrame?.url)) return;
    let conn = connections.get(e.sender.id);
    if (!conn) {
      const wc = e.sender;
      conn = connect({ send: (msg) => !wc.isDestroyed() && wc.send('berth:contract', msg) });
      connections.set(wc.id, conn);
      wc.once('destroyed', () => {
        connections.get(wc.id)?.dispose();
        connections.delete(wc.id);
      });
    }
    conn.receive(m);
  });
}

function openWindow(): void {
  win = createWindow();
  app.on('second-instance', () => {
    win ??= createWindow();
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => {
    win = undefined; // keep running in the tray
  });
}

/**
 * A normal user: the engine runs rootless in its own process (Chromium refuses to run as root
 * of a user namespace), started here if it is not running; each window relays to its contract socket.
 */
async function asClient(): Promise<void> {
  const layout = await ensureRootlessEngine({
    node: process.execPath, berth: join(appRoot, 'bin/berth.mjs'), log: join(app.getPath('logs'), 'engine.log'),
  });
  serveIpc(switchable(new Engines({ host: `unix://${layout.dockerSocket}`, connect: (ch) => new RelayConnection(layout.uiSocket, ch) }, { version: app.getVersion(), machines: machines() })));
  const icon = join(resources, 'assets/tray.png');
  tray = new Tray(existsSync(icon) ? nativeImage.createFromPath(icon) : nativeImage.createEmpty());
  tray.setToolTip('Berth (rootless)');
  tray.setContextMenu(Menu.buildFromTemplate([
    { label: 'Show Berth', click: () => { win ??= createWindow(); win.show(); } },
    { label: 'Quit', role: 'quit' as const },
  ]));
  openWindow();
}

/** The VMs this app keeps; their supervisors run the berth command with Electron as Node. */
function machines(): MachineControl {
  return new MachineControl({ root: unpacked, berth: [process.execPath, join(appRoot, 'bin/berth.mjs')], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
}

async function main(): Promise<void> {
  await app.whenReady();
  menu();
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) return asClient();
  const engine = await createEngine({
    root: process.env.BERTH_ROOT ?? '/var/lib/berth',
    runRoot: process.env.BERTH_RUN ?? '/run/berth',
    helperPath: join(unpacked, 'native/build/berth-helper'), helloPath: join(unpacked, 'native/build/hello'),
    defaultBridge: !process.env.BERTH_ROOT ? 'berth0' : undefined,
  });
  const socket = '/run/berth/docker.sock';
  const backend = backendOf(engine);
  const api = await startApiServer(backend, socket);
  const host = new ContractHost(backend, { version: app.getVersion(), dockerSocket: socket });
  serveIpc(switchable(new Engines({ host: `unix://${socket}`, connect: inProcess(host) }, { version: app.getVersion(), machines: machines() })));
  const icon = join(resources, 'assets/tray.png');
  tray = new Tray(existsSync(icon) ? nativeImage.createFromPath(icon) : nativeImage.createEmpty());
  const refreshTray = () => void updateTray(backend).catch(() => undefined);
  refreshTray();
  backend.system.events((ev) => ev.Type === 'container' && refreshTray());
  // The main process must stay responsive: report event-loop lag once a minute.
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  setInterval(() => {
    console.log(`berth: event-loop lag p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms`);
    lag.reset();
  }, 60_000).unref();
  openWindow();
  app.on('before-quit', () => {
    host.dispose();
    void api.close();
    engine.close();
  });
}

main().catch((e: Error) => {
  console.error(`berth: ${e.message}`);
  app.exit(1);
});
