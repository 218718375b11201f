/* Container log writer with size-based rotation. */
#include "logs.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int log_open(struct log_writer *w, const char *path, uint64_t max_size, uint32_t max_files)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->path = path;
	w->max_size = max_size;
	w->max_files = max_files ? max_files : 1;
	if (!path)
		return 0;
	return log_reopen(w);
}

int log_reopen(struct log_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;
	w->size = (w->fd >= 0 && fstat(w->fd, &st) == 0) ? (uint64_t)st.st_size : 0;
	return w->fd < 0 ? -1 : 0;
}

static void rotate(struct log_writer *w)
{
	char from[4096], to[4096];
	if (w->max_files <= 1) {
		if (ftruncate(w->fd, 0) == 0)
			w->size = 0;
		return;
	}
	for (uint32_t i = w->max_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "%s", w->path);
		else
			snprintf(from, sizeof from, "%s.%u", w->path, i - 1);
		snprintf(to, sizeof to, "%s.%u", w->path, i);
		rename(from, to);
	}
	log_reopen(w);
}

static void record(struct log_writer *w, int stream, const char *text, size_t len, int partial)
{
	if (w->fd < 0)
		return;
	char head[80];
	format_timestamp(head, sizeof head);
	size_t hl = strlen(head);
	hl += (size_t)snprintf(head + hl, sizeof head - hl, " %s %c ", stream == 2 ? "stderr" : "stdout", partial ? 'P' : 'F');
	struct iovec iov[3] = { { head, hl }, { (void *)text, len }, { "\n", 1 } };
	ssize_t n = writev(w->fd, iov, 3);
	if (n > 0)
		w->size += (uint64_t)n;
	if (w->max_size && w->size >= w->max_size)
		rotate(w);
}

void log_write(struct log_writer *w, int stream, const char *data, size_t len)
{
	struct log_stream *s = &w->streams[stream == 2 ? 2 : 1];
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (nl && !s->len) {
			record(w, stream, data, take, 0);
		} else {
			size_t room = LOG_PARTIAL_MAX - s->len;
			size_t copy = take < room ? take : room;
			memcpy(s->buf + s->len, data, copy);
			s->len += copy;
			if (s->len == LOG_PARTIAL_MAX) {
				record(w, stream, s->buf, s->len, 1);
				s->len = 0;
				take = copy;
				nl = NULL;
			} else if (nl) {
				record(w, stream, s->buf, s->len, 0);
				s->len = 0;
			} else {
				take = copy;
			}
		}
		size_t used = take + (nl ? 1 : 0);
		data += used;
		len -= used;
	}
}

void log_flush(struct log_writer *w)
{
	for (int i = 1; i <= 2; i++) {
		if (w->streams[i].len)
			record(w, i, w->streams[i].buf, w->streams[i].len, 1);
		w->streams[i].len = 0;
	}
}
