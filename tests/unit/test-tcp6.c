/* test-tcp6.c - TCP NAT over IPv6: a handshake to [fd00::2]:P reaching a
 * listener on the host's [::1]:P (SYN-ACK with MSS = MTU - 60 and window
 * scale, data both ways, FIN both ways, the flow listing), an RST for a
 * closed port, and an RST for a connection the egress policy denies.
 *
 * Everything stays on the host's loopback; the tests are skipped where
 * [::1] can't be bound (IPv6 disabled).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "frames.h"
#include "frames6.h"
#include "stack.h"
#include "wire/tcp.h"

#define GUEST6		"fd00::5054:ff:fe12:3456"
#define GW6		"fd00::2"
#define GPORT		40000

static bool have_v6;

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

/* A TCP listener on [::1], port (host order) in *port */
static int tcp6_listener(uint16_t *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	*port = ntohs(sa.sin6_port);
	return fd;
}

/* Send a TCP segment from the guest (GUEST6:GPORT) to [GW6]:@dport */
static void guest_tcp6(struct usernat *un, uint16_t dport, uint32_t seq,
		       uint32_t ack, uint8_t flags, const void *opts,
		       size_t optlen, const void *data, size_t len)
{
	uint8_t seg[1600], frame[1700], s[16], d[16];
	struct tcp_hdr *th = (struct tcp_hdr *)seg;
	size_t hlen = TCP_HLEN + optlen, n;

	memset(seg, 0, hlen);
	th->source = htons(GPORT);
	th->dest = htons(dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = (uint8_t)(hlen / 4 << 4);
	th->flags = flags;
	th->window = htons(65535);
	if (optlen)	/* memcpy from NULL is undefined, even for 0 bytes */
		memcpy(seg + TCP_HLEN, opts, optlen);
	if (len)
		memcpy(seg + hlen, data, len);
	ip6a(GUEST6, s);
	ip6a(GW6, d);
	th->check = csum(seg, hlen + len,
			 csum_pseudo6(s, d, 6, (uint32_t)(hlen + len)));
	n = build_ip6(frame, gw_mac, guest_mac, GUEST6, GW6, 6, 64, seg,
		      hlen + len);
	usernat_input(un, frame, n);
}

/* Check that @f is TCP from [GW6]:@sport to the guest; returns its
 * header, its payload in @data, @dlen */
static const struct tcp_hdr *check_tcp6(GByteArray *f, uint16_t sport,
					const uint8_t **data, size_t *dlen)
{
	const struct tcp_hdr *th;
	uint8_t a[16];
	size_t len, hlen;

	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	th = (const struct tcp_hdr *)out6_l4(f, 6, &len);	/* checksum */
	ip6a(GW6, a);
	g_assert_cmpmem(f->data + 14 + 8, 16, a, 16);
	ip6a(GUEST6, a);
	g_assert_cmpmem(f->data + 14 + 24, 16, a, 16);
	g_assert_cmpuint(ntohs(th->source), ==, sport);
	g_assert_cmpuint(ntohs(th->dest), ==, GPORT);
	hlen = TCP_DOFF_LEN(th->doff);
	g_assert_cmpuint(hlen, <=, len);
	if (data) {
		*data = (const uint8_t *)th + hlen;
		*dlen = len - hlen;
	}
	return th;
}

/* The value of TCP option @kind in @th, or NULL */
static const uint8_t *tcp_opt(const struct tcp_hdr *th, uint8_t kind)
{
	const uint8_t *o = (const uint8_t *)th + TCP_HLEN;
	size_t len = TCP_DOFF_LEN(th->doff) - TCP_HLEN, i = 0;

	while (i < len && o[i] != TCPOPT_EOL) {
		if (o[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		g_assert_cmpuint(i + 1, <, len);
		if (o[i] == kind)
			return o + i + 2;
		i += o[i + 1];
	}
	return NULL;
}

static void flow_collect(void *opaque, const struct usernat_flow *f)
{
	g_array_append_val((GArray *)opaque, *f);
}

/* Guest -> [fd00::2]:P reaches [::1]:P: SYN-ACK with MSS 1440 (MTU 1500
 * - 60) and window scale, data both ways, the flow listed as IPv6, FIN
 * both ways, the entry freed */
static void test_handshake(void)
{
	static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xa0, 1, 3, 3, 7,
					    1, 1, 4, 2 };
	struct capture cap;
	struct usernat *un;
	const struct tcp_hdr *th;
	const struct usernat_flow *f;
	const uint8_t *o, *data;
	uint32_t iss = 1000, our;
	uint16_t port;
	char buf[64], want[80];
	size_t dlen;
	GArray *fl;
	int lfd, sfd;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	un = test6_instance(&cap, NULL);
	lfd = tcp6_listener(&port);
	guest_tcp6(un, port, iss, 0, TCP_SYN, syn_opts, sizeof(syn_opts),
		   NULL, 0);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	th = check_tcp6(capture_nth(&cap, 0), port, NULL, NULL);
	g_assert_cmpuint(th->flags, ==, TCP_SYN | TCP_ACK);
	g_assert_cmpuint(ntohl(th->ack_seq), ==, iss + 1);
	g_assert_nonnull(o = tcp_opt(th, TCPOPT_MSS));
	g_assert_cmpuint((unsigned)(o[0] << 8 | o[1]), ==, 1500 - 60);
	g_assert_nonnull(o = tcp_opt(th, TCPOPT_WSCALE));
	g_assert_nonnull(tcp_opt(th, TCPOPT_SACK_OK));
	our = ntohl(th->seq) + 1;
	sfd = accept(lfd, NULL, NULL);
	g_assert_cmpint(sfd, >=, 0);
	capture_clear(&cap);

	/* ACK, then data from the guest */
	guest_tcp6(un, port, iss + 1, our, TCP_ACK, NULL, 0, NULL, 0);
	guest_tcp6(un, port, iss + 1, our, TCP_ACK | TCP_PSH, NULL, 0,
		   "hello6", 6);
	g_assert_cmpint(recv(sfd, buf, sizeof(buf), 0), ==, 6);
	g_assert_cmpmem(buf, 6, "hello6", 6);
	g_assert_cmpuint(usernat_stat(un, "tcp_established"), ==, 1);

	/* data from the host; the guest's data is ACKed on the way */
	g_assert_cmpint(send(sfd, "world6", 6, 0), ==, 6);
	dlen = 0;
	while (!dlen) {
		capture_clear(&cap);
		pump(un, &cap, 1, 2000);
		g_assert_cmpuint(cap.frames->len, >=, 1);
		th = check_tcp6(capture_nth(&cap, cap.frames->len - 1), port,
				&data, &dlen);
	}
	g_assert_cmpuint(ntohl(th->seq), ==, our);
	g_assert_cmpuint(ntohl(th->ack_seq), ==, iss + 7);
	g_assert_cmpmem(data, dlen, "world6", 6);
	guest_tcp6(un, port, iss + 7, our + 6, TCP_ACK, NULL, 0, NULL, 0);

	/* listed with the guest as "[addr]:port", the host as [::1] */
	fl = g_array_new(FALSE, TRUE, sizeof(struct usernat_flow));
	usernat_flows_foreach(un, flow_collect, fl);
	g_assert_cmpuint(fl->len, ==, 1);
	f = &g_array_index(fl, struct usernat_flow, 0);
	g_assert_cmpstr(f->proto, ==, "tcp");
	g_assert_cmpuint(f->guest_addr, ==, 0);
	snprintf(want, sizeof(want), "[%s]:%u", GUEST6, GPORT);
	g_assert_cmpstr(f->guest, ==, want);
	snprintf(want, sizeof(want), "[::1]:%u", port);
	g_assert_cmpstr(f->host, ==, want);
	g_assert_cmpuint(f->bytes_from_guest, ==, 6);
	g_array_free(fl, TRUE);

	/* guest FIN: the host reads EOF; host close: our FIN */
	guest_tcp6(un, port, iss + 7, our + 6, TCP_ACK | TCP_FIN, NULL, 0,
		   NULL, 0);
	g_assert_cmpint(recv(sfd, buf, sizeof(buf), 0), ==, 0);
	close(sfd);
	capture_clear(&cap);
	for (int i = 0; i < 50; i++) {
		pump(un, &cap, 1, 100);
		if (cap.frames->len && (check_tcp6(capture_nth(&cap,
				cap.frames->len - 1), port, NULL, NULL)->flags &
				TCP_FIN))
			break;
	}
	th = check_tcp6(capture_nth(&cap, cap.frames->len - 1), port, NULL,
			NULL);
	g_assert_cmpuint(th->flags & TCP_FIN, ==, TCP_FIN);
	g_assert_cmpuint(ntohl(th->seq), ==, our + 6);
	g_assert_cmpuint(ntohl(th->ack_seq), ==, iss + 8);
	guest_tcp6(un, port, iss + 8, our + 7, TCP_ACK, NULL, 0, NULL, 0);
	g_assert_cmpuint(usernat_stat(un, "tcp_active"), ==, 0);
	g_assert_cmpuint(usernat_stat(un, "tcp_closed"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "drop_tcp_csum"), ==, 0);
	close(lfd);
	test6_done(un, &cap);
}

static GArray *offs6;	/* offload information of each captured frame */

static void capture_off6(void *opaque, const void *frame, size_t len,
			 const struct usernat_offload *off)
{
	g_array_append_val(offs6, *off);
	capture_fn(opaque, frame, len);
}

/* With TSO6 on the link, host data reaches the guest in GSO frames of more
 * than an MSS: gso_size 1440, headers 74 bytes, a partial checksum that
 * completes to the right one */
static void test_tso6(void)
{
	static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xa0, 1, 3, 3, 7,
					    1, 1, 4, 2 };
	static uint8_t data[30000];
	const struct usernat_offload *o;
	const struct tcp_hdr *th;
	const uint8_t *d;
	struct capture cap;
	struct usernat *un;
	uint32_t iss = 1000, our;
	unsigned int tso = 0;
	size_t dlen, got = 0, i;
	uint16_t port, c;
	int lfd, sfd;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 11 + i / 97);
	un = test6_instance(&cap, NULL);
	offs6 = g_array_new(FALSE, TRUE, sizeof(struct usernat_offload));
	usernat_set_output_offload(un, capture_off6);
	g_assert_cmpint(usernat_set_offload(un, USERNAT_LINK_CSUM |
					    USERNAT_LINK_TSO6), ==, 0);
	lfd = tcp6_listener(&port);
	guest_tcp6(un, port, iss, 0, TCP_SYN, syn_opts, sizeof(syn_opts),
		   NULL, 0);
	pump(un, &cap, 1, 2000);
	th = check_tcp6(capture_nth(&cap, 0), port, NULL, NULL);
	our = ntohl(th->seq) + 1;
	sfd = accept(lfd, NULL, NULL);
	g_assert_cmpint(sfd, >=, 0);
	guest_tcp6(un, port, iss + 1, our, TCP_ACK, NULL, 0, NULL, 0);
	g_assert_cmpint(send(sfd, data, sizeof(data), 0), ==, sizeof(data));
	for (i = 1; got < sizeof(data); i++) {
		GByteArray *f;

		pump(un, &cap, (guint)i + 1, 2000);
		g_assert_cmpuint(cap.frames->len, >, i);
		f = capture_nth(&cap, (guint)i);
		o = &g_array_index(offs6, struct usernat_offload, i);
		if (o->gso_type != USERNAT_GSO_NONE) {
			g_assert_cmpuint(o->gso_type, ==, USERNAT_GSO_TCPV6);
			g_assert_cmpuint(o->gso_size, ==, 1440);
			g_assert_cmpuint(o->hdr_len, ==, 14 + 40 + 20);
			g_assert_cmpuint(o->flags, ==,
					 USERNAT_OFFLOAD_F_NEEDS_CSUM);
			g_assert_cmpuint(o->csum_start, ==, 54);
			g_assert_cmpuint(o->csum_offset, ==, 16);
			/* complete it, as the guest's driver would */
			c = csum(f->data + 54, f->len - 54, 0);
			memcpy(f->data + 54 + 16, &c, 2);
			tso++;
		}
		th = check_tcp6(f, port, &d, &dlen);	/* checksum too */
		g_assert_cmpuint(ntohl(th->seq), ==, our + got);
		g_assert_cmpuint(got + dlen, <=, sizeof(data));
		g_assert_cmpmem(d, dlen, data + got, dlen);
		g_assert_true(dlen <= 1440 || o->gso_type != USERNAT_GSO_NONE);
		got += dlen;
		guest_tcp6(un, port, iss + 1, our + (uint32_t)got, TCP_ACK,
			   NULL, 0, NULL, 0);
	}
	g_assert_cmpuint(tso, >, 0);
	g_assert_cmpuint(usernat_stat(un, "offload_tso_out"), ==, tso);
	close(sfd);
	close(lfd);
	g_array_unref(offs6);
	test6_done(un, &cap);
}

