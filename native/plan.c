/* TLV plan parser: u16 type | u16 flags | u32 len | payload, little-endian. */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	const char *p, *end;
	int bad;
};

static uint32_t take_u32(struct cursor *c)
{
	uint32_t v = 0;
	if (c->end - c->p < 4) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, 4);
	c->p += 4;
	return v;
}

static uint64_t take_u64(struct cursor *c)
{
	uint64_t v = 0;
	if (c->end - c->p < 8) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

static uint16_t take_u16(struct cursor *c)
{
	uint16_t v = 0;
	if (c->end - c->p < 2) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, 2);
	c->p += 2;
	return v;
}

static uint8_t take_u8(struct cursor *c)
{
	if (c->end - c->p < 1) {
		c->bad = 1;
		return 0;
	}
	return (uint8_t)*c->p++;
}

/* Strings are NUL-terminated inside the record. */
static const char *take_str(struct cursor *c)
{
	const char *s = c->p;
	const char *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
	if (!nul) {
		c->bad = 1;
		return "";
	}
	c->p = nul + 1;
	return s;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	void *na = realloc(*arr, nc * elem);
	if (!na)
		return -1;
	*arr = na;
	*cap = nc;
	return 0;
}

#define PUSH(p, name, value)                                                                   \
	do {                                                                                   \
		if (grow((void **)&(p)->name, &(p)->cap_##name, (p)->n_##name, sizeof *(p)->name) < 0) \
			return fail(err, "plan", ENOMEM, "grow " #name);                     \
		(p)->name[(p)->n_##name++] = (value);                                         \
	} while (0)

static int parse_record(struct plan *p, uint16_t type, struct cursor *c, struct berr *err)
{
	switch (type) {
	case P_NS_FLAGS: p->ns_flags = take_u32(c); break;
	case P_NS_JOIN: {
		struct plan_ns_join j;
		j.type = take_u32(c);
		j.path = take_str(c);
		PUSH(p, ns_join, j);
		break;
	}
	case P_UIDMAP: p->uidmap = take_str(c); break;
	case P_GIDMAP: p->gidmap = take_str(c); break;
	case P_CGROUP_PROCS: PUSH(p, cgroup_procs, take_str(c)); break;
	case P_OOM_SCORE_ADJ: p->has_oom_score_adj = 1; p->oom_score_adj = (int32_t)take_u32(c); break;
	case P_RLIMIT: {
		struct plan_rlimit r;
		r.resource = take_u32(c);
		r.soft = take_u64(c);
		r.hard = take_u64(c);
		PUSH(p, rlimits, r);
		break;
	}
	case P_ROOTFS: p->rootfs = take_str(c); break;
	case P_ROOT_RO: p->root_ro = take_u8(c); break;
	case P_MOUNT: {
		struct plan_mount m;
		m.flags = take_u32(c);
		m.propagation = take_u32(c);
		m.kind = take_u8(c);
		m.src = take_str(c);
		m.dst = take_str(c);
		m.fstype = take_str(c);
		m.data = take_str(c);
		PUSH(p, mounts, m);
		break;
	}
	case P_DEV: {
		struct plan_dev d;
		d.path = take_str(c);
		d.type = (char)take_u8(c);
		d.major = take_u32(c);
		d.minor = take_u32(c);
		d.mode = take_u32(c);
		d.uid = take_u32(c);
		d.gid = take_u32(c);
		PUSH(p, devs, d);
		break;
	}
	case P_SYMLINK: PUSH(p, symlinks, take_str(c)); PUSH(p, symlinks, take_str(c)); break;
	case P_MASK: PUSH(p, masks, take_str(c)); break;
	case P_READONLY: PUSH(p, readonly, take_str(c)); break;
	case P_HOSTNAME: p->hostname = take_str(c); break;
	case P_DOMAINNAME: p->domainname = take_str(c); break;
	case P_SYSCTL: PUSH(p, sysctls, take_str(c)); PUSH(p, sysctls, take_str(c)); break;
	case P_TERMINAL: p->terminal = take_u8(c); break;
	case P_INIT: p->init = take_u8(c); break;
	case P_CONSOLE_SIZE: p->rows = take_u16(c); p->cols = take_u16(c); break;
	case P_USER: {
		p->has_user = 1;
		p->uid = take_u32(c);
		p->gid = take_u32(c);
		uint32_t n = take_u32(c);
		for (uint32_t i = 0; i < n && !c->bad; i++)
			PUSH(p, gids, take_u32(c));
		break;
	}
	case P_CWD: p->cwd = take_str(c); break;
	case P_CAPS:
		p->has_caps = 1;
		p->cap_bounding = take_u64(c);
		p->cap_effective = take_u64(c);
		p->cap_permitted = take_u64(c);
		p->cap_inheritable = take_u64(c);
		p->cap_ambient = take_u64(c);
		break;
	case P_NNP: p->nnp = take_u8(c); break;
	case P_SECCOMP:
		p->seccomp = (const uint8_t *)c->p;
		p->seccomp_len = (size_t)(c->end - c->p);
		c->p = c->end;
		break;
	case P_ARGV: PUSH(p, argv, (char *)take_str(c)); break;
	case P_ENV: PUSH(p, env, (char *)take_str(c)); break;
	case P_LOG:
		p->log_path = take_str(c);
		p->log_max_size = take_u64(c);
		p->log_max_files = take_u32(c);
		break;
	case P_EXIT_FILE: p->exit_file = take_str(c); break;
	case P_RUN_DIR: p->run_dir = take_str(c); break;
	case P_STDIN: p->open_stdin = take_u8(c); break;
	case P_STDIN_ONCE: p->stdin_once = take_u8(c); break;
	case P_OOM_FILE: p->oom_file = take_str(c); break;
	case P_TARGET_PID: p->target_pid = take_u32(c); p->target_starttime = take_u64(c); break;
	case P_UMASK: p->has_umask = 1; p->umask = take_u32(c); break;
	case P_LO_UP: p->lo_up = take_u8(c); break;
	case P_START_NOW: p->start_now = take_u8(c); break;
	default:
		return fail(err, "plan", EINVAL, "unknown plan record type %u", type);
	}
	if (c->bad)
		return fail(err, "plan", EINVAL, "truncated plan record type %u", type);
	return 0;
}

int plan_parse(struct plan *p, char *buf, size_t len, struct berr *err)
{
	memset(p, 0, sizeof *p);
	p->log_max_files = 1;
	size_t off = 0;
	while (off < len) {
		if (len - off < 8)
			return fail(err, "plan", EINVAL, "truncated record header at %zu", off);
		uint16_t type;
		uint32_t rlen;
		memcpy(&type, buf + off, 2);
		memcpy(&rlen, buf + off + 4, 4);
		off += 8;
		if (rlen > len - off)
			return fail(err, "plan", EINVAL, "record type %u overruns plan", type);
		struct cursor c = { buf + off, buf + off + rlen, 0 };
		if (parse_record(p, type, &c, err) < 0)
			return -1;
		off += rlen;
	}
	/* argv and env are handed to execve as NULL-terminated arrays. */
	PUSH(p, argv, NULL);
	p->n_argv--;
	PUSH(p, env, NULL);
	p->n_env--;
	return 0;
}
