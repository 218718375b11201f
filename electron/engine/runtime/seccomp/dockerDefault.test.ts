// The default profile against what Docker 25+ allows: io_uring is refused whatever the
// capabilities, and the calls ordinary programs make are allowed.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DOCKER_DEFAULT_PROFILE } from './dockerDefault.ts';
import { resolveProfile } from './profile.ts';

const ALL_CAPS = ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_NICE', 'CAP_SYS_TIME'];

it('allows no io_uring call at any capability or architecture, as Docker 25+', () => {
  for (const arch of ['amd64', 'arm64']) {
    for (const caps of [[], ALL_CAPS]) {
      const allowed = new Set(resolveProfile(DOCKER_DEFAULT_PROFILE, { caps, arch, kernel: '6.1.0' }).filter((r) => r.action === 'SCMP_ACT_ALLOW').map((r) => r.name));
      for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register']) assert.equal(allowed.has(name), false, `${name} (${arch}, ${caps.length} caps)`);
      for (const name of ['read', 'openat2', 'clone', 'epoll_pwait2', 'io_submit', 'rseq', 'landlock_create_ruleset']) assert.ok(allowed.has(name), `${name} (${arch})`);
    }
  }
});
