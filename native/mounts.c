/* Root filesystem: bind the rootfs, mount the plan's filesystems, /dev, pivot_root,
 * masked and read-only paths. Every target inside the rootfs is opened with
 * openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd/N, so an image's
 * symlinks can never redirect a mount onto the host (runc CVE-2025-31133 family). */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Open (creating when missing) a directory or an empty file at path inside the root. */
static int open_target(int rootfd, const char *path, int want_dir, struct berr *err)
{
	int fd = openat2_in_root(rootfd, path, O_PATH | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return fail(err, "mount", errno, "open mount target %s", path);
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	const char *leaf = slash ? slash + 1 : parent;
	if (slash == parent)
		parent[1] = 0, leaf = path + 1;
	else if (slash)
		*slash = 0;
	else
		snprintf(parent, sizeof parent, "/");
	cleanup_fd int pfd = open_target(rootfd, parent, 1, err);
	if (pfd < 0)
		return -1;
	cleanup_fd int dfd = openat(pfd, ".", O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(err, "mount", errno, "open parent of %s", path);
	if (want_dir) {
		if (mkdirat(dfd, leaf, 0755) < 0 && errno != EEXIST)
			return fail(err, "mount", errno, "mkdir %s", path);
	} else {
		int f = openat(dfd, leaf, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST)
			return fail(err, "mount", errno, "create %s", path);
		if (f >= 0)
			close(f);
	}
	fd = openat2_in_root(rootfd, path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fail(err, "mount", errno, "reopen mount target %s", path);
	return fd;
}

static void fdpath(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static int do_mount(int rootfd, const struct plan_mount *m, struct berr *err)
{
	int want_dir = 1;
	if (m->kind != MK_FS) {
		struct stat st;
		if (stat(m->src, &st) < 0)
			return fail(err, "mount", errno, "bind source %s", m->src);
		want_dir = S_ISDIR(st.st_mode);
	}
	cleanup_fd int tfd = open_target(rootfd, m->dst, want_dir, err);
	if (tfd < 0)
		return -1;
	char target[64];
	fdpath(target, sizeof target, tfd);
	if (m->kind == MK_FS) {
		unsigned long flags = m->flags;
		/* tmpfs mounts that must end read-only get populated first (e.g. /sys/fs/cgroup). */
		if (!strcmp(m->fstype, "tmpfs"))
			flags &= ~(unsigned long)MS_RDONLY;
		if (mount(m->src, target, m->fstype, flags, *m->data ? m->data : NULL) < 0)
			return fail(err, "mount", errno, "mount %s on %s", m->fstype, m->dst);
	} else {
		unsigned long bflags = MS_BIND | (m->kind == MK_RBIND ? MS_REC : 0);
		if (mount(m->src, target, NULL, bflags, NULL) < 0)
			return fail(err, "mount", errno, "bind %s on %s", m->src, m->dst);
		unsigned long extra = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
		if (extra) {
			/* A remount must keep the locked flags of the source mount. */
			cleanup_fd int nfd = openat2_in_root(rootfd, m->dst, O_PATH | O_CLOEXEC);
			char t2[64];
			fdpath(t2, sizeof t2, nfd);
			if (nfd < 0 || mount(NULL, t2, NULL, MS_BIND | MS_REMOUNT | extra, NULL) < 0)
				return fail(err, "mount", errno, "remount %s with options", m->dst);
		}
	}
	if (m->propagation) {
		cleanup_fd int nfd = openat2_in_root(rootfd, m->dst, O_PATH | O_CLOEXEC);
		char t2[64];
		fdpath(t2, sizeof t2, nfd);
		if (nfd < 0 || mount(NULL, t2, NULL, m->propagation, NULL) < 0)
			return fail(err, "mount", errno, "set propagation of %s", m->dst);
	}
	return 0;
}

static int make_dev(int rootfd, const struct plan_dev *d, struct berr *err)
{
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", d->path);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return fail(err, "devices", EINVAL, "bad device path %s", d->path);
	*slash = 0;
	cleanup_fd int pfd = openat2_in_root(rootfd, parent[0] ? parent : "/", O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return fail(err, "devices", errno, "open %s", parent);
	mode_t type = d->type == 'b' ? S_IFBLK : S_IFCHR;
	if (mknodat(pfd, slash + 1, type | (d->mode & 07777), makedev(d->major, d->minor)) < 0 && errno != EEXIST)
		return fail(err, "devices", errno, "mknod %s", d->path);
	/* NOFOLLOW: a symlink left where the node should be (a bind-mounted directory) is refused, not followed. */
	if (fchmodat(pfd, slash + 1, d->mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchownat(pfd, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, "devices", errno, "set mode of %s", d->path);
	return 0;
}

static int make_symlink(int rootfd, const char *target, const char *link, struct berr *err)
{
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", link);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return fail(err, "devices", EINVAL, "bad link path %s", link);
	*slash = 0;
	cleanup_fd int pfd = openat2_in_root(rootfd, parent[0] ? parent : "/", O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return fail(err, "devices", errno, "open %s", parent);
	if (symlinkat(target, pfd, slash + 1) < 0 && errno != EEXIST)
		return fail(err, "devices", errno, "symlink %s", link);
	return 0;
}

int bring_lo_up(struct berr *err)
{
	cleanup_fd int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(err, "network", errno, "socket for lo");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return fail(err, "network", errno, "get lo flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return fail(err, "network", errno, "bring lo up");
	return 0;
}

int prepare_rootfs(const struct plan *p, struct berr *err)
{
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail(err, "rootfs", errno, "make / rslave");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(err, "rootfs", errno, "bind rootfs %s", p->rootfs);
	if (mount(NULL, p->rootfs, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(err, "rootfs", errno, "make rootfs private");
	cleanup_fd int rootfd = open(p->rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (rootfd < 0)
		return fail(err, "rootfs", errno, "open rootfs %s", p->rootfs);
	for (size_t i = 0; i < p->n_mounts; i++)
		if (do_mount(rootfd, &p->mounts[i], err) < 0)
			return -1;
	for (size_t i = 0; i < p->n_devs; i++)
		if (make_dev(rootfd, &p->devs[i], err) < 0)
			return -1;
	for (size_t i = 0; i + 1 < p->n_symlinks; i += 2)
		if (make_symlink(rootfd, p->symlinks[i], p->symlinks[i + 1], err) < 0)
			return -1;
	return 0;
}

int pivot_into(const char *rootfs, struct berr *err)
{
	cleanup_fd int oldroot = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
	cleanup_fd int newroot = open(rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return fail(err, "pivot", errno, "open roots");
	if (fchdir(newroot) < 0)
		return fail(err, "pivot", errno, "chdir to rootfs");
	/* pivot_root(".", ".") stacks the old root on the new one; no put_old dir is needed. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(err, "pivot", errno, "pivot_root");
	if (fchdir(oldroot) < 0)
		return fail(err, "pivot", errno, "chdir to old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return fail(err, "pivot", errno, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(err, "pivot", errno, "detach old root");
	if (chdir("/") < 0)
		return fail(err, "pivot", errno, "chdir /");
	return 0;
}

static int mask_path(const char *path, struct berr *err)
{
	cleanup_fd int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(err, "masked-paths", errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(err, "masked-paths", errno, "stat %s", path);
	char target[64];
	fdpath(target, sizeof target, fd);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY, "nr_blocks=1,nr_inodes=1") < 0)
			return fail(err, "masked-paths", errno, "mask directory %s", path);
		return 0;
	}
	/* Only the real /dev/null (char 1:3) may be bound over a masked file. */
	cleanup_fd int nfd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat ns;
	if (nfd < 0 || fstat(nfd, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
		return fail(err, "masked-paths", EPERM, "/dev/null is not the null device");
	char src[64];
	fdpath(src, sizeof src, nfd);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return fail(err, "masked-paths", errno, "mask %s", path);
	return 0;
}

static int readonly_path(const char *path, struct berr *err)
{
	cleanup_fd int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(err, "readonly-paths", errno, "open %s", path);
	char target[64];
	fdpath(target, sizeof target, fd);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(err, "readonly-paths", errno, "bind %s", path);
	cleanup_fd int fd2 = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	fdpath(target, sizeof target, fd2);
	if (fd2 < 0 || mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(err, "readonly-paths", errno, "remount %s read-only", path);
	return 0;
}

int finish_rootfs(const struct plan *p, struct berr *err)
{
	/* tmpfs mounts asked read-only were mounted writable so they could be filled. */
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct plan_mount *m = &p->mounts[i];
		if (m->kind == MK_FS && !strcmp(m->fstype, "tmpfs") && (m->flags & MS_RDONLY))
			if (mount(NULL, m->dst, NULL, MS_REMOUNT | (m->flags & ~(unsigned long)MS_REC), *m->data ? m->data : NULL) < 0)
				return fail(err, "rootfs", errno, "remount %s read-only", m->dst);
	}
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		return fail(err, "hostname", errno, "sethostname");
	if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
		return fail(err, "hostname", errno, "setdomainname");
	for (size_t i = 0; i + 1 < p->n_sysctls; i += 2) {
		char path[512];
		snprintf(path, sizeof path, "/proc/sys/%s", p->sysctls[i]);
		for (char *c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		if (write_file(path, p->sysctls[i + 1], strlen(p->sysctls[i + 1]), err) < 0)
			return -1;
	}
	for (size_t i = 0; i < p->n_readonly; i++)
		if (readonly_path(p->readonly[i], err) < 0)
			return -1;
	for (size_t i = 0; i < p->n_masks; i++)
		if (mask_path(p->masks[i], err) < 0)
			return -1;
	if (p->root_ro && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return fail(err, "rootfs", errno, "remount / read-only");
	return 0;
}
