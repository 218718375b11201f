// The header half of a tarsum-v1 entry hash, as dockerd's classic builder takes it for the
// sources it names in history (dockerdHash.ts): name, mode with the file type bits, uid, gid,
// size, type flag, link name, user and group names, device numbers, security.capability.
import { createHash, type Hash } from 'node:crypto';
import type { TarEntryType, TarHeader } from '../images/tar/tarParser.ts';

const TYPE_BITS: Record<TarEntryType, number> = { file: 0o100000, hardlink: 0o100000, symlink: 0o120000, char: 0o20000, block: 0o60000, dir: 0o40000, fifo: 0o10000 };
const FLAG: Record<TarEntryType, string> = { file: '0', hardlink: '0', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** What a tarsum header reads of an entry. */
export type TarsumEntry = Pick<TarHeader, 'name' | 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'linkname'> & { uname?: string; gname?: string; cap?: Buffer };

/** `mode` as the header has it: the image flavour adds the type bits (Go's FileInfoHeader does); the context's is the client's own field. */
export function tarsumHeader(e: TarsumEntry, rawMode?: number): Hash {
  const h = createHash('sha256');
  const size = e.type === 'file' ? e.size : 0;
  const mode = rawMode ?? ((e.mode & 0o7777) | TYPE_BITS[e.type]);
  h.update(`name${e.name}mode${mode}uid${e.uid}gid${e.gid}size${size}typeflag${FLAG[e.type]}linkname${e.type === 'symlink' ? e.linkname : ''}`);
  h.update(`uname${e.uname ?? ''}gname${e.gname ?? ''}devmajor0devminor0`);
  if (e.cap) h.update(Buffer.concat([Buffer.from('security.capability'), e.cap]));
  return h;
}

