/* test-policy.c - egress policy: rule parsing, the matcher (first match
 * wins, ports, ICMP), --restrict, the configuration keys, and what guests
 * see: ICMP administratively prohibited for UDP and ICMP echo, REFUSED from
 * the DNS forwarder, DHCP and the gateway's ping unaffected */
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
#include "frames.h"
#include "stack.h"
#include "wire/ip4.h"
#include "wire/ip6.h"

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

/* A UDP socket on 127.0.0.1 that doesn't block; its port in *@port */
static int udp_server(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	*port = sa.sin_port;
	return fd;
}

/* A UDP datagram from the guest; ports in network order */
static void udp_send(struct usernat *un, const char *daddr, uint16_t sport,
		     uint16_t dport, const void *data, size_t len)
{
	uint8_t l4[600], frame[700];
	size_t n;

	g_assert_cmpuint(len, <=, sizeof(l4) - 8);
	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	memcpy(l4 + 8, data, len);
	n = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", daddr, 17, l4,
		      8 + len, 1);
	usernat_input(un, frame, n);
}

/* An echo request from the guest */
static void echo_send(struct usernat *un, const char *daddr)
{
	uint8_t icmp[16] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'o', 'l' };
	uint8_t frame[100];
	size_t n = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", daddr, 1,
			     icmp, sizeof(icmp), 1);

	usernat_input(un, frame, n);
}

/* The one captured frame is ICMP type 3 code 13 about the guest's packet
 * to @daddr, protocol @proto */
