/* test-udp.c - UDP NAT: round trips through host loopback sockets, port
 * unreachable, expiry, several guests, sizes, limits, martians */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "frames.h"
#include "stack.h"

static const uint8_t guest2_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

/* Service the instance until @cap holds @n frames or @ms pass */
static void pump(struct usernat *un, struct capture *cap, guint n, int ms)
{
	int64_t end = g_get_monotonic_time() + (int64_t)ms * 1000;
	struct pollfd p = { .fd = usernat_fd(un), .events = POLLIN };

	while (cap->frames->len < n && g_get_monotonic_time() < end) {
		if (poll(&p, 1, 20) > 0)
			usernat_service(un);
	}
}

/* A UDP socket on 127.0.0.1, port in *port (network order) */
static int udp_server(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*port = sa.sin_port;
	return fd;
}

/* Echo one datagram back; returns its length and copies it to @buf */
static ssize_t echo_once(int fd, void *buf, size_t size,
			 struct sockaddr_in *from)
{
	socklen_t fl = sizeof(*from);
	ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)from, &fl);

	g_assert_cmpint(n, >=, 0);
	g_assert_cmpint(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)from,
			       fl), ==, n);
	return n;
}

/* Send a datagram from a guest */
static void guest_send(struct usernat *un, const uint8_t *mac,
		       const char *saddr, uint16_t sport, const char *daddr,
		       uint16_t dport, const void *data, size_t len)
{
	uint8_t l4[2048], frame[2100];
	size_t n;

	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	memcpy(l4 + 8, data, len);
	n = build_ip4(frame, gw_mac, mac, saddr, daddr, 17, l4, 8 + len, 1);
	usernat_input(un, frame, n);
}

/* Check a UDP frame toward a guest; returns a pointer to its payload */
static const uint8_t *check_udp(GByteArray *f, const uint8_t *mac,
				const char *saddr, uint16_t sport,
				const char *daddr, uint16_t dport,
				size_t *len)
{
	const uint8_t *u = f->data + 34;
	uint16_t ulen;
	uint32_t a;

	g_assert_cmpmem(f->data, 6, mac, 6);
	g_assert_cmpint(f->data[23], ==, 17);
	g_assert_cmphex(csum(f->data + 14, 20, 0), ==, 0);
	memcpy(&a, f->data + 26, 4);
	g_assert_cmphex(a, ==, ip(saddr));
	memcpy(&a, f->data + 30, 4);
	g_assert_cmphex(a, ==, ip(daddr));
	g_assert_cmphex(*(const uint16_t *)u, ==, sport);
	g_assert_cmphex(*(const uint16_t *)(u + 2), ==, dport);
	ulen = ntohs(*(const uint16_t *)(u + 4));
	g_assert_cmpuint(ulen + 34u, <=, f->len);
	g_assert_cmphex(csum(u, ulen, csum_pseudo4(ip(saddr), ip(daddr), 17,
						   ulen)), ==, 0);
	*len = ulen - 8u;
	return u + 8;
}

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	g_assert_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Guest -> 10.0.2.2:P reaches 127.0.0.1:P; the reply comes from 10.0.2.2:P */
static void test_echo_round_trip(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint16_t port, gport = htons(40000);
	int srv = udp_server(&port);
	struct sockaddr_in from;
	const uint8_t *p;
	char buf[2048];
	size_t len;
	int i;

	for (i = 0; i < 3; i++) {
		capture_clear(&cap);
		guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port,
			   "hello", 5);
		g_assert_cmpint(echo_once(srv, buf, sizeof(buf), &from), ==, 5);
		g_assert_cmphex(from.sin_addr.s_addr, ==,
				htonl(INADDR_LOOPBACK));
		pump(un, &cap, 1, 2000);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		p = check_udp(capture_nth(&cap, 0), guest_mac, "10.0.2.2",
			      port, "10.0.2.15", gport, &len);
		g_assert_cmpmem(p, len, "hello", 5);
	}
	/* an empty datagram is a datagram too */
	capture_clear(&cap);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port, "", 0);
	g_assert_cmpint(echo_once(srv, buf, sizeof(buf), &from), ==, 0);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	check_udp(capture_nth(&cap, 0), guest_mac, "10.0.2.2", port,
		  "10.0.2.15", gport, &len);
	g_assert_cmpuint(len, ==, 0);

	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_out"), ==, 4);
	g_assert_cmpuint(usernat_stat(un, "udp_in"), ==, 4);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* A closed port: the host's ECONNREFUSED becomes port unreachable */
