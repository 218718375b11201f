/* spawner mode: a small resident process that forks a shim for each plan the engine sends.
 * The engine is a large Node process; forking it on every start costs it milliseconds of
 * blocked event loop, forking this one costs microseconds. A forked shim runs shim_run()
 * directly (no exec), in its own session, so it outlives both the spawner and the engine.
 *
 * Requests on stdin:  u32 id, u32 plan length, u32 log path length (little endian), plan,
 *                     log path (the shim's stderr).
 * Replies on stdout:  the shim's status lines, each prefixed "ID ", written by the shim
 *                     itself (one write per line), then "ID {"ev":"gone",...}" from the
 *                     spawner when a shim exits. EOF on stdin ends the spawner; its shims
 *                     stay. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int shim_run(char *buf, size_t len, int status_fd);

#define MAX_PLAN (64u << 20)
#define MAX_SHIMS 4096

struct child {
	pid_t pid;
	uint32_t id;
};

static struct child children[MAX_SHIMS];
static size_t n_children;

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void reply(uint32_t id, const char *json)
{
	char line[600];
	int n = snprintf(line, sizeof line, "%u %s\n", id, json);
	(void)!write_all(1, line, (size_t)n);
}

static void reap(void)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (size_t i = 0; i < n_children; i++) {
			if (children[i].pid != pid)
				continue;
			char json[96];
			snprintf(json, sizeof json, "{\"ev\":\"gone\",\"status\":%d}",
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			reply(children[i].id, json);
			children[i] = children[--n_children];
			break;
		}
	}
}

static void spawn_shim(uint32_t id, char *plan, size_t plan_len, const char *log_path, int sig_fd, char *mode_arg)
{
	if (n_children == MAX_SHIMS) {
		reply(id, "{\"ev\":\"error\",\"stage\":\"shim\",\"errno\":11,\"msg\":\"too many shims starting at once\"}");
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		char json[200];
		snprintf(json, sizeof json, "{\"ev\":\"error\",\"stage\":\"shim\",\"errno\":%d,\"msg\":\"fork shim: %s\"}", errno, strerror(errno));
		reply(id, json);
		return;
	}
	if (pid > 0) {
		children[n_children++] = (struct child){ pid, id };
		return;
	}
	/* The shim: its own session, default signals, the log as stderr, the channel as status. */
	close(sig_fd);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	setsid();
	int status_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(log >= 0 ? log : devnull, 2);
	if (devnull > 2)
		close(devnull);
	if (log > 2)
		close(log);
	snprintf(status_tag, sizeof status_tag, "%u ", id);
	/* ps and /proc/PID/cmdline name it as what it now is: "berth-helper shim". */
	size_t arglen = strlen(mode_arg);
	memset(mode_arg, 0, arglen);
	memcpy(mode_arg, "shim", arglen < 4 ? arglen : 4);
	_exit(shim_run(plan, plan_len, status_fd));
}

int spawner_main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		perror("signalfd");
		return 1;
	}
	for (;;) {
		struct pollfd fds[2] = { { 0, POLLIN, 0 }, { sig_fd, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (fds[1].revents) {
			struct signalfd_siginfo si;
			while (read(sig_fd, &si, sizeof si) == sizeof si)
				;
			reap();
		}
		if (!fds[0].revents)
			continue;
		unsigned char head[12];
		ssize_t r = read_all(0, head, sizeof head);
		if (r == 0)
			return 0; /* the engine is gone; the shims live on */
		if (r != (ssize_t)sizeof head)
			return 1;
		uint32_t id = le32(head), plan_len = le32(head + 4), log_len = le32(head + 8);
		if (plan_len > MAX_PLAN || log_len > 4096) {
			fprintf(stderr, "spawner: request %u is too large\n", id);
			return 1;
		}
		char *buf = malloc((size_t)plan_len + log_len + 1);
		if (!buf || read_all(0, buf, (size_t)plan_len + log_len) != (ssize_t)(plan_len + log_len))
			return 1;
		buf[plan_len + log_len] = 0;
		spawn_shim(id, buf, plan_len, buf + plan_len, sig_fd, argv[1]);
		free(buf);
	}
}
