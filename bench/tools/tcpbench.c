/* A static TCP throughput probe for the network benchmark, bind-mounted into busybox containers.
 *
 *   tcpbench recv PORT            accept one connection at a time, read to EOF, close; forever
 *   tcpbench send IPV4 PORT MB    write MB MiB, half-close, wait for the receiver's close;
 *                                 prints "<bytes> <seconds> <MiB/s>"
 *   tcpbench serve PORT MB        accept one connection at a time, write MB MiB to it, close; forever
 *   tcpbench fetch IPV4 PORT      read to EOF; prints "<bytes> <seconds> <MiB/s>" (the other direction)
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

static int serve_loop(int port, long mib) {
	static char buf[CHUNK];
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	memset(buf, 'x', sizeof buf);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 8)) { perror("listen"); return 1; }
	for (;;) {
		int s = accept(ls, NULL, NULL);
		if (s < 0) continue;
		for (long left = mib * 1024 * 1024; left > 0;) {
			ssize_t n = write(s, buf, left < CHUNK ? left : CHUNK);
			if (n <= 0) break;
			left -= n;
		}
		close(s);
	}
}

static int fetch_once(const char *ip, int port) {
	static char buf[CHUNK];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	long got = 0;
	ssize_t n;
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", ip); return 2; }
	alarm(120);
	double t0 = now();
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
	while ((n = read(s, buf, sizeof buf)) > 0) got += n;
	double dt = now() - t0;
	printf("%ld %.4f %.1f\n", got, dt, got / dt / 1048576.0);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 4 && !strcmp(argv[1], "serve")) return serve_loop(atoi(argv[2]), atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "fetch")) return fetch_once(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "recv")) return recv_loop(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "send")) return send_once(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: tcpbench recv PORT | send IPV4 PORT MIB | serve PORT MIB | fetch IPV4 PORT\n");
	return 2;
}