static void check_prohibited(struct capture *cap, const char *daddr,
			     uint8_t proto)
{
	GByteArray *f;
	const uint8_t *e;
	uint32_t a;

	g_assert_cmpuint(cap->frames->len, ==, 1);
	f = capture_nth(cap, 0);
	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	g_assert_cmpint(f->data[23], ==, 1);
	e = f->data + 34;
	g_assert_cmpint(e[0], ==, 3);		/* destination unreachable */
	g_assert_cmpint(e[1], ==, 13);		/* administratively prohibited */
	memcpy(&a, f->data + 30, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.15"));
	/* the quoted header is the guest's packet */
	g_assert_cmpint(e[8 + 9], ==, proto);
	memcpy(&a, e + 8 + 16, 4);
	g_assert_cmphex(a, ==, ip(daddr));
}

static struct policy_rule parse_ok(const char *spec, bool allow)
{
	struct policy_rule r;
	char *err = NULL;

	g_assert_cmpint(policy_parse(spec, allow, &r, &err), ==, 0);
	g_assert_null(err);
	g_assert_cmpint(r.allow, ==, allow);
	return r;
}

/* An instance built from options (key, value pairs) */
static struct usernat *instance(struct capture *cap, const char *const *opts)
{
	return test_instance(cap, opts);
}

static void free_instance(struct usernat *un, struct capture *cap)
{
	usernat_free(un);
	g_ptr_array_unref(cap->frames);
}

static void test_parse_valid(void)
{
	struct policy_rule r;

	r = parse_ok("10.0.0.0/8", true);
	g_assert_cmphex(r.net, ==, ip("10.0.0.0"));
	g_assert_cmphex(r.mask, ==, ip("255.0.0.0"));
	g_assert_true(r.any_port);
	g_assert_cmpuint(r.port_lo, ==, 0);
	g_assert_cmpuint(r.port_hi, ==, 65535);

	r = parse_ok("192.0.2.1/32:443", false);
	g_assert_cmphex(r.net, ==, ip("192.0.2.1"));
	g_assert_cmphex(r.mask, ==, ip("255.255.255.255"));
	g_assert_false(r.any_port);
	g_assert_cmpuint(r.port_lo, ==, 443);
	g_assert_cmpuint(r.port_hi, ==, 443);

	r = parse_ok("0.0.0.0/0:1000-2000", true);
	g_assert_cmphex(r.mask, ==, 0);
	g_assert_cmpuint(r.port_lo, ==, 1000);
	g_assert_cmpuint(r.port_hi, ==, 2000);

	r = parse_ok("198.51.100.7", true);	/* a bare address is a /32 */
	g_assert_cmphex(r.net, ==, ip("198.51.100.7"));
	g_assert_cmphex(r.mask, ==, ip("255.255.255.255"));

	r = parse_ok("10.1.2.3/8", true);	/* host bits cleared */
	g_assert_cmphex(r.net, ==, ip("10.0.0.0"));

	r = parse_ok("172.16.0.0/12:1-65535", false);
	g_assert_cmpuint(r.port_lo, ==, 1);
	g_assert_cmpuint(r.port_hi, ==, 65535);
	g_assert_false(r.v6);
}

static void test_parse_valid6(void)
{
	static const uint8_t db8[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t one[16] = { [15] = 1 };
	struct policy_rule r;

	r = parse_ok("2001:db8::/32", false);
	g_assert_true(r.v6);
	g_assert_cmpmem(r.net6, 16, db8, 16);
	g_assert_cmpuint(r.prefix6, ==, 32);
	g_assert_true(r.any_port);

	r = parse_ok("[2001:db8:ffff::1/32]:443", true);	/* host bits */
	g_assert_cmpmem(r.net6, 16, db8, 16);
	g_assert_false(r.any_port);
	g_assert_cmpuint(r.port_lo, ==, 443);
	g_assert_cmpuint(r.port_hi, ==, 443);

	r = parse_ok("[::/0]:1000-2000", true);
	g_assert_cmpuint(r.prefix6, ==, 0);
	g_assert_cmpuint(r.port_lo, ==, 1000);
	g_assert_cmpuint(r.port_hi, ==, 2000);

	r = parse_ok("::1", true);		/* a bare address is a /128 */
	g_assert_cmpmem(r.net6, 16, one, 16);
	g_assert_cmpuint(r.prefix6, ==, 128);
	r = parse_ok("[::1]", true);
	g_assert_cmpuint(r.prefix6, ==, 128);
	g_assert_true(r.any_port);

	r = parse_ok("fe80::1234/10", true);	/* a prefix inside a byte */
	g_assert_cmphex(r.net6[0], ==, 0xfe);
	g_assert_cmphex(r.net6[1], ==, 0x80);
	g_assert_cmphex(r.net6[15], ==, 0);
}

static void test_match6(void)
{
	struct policy_rule ll = parse_ok("fe80::/10", false);
	struct policy_rule web = parse_ok("[2001:db8::/32]:80-443", false);
	struct policy_rule v4 = parse_ok("0.0.0.0/0", false);
	uint8_t a[16];

	inet_pton(AF_INET6, "febf::1", a);
	g_assert_true(policy_rule_match6(&ll, IPPROTO_UDP4, a, 53));
	inet_pton(AF_INET6, "fec0::1", a);
	g_assert_false(policy_rule_match6(&ll, IPPROTO_UDP4, a, 53));
	inet_pton(AF_INET6, "2001:db8:1::5", a);
	g_assert_true(policy_rule_match6(&web, IPPROTO_TCP4, a, 443));
	g_assert_false(policy_rule_match6(&web, IPPROTO_TCP4, a, 444));
	g_assert_false(policy_rule_match6(&web, IPPROTO_ICMP6, a, 0));
	/* rules match their own family only */
	g_assert_false(policy_rule_match6(&v4, IPPROTO_TCP4, a, 80));
	g_assert_false(policy_rule_match(&web, IPPROTO_TCP4, ip("32.1.13.184"),
					 80));
}

/* IPv6: rules of their family; gateway6 and dns6 also by their IPv4
 * twins; --restrict covers IPv6 too */
static void test_check6(void)
{
	static const char *const opts[] = {
		"deny", "10.0.2.2/32:22", "allow", "[2001:db8::/32]:443",
		"deny", "2001:db8::/32", "deny", "0.0.0.0/0", NULL,
	};
	static const char *const ropts[] = {
		"restrict", NULL, "allow", "10.0.2.3/32:53", NULL,
	};
	struct capture cap;
	struct usernat *un = instance(&cap, opts);
	uint8_t a[16];

	g_assert_cmpint(policy_check6(un, IPPROTO_TCP4, un->cfg.gw6, 22), ==,
			-EACCES);
	/* "deny 0.0.0.0/0" is IPv4's: the IPv4 twin of gateway6 matches it,
	 * other IPv6 destinations don't */
	g_assert_cmpint(policy_check6(un, IPPROTO_TCP4, un->cfg.gw6, 80), ==,
			-EACCES);
	inet_pton(AF_INET6, "2001:db8::1", a);
	g_assert_cmpint(policy_check6(un, IPPROTO_TCP4, a, 443), ==, 0);
	g_assert_cmpint(policy_check6(un, IPPROTO_TCP4, a, 80), ==, -EACCES);
	g_assert_cmpint(policy_check6(un, IPPROTO_ICMP6, a, 0), ==, -EACCES);
	inet_pton(AF_INET6, "2001:db9::1", a);
	g_assert_cmpint(policy_check6(un, IPPROTO_UDP4, a, 53), ==, 0);
	g_assert_cmpint(policy_check6(un, IPPROTO_ICMP6, a, 0), ==, 0);
	free_instance(un, &cap);

	un = instance(&cap, ropts);
	g_assert_cmpint(policy_check6(un, IPPROTO_UDP4, un->cfg.dns6, 53), ==,
			0);
	g_assert_cmpint(policy_check6(un, IPPROTO_UDP4, un->cfg.gw6, 53), ==,
			-EACCES);
	g_assert_cmpint(policy_check6(un, IPPROTO_ICMP6, a, 0), ==, -EACCES);
	free_instance(un, &cap);
}

static void test_parse_invalid(void)
{
	static const char *const bad[] = {
		"", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8/9", "10.0.0.0/ 8", "10.0.0.0/8x",
		"10.0.0.0/8:", "10.0.0.0/8:0", "10.0.0.0/8:65536",
		"10.0.0.0/8:70000", "10.0.0.0/8:90-80", "10.0.0.0/8:80-",
		"10.0.0.0/8:-80", "10.0.0.0/8:8a", "10.0.0.0/8:1-2-3",
		"10.0.0.0/8:123456", ":80", "/8", "example.com",
		"10.0.0.0/8:80:90", "300.0.0.0/8",
		/* IPv6 */
		"[fe80::/10]:", "[fe80::/129]", "fe80::/129", "[fe80::]x",
		"[fe80::/10]:80-", "fe80::/10:80", "[::1", "[10.0.0.0/8]",
		"[]", "[]:80", "fe80::/-1", "[fe80::/10]:0", "2001:db8::g/32",
	};
	struct policy_rule r;
	char *err = NULL;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("rule '%s'", bad[i]);
		g_assert_cmpint(policy_parse(bad[i], false, &r, &err), ==,
				-EINVAL);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err, "deny"));
		free(err);
		err = NULL;
	}
	g_assert_cmpint(policy_parse(NULL, true, &r, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err, "allow"));
	free(err);
}

