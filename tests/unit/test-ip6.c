/* test-ip6.c - IPv6: NDP (NS/NA, RS/RA, DAD), ICMPv6 echo and errors,
 * header and extension header validation */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "checksum.h"
#include "frames6.h"
#include "stack.h"

static const uint8_t ours_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

/* An NS for @target with a source link-layer address option (unless from
 * ::), to the target's solicited-node group */
static size_t ns_frame(uint8_t *buf, const char *src, const char *target)
{
	uint8_t msg[32] = { 135 }, t[16], mac[6];
	char group[64];
	size_t len = 24;

	ip6a(target, t);
	memcpy(msg + 8, t, 16);
	if (strcmp(src, "::")) {
		msg[24] = 1;
		msg[25] = 1;
		memcpy(msg + 26, guest_mac, 6);
		len = 32;
	}
	g_snprintf(group, sizeof(group), "ff02::1:ff%02x:%02x%02x", t[13],
		   t[14], t[15]);
	mcast_mac6(group, mac);
	return build_icmp6(buf, mac, guest_mac, src, group, 255, msg, len);
}

static size_t echo6_frame(uint8_t *buf, const char *src, const char *dst,
			  uint8_t hop, size_t payload)
{
	uint8_t msg[1500] = { 128, 0, 0, 0, 0x12, 0x34, 0x00, 0x01 }, mac[6];
	size_t i;

	for (i = 0; i < payload; i++)
		msg[8 + i] = (uint8_t)i;
	if (dst[0] == 'f' && dst[1] == 'f')
		mcast_mac6(dst, mac);
	else
		memcpy(mac, gw_mac, 6);
	return build_icmp6(buf, mac, guest_mac, src, dst, hop, msg,
			   8 + payload);
}

static void check_addr(const uint8_t *p, const char *want)
{
	uint8_t a[16];

	ip6a(want, a);
	g_assert_cmpmem(p, 16, a, 16);
}

/* The NA in @f: to @dst_mac and @dst, for @target, with @flags, TLLA */
static void check_na(GByteArray *f, const uint8_t *dst_mac, const char *dst,
		     const char *target, uint32_t flags)
{
	const uint8_t *m, *o;
	uint32_t fl;
	size_t len;

	g_assert_cmpmem(f->data, 6, dst_mac, 6);
	g_assert_cmpmem(f->data + 6, 6, ours_mac, 6);
	m = out6_l4(f, 58, &len);
	g_assert_cmpuint(f->data[14 + 7], ==, 255);	/* hop limit */
	check_addr(f->data + 14 + 8, target);		/* source */
	check_addr(f->data + 14 + 24, dst);
	g_assert_cmpuint(m[0], ==, 136);
	g_assert_cmpuint(m[1], ==, 0);
	memcpy(&fl, m + 4, 4);
	g_assert_cmphex(ntohl(fl), ==, flags);
	check_addr(m + 8, target);
	o = ndp_find_opt(m, len, 24, 2);
	g_assert_nonnull(o);
	g_assert_cmpuint(o[1], ==, 1);
	g_assert_cmpmem(o + 2, 6, ours_mac, 6);
}

/* NS for each of our addresses: a solicited NA with R, S and O */
static void test_ns_ours(void)
{
	const char *targets[] = { "fd00::2", "fd00::3", GW_LL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[200];
	size_t i, n;

	for (i = 0; i < G_N_ELEMENTS(targets); i++) {
		capture_clear(&cap);
		n = ns_frame(buf, GUEST_LL, targets[i]);
		usernat_input(un, buf, n);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		check_na(capture_nth(&cap, 0), guest_mac, GUEST_LL, targets[i],
			 0xe0000000);
	}
	g_assert_cmpuint(usernat_stat(un, "ndp_ns"), ==, 3);
	/* from a global address, unicast to our MAC (NUD) */
	capture_clear(&cap);
	n = ns_frame(buf, "fd00::1234", "fd00::2");
	memcpy(buf, gw_mac, 6);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	check_na(capture_nth(&cap, 0), guest_mac, "fd00::1234", "fd00::2",
		 0xe0000000);
	test6_done(un, &cap);
}

/* NS for other addresses, and DAD for the guest's: never answered.  Most
 * go to solicited-node groups we are not in; those that share a group
 * with one of our addresses reach NDP, which doesn't answer either. */
static void test_ns_other(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[200];
	size_t n;

	n = ns_frame(buf, GUEST_LL, "fd00::99");
	usernat_input(un, buf, n);
	n = ns_frame(buf, "::", "fd00::1234");		/* guest's own DAD */
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "ip6_mcast_ignored"), ==, 3);
	n = ns_frame(buf, GUEST_LL, "fd00::1:0:0:2");	/* fd00::2's group */
	usernat_input(un, buf, n);
	n = ns_frame(buf, "::", "fe80::1:0:0:3");	/* DAD, fd00::3's */
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "ndp_ns_other"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "ndp_dad"), ==, 0);
	test6_done(un, &cap);
}

