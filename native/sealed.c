/* The helper runs container processes, so a container must never reach the host's helper
 * binary through /proc/self/exe (CVE-2019-5736: an entrypoint "#!/proc/self/exe" runs the
 * helper inside the container, whose /proc/PID/exe then opens the host file for writing once
 * it is no longer busy). As runc does, the modes that exec into containers first re-exec
 * themselves from a sealed memfd copy: what a container can reach is that copy, and it cannot
 * be written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif

extern char **environ;

/* Returns only when already running from a sealed copy; otherwise execs one, or fails (-1). */
int run_sealed(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -1;
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & F_SEAL_WRITE)) {
		close(self);
		return 0;
	}
	struct stat st;
	int mfd = memfd_create("berth-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0 || fstat(self, &st) < 0)
		goto fail;
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = sendfile(mfd, self, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			goto fail;
		}
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		goto fail;
	close(self);
	fexecve(mfd, argv, environ);
fail:
	fprintf(stderr, "berth-helper: cannot run from a sealed copy of itself: %s\n", strerror(errno));
	return -1;
}
