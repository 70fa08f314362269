/* test-udp.c - UDP NAT: round trips through host loopback sockets, port
 * unreachable, expiry, several guests, sizes, limits, martians; inbound
 * flows of port forwards; the flow listing */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
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

/* A datagram with a partial checksum (virtio-net NEEDS_CSUM, as a guest
 * with checksum offload sends them): a bad checksum on its own, taken with
 * its offload information */
static void test_partial_checksum(void)
{
	struct usernat_offload off = { .flags = USERNAT_OFFLOAD_F_NEEDS_CSUM,
				       .csum_start = 34, .csum_offset = 6 };
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint16_t port, gport = htons(40001), c;
	int srv = udp_server(&port);
	struct sockaddr_in from;
	uint8_t l4[16], frame[100];
	char buf[64];
	size_t n;

	memcpy(l4, &gport, 2);
	memcpy(l4 + 2, &port, 2);
	memcpy(l4 + 8, "partial!", 8);
	n = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", "10.0.2.2", 17,
		      l4, sizeof(l4), 1);
	c = (uint16_t)~csum_fold(csum_pseudo4(ip("10.0.2.15"), ip("10.0.2.2"),
					      17, sizeof(l4)));
	memcpy(frame + 34 + 6, &c, 2);
	usernat_input(un, frame, n);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_csum"), ==, 1);
	usernat_input_offload(un, frame, n, &off);
	g_assert_cmpint(echo_once(srv, buf, sizeof(buf), &from), ==, 8);
	g_assert_cmpmem(buf, 8, "partial!", 8);
	g_assert_cmpuint(usernat_stat(un, "offload_csum_in"), ==, 1);
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

/*
 * Inbound flows (port forwards) and the flow listing
 */

/* The guest announces itself (gratuitous ARP): forwards can find it */
static void guest_announce(struct usernat *un, const uint8_t *mac,
			   const char *addr)
{
	static const uint8_t zero[6];
	uint8_t frame[64];
	size_t n = build_arp(frame, 1, bcast_mac, mac, addr, zero, addr);

	usernat_input(un, frame, n);
}

/* A UDP socket of @family on loopback, port 0; its address in @sa */
static int udp_client(int family, struct sockaddr_storage *sa)
{
	socklen_t sl = sizeof(*sa);
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(family, SOCK_DGRAM, 0);

	g_assert_cmpint(fd, >=, 0);
	memset(sa, 0, sizeof(*sa));
	sa->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)sa)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)sa)->sin6_addr = in6addr_loopback;
	g_assert_cmpint(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)sa, &sl), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static uint16_t sa_port(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)sa)->sin6_port;
	return ((const struct sockaddr_in *)sa)->sin_port;
}

/* Add forward "udp:HOST:PORT-GUEST" on a free loopback port; the port
 * (network order) in *@port and the spec in @spec */
static void add_forward(struct usernat *un, const char *host,
			const char *guest, uint16_t *port, char spec[128])
{
	struct sockaddr_storage sa;
	char *err = NULL;
	int tries, fd;

	for (tries = 0; tries < 20; tries++) {
		/* a port free a moment ago; retry if someone took it */
		fd = udp_client(host[0] == '[' ? AF_INET6 : AF_INET, &sa);
		close(fd);
		*port = sa_port(&sa);
		snprintf(spec, 128, "udp:%s:%u-%s", host, ntohs(*port), guest);
		if (!usernat_forward_add(un, spec, &err))
			return;
		g_free(err);
		err = NULL;
	}
	g_assert_not_reached();
}

/* Send @data from @cli to the forward at @family loopback port @port */
static void client_send(int cli, int family, uint16_t port, const char *data)
{
	struct sockaddr_storage to = { .ss_family = (sa_family_t)family };

	if (family == AF_INET) {
		((struct sockaddr_in *)&to)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)&to)->sin_port = port;
	} else {
		((struct sockaddr_in6 *)&to)->sin6_addr = in6addr_loopback;
		((struct sockaddr_in6 *)&to)->sin6_port = port;
	}
	g_assert_cmpint(sendto(cli, data, strlen(data), 0,
			       (struct sockaddr *)&to, sizeof(to)), ==,
			(ssize_t)strlen(data));
}

/* Receive on @cli: @want, from the forward's port @port */
static void client_expect(int cli, uint16_t port, const char *want)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char buf[2048];
	ssize_t n = recvfrom(cli, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &fl);

	g_assert_cmpint(n, ==, (ssize_t)strlen(want));
	g_assert_cmpmem(buf, (size_t)n, want, strlen(want));
	g_assert_cmphex(sa_port(&from), ==, port);
}

