/* shim mode: create one container and supervise it for its whole life. The shim holds
 * the stdio pipes or pty master, writes the log and the exit file, serves the attach and
 * control sockets, and outlives the engine (it is the container's parent and subreaper). */
#include "container.h"
#include "logs.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define PAUSE_AT (1u << 20)
#define RESUME_AT (256u << 10)

enum client_kind { C_CTL, C_ATTACH };

struct client {
	int fd, kind, header_done, want_in, want_out, want_err, watch, closing;
	char line[256];
	size_t line_len;
	char *out;
	size_t out_len, out_cap;
};

struct shim {
	const struct plan *p;
	int status_fd, sync_fd, sig_fd, ctl_fd, attach_fd;
	int out_fd, err_fd, in_fd, master_fd;
	pid_t pid;
	int started, exited, wstatus, paused;
	struct timespec exited_at;
	char *in_buf;
	size_t in_len;
	int in_close_pending;
	struct log_writer log;
	struct client clients[MAX_CLIENTS];
	int n_clients;
	char ctl_path[512], attach_path[512];
};

static int listen_unix(const char *path, struct berr *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path)
		return fail(err, "shim", ENAMETOOLONG, "socket path %s", path);
	strcpy(addr.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(err, "shim", errno, "socket");
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return fail(err, "shim", errno, "listen on %s", path);
	}
	chmod(path, 0600);
	return fd;
}