/* DAD for one of our addresses: NA to all-nodes, not solicited */
static void test_dad_ours(void)
{
	const char *targets[] = { "fd00::2", "fd00::3", GW_LL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[200], mac[6];
	size_t i, n;

	mcast_mac6("ff02::1", mac);
	for (i = 0; i < G_N_ELEMENTS(targets); i++) {
		capture_clear(&cap);
		n = ns_frame(buf, "::", targets[i]);
		usernat_input(un, buf, n);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		check_na(capture_nth(&cap, 0), mac, "ff02::1", targets[i],
			 0xa0000000);
	}
	g_assert_cmpuint(usernat_stat(un, "ndp_dad"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "ndp_ns"), ==, 0);
	test6_done(un, &cap);
}

/* Check a router advertisement and its options */
static void check_ra(GByteArray *f, const uint8_t *dst_mac, const char *dst,
		     const char *prefix, unsigned int mtu, const char *dns,
		     uint8_t flags)
{
	const uint8_t *m, *o;
	uint32_t v;
	uint16_t lt;
	size_t len;

	g_assert_cmpmem(f->data, 6, dst_mac, 6);
	m = out6_l4(f, 58, &len);
	g_assert_cmpuint(f->data[14 + 7], ==, 255);
	check_addr(f->data + 14 + 8, GW_LL);	/* link-local source */
	check_addr(f->data + 14 + 24, dst);
	g_assert_cmpuint(m[0], ==, 134);
	g_assert_cmpuint(m[1], ==, 0);
	g_assert_cmpuint(m[4], ==, 64);
	g_assert_cmphex(m[5], ==, flags);
	memcpy(&lt, m + 6, 2);
	g_assert_cmpuint(ntohs(lt), ==, 9000);
	g_assert_nonnull(o = ndp_find_opt(m, len, 16, 1));	/* SLLA */
	g_assert_cmpmem(o + 2, 6, ours_mac, 6);
	g_assert_nonnull(o = ndp_find_opt(m, len, 16, 5));	/* MTU */
	memcpy(&v, o + 4, 4);
	g_assert_cmpuint(ntohl(v), ==, mtu);
	g_assert_nonnull(o = ndp_find_opt(m, len, 16, 3));	/* prefix */
	g_assert_cmpuint(o[1], ==, 4);
	g_assert_cmpuint(o[2], ==, 64);
	g_assert_cmphex(o[3], ==, 0xc0);			/* L, A */
	memcpy(&v, o + 4, 4);
	g_assert_cmpuint(ntohl(v), >, 0);			/* valid */
	memcpy(&v, o + 8, 4);
	g_assert_cmpuint(ntohl(v), >, 0);			/* preferred */
	check_addr(o + 16, prefix);
	g_assert_nonnull(o = ndp_find_opt(m, len, 16, 25));	/* RDNSS */
	g_assert_cmpuint(o[1], ==, 3);
	memcpy(&v, o + 4, 4);
	g_assert_cmpuint(ntohl(v), >=, 600);
	check_addr(o + 8, dns);
}

/* RS from an address: unicast RA with prefix, MTU, RDNSS; DNSSL */
static void test_rs_ra(void)
{
	const char *const opts[] = { "dns-search", "a.example, b.example.",
				     "mtu", "1400", NULL };
	static const uint8_t dnssl[] = { 1, 'a', 7, 'e', 'x', 'a', 'm', 'p',
					 'l', 'e', 0, 1, 'b', 7, 'e', 'x',
					 'a', 'm', 'p', 'l', 'e', 0 };
	uint8_t msg[16] = { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1 }, buf[200], mac[6];
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	const uint8_t *m, *o;
	size_t n, len;

	memcpy(msg + 10, guest_mac, 6);
	mcast_mac6("ff02::2", mac);
	n = build_icmp6(buf, mac, guest_mac, GUEST_LL, "ff02::2", 255, msg,
			16);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	check_ra(capture_nth(&cap, 0), guest_mac, GUEST_LL, "fd00::", 1400,
		 "fd00::3", 0x40);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_nonnull(o = ndp_find_opt(m, len, 16, 31));	/* DNSSL */
	g_assert_cmpuint(o[1], ==, (8 + sizeof(dnssl) + 7) / 8);
	g_assert_cmpmem(o + 8, sizeof(dnssl), dnssl, sizeof(dnssl));
	for (n = 8 + sizeof(dnssl); n < (size_t)o[1] * 8; n++)
		g_assert_cmpuint(o[n], ==, 0);
	g_assert_cmpuint(usernat_stat(un, "ndp_rs"), ==, 1);

	/* from ::, no SLLA: to all-nodes (rate limit: the unsolicited RA of
	 * test6_instance() went out just now, so it comes from the tick) */
	capture_clear(&cap);
	n = build_icmp6(buf, mac, guest_mac, "::", "ff02::2", 255, msg, 8);
	usernat_input(un, buf, n);
	ip6_tick(un, un_now_ms() + 3000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	mcast_mac6("ff02::1", mac);
	check_ra(capture_nth(&cap, 0), mac, "ff02::1", "fd00::", 1400,
		 "fd00::3", 0x40);
	/* from :: with an SLLA: invalid (RFC 4861 6.1.1) */
	capture_clear(&cap);
	n = build_icmp6(buf, mac, guest_mac, "::", "ff02::2", 255, msg, 16);
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_ndp_malformed"), ==, 1);
	test6_done(un, &cap);
}

/* The longest search list the configuration takes, 128 one-letter
 * names, fits the DNSSL option (uncompressed: 384 bytes) */
static void test_dnssl_long(void)
{
	char list[256];
	const char *const opts[] = { "dns-search", list, NULL };
	uint8_t msg[8] = { 133 }, buf[200], mac[6];
	struct capture cap;
	struct usernat *un;
	const uint8_t *m, *o;
	size_t i, n, len;

	for (i = 0; i < 127; i++) {
		list[2 * i] = (char)('a' + i % 26);
		list[2 * i + 1] = ',';
	}
	list[254] = 'z';
	list[255] = 0;
	un = test6_instance(&cap, opts);
	mcast_mac6("ff02::2", mac);
	n = build_icmp6(buf, mac, guest_mac, GUEST_LL, "ff02::2", 255, msg,
			sizeof(msg));
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_nonnull(o = ndp_find_opt(m, len, 16, 31));
	g_assert_cmpuint(o[1], ==, (8 + 128 * 3) / 8);
	for (i = 0; i < 128; i++) {
		g_assert_cmpuint(o[8 + 3 * i], ==, 1);
		g_assert_cmpuint(o[8 + 3 * i + 1], ==,
				 i < 127 ? 'a' + i % 26 : 'z');
		g_assert_cmpuint(o[8 + 3 * i + 2], ==, 0);
	}
	test6_done(un, &cap);
}

/* A new guest MAC gets an unsolicited RA; then the tick sends them */
static void test_ra_unsolicited(void)
{
	const char *const opts[] = { "prefix6", "2001:db8:1::/64", "no-dhcp",
				     NULL, NULL };
	static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint8_t buf[200], mac[6];
	int64_t now = un_now_ms();
	size_t n;

	mcast_mac6("ff02::1", mac);
	ip6_tick(un, now + 700000);	/* no guest yet: no RA */
	g_assert_cmpuint(cap.frames->len, ==, 0);
	n = build_arp(buf, 1, bcast_mac, guest_mac, "10.0.2.15", bcast_mac,
		      "10.0.2.2");
	usernat_input(un, buf, n);	/* IPv4 only: no RA */
	g_assert_cmpuint(cap.frames->len, ==, 1);	/* ARP reply */
	ip6_tick(un, now + 700000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	capture_clear(&cap);
	n = echo6_frame(buf, GUEST_LL, GW_LL, 64, 0);
	usernat_input(un, buf, n);	/* a first IPv6 frame */
	g_assert_cmpuint(cap.frames->len, ==, 2);	/* RA, echo reply */
	check_ra(capture_nth(&cap, 0), mac, "ff02::1", "2001:db8:1::", 1500,
		 "2001:db8:1::3", 0);	/* no DHCP: no O flag */
	usernat_input(un, buf, n);	/* a known MAC: nothing new */
	g_assert_cmpuint(cap.frames->len, ==, 3);
	/* a second guest at once: its RA waits for 3 s after the last */
	memcpy(buf + 6, mac2, 6);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 4);
	g_assert_cmpuint(capture_nth(&cap, 3)->data[54], ==, 129);
	capture_clear(&cap);
	ip6_tick(un, now + 2000);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	ip6_tick(un, now + 3100);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	/* then two more initial RAs 16 s apart, then 200 to 600 s apart */
	ip6_tick(un, now + 19000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	ip6_tick(un, now + 19200);
	ip6_tick(un, now + 35300);
	ip6_tick(un, now + 50000);
	g_assert_cmpuint(cap.frames->len, ==, 3);
	ip6_tick(un, now + 235000);
	g_assert_cmpuint(cap.frames->len, ==, 3);
	ip6_tick(un, now + 636000);
	g_assert_cmpuint(cap.frames->len, ==, 4);
	check_ra(capture_nth(&cap, 3), mac, "ff02::1", "2001:db8:1::", 1500,
		 "2001:db8:1::3", 0);
	test6_done(un, &cap);
}

/* Echo to our addresses and groups is answered; to others, echo NAT (here
 * under --restrict, so that nothing leaves: refused; see test-udp6.c) */
static void test_echo(void)
{
	const char *dsts[] = { "fd00::2", "fd00::3", GW_LL, "ff02::1" };
	const char *const opts[] = { "restrict", NULL, NULL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	uint8_t buf[2000];
	const uint8_t *m;
	size_t i, n, len;

	for (i = 0; i < G_N_ELEMENTS(dsts); i++) {
		const char *src = i >= 2 ? GUEST_LL : "fd00::1234";

		capture_clear(&cap);
		n = echo6_frame(buf, src, dsts[i], 64, 56);
		usernat_input(un, buf, n);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		m = out6_l4(capture_nth(&cap, 0), 58, &len);
		g_assert_cmpuint(len, ==, 64);
		g_assert_cmpuint(m[0], ==, 129);
		g_assert_cmpmem(m + 4, 60, buf + 58, 60);
		g_assert_cmpmem(capture_nth(&cap, 0)->data, 6, guest_mac, 6);
		check_addr(capture_nth(&cap, 0)->data + 14 + 8,
			   i == 3 ? GW_LL : dsts[i]);
		check_addr(capture_nth(&cap, 0)->data + 14 + 24, src);
	}
	g_assert_cmpuint(usernat_stat(un, "icmp6_echo_gw"), ==, 4);
	/* elsewhere: echo NAT, refused by the policy (administratively
	 * prohibited) */
	capture_clear(&cap);
	n = echo6_frame(buf, "fd00::1234", "2001:db8::1", 64, 8);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 1);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	capture_clear(&cap);
	/* hop limit 1 toward it: time exceeded, from the gateway */
	n = echo6_frame(buf, "fd00::1234", "2001:db8::1", 1, 8);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 3);
	g_assert_cmpuint(m[1], ==, 0);
	g_assert_cmpuint(len, ==, 8 + n - 14);
	g_assert_cmpmem(m + 8, n - 14, buf + 14, n - 14);
	check_addr(capture_nth(&cap, 0)->data + 14 + 8, "fd00::2");
	/* a link-local source can't leave the link: beyond scope */
	capture_clear(&cap);
	n = echo6_frame(buf, GUEST_LL, "2001:db8::1", 64, 8);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 2);
	check_addr(capture_nth(&cap, 0)->data + 14 + 8, GW_LL);
	check_addr(capture_nth(&cap, 0)->data + 14 + 24, GUEST_LL);
	/* hop limit 1 to us is fine */
	n = echo6_frame(buf, "fd00::1234", "fd00::2", 1, 8);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	/* Ethernet padding is trimmed */
	capture_clear(&cap);
	n = echo6_frame(buf, "fd00::1234", "fd00::2", 64, 0);
	memset(buf + n, 0xee, 80 - n);
	usernat_input(un, buf, 80);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(len, ==, 8);
	test6_done(un, &cap);
}

/* UDP and TCP for our addresses and routed ones go to the NAT hook: UDP
 * to udp.c (here under --restrict, so that nothing leaves; the NAT itself
 * is tested in test-udp6.c), TCP to tcp.c (tested in test-tcp6.c; this
 * segment has no valid checksum, so it is counted there and dropped); UDP
 * to a group is ignored */
static void test_nat_hook(void)
{
	const char *const opts[] = { "restrict", NULL, NULL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	uint8_t buf[200], tcp[20] = { 0x9c, 0x40, 0, 80, [12] = 0x50,
				      [13] = 2 }, mac[6];
	const uint8_t *m;
	size_t n, len;

	/* dns6:53 is the DNS forwarder ("query" is no DNS message) */
	n = build_udp6(buf, gw_mac, guest_mac, "fd00::1234", 5353, "fd00::3",
		       53, "query", 5);
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_dns_malformed"), ==, 1);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	/* other ports of dns6: port unreachable, from dns6 */
	n = build_udp6(buf, gw_mac, guest_mac, "fd00::1234", 5353, "fd00::3",
		       54, "query", 5);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	m = out6_l4(capture_nth(&cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 4);
	check_addr(capture_nth(&cap, 0)->data + 14 + 8, "fd00::3");
	n = build_ip6(buf, gw_mac, guest_mac, "fd00::1234", "2001:db8::1", 6,
		      64, tcp, sizeof(tcp));
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_ip6_nat"), ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_tcp_csum"), ==, 1);
	/* routed UDP: NAT, refused here (administratively prohibited) */
	n = build_udp6(buf, gw_mac, guest_mac, "fd00::1234", 5353,
		       "2001:db8::1", 53, "query", 5);
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	m = out6_l4(capture_nth(&cap, 1), 58, &len);
	g_assert_cmpuint(m[0], ==, 1);
	g_assert_cmpuint(m[1], ==, 1);
	mcast_mac6("ff02::1", mac);
	n = build_udp6(buf, mac, guest_mac, GUEST_LL, 5353, "ff02::1", 5353,
		       "x", 1);
	usernat_input(un, buf, n);	/* (test6_instance()'s MLD is 1) */
	g_assert_cmpuint(usernat_stat(un, "ip6_mcast_ignored"), ==, 2);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	test6_done(un, &cap);
}

/* Learnt neighbours are found; ip6_out_send() uses the table */
static void test_neighbours(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 7 };
	uint8_t buf[200], a[16], mac[6], tlla[32] = { 136 };
	size_t n;

	ip6a("fd00::1234", a);
	g_assert_false(ip6_neigh_find(un, a, mac));
	n = echo6_frame(buf, "fd00::1234", "fd00::2", 64, 0);
	usernat_input(un, buf, n);
	g_assert_true(ip6_neigh_find(un, a, mac));
	g_assert_cmpmem(mac, 6, guest_mac, 6);
	ip6a(GUEST_LL, a);	/* from test6_instance()'s first frame */
	g_assert_true(ip6_neigh_find(un, a, mac));
	/* an unsolicited NA with a TLLA moves an address */
	ip6a("fd00::1234", a);
	memcpy(tlla + 8, a, 16);
	tlla[4] = 0x20;		/* O */
	tlla[24] = 2;
	tlla[25] = 1;
	memcpy(tlla + 26, mac2, 6);
	mcast_mac6("ff02::1", mac);
	n = build_icmp6(buf, mac, guest_mac, GUEST_LL, "ff02::1", 255, tlla,
			32);
	usernat_input(un, buf, n);
	g_assert_true(ip6_neigh_find(un, a, mac));
	g_assert_cmpmem(mac, 6, mac2, 6);
	/* output with no MAC given looks the address up */
	capture_clear(&cap);
	memset(ip6_out_l4(un), 0, 8);
	ip6_out_send(un, NULL, un->cfg.gw6, a, 59, 8);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpmem(capture_nth(&cap, 0)->data, 6, mac2, 6);
	g_assert_cmpuint(capture_nth(&cap, 0)->len, ==, 62);
	ip6a("fd00::4321", a);	/* unknown: not sent */
	ip6_out_send(un, NULL, un->cfg.gw6, a, 59, 8);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	/* not learnt: foreign prefixes, our addresses */
	n = echo6_frame(buf, "2001:db8::5", "fd00::2", 64, 0);
	usernat_input(un, buf, n);
	ip6a("2001:db8::5", a);
	g_assert_false(ip6_neigh_find(un, a, mac));
	test6_done(un, &cap);
}