/* Nothing arrives on @cli within @ms */
static void client_expect_none(int cli, int ms)
{
	struct pollfd p = { .fd = cli, .events = POLLIN };

	g_assert_cmpint(poll(&p, 1, ms), ==, 0);
}

/* The datagram the guest got: from 10.0.2.2, to @gport; its source port */
static uint16_t guest_got(struct capture *cap, struct usernat *un,
			  uint16_t gport, const char *want)
{
	const uint8_t *u, *p;
	uint16_t sport;
	size_t len;

	pump(un, cap, 1, 2000);
	g_assert_cmpuint(cap->frames->len, ==, 1);
	u = capture_nth(cap, 0)->data + 34;
	memcpy(&sport, u, 2);
	p = check_udp(capture_nth(cap, 0), guest_mac, "10.0.2.2", sport,
		      "10.0.2.15", gport, &len);
	g_assert_cmpmem(p, len, want, strlen(want));
	capture_clear(cap);
	return sport;
}

/* Flows as usernat_flows_foreach() reports them */
static void flow_collect(void *opaque, const struct usernat_flow *f)
{
	g_array_append_val((GArray *)opaque, *f);
}

static GArray *flows_of(struct usernat *un, const char *proto)
{
	GArray *all = g_array_new(FALSE, FALSE, sizeof(struct usernat_flow));
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct usernat_flow));
	guint i;

	usernat_flows_foreach(un, flow_collect, all);
	for (i = 0; i < all->len; i++) {
		struct usernat_flow *f = &g_array_index(all, struct usernat_flow,
							i);

		if (!strcmp(f->proto, proto))
			g_array_append_val(out, *f);
	}
	g_array_unref(all);
	return out;
}

/* A client's datagrams reach the guest from 10.0.2.2 and the client's own
 * port; the guest's replies come back from the forward's port */
static void inbound_round_trip(const char *const *opts, int family)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	struct sockaddr_storage csa;
	int cli = udp_client(family, &csa);
	uint16_t port, sport = 0, gport = htons(7);
	char spec[128], msg[32];
	GArray *fl;
	int i;

	guest_announce(un, guest_mac, "10.0.2.15");
	g_assert_cmpuint(cap.frames->len, ==, 0);
	add_forward(un, family == AF_INET ? "127.0.0.1" : "[::1]",
		    "10.0.2.15:7", &port, spec);
	for (i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg), "ping-%d", i);
		client_send(cli, family, port, msg);
		sport = guest_got(&cap, un, gport, msg);
		g_assert_cmphex(sport, ==, sa_port(&csa));
		snprintf(msg, sizeof(msg), "pong-%d", i);
		guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", sport,
			   msg, strlen(msg));
		client_expect(cli, port, msg);
	}
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_flows"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_replies"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	g_assert_cmpuint(un->flows, ==, 1);

	fl = flows_of(un, "udp");
	g_assert_cmpuint(fl->len, ==, 1);
	{
		struct usernat_flow *f = &g_array_index(fl, struct usernat_flow,
							0);
		char want[64];

		if (family == AF_INET)
			snprintf(want, sizeof(want), "127.0.0.1:%u",
				 ntohs(sa_port(&csa)));
		else
			snprintf(want, sizeof(want), "[::1]:%u",
				 ntohs(sa_port(&csa)));
		g_assert_cmpstr(f->state, ==, "active");
		g_assert_cmpint(f->inbound, ==, 1);
		g_assert_cmphex(f->guest_addr, ==, ip("10.0.2.15"));
		g_assert_cmpuint(f->guest_port, ==, 7);
		g_assert_cmpstr(f->host, ==, want);
		g_assert_cmpuint(f->bytes_to_guest, ==, 18);
		g_assert_cmpuint(f->bytes_from_guest, ==, 18);
		g_assert_cmpuint(f->age_ms, <, 10000);
	}
	g_array_unref(fl);
	close(cli);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

static void test_inbound_round_trip(void)
{
	inbound_round_trip(NULL, AF_INET);
}

/* The guest's replies to the gateway reach the client even when the
 * gateway does not stand for the host's loopback */
static void test_inbound_no_loopback_map(void)
{
	const char *const opts[] = { "no-map-host-loopback", NULL, NULL };

	inbound_round_trip(opts, AF_INET);
}

static void test_inbound_ipv6_client(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	if (fd >= 0)
		close(fd);
	if (!ok) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	inbound_round_trip(NULL, AF_INET6);
}

