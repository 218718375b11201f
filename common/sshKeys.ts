// SSH private keys for RUN --mount=type=ssh: the OpenSSH format ssh-keygen writes
// ("openssh-key-v1": Ed25519, RSA, ECDSA) read into a JSON Web Key, and the SSH wire encodings
// an agent answers with (RFC 4251 strings and mpints, RFC 4253/5656/8709 public key blobs).
// Pure: the app checks a key before a build, the engine's agent signs with it.

export type SshKeyType = 'ssh-ed25519' | 'ssh-rsa' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521';

export interface SshPrivateKey {
  type: SshKeyType;
  /** the private key, for the platform's crypto */
  jwk: JsonWebKey;
  /** the public key as SSH sends it */
  publicBlob: Uint8Array;
  comment: string;
}

/** A key that cannot be used, with the reason (and its fix) in the message. */
export class SshKeyError extends Error {}

/** A field that runs past the end of what is read. */
export class SshTruncated extends Error {}

const CURVES: Record<string, { crv: string; size: number }> = {
  nistp256: { crv: 'P-256', size: 32 },
  nistp384: { crv: 'P-384', size: 48 },
  nistp521: { crv: 'P-521', size: 66 },
};

/** A JSON Web Key's fields this file reads and writes (RFC 7517/7518/8037). */
export interface JsonWebKey {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  d?: string;
  n?: string;
  e?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard or URL-safe base64, padded or not; whitespace is skipped, anything else refused. */
function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '').replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, acc = 0, at = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch);
    if (v < 0) throw new SshTruncated('truncated');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 255;
    }
  }
  return out.subarray(0, at);
}

function base64url(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '') + (i + 2 < b.length ? B64[n & 63] : '');
  }
  return s.replace(/\+/g, '-').replace(/\//g, '_');
}

/** UTF-8 both ways (key comments, type names). */
const utf8 = {
  encode: (s: string) => Uint8Array.from(unescape(encodeURIComponent(s)), (c) => c.charCodeAt(0)),
};
const text = {
  decode(b: Uint8Array): string {
    let bin = '';
    for (const c of b) bin += String.fromCharCode(c);
    try {
      return decodeURIComponent(escape(bin));
    } catch {
      return bin;
    }
  },
};

/** Reads SSH wire fields in order; a field past the end is an error, not a short read. */
export class SshReader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  get left(): number {
    return this.b.length - this.at;
  }

  uint32(): number {
    if (this.left < 4) throw new SshTruncated('truncated');
    const v = ((this.b[this.at] << 24) >>> 0) + (this.b[this.at + 1] << 16) + (this.b[this.at + 2] << 8) + this.b[this.at + 3];
    this.at += 4;
    return v;
  }

  bytes(n: number): Uint8Array {
    if (this.left < n) throw new SshTruncated('truncated');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  string(): Uint8Array {
    return this.bytes(this.uint32());
  }

  text(): string {
    return text.decode(this.string());
  }

  /** An unsigned mpint without its sign byte. */
  mpint(): Uint8Array {
    const v = this.string();
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    return v.subarray(i);
  }
}

/** SSH wire fields joined: a string is its length and bytes, a number a uint32. */
export function sshWire(...fields: (Uint8Array | string | number)[]): Uint8Array {
  const parts = fields.map((f) => {
    if (typeof f === 'number') return new Uint8Array([f >>> 24, (f >>> 16) & 255, (f >>> 8) & 255, f & 255]);
    const b = typeof f === 'string' ? utf8.encode(f) : f;
    const out = new Uint8Array(4 + b.length);
    out.set([b.length >>> 24, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255]);
    out.set(b, 4);
    return out;
  });
  return joinBytes(parts);
}

/** Byte arrays one after the other, as one. */
export function joinBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An unsigned big-endian number as an mpint's bytes (a leading zero when its top bit is set). */
export function mpintBytes(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  const v = b.subarray(i);
  if (v.length && v[0] & 0x80) {
    const out = new Uint8Array(v.length + 1);
    out.set(v, 1);
    return out;
  }
  return v;
}

