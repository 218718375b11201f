/* exec mode: join a running container's namespaces and cgroup, then run one process
 * with the container's security settings. Stdio is inherited (pipes or a pty from
 * node-pty), so the engine never needs fd passing. A terminal exec gets a pty of the
 * container's own devpts (so `tty` names a device that exists inside); this process relays
 * between it and its stdin/stdout: pipes, with window sizes as "ROWS COLS" lines on
 * --resize-fd, or an inherited terminal, put in raw mode, whose size it follows. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static volatile pid_t child_pid;
static int wake_fd = -1; /* terminal mode: SIGCHLD and SIGWINCH wake the relay */

static void forward(int sig)
{
	if (wake_fd >= 0 && (sig == SIGWINCH || sig == SIGCHLD)) {
		char c = sig == SIGWINCH ? 'w' : 'c';
		(void)!write(wake_fd, &c, 1);
		return;
	}
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* The master of a new pty in the devpts mounted at the container's /dev/pts. */
static int open_container_pty(const struct plan *p, char *name, size_t len, struct berr *err)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(err, "terminal", errno, "open the container's /dev/ptmx");
	if (unlockpt(master) < 0 || ptsname_r(master, name, len) != 0) {
		fail(err, "terminal", errno, "unlock the container's pty");
		close(master);
		return -1;
	}
	/* An inherited terminal's size, else the plan's. */
	struct winsize ws = { .ws_row = p->rows, .ws_col = p->cols };
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 || (p->rows && p->cols))
		ioctl(master, TIOCSWINSZ, &ws);
	return master;
}

static int attach_pty(const struct plan *p, const char *name, struct berr *err)
{
	if (setsid() < 0)
		return fail(err, "terminal", errno, "setsid");
	int slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return fail(err, "terminal", errno, "open %s", name);
	if (p->has_user && fchown(slave, p->uid, (gid_t)-1) < 0)
		return fail(err, "terminal", errno, "chown %s", name);
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return fail(err, "terminal", errno, "dup2 pty");
	if (slave > 2)
		close(slave);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return fail(err, "terminal", errno, "set controlling terminal");
	return 0;
}

/* Copies what is readable from one fd to another; 0 at end of input. */
static int pump(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof buf);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	return write_all(to, buf, (size_t)n) < 0 ? 0 : 1;
}

/* "ROWS COLS" lines from the engine: each one resizes the pty (its process gets SIGWINCH). */
static int read_resizes(int fd, int master, char *buf, size_t *len, size_t cap)
{
	ssize_t n = read(fd, buf + *len, cap - *len - 1);
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
	*len += (size_t)n;
	buf[*len] = 0;
	char *line = buf, *nl;
	while ((nl = strchr(line, '\n'))) {
		unsigned rows, cols;
		if (sscanf(line, "%u %u", &rows, &cols) == 2 && rows && cols && rows < 65536 && cols < 65536) {
			struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
			ioctl(master, TIOCSWINSZ, &ws);
		}
		line = nl + 1;
	}
	*len -= (size_t)(line - buf);
	memmove(buf, line, *len);
	if (*len == cap - 1)
		*len = 0; /* a line that long is not a size */
	return 1;
}

/* Relays until the process exits, then drains what it wrote; returns its wait status. */
static int relay_pty(int master, pid_t pid, int wake_r, int resize_fd)
{
	struct termios tio;
	if (tcgetattr(0, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(0, TCSANOW, &tio);
	}
	char rbuf[128];
	size_t rlen = 0;
	int st = 0, exited = 0, in_open = 1, out_open = 1;
	while (!exited) {
		/* A closed side is dropped from the poll (a hung-up master would wake it forever). */
		struct pollfd fds[4] = { { wake_r, POLLIN, 0 }, { out_open ? master : -1, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
					 { resize_fd, POLLIN, 0 } };
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents & POLLIN) {
			char c[16];
			ssize_t n = read(wake_r, c, sizeof c);
			for (ssize_t i = 0; i < n; i++) {
				struct winsize ws;
				if (c[i] == 'w' && ioctl(0, TIOCGWINSZ, &ws) == 0)
					ioctl(master, TIOCSWINSZ, &ws);
			}
			if (waitpid(pid, &st, WNOHANG) == pid)
				exited = 1;
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
			out_open = pump(master, 1);
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
			in_open = pump(0, master);
		if (resize_fd >= 0 && (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) && !read_resizes(resize_fd, master, rbuf, &rlen, sizeof rbuf))
			resize_fd = -1;
	}
	/* The process is gone: whatever it (or a child still holding the pty) wrote is read now. */
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	char buf[65536];
	ssize_t n;
	while ((n = read(master, buf, sizeof buf)) > 0)
		if (write_all(1, buf, (size_t)n) < 0)
			break;
	return st;
}

static const struct { const char *name; int flag; } ns_order[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS },
};

static int join_container(const struct plan *p, struct berr *err)
{
	pid_t pid = (pid_t)p->target_pid;
	if (!pid || proc_starttime(pid) != p->target_starttime)
		return fail(err, "exec", ESRCH, "container process %d is gone", (int)pid);
	/* Paths under /proc vanish once we are in the mount namespace: open them all first. */
	int fds[7];
	for (size_t i = 0; i < 7; i++) {
		fds[i] = -1;
		if (!(p->ns_flags & (unsigned)ns_order[i].flag))
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns_order[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return fail(err, "exec", errno, "open %s", path);
	}
	char self[16];
	int sl = snprintf(self, sizeof self, "%d", (int)getpid());
	for (size_t i = 0; i < p->n_cgroup_procs; i++)
		if (write_file(p->cgroup_procs[i], self, (size_t)sl, err) < 0)
			return -1;
	for (size_t i = 0; i < 7; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], ns_order[i].flag) < 0)
			return fail(err, "exec", errno, "join %s namespace", ns_order[i].name);
		close(fds[i]);
	}
	return 0;
}

