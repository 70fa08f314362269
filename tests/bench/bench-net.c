// SPDX-License-Identifier: GPL-2.0-or-later
/* bench-net.c - echo servers and load generators for usernat's benchmark
 *
 * DOC: Theory of operation
 *
 * One small program plays both ends of the namespace harness, so that the
 * numbers measure the NAT and not a Python interpreter:
 *
 *   bench-net serve PORTFILE
 *	the host side, on 127.0.0.1: a TCP echo service, a TCP "reply and
 *	close" service and a UDP echo service, all in one epoll loop (so it
 *	holds any number of idle connections).  When ready it writes
 *	"ECHO CRR UDP" (the three ports) to PORTFILE, atomically.
 *   bench-net tcp-rr ADDR PORT SECS
 *	one connection, 1-byte request, 1-byte answer, as many times as fit
 *	in SECS: prints "tps N rtt_us R".
 *   bench-net tcp-crr ADDR PORT SECS
 *	connect, 1-byte request, read the answer and the server's close,
 *	close: prints "cps N errors E".  The server closes first, so the
 *	TIME-WAIT stays on the host's loopback (which reuses it) and the
 *	guest's ports do not run out.
 *   bench-net udp-rr ADDR PORT SECS
 *	1-byte datagram and its echo, again and again: prints "tps N lost L"
 *	(a datagram unanswered for 200 ms counts as lost and is sent again).
 *   bench-net hold ADDR PORT N READY GO [LIMIT]
 *	open N connections to the echo service (at most 256 connecting at a
 *	time), check one echo on each, create file READY holding "SECS OPEN"
 *	(the time it took and how many are open), keep them open until file
 *	GO exists, close them.  After LIMIT seconds (default 120) it stops
 *	opening: READY then says how many it got, fewer than N (so does
 *	a connection refused, reset or not echoed).
 *
 * Descriptor limits are raised to the hard limit at start.  Any failure
 * exits with status 1 and a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOLD_WINDOW 256	/* connects in flight at once (NAT half-open limits) */
#define UDP_WAIT_MS 200	/* a datagram unanswered this long is lost */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench-net: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* write_file() - write PATH atomically (a temporary file renamed), or exit */
static void __attribute__((format(printf, 2, 3)))
write_file(const char *path, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	FILE *f;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	va_start(ap, fmt);
	rc = vfprintf(f, fmt, ap);
	va_end(ap);
	if (rc < 0 || fclose(f) || rename(tmp, path) < 0)
		die("cannot write %s: %s", path, strerror(errno));
}

/* now_s() - monotonic time in seconds */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* raise_nofile() - soft descriptor limit up to the hard one */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* sockaddr_of() - ADDR and PORT as an IPv4 socket address, or exit */
static struct sockaddr_in sockaddr_of(const char *addr, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("bad IPv4 address: %s", addr);
	a.sin_port = htons((uint16_t)atoi(port));
	return a;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* bound_socket() - a socket of TYPE bound to 127.0.0.1, any port */
static int bound_socket(int type, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind: %s", strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 4096) < 0)
		die("listen: %s", strerror(errno));
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Tags in epoll data: the listeners and UDP socket by value, connections
 * as fd << 2 | kind */
enum { K_ECHO_L, K_CRR_L, K_UDP, K_CONN };
#define CONN_ECHO 0
#define CONN_CRR 1

static void epoll_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

/* accept_all() - accept every pending connection of listener L */
static void accept_all(int ep, int l, int kind)
{
	int fd;

	while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		set_nodelay(fd);
		epoll_add(ep, fd, (uint64_t)fd << 4 | K_CONN | kind << 2);
	}
}

/* conn_ready() - echo what arrived; a CRR connection answers once, closes */
static void conn_ready(int fd, int kind)
{
	char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
			break;	/* a slow reader: echo clients never are */
		if (kind == CONN_CRR) {
			close(fd);
			return;
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN))
		close(fd);	/* closing also removes it from epoll */
}

