/* Container log writer: one record per line, "<RFC3339Nano> <stdout|stderr> <F|P> <text>\n",
 * where P marks a partial line. Rotated by size. */
#ifndef BERTH_LOGS_H
#define BERTH_LOGS_H

#include <stddef.h>
#include <stdint.h>

#define LOG_PARTIAL_MAX 16384

struct log_stream {
	char buf[LOG_PARTIAL_MAX];
	size_t len;
};

struct log_writer {
	int fd;
	const char *path;
	uint64_t size, max_size;
	uint32_t max_files;
	struct log_stream streams[3]; /* indexed by stream id 1 (stdout) and 2 (stderr) */
};

int log_open(struct log_writer *w, const char *path, uint64_t max_size, uint32_t max_files);
void log_write(struct log_writer *w, int stream, const char *data, size_t len);
void log_flush(struct log_writer *w);
int log_reopen(struct log_writer *w);

#endif
