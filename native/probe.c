/* probe mode: report the kernel features the engine adapts to, as one JSON line. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int has_filesystem(const char *name)
{
	char *text = NULL;
	size_t len = 0;
	if (read_whole_file("/proc/filesystems", &text, &len) < 0)
		return 0;
	char needle[64];
	snprintf(needle, sizeof needle, "\t%s\n", name);
	int found = memmem(text, len, needle, strlen(needle)) != NULL;
	freep(&text);
	return found;
}

static const char *cgroup_mode(void)
{
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) < 0)
		return "none";
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		return "unified";
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	return "legacy";
}

int probe_main(int argc, char **argv)
{
	struct utsname u;
	uname(&u);
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd >= 0)
		close(pidfd);
	struct open_how how = { .flags = O_PATH, .resolve = RESOLVE_IN_ROOT };
	int o2 = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
	if (o2 >= 0)
		close(o2);
	int seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 || errno != EINVAL;
	char userns[32] = "0";
	cleanup_fd int fd = open("/proc/sys/user/max_user_namespaces", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, userns, sizeof userns - 1);
		userns[n > 0 ? n : 0] = 0;
		userns[strcspn(userns, "\n")] = 0;
	}
	printf("{\"kernel\":\"%s\",\"arch\":\"%s\",\"cgroup\":\"%s\",\"overlay\":%s,\"seccomp\":%s,"
	       "\"pidfd\":%s,\"openat2\":%s,\"userns\":%s,\"euid\":%d}\n",
	       u.release, u.machine, cgroup_mode(), has_filesystem("overlay") ? "true" : "false",
	       seccomp ? "true" : "false", pidfd >= 0 ? "true" : "false", o2 >= 0 ? "true" : "false",
	       strcmp(userns, "0") ? "true" : "false", (int)geteuid());
	return 0;
}