const toBig = (b: Uint8Array) => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
function fromBig(n: bigint): Uint8Array {
  const hex = n.toString(16);
  const padded = hex.length % 2 ? `0${hex}` : hex;
  return Uint8Array.from(padded.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function padTo(b: Uint8Array, size: number): Uint8Array {
  if (b.length >= size) return b.subarray(b.length - size);
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out;
}

/** The public key blob of a private key's JWK (what `ssh-add -L` shows, base64). */
export function publicBlobOf(jwk: JsonWebKey): { type: SshKeyType; blob: Uint8Array } {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return { type: 'ssh-ed25519', blob: sshWire('ssh-ed25519', b64urlBytes(jwk.x)) };
  if (jwk.kty === 'RSA') return { type: 'ssh-rsa', blob: sshWire('ssh-rsa', mpintBytes(b64urlBytes(jwk.e)), mpintBytes(b64urlBytes(jwk.n))) };
  const curve = Object.entries(CURVES).find(([, c]) => c.crv === jwk.crv);
  if (jwk.kty === 'EC' && curve) {
    const [name, { size }] = curve;
    const q = new Uint8Array(1 + 2 * size);
    q[0] = 4;
    q.set(padTo(b64urlBytes(jwk.x), size), 1);
    q.set(padTo(b64urlBytes(jwk.y), size), 1 + size);
    const type = `ecdsa-sha2-${name}` as SshKeyType;
    return { type, blob: sshWire(type, name, q) };
  }
  throw new SshKeyError(`unsupported key type (${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ''}): use an Ed25519, RSA or ECDSA key`);
}

function b64urlBytes(s: string | undefined): Uint8Array {
  return fromBase64(s ?? '');
}

const LOCKED = 'it is protected by a passphrase: give a copy without one (ssh-keygen -p), kept where only you can read it';
/** why a file is refused when nothing more precise is known */
export const NOT_A_KEY = 'it is not a private key file (OpenSSH or PEM)';

/**
 * A private key file: an OpenSSH key, read; or 'pem' for an unencrypted PEM key, which the
 * platform's crypto reads. A key with a passphrase, or a file that is no key, is an SshKeyError.
 */
export function readKeyFile(file: string): SshPrivateKey | 'pem' {
  if (file.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) return parseOpensshKey(file);
  if (/ENCRYPTED/.test(file)) throw new SshKeyError(LOCKED);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(file)) return 'pem';
  throw new SshKeyError(NOT_A_KEY);
}

/** Reads an OpenSSH private key file (what ssh-keygen writes); one with a passphrase is refused with what to do. */
export function parseOpensshKey(file: string): SshPrivateKey {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(file);
  if (!m) throw new SshKeyError(NOT_A_KEY);
  try {
    const r = new SshReader(fromBase64(m[1]));
    if (text.decode(r.bytes(15)) !== 'openssh-key-v1\0') throw new SshKeyError('not an openssh-key-v1 key');
    const cipher = r.text();
    r.string(); // kdf name
    r.string(); // kdf options
    if (cipher !== 'none') throw new SshKeyError(LOCKED);
    if (r.uint32() !== 1) throw new SshKeyError('a file of several keys: give one key per file');
    const publicBlob = r.string();
    const p = new SshReader(r.string());
    if (p.uint32() !== p.uint32()) throw new SshKeyError('its check numbers differ: the file is damaged');
    const type = p.text() as SshKeyType;
    let jwk: JsonWebKey;
    if (type === 'ssh-ed25519') {
      const pub = p.string();
      const priv = p.string(); // seed then public key, 64 bytes
      jwk = { kty: 'OKP', crv: 'Ed25519', x: base64url(pub), d: base64url(priv.subarray(0, 32)) };
    } else if (type === 'ssh-rsa') {
      const n = p.mpint(), e = p.mpint(), d = p.mpint(), iqmp = p.mpint(), pp = p.mpint(), q = p.mpint();
      const D = toBig(d);
      jwk = {
        kty: 'RSA', n: base64url(n), e: base64url(e), d: base64url(d), p: base64url(pp), q: base64url(q),
        dp: base64url(fromBig(D % (toBig(pp) - 1n))), dq: base64url(fromBig(D % (toBig(q) - 1n))), qi: base64url(iqmp),
      };
    } else if (type.startsWith('ecdsa-sha2-')) {
      const curve = CURVES[p.text()];
      if (!curve) throw new SshKeyError(`unsupported ECDSA curve in ${type}`);
      const point = p.string();
      const d = p.mpint();
      if (point[0] !== 4 || point.length !== 1 + 2 * curve.size) throw new SshKeyError('its public point is not uncompressed');
      jwk = { kty: 'EC', crv: curve.crv, x: base64url(point.subarray(1, 1 + curve.size)), y: base64url(point.subarray(1 + curve.size)), d: base64url(padTo(d, curve.size)) };
    } else {
      throw new SshKeyError(`unsupported key type ${type}: use an Ed25519, RSA or ECDSA key`);
    }
    const comment = p.text();
    return { type, jwk, publicBlob: publicBlob.slice(), comment };
  } catch (e) {
    if (e instanceof SshKeyError) throw e;
    throw new SshKeyError('the file is damaged (it ends inside a field)');
  }
}
