import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDockerfile } from './dockerfile.ts';
import { ignoreMatcher } from '../../../common/dockerignore.ts';
import { applyMeta, envVars } from './metadata.ts';
import { applyChanges } from './commit.ts';
import { expandWord, expandWords } from './shellWords.ts';
import type { ImageRuntimeConfig } from '../images/imageStore.ts';
import { buildTar, coalesce } from '../images/tarWriter.ts';

describe('Dockerfile parser', () => {
  it('reads directives, continuations, comments inside continuations, JSON and shell forms', () => {
    const df = parseDockerfile([
      '# syntax=docker/dockerfile:1',
      '# escape=`',
      '',
      'ARG BASE=busybox',
      'FROM $BASE AS Build',
      'RUN echo a `',
      '# a comment inside',
      '    && echo b',
      'CMD ["sh", "-c", "x"]',
      'CMD ["broken",',
      'copy --chown=1:2 --link a b /dst/',
    ].join('\n'));
    assert.equal(df.escape, '`');
    assert.deepEqual(df.directives, { syntax: 'docker/dockerfile:1', escape: '`' });
    assert.equal(df.metaArgs.length, 1);
    assert.equal(df.stages[0].name, 'build');
    const [run, cmd, broken, copy] = df.stages[0].instructions;
    assert.equal(run.rest, 'echo a     && echo b');
    assert.equal(run.line, 6);
    assert.deepEqual(cmd.json, ['sh', '-c', 'x']);
    assert.equal(broken.json, undefined, 'malformed JSON is the shell form');
    assert.equal(copy.cmd, 'COPY');
    assert.deepEqual(copy.flags, [{ name: 'chown', value: '1:2' }, { name: 'link', value: undefined }]);
    assert.equal(copy.rest, 'a b /dst/');
  });

  it('reads heredocs: several per line, <<- strips tabs, quoted names', () => {
    const df = parseDockerfile('FROM x\nRUN <<A cat - <<-"B"\none\nA\n\ttwo\nB\nCOPY <<EOT /f\nbody $X\nEOT\n');
    const [run, copy] = df.stages[0].instructions;
    assert.deepEqual(run.heredocs.map((h) => [h.name, h.body, h.quoted, h.chomp]), [['A', 'one\n', false, false], ['B', 'two\n', true, true]]);
    assert.equal(copy.heredocs[0].body, 'body $X\n');
    assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\nno end\n'), /unterminated heredoc EOF/);
  });

  it('refuses what dockerd refuses, naming the line', () => {
    assert.throws(() => parseDockerfile('FROM x\nFOO bar\n'), /dockerfile parse error line 2: unknown instruction: FOO/);
    assert.throws(() => parseDockerfile('\n# only a comment\n'), /the Dockerfile \(Dockerfile\) cannot be empty/);
    assert.throws(() => parseDockerfile('RUN true\n'), /no build stage in current context/);
    assert.throws(() => parseDockerfile('FROM a AS x\nFROM b AS x\n'), /duplicate name x/);
    assert.throws(() => parseDockerfile('FROM a b\n'), /FROM requires either one or three arguments/);
    assert.throws(() => parseDockerfile('# escape=x\nFROM a\n'), /invalid escape token/);
  });
});

describe('word expansion', () => {
  const vars = (n: string) => ({ A: 'one', E: '', P: 'dir/file.tar.gz' } as Record<string, string>)[n];
  it('expands the ${} forms and quotes as BuildKit does', () => {
    assert.equal(expandWord('$A-${A}', vars), 'one-one');
    assert.equal(expandWord('${E:-def} ${E-def} ${U-def}', vars), 'def  def');
    assert.equal(expandWord('${A:+set} ${E:+set}|${E+set}', vars), 'set |set');
    assert.equal(expandWord("'$A' \"$A\" \\$A", vars), '$A one $A');
    assert.equal(expandWord('${P#*/} ${P##*.} ${P%.*} ${P%%.*}', vars), 'file.tar.gz gz dir/file.tar dir/file');
    assert.equal(expandWord('${P/tar/zip}', vars), 'dir/file.zip.gz');
    assert.deepEqual(expandWords('a "b c" $A', vars), ['a', 'b c', 'one']);
    assert.throws(() => expandWord('${}', vars), /bad substitution/);
    assert.throws(() => expandWord('${U:?must be set}', vars), /U: must be set/);
    assert.throws(() => expandWord('"open', vars), /matching double-quote/);
  });
});