static void client_queue(struct client *c, const void *data, size_t len)
{
	if (c->closing)
		return;
	if (c->out_len + len > c->out_cap) {
		size_t nc = c->out_cap ? c->out_cap : 16384;
		while (nc < c->out_len + len)
			nc *= 2;
		char *nb = realloc(c->out, nc);
		if (!nb) {
			c->closing = 1;
			return;
		}
		c->out = nb;
		c->out_cap = nc;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

static void client_say(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void client_say(struct client *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		client_queue(c, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
}

static void client_drop(struct shim *s, int i)
{
	struct client *c = &s->clients[i];
	close(c->fd);
	free(c->out);
	s->clients[i] = s->clients[--s->n_clients];
}

/* Output goes to the log and, framed Docker-style, to every attached client. */
static void broadcast(struct shim *s, int stream, const char *data, size_t len)
{
	log_write(&s->log, stream, data, len);
	unsigned char hdr[8] = { (unsigned char)stream, 0, 0, 0,
		(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len };
	for (int i = 0; i < s->n_clients; i++) {
		struct client *c = &s->clients[i];
		if (c->kind != C_ATTACH || !c->header_done)
			continue;
		if ((stream == 1 && !c->want_out) || (stream == 2 && !c->want_err))
			continue;
		client_queue(c, hdr, sizeof hdr);
		client_queue(c, data, len);
	}
}

static void close_stdin(struct shim *s)
{
	if (s->in_fd >= 0 && s->in_fd != s->master_fd)
		close(s->in_fd);
	s->in_fd = -1;
	s->in_len = 0;
	s->in_close_pending = 0;
}

static void queue_stdin(struct shim *s, const char *data, size_t len)
{
	if (s->in_fd < 0)
		return;
	char *nb = realloc(s->in_buf, s->in_len + len);
	if (!nb)
		return;
	s->in_buf = nb;
	memcpy(s->in_buf + s->in_len, data, len);
	s->in_len += len;
}

static int do_start(struct shim *s, char *why, size_t whylen)
{
	if (s->started) {
		snprintf(why, whylen, "already started");
		return -1;
	}
	if (send_fd(s->sync_fd, SYNC_START, -1) < 0) {
		snprintf(why, whylen, "container init is gone");
		return -1;
	}
	char tag;
	struct berr remote;
	int r = recv_frame(s->sync_fd, &tag, NULL, &remote);
	close(s->sync_fd);
	s->sync_fd = -1;
	if (r == 1 && tag == SYNC_ERROR) {
		status_error(s->status_fd, &remote);
		json_escape(remote.msg, why, whylen);
		return -1;
	}
	s->started = 1;
	status_line(s->status_fd, "{\"ev\":\"started\"}");
	/* Nothing more goes to the engine this way; the spawner's channel is shared. */
	close(s->status_fd);
	s->status_fd = -1;
	return 0;
}

static void handle_ctl_line(struct shim *s, struct client *c, char *line)
{
	char why[600];
	int a, b;
	if (!strcmp(line, "start")) {
		if (do_start(s, why, sizeof why) < 0)
			client_say(c, "err HELPER_FAILED %s\n", why);
		else
			client_say(c, "ok\n");
	} else if (sscanf(line, "resize %d %d", &a, &b) == 2) {
		struct winsize ws = { .ws_row = (unsigned short)a, .ws_col = (unsigned short)b };
		if (s->master_fd < 0)
			client_say(c, "err UNSUPPORTED the container has no terminal\n");
		else if (ioctl(s->master_fd, TIOCSWINSZ, &ws) < 0)
			client_say(c, "err INTERNAL resize: %s\n", strerror(errno));
		else
			client_say(c, "ok\n");
	} else if (sscanf(line, "kill %d", &a) == 1) {
		if (s->exited)
			client_say(c, "err NOT_RUNNING the container has exited\n");
		else if (kill(s->pid, a) < 0)
			client_say(c, "err INTERNAL kill: %s\n", strerror(errno));
		else
			client_say(c, "ok\n");
	} else if (!strcmp(line, "watch")) {
		c->watch = 1;
		client_say(c, "ok %d\n", (int)s->pid);
	} else if (!strcmp(line, "state")) {
		client_say(c, "ok %d %d %d\n", (int)s->pid, s->started, s->exited);
	} else if (!strcmp(line, "reopen")) {
		client_say(c, log_reopen(&s->log) < 0 ? "err INTERNAL reopen the log\n" : "ok\n");
	} else if (!strcmp(line, "close-stdin")) {
		s->in_close_pending = 1;
		client_say(c, "ok\n");
	} else {
		client_say(c, "err INVALID_ARGUMENT unknown command\n");
	}
}

static void handle_client_input(struct shim *s, int i)
{
	struct client *c = &s->clients[i];
	char buf[32768];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* A half-close from an attach client is stdin EOF, never the end of output. */
		if (c->kind == C_ATTACH && c->header_done && c->want_in && s->p->stdin_once)
			s->in_close_pending = 1;
		if (c->kind == C_ATTACH && c->header_done && !c->closing) {
			c->want_in = 0;
			shutdown(c->fd, SHUT_RD);
			c->header_done = 2; /* keep for output, stop polling input */
			return;
		}
		client_drop(s, i);
		return;
	}
	size_t off = 0;
	while (off < (size_t)n) {
		if (c->kind == C_ATTACH && c->header_done) {
			if (c->want_in)
				queue_stdin(s, buf + off, (size_t)n - off);
			return;
		}
		char ch = buf[off++];
		if (ch != '\n') {
			if (c->line_len < sizeof c->line - 1)
				c->line[c->line_len++] = ch;
			continue;
		}
		c->line[c->line_len] = 0;
		c->line_len = 0;
		if (c->kind == C_CTL) {
			handle_ctl_line(s, c, c->line);
		} else {
			int in = 0, out = 1, er = 1;
			sscanf(c->line, "attach %d %d %d", &in, &out, &er);
			c->want_in = in && s->in_fd >= 0;
			c->want_out = out;
			c->want_err = er;
			c->header_done = 1;
		}
	}
}

static void accept_client(struct shim *s, int lfd, int kind)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (s->n_clients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	struct client *c = &s->clients[s->n_clients++];
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->kind = kind;
	if (s->exited && kind == C_ATTACH)
		c->closing = 1;
}

static void read_output(struct shim *s, int *fdp, int stream)
{
	char buf[65536];
	ssize_t n = read(*fdp, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or EIO once every pty slave is closed */
		if (*fdp == s->master_fd) {
			s->master_fd = -1;
			if (s->in_fd == *fdp)
				s->in_fd = -1;
		}
		close(*fdp);
		*fdp = -1;
		return;
	}
	broadcast(s, stream, buf, (size_t)n);
}

static int oom_killed(const struct plan *p)
{
	char *text = NULL;
	size_t len = 0;
	if (!p->oom_file || read_whole_file(p->oom_file, &text, &len) < 0)
		return 0;
	text = realloc(text, len + 1);
	text[len] = 0;
	const char *k = strstr(text, "oom_kill ");
	int killed = k && atoll(k + 9) > 0;
	free(text);
	return killed;
}

static void finish(struct shim *s)
{
	log_flush(&s->log);
	int code = WIFEXITED(s->wstatus) ? WEXITSTATUS(s->wstatus) : 128 + WTERMSIG(s->wstatus);
	int sig = WIFSIGNALED(s->wstatus) ? WTERMSIG(s->wstatus) : 0;
	int oom = oom_killed(s->p);
	char ts[64], json[512];
	format_timestamp(ts, sizeof ts);
	int n = snprintf(json, sizeof json, "{\"ev\":\"exit\",\"code\":%d,\"signal\":%d,\"oom\":%s,\"pid\":%d,\"started\":%s,\"finishedAt\":\"%s\"}",
			 code, sig, oom ? "true" : "false", (int)s->pid, s->started ? "true" : "false", ts);
	if (s->p->exit_file)
		write_file_atomic(s->p->exit_file, json, (size_t)n);
	status_line(s->status_fd, "%s", json);
	for (int i = 0; i < s->n_clients; i++) {
		struct client *c = &s->clients[i];
		if (c->kind == C_CTL && c->watch)
			client_say(c, "exit %s\n", json);
		c->closing = 1;
	}
	/* Give clients a moment to take what is queued, then close everything. */
	for (int round = 0; round < 200; round++) {
		int pending = 0;
		for (int i = 0; i < s->n_clients; i++) {
			struct client *c = &s->clients[i];
			if (!c->out_len)
				continue;
			ssize_t w = write(c->fd, c->out, c->out_len);
			if (w > 0) {
				memmove(c->out, c->out + w, c->out_len - (size_t)w);
				c->out_len -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN) {
				c->out_len = 0;
			}
			pending |= c->out_len > 0;
		}
		if (!pending)
			break;
		struct timespec t = { 0, 10 * 1000 * 1000 };
		nanosleep(&t, NULL);
	}
	while (s->n_clients)
		client_drop(s, 0);
	unlink(s->ctl_path);
	unlink(s->attach_path);
	_exit(0);
}

static void on_signal(struct shim *s)
{
	struct signalfd_siginfo si;
	while (read(s->sig_fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo != SIGCHLD)
			continue;
		int st;
		pid_t r;
		while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
			if (r == s->pid && !s->exited) {
				s->exited = 1;
				s->wstatus = st;
				clock_gettime(CLOCK_MONOTONIC, &s->exited_at);
			}
		}
	}
}

static int output_pending_high(struct shim *s)
{
	size_t high = 0;
	for (int i = 0; i < s->n_clients; i++)
		if (s->clients[i].out_len > high)
			high = s->clients[i].out_len;
	if (s->paused && high < RESUME_AT)
		s->paused = 0;
	else if (!s->paused && high > PAUSE_AT)
		s->paused = 1;
	return s->paused;
}

static void loop(struct shim *s)
{
	for (;;) {
		struct pollfd fds[8 + MAX_CLIENTS];
		int n = 0, idx_out = -1, idx_err = -1, idx_in = -1, base;
		fds[n++] = (struct pollfd){ s->sig_fd, POLLIN, 0 };
		fds[n++] = (struct pollfd){ s->ctl_fd, POLLIN, 0 };
		fds[n++] = (struct pollfd){ s->attach_fd, POLLIN, 0 };
		int paused = output_pending_high(s);
		if (s->out_fd >= 0 && !paused)
			idx_out = n, fds[n++] = (struct pollfd){ s->out_fd, POLLIN, 0 };
		if (s->err_fd >= 0 && !paused)
			idx_err = n, fds[n++] = (struct pollfd){ s->err_fd, POLLIN, 0 };
		if (s->in_fd >= 0 && s->in_len)
			idx_in = n, fds[n++] = (struct pollfd){ s->in_fd, POLLOUT, 0 };
		base = n;
		for (int i = 0; i < s->n_clients; i++) {
			struct client *c = &s->clients[i];
			short ev = 0;
			if (c->header_done != 2 && !c->closing && s->in_len < PAUSE_AT)
				ev |= POLLIN;
			if (c->out_len)
				ev |= POLLOUT;
			fds[n++] = (struct pollfd){ c->fd, ev, 0 };
		}
		int timeout = -1;
		if (s->exited) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long waited = (now.tv_sec - s->exited_at.tv_sec) * 1000 + (now.tv_nsec - s->exited_at.tv_nsec) / 1000000;
			/* Output pipes held open by a stray process must not keep the shim forever. */
			if ((s->out_fd < 0 && s->err_fd < 0) || waited > 2000)
				finish(s);
			timeout = 100;
		}
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
			continue;
		if (fds[0].revents)
			on_signal(s);
		if (fds[1].revents & POLLIN)
			accept_client(s, s->ctl_fd, C_CTL);
		if (fds[2].revents & POLLIN)
			accept_client(s, s->attach_fd, C_ATTACH);
		if (idx_out >= 0 && fds[idx_out].revents)
			read_output(s, &s->out_fd, 1);
		if (idx_err >= 0 && fds[idx_err].revents)
			read_output(s, &s->err_fd, 2);
		if (idx_in >= 0 && fds[idx_in].revents) {
			ssize_t w = write(s->in_fd, s->in_buf, s->in_len);
			if (w > 0) {
				memmove(s->in_buf, s->in_buf + w, s->in_len - (size_t)w);
				s->in_len -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN) {
				close_stdin(s);
			}
		}
		if (s->in_close_pending && !s->in_len) {
			if (s->in_fd == s->master_fd && s->in_fd >= 0) {
				char eof = 4; /* ^D: the pty's end of input */
				(void)!write(s->in_fd, &eof, 1);
				s->in_close_pending = 0;
			} else {
				close_stdin(s);
			}
		}
		/* Walk clients backwards: dropping one moves the last into its slot. */
		for (int i = s->n_clients - 1; i >= 0; i--) {
			struct pollfd *f = &fds[base + i];
			if (base + i >= n || f->fd != s->clients[i].fd)
				continue;
			struct client *c = &s->clients[i];
			if ((f->revents & POLLOUT) && c->out_len) {
				ssize_t w = write(c->fd, c->out, c->out_len);
				if (w > 0) {
					memmove(c->out, c->out + w, c->out_len - (size_t)w);
					c->out_len -= (size_t)w;
				} else if (w < 0 && errno != EAGAIN) {
					client_drop(s, i);
					continue;
				}
			}
			if (f->revents & (POLLIN | POLLHUP | POLLERR))
				handle_client_input(s, i);
		}
	}
}

static int make_pipe(int fds[2], struct berr *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fail(err, "shim", errno, "pipe");
	return 0;
}

/* Where the init goes in each hierarchy, sorted by how it gets there without the global
 * lock a write of another process's pid to cgroup.procs takes (one RCU grace period, about
 * 7 ms here, on every start): the cgroup2 hierarchy through clone3(CLONE_INTO_CGROUP), a v1
 * hierarchy by the init writing "0" (itself, one thread) to its tasks file. In a user
 * namespace the init cannot write the host's files, so the shim moves it the slow way. */
struct cg_plan {
	int v2_fd;
	const char *v2_procs;
	struct cgroup_join self;
	const char *slow[MAX_CGROUP_JOIN + 1];
	size_t n_slow;
};

static int plan_cgroups(const struct plan *p, struct cg_plan *cg, char (*tasks)[512], struct berr *err)
{
	cg->v2_fd = -1;
	if (p->n_cgroup_procs > MAX_CGROUP_JOIN)
		return fail(err, "cgroup", E2BIG, "%zu cgroup hierarchies to join (at most %d)", p->n_cgroup_procs, MAX_CGROUP_JOIN);
	for (size_t i = 0; i < p->n_cgroup_procs; i++) {
		const char *procs = p->cgroup_procs[i];
		const char *slash = strrchr(procs, '/');
		struct statfs st;
		char dir[500];
		int kind = 0;
		if (slash && !strcmp(slash, "/cgroup.procs") && (size_t)(slash - procs) < sizeof dir) {
			snprintf(dir, sizeof dir, "%.*s", (int)(slash - procs), procs);
			if (statfs(dir, &st) == 0)
				kind = st.f_type == CGROUP2_SUPER_MAGIC ? 2 : st.f_type == CGROUP_SUPER_MAGIC ? 1 : 0;
		}
		if (kind == 2 && cg->v2_fd < 0 && !p->uidmap) {
			cg->v2_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cg->v2_fd >= 0) {
				cg->v2_procs = procs;
				continue;
			}
		}
		if (kind == 1 && !p->uidmap) {
			snprintf(tasks[cg->self.n], 512, "%s/tasks", dir);
			cg->self.paths[cg->self.n] = tasks[cg->self.n];
			cg->self.n++;
			continue;
		}
		cg->slow[cg->n_slow++] = procs;
	}
	return 0;
}

static pid_t clone_init(const struct plan *p, struct cg_plan *cg)
{
	unsigned long flags = (unsigned long)(p->ns_flags & ~(unsigned)CLONE_NEWCGROUP);
	if (cg->v2_fd >= 0) {
		struct clone_args args = { .flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cg->v2_fd };
		pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL && errno != EOPNOTSUPP))
			return pid;
		cg->slow[cg->n_slow++] = cg->v2_procs; /* an older kernel: join the slow way */
	}
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* Sets up stdio, clones the container init and waits until it is ready to exec. */
static int create_container(struct shim *s, struct berr *err)
{
	const struct plan *p = s->p;
	int sp[2], outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return fail(err, "shim", errno, "socketpair");
	if (!p->terminal) {
		if (make_pipe(outp, err) < 0 || make_pipe(errp, err) < 0)
			return -1;
		if (p->open_stdin && make_pipe(inp, err) < 0)
			return -1;
	}
	/* Namespaces to share (--network container:X): the shim joins them and the init inherits them. */
	for (size_t i = 0; i < p->n_ns_join; i++) {
		int nsfd = open(p->ns_join[i].path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			return fail(err, "namespaces", errno, "open namespace to join");
		if (setns(nsfd, (int)p->ns_join[i].type) < 0) {
			int e = errno;
			close(nsfd);
			return fail(err, "namespaces", e, "join namespace");
		}
		close(nsfd);
	}
	static char tasks[MAX_CGROUP_JOIN][512];
	struct cg_plan cg;
	memset(&cg, 0, sizeof cg);
	if (plan_cgroups(p, &cg, tasks, err) < 0)
		return -1;
	/* The init waits for the shim only when the shim has something to do for it first. */
	cg.self.wait_go = cg.n_slow > 0 || p->uidmap;
	pid_t pid = clone_init(p, &cg);
	if (cg.v2_fd >= 0)
		close(cg.v2_fd);
	if (pid < 0)
		return fail(err, "clone", errno, "clone container init");
	if (pid == 0) {
		close(sp[0]);
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (!p->terminal) {
			dup2(inp[0] >= 0 ? inp[0] : devnull, 0);
			dup2(outp[1], 1);
			dup2(errp[1], 2);
		} else {
			dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
		}
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		struct init_ctx ctx = { p, sp[1], &cg.self };
		container_init(&ctx);
		_exit(1);
	}
	s->pid = pid;
	close(sp[1]);
	s->sync_fd = sp[0];
	if (!p->terminal) {
		close(outp[1]), close(errp[1]);
		s->out_fd = outp[0], s->err_fd = errp[0];
		if (inp[0] >= 0)
			close(inp[0]), s->in_fd = inp[1];
	}
	/* Join cgroups and write id maps from outside, before the init may run anything. */
	char pidstr[16];
	int pl = snprintf(pidstr, sizeof pidstr, "%d", (int)pid);
	for (size_t i = 0; i < cg.n_slow; i++)
		if (write_file(cg.slow[i], pidstr, (size_t)pl, err) < 0)
			goto kill_child;
	if (p->uidmap) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
		if (write_file(path, p->gidmap ? p->gidmap : p->uidmap, strlen(p->gidmap ? p->gidmap : p->uidmap), err) < 0)
			goto kill_child;
		snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
		if (write_file(path, p->uidmap, strlen(p->uidmap), err) < 0)
			goto kill_child;
	}
	if (p->has_oom_score_adj && set_oom_score_adj(pid, p->oom_score_adj, err) < 0)
		goto kill_child;
	if (cg.self.wait_go && send_fd(s->sync_fd, SYNC_GO, -1) < 0) {
		fail(err, "shim", errno, "release container init");
		goto kill_child;
	}
	for (;;) {
		char tag;
		int fd;
		int r = recv_frame(s->sync_fd, &tag, &fd, err);
		if (r == 1 && tag == 'T') {
			s->master_fd = s->out_fd = fd;
			if (p->open_stdin)
				s->in_fd = fd;
			fcntl(fd, F_SETFL, O_NONBLOCK);
			continue;
		}
		if (r == 1 && tag == SYNC_READY)
			break;
		if (r == 1 && tag == SYNC_ERROR)
			goto reap;
		fail(err, "init", 0, "container init exited during setup");
		goto reap;
	}
	if (s->out_fd >= 0)
		fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
	if (s->err_fd >= 0)
		fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
	if (s->in_fd >= 0)
		fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	return 0;
kill_child:
	kill(pid, SIGKILL);
reap:
	waitpid(pid, NULL, 0);
	return -1;
}

