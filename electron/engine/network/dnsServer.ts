// The resolver of a user-defined network: answers A queries for the names and aliases of the
// containers on that network, and forwards every other query to the host's nameservers.
// It listens on the network's gateway address, port 53, in the host's namespace (a rootless
// engine's on loopback, with a relay in its bridges' namespace; see networkService.ts).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { ip6ToBig } from './ipam6.ts';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_PTR = 12;

export type Lookup = (name: string) => string[];
export type ReverseLookup = (ip: string) => string | undefined;

interface Question {
  name: string;
  type: number;
  end: number;
}

function readQuestion(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  while (off < msg.length) {
    const len = msg[off];
    if (len === 0) break;
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(off + 1), end: off + 5 };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function v6Bytes(ip: string): Buffer {
  const b = Buffer.alloc(16);
  let n = ip6ToBig(ip);
  for (let i = 15; i >= 0; i--, n >>= 8n) b[i] = Number(n & 0xffn);
  return b;
}

/** A reply to `query` with the given answer records (already encoded after the name pointer). */
function reply(query: Buffer, q: Question, rcode: number, answers: { type: number; data: Buffer }[]): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  const rd = head[2] & 1;
  head[2] = 0x84 | rd; // QR, AA, RD copied
  head[3] = 0x80 | rcode; // RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const rrs = answers.map((a) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name of the question
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(600, 6);
    rr.writeUInt16BE(a.data.length, 10);
    return Buffer.concat([rr, a.data]);
  });
  return Buffer.concat([head, ...rrs]);
}

export function hostNameservers(): string[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8').split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x && /^[\d.]+$/.test(x));
  } catch {
    return [];
  }
}

export class DnsServer {
  private sock?: Socket;
  private readonly pending = new Map<number, { rinfo: RemoteInfo; id: number; timer: NodeJS.Timeout }>();
  private upstream?: Socket;
  private nextId = 1;

  constructor(private readonly address: string, private readonly lookup: Lookup, private readonly reverse: ReverseLookup, private wantPort = 53) {}

  /** The port bound (the one asked for, or the one the kernel chose for 0). */
  get port(): number {
    return this.sock?.address().port ?? this.wantPort;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = createSocket({ type: 'udp4', reuseAddr: true });
      sock.once('error', reject);
      sock.on('message', (msg, rinfo) => this.onQuery(msg, rinfo));
      sock.bind(this.wantPort, this.address, () => {
        sock.off('error', reject);
        sock.on('error', () => undefined);
        this.sock = sock;
        resolve();
      });
    });
  }

  private onQuery(msg: Buffer, rinfo: RemoteInfo): void {
    const q = readQuestion(msg);
    if (!q || msg[2] & 0x80) return;
    const send = (b: Buffer) => this.sock?.send(b, rinfo.port, rinfo.address);
    if (q.type === TYPE_PTR && q.name.endsWith('.in-addr.arpa')) {
      const ip = q.name.replace(/\.in-addr\.arpa$/, '').split('.').reverse().join('.');
      const name = this.reverse(ip);
      if (name) return void send(reply(msg, q, 0, [{ type: TYPE_PTR, data: encodeName(name) }]));
    } else {
      const ips = this.lookup(q.name);
      if (ips.length) {
        const answers = q.type === TYPE_A ? ips.filter((ip) => !ip.includes(':')).map((ip) => ({ type: TYPE_A, data: Buffer.from(ip.split('.').map(Number)) }))
          : q.type === TYPE_AAAA ? ips.filter((ip) => ip.includes(':')).map((ip) => ({ type: TYPE_AAAA, data: v6Bytes(ip) })) : [];
        // A known name with no address of the asked type: an empty answer, not a forward.
        if (q.type === TYPE_A || q.type === TYPE_AAAA || answers.length === 0) return void send(reply(msg, q, 0, answers));
      }
    }
    this.forward(msg, q, rinfo);
  }

  private forward(msg: Buffer, q: Question, rinfo: RemoteInfo): void {
    const servers = hostNameservers().filter((s) => s !== this.address);
    if (!servers.length) return void this.sock?.send(reply(msg, q, 2, []), rinfo.port, rinfo.address);
    if (!this.upstream) {
      this.upstream = createSocket('udp4');
      this.upstream.on('error', () => undefined);
      this.upstream.on('message', (answer) => {
        const p = this.pending.get(answer.readUInt16BE(0));
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(answer.readUInt16BE(0));
        answer.writeUInt16BE(p.id, 0);
        this.sock?.send(answer, p.rinfo.port, p.rinfo.address);
      });
    }
    const id = this.nextId = (this.nextId % 0xffff) + 1;
    const out = Buffer.from(msg);
    out.writeUInt16BE(id, 0);
    const timer = setTimeout(() => {
      this.pending.delete(id);
      this.sock?.send(reply(msg, q, 2, []), rinfo.port, rinfo.address);
    }, 5000);
    timer.unref();
    this.pending.set(id, { rinfo, id: msg.readUInt16BE(0), timer });
    this.upstream.send(out, 53, servers[0]);
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.sock?.close();
    this.upstream?.close();
    this.sock = this.upstream = undefined;
  }
}