/* Many neighbours: the table stays bounded */
static void test_neighbours_bounded(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[200], a[16], mac[6];
	char s[64];
	size_t n;
	unsigned int i;

	for (i = 0; i < 3000; i++) {
		g_snprintf(s, sizeof(s), "fd00::1:%x", i);
		n = echo6_frame(buf, s, "fd00::2", 64, 0);
		usernat_input(un, buf, n);
	}
	g_assert_cmpuint(g_hash_table_size(un->ip6->neigh), <=, 1024);
	ip6a("fd00::1:bb7", a);		/* the last one */
	g_assert_true(ip6_neigh_find(un, a, mac));
	test6_done(un, &cap);
}

/* ICMPv6 errors: never about errors or to groups; rate limited */
static void test_error_rules(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[200], err[16] = { 1, 4 };
	size_t n;
	int i;

	n = build_icmp6(buf, gw_mac, guest_mac, "fd00::1234", "2001:db8::1",
			1, err, sizeof(err));
	usernat_input(un, buf, n);	/* an error with hop limit 1 */
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_ip6_hoplimit"), ==, 1);
	for (i = 0; i < 40; i++) {
		n = echo6_frame(buf, "fd00::1234", "2001:db8::1", 1, 0);
		usernat_input(un, buf, n);
	}
	g_assert_cmpuint(cap.frames->len, >=, 10);
	g_assert_cmpuint(cap.frames->len, <, 40);
	test6_done(un, &cap);
}

