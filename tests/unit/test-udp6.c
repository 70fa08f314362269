/* test-udp6.c - NAT over IPv6: UDP round trips through the host's ::1 via
 * gateway6, ICMPv6 errors relayed from the socket error queue, the
 * no-map-host-loopback switch, limits and expiry, the flow listing, DNS
 * over IPv6 (dns6 port 53, AAAA), and ICMPv6 echo NAT through ping sockets
 * and a raw socket.
 *
 * As root, the whole test runs in a network namespace of its own (unshare)
 * whose loopback carries ::1 and 2001:db8::1 (documentation prefix, RFC
 * 3849), the address pinged: nothing leaves the machine, and
 * net.ipv4.ping_group_range (which governs ICMPv6 ping sockets too) is the
 * namespace's own.  Otherwise the UDP and DNS tests run on the host's
 * loopback and the echo tests are skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "frames.h"
#include "frames6.h"
#include "stack.h"

#define GUEST6		"fd00::5054:ff:fe12:3456"
#define GUEST6_2	"fd00::5054:ff:fe12:3457"
#define PING_ADDR	"2001:db8::1"

static const uint8_t guest2_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static bool have_netns, have_v6;

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

/* A UDP socket on [::1], port (host order) in *port */
static int udp6_server(uint16_t *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*port = ntohs(sa.sin6_port);
	return fd;
}

/* Echo one datagram back; returns its length, the sender in @from */
static ssize_t echo_once(int fd, struct sockaddr_in6 *from)
{
	char buf[2048];
	socklen_t fl = sizeof(*from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)from,
			     &fl);

	g_assert_cmpint(n, >=, 0);
	g_assert_cmpint(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)from,
			       fl), ==, n);
	return n;
}

static void guest_send6(struct usernat *un, const uint8_t *mac,
			const char *saddr, uint16_t sport, const char *daddr,
			uint16_t dport, const void *data, size_t len)
{
	uint8_t frame[2100];
	size_t n = build_udp6(frame, gw_mac, mac, saddr, sport, daddr, dport,
			      data, len);

	usernat_input(un, frame, n);
}

static void check_addr6(const uint8_t *a, const char *s)
{
	uint8_t b[16];

	ip6a(s, b);
	g_assert_cmpmem(a, 16, b, 16);
}

/* Check a UDP frame toward a guest; returns its payload and length */
static const uint8_t *check_udp6(GByteArray *f, const uint8_t *mac,
				 const char *saddr, uint16_t sport,
				 const char *daddr, uint16_t dport,
				 size_t *len)
{
	const uint8_t *u;
	size_t l4;

	g_assert_cmpmem(f->data, 6, mac, 6);
	u = out6_l4(f, 17, &l4);
	check_addr6(f->data + 14 + 8, saddr);
	check_addr6(f->data + 14 + 24, daddr);
	g_assert_cmpuint((unsigned)(u[0] << 8 | u[1]), ==, sport);
	g_assert_cmpuint((unsigned)(u[2] << 8 | u[3]), ==, dport);
	g_assert_cmpuint((size_t)(u[4] << 8 | u[5]), ==, l4);
	*len = l4 - 8;
	return u + 8;
}

static void flow_collect(void *opaque, const struct usernat_flow *f)
{
	g_array_append_val((GArray *)opaque, *f);
}

/* Guest -> [fd00::2]:P reaches [::1]:P; the reply comes from fd00::2:P;
 * the flow is listed with both sides as IPv6 */