/* A closed port of [::1]: the host refuses, the guest gets an RST that
 * acknowledges its SYN */
static void test_refused(void)
{
	struct capture cap;
	struct usernat *un;
	const struct tcp_hdr *th;
	uint16_t port;
	int lfd;

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	lfd = tcp6_listener(&port);
	close(lfd);		/* nothing listens there now */
	un = test6_instance(&cap, NULL);
	guest_tcp6(un, port, 5000, 0, TCP_SYN, NULL, 0, NULL, 0);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	th = check_tcp6(capture_nth(&cap, 0), port, NULL, NULL);
	g_assert_cmpuint(th->flags, ==, TCP_RST | TCP_ACK);
	g_assert_cmpuint(ntohl(th->ack_seq), ==, 5001);
	g_assert_cmpuint(usernat_stat(un, "tcp_refused"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "tcp_active"), ==, 0);
	test6_done(un, &cap);
}

/* Under --restrict (no allow rule) a SYN gets an RST at once, and no host
 * socket is opened */
static void test_policy_deny(void)
{
	const char *const opts[] = { "restrict", NULL, NULL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	const struct tcp_hdr *th;

	guest_tcp6(un, 8080, 7000, 0, TCP_SYN, NULL, 0, NULL, 0);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	th = check_tcp6(capture_nth(&cap, 0), 8080, NULL, NULL);
	g_assert_cmpuint(th->flags, ==, TCP_RST | TCP_ACK);
	g_assert_cmpuint(ntohl(th->ack_seq), ==, 7001);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "tcp_opened"), ==, 0);
	test6_done(un, &cap);
}

