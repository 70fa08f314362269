/* test-fwd.c - port forwards: which source address the guest sees
 * (forward-source=gateway|client, fwd_source()), and that the guest's
 * replies to a client's real address find the forwarded flow even under
 * --restrict, for UDP and TCP.
 *
 * The NAT hooks take the guest-side source address as a parameter, so the
 * flow tests hand them a documentation address (198.18.0.2) while the
 * client really sits on 127.0.0.1: nothing leaves the host's loopback.
 *
 * IPv6 guests: forwards to [fd00::15] parse and are checked, and TCP and
 * UDP from a loopback client reach the guest from gateway6 and back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "fwd.h"
#include "frames.h"
#include "frames6.h"
#include "stack.h"

#define CLIENT	"198.18.0.2"

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

/* The guest announces itself (gratuitous ARP) */
static void guest_announce(struct usernat *un)
{
	static const uint8_t zero[6];
	uint8_t frame[64];
	size_t n = build_arp(frame, 1, bcast_mac, guest_mac, "10.0.2.15", zero,
			     "10.0.2.15");

	usernat_input(un, frame, n);
}

static struct sockaddr_storage sa4(const char *a, uint16_t port)
{
	struct sockaddr_storage ss = { .ss_family = AF_INET };

	((struct sockaddr_in *)&ss)->sin_addr.s_addr = ip(a);
	((struct sockaddr_in *)&ss)->sin_port = htons(port);
	return ss;
}

static struct sockaddr_storage sa6(const char *a, uint16_t port)
{
	struct sockaddr_storage ss = { .ss_family = AF_INET6 };