static void test_round_trip(void)
{
	struct capture cap;
	struct usernat *un;
	uint16_t port;
	struct sockaddr_in6 from;
	GArray *fl;
	const struct usernat_flow *f;
	const uint8_t *p;
	char want[80];
	size_t len;
	int srv, i;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	un = test6_instance(&cap, NULL);
	srv = udp6_server(&port);
	for (i = 0; i < 3; i++) {
		capture_clear(&cap);
		guest_send6(un, guest_mac, GUEST6, 40000, "fd00::2", port,
			    "hello6", 6);
		g_assert_cmpint(echo_once(srv, &from), ==, 6);
		g_assert_true(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
		pump(un, &cap, 1, 2000);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		p = check_udp6(capture_nth(&cap, 0), guest_mac, "fd00::2", port,
			       GUEST6, 40000, &len);
		g_assert_cmpmem(p, len, "hello6", 6);
	}
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_out"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "udp_in"), ==, 3);
	g_assert_cmpuint(un->flows, ==, 1);

	fl = g_array_new(FALSE, FALSE, sizeof(struct usernat_flow));
	usernat_flows_foreach(un, flow_collect, fl);
	g_assert_cmpuint(fl->len, ==, 1);
	f = &g_array_index(fl, struct usernat_flow, 0);
	g_assert_cmpstr(f->proto, ==, "udp");
	g_assert_cmphex(f->guest_addr, ==, 0);
	g_assert_cmpstr(f->guest, ==, "[" GUEST6 "]:40000");
	snprintf(want, sizeof(want), "[::1]:%u", port);
	g_assert_cmpstr(f->host, ==, want);
	g_assert_cmpuint(f->bytes_from_guest, ==, 18);
	g_assert_cmpuint(f->bytes_to_guest, ==, 18);
	g_array_unref(fl);
	close(srv);
	test6_done(un, &cap);
}

/* A closed port on ::1: the kernel's ICMPv6 port unreachable, read from
 * the socket's error queue, reaches the guest quoting its flow */
static void test_port_unreachable(void)
{
	struct capture cap;
	struct usernat *un;
	uint16_t port;
	const uint8_t *m, *q;
	size_t len;
	guint i;
	int fd;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	un = test6_instance(&cap, NULL);
	fd = udp6_server(&port);
	close(fd);		/* now nobody listens there */
	guest_send6(un, guest_mac, GUEST6, 40001, "fd00::2", port, "x", 1);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);		/* destination unreachable */
	g_assert_cmpuint(m[1], ==, 4);		/* port unreachable */
	check_addr6(capture_nth(&cap, 0)->data + 14 + 8, "fd00::2");
	check_addr6(capture_nth(&cap, 0)->data + 14 + 24, GUEST6);
	g_assert_cmpuint(len, ==, 8 + 40 + 8);
	q = m + 8;				/* the quoted flow */
	g_assert_cmpuint(q[0] >> 4, ==, 6);
	g_assert_cmpuint(q[6], ==, 17);
	check_addr6(q + 8, GUEST6);
	check_addr6(q + 24, "fd00::2");
	g_assert_cmpuint((unsigned)(q[40] << 8 | q[41]), ==, 40001);
	g_assert_cmpuint((unsigned)(q[42] << 8 | q[43]), ==, port);
	g_assert_cmpuint(usernat_stat(un, "udp_icmp_relayed"), ==, 1);
	/* and again: the error is relayed once per datagram */
	for (i = 0; i < 2; i++) {
		capture_clear(&cap);
		guest_send6(un, guest_mac, GUEST6, 40001, "fd00::2", port, "y",
			    1);
		pump(un, &cap, 1, 2000);
		g_assert_cmpuint(cap.frames->len, ==, 1);
	}
	test6_done(un, &cap);
}

/* no-map-host-loopback: gateway6 has no services; dns6 and our link-local
 * address none but DNS */