static void test_match(void)
{
	struct policy_rule net = parse_ok("10.0.0.0/8", false);
	struct policy_rule web = parse_ok("192.0.2.0/24:80-443", false);
	struct policy_rule all = parse_ok("0.0.0.0/0", false);

	g_assert_true(policy_rule_match(&net, IPPROTO_UDP4, ip("10.9.8.7"), 1));
	g_assert_true(policy_rule_match(&net, IPPROTO_ICMP4, ip("10.0.0.0"),
					0));
	g_assert_false(policy_rule_match(&net, IPPROTO_TCP4, ip("11.0.0.1"),
					 80));
	g_assert_true(policy_rule_match(&web, IPPROTO_TCP4, ip("192.0.2.9"),
					80));
	g_assert_true(policy_rule_match(&web, IPPROTO_UDP4, ip("192.0.2.9"),
					443));
	g_assert_true(policy_rule_match(&web, IPPROTO_TCP4, ip("192.0.2.9"),
					200));
	g_assert_false(policy_rule_match(&web, IPPROTO_TCP4, ip("192.0.2.9"),
					 79));
	g_assert_false(policy_rule_match(&web, IPPROTO_TCP4, ip("192.0.2.9"),
					 444));
	g_assert_false(policy_rule_match(&web, IPPROTO_TCP4, ip("192.0.3.9"),
					 80));
	/* a rule with ports never matches ICMP, which has none */
	g_assert_false(policy_rule_match(&web, IPPROTO_ICMP4, ip("192.0.2.9"),
					 0));
	g_assert_true(policy_rule_match(&all, IPPROTO_ICMP4, ip("8.8.8.8"),
					0));
	g_assert_true(policy_rule_match(&all, IPPROTO_TCP4,
					ip("255.255.255.254"), 65535));
}

