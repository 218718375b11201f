/* proxy mode: the published ports of one container: TCP relayed in the kernel with splice(2),
 * UDP by a socket per client, as docker-proxy does.
 *
 *   berth-helper proxy [--netns PATH] [--listen-netns PATH] --target IPV4 --watch PID
 *                      HOSTIP HOSTPORT CONTAINERPORT[/udp] ...
 *
 * --netns: after binding, the proxy enters that network namespace (a rootless engine's, where
 * the containers' bridges are) to reach the target; the listeners stay where they were bound.
 * --listen-netns: the listeners are bound in that namespace instead (a resolver's address on
 * a rootless bridge), and the target is reached from the proxy's own.
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
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 256
#define PIPE_BYTES (256 * 1024)
#define UDP_IDLE_SECONDS 30
#define UDP_MAX_FLOWS 4096

struct listener {
	int fd;
	int port; /* container port */
	int udp;
};

/* One UDP client of one listener, with its own socket to the target (replies come back on it). */
struct flow {
	int listener;
	int upstream;
	struct sockaddr_storage client;
	socklen_t client_len;
	time_t last;
};

static struct listener ls[MAX_LISTENERS];
static int nls;

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

static int bind_one(const char *ip, int port, int udp, int *bound)
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
	fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) || (!udp && listen(fd, 511))) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static struct flow *flows[UDP_MAX_FLOWS];
static int nflows;

static void flow_drop(int i)
{
	close(flows[i]->upstream);
	free(flows[i]);
	flows[i] = flows[--nflows];
}

/* A datagram from a client: to the target through the client's flow (made on first use). */
static char udp_buf[65536]; /* the UDP thread's only */

static void udp_from_client(int li)
{
	char *buf = udp_buf;
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(ls[li].fd, buf, sizeof udp_buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	if (n < 0)
		return;
	struct flow *f = NULL;
	for (int i = 0; i < nflows && !f; i++)
		if (flows[i]->listener == li && flows[i]->client_len == flen && !memcmp(&flows[i]->client, &from, flen))
			f = flows[i];
	if (!f) {
		if (nflows == UDP_MAX_FLOWS)
			return;
		struct sockaddr_in to = target;
		to.sin_port = htons(ls[li].port);
		int up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (up < 0)
			return;
		if (connect(up, (struct sockaddr *)&to, sizeof to)) {
			close(up);
			return;
		}
		f = calloc(1, sizeof *f);
		if (!f) {
			close(up);
			return;
		}
		*f = (struct flow){ .listener = li, .upstream = up, .client_len = flen };
		memcpy(&f->client, &from, flen);
		flows[nflows++] = f;
	}
	f->last = time(NULL);
	send(f->upstream, buf, (size_t)n, MSG_DONTWAIT);
}

static void udp_from_target(struct flow *f)
{
	char *buf = udp_buf;
	ssize_t n;
	while ((n = recv(f->upstream, buf, sizeof udp_buf, MSG_DONTWAIT)) >= 0) {
		f->last = time(NULL);
		sendto(ls[f->listener].fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->client, f->client_len);
	}
}

/* The UDP listeners and their flows, in a thread of their own; idle flows close after 30 s. */
static void *udp_loop(void *arg)
{
	static struct pollfd pfd[MAX_LISTENERS + UDP_MAX_FLOWS];
	for (;;) {
		int n = 0, i;
		time_t now = time(NULL);
		for (i = 0; i < nflows;)
			if (now - flows[i]->last > UDP_IDLE_SECONDS)
				flow_drop(i);
			else
				i++;
		for (i = 0; i < nls; i++)
			if (ls[i].udp)
				pfd[n++] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
		int nl = n, nf = nflows;
		for (i = 0; i < nf; i++)
			pfd[n++] = (struct pollfd){ .fd = flows[i]->upstream, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, 1000) <= 0)
			continue;
		/* Replies first: a new client below may reorder the flow table. */
		for (i = nf - 1; i >= 0; i--)
			if (pfd[nl + i].revents)
				udp_from_target(flows[i]);
		for (i = 0, n = 0; i < nls; i++)
			if (ls[i].udp && pfd[n++].revents)
				udp_from_client(i);
	}
	return NULL;
}