/* udp_ready() - echo up to 64 datagrams (then let the others run) */
static void udp_ready(int fd)
{
	struct sockaddr_in from;
	char buf[65536];
	int i;

	for (i = 0; i < 64; i++) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &len);
		if (n < 0)
			return;
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static __attribute__((noreturn)) void cmd_serve(const char *portfile)
{
	uint16_t pe, pc, pu;
	int le = bound_socket(SOCK_STREAM, &pe);
	int lc = bound_socket(SOCK_STREAM, &pc);
	int u = bound_socket(SOCK_DGRAM, &pu);
	int ep = epoll_create1(0);

	epoll_add(ep, le, K_ECHO_L);
	epoll_add(ep, lc, K_CRR_L);
	epoll_add(ep, u, K_UDP);
	write_file(portfile, "%u %u %u\n", pe, pc, pu);
	for (;;) {
		struct epoll_event ev[256];
		int i, n = epoll_wait(ep, ev, 256, -1);

		for (i = 0; i < n; i++) {
			uint64_t t = ev[i].data.u64;

			if (t == K_ECHO_L)
				accept_all(ep, le, CONN_ECHO);
			else if (t == K_CRR_L)
				accept_all(ep, lc, CONN_CRR);
			else if (t == K_UDP)
				udp_ready(u);
			else
				conn_ready((int)(t >> 4), (int)(t >> 2) & 3);
		}
	}
}

/* connect_to() - a blocking TCP connection to A (10 s timeouts), or -1 */
static int connect_to(const struct sockaddr_in *a)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		close(fd);
		return -1;
	}
	set_nodelay(fd);
	return fd;
}

/* round_trip() - send one byte on FD and read one back: 0, or -1 */
static int round_trip(int fd)
{
	char c = 'x';

	if (send(fd, &c, 1, MSG_NOSIGNAL) != 1)
		return -1;
	return recv(fd, &c, 1, 0) == 1 ? 0 : -1;
}

static int cmd_tcp_rr(const struct sockaddr_in *a, double secs)
{
	int fd = connect_to(a);
	long n = 0;
	double t0, t;

	if (fd < 0)
		die("connect: %s", strerror(errno));
	for (int i = 0; i < 200; i++)	/* warm up: caches, cwnd, ACK modes */
		if (round_trip(fd) < 0)
			die("round trip failed: %s", strerror(errno));
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			if (round_trip(fd) < 0)
				die("round trip failed: %s", strerror(errno));
		t = now_s();
	} while (t - t0 < secs);
	printf("tps %.0f rtt_us %.1f\n", n / (t - t0), (t - t0) * 1e6 / n);
	close(fd);
	return 0;
}

/* one_crr() - connect, ask, get the answer and the server's FIN: 0 or -1 */
static int one_crr(const struct sockaddr_in *a)
{
	char c;
	int fd = connect_to(a), rc = -1;

	if (fd < 0)
		return -1;
	if (round_trip(fd) == 0 && recv(fd, &c, 1, 0) == 0)
		rc = 0;
	close(fd);
	return rc;
}

static int cmd_tcp_crr(const struct sockaddr_in *a, double secs)
{
	long n = 0, errors = 0;
	double t0 = now_s(), t;

	do {
		if (one_crr(a) == 0)
			n++;
		else if (++errors > 100)
			die("more than 100 failed connections (%s)",
			    strerror(errno));
		t = now_s();
	} while (t - t0 < secs);
	printf("cps %.0f errors %ld\n", n / (t - t0), errors);
	return 0;
}

static int cmd_udp_rr(const struct sockaddr_in *a, double secs)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	long n = 0, lost = 0;
	double t0, t;
	char c = 'x';

	if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0)
		die("udp socket: %s", strerror(errno));
	t0 = now_s();
	do {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (send(fd, &c, 1, 0) != 1)
			die("udp send: %s", strerror(errno));
		if (poll(&p, 1, UDP_WAIT_MS) == 1 && recv(fd, &c, 1, 0) == 1)
			n++;
		else if (++lost > 1000)
			die("more than 1000 datagrams lost");
		t = now_s();
	} while (t - t0 < secs);
	printf("tps %.0f lost %ld\n", n / (t - t0), lost);
	return 0;
}

