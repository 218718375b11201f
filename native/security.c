/* Process security: rlimits, capabilities, user identity, no_new_privs, seccomp,
 * and the PATH lookup done inside the container root. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

int apply_rlimits(const struct plan *p, struct berr *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = { (rlim_t)p->rlimits[i].soft, (rlim_t)p->rlimits[i].hard };
		if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
			return fail(err, "rlimits", errno, "setrlimit %u", p->rlimits[i].resource);
	}
	return 0;
}

int set_oom_score_adj(pid_t pid, int32_t value, struct berr *err)
{
	char path[64], val[16];
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
	int n = snprintf(val, sizeof val, "%d", value);
	return write_file(path, val, (size_t)n, err);
}

static int last_cap(void)
{
	char buf[16] = "";
	cleanup_fd int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
		return CAP_LAST_CAP;
	return atoi(buf);
}

static int set_caps(uint64_t eff, uint64_t perm, uint64_t inh, struct berr *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)perm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(err, "capabilities", errno, "capset");
	return 0;
}

/* runc's order: bounding drop, keepcaps, groups/gid/uid, capset, ambient. */
int apply_identity_and_caps(const struct plan *p, struct berr *err)
{
	if (p->has_caps) {
		int last = last_cap();
		for (int cap = 0; cap <= last; cap++)
			if (!(p->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				return fail(err, "capabilities", errno, "drop bounding capability %d", cap);
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return fail(err, "capabilities", errno, "set keepcaps");
	}
	if (p->has_user) {
		gid_t groups[256];
		size_t n = p->n_gids < 256 ? p->n_gids : 256;
		for (size_t i = 0; i < n; i++)
			groups[i] = p->gids[i];
		if (setgroups(n, groups) < 0 && errno != EPERM)
			return fail(err, "user", errno, "setgroups");
		if (setresgid(p->gid, p->gid, p->gid) < 0)
			return fail(err, "user", errno, "setresgid %u", p->gid);
		if (setresuid(p->uid, p->uid, p->uid) < 0)
			return fail(err, "user", errno, "setresuid %u", p->uid);
	}
	if (p->has_caps) {
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			return fail(err, "capabilities", errno, "clear keepcaps");
		/* Ambient caps must also be inheritable and permitted. */
		if (set_caps(p->cap_effective, p->cap_permitted, p->cap_inheritable | p->cap_ambient, err) < 0)
			return -1;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(err, "capabilities", errno, "clear ambient");
		for (int cap = 0; cap < 64; cap++)
			if ((p->cap_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				return fail(err, "capabilities", errno, "raise ambient capability %d", cap);
	}
	if (p->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, "no-new-privileges", errno, "prctl");
	return 0;
}

int load_seccomp(const struct plan *p, struct berr *err)
{
	if (!p->seccomp_len)
		return 0;
	if (p->seccomp_len % sizeof(struct sock_filter))
		return fail(err, "seccomp", EINVAL, "filter length %zu is not a multiple of 8", p->seccomp_len);
	struct sock_fprog prog = {
		.len = (unsigned short)(p->seccomp_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)p->seccomp,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) < 0) {
		if (errno != EINVAL || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			return fail(err, "seccomp", errno, "load filter");
	}
	return 0;
}

static const char *env_get(const struct plan *p, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < p->n_env; i++)
		if (!strncmp(p->env[i], key, kl) && p->env[i][kl] == '=')
			return p->env[i] + kl + 1;
	return NULL;
}

static int is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Docker's CLI maps "executable file not found" to 127 and "permission denied" to 126; the
 * errno (ENOENT, EACCES) says which to the engine, which never reads the message. The
 * message keeps Docker's words without strerror appended. */
static int exec_fail(struct berr *err, int errnum, const char *msg, const char *cmd)
{
	fail(err, "exec", 0, msg, cmd, cmd);
	err->errnum = errnum;
	return -1;
}

int find_executable(const struct plan *p, char *out, size_t outlen, struct berr *err)
{
	const char *cmd = p->n_argv ? p->argv[0] : NULL;
	if (!cmd || !*cmd)
		return fail(err, "exec", EINVAL, "no command specified");
	if (strchr(cmd, '/')) {
		struct stat st;
		if (stat(cmd, &st) < 0)
			return exec_fail(err, ENOENT, "exec: \"%s\": stat %s: no such file or directory", cmd);
		if (S_ISDIR(st.st_mode) || access(cmd, X_OK) < 0)
			return exec_fail(err, EACCES, "exec: \"%s\": permission denied", cmd);
		snprintf(out, outlen, "%s", cmd);
		return 0;
	}
	const char *path = env_get(p, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		snprintf(out, outlen, "%.*s/%s", (int)len, len ? path : ".", cmd);
		if (is_executable(out))
			return 0;
		path += len + (end ? 1 : 0);
	}
	return exec_fail(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
}