static void test_first_match_wins(void)
{
	static const char *const opts[] = {
		"allow", "10.0.0.0/8:53", "deny", "10.0.0.0/8",
		"deny", "192.0.2.0/24:22", "allow", "192.0.2.0/24", NULL,
	};
	struct capture cap;
	struct usernat *un = instance(&cap, opts);

	g_assert_cmpint(policy_check(un, IPPROTO_UDP4, ip("10.1.1.1"), 53), ==,
			0);
	g_assert_cmpint(policy_check(un, IPPROTO_TCP4, ip("10.1.1.1"), 80), ==,
			-EACCES);
	g_assert_cmpint(policy_check(un, IPPROTO_ICMP4, ip("10.1.1.1"), 0), ==,
			-EACCES);
	g_assert_cmpint(policy_check(un, IPPROTO_TCP4, ip("192.0.2.5"), 22),
			==, -EACCES);
	g_assert_cmpint(policy_check(un, IPPROTO_TCP4, ip("192.0.2.5"), 23),
			==, 0);
	/* no rule matches: allowed, the default without --restrict */
	g_assert_cmpint(policy_check(un, IPPROTO_TCP4, ip("198.51.100.1"), 22),
			==, 0);
	g_assert_cmpint(policy_check(un, IPPROTO_ICMP4, ip("198.51.100.1"), 0),
			==, 0);
	free_instance(un, &cap);
}

static void test_restrict(void)
{
	static const char *const opts[] = {
		"restrict", NULL, "allow", "10.0.2.2/32:8000-8099",
		"allow", "198.51.100.0/24", NULL,
	};
	struct capture cap;
	struct usernat *un = instance(&cap, opts);

	g_assert_cmpint(policy_check(un, IPPROTO_TCP4, ip("10.0.2.2"), 8080),
			==, 0);
	g_assert_cmpint(policy_check(un, IPPROTO_TCP4, ip("10.0.2.2"), 22), ==,
			-EACCES);
	g_assert_cmpint(policy_check(un, IPPROTO_ICMP4, ip("10.0.2.2"), 0), ==,
			-EACCES);
	g_assert_cmpint(policy_check(un, IPPROTO_ICMP4, ip("198.51.100.9"), 0),
			==, 0);
	g_assert_cmpint(policy_check(un, IPPROTO_UDP4, ip("8.8.8.8"), 53), ==,
			-EACCES);
	free_instance(un, &cap);
}

static void test_config_keys(void)
{
	struct usernat_config *cfg = usernat_config_new();
	const char *const *k;
	bool seen[3] = { false, false, false };
	char *err = NULL;

	for (k = usernat_config_keys(); *k; k++) {
		seen[0] |= !strcmp(*k, "restrict");
		seen[1] |= !strcmp(*k, "allow");
		seen[2] |= !strcmp(*k, "deny");
	}
	g_assert_true(seen[0] && seen[1] && seen[2]);
	g_assert_true(usernat_config_key_is_flag("restrict"));
	g_assert_false(usernat_config_key_is_flag("allow"));
	g_assert_true(usernat_config_key_repeats("allow"));
	g_assert_true(usernat_config_key_repeats("deny"));
	g_assert_false(usernat_config_key_repeats("restrict"));
	g_assert_nonnull(strstr(usernat_config_help(), "restrict "));
	g_assert_nonnull(strstr(usernat_config_help(), "allow=NET[:PORTS]"));
	g_assert_nonnull(strstr(usernat_config_help(), "deny=NET[:PORTS]"));

	g_assert_cmpint(usernat_config_set(cfg, "restrict", NULL, &err), ==, 0);
	g_assert_cmpint(usernat_config_set(cfg, "restrict", "", &err), ==, 0);
	g_assert_cmpint(usernat_config_set(cfg, "restrict", "yes", &err), ==,
			-EINVAL);
	g_assert_nonnull(strstr(err, "restrict"));
	free(err);
	g_assert_cmpint(usernat_config_set(cfg, "allow", "10.0.0.0/33", &err),
			==, -EINVAL);
	g_assert_nonnull(strstr(err, "allow: '10.0.0.0/33'"));
	free(err);
	g_assert_cmpint(usernat_config_set(cfg, "deny", NULL, &err), ==,
			-EINVAL);
	free(err);
	g_assert_cmpint(usernat_config_set(cfg, "allow", "10.0.0.0/8:53", &err),
			==, 0);
	g_assert_cmpint(usernat_config_set(cfg, "deny", "0.0.0.0/0", &err), ==,
			0);
	g_assert_true(cfg->restricted);
	g_assert_cmpuint(cfg->policy->len, ==, 2);
	g_assert_true(g_array_index(cfg->policy, struct policy_rule, 0).allow);
	g_assert_false(g_array_index(cfg->policy, struct policy_rule, 1).allow);
	usernat_config_free(cfg);
}

/* A refused UDP flow: nothing reaches the host, the guest hears code 13,
 * no flow (and no socket) exists, the counter moves */