/* Each kind of bad header is dropped, counted under its own reason */
static void test_bad_headers(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t good[200], b[200];
	size_t n = echo6_frame(good, "fd00::1234", "fd00::2", 64, 8);
	uint8_t a[16];

#define MUTATE(stmt, ctr)						\
	do {								\
		uint64_t before = usernat_stat(un, ctr);		\
		memcpy(b, good, n);					\
		stmt;							\
		usernat_input(un, b, n);				\
		g_assert_cmpuint(usernat_stat(un, ctr), ==, before + 1); \
	} while (0)

	MUTATE(b[14] = 0x40, "drop_ip6_version");
	MUTATE(b[19] += 1, "drop_ip6_len");
	MUTATE((b[18] = 0, b[19] = 0), "drop_ip6_len");	/* jumbogram */
	MUTATE(b[22] = 0xff, "drop_ip6_src");			/* multicast */
	MUTATE((ip6a("::1", a), memcpy(b + 22, a, 16)), "drop_ip6_src");
	MUTATE((ip6a("fd00::3", a), memcpy(b + 22, a, 16)), "drop_ip6_src");
	MUTATE((ip6a("::", a), memcpy(b + 22, a, 16)), "drop_icmp6_csum");
	MUTATE((ip6a("fd00::99", a), memcpy(b + 38, a, 16)), "drop_ip6_dst");
	MUTATE((ip6a("fe80::99", a), memcpy(b + 38, a, 16)), "drop_ip6_dst");
	MUTATE((ip6a("::ffff:1.2.3.4", a), memcpy(b + 38, a, 16)),
	       "drop_ip6_dst");
	MUTATE((ip6a("::1", a), memcpy(b + 38, a, 16)), "drop_ip6_dst");
	MUTATE((ip6a("ff02::fb", a), memcpy(b + 38, a, 16)),
	       "ip6_mcast_ignored");
	MUTATE(b[60] ^= 1, "drop_icmp6_csum");
	MUTATE(b[20] = 99, "drop_ip6_proto");
	MUTATE(b[20] = 59, "drop_ip6_proto");
	/* 33:33 multicast, but not IPv6 */
	MUTATE((b[0] = b[1] = 0x33, b[12] = 0x08, b[13] = 0), "not_for_us");
	g_assert_cmpuint(cap.frames->len, ==, 1);  /* unknown next header */
	{
		const uint8_t *m;
		size_t len;
		uint32_t ptr;

		m = out6_l4(capture_nth(&cap, 0), 58, &len);
		g_assert_cmpuint(m[0], ==, 4);
		g_assert_cmpuint(m[1], ==, 1);
		memcpy(&ptr, m + 4, 4);
		g_assert_cmpuint(ntohl(ptr), ==, 6);
	}
	test6_done(un, &cap);
}