describe('config instructions', () => {
  const apply = (lines: string[], start: ImageRuntimeConfig = {}) => {
    const c = structuredClone(start);
    const ctx = { vars: envVars(c.Env), escape: '\\', cmdSet: false };
    for (const ins of parseDockerfile(`FROM x\n${lines.join('\n')}`).stages[0].instructions) {
      ctx.vars = envVars(c.Env);
      applyMeta(c, ins, ctx);
    }
    return c;
  };
  it('ENV sees earlier values on its line; LABEL, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL, HEALTHCHECK', () => {
    const c = apply(['ENV A=1 B=${A}2', 'ENV LEGACY some value', 'LABEL "k 1"=v k2="$A"', 'EXPOSE 80 53/udp 8000-8001', 'VOLUME ["/data"]',
      'WORKDIR /a', 'WORKDIR b', 'USER 1000:1000', 'STOPSIGNAL SIGTERM', 'HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://x/']);
    assert.deepEqual(c.Env, ['A=1', 'B=12', 'LEGACY=some value']);
    assert.deepEqual(c.Labels, { 'k 1': 'v', k2: '1' });
    assert.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp']);
    assert.deepEqual(Object.keys(c.Volumes!), ['/data']);
    assert.equal(c.WorkingDir, '/a/b');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://x/'], Interval: 5e9, Retries: 2 });
  });
  it('ENTRYPOINT drops an inherited CMD but keeps one set in the stage; SHELL changes shell forms', () => {
    assert.equal(apply(['ENTRYPOINT ["a"]'], { Cmd: ['inherited'] }).Cmd, null);
    assert.deepEqual(apply(['CMD ["mine"]', 'ENTRYPOINT ["a"]'], { Cmd: ['inherited'] }).Cmd, ['mine']);
    assert.deepEqual(apply(['SHELL ["/bin/bash", "-ec"]', 'CMD echo hi']).Cmd, ['/bin/bash', '-ec', 'echo hi']);
  });
  it('refuses bad ports, signals and ENV', () => {
    assert.throws(() => apply(['EXPOSE 99999']), /Invalid containerPort: 99999/);
    assert.throws(() => apply(['STOPSIGNAL SIGFOO']), /Invalid signal: SIGFOO/);
    assert.throws(() => apply(['ENV A']), /ENV must have two arguments/);
    assert.throws(() => apply(['SHELL /bin/bash']), /SHELL requires the arguments to be in JSON form/);
  });
  it('commit --change takes only config instructions', () => {
    const c = applyChanges({ Cmd: ['sh'], Env: ['A=1'] }, ['EXPOSE 8000', 'CMD ["bash"]', 'ENV B=$A']);
    assert.deepEqual(c.Cmd, ['bash']);
    assert.deepEqual(c.Env, ['A=1', 'B=1']);
    assert.throws(() => applyChanges({}, ['RUN true']), /RUN is not a valid change command/);
  });
  it('joins small chunks into bigger ones without losing a byte', () => {
    const tar = buildTar([{ name: 'etc/', type: 'dir', mode: 0o755 }, { name: 'f', type: 'file', mode: 0o644, data: Buffer.from('x') }]);
    const parts = [...coalesce([tar.subarray(0, 100), tar.subarray(100, 700), tar.subarray(700)], 512)];
    assert.deepEqual(parts.map((p) => p.length), [700, tar.length - 700]);
    assert.ok(Buffer.concat(parts).equals(tar));
  });
});

describe('.dockerignore', () => {
  it('matches as moby/patternmatcher: last match wins, parents match, ** spans segments', () => {
    const m = ignoreMatcher('# comment\n*.log\n!keep.log\nbuild/\n**/tmp\n/Dockerfile\n  spaced  \n');
    assert.equal(m('a.log'), true);
    assert.equal(m('keep.log'), false);
    assert.equal(m('sub/a.log'), false, '* does not cross /');
    assert.equal(m('build/x/y'), true, 'a parent directory matches');
    assert.equal(m('a/b/tmp'), true);
    assert.equal(m('tmp'), true, '** spans no segment too');
    assert.equal(m('Dockerfile'), true);
    assert.equal(m('spaced'), true);
    assert.equal(m('other'), false);
  });
});