/*
 * Half-open caps over IPv6: connects in progress are counted per guest
 * (its MAC) and per instance, as IPv4's.  A listener whose accept queue
 * is full drops SYNs, so the connects to it stay in progress for the
 * length of the test.
 */

#define GUEST6_2	"fd00::5054:ff:fe12:3457"
static const uint8_t guest2_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

/* A SYN from @mac, [@saddr]:@sport to [GW6]:@dport */
static void guest_syn6(struct usernat *un, const uint8_t *mac,
		       const char *saddr, uint16_t sport, uint16_t dport)
{
	uint8_t seg[TCP_HLEN], frame[200], s[16], d[16];
	struct tcp_hdr *th = (struct tcp_hdr *)seg;
	size_t n;

	memset(seg, 0, sizeof(seg));
	th->source = htons(sport);
	th->dest = htons(dport);
	th->seq = htonl(1000);
	th->doff = (uint8_t)(TCP_HLEN / 4 << 4);
	th->flags = TCP_SYN;
	th->window = htons(65535);
	ip6a(saddr, s);
	ip6a(GW6, d);
	th->check = csum(seg, TCP_HLEN, csum_pseudo6(s, d, 6, TCP_HLEN));
	n = build_ip6(frame, gw_mac, mac, saddr, GW6, 6, 64, seg, TCP_HLEN);
	usernat_input(un, frame, n);
}