/* Extension header chains: @ext (first next header @first) before an
 * echo request to the gateway; returns the frames sent in answer */
static guint try_chain(struct usernat *un, struct capture *cap, uint8_t first,
		       const uint8_t *ext, size_t extlen)
{
	uint8_t buf[2000], msg[16] = { 128, 0, 0, 0, 0, 1, 0, 1 };
	size_t n;

	capture_clear(cap);
	n = build_icmp6_ext(buf, gw_mac, guest_mac, "fd00::1234", "fd00::2",
			    64, first, ext, extlen, msg, sizeof(msg));
	usernat_input(un, buf, n);
	return cap->frames->len;
}

/* The parameter problem in @cap: @code, pointing at @ptr */
static void check_pp(struct capture *cap, uint8_t code, uint32_t ptr)
{
	const uint8_t *m;
	size_t len;
	uint32_t p;

	g_assert_cmpuint(cap->frames->len, ==, 1);
	m = out6_l4(capture_nth(cap, 0), 58, &len);
	g_assert_cmpuint(m[0], ==, 4);
	g_assert_cmpuint(m[1], ==, code);
	memcpy(&p, m + 4, 4);
	g_assert_cmpuint(ntohl(p), ==, ptr);
}

static void test_ext_headers(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	/* hop-by-hop: PadN (empty), Router Alert */
	uint8_t hbh[8] = { 58, 0, 1, 0, 5, 2, 0, 0 };
	/* destination options with PadN 4 */
	uint8_t dst[8] = { 58, 0, 1, 4, 0, 0, 0, 0 };
	uint8_t rt[8] = { 58, 0, 0, 0 };		/* segments left 0 */
	uint8_t frag[8] = { 58, 0, 0, 0, 0, 0, 0, 1 };	/* atomic */
	uint8_t chain[80];
	int i;

	g_assert_cmpuint(try_chain(un, &cap, 0, hbh, 8), ==, 1);
	g_assert_cmpuint(capture_nth(&cap, 0)->data[54], ==, 129);
	g_assert_cmpuint(try_chain(un, &cap, 60, dst, 8), ==, 1);
	g_assert_cmpuint(try_chain(un, &cap, 43, rt, 8), ==, 1);
	g_assert_cmpuint(try_chain(un, &cap, 44, frag, 8), ==, 1);
	/* hop-by-hop, then destination options, routing, fragment */
	memcpy(chain, hbh, 8);
	memcpy(chain + 8, dst, 8);
	memcpy(chain + 16, rt, 8);
	memcpy(chain + 24, frag, 8);
	chain[0] = 60;
	chain[8] = 43;
	chain[16] = 44;
	g_assert_cmpuint(try_chain(un, &cap, 0, chain, 32), ==, 1);
	g_assert_cmpuint(capture_nth(&cap, 0)->data[54 + 0], ==, 129);

	/* a real fragment: dropped, no reassembly */
	frag[3] = 1;				/* M */
	g_assert_cmpuint(try_chain(un, &cap, 44, frag, 8), ==, 0);
	frag[3] = 0;
	frag[2] = 1;				/* offset 32 */
	g_assert_cmpuint(try_chain(un, &cap, 44, frag, 8), ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_ip6_frag"), ==, 2);

	/* routing with segments left: parameter problem at its type */
	rt[3] = 1;
	try_chain(un, &cap, 43, rt, 8);
	check_pp(&cap, 0, 40 + 2);
	/* hop-by-hop after another header: unrecognized next header */
	memcpy(chain, dst, 8);
	memcpy(chain + 8, hbh, 8);
	chain[0] = 0;
	try_chain(un, &cap, 60, chain, 16);
	check_pp(&cap, 1, 40);
	/* unknown options by action: skip, discard, discard + error */
	dst[4] = 0x1e;				/* 00: skipped */
	dst[5] = 0;
	dst[2] = 1;
	dst[3] = 0;
	g_assert_cmpuint(try_chain(un, &cap, 60, dst, 8), ==, 1);
	g_assert_cmpuint(capture_nth(&cap, 0)->data[54], ==, 129);
	dst[4] = 0x5e;				/* 01: silently */
	g_assert_cmpuint(try_chain(un, &cap, 60, dst, 8), ==, 0);
	dst[4] = 0x9e;				/* 10: error */
	try_chain(un, &cap, 60, dst, 8);
	check_pp(&cap, 2, 40 + 4);
	dst[4] = 0xde;				/* 11: error (unicast) */
	try_chain(un, &cap, 60, dst, 8);
	check_pp(&cap, 2, 40 + 4);
	/* an option overrunning its header */
	dst[4] = 1;
	dst[5] = 5;
	g_assert_cmpuint(try_chain(un, &cap, 60, dst, 8), ==, 0);
	/* a header longer than the packet */
	dst[1] = 3;
	dst[5] = 0;
	g_assert_cmpuint(try_chain(un, &cap, 60, dst, 8), ==, 0);
	dst[1] = 0;
	/* eight headers are walked, nine are too many */
	memset(chain, 0, sizeof(chain));
	for (i = 0; i < 9; i++) {
		chain[8 * i] = i < 7 ? 60 : 58;
		chain[8 * i + 2] = 1;
		chain[8 * i + 3] = 4;
	}
	g_assert_cmpuint(try_chain(un, &cap, 60, chain, 64), ==, 1);
	chain[8 * 7] = 60;
	g_assert_cmpuint(try_chain(un, &cap, 60, chain, 72), ==, 0);
	/* ESP: unrecognized, parameter problem at the header's field */
	memcpy(chain, dst, 8);
	chain[0] = 50;
	try_chain(un, &cap, 60, chain, 8);
	check_pp(&cap, 1, 40);
	test6_done(un, &cap);
}

/* NDP validation: hop limit, code, lengths, options */
static void test_ndp_malformed(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[200], msg[40], mac[6];
	size_t n;
	uint64_t before;

#define NDP_BAD(stmt, len, src, dst)					\
	do {								\
		before = usernat_stat(un, "drop_ndp_malformed");	\
		memset(msg, 0, sizeof(msg));				\
		msg[0] = 135;						\
		ip6a("fd00::2", msg + 8);				\
		msg[24] = 1;						\
		msg[25] = 1;						\
		memcpy(msg + 26, guest_mac, 6);				\
		stmt;							\
		mcast_mac6("ff02::1:ff00:2", mac);			\
		n = build_icmp6(buf, mac, guest_mac, src, dst, 255,	\
				msg, len);				\
		usernat_input(un, buf, n);				\
		g_assert_cmpuint(usernat_stat(un, "drop_ndp_malformed"), \
				 ==, before + 1);			\
	} while (0)

	NDP_BAD(msg[1] = 1, 32, GUEST_LL, "ff02::1:ff00:2");	/* code */
	NDP_BAD(msg[25] = 0, 32, GUEST_LL, "ff02::1:ff00:2");	/* len 0 */
	NDP_BAD(msg[25] = 2, 32, GUEST_LL, "ff02::1:ff00:2");	/* overrun */
	NDP_BAD(msg[8] = 0xff, 32, GUEST_LL, "ff02::1:ff00:2");	/* target */
	NDP_BAD((void)0, 20, GUEST_LL, "ff02::1:ff00:2");	/* short */
	NDP_BAD((void)0, 32, "::", "ff02::1:ff00:2");		/* DAD+SLLA */
	NDP_BAD((void)0, 24, "::", "fd00::2");			/* DAD ucast */
	NDP_BAD((msg[0] = 136, msg[4] = 0x40), 24, GUEST_LL, "ff02::1");
	NDP_BAD((msg[0] = 133, msg[8] = 1, msg[9] = 0), 16, GUEST_LL,
		"ff02::2");					/* len 0 */
	/* hop limit below 255 */
	before = usernat_stat(un, "drop_ndp_malformed");
	n = ns_frame(buf, GUEST_LL, "fd00::2");
	buf[21] = 254;
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_ndp_malformed"), ==,
			 before + 1);
	g_assert_cmpuint(cap.frames->len, ==, 0);

	/* an NA claiming our address: counted, nothing changes */
	memset(msg, 0, sizeof(msg));
	msg[0] = 136;
	msg[4] = 0x20;
	ip6a("fd00::2", msg + 8);
	mcast_mac6("ff02::1", mac);
	n = build_icmp6(buf, mac, guest_mac, GUEST_LL, "ff02::1", 255, msg,
			24);
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "*claims our address fd00::2");
	usernat_input(un, buf, n);
	usernat_input(un, buf, n);	/* logged once in 10 s */
	g_test_assert_expected_messages();
	g_assert_cmpuint(usernat_stat(un, "ndp_conflict"), ==, 2);
	/* RA and redirect from guests: ignored */
	memset(msg, 0, sizeof(msg));
	msg[0] = 134;
	n = build_icmp6(buf, mac, guest_mac, GUEST_LL, "ff02::1", 255, msg,
			16);
	usernat_input(un, buf, n);
	msg[0] = 137;
	n = build_icmp6(buf, gw_mac, guest_mac, GUEST_LL, GW_LL, 255, msg,
			40);
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "ndp_ignored"), ==, 2);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	test6_done(un, &cap);
}

