/* Steps of container setup shared between files. */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include "plan.h"

/* mounts.c */
int prepare_rootfs(const struct plan *p, struct berr *err);
int pivot_into(const char *rootfs, struct berr *err);
int finish_rootfs(const struct plan *p, struct berr *err);
int bring_lo_up(struct berr *err);

/* security.c */
int apply_rlimits(const struct plan *p, struct berr *err);
int apply_identity_and_caps(const struct plan *p, struct berr *err);
int load_seccomp(const struct plan *p, struct berr *err);
int find_executable(const struct plan *p, char *out, size_t outlen, struct berr *err);
int set_oom_score_adj(pid_t pid, int32_t value, struct berr *err);

/* init.c: the container's first process; never returns. */
#define MAX_CGROUP_JOIN 16
struct cgroup_join {
	const char *paths[MAX_CGROUP_JOIN]; /* v1 tasks files the init writes "0" to */
	size_t n;
	int wait_go;                        /* the shim joins cgroups or writes id maps first */
};
struct init_ctx {
	const struct plan *plan;
	int sync_fd;      /* socketpair end shared with the shim */
	const struct cgroup_join *cgroups;
};
int container_init(void *arg);

/* Frames on the shim <-> init socket. */
#define SYNC_GO 'G'
#define SYNC_READY 'R'
#define SYNC_START 'S'
#define SYNC_ERROR 'E'

int send_error_frame(int fd, const struct berr *err);
int send_fd(int sock, char tag, int fd);
int recv_frame(int sock, char *tag, int *fd, struct berr *remote);

#endif