/* Hold state: one entry per connection */
struct held {
	int fd;
	int state;	/* 0 connecting, 1 waiting for the echo, 2 open, 3 failed */
};

/* hold_fail() - give up connection H (refused, reset, no echo): 1 */
static int hold_fail(int ep, struct held *h)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
	close(h->fd);
	h->state = 3;
	return 1;
}

/* hold_event() - advance connection H on an epoll event: 1 when it is
 * settled (open and echoed, or failed), 0 while it is on its way */
static int hold_event(int ep, struct held *h, long i)
{
	char buf[8], want[12];
	int err = 0;
	socklen_t len = sizeof(err);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i };

	snprintf(want, sizeof(want), "%08ld", i % 100000000);	/* 8 digits */
	if (h->state == 0) {
		getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || send(h->fd, want, 8, MSG_NOSIGNAL) != 8)
			return hold_fail(ep, h);
		epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
		h->state = 1;
		return 0;
	}
	if (recv(h->fd, buf, sizeof(buf), MSG_WAITALL) != 8 ||
	    memcmp(buf, want, 8))
		return hold_fail(ep, h);
	epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
	h->state = 2;
	return 1;
}

/* hold_start() - start a non-blocking connect for entry I */
static void hold_start(int ep, const struct sockaddr_in *a, struct held *h,
		       long i)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)i };

	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		die("socket %ld: %s", i, strerror(errno));
	if (connect(h->fd, (const struct sockaddr *)a, sizeof(*a)) < 0 &&
	    errno != EINPROGRESS)
		die("connect %ld: %s", i, strerror(errno));
	epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev);
}

static int cmd_hold(const struct sockaddr_in *a, long n, const char *ready,
		    const char *go, double limit)
{
	struct held *h = calloc((size_t)n, sizeof(*h));
	int ep = epoll_create1(0);
	long started = 0, settled = 0, open = 0;
	double t0 = now_s();
	struct stat st;

	if (!h)
		die("out of memory");
	while (settled < n && now_s() - t0 < limit) {
		struct epoll_event ev[256];
		int k, m;

		while (started < n && started - settled < HOLD_WINDOW) {
			hold_start(ep, a, &h[started], started);
			started++;
		}
		m = epoll_wait(ep, ev, 256, 1000);
		for (k = 0; k < m; k++) {
			long i = (long)ev[k].data.u64;

			settled += hold_event(ep, &h[i], i);
		}
	}
	/* Out of time: give up the ones still on their way */
	for (long i = 0; i < started; i++) {
		if (h[i].state < 2)
			hold_fail(ep, &h[i]);
		open += h[i].state == 2;
	}
	write_file(ready, "%.3f %ld\n", now_s() - t0, open);
	while (stat(go, &st) < 0)
		usleep(50000);
	for (long i = 0; i < started; i++)
		if (h[i].state == 2)
			close(h[i].fd);
	free(h);
	return 0;
}

static void usage(void)
{
	fputs("usage: bench-net serve PORTFILE\n"
	      "       bench-net tcp-rr|tcp-crr|udp-rr ADDR PORT SECS\n"
	      "       bench-net hold ADDR PORT N READY GO [LIMIT]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;

	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "serve"))
		cmd_serve(argv[2]);
	if (argc < 4)
		usage();
	a = sockaddr_of(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "tcp-rr"))
		return cmd_tcp_rr(&a, atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "tcp-crr"))
		return cmd_tcp_crr(&a, atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "udp-rr"))
		return cmd_udp_rr(&a, atof(argv[4]));
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "hold"))
		return cmd_hold(&a, atol(argv[4]), argv[5], argv[6],
				argc == 8 ? atof(argv[7]) : 120);
	usage();
	return 2;
}
