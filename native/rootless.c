/* rootless modes: the user and mount namespace a rootless engine runs in, as their root.
 *
 *   berth-helper rootless-init --pidfile FILE --uidmap "IN OUT N..." --gidmap "IN OUT N..." -- CMD ARG...
 *   berth-helper rootless-join --pidfile FILE -- CMD ARG...
 *
 * init forks the pause process, which unshares a user and a mount namespace; this process
 * writes their id maps with the setuid newuidmap/newgidmap (which check /etc/subuid and
 * /etc/subgid), waits until the pause process is root in them and has made its network
 * namespace (where the engine's bridges live), then joins the user and mount namespaces and
 * execs CMD, which so runs as their root but in the host's network namespace. The pause process
 * holds the namespaces across engine restarts; "PID STARTTIME" goes to FILE, which is created,
 * never replaced, so two engines starting at once cannot make two namespaces.
 *
 * join checks that FILE names a live pause process (pid, start time and mode), then joins it
 * the same way.
 *
 * Failures: one line "rootless: STAGE: message" on stderr and exit 125; join exits 3 when FILE
 * is missing or names a process that is gone (the caller then runs init). Single-threaded on
 * purpose: setns(CLONE_NEWUSER) refuses a multithreaded caller. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MAP_WORDS 64

static int die(const char *stage, int errnum, const char *msg)
{
	if (errnum)
		fprintf(stderr, "rootless: %s: %s: %s\n", stage, msg, strerror(errnum));
	else
		fprintf(stderr, "rootless: %s: %s\n", stage, msg);
	return 125;
}

/* Runs newuidmap/newgidmap PID MAP...; 0 on success, else its exit status (or -errno). */
static int run_map_tool(const char *tool, pid_t pid, const char *map)
{
	char copy[1024], pidbuf[16], *argv[MAX_MAP_WORDS + 3];
	int argc = 0, status;
	snprintf(copy, sizeof copy, "%s", map);
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	argv[argc++] = (char *)tool;
	argv[argc++] = pidbuf;
	for (char *save = NULL, *w = strtok_r(copy, " \n", &save); w && argc < MAX_MAP_WORDS + 2; w = strtok_r(NULL, " \n", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	pid_t child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		execvp(tool, argv);
		fprintf(stderr, "rootless: map: cannot run %s: %s (install the uidmap package)\n", tool, strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int become_root(void)
{
	/* Supplementary groups from the host are unmapped here (they would show as nobody). */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return -errno;
	return 0;
}

static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	cleanup_fd int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
}

/* Creates FILE with "PID STARTTIME", failing with EEXIST rather than replacing one. */
static int write_pidfile(const char *file, pid_t pid)
{
	char tmp[PATH_MAX], line[64];
	int n = snprintf(line, sizeof line, "%d %llu\n", (int)pid, (unsigned long long)proc_starttime(pid));
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", file, (int)pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write_all(fd, line, (size_t)n) < 0 || fsync(fd) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return -err;
	}
	close(fd);
	int r = link(tmp, file) < 0 ? -errno : 0;
	unlink(tmp);
	return r;
}

/* The pause process: answers on `out` with "r" when ready or "e" + errno, then sleeps forever. */
static void pause_main(int in, int out, const char *pidfile)
{
	char c = 0;
	int err = 0;
	/* Out of the caller's session and deaf to its terminal signals from the start: a hangup or
	 * interrupt sent to the engine's process group must not end the namespaces' holder. */
	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		err = errno;
		goto report;
	}
	if (write_all(out, "u", 1) < 0 || read_all(in, &c, 1) != 1 || c != 'm')
		_exit(1); /* the parent could not write the maps and said so itself */
	if (become_root() < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 || unshare(CLONE_NEWNET) < 0) {
		err = errno;
		goto report;
	}
	loopback_up();
	int r = write_pidfile(pidfile, getpid());
	if (r < 0) {
		err = -r;
		goto report;
	}
report:
	if (err) {
		char msg[1 + sizeof err];
		msg[0] = 'e';
		memcpy(msg + 1, &err, sizeof err);
		write_all(out, msg, sizeof msg);
		_exit(1);
	}
	write_all(out, "r", 1);
	close(in);
	close(out);
	if (chdir("/") < 0)
		_exit(1);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	for (;;)
		pause();
}

/* Joins the user and mount namespaces of `pid` as their root, keeping the working directory. */
static int join(pid_t pid, const char **stage)
{
	char path[64], cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		snprintf(cwd, sizeof cwd, "/");
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	cleanup_fd int user = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	cleanup_fd int mnt = open(path, O_RDONLY | O_CLOEXEC);
	*stage = "open namespaces";
	if (user < 0 || mnt < 0)
		return -errno;
	*stage = "join user namespace";
	if (setns(user, CLONE_NEWUSER) < 0)
		return -errno;
	*stage = "join mount namespace";
	if (setns(mnt, CLONE_NEWNS) < 0)
		return -errno;
	*stage = "become root";
	int r = become_root();
	if (r < 0)
		return r;
	if (chdir(cwd) < 0 && chdir("/") < 0)
		return -errno;
	return 0;
}

static int exec_cmd(char **cmd)
{
	execvp(cmd[0], cmd);
	return die("exec", errno, cmd[0]);
}

static int parse_args(int argc, char **argv, const char **pidfile, const char **uidmap, const char **gidmap, char ***cmd)
{
	int i;
	for (i = 2; i < argc && strcmp(argv[i], "--"); i += 2) {
		if (i + 1 >= argc)
			return -1;
		if (!strcmp(argv[i], "--pidfile"))
			*pidfile = argv[i + 1];
		else if (!strcmp(argv[i], "--uidmap"))
			*uidmap = argv[i + 1];
		else if (!strcmp(argv[i], "--gidmap"))
			*gidmap = argv[i + 1];
		else
			return -1;
	}
	if (i >= argc - 1 || !*pidfile)
		return -1;
	*cmd = argv + i + 1;
	return 0;
}

int rootless_init_main(int argc, char **argv)
{
	const char *pidfile = NULL, *uidmap = NULL, *gidmap = NULL, *stage;
	char **cmd;
	int to_pause[2], from_pause[2], status;
	if (parse_args(argc, argv, &pidfile, &uidmap, &gidmap, &cmd) < 0 || !uidmap || !gidmap) {
		fprintf(stderr, "usage: berth-helper rootless-init --pidfile FILE --uidmap MAP --gidmap MAP -- CMD ARG...\n");
		return 2;
	}
	pid_t pause_pid = 0;
	char c = 0;
	/* A pause process that vanishes before it made the namespace (seen rarely on loaded CI
	 * machines, cause unknown: nothing of ours signals it) is made again, twice at most. */
	for (int attempt = 1;; attempt++) {
		if (pipe2(to_pause, O_CLOEXEC) < 0 || pipe2(from_pause, O_CLOEXEC) < 0)
			return die("pipe", errno, "sync pipes");
		/* Fork twice so the pause process is not the engine's child: init adopts it at once. */
		pid_t mid = fork();
		if (mid < 0)
			return die("fork", errno, "pause process");
		if (mid == 0) {
			pid_t p = fork();
			if (p < 0)
				_exit(1);
			if (p == 0) {
				close(to_pause[1]);
				close(from_pause[0]);
				pause_main(to_pause[0], from_pause[1], pidfile);
			}
			if (write_all(from_pause[1], &p, sizeof p) < 0)
				_exit(1);
			_exit(0);
		}
		close(to_pause[0]);
		close(from_pause[1]);
		waitpid(mid, &status, 0);
		pause_pid = 0;
		c = 0;
		if (read_all(from_pause[0], &pause_pid, sizeof pause_pid) != sizeof pause_pid || pause_pid <= 0)
			return die("fork", 0, "the pause process did not start");
		if (read_all(from_pause[0], &c, 1) == 1 && c == 'u')
			break;
		if (c == 'e') {
			int err = 0;
			read_all(from_pause[0], &err, sizeof err);
			return die("unshare", err, "cannot create a user namespace (are unprivileged user namespaces disabled? see `berth probe`)");
		}
		close(to_pause[1]);
		close(from_pause[0]);
		if (attempt == 3)
			return die("pause", 0, "the pause process ended before it made the user namespace, three times (killed?)");
		fprintf(stderr, "berth-helper: rootless: the pause process %d ended before it made the user namespace; starting another\n", (int)pause_pid);
	}
	int g = run_map_tool("newgidmap", pause_pid, gidmap);
	int u = g ? g : run_map_tool("newuidmap", pause_pid, uidmap);
	if (g || u) {
		write_all(to_pause[1], "x", 1);
		char msg[160];
		snprintf(msg, sizeof msg, "%s failed (exit %d): check this user's lines in /etc/%s", g ? "newgidmap" : "newuidmap",
			 g ? g : u, g ? "subgid" : "subuid");
		return die("map", g < 0 ? -g : u < 0 ? -u : 0, msg);
	}
	write_all(to_pause[1], "m", 1);
	if (read_all(from_pause[0], &c, 1) != 1 || c != 'r') {
		int err = 0;
		if (c == 'e')
			read_all(from_pause[0], &err, sizeof err);
		if (err == EEXIST)
			return die("pidfile", 0, "another rootless namespace was made at the same time; start again to join it");
		return die("setup", err, "preparing the namespaces failed");
	}
	close(to_pause[1]);
	close(from_pause[0]);
	int r = join(pause_pid, &stage);
	if (r < 0) {
		kill(pause_pid, SIGKILL);
		unlink(pidfile);
		return die(stage, -r, "joining the new namespaces failed");
	}
	return exec_cmd(cmd);
}

/* 1 when pid is a pause process this helper made: its mode and a user namespace not ours. */
static int is_pause(pid_t pid)
{
	char path[64], *text = NULL, self[64], other[64];
	size_t len = 0;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if (read_whole_file(path, &text, &len) < 0)
		return 0;
	const char *mode = memchr(text, 0, len) ? text + strlen(text) + 1 : NULL;
	int ok = mode && mode < text + len && !strcmp(mode, "rootless-init");
	free(text);
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	ssize_t a = readlink(path, other, sizeof other - 1), b = readlink("/proc/self/ns/user", self, sizeof self - 1);
	if (a <= 0 || b <= 0)
		return 0;
	other[a] = self[b] = 0;
	return ok && strcmp(self, other);
}

int rootless_join_main(int argc, char **argv)
{
	const char *pidfile = NULL, *unused = NULL, *stage;
	char **cmd, *text = NULL;
	size_t len = 0;
	if (parse_args(argc, argv, &pidfile, &unused, &unused, &cmd) < 0) {
		fprintf(stderr, "usage: berth-helper rootless-join --pidfile FILE -- CMD ARG...\n");
		return 2;
	}
	if (read_whole_file(pidfile, &text, &len) < 0) {
		fprintf(stderr, "rootless: join: no pause process recorded in %s\n", pidfile);
		return 3;
	}
	int pid = 0;
	unsigned long long start = 0;
	int fields = sscanf(text, "%d %llu", &pid, &start);
	free(text);
	if (fields != 2 || pid <= 0 || proc_starttime(pid) != start || !is_pause(pid)) {
		fprintf(stderr, "rootless: join: the pause process recorded in %s is gone\n", pidfile);
		return 3;
	}
	int r = join(pid, &stage);
	if (r < 0)
		return die(stage, -r, "joining the engine's namespaces failed");
	return exec_cmd(cmd);
}