static void run_child(const struct plan *p, int err_fd, const char *pty_name)
{
	struct berr err = { "", 0, "" };
	char exe[4096];
	if (p->uidmap && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		fail(&err, "userns", errno, "become root in the user namespace");
		goto fail;
	}
	if (pty_name && attach_pty(p, pty_name, &err) < 0)
		goto fail;
	if (p->cwd && *p->cwd && chdir(p->cwd) < 0) {
		fail(&err, "cwd", errno, "chdir to %s", p->cwd);
		goto fail;
	}
	if (apply_rlimits(p, &err) < 0 || (!p->nnp && load_seccomp(p, &err) < 0) ||
	    apply_identity_and_caps(p, &err) < 0 || (p->nnp && load_seccomp(p, &err) < 0) ||
	    find_executable(p, exe, sizeof exe, &err) < 0)
		goto fail;
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	execve(exe, p->argv, p->env);
	fail(&err, "exec", errno, "exec: \"%s\"", p->argv[0]);
fail:
	(void)!write_all(err_fd, &err, sizeof err);
	_exit(err.errnum == ENOENT || strstr(err.msg, "not found") ? 127 : 126);
}

int exec_main(int argc, char **argv)
{
	const char *plan_path = NULL, *status_path = NULL;
	int resize_fd = -1;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--plan"))
			plan_path = argv[i + 1];
		else if (!strcmp(argv[i], "--status"))
			status_path = argv[i + 1];
		else if (!strcmp(argv[i], "--resize-fd"))
			resize_fd = atoi(argv[i + 1]);
	}
	if (resize_fd >= 0)
		fcntl(resize_fd, F_SETFD, FD_CLOEXEC); /* the process in the container never sees it */
	struct berr err = { "", 0, "" };
	int status_fd = status_path ? open(status_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	char *buf = NULL;
	size_t len = 0;
	struct plan p;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!plan_path || read_whole_file(plan_path, &buf, &len) < 0) {
		fail(&err, "plan", errno, "read exec plan %s", plan_path ? plan_path : "(none)");
		goto fatal;
	}
	if (plan_parse(&p, buf, len, &err) < 0 || join_container(&p, &err) < 0)
		goto fatal;
	char pty_name[128];
	int master = -1, wake[2] = { -1, -1 };
	if (p.terminal) {
		if ((master = open_container_pty(&p, pty_name, sizeof pty_name, &err)) < 0)
			goto fatal;
		if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) {
			fail(&err, "exec", errno, "pipe");
			goto fatal;
		}
		wake_fd = wake[1];
	}
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0) {
		fail(&err, "exec", errno, "pipe");
		goto fatal;
	}
	pid_t pid = fork(); /* entering the pid namespace takes effect for children only */
	if (pid < 0) {
		fail(&err, "exec", errno, "fork");
		goto fatal;
	}
	if (pid == 0) {
		close(ep[0]);
		run_child(&p, ep[1], master >= 0 ? pty_name : NULL);
	}
	child_pid = pid;
	close(ep[1]);
	/* The engine may close our stdout first: a write error then, not a death (the child keeps its own SIGPIPE). */
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		if (sigs[i] != SIGCHLD || master >= 0)
			sigaction(sigs[i], &sa, NULL);
	struct berr child_err;
	ssize_t got = read_all(ep[0], &child_err, sizeof child_err);
	int st = 0;
	if (master >= 0 && got != (ssize_t)sizeof child_err)
		st = relay_pty(master, pid, wake[0], resize_fd);
	else
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	if (got == (ssize_t)sizeof child_err) {
		child_err.msg[sizeof child_err.msg - 1] = 0;
		status_error(status_fd, &child_err);
		fprintf(stderr, "%s\n", child_err.msg);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 126;
	}
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	status_line(status_fd, "{\"ev\":\"exit\",\"pid\":%d,\"code\":%d}", (int)pid, code);
	return code;
fatal:
	status_error(status_fd, &err);
	fprintf(stderr, "%s\n", err.msg);
	return 126;
}
