/* proxy mode: the TCP published ports of one container, relayed in the kernel with splice(2).
 *
 *   berth-helper proxy --target IPV4 --watch PID  HOSTIP HOSTPORT CONTAINERPORT ...
 *
 * Binds every listener first and answers on stdout with one line, then serves:
 *   ok PORT...             the host ports bound, in argument order (0 becomes the port chosen)
 *   error INDEX ERRNO      binding INDEX failed; nothing stays bound and the process exits 1
 * It exits when the watched process (the container's init) exits, or on SIGTERM. Each accepted
 * connection gets two threads, one per direction, each moving bytes socket → pipe → socket;
 * end of stream in one direction half-closes the other side, as docker-proxy does. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_LISTENERS 256
#define PIPE_BYTES (256 * 1024)

struct listener {
	int fd;
	int port; /* container port */
};

struct conn {
	int client, upstream;
	int port; /* container port */
	atomic_int refs;
};

struct direction {
	struct conn *c;
	int from, to;
};

static struct sockaddr_in target;

static void conn_put(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		close(c->client);
		close(c->upstream);
		free(c);
	}
}

static void *relay(void *arg)
{
	struct direction *d = arg;
	int p[2];
	if (pipe2(p, O_CLOEXEC) == 0) {
		fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
		for (;;) {
			ssize_t n = splice(d->from, NULL, p[1], NULL, PIPE_BYTES, SPLICE_F_MOVE | SPLICE_F_MORE);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0)
					shutdown(d->to, SHUT_WR);
				else {
					shutdown(d->to, SHUT_RDWR);
					shutdown(d->from, SHUT_RDWR);
				}
				break;
			}
			while (n > 0) {
				ssize_t w = splice(p[0], NULL, d->to, NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					shutdown(d->to, SHUT_RDWR);
					shutdown(d->from, SHUT_RDWR);
					goto out;
				}
				n -= w;
			}
		}
	out:
		close(p[0]);
		close(p[1]);
	}
	conn_put(d->c);
	free(d);
	return NULL;
}

/* A detached thread with a small stack (each only loops on splice); 0 on success. */
static int spawn_detached(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t attr;
	int err;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return err;
}

static void start_relay(struct conn *c, int from, int to)
{
	struct direction *d = malloc(sizeof *d);
	if (!d) {
		conn_put(c);
		return;
	}
	*d = (struct direction){ .c = c, .from = from, .to = to };
	if (spawn_detached(relay, d)) {
		free(d);
		conn_put(c);
	}
}

/* Connects to the container in its own thread so a slow upstream never stalls accept. */
static void *open_upstream(void *arg)
{
	struct conn *c = arg;
	struct sockaddr_in to = target;
	int one = 1;
	to.sin_port = htons(c->port);
	c->upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->upstream < 0 || connect(c->upstream, (struct sockaddr *)&to, sizeof to)) {
		close(c->client);
		if (c->upstream >= 0)
			close(c->upstream);
		free(c);
		return NULL;
	}
	setsockopt(c->upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	atomic_store(&c->refs, 2);
	start_relay(c, c->client, c->upstream);
	start_relay(c, c->upstream, c->client);
	return NULL;
}

static int bind_one(const char *ip, int port, int *bound)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1, fd;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
			return -EINVAL;
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
			return -EINVAL;
		len = sizeof *a;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 511)) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int proxy_main(int argc, char **argv)
{
	struct listener ls[MAX_LISTENERS];
	struct pollfd pfd[MAX_LISTENERS + 1];
	int nls = 0, watch = 0, i;
	const char *target_ip = NULL;
	char line[MAX_LISTENERS * 7 + 8];
	size_t off;

	for (i = 2; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--target"))
			target_ip = argv[i + 1];
		else if (!strcmp(argv[i], "--watch"))
			watch = atoi(argv[i + 1]);
	}
	if (!target_ip || watch <= 0 || (argc - i) % 3 || argc == i || (argc - i) / 3 > MAX_LISTENERS) {
		fprintf(stderr, "usage: berth-helper proxy --target IPV4 --watch PID HOSTIP HOSTPORT CONTAINERPORT...\n");
		return 2;
	}
	target.sin_family = AF_INET;
	if (inet_pton(AF_INET, target_ip, &target.sin_addr) != 1) {
		fprintf(stderr, "proxy: bad target address %s\n", target_ip);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	off = (size_t)snprintf(line, sizeof line, "ok");
	for (; i < argc; i += 3, nls++) {
		int bound = 0, fd = bind_one(argv[i], atoi(argv[i + 1]), &bound);
		if (fd < 0) {
			printf("error %d %d\n", nls, -fd);
			fflush(stdout);
			return 1;
		}
		ls[nls] = (struct listener){ .fd = fd, .port = atoi(argv[i + 2]) };
		off += (size_t)snprintf(line + off, sizeof line - off, " %d", bound);
	}

	int pidfd = (int)syscall(SYS_pidfd_open, watch, 0);
	if (pidfd < 0) {
		printf("error -1 %d\n", errno);
		fflush(stdout);
		return 1;
	}
	printf("%s\n", line);
	fflush(stdout);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}

	for (i = 0; i < nls; i++)
		pfd[i] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
	pfd[nls] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, nls + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[nls].revents)
			return 0; /* the container is gone */
		for (i = 0; i < nls; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			int client = accept4(ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (client < 0)
				continue;
			struct conn *c = calloc(1, sizeof *c);
			if (!c) {
				close(client);
				continue;
			}
			c->client = client;
			c->upstream = -1;
			c->port = ls[i].port;
			if (spawn_detached(open_upstream, c)) {
				close(client);
				free(c);
			}
		}
	}
}