/* Two clients: two flows; replies go each to its own client.  A guest's
 * outbound flow already holding (guest port, gateway, client port) makes
 * the inbound flow take an ephemeral port instead; both keep working. */
static void test_inbound_two_clients(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	struct sockaddr_storage sa1, sa2;
	int c1 = udp_client(AF_INET, &sa1), c2 = udp_client(AF_INET, &sa2);
	uint16_t port, s1, s2, gport = htons(7);
	struct sockaddr_in from;
	char spec[128], buf[64];
	GArray *fl;

	guest_announce(un, guest_mac, "10.0.2.15");
	add_forward(un, "127.0.0.1", "10.0.2.15:7", &port, spec);
	/* the guest talks to client 2's port first, from port 7, outbound */
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2",
		   sa_port(&sa2), "out", 3);
	g_assert_cmpint(echo_once(c2, buf, sizeof(buf), &from), ==, 3);
	g_assert_cmphex(from.sin_port, !=, port);
	pump(un, &cap, 1, 2000);
	capture_clear(&cap);

	client_send(c1, AF_INET, port, "one");
	s1 = guest_got(&cap, un, gport, "one");
	client_send(c2, AF_INET, port, "two");
	s2 = guest_got(&cap, un, gport, "two");
	g_assert_cmphex(s1, ==, sa_port(&sa1));
	g_assert_cmphex(s2, !=, sa_port(&sa2));		/* taken: outbound */
	g_assert_cmpuint(ntohs(s2), >=, 49152);

	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", s2,
		   "to-two", 6);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", s1,
		   "to-one", 6);
	client_expect(c1, port, "to-one");
	client_expect(c2, port, "to-two");
	/* the outbound flow is still the guest's way to client 2's port */
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2",
		   sa_port(&sa2), "out2", 4);
	g_assert_cmpint(echo_once(c2, buf, sizeof(buf), &from), ==, 4);
	g_assert_cmphex(from.sin_port, !=, port);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_flows"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 1);
	fl = flows_of(un, "udp");
	g_assert_cmpuint(fl->len, ==, 3);
	g_array_unref(fl);
	close(c1);
	close(c2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Removing the forward while a flow uses its socket: the flow's replies
 * are dropped and counted, nothing crashes; added again, the forward
 * works at once and the stale flow gives way */
static void test_inbound_forward_removed(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	struct sockaddr_storage csa;
	int cli = udp_client(AF_INET, &csa), other;
	uint16_t port, sport, gport = htons(7);
	char spec[128], *err = NULL;
	GArray *fl;

	guest_announce(un, guest_mac, "10.0.2.15");
	add_forward(un, "127.0.0.1", "10.0.2.15:7", &port, spec);
	client_send(cli, AF_INET, port, "hello");
	sport = guest_got(&cap, un, gport, "hello");
	g_assert_cmpint(usernat_forward_remove(un, spec, &err), ==, 0);
	/* whatever gets the descriptor number now must not be written to */
	other = socket(AF_INET, SOCK_DGRAM, 0);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", sport,
		   "late", 4);
	client_expect_none(cli, 200);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_fwd_gone"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	fl = flows_of(un, "udp");
	g_assert_cmpuint(fl->len, ==, 1);
	g_assert_cmpstr(g_array_index(fl, struct usernat_flow, 0).state, ==,
			"forward-gone");
	g_array_unref(fl);
	close(other);

	/* the same forward again (likely the same descriptor number) */
	g_assert_cmpint(usernat_forward_add(un, spec, &err), ==, 0);
	client_send(cli, AF_INET, port, "again");
	g_assert_cmphex(guest_got(&cap, un, gport, "again"), ==, sport);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", sport,
		   "back", 4);
	client_expect(cli, port, "back");
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_flows"), ==, 2);
	g_assert_cmpuint(un->flows, ==, 1);	/* the orphan was released */
	fl = flows_of(un, "udp");
	g_assert_cmpuint(fl->len, ==, 1);
	g_assert_cmpstr(g_array_index(fl, struct usernat_flow, 0).state, ==,
			"active");
	g_array_unref(fl);
	close(cli);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Inbound flows idle out like outbound ones, charge released */