static void test_port_unreachable(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint16_t port, gport = htons(40001);
	int srv = udp_server(&port);
	const uint8_t *e;
	GByteArray *f;
	uint32_t a;

	close(srv);		/* nobody listens on port now */
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port, "x",
		   1);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	f = capture_nth(&cap, 0);
	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	g_assert_cmpint(f->data[23], ==, 1);
	e = f->data + 34;
	g_assert_cmpint(e[0], ==, 3);
	g_assert_cmpint(e[1], ==, 3);
	g_assert_cmphex(csum(e, f->len - 34 < 36 ? f->len - 34 : 36, 0), ==,
			0);
	memcpy(&a, f->data + 26, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.2"));
	/* the quote names the guest's flow */
	memcpy(&a, e + 8 + 12, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.15"));
	memcpy(&a, e + 8 + 16, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.2"));
	g_assert_cmphex(*(const uint16_t *)(e + 28), ==, gport);
	g_assert_cmphex(*(const uint16_t *)(e + 30), ==, port);
	g_assert_cmpuint(usernat_stat(un, "udp_icmp_relayed"), ==, 1);

	/* once reported, the next datagram goes out and is refused again */
	capture_clear(&cap);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port, "y",
		   1);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_icmp_relayed"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "udp_out"), ==, 2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Idle flows end after udp-timeout and their sockets are closed */
static void test_expiry(void)
{
	const char *const opts[] = { "udp-timeout", "1", NULL };
	unsigned int fds0 = count_fds();
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint16_t port;
	int srv = udp_server(&port);
	unsigned int fds = count_fds();
	struct sockaddr_in from;
	char buf[64];

	guest_send(un, guest_mac, "10.0.2.15", htons(40002), "10.0.2.2", port,
		   "a", 1);
	guest_send(un, guest_mac, "10.0.2.15", htons(40003), "10.0.2.2", port,
		   "b", 1);
	g_assert_cmpuint(count_fds(), ==, fds + 2);
	echo_once(srv, buf, sizeof(buf), &from);
	echo_once(srv, buf, sizeof(buf), &from);
	pump(un, &cap, 2, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	pump(un, &cap, 100, 3000);	/* ticks go by */
	g_assert_cmpuint(usernat_stat(un, "udp_flows_expired"), ==, 2);
	g_assert_cmpuint(count_fds(), ==, fds);
	/* the same four-tuple again: a new flow */
	guest_send(un, guest_mac, "10.0.2.15", htons(40002), "10.0.2.2", port,
		   "c", 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 3);
	close(srv);
	usernat_free(un);
	g_assert_cmpuint(count_fds(), ==, fds0);
	g_ptr_array_unref(cap.frames);
}

/* Two guests with the same source port and destination get their own
 * flows and their own replies */
static void test_two_guests(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint16_t port, gport = htons(5000);
	int srv = udp_server(&port);
	struct sockaddr_in from1, from2;
	const uint8_t *p;
	char buf[64];
	size_t len;
	guint i;
	bool seen1 = false, seen2 = false;

	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port,
		   "guest-one", 9);
	guest_send(un, guest2_mac, "10.0.2.16", gport, "10.0.2.2", port,
		   "guest-two", 9);
	echo_once(srv, buf, sizeof(buf), &from1);
	echo_once(srv, buf, sizeof(buf), &from2);
	g_assert_cmpuint(from1.sin_port, !=, from2.sin_port);
	pump(un, &cap, 2, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	for (i = 0; i < 2; i++) {
		GByteArray *f = capture_nth(&cap, i);

		if (!memcmp(f->data, guest_mac, 6)) {
			p = check_udp(f, guest_mac, "10.0.2.2", port,
				      "10.0.2.15", gport, &len);
			g_assert_cmpmem(p, len, "guest-one", 9);
			seen1 = true;
		} else {
			p = check_udp(f, guest2_mac, "10.0.2.2", port,
				      "10.0.2.16", gport, &len);
			g_assert_cmpmem(p, len, "guest-two", 9);
			seen2 = true;
		}
	}
	g_assert_true(seen1 && seen2);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 2);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Host datagrams bigger than the guest MTU allows are dropped, counted */
static void test_too_big(void)
{
	const char *const opts[] = { "mtu", "576", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint16_t port, gport = htons(40004);
	int srv = udp_server(&port);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[2000] = { 0 };
	size_t len;

	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port, "q",
		   1);
	g_assert_cmpint(recvfrom(srv, buf, sizeof(buf), 0,
				 (struct sockaddr *)&from, &fl), ==, 1);
	/* 548 = 576 - 20 - 8 fits, 549 does not */
	sendto(srv, buf, 549, 0, (struct sockaddr *)&from, fl);
	sendto(srv, buf, 548, 0, (struct sockaddr *)&from, fl);
	pump(un, &cap, 1, 2000);
	pump(un, &cap, 2, 300);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	check_udp(capture_nth(&cap, 0), guest_mac, "10.0.2.2", port,
		  "10.0.2.15", gport, &len);
	g_assert_cmpuint(len, ==, 548);
	g_assert_cmpuint(capture_nth(&cap, 0)->len, ==, 14 + 576);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_toobig"), ==, 1);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Past the flow limit: admin-prohibited, counted; existing flows go on */
static void test_limit(void)
{
	const char *const opts[] = { "max-flows", "1", "log-level", "error",
				     NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint16_t port;
	int srv = udp_server(&port);
	struct sockaddr_in from;
	char buf[64];
	GByteArray *f;
	size_t len;

	guest_send(un, guest_mac, "10.0.2.15", htons(1), "10.0.2.2", port,
		   "a", 1);
	guest_send(un, guest_mac, "10.0.2.15", htons(2), "10.0.2.2", port,
		   "b", 1);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	f = capture_nth(&cap, 0);
	g_assert_cmpint(f->data[23], ==, 1);
	g_assert_cmpint(f->data[34], ==, 3);
	g_assert_cmpint(f->data[35], ==, 13);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 1);
	capture_clear(&cap);
	guest_send(un, guest_mac, "10.0.2.15", htons(1), "10.0.2.2", port,
		   "c", 1);
	echo_once(srv, buf, sizeof(buf), &from);
	echo_once(srv, buf, sizeof(buf), &from);
	pump(un, &cap, 2, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	check_udp(capture_nth(&cap, 1), guest_mac, "10.0.2.2", port,
		  "10.0.2.15", htons(1), &len);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 1);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* The highest open descriptor below @lim (not counting the one listing
 * them; tools like valgrind keep their own above the limit) */
static int max_fd(rlim_t lim)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int m = 0, fd;

	g_assert_nonnull(d);
	while ((e = readdir(d))) {
		fd = atoi(e->d_name);
		if (fd != dirfd(d) && (rlim_t)fd < lim)
			m = MAX(m, fd);
	}
	closedir(d);
	return m;
}

/* Out of descriptors: the new flow is refused with admin-prohibited and
 * counted, the existing one goes on */
static void test_emfile(void)
{
	const char *const opts[] = { "log-level", "error", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint16_t port;
	int srv = udp_server(&port);
	struct sockaddr_in from;
	GArray *fill = g_array_new(FALSE, FALSE, sizeof(int));
	struct rlimit old, rl;
	char buf[64];
	GByteArray *f;
	size_t len;
	guint i;
	int fd;

	guest_send(un, guest_mac, "10.0.2.15", htons(1), "10.0.2.2", port,
		   "a", 1);
	echo_once(srv, buf, sizeof(buf), &from);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	capture_clear(&cap);

	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
	rl = old;
	rl.rlim_cur = (rlim_t)max_fd(old.rlim_cur) + 1;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	while ((fd = dup(0)) >= 0)	/* fill the holes below the limit */
		g_array_append_val(fill, fd);
	g_assert_cmpint(errno, ==, EMFILE);
	guest_send(un, guest_mac, "10.0.2.15", htons(2), "10.0.2.2", port,
		   "b", 1);
	guest_send(un, guest_mac, "10.0.2.15", htons(1), "10.0.2.2", port,
		   "c", 1);
	echo_once(srv, buf, sizeof(buf), &from);
	pump(un, &cap, 2, 2000);
	for (i = 0; i < fill->len; i++)
		close(g_array_index(fill, int, i));
	g_array_unref(fill);
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);

	g_assert_cmpuint(cap.frames->len, ==, 2);
	f = capture_nth(&cap, 0);
	g_assert_cmpint(f->data[23], ==, 1);
	g_assert_cmpint(f->data[34], ==, 3);
	g_assert_cmpint(f->data[35], ==, 13);
	check_udp(capture_nth(&cap, 1), guest_mac, "10.0.2.2", port,
		  "10.0.2.15", htons(1), &len);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_socket"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 1);
	g_assert_cmpuint(un->flows, ==, 1);	/* the refusal was released */
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Loopback and 0/8 destinations never leave; without the loopback mapping
 * the gateway has no UDP services; broadcasts stay on the link */
static void test_martians(void)
{
	const char *const opts[] = { "no-map-host-loopback", NULL, NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint16_t port;
	int srv = udp_server(&port);
	GByteArray *f;

	guest_send(un, guest_mac, "10.0.2.15", htons(7), "127.0.0.1", port,
		   "a", 1);
	guest_send(un, guest_mac, "10.0.2.15", htons(7), "0.0.0.0", port,
		   "a", 1);
	guest_send(un, guest_mac, "10.0.2.15", htons(7), "0.1.2.3", port,
		   "a", 1);
	/* ip4.c drops these martians before UDP sees them */
	g_assert_cmpuint(usernat_stat(un, "drop_udp_dst") +
			 usernat_stat(un, "drop_ip_dst"), ==, 3);
	guest_send(un, guest_mac, "10.0.2.15", htons(7), "10.0.2.255", port,
		   "a", 1);
	guest_send(un, guest_mac, "10.0.2.15", htons(7), "224.0.0.251", port,
		   "a", 1);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_bcast"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);

	un = test_instance(&cap, opts);
	guest_send(un, guest_mac, "10.0.2.15", htons(7), "10.0.2.2", port,
		   "a", 1);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	f = capture_nth(&cap, 0);
	g_assert_cmpint(f->data[34], ==, 3);
	g_assert_cmpint(f->data[35], ==, 3);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/udp/echo-round-trip", test_echo_round_trip);
	g_test_add_func("/udp/port-unreachable", test_port_unreachable);
	g_test_add_func("/udp/expiry", test_expiry);
	g_test_add_func("/udp/two-guests", test_two_guests);
	g_test_add_func("/udp/too-big", test_too_big);
	g_test_add_func("/udp/limit", test_limit);
	g_test_add_func("/udp/emfile", test_emfile);
	g_test_add_func("/udp/martians", test_martians);
	return g_test_run();
}
