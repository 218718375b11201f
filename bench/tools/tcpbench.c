/* A static TCP throughput probe for the network benchmark, bind-mounted into busybox containers.
 *
 *   tcpbench recv PORT            accept one connection at a time, read to EOF, close; forever
 *   tcpbench send IPV4 PORT MB    write MB MiB, half-close, wait for the receiver's close;
 *                                 prints "<bytes> <seconds> <MiB/s>"
 *
 * The sender times connect → receiver's close, so the figure covers every byte reaching the peer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int recv_loop(int port) {
	static char buf[CHUNK];
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 8)) { perror("listen"); return 1; }
	for (;;) {
		int s = accept(ls, NULL, NULL);
		if (s < 0) continue;
		while (read(s, buf, sizeof buf) > 0) {}
		close(s);
	}
}

static int send_once(const char *ip, int port, long mib) {
	static char buf[CHUNK];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	long total = mib * 1024 * 1024, sent = 0;
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", ip); return 2; }
	memset(buf, 'x', sizeof buf);
	alarm(120); /* a lost peer ends the run instead of hanging it */
	double t0 = now();
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
	while (sent < total) {
		ssize_t n = write(s, buf, total - sent < CHUNK ? total - sent : CHUNK);
		if (n <= 0) { perror("write"); return 1; }
		sent += n;
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof buf) > 0) {}
	double dt = now() - t0;
	printf("%ld %.4f %.1f\n", sent, dt, sent / dt / 1048576.0);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && !strcmp(argv[1], "recv")) return recv_loop(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "send")) return send_once(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: tcpbench recv PORT | tcpbench send IPV4 PORT MIB\n");
	return 2;
}