/* A listener on [::1] with its accept queue full: @fill gets the sockets
 * that filled it (to close) */
static int full_listener(uint16_t *port, int fill[4])
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET6, SOCK_STREAM, 0), i;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 0), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	*port = ntohs(sa.sin6_port);
	for (i = 0; i < 4; i++) {
		struct pollfd p = { .events = POLLOUT };

		fill[i] = p.fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK,
					0);
		g_assert_cmpint(p.fd, >=, 0);
		connect(p.fd, (struct sockaddr *)&sa, sizeof(sa));
		if (poll(&p, 1, 300) == 0)
			break;		/* this one's SYN was dropped: full */
	}
	g_assert_cmpint(i, <, 4);
	while (++i < 4)
		fill[i] = -1;
	return fd;
}

/* The RSTs among @cap's frames, with their destination ports in @ports */
static guint rsts(struct capture *cap, uint16_t *ports)
{
	guint i, n = 0;

	for (i = 0; i < cap->frames->len; i++) {
		GByteArray *f = capture_nth(cap, i);
		size_t len;
		const struct tcp_hdr *th =
			(const struct tcp_hdr *)out6_l4(f, 6, &len);

		g_assert_cmpuint(th->flags, ==, TCP_RST | TCP_ACK);
		ports[n++] = ntohs(th->dest);
	}
	return n;
}