static void test_no_map(void)
{
	const char *const opts[] = { "no-map-host-loopback", NULL, NULL };
	const char *dsts[] = { "fd00::2", "fd00::3", GW_LL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	const uint8_t *m;
	size_t len, i;

	for (i = 0; i < G_N_ELEMENTS(dsts); i++) {
		capture_clear(&cap);
		guest_send6(un, guest_mac, i == 2 ? GUEST_LL : GUEST6, 40002,
			    dsts[i], 7, "x", 1);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		m = out6_l4(capture_nth(&cap, 0), 58, &len);
		g_assert_cmpuint(m[0], ==, 1);
		g_assert_cmpuint(m[1], ==, 4);
		check_addr6(capture_nth(&cap, 0)->data + 14 + 8, dsts[i]);
	}
	g_assert_cmpuint(usernat_stat(un, "drop_udp_port"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	test6_done(un, &cap);
}

/* Flows are charged to the guest's MAC, whatever its addresses; over the
 * cap: administratively prohibited; idle flows expire and are released */
static void test_limit_expiry(void)
{
	const char *const opts[] = { "max-flows-per-guest", "2",
				     "udp-timeout", "1", "log-level", "error",
				     NULL };
	struct capture cap;
	struct usernat *un;
	uint16_t port;
	const uint8_t *m;
	size_t len;
	int srv;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	un = test6_instance(&cap, opts);
	srv = udp6_server(&port);
	guest_send6(un, guest_mac, GUEST6, 41000, "fd00::2", port, "a", 1);
	guest_send6(un, guest_mac, "fd00::99", 41000, "fd00::2", port, "b", 1);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(un->flows, ==, 2);
	/* a third address of the same MAC: over the cap */
	guest_send6(un, guest_mac, "fd00::98", 41000, "fd00::2", port, "c", 1);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 1);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 1);
	/* another guest has its own count */
	guest_send6(un, guest2_mac, GUEST6_2, 41000, "fd00::2", port, "d", 1);
	g_assert_cmpuint(un->flows, ==, 3);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	/* all idle: gone after the timeout (1 s, ticks every second) */
	capture_clear(&cap);
	pump(un, &cap, 100, 2600);
	g_assert_cmpuint(usernat_stat(un, "udp_flows_expired"), ==, 3);
	g_assert_cmpuint(un->flows, ==, 0);
	g_assert_cmpuint(g_hash_table_size(un->guests6), ==, 0);
	close(srv);
	test6_done(un, &cap);
}

/* A fake upstream DNS server, on 127.0.0.1 or [::1]; its "ADDR:PORT" */
static int fake_upstream(bool v6, char addr[64])
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr *sa = v6 ? (struct sockaddr *)&s6 :
				   (struct sockaddr *)&s4;
	socklen_t sl = v6 ? sizeof(s6) : sizeof(s4);
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, sa, sl), ==, 0);
	g_assert_cmpint(getsockname(fd, sa, &sl), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (v6)
		snprintf(addr, 64, "[::1]:%u", ntohs(s6.sin6_port));
	else
		snprintf(addr, 64, "127.0.0.1:%u", ntohs(s4.sin_port));
	return fd;
}

/* An AAAA query for "host.example" with @id; returns its length */
static size_t aaaa_query(uint8_t *q, uint16_t id)
{
	static const uint8_t body[] = { 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		4, 'h', 'o', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 28, 0, 1 };

	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	memcpy(q + 2, body, sizeof(body));
	return 2 + sizeof(body);
}

/* Queries to dns6:53 are forwarded (to an IPv4 or an IPv6 upstream) and
 * the answer comes back from dns6:53 with the guest's ID */