static void test_udp_refused(void)
{
	static const char *const opts[] = { "deny", "10.0.2.2/32", NULL };
	struct capture cap;
	struct usernat *un = instance(&cap, opts);
	uint16_t port;
	int srv = udp_server(&port);
	char buf[64];

	udp_send(un, "10.0.2.2", htons(40000), port, "hello", 5);
	pump(un, &cap, 1, 500);
	check_prohibited(&cap, "10.0.2.2", 17);
	g_assert_cmpint(recv(srv, buf, sizeof(buf), MSG_DONTWAIT), <, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 0);
	close(srv);
	free_instance(un, &cap);
}

/* A refused TCP connection: the guest's SYN gets an RST at once, no
 * connect() happens (the listener sees nothing), the counter moves */
static void test_tcp_refused(void)
{
	static const char *const opts[] = { "deny", "10.0.2.2/32", NULL };
	struct capture cap;
	struct usernat *un = instance(&cap, opts);
	uint8_t syn[20] = { 0x9c, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x50,
			    0x02, 0xff, 0xff }, frame[100];
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	uint16_t c;
	size_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(srv, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(srv, 1), ==, 0);
	getsockname(srv, (struct sockaddr *)&a, &al);
	memcpy(syn + 2, &a.sin_port, 2);
	n = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", "10.0.2.2", 6,
		      syn, sizeof(syn), 0);
	c = csum(frame + 34, 20, csum_pseudo4(ip("10.0.2.15"), ip("10.0.2.2"),
					       6, 20));
	memcpy(frame + 34 + 16, &c, 2);
	usernat_input(un, frame, n);
	pump(un, &cap, 1, 300);
	g_assert_cmpuint(cap.frames->len, >=, 1);
	g_assert_cmpint(capture_nth(&cap, 0)->data[23], ==, 6);
	g_assert_true(capture_nth(&cap, 0)->data[34 + 13] & 0x04);	/* RST */
	g_assert_cmpint(accept(srv, NULL, NULL), <, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	close(srv);
	free_instance(un, &cap);
}

/* --restrict with a hole for one port: that flow works, another doesn't */
static void test_udp_allowed_by_rule(void)
{
	struct capture cap;
	struct usernat *un;
	uint16_t port;
	int srv = udp_server(&port);
	char rule[64], buf[64];
	const char *opts[] = { "restrict", NULL, "allow", rule, NULL };
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	int64_t end;
	ssize_t n = -1;

	snprintf(rule, sizeof(rule), "10.0.2.2/32:%u", ntohs(port));
	un = instance(&cap, opts);
	udp_send(un, "10.0.2.2", htons(40000), port, "hello", 5);
	end = g_get_monotonic_time() + 2000000;
	while (n < 0 && g_get_monotonic_time() < end) {
		n = recvfrom(srv, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			g_usleep(10000);
	}
	g_assert_cmpint(n, ==, 5);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "udp_flows"), ==, 1);

	/* the next port is outside the hole */
	udp_send(un, "10.0.2.2", htons(40001),
		 htons((uint16_t)(ntohs(port) + 1)), "x", 1);
	pump(un, &cap, 1, 500);
	check_prohibited(&cap, "10.0.2.2", 17);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	close(srv);
	free_instance(un, &cap);
}

/* ICMP echo NAT: refused with code 13, unless the rule names ports; the
 * gateway's own answer is never subject to the policy */
static void test_icmp(void)
{
	static const char *const opts[] = {
		"restrict", NULL, "allow", "198.51.100.0/24:1-65535", NULL,
	};
	struct capture cap;
	struct usernat *un = instance(&cap, opts);

	echo_send(un, "10.0.2.2");
	pump(un, &cap, 1, 500);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpint(capture_nth(&cap, 0)->data[34], ==, 0);	/* reply */
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 0);

	capture_clear(&cap);
	echo_send(un, "198.51.100.1");
	pump(un, &cap, 1, 500);
	if (usernat_stat(un, "drop_icmp_nat")) {
		/* no ping socket and no raw socket here: echo NAT is off
		 * before any flow is considered */
		g_test_skip("ICMP echo NAT unavailable (no ping or raw "
			    "sockets for this user)");
	} else {
		check_prohibited(&cap, "198.51.100.1", 1);
		g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
		g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 0);
	}
	free_instance(un, &cap);
}

/* A DNS query (id 0x4242, "a." A IN) from the guest to the forwarder */
static void dns_send(struct usernat *un)
{
	static const uint8_t q[] = { 0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0,
				     0, 0, 1, 'a', 0, 0, 1, 0, 1 };

	udp_send(un, "10.0.2.3", htons(40053), htons(53), q, sizeof(q));
}

