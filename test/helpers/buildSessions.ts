// Golden build sessions: the docker CLI's classic build against an engine, stdout, stderr and exit
// code each, with image and container ids masked. The expected transcripts in
// test/fixtures/build-golden/ were recorded from dockerd 20.10's classic builder (a private
// dockerd, `node --import tsx test/helpers/buildSessions.ts record`); build.test.ts replays
// the sessions against Berth and compares.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const GOLDEN_DIR = new URL('../fixtures/build-golden/', import.meta.url).pathname;
/** The sessions' base image: the busybox tarball, tagged so on each engine. */
export const GOLDEN_BASE = 'golden-base:1';

export interface Session {
  name: string;
  files: Record<string, string>;
  args: string[];
  /** after the run: more output to compare (the iidfile's shape) */
  extra?: (dir: string) => string;
}

const APP = {
  Dockerfile: `FROM ${GOLDEN_BASE}\nARG GREETING=hello\nENV WHO=world\nRUN echo "$GREETING $WHO" > /greeting && echo to-stdout && echo to-stderr >&2\nCOPY a.txt /data/\nWORKDIR /data\nCMD ["cat", "/greeting"]\n`,
  'a.txt': 'a\n',
};

export const SESSIONS: Session[] = [
  { name: 'success', files: APP, args: ['-t', 'golden-app:1'] },
  { name: 'cached', files: APP, args: ['-t', 'golden-app:2'] },
  { name: 'quiet', files: APP, args: ['-q'] },
  { name: 'iidfile', files: APP, args: ['-q', '--iidfile', 'iid.txt'], extra: (dir) => readFileSync(`${dir}/iid.txt`, 'utf8') },
  { name: 'run-exits-3', files: { Dockerfile: `FROM ${GOLDEN_BASE}\nRUN echo before && exit 3\nRUN echo never\n` }, args: [] },
  { name: 'parse-error', files: { Dockerfile: `FROM ${GOLDEN_BASE}\nFOO bar\n` }, args: [] },
  { name: 'missing-copy-source', files: { Dockerfile: `FROM ${GOLDEN_BASE}\nCOPY nope.txt /x\n` }, args: [] },
  { name: 'unused-build-arg', files: { Dockerfile: `FROM ${GOLDEN_BASE}\nRUN true\n` }, args: ['--build-arg', 'UNUSED=1', '--no-cache'] },
];

export interface Transcript {
  code: number;
  stdout: string;
  stderr: string;
  extra?: string;
}

/** Ids masked: full digests, 64- and 12-character hex ids. */
export function mask(text: string): string {
  return text.replace(/sha256:[0-9a-f]{64}/g, 'sha256:<id>').replace(/\b[0-9a-f]{64}\b/g, '<id>').replace(/\b[0-9a-f]{12}\b/g, '<id>');
}

export function runSession(host: string, s: Session, work: string): Promise<Transcript> {
  const dir = `${work}/${s.name}`;
  rmSync(dir, { recursive: true, force: true });
  for (const [f, text] of Object.entries(s.files)) {
    mkdirSync(`${dir}/${f}`.replace(/\/[^/]*$/, ''), { recursive: true });
    writeFileSync(`${dir}/${f}`, text);
  }
  return new Promise((resolve) => {
    execFile('docker', ['build', ...s.args, '.'], { cwd: dir, env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: `${work}/cli` } }, (e, stdout, stderr) => {
      const code = e ? ((e as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout: mask(stdout), stderr: mask(stderr), ...(s.extra && code === 0 ? { extra: mask(s.extra(dir)) } : {}) });
    });
  });
}

/**
 * The expected transcript. One line differs between 20.10 and the dockerd Berth reports (27):
 * newer releases print a removed step container as ` ---> Removed intermediate container ID`
 * where 20.10 printed `Removing intermediate container ID` (research/build.md §1.4).
 */
export function golden(name: string): Transcript {
  const t = JSON.parse(readFileSync(`${GOLDEN_DIR}/${name}.json`, 'utf8')) as Transcript;
  return { ...t, stdout: t.stdout.replaceAll('Removing intermediate container', ' ---> Removed intermediate container') };
}

// Recording from a private dockerd (Debian's docker.io): `node --import tsx test/helpers/buildSessions.ts record`.
if (process.argv[2] === 'record') {
  const { startDockerd } = await import('./dockerd.ts');
  const { busyboxTarball } = await import('./testEngine.ts');
  const d = await startDockerd();
  const work = mkdtempSync(`${tmpdir()}/berth-golden-`);
  try {
    await d.docker(['import', '--change', 'CMD ["sh"]', busyboxTarball(), GOLDEN_BASE]);
    mkdirSync(GOLDEN_DIR, { recursive: true });
    for (const s of SESSIONS) {
      const t = await runSession(`unix://${d.sock}`, s, work);
      writeFileSync(`${GOLDEN_DIR}/${s.name}.json`, `${JSON.stringify(t, null, 2)}\n`);
      console.log(`${s.name}: exit ${t.code}`);
    }
  } finally {
    await d.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
