// An image dockerd 20.10's classic builder made, kept as a fixture (test/fixtures/build-dockerd/
// images.tar.gz, `docker save` of it and its base), with the context it was built from. Berth
// must write the same history for the same Dockerfile (COPY's source hashes, the metadata
// texts) and, given it with --cache-from, take every step from it as dockerd would.
// Recorded from a private dockerd: `node --import tsx test/helpers/dockerdImages.ts record`.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCKERD_FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/build-dockerd/images.tar.gz');
export const DOCKERD_BASE = 'berth-fixture/base:1';
export const DOCKERD_BUILT = 'berth-fixture/built-by-dockerd:1';
/** the first stage (--target build) */
export const DOCKERD_STAGE = 'berth-fixture/built-by-dockerd:stage';

/** The context: every kind of step whose history dockerd writes in its own words. */
export function writeDockerdContext(dir: string): void {
  const files: Record<string, [string, number]> = {
    Dockerfile: [[
      `FROM ${DOCKERD_BASE} AS build`,
      'ARG V=3',
      'ARG EMPTY',
      'ENV A=1 B="two words"',
      'LABEL x=y "z w"="quoted label"',
      'RUN echo "V=$V A=$A" > /v.txt && mkdir -p /made/d && echo m > /made/d/f && chmod 640 /made/d/f',
      'WORKDIR /app/sub',
      'COPY hello.txt ./',
      'COPY dir/ /data/',
      'COPY *.txt /txts/',
      'COPY link /linked',
      'COPY --chown=1:1 secret.txt /owned',
      'EXPOSE 80 53/udp 8000-8002/tcp',
      'VOLUME ["/vol"]',
      'USER nobody',
      'STOPSIGNAL SIGTERM',
      'HEALTHCHECK --interval=5s --retries=2 CMD true',
      'ENTRYPOINT ["/bin/echo", "a \\"b\\""]',
      'CMD echo $A',
      `FROM ${DOCKERD_BASE}`,
      'COPY --from=build /made /made',
      'COPY --from=build /made/d/f /f',
      'SHELL ["/bin/sh", "-ec"]',
      'ONBUILD RUN echo later',
      '',
    ].join('\n'), 0o644],
    'hello.txt': ['hello\n', 0o644],
    'secret.txt': ['s\n', 0o600],
    'dir/a': ['a\n', 0o644],
    'dir/inner/b': ['b\n', 0o755],
  };
  for (const [name, [text, mode]] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), mode);
  }
  for (const d of ['dir', 'dir/inner']) chmodSync(join(dir, d), 0o755);
  rmSync(join(dir, 'link'), { force: true });
  symlinkSync('hello.txt', join(dir, 'link'));
}

// Recording from a private dockerd (Debian's docker.io).
if (process.argv[2] === 'record') {
  const { startDockerd } = await import('./dockerd.ts');
  const { busyboxTarball } = await import('./testEngine.ts');
  const { execFileSync } = await import('node:child_process');
  const d = await startDockerd();
  const work = mkdtempSync(`${tmpdir()}/berth-dockerd-fixture-`);
  try {
    writeDockerdContext(work);
    const ok = (r: { code: number; err: string }) => {
      if (r.code) throw new Error(r.err);
    };
    ok(await d.docker(['import', '--change', 'CMD ["sh"]', busyboxTarball(), DOCKERD_BASE]));
    ok(await d.docker(['build', '-q', '-t', DOCKERD_BUILT, work], { DOCKER_BUILDKIT: '0' }));
    ok(await d.docker(['build', '-q', '--target', 'build', '-t', DOCKERD_STAGE, work], { DOCKER_BUILDKIT: '0' }));
    mkdirSync(dirname(DOCKERD_FIXTURE), { recursive: true });
    ok(await d.docker(['save', '-o', `${work}/images.tar`, DOCKERD_BASE, DOCKERD_STAGE, DOCKERD_BUILT]));
    writeFileSync(DOCKERD_FIXTURE, execFileSync('gzip', ['-9nc', `${work}/images.tar`], { maxBuffer: 64 << 20 }));
    for (const ref of [DOCKERD_STAGE, DOCKERD_BUILT]) console.log((await d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', ref])).out);
  } finally {
    await d.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