	g_assert_cmpint(inet_pton(AF_INET6, a,
				  &((struct sockaddr_in6 *)&ss)->sin6_addr),
			==, 1);
	((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	return ss;
}

/* forward-source=client keeps addresses the guest answers through its
 * router; everything else, and the default setting, is the gateway */
static void test_source_rule(void)
{
	const char *const client[] = { "forward-source", "client", NULL };
	const char *const other_net[] = { "forward-source", "client", "net",
					  "192.168.50.0/24", NULL };
	static const struct {
		const char *addr;
		bool kept;
	} v4[] = {
		{ CLIENT, true },
		{ "192.0.2.77", true },
		{ "10.0.3.1", true },		/* next door, routed */
		{ "127.0.0.1", false },		/* the host's loopback */
		{ "127.5.6.7", false },
		{ "10.0.2.2", false },		/* our own addresses */
		{ "10.0.2.99", false },		/* on the guest's link */
		{ "169.254.3.4", false },	/* link-local */
		{ "0.1.2.3", false },
		{ "224.0.0.1", false },
		{ "255.255.255.255", false },
	};
	struct capture cap, cap2, cap3;
	struct usernat *un = test_instance(&cap, client);
	struct usernat *def = test_instance(&cap2, NULL);
	struct usernat *net = test_instance(&cap3, other_net);
	struct sockaddr_storage ss;
	guint i;

	for (i = 0; i < G_N_ELEMENTS(v4); i++) {
		ss = sa4(v4[i].addr, 4000);
		g_assert_cmphex(fwd_source(un, &ss), ==,
				v4[i].kept ? ip(v4[i].addr) : ip("10.0.2.2"));
		g_assert_cmphex(fwd_source(def, &ss), ==, ip("10.0.2.2"));
	}
	/* IPv6 clients: the guest side is IPv4; mapped ones are IPv4 */
	ss = sa6("::1", 4000);
	g_assert_cmphex(fwd_source(un, &ss), ==, ip("10.0.2.2"));
	ss = sa6("2001:db8::1", 4000);
	g_assert_cmphex(fwd_source(un, &ss), ==, ip("10.0.2.2"));
	ss = sa6("::ffff:" CLIENT, 4000);
	g_assert_cmphex(fwd_source(un, &ss), ==, ip(CLIENT));
	ss = sa6("::ffff:127.0.0.1", 4000);
	g_assert_cmphex(fwd_source(un, &ss), ==, ip("10.0.2.2"));
	/* "on-link" follows --net */
	ss = sa4("10.0.2.99", 4000);
	g_assert_cmphex(fwd_source(net, &ss), ==, ip("10.0.2.99"));
	ss = sa4("192.168.50.9", 4000);
	g_assert_cmphex(fwd_source(net, &ss), ==, ip("192.168.50.2"));
	usernat_free(un);
	usernat_free(def);
	usernat_free(net);
	g_ptr_array_unref(cap.frames);
	g_ptr_array_unref(cap2.frames);
	g_ptr_array_unref(cap3.frames);
}

static void test_config(void)
{
	struct usernat_config *cfg = usernat_config_new();
	const char *const *k;
	bool listed = false;
	char *err = NULL;

	for (k = usernat_config_keys(); *k; k++)
		listed |= !strcmp(*k, "forward-source");
	g_assert_true(listed);
	g_assert_false(usernat_config_key_is_flag("forward-source"));
	g_assert_false(usernat_config_key_repeats("forward-source"));
	g_assert_nonnull(strstr(usernat_config_help(),
				"forward-source=gateway|client"));
	g_assert_false(cfg->fwd_client_source);
	g_assert_cmpint(usernat_config_set(cfg, "forward-source", "client",
					   &err), ==, 0);
	g_assert_true(cfg->fwd_client_source);
	g_assert_cmpint(usernat_config_set(cfg, "forward-source", "gateway",
					   &err), ==, 0);
	g_assert_false(cfg->fwd_client_source);
	g_assert_cmpint(usernat_config_set(cfg, "forward-source", "yes", &err),
			==, -EINVAL);
	g_assert_nonnull(strstr(err, "forward-source: 'yes'"));
	free(err);
	err = NULL;
	g_assert_cmpint(usernat_config_set(cfg, "forward-source", NULL, &err),
			==, -EINVAL);
	free(err);
	usernat_config_free(cfg);
}

/* A loopback socket of @type, bound; its address in @sa */
static int lo_socket(int type, struct sockaddr_in *sa)
{
	socklen_t sl = sizeof(*sa);
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, type, 0);

	g_assert_cmpint(fd, >=, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)sa, &sl), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* A forward target: the guest 10.0.2.15:@gport, flows from @src */
static const struct fwd_target *target4(const char *src, uint16_t gport)
{
	static struct fwd_target t;
	uint32_t a;

	memset(&t, 0, sizeof(t));
	t.src[10] = t.src[11] = t.guest[10] = t.guest[11] = 0xff;
	a = ip(src);
	memcpy(t.src + 12, &a, 4);
	a = ip("10.0.2.15");
	memcpy(t.guest + 12, &a, 4);
	t.guest_port = gport;
	memcpy(t.mac, guest_mac, 6);
	return &t;
}

/* The L3/L4 addresses of captured frame @f: checks it is IPv4 @proto */
static const uint8_t *frame_l4(GByteArray *f, uint8_t proto, uint32_t *saddr,
			       uint32_t *daddr)
{
	g_assert_cmpuint(f->len, >=, 34 + 8);
	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	g_assert_cmpint(f->data[23], ==, proto);
	g_assert_cmphex(csum(f->data + 14, 20, 0), ==, 0);
	memcpy(saddr, f->data + 26, 4);
	memcpy(daddr, f->data + 30, 4);
	return f->data + 34;
}

/* UDP: the guest sees the datagram from CLIENT and the client's port, and
 * its reply there reaches the client although --restrict refuses every
 * new outbound flow; a new flow to CLIENT is still refused */
static void test_udp_client_source(void)
{
	const char *const opts[] = { "forward-source", "client", "restrict",
				     NULL, NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	struct sockaddr_in fsa, csa;
	struct sockaddr_storage peer, from;
	socklen_t fl = sizeof(from);
	uint8_t l4[64], frame[128];
	uint16_t gport = htons(7777), cport;
	uint32_t s, d;
	const uint8_t *u;
	char buf[64];
	ssize_t n;
	size_t len;
	int fwd = lo_socket(SOCK_DGRAM, &fsa);	/* stands for the forward's */
	int cli = lo_socket(SOCK_DGRAM, &csa);

	guest_announce(un);
	cport = csa.sin_port;
	memcpy(&peer, &csa, sizeof(csa));
	udp_inbound(un, fwd, &peer, sizeof(csa), target4(CLIENT, gport),
		    (const uint8_t *)"ping", 4);
	pump(un, &cap, 1, 1000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	u = frame_l4(capture_nth(&cap, 0), 17, &s, &d);
	g_assert_cmphex(s, ==, ip(CLIENT));
	g_assert_cmphex(d, ==, ip("10.0.2.15"));
	g_assert_cmphex(*(const uint16_t *)u, ==, cport);
	g_assert_cmphex(*(const uint16_t *)(u + 2), ==, gport);
	g_assert_cmpmem(u + 8, 4, "ping", 4);
	capture_clear(&cap);

	/* the reply, to CLIENT at the client's port */
	memset(l4, 0, sizeof(l4));
	memcpy(l4, &gport, 2);
	memcpy(l4 + 2, &cport, 2);
	memcpy(l4 + 8, "pong", 4);
	len = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", CLIENT, 17, l4,
			12, 1);
	usernat_input(un, frame, len);
	n = recvfrom(cli, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	g_assert_cmpint(n, ==, 4);
	g_assert_cmpmem(buf, 4, "pong", 4);
	g_assert_cmphex(((struct sockaddr_in *)&from)->sin_port, ==,
			fsa.sin_port);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_replies"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 0);

	/* another port of CLIENT is a new outbound flow: refused */
	l4[2] ^= 1;
	len = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", CLIENT, 17, l4,
			12, 1);
	usernat_input(un, frame, len);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);

	close(cli);
	close(fwd);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/*
 * tcp_seg() - A 20-byte TCP header (window 65535, checksum left zero) and
 * @data after it in @l4 (64 bytes); Return: the segment's length
 */
static size_t tcp_seg(uint8_t *l4, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags,
		      const char *data)
{
	size_t dlen = data ? strlen(data) : 0;
	uint32_t v;

	g_assert_cmpuint(dlen, <=, 64 - 20);
	memset(l4, 0, 20);
	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	v = htonl(seq);
	memcpy(l4 + 4, &v, 4);
	v = htonl(ack);
	memcpy(l4 + 8, &v, 4);
	l4[12] = 5 << 4;
	l4[13] = flags;
	l4[14] = 0xff;		/* window 65535 */
	l4[15] = 0xff;
	if (dlen)
		memcpy(l4 + 20, data, dlen);
	return 20 + dlen;
}

/* A TCP segment from the guest at 10.0.2.15:@sport to CLIENT:@dport */
static void guest_tcp(struct usernat *un, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags,
		      const char *data)
{
	uint8_t l4[64], frame[128];
	size_t len = tcp_seg(l4, sport, dport, seq, ack, flags, data), n;
	uint16_t c;

	c = csum(l4, len, csum_pseudo4(ip("10.0.2.15"), ip(CLIENT), 6,
				       (uint16_t)len));
	memcpy(l4 + 16, &c, 2);
	n = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", CLIENT, 6, l4,
		      len, 0);
	usernat_input(un, frame, n);
}

/* TCP: the guest gets a SYN from CLIENT at the client's port; its SYN-ACK
 * and data, addressed there, reach the client under --restrict */
static void test_tcp_client_source(void)
{
	const char *const opts[] = { "forward-source", "client", "restrict",
				     NULL, NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	struct sockaddr_in lsa, csa;
	struct sockaddr_storage peer;
	socklen_t sl = sizeof(peer);
	uint16_t gport = htons(8080), cport;
	uint32_t s, d, iss;
	const uint8_t *t;
	char buf[16];
	int lst = lo_socket(SOCK_STREAM, &lsa);
	int cli = socket(AF_INET, SOCK_STREAM, 0), acc;
	struct timeval tv = { .tv_sec = 2 };

	guest_announce(un);
	g_assert_cmpint(listen(lst, 1), ==, 0);
	g_assert_cmpint(connect(cli, (struct sockaddr *)&lsa, sizeof(lsa)), ==,
			0);
	setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	acc = accept4(lst, (struct sockaddr *)&peer, &sl, SOCK_NONBLOCK);
	g_assert_cmpint(acc, >=, 0);
	sl = sizeof(csa);
	g_assert_cmpint(getsockname(cli, (struct sockaddr *)&csa, &sl), ==, 0);
	cport = csa.sin_port;
	g_assert_cmpint(tcp_inbound(un, acc, &peer, target4(CLIENT, gport)),
			==, 0);
	pump(un, &cap, 1, 1000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	t = frame_l4(capture_nth(&cap, 0), 6, &s, &d);
	g_assert_cmphex(s, ==, ip(CLIENT));
	g_assert_cmphex(d, ==, ip("10.0.2.15"));
	g_assert_cmphex(*(const uint16_t *)t, ==, cport);
	g_assert_cmphex(*(const uint16_t *)(t + 2), ==, gport);
	g_assert_cmphex(t[13], ==, 0x02);	/* SYN */
	memcpy(&iss, t + 4, 4);
	iss = ntohl(iss);
	capture_clear(&cap);

	guest_tcp(un, gport, cport, 1000, iss + 1, 0x12, NULL);	/* SYN|ACK */
	guest_tcp(un, gport, cport, 1001, iss + 1, 0x18, "hello"); /* PSH|ACK */
	g_assert_cmpint(recv(cli, buf, sizeof(buf), 0), ==, 5);
	g_assert_cmpmem(buf, 5, "hello", 5);
	g_assert_cmpuint(usernat_stat(un, "tcp_established"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 0);
	g_assert_cmpuint(usernat_stat(un, "tcp_rst_no_flow"), ==, 0);

	/* and the client's bytes reach the guest, from CLIENT */
	g_assert_cmpint(send(cli, "world", 5, 0), ==, 5);
	pump(un, &cap, 2, 1000);
	{
		guint i;
		bool seen = false;

		for (i = 0; i < cap.frames->len; i++) {
			GByteArray *f = capture_nth(&cap, i);

			t = frame_l4(f, 6, &s, &d);
			g_assert_cmphex(s, ==, ip(CLIENT));
			if (f->len >= 34 + 20 + 5 &&
			    !memcmp(f->data + 34 + (t[12] >> 4) * 4, "world",
				    5))
				seen = true;
		}
		g_assert_true(seen);
	}
	close(cli);
	close(lst);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/*
 * Forwards to IPv6 guests
 */

#define GUEST6	"fd00::15"

/* The guest's address fd00::15 becomes known (an MLD report from it) */
static void guest6_announce(struct usernat *un)
{
	uint8_t buf[200], mac[6], msg[8] = { 143 };
	size_t n;

	mcast_mac6("ff02::16", mac);
	n = build_icmp6(buf, mac, guest_mac, GUEST6, "ff02::16", 1, msg,
			sizeof(msg));
	usernat_input(un, buf, n);
}

static void test_parse6(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	const char *const no6[] = { "no-ipv6", NULL, NULL };
	struct capture cap2;
	struct usernat *un4 = test_instance(&cap2, no6);
	struct fwd_spec f;
	uint8_t want[16];
	char *err = NULL;

	g_assert_cmpint(fwd_parse("tcp:127.0.0.1:2222-[fd00::15]:22", &f,
				  &err), ==, 0);
	ip6a(GUEST6, want);
	g_assert_true(f.guest_v6);
	g_assert_cmpmem(f.guest_ip6, 16, want, 16);
	g_assert_cmpuint(f.guest_port, ==, 22);
	g_assert_cmpint(fwd_parse("udp:[::1]:5000-5001-[fd00::15]:53", &f,
				  &err), ==, 0);
	g_assert_true(f.guest_v6 && f.udp);
	g_assert_cmpint(fwd_parse("tcp::1-[fd00::zz]:2", &f, &err), ==,
			-EINVAL);
	g_assert_nonnull(strstr(err, "bad guest address"));
	g_free(err);
	err = NULL;
	g_assert_cmpint(fwd_parse("tcp::1-[fd00::1:2", &f, &err), ==, -EINVAL);
	g_free(err);
	err = NULL;
	/* outside prefix6, ours, or no IPv6 at all: refused */
	g_assert_cmpint(usernat_forward_add(un, "tcp:127.0.0.1:1-[fd01::15]:2",
					    &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err, "prefix6"));
	g_free(err);
	err = NULL;
	g_assert_cmpint(usernat_forward_add(un, "tcp:127.0.0.1:1-[fd00::2]:2",
					    &err), ==, -EINVAL);
	g_free(err);
	err = NULL;
	g_assert_cmpint(usernat_forward_add(un4, "tcp:127.0.0.1:1-[fd00::15]:2",
					    &err), ==, -EINVAL);
	g_free(err);
	usernat_free(un);
	usernat_free(un4);
	g_ptr_array_unref(cap.frames);
	g_ptr_array_unref(cap2.frames);
}

static void test_source6_rule(void)
{
	const char *const client[] = { "forward-source", "client", NULL };
	static const struct {
		const char *addr;
		bool kept;
	} v6[] = {
		{ "2001:db8::9", true },
		{ "fd01::9", true },		/* another ULA: routed */
		{ "::1", false },
		{ "::", false },
		{ "fe80::1", false },
		{ "ff02::1", false },
		{ "fd00::99", false },		/* on the guest's link */
		{ "::ffff:198.18.0.2", false },	/* an IPv4 client */
	};
	struct capture cap, cap2;
	struct usernat *un = test_instance(&cap, client);
	struct usernat *def = test_instance(&cap2, NULL);
	struct sockaddr_storage ss;
	uint8_t out[16], want[16], gw6[16];
	guint i;

	ip6a("fd00::2", gw6);
	for (i = 0; i < G_N_ELEMENTS(v6); i++) {
		ss = sa6(v6[i].addr, 4000);
		ip6a(v6[i].addr, want);
		fwd_source6(un, &ss, out);
		g_assert_cmpmem(out, 16, v6[i].kept ? want : gw6, 16);
		fwd_source6(def, &ss, out);
		g_assert_cmpmem(out, 16, gw6, 16);
	}
	ss = sa4(CLIENT, 4000);
	fwd_source6(un, &ss, out);
	g_assert_cmpmem(out, 16, gw6, 16);
	usernat_free(un);
	usernat_free(def);
	g_ptr_array_unref(cap.frames);
	g_ptr_array_unref(cap2.frames);
}

/* Add forward "PROTO:127.0.0.1:PORT-[fd00::15]:GPORT" on a free port of
 * @type; returns the port (network order) */
static uint16_t add_forward6(struct usernat *un, int type, const char *proto,
			     unsigned int gport)
{
	struct sockaddr_in sa;
	char spec[128], *err = NULL;
	int tries, fd;

	for (tries = 0; tries < 20; tries++) {
		fd = lo_socket(type, &sa);
		close(fd);
		snprintf(spec, sizeof(spec), "%s:127.0.0.1:%u-[" GUEST6 "]:%u",
			 proto, ntohs(sa.sin_port), gport);
		if (!usernat_forward_add(un, spec, &err))
			return sa.sin_port;
		g_free(err);
		err = NULL;
	}
	g_assert_not_reached();
}

/* UDP to an IPv6 guest: from gateway6 at the client's port, and back */
static void test_udp6(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint16_t port = add_forward6(un, SOCK_DGRAM, "udp", 7777), cport;
	struct sockaddr_in csa, to = { .sin_family = AF_INET,
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				       .sin_port = port }, from;
	socklen_t fl = sizeof(from);
	int cli = lo_socket(SOCK_DGRAM, &csa);
	uint8_t frame[200], a[16];
	const uint8_t *u;
	char buf[64];
	size_t len;

	/* not seen yet: refused (logged), nothing sent */
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "*guest fd00::15 not seen on the network yet*");
	g_assert_cmpint(sendto(cli, "early", 5, 0, (struct sockaddr *)&to,
			       sizeof(to)), ==, 5);
	pump(un, &cap, 1, 300);
	g_test_assert_expected_messages();
	g_assert_cmpuint(cap.frames->len, ==, 0);

	guest6_announce(un);
	cport = csa.sin_port;
	g_assert_cmpint(sendto(cli, "ping6", 5, 0, (struct sockaddr *)&to,
			       sizeof(to)), ==, 5);
	pump(un, &cap, 1, 1000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	u = out6_l4(capture_nth(&cap, 0), 17, &len);
	ip6a("fd00::2", a);
	g_assert_cmpmem(capture_nth(&cap, 0)->data + 22, 16, a, 16);
	ip6a(GUEST6, a);
	g_assert_cmpmem(capture_nth(&cap, 0)->data + 38, 16, a, 16);
	g_assert_cmphex(*(const uint16_t *)u, ==, cport);
	g_assert_cmphex(*(const uint16_t *)(u + 2), ==, htons(7777));
	g_assert_cmpmem(u + 8, len - 8, "ping6", 5);
	capture_clear(&cap);

	len = build_udp6(frame, gw_mac, guest_mac, GUEST6, 7777, "fd00::2",
			 ntohs(cport), "pong6", 5);	/* ports in host order */
	usernat_input(un, frame, len);
	g_assert_cmpint(recvfrom(cli, buf, sizeof(buf), 0,
				 (struct sockaddr *)&from, &fl), ==, 5);
	g_assert_cmpmem(buf, 5, "pong6", 5);
	g_assert_cmphex(from.sin_port, ==, port);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_flows"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_inbound_replies"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	close(cli);
	test6_done(un, &cap);
}

/* A TCP segment from fd00::15:@sport to fd00::2:@dport */
static void guest6_tcp(struct usernat *un, uint16_t sport, uint16_t dport,
		       uint32_t seq, uint32_t ack, uint8_t flags,
		       const char *data)
{
	uint8_t l4[64], frame[200], s[16], d[16];
	size_t len = tcp_seg(l4, sport, dport, seq, ack, flags, data), n;
	uint16_t c;

	ip6a(GUEST6, s);
	ip6a("fd00::2", d);
	c = csum(l4, len, csum_pseudo6(s, d, 6, (uint32_t)len));
	memcpy(l4 + 16, &c, 2);
	n = build_ip6(frame, gw_mac, guest_mac, GUEST6, "fd00::2", 6, 64, l4,
		      len);
	usernat_input(un, frame, n);
}

/* TCP to an IPv6 guest: SYN from gateway6, handshake, data both ways */
static void test_tcp6(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint16_t port = add_forward6(un, SOCK_STREAM, "tcp", 8080), cport;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = port }, csa;
	struct timeval tv = { .tv_sec = 2 };
	socklen_t sl = sizeof(csa);
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	const uint8_t *t;
	uint8_t a[16];
	uint32_t iss;
	size_t len;
	char buf[16];
	bool seen = false;
	guint i;

	guest6_announce(un);
	setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	g_assert_cmpint(connect(cli, (struct sockaddr *)&to, sizeof(to)), ==,
			0);
	g_assert_cmpint(getsockname(cli, (struct sockaddr *)&csa, &sl), ==, 0);
	cport = csa.sin_port;
	pump(un, &cap, 1, 1000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	t = out6_l4(capture_nth(&cap, 0), 6, &len);
	ip6a("fd00::2", a);
	g_assert_cmpmem(capture_nth(&cap, 0)->data + 22, 16, a, 16);
	g_assert_cmphex(*(const uint16_t *)t, ==, cport);
	g_assert_cmphex(*(const uint16_t *)(t + 2), ==, htons(8080));
	g_assert_cmphex(t[13], ==, 0x02);
	memcpy(&iss, t + 4, 4);
	iss = ntohl(iss);
	capture_clear(&cap);

	guest6_tcp(un, htons(8080), cport, 5000, iss + 1, 0x12, NULL);
	guest6_tcp(un, htons(8080), cport, 5001, iss + 1, 0x18, "hello6");
	g_assert_cmpint(recv(cli, buf, sizeof(buf), 0), ==, 6);
	g_assert_cmpmem(buf, 6, "hello6", 6);
	g_assert_cmpint(send(cli, "world6", 6, 0), ==, 6);
	pump(un, &cap, 2, 1000);
	for (i = 0; i < cap.frames->len; i++) {
		t = out6_l4(capture_nth(&cap, i), 6, &len);
		if (len >= 20 + 6 && !memcmp(t + (t[12] >> 4) * 4, "world6", 6))
			seen = true;
	}
	g_assert_true(seen);
	g_assert_cmpuint(usernat_stat(un, "tcp_inbound"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "tcp_established"), ==, 1);
	close(cli);
	test6_done(un, &cap);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fwd/source-rule", test_source_rule);
	g_test_add_func("/fwd/config", test_config);
	g_test_add_func("/fwd/udp-client-source", test_udp_client_source);
	g_test_add_func("/fwd/tcp-client-source", test_tcp_client_source);
	g_test_add_func("/fwd/parse6", test_parse6);
	g_test_add_func("/fwd/source6-rule", test_source6_rule);
	g_test_add_func("/fwd/udp6", test_udp6);
	g_test_add_func("/fwd/tcp6", test_tcp6);
	return g_test_run();
}
