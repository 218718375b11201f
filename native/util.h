/* Shared helpers: the error out-parameter, cleanup attributes, safe I/O. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every fallible function takes one of these and returns < 0 with it set. */
struct berr {
	char stage[24];
	int errnum;
	char msg[512];
};

int fail(struct berr *err, const char *stage, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void closep(int *fd);
void freep(void *p);
#define cleanup_fd __attribute__((cleanup(closep)))
#define cleanup_free __attribute__((cleanup(freep)))

ssize_t write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);
int read_whole_fd(int fd, char **out, size_t *len);
int read_whole_file(const char *path, char **out, size_t *len);
int write_file(const char *path, const char *data, size_t len, struct berr *err);
int write_file_atomic(const char *path, const char *data, size_t len);
void json_escape(const char *in, char *out, size_t outlen);
void format_timestamp(char *out, size_t outlen);
uint64_t proc_starttime(pid_t pid);

/* Status lines to the engine: printf-built JSON, no parser on this side. Each line starts
 * with status_tag (empty, or "ID " for a shim the spawner forked). */
extern char status_tag[24];
void status_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void status_error(int fd, const struct berr *err);

#endif
