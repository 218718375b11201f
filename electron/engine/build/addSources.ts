// ADD's sources from elsewhere than the context: http(s) URLs (downloaded, optionally pinned
// by --checksum) and git repositories (gitSource.ts). Checked and fetched before the step, so
// the cache key covers what they brought.
import { createHash } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { invalid } from '../errors.ts';
import type { CopyPlan } from './copy.ts';
import { cloneGit, isGitSource } from './gitSource.ts';

const isUrl = (w: string) => /^https?:\/\//i.test(w);

/**
 * Fetches an ADD's remote sources into the plan: downloads become `plan.downloads`; a git
 * repository is cloned into `gitDir` and the plan's only source becomes the path to copy in
 * it. Returns the git source, if there was one. --checksum pins one URL's digest or the
 * repository's commit.
 */
export async function fetchAddSources(plan: CopyPlan, o: { line: number; checksum?: string; keepGitDir: boolean; gitDir?: string; signal: AbortSignal; sshKeys?: Uint8Array[]; sshAgent?: string }): Promise<string | undefined> {
  const { checksum, line } = o;
  const git = plan.add ? plan.sources.find(isGitSource) : undefined;
  if (checksum && plan.sources.length !== 1) throw invalid(`dockerfile parse error line ${line}: checksum can't be specified for multiple sources`);
  if (checksum && !isUrl(plan.sources[0]) && !git) throw invalid(`dockerfile parse error line ${line}: checksum can't be specified for non-HTTP(S) sources`);
  if (checksum && !git && !/^sha(256:[a-f0-9]{64}|384:[a-f0-9]{96}|512:[a-f0-9]{128})$/.test(checksum)) {
    throw invalid(`dockerfile parse error line ${line}: invalid checksum digest format: ${checksum}: use sha256:<64 hex digits>`);
  }
  if (git) {
    if (plan.sources.length !== 1) throw invalid(`dockerfile parse error line ${line}: a git repository must be ADD's only source`);
    plan.sources = [await cloneGit(git, o.gitDir!, { keepGitDir: o.keepGitDir, checksum, signal: o.signal, sshKeys: o.sshKeys, sshAgent: o.sshAgent })];
  } else if (plan.add && plan.sources.some(isUrl)) {
    plan.downloads = [];
    for (const url of plan.sources.filter(isUrl)) {
      const got = await download(url, o.signal);
      if (checksum) {
        const [algo, want] = checksum.split(':');
        const have = createHash(algo).update(got.body).digest('hex');
        if (have !== want) throw invalid(`ADD failed: GET ${url}: digest mismatch ${checksum}: ${algo}:${have}`);
      }
      plan.downloads.push(got);
    }
    plan.sources = plan.sources.filter((w) => !isUrl(w));
  }
  return git;
}

const DOWNLOAD_MAX = 512 << 20;

/**
 * ADD <url>: the file, named by the URL's last path segment, with its Last-Modified time.
 * node:http rather than fetch, which refuses some ports outright (fetch's "bad ports").
 */
async function download(url: string, signal: AbortSignal, hops = 0): Promise<{ name: string; body: Buffer; mtime: number }> {
  const fail = (why: string) => invalid(`ADD failed: GET ${url}: ${why}`);
  const u = new URL(url);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsGet : httpGet)(u, { signal, timeout: 60_000 }, resolve);
    req.once('timeout', () => req.destroy(new Error('timed out after 60 s')));
    req.once('error', (e) => reject(fail(e.message)));
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location && hops < 10) {
    res.resume();
    return download(new URL(res.headers.location, u).href, signal, hops + 1);
  }
  if (status >= 400) {
    res.resume();
    throw fail(`${status} ${res.statusMessage ?? ''}`.trim());
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > DOWNLOAD_MAX) {
      res.destroy();
      throw fail(`larger than ${DOWNLOAD_MAX >> 20} MiB`);
    }
    parts.push(chunk as Buffer);
  }
  const last = decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() ?? '');
  const modified = Date.parse(String(res.headers['last-modified'] ?? ''));
  return { name: last || 'index.html', body: Buffer.concat(parts, n), mtime: Number.isFinite(modified) ? modified / 1000 : Date.now() / 1000 };
}