static void test_inbound_expiry(void)
{
	const char *const opts[] = { "udp-timeout", "1", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	struct sockaddr_storage csa;
	int cli = udp_client(AF_INET, &csa);
	uint16_t port, sport, gport = htons(7);
	char spec[128];

	guest_announce(un, guest_mac, "10.0.2.15");
	add_forward(un, "127.0.0.1", "10.0.2.15:7", &port, spec);
	client_send(cli, AF_INET, port, "x");
	sport = guest_got(&cap, un, gport, "x");
	g_assert_cmpuint(un->flows, ==, 1);
	pump(un, &cap, 100, 2500);	/* ticks go by */
	g_assert_cmpuint(usernat_stat(un, "udp_flows_expired"), ==, 1);
	g_assert_cmpuint(un->flows, ==, 0);
	close(cli);
	(void)sport;
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Past the flow limit a new client's datagrams are dropped, counted; a
 * datagram too big for the guest MTU is dropped, counted */
static void test_inbound_limits(void)
{
	const char *const opts[] = { "max-flows", "1", "mtu", "576",
				     "log-level", "error", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	struct sockaddr_storage sa1, sa2;
	int c1 = udp_client(AF_INET, &sa1), c2 = udp_client(AF_INET, &sa2);
	uint16_t port, gport = htons(7);
	char spec[128], big[600];

	guest_announce(un, guest_mac, "10.0.2.15");
	add_forward(un, "127.0.0.1", "10.0.2.15:7", &port, spec);
	client_send(c1, AF_INET, port, "first");
	guest_got(&cap, un, gport, "first");
	client_send(c2, AF_INET, port, "second");
	pump(un, &cap, 1, 300);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 1);
	memset(big, 'b', sizeof(big));
	big[549] = 0;			/* 576 - 20 - 8 = 548 fit */
	client_send(c1, AF_INET, port, big);
	big[548] = 0;
	client_send(c1, AF_INET, port, big);
	guest_got(&cap, un, gport, big);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_toobig"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_flows"), ==, 1);
	close(c1);
	close(c2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* An outbound flow in the listing: the host side is where it goes on the
 * host (the gateway stands for 127.0.0.1), bytes are payload bytes */
static void test_flows_list(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint16_t port, gport = htons(40000);
	int srv = udp_server(&port);
	struct sockaddr_in from;
	struct usernat_flow *f;
	char buf[64], want[64];
	GArray *fl;

	fl = flows_of(un, "udp");
	g_assert_cmpuint(fl->len, ==, 0);
	g_array_unref(fl);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port,
		   "hello", 5);
	guest_send(un, guest_mac, "10.0.2.15", gport, "10.0.2.2", port,
		   "again!", 6);
	echo_once(srv, buf, sizeof(buf), &from);
	echo_once(srv, buf, sizeof(buf), &from);
	pump(un, &cap, 2, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	fl = flows_of(un, "udp");
	g_assert_cmpuint(fl->len, ==, 1);
	f = &g_array_index(fl, struct usernat_flow, 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(port));
	g_assert_cmpstr(f->proto, ==, "udp");
	g_assert_cmpstr(f->state, ==, "active");
	g_assert_cmpint(f->inbound, ==, 0);
	g_assert_cmphex(f->guest_addr, ==, ip("10.0.2.15"));
	g_assert_cmpuint(f->guest_port, ==, 40000);
	g_assert_cmpstr(f->host, ==, want);
	g_assert_cmpuint(f->bytes_from_guest, ==, 11);
	g_assert_cmpuint(f->bytes_to_guest, ==, 11);
	g_assert_cmpuint(f->age_ms, <, 10000);
	g_array_unref(fl);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/udp/echo-round-trip", test_echo_round_trip);
	g_test_add_func("/udp/partial-checksum", test_partial_checksum);
	g_test_add_func("/udp/port-unreachable", test_port_unreachable);
	g_test_add_func("/udp/expiry", test_expiry);
	g_test_add_func("/udp/two-guests", test_two_guests);
	g_test_add_func("/udp/too-big", test_too_big);
	g_test_add_func("/udp/limit", test_limit);
	g_test_add_func("/udp/emfile", test_emfile);
	g_test_add_func("/udp/martians", test_martians);
	g_test_add_func("/udp/flows-list", test_flows_list);
	g_test_add_func("/udp/inbound/round-trip", test_inbound_round_trip);
	g_test_add_func("/udp/inbound/no-loopback-map",
			test_inbound_no_loopback_map);
	g_test_add_func("/udp/inbound/ipv6-client", test_inbound_ipv6_client);
	g_test_add_func("/udp/inbound/two-clients", test_inbound_two_clients);
	g_test_add_func("/udp/inbound/forward-removed",
			test_inbound_forward_removed);
	g_test_add_func("/udp/inbound/expiry", test_inbound_expiry);
	g_test_add_func("/udp/inbound/limits", test_inbound_limits);
	return g_test_run();
}