/* Runs one shim on a plan (buf must stay alive: the plan points into it); never returns
 * while the container lives. Status lines go to status_fd until the container has started. */
int shim_run(char *buf, size_t len, int status_fd)
{
	struct berr err = { "", 0, "" };
	struct shim s;
	memset(&s, 0, sizeof s);
	s.status_fd = status_fd;
	s.out_fd = s.err_fd = s.in_fd = s.master_fd = s.sync_fd = -1;
	fcntl(s.status_fd, F_SETFD, FD_CLOEXEC);

	struct plan plan;
	if (plan_parse(&plan, buf, len, &err) < 0)
		goto fatal;
	s.p = &plan;
	if (!plan.run_dir) {
		fail(&err, "plan", EINVAL, "plan has no run directory");
		goto fatal;
	}

	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	set_oom_score_adj(getpid(), -998, &err);
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	snprintf(s.ctl_path, sizeof s.ctl_path, "%s/ctl", plan.run_dir);
	snprintf(s.attach_path, sizeof s.attach_path, "%s/attach", plan.run_dir);
	if ((s.ctl_fd = listen_unix(s.ctl_path, &err)) < 0 || (s.attach_fd = listen_unix(s.attach_path, &err)) < 0)
		goto fatal;
	if (log_open(&s.log, plan.log_path, plan.log_max_size, plan.log_max_files) < 0) {
		fail(&err, "logs", errno, "open log %s", plan.log_path);
		goto fatal;
	}
	if (create_container(&s, &err) < 0)
		goto fatal;
	status_line(s.status_fd, "{\"ev\":\"created\",\"pid\":%d,\"starttime\":%llu}", (int)s.pid,
		    (unsigned long long)proc_starttime(s.pid));
	if (plan.start_now) {
		char why[600];
		do_start(&s, why, sizeof why);
	}
	loop(&s);
	return 0;
fatal:
	status_error(s.status_fd, &err);
	if (s.ctl_path[0])
		unlink(s.ctl_path);
	if (s.attach_path[0])
		unlink(s.attach_path);
	return 1;
}

/* `berth-helper shim`: the plan on fd 3, status lines on fd 4. */
int shim_main(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	if (read_whole_fd(3, &buf, &len) < 0) {
		struct berr err;
		fail(&err, "plan", errno, "read plan");
		status_error(4, &err);
		return 1;
	}
	close(3);
	return shim_run(buf, len, 4);
}
