/* The container's first process, from clone() to execve(). Every failure is sent to
 * the shim as an error frame before _exit, so the engine can name the stage. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int send_error_frame(int fd, const struct berr *err)
{
	char buf[1 + sizeof *err];
	buf[0] = SYNC_ERROR;
	memcpy(buf + 1, err, sizeof *err);
	return write_all(fd, buf, sizeof buf) < 0 ? -1 : 0;
}

int send_fd(int sock, char tag, int fd)
{
	struct iovec iov = { &tag, 1 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(cbuf, 0, sizeof cbuf);
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Returns 1 with a frame, 0 on EOF, -1 on error. */
int recv_frame(int sock, char *tag, int *fd, struct berr *remote)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { tag, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	if (fd)
		*fd = -1;
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && fd)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (*tag == SYNC_ERROR && remote) {
		if (read_all(sock, remote, sizeof *remote) != (ssize_t)sizeof *remote)
			return -1;
		remote->msg[sizeof remote->msg - 1] = 0;
		remote->stage[sizeof remote->stage - 1] = 0;
	}
	return 1;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* The pty is allocated inside the container's devpts instance; the master goes to the shim. */
static int setup_terminal(const struct plan *p, int sync_fd, struct berr *err)
{
	cleanup_fd int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(err, "terminal", errno, "open /dev/ptmx");
	if (unlockpt(master) < 0)
		return fail(err, "terminal", errno, "unlockpt");
	char name[128];
	if (ptsname_r(master, name, sizeof name) != 0)
		return fail(err, "terminal", errno, "ptsname");
	cleanup_fd int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return fail(err, "terminal", errno, "open %s", name);
	if (p->rows && p->cols) {
		struct winsize ws = { .ws_row = p->rows, .ws_col = p->cols };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	int cfd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0620);
	if (cfd >= 0) {
		close(cfd);
		char src[64];
		snprintf(src, sizeof src, "/proc/self/fd/%d", slave);
		if (mount(src, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return fail(err, "terminal", errno, "bind /dev/console");
	}
	if (p->has_user && fchown(slave, p->uid, (gid_t)-1) < 0)
		return fail(err, "terminal", errno, "chown %s", name);
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return fail(err, "terminal", errno, "dup2 pty");
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return fail(err, "terminal", errno, "set controlling terminal");
	if (send_fd(sync_fd, 'T', master) < 0)
		return fail(err, "terminal", errno, "send pty master");
	return 0;
}

static int init_steps(const struct plan *p, int sync_fd, char *exe, size_t exelen, struct berr *err)
{
	if (p->uidmap && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return fail(err, "userns", errno, "become root in the user namespace");
	/* Unshared only now, so the namespace root is the container's cgroup. */
	if ((p->ns_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return fail(err, "namespaces", errno, "unshare cgroup namespace");
	if (setsid() < 0)
		return fail(err, "namespaces", errno, "setsid");
	if (p->lo_up && bring_lo_up(err) < 0)
		return -1;
	if (p->rootfs) {
		if (prepare_rootfs(p, err) < 0 || pivot_into(p->rootfs, err) < 0)
			return -1;
	}
	if (p->terminal && setup_terminal(p, sync_fd, err) < 0)
		return -1;
	if (finish_rootfs(p, err) < 0)
		return -1;
	if (p->cwd && *p->cwd) {
		if (chdir(p->cwd) < 0 && (errno != ENOENT || mkdir_p(p->cwd) < 0 || chdir(p->cwd) < 0))
			return fail(err, "cwd", errno, "chdir to %s", p->cwd);
	}
	umask(p->has_umask ? p->umask : 022);
	if (apply_rlimits(p, err) < 0)
		return -1;
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN, so it goes in before the drop. */
	if (!p->nnp && load_seccomp(p, err) < 0)
		return -1;
	if (apply_identity_and_caps(p, err) < 0)
		return -1;
	if (p->nnp && load_seccomp(p, err) < 0)
		return -1;
	return find_executable(p, exe, exelen, err);
}

/* --init: pid 1 stays ours. It runs the command as its child in its own process group (the
 * terminal's foreground one), forwards every signal it gets to it, reaps whatever is
 * reparented to it, and exits as the command did (128+signal when killed). The sync socket
 * is closed once the command is executing, or after the child sent its exec error. */
static void run_as_init(const struct plan *p, int sync_fd, const char *exe)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap for us and hide the exit */
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0)
		_exit(126);
	pid_t child = fork();
	if (child < 0)
		_exit(126);
	if (child == 0) {
		struct berr err = { "", 0, "" };
		close(ep[0]);
		setpgid(0, 0);
		if (p->terminal) {
			signal(SIGTTOU, SIG_IGN);
			tcsetpgrp(0, getpid());
			signal(SIGTTOU, SIG_DFL);
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
		execve(exe, p->argv, p->env);
		fail(&err, "exec", errno, "exec: \"%s\"", p->argv[0]);
		if (errno == EACCES)
			snprintf(err.msg, sizeof err.msg, "exec: \"%s\": permission denied", p->argv[0]);
		send_error_frame(sync_fd, &err);
		_exit(127);
	}
	close(ep[1]);
	char c;
	while (read(ep[0], &c, 1) < 0 && errno == EINTR)
		;
	close(ep[0]);
	close(sync_fd);
	prctl(PR_SET_NAME, "init", 0, 0, 0);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (pid == child)
				_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

int container_init(void *arg)
{
	struct init_ctx *ctx = arg;
	const struct plan *p = ctx->plan;
	struct berr err = { "", 0, "" };
	char tag = 0, exe[4096];

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Into the v1 hierarchies first, so all that follows is charged and limited there. */
	for (size_t i = 0; i < ctx->cgroups->n; i++)
		if (write_file(ctx->cgroups->paths[i], "0", 1, &err) < 0) {
			snprintf(err.stage, sizeof err.stage, "cgroup");
			goto fail;
		}
	if (ctx->cgroups->wait_go && (recv_frame(ctx->sync_fd, &tag, NULL, NULL) != 1 || tag != SYNC_GO))
		_exit(1);
	if (init_steps(p, ctx->sync_fd, exe, sizeof exe, &err) < 0)
		goto fail;
	if (send_fd(ctx->sync_fd, SYNC_READY, -1) < 0)
		_exit(1);
	/* The start gate: the engine finishes networking and attaches before we exec. */
	if (recv_frame(ctx->sync_fd, &tag, NULL, NULL) != 1 || tag != SYNC_START)
		_exit(1);
	/* CVE-2024-21626: nothing of ours may leak into the container process. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			if (fd != ctx->sync_fd)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	if (p->init)
		run_as_init(p, ctx->sync_fd, exe);
	execve(exe, p->argv, p->env);
	fail(&err, "exec", errno, "exec: \"%s\"", p->argv[0]);
	if (errno == EACCES)
		snprintf(err.msg, sizeof err.msg, "exec: \"%s\": permission denied", p->argv[0]);
fail:
	send_error_frame(ctx->sync_fd, &err);
	_exit(127);
}