static void dns6(bool v6_upstream)
{
	char up[64];
	const char *opts[] = { "dns-upstream", up, NULL };
	struct capture cap;
	struct usernat *un;
	uint8_t q[64], r[128];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	const uint8_t *p;
	size_t qlen, len;
	ssize_t n;
	int fd;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	fd = fake_upstream(v6_upstream, up);
	un = test6_instance(&cap, opts);
	qlen = aaaa_query(q, 0x1234);
	guest_send6(un, guest_mac, GUEST6, 5353, "fd00::3", 53, q, qlen);
	n = recvfrom(fd, r, sizeof(r), 0, (struct sockaddr *)&from, &fl);
	g_assert_cmpint(n, ==, (ssize_t)qlen);
	g_assert_cmpmem(r + 2, qlen - 2, q + 2, qlen - 2);	/* but the ID */
	/* the answer: one AAAA record, 2001:db8::42 */
	r[2] = 0x81;
	r[3] = 0x80;
	r[7] = 1;
	memcpy(r + n, "\xc0\x0c\x00\x1c\x00\x01\x00\x00\x00\x3c\x00\x10"
	       "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x42", 28);
	g_assert_cmpint(sendto(fd, r, (size_t)n + 28, 0,
			       (struct sockaddr *)&from, fl), ==, n + 28);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	p = check_udp6(capture_nth(&cap, 0), guest_mac, "fd00::3", 53, GUEST6,
		       5353, &len);
	g_assert_cmpuint(len, ==, (size_t)n + 28);
	g_assert_cmpuint(p[0], ==, 0x12);
	g_assert_cmpuint(p[1], ==, 0x34);
	g_assert_cmpmem(p + 2, len - 2, r + 2, len - 2);
	g_assert_cmpuint(usernat_stat(un, "dns_queries"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "dns_replies"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	close(fd);
	test6_done(un, &cap);
}

static void test_dns_v4_upstream(void)
{
	dns6(false);
}

static void test_dns_v6_upstream(void)
{
	dns6(true);
}

/* Under --restrict (no allow rule), a query to dns6 gets REFUSED at once */
static void test_dns_refused(void)
{
	const char *const opts[] = { "restrict", NULL, "dns-upstream",
				     "127.0.0.1:9", NULL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	uint8_t q[64];
	const uint8_t *p;
	size_t qlen = aaaa_query(q, 0x4321), len;

	guest_send6(un, guest_mac, GUEST6, 5353, "fd00::3", 53, q, qlen);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	p = check_udp6(capture_nth(&cap, 0), guest_mac, "fd00::3", 53, GUEST6,
		       5353, &len);
	g_assert_cmpuint(len, ==, qlen);
	g_assert_cmpuint(p[3] & 0xf, ==, 5);	/* RCODE REFUSED */
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	test6_done(un, &cap);
}

/*
 * ICMPv6 echo NAT, in our namespace: 2001:db8::1 on its lo answers
 */

static int set_ping_range(const char *range)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(range, f) < 0;
	return fclose(f) || ret ? -1 : 0;
}

static void guest_ping6(struct usernat *un, const uint8_t *mac,
			const char *saddr, const char *daddr, uint16_t id,
			uint16_t seq, uint8_t fill, size_t payload)
{
	uint8_t msg[1500] = { 128, 0 }, frame[1600];
	size_t n;

	msg[4] = (uint8_t)(id >> 8);
	msg[5] = (uint8_t)id;
	msg[6] = (uint8_t)(seq >> 8);
	msg[7] = (uint8_t)seq;
	memset(msg + 8, fill, payload);
	n = build_icmp6(frame, gw_mac, mac, saddr, daddr, 64, msg,
			8 + payload);
	usernat_input(un, frame, n);
}

static void check_reply6(GByteArray *f, const uint8_t *mac, const char *dst,
			 uint16_t id, uint16_t seq, uint8_t fill,
			 size_t payload)
{
	const uint8_t *m;
	size_t len, i;

	g_assert_cmpmem(f->data, 6, mac, 6);
	m = out6_l4(f, 58, &len);	/* checks the pseudo-header checksum */
	check_addr6(f->data + 14 + 8, PING_ADDR);
	check_addr6(f->data + 14 + 24, dst);
	g_assert_cmpuint(len, ==, 8 + payload);
	g_assert_cmpuint(m[0], ==, 129);
	g_assert_cmpuint(m[1], ==, 0);
	g_assert_cmpuint((unsigned)(m[4] << 8 | m[5]), ==, id);
	g_assert_cmpuint((unsigned)(m[6] << 8 | m[7]), ==, seq);
	for (i = 0; i < payload; i++)
		g_assert_cmpuint(m[8 + i], ==, fill);
}

static struct usernat *echo_instance(struct capture *cap, const char *range)
{
	if (!have_netns)
		return NULL;
	g_assert_cmpint(set_ping_range(range), ==, 0);
	return test6_instance(cap, NULL);
}

/* Two guests, the same identifier, three pings each: each gets its own
 * replies, with its identifier; one flow each, listed */
static void echo(const char *range)
{
	struct capture cap;
	struct usernat *un = echo_instance(&cap, range);
	GArray *fl;
	guint i;
	int seq;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	for (seq = 1; seq <= 3; seq++) {
		bool seen1 = false, seen2 = false;

		capture_clear(&cap);
		guest_ping6(un, guest_mac, GUEST6, PING_ADDR, 0x4242,
			    (uint16_t)seq, 0xaa, 56);
		guest_ping6(un, guest2_mac, GUEST6_2, PING_ADDR, 0x4242,
			    (uint16_t)seq, 0xbb, 24);
		pump(un, &cap, 2, 2000);
		pump(un, &cap, 3, 100);		/* and no more */
		g_assert_cmpuint(cap.frames->len, ==, 2);
		for (i = 0; i < 2; i++) {
			GByteArray *f = capture_nth(&cap, i);

			if (!memcmp(f->data, guest_mac, 6)) {
				check_reply6(f, guest_mac, GUEST6, 0x4242,
					     (uint16_t)seq, 0xaa, 56);
				seen1 = true;
			} else {
				check_reply6(f, guest2_mac, GUEST6_2, 0x4242,
					     (uint16_t)seq, 0xbb, 24);
				seen2 = true;
			}
		}
		g_assert_true(seen1 && seen2);
	}
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_out"), ==, 6);
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_in"), ==, 6);
	g_assert_cmpuint(un->flows, ==, 2);
	fl = g_array_new(FALSE, FALSE, sizeof(struct usernat_flow));
	usernat_flows_foreach(un, flow_collect, fl);
	g_assert_cmpuint(fl->len, ==, 2);
	g_assert_cmpstr(g_array_index(fl, struct usernat_flow, 0).proto, ==,
			"icmp");
	g_assert_true(g_str_has_prefix(
		g_array_index(fl, struct usernat_flow, 0).host,
		"[" PING_ADDR "]:"));
	g_array_unref(fl);
	test6_done(un, &cap);
}

static void test_echo_ping(void)
{
	echo("0 2147483647");
}

static void test_echo_raw(void)
{
	echo("1 0");
}

/* Pinging an address nobody has: the host's ICMPv6 unreachable (no route
 * in our namespace) reaches the guest */
static void test_echo_unreachable(void)
{
	struct capture cap;
	struct usernat *un = echo_instance(&cap, "0 2147483647");
	const uint8_t *m;
	size_t len;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	guest_ping6(un, guest_mac, GUEST6, "2001:db8:1::1", 7, 1, 0, 8);
	pump(un, &cap, 1, 1000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 0);		/* no route */
	test6_done(un, &cap);
}

/* One ping of @mac/@src with @id: its reply, or (@refused) destination
 * unreachable, administratively prohibited, as the only frame */
static void ping6_expect(struct usernat *un, struct capture *cap,
			 const uint8_t *mac, const char *src, uint16_t id,
			 uint16_t seq, bool refused)
{
	const uint8_t *m;
	size_t len;

	capture_clear(cap);
	guest_ping6(un, mac, src, PING_ADDR, id, seq, 0x77, 16);
	pump(un, cap, 1, 2000);
	pump(un, cap, 2, 50);			/* and no more */
	g_assert_cmpuint(cap->frames->len, ==, 1);
	if (!refused) {
		check_reply6(capture_nth(cap, 0), mac, src, id, seq, 0x77, 16);
		return;
	}
	g_assert_cmpmem(capture_nth(cap, 0)->data, 6, mac, 6);
	m = out6_l4(capture_nth(cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 1);
}

/* The ICMP id caps hold for ICMPv6 (one table, echo.c): a guest's fresh
 * identifiers past max-icmp-ids-per-guest are refused and counted, its
 * flows go on, another guest is not starved; then max-icmp-ids */
static void test_echo_id_limit(void)
{
	const char *const opts[] = { "max-icmp-ids-per-guest", "2",
				     "max-icmp-ids", "3", "log-level", "error",
				     NULL };
	struct capture cap;
	struct usernat *un;

	if (!have_netns) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	g_assert_cmpint(set_ping_range("0 2147483647"), ==, 0);
	un = test6_instance(&cap, opts);
	ping6_expect(un, &cap, guest_mac, GUEST6, 1, 1, false);
	ping6_expect(un, &cap, guest_mac, GUEST6, 2, 1, false);
	ping6_expect(un, &cap, guest_mac, GUEST6, 3, 1, true);
	g_assert_cmpuint(usernat_stat(un, "icmp_id_limit"), ==, 1);
	ping6_expect(un, &cap, guest_mac, GUEST6, 1, 2, false);
	ping6_expect(un, &cap, guest2_mac, GUEST6_2, 3, 1, false);
	/* three flows: the instance's cap, for the other guest too */
	ping6_expect(un, &cap, guest2_mac, GUEST6_2, 4, 1, true);
	g_assert_cmpuint(usernat_stat(un, "icmp_id_limit"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 3);
	ping6_expect(un, &cap, guest2_mac, GUEST6_2, 3, 2, false);
	g_assert_cmpuint(un->flows, ==, 3);
	test6_done(un, &cap);
}

/* Our namespace: lo up, with ::1 and PING_ADDR */
static bool setup_netns(void)
{
	struct ifreq ifr = { 0 };
	struct {
		struct in6_addr addr;
		uint32_t prefixlen;
		int ifindex;
	} ifr6 = { .prefixlen = 128 };
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNET))
		return false;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	strcpy(ifr.ifr_name, "lo");
	g_assert_cmpint(ioctl(fd, SIOCGIFFLAGS, &ifr), ==, 0);
	ifr.ifr_flags |= IFF_UP;
	g_assert_cmpint(ioctl(fd, SIOCSIFFLAGS, &ifr), ==, 0);
	g_assert_cmpint(ioctl(fd, SIOCGIFINDEX, &ifr), ==, 0);
	ifr6.ifindex = ifr.ifr_ifindex;
	ip6a(PING_ADDR, ifr6.addr.s6_addr);
	g_assert_cmpint(ioctl(fd, SIOCSIFADDR, &ifr6), ==, 0);
	close(fd);
	return true;
}

/* Can we bind [::1] here? (IPv6 may be disabled on the host) */
static bool v6_loopback(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	if (fd >= 0)
		close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	have_netns = setup_netns();
	have_v6 = v6_loopback();
	g_test_add_func("/udp6/round-trip", test_round_trip);
	g_test_add_func("/udp6/port-unreachable", test_port_unreachable);
	g_test_add_func("/udp6/no-map-host-loopback", test_no_map);
	g_test_add_func("/udp6/limit-expiry", test_limit_expiry);
	g_test_add_func("/udp6/dns/ipv4-upstream", test_dns_v4_upstream);
	g_test_add_func("/udp6/dns/ipv6-upstream", test_dns_v6_upstream);
	g_test_add_func("/udp6/dns/refused", test_dns_refused);
	g_test_add_func("/icmp6/ping-socket/echo", test_echo_ping);
	g_test_add_func("/icmp6/raw/echo", test_echo_raw);
	g_test_add_func("/icmp6/unreachable", test_echo_unreachable);
	g_test_add_func("/icmp6/id-limit", test_echo_id_limit);
	return g_test_run();
}