/* Feed @frame cut at every length, and with the payload length made to
 * match each cut: always dropped and counted, never answered */
static void truncate_all(struct usernat *un, struct capture *cap,
			 const uint8_t *frame, size_t n)
{
	uint8_t b[2000];
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t before = drops6(un);

		capture_clear(cap);
		memcpy(b, frame, i);
		usernat_input(un, b, i);
		if (i >= 14)
			g_assert_cmpuint(drops6(un), >, before);
		g_assert_cmpuint(cap->frames->len, ==, 0);
		if (i < 54)
			continue;
		before = drops6(un);
		b[18] = (uint8_t)((i - 54) >> 8);
		b[19] = (uint8_t)(i - 54);
		usernat_input(un, b, i);
		g_assert_cmpuint(drops6(un), >, before);
		g_assert_cmpuint(cap->frames->len, ==, 0);
	}
}

static void test_truncation(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t f[2000], ext[40] = { 60, 0, 1, 0, 5, 2, 0, 0,	/* HBH */
				     43, 0, 1, 4, 0, 0, 0, 0,	/* dst */
				     44, 0, 0, 0, 0, 0, 0, 0,	/* rt */
				     60, 0, 0, 0, 0, 0, 0, 1,	/* frag */
				     58, 0, 1, 4, 0, 0, 0, 0 };	/* dst */
	uint8_t msg[16] = { 128, 0, 0, 0, 0, 1, 0, 1 };
	uint8_t rs[16] = { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
	size_t n;

	n = build_icmp6_ext(f, gw_mac, guest_mac, "fd00::1234", "fd00::2", 64,
			    0, ext, sizeof(ext), msg, sizeof(msg));
	usernat_input(un, f, n);	/* whole: answered */
	g_assert_cmpuint(cap.frames->len, ==, 1);
	truncate_all(un, &cap, f, n);
	n = ns_frame(f, GUEST_LL, "fd00::2");
	truncate_all(un, &cap, f, n);
	memcpy(rs + 10, guest_mac, 6);
	n = build_icmp6(f, gw_mac, guest_mac, GUEST_LL, "ff02::2", 255, rs,
			16);
	truncate_all(un, &cap, f, n);
	n = echo6_frame(f, "fd00::1234", "fd00::2", 64, 100);
	truncate_all(un, &cap, f, n);
	test6_done(un, &cap);
}

/* Random bytes after a valid IPv6 header: never a crash */
static void test_random(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	GRand *r = g_rand_new_with_seed(6);
	uint8_t f[600];
	int i;
	size_t k, n;

	for (i = 0; i < 20000; i++) {
		n = echo6_frame(f, "fd00::1234", "fd00::2", 255, 40);
		for (k = 54; k < n; k++)
			if (g_rand_int_range(r, 0, 4) == 0)
				f[k] = (uint8_t)g_rand_int(r);
		f[20] = (uint8_t)g_rand_int_range(r, 0, 64);
		if (f[20] > 3 && f[20] < 40)
			f[20] = 58;
		else if (f[20] >= 40)
			f[20] = (uint8_t[]){ 0, 43, 44, 60, 17, 6 }[f[20] % 6];
		usernat_input(un, f, n);
	}
	g_rand_free(r);
	test6_done(un, &cap);
}

/* no-ipv6, or an MTU below 1280: IPv6 frames counted in drop_ip6 */
static void test_disabled(void)
{
	const char *const off[] = { "no-ipv6", NULL, NULL };
	const char *const small[] = { "mtu", "1000", NULL };
	const char *const *opts[] = { off, small };
	size_t i, n;

	for (i = 0; i < G_N_ELEMENTS(opts); i++) {
		struct capture cap;
		struct usernat *un = test_instance(&cap, opts[i]);
		uint8_t buf[200];

		n = echo6_frame(buf, "fd00::1234", "fd00::2", 64, 8);
		usernat_input(un, buf, n);
		g_assert_cmpuint(usernat_stat(un, "drop_ip6"), ==, 1);
		n = ns_frame(buf, GUEST_LL, "fd00::2");
		usernat_input(un, buf, n);
		g_assert_cmpuint(usernat_stat(un, "not_for_us"), ==, 1);
		g_assert_cmpuint(cap.frames->len, ==, 0);
		g_assert_null(un->ip6);
		test6_done(un, &cap);
	}
}

/* prefix6, gateway6, dns6: defaults follow the prefix; checks */
static void test_config(void)
{
	const char *const opts[] = { "prefix6", "2001:db8:5:6::/64",
				     "dns6", "2001:db8:5:6::53", NULL };
	static const char *const bad[][2] = {
		{ "prefix6", "2001:db8::/48" }, { "prefix6", "ff02::/64" },
		{ "prefix6", "fe80::/64" }, { "prefix6", "::/64" },
		{ "prefix6", "banana" }, { "gateway6", "10.0.2.2" },
		{ "dns6", "" }, { "no-ipv6", "yes" },
	};
	struct usernat_config *cfg;
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	uint8_t buf[200];
	char *err = NULL;
	size_t i, n;

	n = ns_frame(buf, GUEST_LL, "2001:db8:5:6::2");
	usernat_input(un, buf, n);
	n = ns_frame(buf, GUEST_LL, "2001:db8:5:6::53");
	usernat_input(un, buf, n);
	n = ns_frame(buf, GUEST_LL, "fd00::2");
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "ndp_ns"), ==, 2);
	test6_done(un, &cap);

	cfg = usernat_config_new();
	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(usernat_config_set(cfg, bad[i][0], bad[i][1],
						   &err), <, 0);
		g_assert_nonnull(err);
		free(err);
	}
	g_assert_cmpint(usernat_config_key_is_flag("no-ipv6"), ==, 1);
	/* a gateway outside the prefix is refused at start */
	g_assert_cmpint(usernat_config_set(cfg, "gateway6", "2001:db8::2",
					   &err), ==, 0);
	g_assert_null(usernat_new(cfg, capture_fn, &cap, &err));
	g_assert_nonnull(strstr(err, "gateway6"));
	g_free(err);
	/* ... unless IPv6 is off */
	g_assert_cmpint(usernat_config_set(cfg, "no-ipv6", NULL, &err), ==, 0);
	cap.frames = g_ptr_array_new();
	un = usernat_new(cfg, capture_fn, &cap, &err);
	g_assert_nonnull(un);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
	usernat_config_free(cfg);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ip6/ns-ours", test_ns_ours);
	g_test_add_func("/ip6/ns-other", test_ns_other);
	g_test_add_func("/ip6/dad-ours", test_dad_ours);
	g_test_add_func("/ip6/rs-ra", test_rs_ra);
	g_test_add_func("/ip6/dnssl-long", test_dnssl_long);
	g_test_add_func("/ip6/ra-unsolicited", test_ra_unsolicited);
	g_test_add_func("/ip6/echo", test_echo);
	g_test_add_func("/ip6/nat-hook", test_nat_hook);
	g_test_add_func("/ip6/neighbours", test_neighbours);
	g_test_add_func("/ip6/neighbours-bounded", test_neighbours_bounded);
	g_test_add_func("/ip6/error-rules", test_error_rules);
	g_test_add_func("/ip6/bad-headers", test_bad_headers);
	g_test_add_func("/ip6/ext-headers", test_ext_headers);
	g_test_add_func("/ip6/ndp-malformed", test_ndp_malformed);
	g_test_add_func("/ip6/truncation", test_truncation);
	g_test_add_func("/ip6/random", test_random);
	g_test_add_func("/ip6/disabled", test_disabled);
	g_test_add_func("/ip6/config", test_config);
	return g_test_run();
}
