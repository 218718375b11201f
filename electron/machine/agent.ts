// The guest agent: runs inside the machine's Linux guest (`berth machine agent`, started by the
// guest's init) and is the host's only way in. It serves the streams of agentProtocol.ts on one
// TCP port, tells the host when the engine is ready, and which ports containers publish so the
// host can listen on the same numbers.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { arch, release } from 'node:os';
import { boundPorts, lineReader, MAX_HEADER, parseHeader, splice, type BoundPort, type GuestMessage } from './agentProtocol.ts';

export interface AgentOptions {
  token: string;
  port: number;
  dockerSocket: string;
  contractSocket: string;
  /** a file whose text, when present, says why the engine cannot start (a damaged data disk) */
  fatalFile: string;
  poweroff: () => void;
}

export const GUEST_AGENT_PORT = 7390;

const uptimeMs = (): number => Math.round(parseFloat(readFileSync('/proc/uptime', 'utf8')) * 1000);

function dockerGet(socket: string, path: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`${path}: HTTP ${res.statusCode}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export class GuestAgent {
  private ready?: GuestMessage;
  private ports: BoundPort[] = [];
  private readonly controls = new Set<Socket>();
  private readonly server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
  private events?: ReturnType<typeof request>;
  private closed = false;

  constructor(private readonly o: AgentOptions) {}

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, '0.0.0.0', () => resolve());
    });
    void this.waitForEngine();
  }

  close(): void {
    this.closed = true;
    this.events?.destroy();
    this.server.close();
    for (const s of this.controls) s.destroy();
  }

  private accept(sock: Socket): void {
    sock.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > MAX_HEADER) sock.destroy();
        return;
      }
      sock.off('data', onData);
      sock.pause();
      const v = parseHeader(head.subarray(0, nl).toString('utf8'), this.o.token);
      const rest = head.subarray(nl + 1);
      if (!v) return void sock.destroy();
      if (v.verb === 'control') return this.control(sock, rest);
      if (v.verb === 'shell') return this.shell(sock, rest, v.command);
      const target = v.verb === 'tcp' ? connect({ port: v.port, host: '127.0.0.1', allowHalfOpen: true })
        : connect({ path: v.verb === 'api' ? this.o.dockerSocket : this.o.contractSocket, allowHalfOpen: true });
      target.on('error', () => sock.destroy());
      target.on('connect', () => {
        if (rest.length) target.write(rest);
        splice(sock, target);
        sock.resume();
      });
    };
    sock.on('data', onData);
  }

  /** A terminal: util-linux's `script` gives the shell a pty; the stream carries its bytes. */
  private shell(sock: Socket, rest: Buffer, command?: string): void {
    const child = spawn('script', ['-qfec', command ?? 'exec /bin/bash -l', '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm-256color', HOME: '/root' }, cwd: '/root' });
    child.on('error', () => sock.destroy());
    if (rest.length) child.stdin.write(rest);
    sock.pipe(child.stdin);
    child.stdout.pipe(sock, { end: false });
    child.stderr.pipe(sock, { end: false });
    child.on('close', () => sock.end());
    sock.on('close', () => child.kill('SIGHUP'));
    sock.resume();
  }

  private control(sock: Socket, rest: Buffer): void {
    this.controls.add(sock);
    sock.on('close', () => this.controls.delete(sock));
    const feed = lineReader((line) => {
      let m: { type?: string };
      try {
        m = JSON.parse(line) as { type?: string };
      } catch {
        return;
      }
      if (m.type === 'ping') this.send(sock, { type: 'pong' });
      if (m.type === 'shutdown') this.o.poweroff();
    });
    sock.setEncoding('utf8').on('data', feed);
    if (rest.length) feed(rest.toString('utf8'));
    sock.resume();
    const fatal = this.fatal();
    if (fatal) this.send(sock, { type: 'error', reason: fatal });
    else if (this.ready) {
      this.send(sock, this.ready);
      this.send(sock, { type: 'ports', bound: this.ports });
    }
  }

  private fatal(): string | undefined {
    return existsSync(this.o.fatalFile) ? readFileSync(this.o.fatalFile, 'utf8').trim() : undefined;
  }

  private send(sock: Socket, m: GuestMessage): void {
    if (sock.writable) sock.write(`${JSON.stringify(m)}\n`);
  }

  private broadcast(m: GuestMessage): void {
    for (const s of this.controls) this.send(s, m);
  }

  private async waitForEngine(): Promise<void> {
    const t0 = uptimeMs();
    while (!this.closed) {
      const fatal = this.fatal();
      if (fatal) return this.broadcast({ type: 'error', reason: fatal });
      try {
        await dockerGet(this.o.dockerSocket, '/_ping', 2000);
        const version = (JSON.parse(await dockerGet(this.o.dockerSocket, '/version')) as { Version: string }).Version;
        const image = existsSync('/etc/berth-image') ? readFileSync('/etc/berth-image', 'utf8').trim() : 'unknown';
        this.ready = { type: 'ready', version, kernel: release(), arch: arch(), bootMs: uptimeMs(), engineMs: uptimeMs() - t0, image };
        this.broadcast(this.ready);
        return this.watchPorts();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private async refreshPorts(): Promise<void> {
    const list = JSON.parse(await dockerGet(this.o.dockerSocket, '/containers/json')) as Parameters<typeof boundPorts>[0];
    const next = boundPorts(list);
    if (JSON.stringify(next) === JSON.stringify(this.ports)) return;
    this.ports = next;
    this.broadcast({ type: 'ports', bound: next });
  }

  /** Ports change when containers start, stop or go: the engine's events say when. */
  private watchPorts(): void {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const soon = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.refreshPorts().catch(() => undefined), 50);
    };
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    this.events = request({ socketPath: this.o.dockerSocket, path: `/events?filters=${filters}`, agent: false }, (res) => {
      res.setEncoding('utf8').on('data', soon);
      res.on('close', () => setTimeout(() => this.watchPorts(), 500));
    });
    this.events.on('error', () => setTimeout(() => this.watchPorts(), 500));
    this.events.end();
    soon();
  }
}

/** `berth machine agent`: the guest side, with the settings the guest's init wrote. */
export async function runGuestAgent(): Promise<number> {
  const token = readFileSync('/run/berth-machine/token', 'utf8').trim();
  const agent = new GuestAgent({
    token, port: GUEST_AGENT_PORT, dockerSocket: '/run/berth/docker.sock', contractSocket: '/run/berth/contract.sock',
    fatalFile: '/run/berth-machine/fatal',
    poweroff: () => void spawn('/usr/lib/berth/busybox', ['poweroff'], { stdio: 'ignore', detached: true }).unref(),
  });
  await agent.listen();
  console.log(`berth machine agent: listening on port ${GUEST_AGENT_PORT}`);
  await new Promise<void>((resolve) => process.on('SIGTERM', resolve));
  agent.close();
  return 0;
}
