/* The binary plan the engine compiles for each container or exec (TLV records). */
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

#include <stdint.h>
#include <stddef.h>
#include "util.h"

/* Record types; keep in step with electron/engine/runtime/planEncoder.ts. */
enum plan_type {
	P_NS_FLAGS = 1, P_NS_JOIN = 2, P_UIDMAP = 3, P_GIDMAP = 4, P_CGROUP_PROCS = 5,
	P_OOM_SCORE_ADJ = 6, P_RLIMIT = 7, P_ROOTFS = 8, P_ROOT_RO = 9, P_MOUNT = 10,
	P_DEV = 11, P_SYMLINK = 12, P_MASK = 13, P_READONLY = 14, P_HOSTNAME = 15,
	P_SYSCTL = 16, P_TERMINAL = 17, P_CONSOLE_SIZE = 18, P_USER = 19, P_CWD = 20,
	P_CAPS = 21, P_NNP = 22, P_SECCOMP = 23, P_ARGV = 24, P_ENV = 25, P_LOG = 26,
	P_EXIT_FILE = 27, P_RUN_DIR = 28, P_STDIN = 29, P_STDIN_ONCE = 30, P_OOM_FILE = 31,
	P_TARGET_PID = 32, P_UMASK = 33, P_DOMAINNAME = 34, P_LO_UP = 35, P_START_NOW = 36,
	P_INIT = 37,
};

enum mount_kind { MK_FS = 0, MK_BIND = 1, MK_RBIND = 2 };

struct plan_mount {
	uint32_t flags, propagation, kind;
	const char *src, *dst, *fstype, *data;
};

struct plan_dev {
	const char *path;
	char type;
	uint32_t major, minor, mode, uid, gid;
};

struct plan_rlimit {
	uint32_t resource;
	uint64_t soft, hard;
};

struct plan_ns_join {
	uint32_t type;
	const char *path;
};

#define PLAN_LIST(T, name) T *name; size_t n_##name, cap_##name

struct plan {
	uint32_t ns_flags;
	PLAN_LIST(struct plan_ns_join, ns_join);
	const char *uidmap, *gidmap;
	PLAN_LIST(const char *, cgroup_procs);
	int has_oom_score_adj;
	int32_t oom_score_adj;
	PLAN_LIST(struct plan_rlimit, rlimits);
	const char *rootfs;
	int root_ro;
	PLAN_LIST(struct plan_mount, mounts);
	PLAN_LIST(struct plan_dev, devs);
	PLAN_LIST(const char *, symlinks); /* pairs: target, link */
	PLAN_LIST(const char *, masks);
	PLAN_LIST(const char *, readonly);
	const char *hostname, *domainname;
	PLAN_LIST(const char *, sysctls); /* pairs: key, value */
	int terminal;
	int init; /* pid 1 is our reaper, the command its child (--init) */
	uint16_t rows, cols;
	int has_user;
	uint32_t uid, gid;
	PLAN_LIST(uint32_t, gids);
	const char *cwd;
	int has_caps;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int nnp;
	const uint8_t *seccomp;
	size_t seccomp_len;
	PLAN_LIST(char *, argv);
	PLAN_LIST(char *, env);
	const char *log_path;
	uint64_t log_max_size;
	uint32_t log_max_files;
	const char *exit_file, *run_dir, *oom_file;
	int open_stdin, stdin_once, lo_up, start_now;
	uint32_t target_pid;
	uint64_t target_starttime;
	int has_umask;
	uint32_t umask;
};

/* Parses buf (kept alive by the caller: strings point into it). */
int plan_parse(struct plan *p, char *buf, size_t len, struct berr *err);

#endif