/* Enters the network namespace at path (the caller is single-threaded here); 0 or -errno. */
static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return r;
}

struct binding {
	int argc;
	char **argv;
	int first;
	const char *listen_netns;
	int udp;
	int err, err_index;
};

static char line[MAX_LISTENERS * 7 + 8];

/* Binds every HOSTIP HOSTPORT CONTAINERPORT[/udp] triple into ls[], building the "ok" line. */
static void *bind_all(void *arg)
{
	struct binding *b = arg;
	size_t off = (size_t)snprintf(line, sizeof line, "ok");
	int r;
	if (b->listen_netns && (r = enter_netns(b->listen_netns)) < 0) {
		b->err_index = -1;
		b->err = -r;
		return NULL;
	}
	for (int i = b->first; i < b->argc; i += 3, nls++) {
		int is_udp = strstr(b->argv[i + 2], "/udp") != NULL;
		int bound = 0, fd = bind_one(b->argv[i], atoi(b->argv[i + 1]), is_udp, &bound);
		if (fd < 0) {
			b->err_index = nls;
			b->err = -fd;
			return NULL;
		}
		ls[nls] = (struct listener){ .fd = fd, .port = atoi(b->argv[i + 2]), .udp = is_udp };
		b->udp |= is_udp;
		off += (size_t)snprintf(line + off, sizeof line - off, " %d", bound);
	}
	return NULL;
}

int proxy_main(int argc, char **argv)
{
	struct pollfd pfd[MAX_LISTENERS + 1];
	int watch = 0, i, udp = 0;
	const char *target_ip = NULL, *netns = NULL, *listen_netns = NULL;

	for (i = 2; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--target"))
			target_ip = argv[i + 1];
		else if (!strcmp(argv[i], "--watch"))
			watch = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--netns"))
			netns = argv[i + 1];
		else if (!strcmp(argv[i], "--listen-netns"))
			listen_netns = argv[i + 1];
	}
	if (!target_ip || watch <= 0 || (argc - i) % 3 || argc == i || (argc - i) / 3 > MAX_LISTENERS) {
		fprintf(stderr, "usage: berth-helper proxy [--netns PATH] [--listen-netns PATH] --target IPV4 --watch PID HOSTIP HOSTPORT CONTAINERPORT[/udp]...\n");
		return 2;
	}
	target.sin_family = AF_INET;
	if (inet_pton(AF_INET, target_ip, &target.sin_addr) != 1) {
		fprintf(stderr, "proxy: bad target address %s\n", target_ip);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	struct binding b = { .argc = argc, .argv = argv, .first = i, .listen_netns = listen_netns };
	/* Binding in another namespace happens on a thread of its own: a namespace owned by the
	 * host cannot be re-entered from a user namespace, so this thread never leaves home. */
	if (listen_netns) {
		pthread_t t;
		if (pthread_create(&t, NULL, bind_all, &b) || pthread_join(t, NULL)) {
			b.err_index = -1;
			b.err = EAGAIN;
		}
	} else {
		bind_all(&b);
	}
	if (b.err) {
		printf("error %d %d\n", b.err_index, b.err);
		fflush(stdout);
		return 1;
	}
	udp = b.udp;
	int err;
	/* Threads made from here on (relays, upstream connects) live in the target's namespace. */
	if (netns && (err = enter_netns(netns)) < 0) {
		printf("error -1 %d\n", -err);
		fflush(stdout);
		return 1;
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

	if (udp && spawn_detached(udp_loop, NULL))
		return 1;
	for (i = 0; i < nls; i++)
		pfd[i] = (struct pollfd){ .fd = ls[i].udp ? -1 : ls[i].fd, .events = POLLIN };
	pfd[nls] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, (nfds_t)nls + 1, -1) < 0) {
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