/* Under --restrict the DNS forwarder answers REFUSED at once; allowed by a
 * rule for its address and port 53, queries reach the upstream */
static void test_dns(void)
{
	struct capture cap;
	struct usernat *un;
	uint16_t port;
	int srv = udp_server(&port);
	char up[32], buf[512];
	const char *opts[] = { "restrict", NULL, "dns-upstream", up, NULL,
			       NULL, NULL };
	const uint8_t *d;
	GByteArray *f;
	int64_t end;
	ssize_t n = -1;

	snprintf(up, sizeof(up), "127.0.0.1:%u", ntohs(port));
	un = instance(&cap, opts);
	dns_send(un);
	pump(un, &cap, 1, 500);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	f = capture_nth(&cap, 0);
	g_assert_cmpint(f->data[23], ==, 17);
	d = f->data + 42;
	g_assert_cmphex(d[0] << 8 | d[1], ==, 0x4242);
	g_assert_cmpint(d[2] & 0x80, ==, 0x80);		/* a response */
	g_assert_cmpint(d[3] & 0x0f, ==, 5);		/* REFUSED */
	g_assert_cmpint(recv(srv, buf, sizeof(buf), MSG_DONTWAIT), <, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "dns_queries"), ==, 0);
	free_instance(un, &cap);

	opts[4] = "allow";
	opts[5] = "10.0.2.3/32:53";
	un = instance(&cap, opts);
	dns_send(un);
	end = g_get_monotonic_time() + 2000000;
	while (n < 0 && g_get_monotonic_time() < end) {
		if (poll(&(struct pollfd){ .fd = usernat_fd(un),
					   .events = POLLIN }, 1, 10) > 0)
			usernat_service(un);
		n = recv(srv, buf, sizeof(buf), MSG_DONTWAIT);
	}
	g_assert_cmpint(n, ==, 19);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 0);
	close(srv);
	free_instance(un, &cap);
}

/* DHCP is served in this process: --restrict doesn't touch it */
static void test_dhcp_unaffected(void)
{
	static const char *const opts[] = { "restrict", NULL, "deny",
					    "0.0.0.0/0", NULL };
	struct capture cap;
	struct usernat *un = instance(&cap, opts);
	uint8_t m[300] = { 1, 1, 6, 0, 0, 0, 0x42, 0x42 }, frame[400];
	uint8_t l4[8 + sizeof(m)];
	uint16_t sp = htons(68), dp = htons(67);
	size_t n;

	memcpy(m + 28, guest_mac, 6);
	m[236] = 0x63; m[237] = 0x82; m[238] = 0x53; m[239] = 0x63;
	m[240] = 53; m[241] = 1; m[242] = 1;	/* DHCPDISCOVER */
	m[243] = 255;
	memcpy(l4, &sp, 2);
	memcpy(l4 + 2, &dp, 2);
	memcpy(l4 + 8, m, sizeof(m));
	n = build_ip4(frame, bcast_mac, guest_mac, "0.0.0.0",
		      "255.255.255.255", 17, l4, sizeof(l4), 1);
	usernat_input(un, frame, n);
	pump(un, &cap, 1, 500);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpuint(usernat_stat(un, "dhcp_discover"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "drop_policy"), ==, 0);
	free_instance(un, &cap);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/policy/parse/valid", test_parse_valid);
	g_test_add_func("/policy/parse/invalid", test_parse_invalid);
	g_test_add_func("/policy/parse/valid6", test_parse_valid6);
	g_test_add_func("/policy/match6", test_match6);
	g_test_add_func("/policy/check6", test_check6);
	g_test_add_func("/policy/match", test_match);
	g_test_add_func("/policy/first-match-wins", test_first_match_wins);
	g_test_add_func("/policy/restrict", test_restrict);
	g_test_add_func("/policy/config-keys", test_config_keys);
	g_test_add_func("/policy/udp/refused", test_udp_refused);
	g_test_add_func("/policy/tcp/refused", test_tcp_refused);
	g_test_add_func("/policy/udp/allowed-by-rule",
			test_udp_allowed_by_rule);
	g_test_add_func("/policy/icmp", test_icmp);
	g_test_add_func("/policy/dns", test_dns);
	g_test_add_func("/policy/dhcp-unaffected", test_dhcp_unaffected);
	return g_test_run();
}