/* Per guest (max-half-open) and per instance (max-half-open-total):
 * past either, a SYN gets an RST, counted; a guest's established
 * connection goes on; the other guest still connects until the
 * instance's cap; the counts go back to zero as the connects fail */
static void test_half_open(void)
{
	const char *const opts[] = { "max-half-open", "3",
				     "max-half-open-total", "5",
				     "log-level", "error", NULL };
	struct capture cap;
	struct usernat *un;
	uint16_t port, eport, ports[8];
	int lfd, efd, sfd, fill[4], i;
	const struct tcp_hdr *th;
	uint32_t our;
	char buf[8];

	if (!have_v6) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	un = test6_instance(&cap, opts);
	/* an established connection first */
	efd = tcp6_listener(&eport);
	guest_tcp6(un, eport, 1000, 0, TCP_SYN, NULL, 0, NULL, 0);
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	th = check_tcp6(capture_nth(&cap, 0), eport, NULL, NULL);
	g_assert_cmpuint(th->flags, ==, TCP_SYN | TCP_ACK);
	our = ntohl(th->seq) + 1;	/* the frame goes with capture_clear() */
	guest_tcp6(un, eport, 1001, our, TCP_ACK, NULL, 0, NULL, 0);
	sfd = accept(efd, NULL, NULL);
	g_assert_cmpint(sfd, >=, 0);
	g_assert_cmpuint(un->half_open, ==, 0);

	lfd = full_listener(&port, fill);
	capture_clear(&cap);
	for (i = 0; i < 5; i++)
		guest_syn6(un, guest_mac, GUEST6, (uint16_t)(41000 + i), port);
	pump(un, &cap, 3, 200);
	g_assert_cmpuint(rsts(&cap, ports), ==, 2);
	g_assert_cmpuint(ports[0], ==, 41003);
	g_assert_cmpuint(ports[1], ==, 41004);
	g_assert_cmpuint(usernat_stat(un, "tcp_limit"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 2);
	g_assert_cmpuint(un->half_open, ==, 3);

	/* the other guest is not starved: two more, to the instance's cap */
	capture_clear(&cap);
	for (i = 0; i < 3; i++)
		guest_syn6(un, guest2_mac, GUEST6_2, (uint16_t)(42000 + i),
			   port);
	pump(un, &cap, 2, 200);
	g_assert_cmpuint(rsts(&cap, ports), ==, 1);
	g_assert_cmpuint(ports[0], ==, 42002);
	g_assert_cmpuint(usernat_stat(un, "tcp_limit"), ==, 3);
	g_assert_cmpuint(un->half_open, ==, 5);

	/* the established connection still carries data */
	guest_tcp6(un, eport, 1001, our, TCP_ACK | TCP_PSH, NULL, 0, "still",
		   5);
	g_assert_cmpint(recv(sfd, buf, sizeof(buf), 0), ==, 5);
	g_assert_cmpmem(buf, 5, "still", 5);

	/* the listener goes: the connects fail, their charges are returned */
	close(lfd);
	for (i = 0; i < 4; i++)
		if (fill[i] >= 0)
			close(fill[i]);
	for (i = 0; i < 100 && un->half_open; i++)
		pump(un, &cap, 1000, 100);
	g_assert_cmpuint(un->half_open, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "tcp_active"), ==, 1);
	close(sfd);
	close(efd);
	test6_done(un, &cap);
}

/* Can we bind [::1] here? (IPv6 may be disabled on the host) */
static bool v6_loopback(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	if (fd >= 0)
		close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	have_v6 = v6_loopback();
	g_test_add_func("/tcp6/handshake-data-fin", test_handshake);
	g_test_add_func("/tcp6/tso", test_tso6);
	g_test_add_func("/tcp6/refused", test_refused);
	g_test_add_func("/tcp6/policy-deny", test_policy_deny);
	g_test_add_func("/tcp6/half-open", test_half_open);
	return g_test_run();
}
