// SPDX-License-Identifier: GPL-2.0-or-later
/* test-dhcp.c - DHCPv4 server: whole frames in, whole frames out
 *
 * Every test builds a real instance through the public API, feeds it
 * Ethernet + IPv4 + UDP + DHCP frames with usernat_input() and parses what
 * comes out of the output callback.
 */
#include <arpa/inet.h>
#include <string.h>
#include <glib.h>

#include "checksum.h"
#include "dhcp.h"
#include "usernat.h"
#include "wire/dhcp.h"

static const uint8_t mac_a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static const uint8_t mac_c[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };
static const uint8_t mac_d[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x59 };
static const uint8_t mac_static[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Offsets in a DHCP message (RFC 2131 2, figure 1) */
#define O_OP		0
#define O_HTYPE		1
#define O_HLEN		2
#define O_XID		4
#define O_FLAGS		10
#define O_CIADDR	12
#define O_YIADDR	16
#define O_SIADDR	20
#define O_GIADDR	24
#define O_CHADDR	28
#define O_SNAME		44
#define O_FILE		108
#define O_MAGIC		236
#define O_OPTS		240

/* An instance and what it sent */
struct t {
	struct usernat *un;
	GPtrArray *frames;	/* GByteArray * */
	uint8_t our_mac[6];	/* learnt from the first reply */
};

/* A message from a client under construction */
struct msg {
	uint8_t b[1500];
	size_t len;
};

/* A reply, copied out of the captured frame */
struct reply {
	uint8_t eth_dst[6];
	uint32_t ip_src, ip_dst;
	uint8_t b[65536];
	size_t len;
	uint8_t type;
};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	g_assert_cmpint(inet_pton(AF_INET, s, &a), ==, 1);
	return a.s_addr;
}

static void t_capture(void *opaque, const void *frame, size_t len)
{
	struct t *t = opaque;
	GByteArray *b = g_byte_array_sized_new((guint)len);

	g_byte_array_append(b, frame, (guint)len);
	g_ptr_array_add(t->frames, b);
}

/* @opts: key, value pairs, NULL-terminated; lease time 3600 unless given */
static void t_start(struct t *t, const char *const *opts)
{
	struct usernat_config *cfg = usernat_config_new();
	char *err = NULL;

	memset(t, 0, sizeof(*t));
	t->frames = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_byte_array_unref);
	g_assert_cmpint(usernat_config_set(cfg, "lease-time", "3600", &err),
			==, 0);
	for (; opts && *opts; opts += 2) {
		if (usernat_config_set(cfg, opts[0], opts[1], &err))
			g_error("config %s=%s: %s", opts[0], opts[1], err);
	}
	t->un = usernat_new(cfg, t_capture, t, &err);
	if (!t->un)
		g_error("usernat_new: %s", err);
	usernat_config_free(cfg);
}

static void t_stop(struct t *t)
{
	usernat_free(t->un);
	g_ptr_array_unref(t->frames);
}

static uint64_t t_stat(struct t *t, const char *name)
{
	return usernat_stat(t->un, name);
}

/* Start a client message: fixed part, magic cookie, option 53 */
static void msg_init(struct msg *m, uint8_t type, const uint8_t *mac)
{
	static uint32_t xid = 0x1000;

	memset(m, 0, sizeof(*m));
	m->b[O_OP] = DHCP_BOOTREQUEST;
	m->b[O_HTYPE] = 1;
	m->b[O_HLEN] = 6;
	xid++;
	memcpy(m->b + O_XID, &xid, 4);
	memcpy(m->b + O_CHADDR, mac, 6);
	m->b[O_MAGIC] = 0x63;
	m->b[O_MAGIC + 1] = 0x82;
	m->b[O_MAGIC + 2] = 0x53;
	m->b[O_MAGIC + 3] = 0x63;
	m->len = O_OPTS;
	if (type) {
		m->b[m->len++] = DHCP_OPT_MSG_TYPE;
		m->b[m->len++] = 1;
		m->b[m->len++] = type;
	}
}

static void msg_opt(struct msg *m, uint8_t type, const void *val, size_t len)
{
	g_assert_cmpuint(m->len + 2 + len, <=, sizeof(m->b));
	m->b[m->len++] = type;
	m->b[m->len++] = (uint8_t)len;
	memcpy(m->b + m->len, val, len);
	m->len += len;
}

static void msg_ip(struct msg *m, uint8_t type, const char *addr)
{
	uint32_t a = ip(addr);

	msg_opt(m, type, &a, 4);
}

static void msg_end(struct msg *m)
{
	m->b[m->len++] = DHCP_OPT_END;
}

static void msg_ciaddr(struct msg *m, const char *addr)
{
	uint32_t a = ip(addr);

	memcpy(m->b + O_CIADDR, &a, 4);
}

/* Send @m (already ended) from @mac, @saddr to @daddr, as one frame */
static void t_send_from(struct t *t, const struct msg *m, const uint8_t *mac,
			const char *saddr, const char *daddr)
{
	uint8_t f[14 + 20 + 8 + sizeof(m->b)];
	uint8_t *ih = f + 14, *uh = f + 34;
	uint32_t s = ip(saddr), d = ip(daddr);
	size_t ulen = 8 + m->len;
	uint16_t c;

	memcpy(f, d == INADDR_BROADCAST ? bcast : t->our_mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ih, 0, 20);
	ih[0] = 0x45;
	ih[2] = (uint8_t)((20 + ulen) >> 8);
	ih[3] = (uint8_t)(20 + ulen);
	ih[8] = 64;
	ih[9] = 17;
	memcpy(ih + 12, &s, 4);
	memcpy(ih + 16, &d, 4);
	c = csum(ih, 20, 0);
	memcpy(ih + 10, &c, 2);
	memset(uh, 0, 8);
	uh[1] = 68;
	uh[3] = 67;
	uh[4] = (uint8_t)(ulen >> 8);
	uh[5] = (uint8_t)ulen;		/* checksum 0: none (RFC 768) */
	memcpy(uh + 8, m->b, m->len);
	usernat_input(t->un, f, 34 + ulen);
}

/* Send @m from its chaddr, 0.0.0.0 to 255.255.255.255 */
static void t_send(struct t *t, const struct msg *m)
{
	t_send_from(t, m, m->b + O_CHADDR, "0.0.0.0", "255.255.255.255");
}

/* Walk the reply's options; fail the test if they are malformed */
static void r_walk(const struct reply *r, uint8_t *types, size_t *ntypes)
{
	size_t i = O_OPTS, n = 0;

	g_assert_cmpuint(r->len, >=, O_OPTS + 1);
	while (i < r->len && r->b[i] != DHCP_OPT_END) {
		if (r->b[i] == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		g_assert_cmpuint(i + 2, <=, r->len);
		g_assert_cmpuint(i + 2 + r->b[i + 1], <=, r->len);
		if (types)
			types[n++] = r->b[i];
		i += 2 + r->b[i + 1];
	}
	g_assert_cmpuint(i, <, r->len);		/* end option present */
	for (i++; i < r->len; i++)
		g_assert_cmpuint(r->b[i], ==, 0);	/* padding after it */
	if (ntypes)
		*ntypes = n;
}

/*
 * Value of option @type, all instances concatenated (RFC 3396).
 * Return: number of instances
 */
static int r_opt(const struct reply *r, uint8_t type, uint8_t *val,
		 size_t *len)
{
	size_t i = O_OPTS, l = 0;
	int n = 0;

	while (i < r->len && r->b[i] != DHCP_OPT_END) {
		if (r->b[i] == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (r->b[i] == type) {
			if (val)
				memcpy(val + l, r->b + i + 2, r->b[i + 1]);
			l += r->b[i + 1];
			n++;
		}
		i += 2 + r->b[i + 1];
	}
	if (len)
		*len = l;
	return n;
}

static bool r_has(const struct reply *r, uint8_t type)
{
	return r_opt(r, type, NULL, NULL) > 0;
}

static uint32_t r_opt32(const struct reply *r, uint8_t type)
{
	uint8_t v[1024];
	uint32_t x;
	size_t l;

	g_assert_cmpint(r_opt(r, type, v, &l), ==, 1);
	g_assert_cmpuint(l, ==, 4);
	memcpy(&x, v, 4);
	return x;
}

static void r_opt_str(const struct reply *r, uint8_t type, const char *want)
{
	uint8_t v[1024];
	size_t l;

	g_assert_cmpint(r_opt(r, type, v, &l), ==, 1);
	g_assert_cmpuint(l, ==, strlen(want));
	g_assert_cmpmem(v, l, want, strlen(want));
}

static uint32_t r_field(const struct reply *r, size_t off)
{
	uint32_t x;

	memcpy(&x, r->b + off, 4);
	return x;
}

/*
 * Take the one frame the stack sent, check its framing and copy out the
 * DHCP reply.  Return: false if nothing was sent
 */
static bool t_reply(struct t *t, struct reply *r)
{
	GByteArray *f;
	const uint8_t *ih, *uh;
	size_t ulen;
	uint16_t sport, dport;

	memset(r, 0, sizeof(*r));
	if (!t->frames->len)
		return false;
	g_assert_cmpuint(t->frames->len, ==, 1);
	f = g_ptr_array_index(t->frames, 0);
	g_assert_cmpuint(f->len, >=, 14 + 20 + 8 + O_OPTS);
	g_assert_cmpuint(f->data[12], ==, 0x08);
	g_assert_cmpuint(f->data[13], ==, 0x00);
	memcpy(r->eth_dst, f->data, 6);
	memcpy(t->our_mac, f->data + 6, 6);
	ih = f->data + 14;
	g_assert_cmpuint(ih[0], ==, 0x45);
	g_assert_cmpuint(csum(ih, 20, 0), ==, 0);
	g_assert_cmpuint(ih[9], ==, 17);
	memcpy(&r->ip_src, ih + 12, 4);
	memcpy(&r->ip_dst, ih + 16, 4);
	uh = ih + 20;
	sport = (uint16_t)(uh[0] << 8 | uh[1]);
	dport = (uint16_t)(uh[2] << 8 | uh[3]);
	g_assert_cmpuint(sport, ==, 67);
	g_assert_cmpuint(dport, ==, 68);
	ulen = (size_t)(uh[4] << 8 | uh[5]);
	g_assert_cmpuint(ulen, >=, 8);
	g_assert_cmpuint((size_t)(ih[2] << 8 | ih[3]), ==, 20 + ulen);
	g_assert_cmpuint(14 + 20 + ulen, <=, f->len);
	r->len = ulen - 8;
	memcpy(r->b, uh + 8, r->len);
	g_ptr_array_set_size(t->frames, 0);

	g_assert_cmpuint(r->b[O_OP], ==, DHCP_BOOTREPLY);
	g_assert_cmpuint(r->b[O_HTYPE], ==, 1);
	g_assert_cmpuint(r->b[O_HLEN], ==, 6);
	g_assert_cmpuint(r->b[O_MAGIC], ==, 0x63);
	g_assert_cmpuint(r->b[O_MAGIC + 3], ==, 0x63);
	g_assert_cmpuint(r->len, >=, 300);	/* RFC 951 size */
	r_walk(r, NULL, NULL);
	g_assert_cmpint(r_opt(r, DHCP_OPT_MSG_TYPE, &r->type, NULL), ==, 1);
	g_assert_cmpuint(r_opt32(r, DHCP_OPT_SERVER_ID), ==, ip("10.0.2.2"));
	g_assert_cmpuint(r_field(r, O_SIADDR), ==, 0);
	g_assert_cmpuint(r_field(r, O_GIADDR), ==, 0);
	return true;
}

/* Send @m and expect a reply of @type; returns it in @r */
static void t_expect(struct t *t, const struct msg *m, uint8_t type,
		     struct reply *r)
{
	t_send(t, m);
	g_assert_true(t_reply(t, r));
	g_assert_cmpuint(r->type, ==, type);
	g_assert_cmpmem(r->b + O_XID, 4, m->b + O_XID, 4);
	g_assert_cmpmem(r->b + O_CHADDR, 16, m->b + O_CHADDR, 16);
}

static void t_no_reply(struct t *t)
{
	g_assert_cmpuint(t->frames->len, ==, 0);
}

/* DISCOVER from @mac (optionally asking for @want); returns the offer */
static uint32_t t_discover(struct t *t, const uint8_t *mac, const char *want)
{
	struct reply r;
	struct msg m;

	msg_init(&m, DHCPDISCOVER, mac);
	if (want)
		msg_ip(&m, DHCP_OPT_REQ_IP, want);
	msg_end(&m);
	t_expect(t, &m, DHCPOFFER, &r);
	return r_field(&r, O_YIADDR);
}

/* SELECTING request for @addr from @mac; returns the reply type */
static uint8_t t_select(struct t *t, const uint8_t *mac, uint32_t addr,
			struct reply *r)
{
	struct msg m;

	msg_init(&m, DHCPREQUEST, mac);
	msg_ip(&m, DHCP_OPT_SERVER_ID, "10.0.2.2");
	msg_opt(&m, DHCP_OPT_REQ_IP, &addr, 4);
	msg_end(&m);
	t_send(t, &m);
	g_assert_true(t_reply(t, r));
	return r->type;
}

/* DISCOVER then REQUEST: the bound address */
static uint32_t t_bind(struct t *t, const uint8_t *mac)
{
	uint32_t a = t_discover(t, mac, NULL);
	struct reply r;

	g_assert_cmpuint(t_select(t, mac, a, &r), ==, DHCPACK);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, a);
	return a;
}

static void t_release(struct t *t, const uint8_t *mac, uint32_t addr)
{
	struct msg m;
	char s[16];

	inet_ntop(AF_INET, &addr, s, sizeof(s));
	msg_init(&m, DHCPRELEASE, mac);
	msg_ciaddr(&m, s);
	msg_ip(&m, DHCP_OPT_SERVER_ID, "10.0.2.2");
	msg_end(&m);
	t_send_from(t, &m, mac, s, "10.0.2.2");
	t_no_reply(t);
}

/* ------------------------------------------------------------------------ */

static const char *const full_opts[] = {
	"domain", "example.com",
	"dns-search", "example.com,lab.example.com,example.org",
	"hostname", "guest",
	NULL
};

/* Expected option 119 for full_opts, RFC 3397 with compression */
static const uint8_t full_search[] = {
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	3, 'l', 'a', 'b', 0xc0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
};

/* All configuration options, in the documented order */
static void check_config_opts(const struct reply *r, bool lease)
{
	static const uint8_t order_lease[] = { 53, 54, 51, 58, 59, 1, 28, 3,
					       6, 15, 119, 26, 12 };
	static const uint8_t order_inform[] = { 53, 54, 1, 28, 3, 6, 15, 119,
						26, 12 };
	uint8_t types[64], v[1024];
	size_t n, l;

	r_walk(r, types, &n);
	if (lease) {
		g_assert_cmpmem(types, n, order_lease, sizeof(order_lease));
		g_assert_cmpuint(ntohl(r_opt32(r, DHCP_OPT_LEASE_TIME)), ==,
				 3600);
		g_assert_cmpuint(ntohl(r_opt32(r, DHCP_OPT_T1)), ==, 1800);
		g_assert_cmpuint(ntohl(r_opt32(r, DHCP_OPT_T2)), ==, 3150);
	} else {
		g_assert_cmpmem(types, n, order_inform, sizeof(order_inform));
	}
	g_assert_cmpuint(r_opt32(r, DHCP_OPT_SUBNET), ==, ip("255.255.255.0"));
	g_assert_cmpuint(r_opt32(r, DHCP_OPT_BROADCAST), ==, ip("10.0.2.255"));
	g_assert_cmpuint(r_opt32(r, DHCP_OPT_ROUTER), ==, ip("10.0.2.2"));
	g_assert_cmpuint(r_opt32(r, DHCP_OPT_DNS), ==, ip("10.0.2.3"));
	r_opt_str(r, DHCP_OPT_DOMAIN, "example.com");
	g_assert_cmpint(r_opt(r, DHCP_OPT_SEARCH, v, &l), ==, 1);
	g_assert_cmpmem(v, l, full_search, sizeof(full_search));
	g_assert_cmpint(r_opt(r, DHCP_OPT_MTU, v, &l), ==, 1);
	g_assert_cmpuint(l, ==, 2);
	g_assert_cmpuint(v[0] << 8 | v[1], ==, 1500);
}

static void test_discover_offer(void)
{
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, full_opts);
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_end(&m);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, ip("10.0.2.15"));
	g_assert_cmpuint(r_field(&r, O_CIADDR), ==, 0);
	check_config_opts(&r, true);
	r_opt_str(&r, DHCP_OPT_HOSTNAME, "guest");
	/* RFC 2131 4.1: no broadcast bit, so unicast to yiaddr at chaddr */
	g_assert_cmpmem(r.eth_dst, 6, mac_a, 6);
	g_assert_cmpuint(r.ip_dst, ==, ip("10.0.2.15"));
	g_assert_cmpuint(r.ip_src, ==, ip("10.0.2.2"));
	g_assert_cmpuint(r.len, <=, 576 - 28);
	g_assert_cmpuint(t_stat(&t, "dhcp_discover"), ==, 1);
	/* An offer is no lease */
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 0);
	t_stop(&t);
}

static void test_broadcast_flag(void)
{
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	msg_init(&m, DHCPDISCOVER, mac_a);
	m.b[O_FLAGS] = 0x80;
	msg_end(&m);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_cmpmem(r.eth_dst, 6, bcast, 6);
	g_assert_cmpuint(r.ip_dst, ==, INADDR_BROADCAST);
	g_assert_cmpuint(r.b[O_FLAGS], ==, 0x80);	/* echoed */
	t_stop(&t);
}

static void test_request_ack(void)
{
	struct dhcp_lease_info li[4];
	struct reply r;
	struct t t;

	t_start(&t, full_opts);
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_select(&t, mac_a, ip("10.0.2.15"), &r), ==,
			 DHCPACK);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, ip("10.0.2.15"));
	check_config_opts(&r, true);
	r_opt_str(&r, DHCP_OPT_HOSTNAME, "guest");
	g_assert_cmpmem(r.eth_dst, 6, mac_a, 6);
	g_assert_cmpuint(r.ip_dst, ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_stat(&t, "dhcp_request"), ==, 1);
	g_assert_cmpuint(t_stat(&t, "dhcp_ack"), ==, 1);

	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 1);
	g_assert_cmpuint(dhcp_leases(t.un, li, 0), ==, 0);
	g_assert_cmpuint(dhcp_leases(t.un, li, G_N_ELEMENTS(li)), ==, 1);
	g_assert_cmpmem(li[0].mac, 6, mac_a, 6);
	g_assert_cmpuint(li[0].ip, ==, ip("10.0.2.15"));
	g_assert_false(li[0].is_static);
	t_stop(&t);
}

static void test_renew(void)
{
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	/* RENEWING: ciaddr, no server id, no requested address, unicast */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ciaddr(&m, "10.0.2.15");
	msg_end(&m);
	t_send_from(&t, &m, mac_a, "10.0.2.15", "10.0.2.2");
	g_assert_true(t_reply(&t, &r));
	g_assert_cmpuint(r.type, ==, DHCPACK);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, ip("10.0.2.15"));
	g_assert_cmpuint(r_field(&r, O_CIADDR), ==, ip("10.0.2.15"));
	g_assert_cmpuint(r.ip_dst, ==, ip("10.0.2.15"));
	g_assert_cmpmem(r.eth_dst, 6, mac_a, 6);
	/* Renewing an address we never give (outside the pool): DHCPNAK */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ciaddr(&m, "10.0.2.5");
	msg_end(&m);
	t_send_from(&t, &m, mac_a, "10.0.2.5", "10.0.2.2");
	g_assert_true(t_reply(&t, &r));
	g_assert_cmpuint(r.type, ==, DHCPNAK);
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 1);
	t_stop(&t);
}

static void test_second_client(void)
{
	struct t t;

	t_start(&t, NULL);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.16"));
	/* Rediscovery while bound: the same address */
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.15"));
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 2);
	t_stop(&t);
}

static void test_release_same_ip(void)
{
	struct t t;

	t_start(&t, NULL);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	t_release(&t, mac_a, ip("10.0.2.15"));
	g_assert_cmpuint(t_stat(&t, "dhcp_release"), ==, 1);
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 0);
	/* A new client doesn't get it while fresh addresses remain... */
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.16"));
	/* ...and the first one gets it back */
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	t_stop(&t);
}

static void test_init_reboot(void)
{
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	/* INIT-REBOOT for an address on another network: DHCPNAK */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ip(&m, DHCP_OPT_REQ_IP, "192.168.1.50");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, 0);
	g_assert_cmpuint(r_field(&r, O_CIADDR), ==, 0);
	g_assert_false(r_has(&r, DHCP_OPT_LEASE_TIME));
	g_assert_false(r_has(&r, DHCP_OPT_SUBNET));
	/* RFC 2131 4.1: DHCPNAK is broadcast */
	g_assert_cmpmem(r.eth_dst, 6, bcast, 6);
	g_assert_cmpuint(r.ip_dst, ==, INADDR_BROADCAST);
	g_assert_cmpuint(t_stat(&t, "dhcp_nak"), ==, 1);

	/* In the network, but outside the pool: DHCPNAK */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.5");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);

	/* Someone else's address: DHCPNAK */
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.15"));
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.15");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);
	g_assert_cmpuint(t_stat(&t, "dhcp_nak"), ==, 3);

	/* A free pool address: ours to give, so DHCPACK (authoritative) */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.77");
	msg_end(&m);
	t_expect(&t, &m, DHCPACK, &r);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, ip("10.0.2.77"));
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.77"));
	t_stop(&t);
}

static void test_requested_ip(void)
{
	struct t t;

	t_start(&t, NULL);
	g_assert_cmpuint(t_discover(&t, mac_a, "10.0.2.50"), ==,
			 ip("10.0.2.50"));
	/* Held for mac_a: not offered to another client that asks */
	g_assert_cmpuint(t_discover(&t, mac_b, "10.0.2.50"), ==,
			 ip("10.0.2.15"));
	/* Not in the pool, or ours: ignored */
	g_assert_cmpuint(t_discover(&t, mac_c, "10.0.2.3"), ==,
			 ip("10.0.2.16"));
	g_assert_cmpuint(t_discover(&t, mac_d, "192.168.0.9"), ==,
			 ip("10.0.2.17"));
	t_stop(&t);
}

static void test_static_lease(void)
{
	static const char *const opts[] = {
		"hostname", "guest",
		"dhcp-host", "52:54:00:12:34:99,10.0.2.99,myvm",
		NULL
	};
	struct dhcp_lease_info li[4];
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_discover(&t, mac_static, NULL), ==,
			 ip("10.0.2.99"));
	g_assert_cmpuint(t_select(&t, mac_static, ip("10.0.2.99"), &r), ==,
			 DHCPACK);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, ip("10.0.2.99"));
	r_opt_str(&r, DHCP_OPT_HOSTNAME, "myvm");
	g_assert_cmpuint(dhcp_leases(t.un, li, G_N_ELEMENTS(li)), ==, 1);
	g_assert_true(li[0].is_static);
	g_assert_cmpstr(li[0].name, ==, "myvm");
	g_assert_cmpuint(li[0].ip, ==, ip("10.0.2.99"));

	/* The static client can't have another address */
	g_assert_cmpuint(t_select(&t, mac_static, ip("10.0.2.15"), &r), ==,
			 DHCPNAK);
	/* Nobody else gets the static address, even asking for it */
	g_assert_cmpuint(t_discover(&t, mac_a, "10.0.2.99"), ==,
			 ip("10.0.2.15"));
	msg_init(&m, DHCPREQUEST, mac_b);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.99");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);
	/* Others get the configured host name */
	g_assert_cmpuint(t_select(&t, mac_a, ip("10.0.2.15"), &r), ==,
			 DHCPACK);
	r_opt_str(&r, DHCP_OPT_HOSTNAME, "guest");
	t_stop(&t);
}

static void test_static_in_small_pool(void)
{
	static const char *const opts[] = {
		"dhcp-start", "10.0.2.15",
		"dhcp-end", "10.0.2.16",
		"dhcp-host", "52:54:00:12:34:99,10.0.2.15",
		NULL
	};
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.16"));
	g_assert_cmpuint(t_bind(&t, mac_static), ==, ip("10.0.2.15"));
	t_stop(&t);
}

static void test_decline(void)
{
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	msg_init(&m, DHCPDECLINE, mac_a);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.15");
	msg_ip(&m, DHCP_OPT_SERVER_ID, "10.0.2.2");
	msg_end(&m);
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "dhcp: *declined 10.0.2.15*");
	t_send(&t, &m);
	g_test_assert_expected_messages();
	t_no_reply(&t);
	g_assert_cmpuint(t_stat(&t, "dhcp_decline"), ==, 1);
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 0);
	/* Nobody gets the declined address, not even by asking */
	g_assert_cmpuint(t_discover(&t, mac_b, "10.0.2.15"), ==,
			 ip("10.0.2.16"));
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.17"));
	t_stop(&t);
}

static void test_inform(void)
{
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, full_opts);
	msg_init(&m, DHCPINFORM, mac_a);
	msg_ciaddr(&m, "10.0.2.77");
	msg_end(&m);
	t_send_from(&t, &m, mac_a, "10.0.2.77", "255.255.255.255");
	g_assert_true(t_reply(&t, &r));
	g_assert_cmpuint(r.type, ==, DHCPACK);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, 0);
	g_assert_cmpuint(r_field(&r, O_CIADDR), ==, ip("10.0.2.77"));
	/* RFC 2131 3.4: no lease time; configuration as usual */
	g_assert_false(r_has(&r, DHCP_OPT_LEASE_TIME));
	g_assert_false(r_has(&r, DHCP_OPT_T1));
	g_assert_false(r_has(&r, DHCP_OPT_T2));
	check_config_opts(&r, false);
	/* RFC 2131 4.1: unicast to ciaddr */
	g_assert_cmpuint(r.ip_dst, ==, ip("10.0.2.77"));
	g_assert_cmpmem(r.eth_dst, 6, mac_a, 6);
	g_assert_cmpuint(t_stat(&t, "dhcp_inform"), ==, 1);
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 0);
	t_stop(&t);
}

static void test_pool_full(void)
{
	static const char *const opts[] = {
		"dhcp-start", "10.0.2.15",
		"dhcp-end", "10.0.2.16",
		NULL
	};
	struct msg m;
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.16"));
	msg_init(&m, DHCPDISCOVER, mac_c);
	msg_end(&m);
	/* One warning for several packets: rate-limited */
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "dhcp: no free address for 52:54:00:12:34:58*");
	t_send(&t, &m);
	t_send(&t, &m);
	t_send(&t, &m);
	g_test_assert_expected_messages();
	t_no_reply(&t);
	g_assert_cmpuint(t_stat(&t, "dhcp_pool_full"), ==, 3);
	t_stop(&t);
}

/* The gateway and DNS addresses inside the pool are never handed out */
static void test_pool_skips_ours(void)
{
	static const char *const opts[] = {
		"dhcp-start", "10.0.2.1",
		"dhcp-end", "10.0.2.4",
		NULL
	};
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.1"));
	g_assert_cmpuint(t_discover(&t, mac_b, "10.0.2.2"), ==,
			 ip("10.0.2.4"));
	/* bound: an offer alone would be taken back for c (dhcp_pick()) */
	g_assert_cmpuint(t_select(&t, mac_b, ip("10.0.2.4"), &r), ==, DHCPACK);
	msg_init(&m, DHCPREQUEST, mac_c);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.3");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);
	msg_init(&m, DHCPDISCOVER, mac_c);
	msg_end(&m);
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "dhcp: no free address*");
	t_send(&t, &m);
	g_test_assert_expected_messages();
	t_no_reply(&t);
	g_assert_cmpuint(t_stat(&t, "dhcp_pool_full"), ==, 1);
	t_stop(&t);
}

static void test_pool_reclaim(void)
{
	static const char *const opts[] = {
		"dhcp-start", "10.0.2.15",
		"dhcp-end", "10.0.2.16",
		NULL
	};
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.16"));
	/* b's lease ends first, so it is the least recently expired */
	t_release(&t, mac_b, ip("10.0.2.16"));
	g_usleep(20000);
	t_release(&t, mac_a, ip("10.0.2.15"));
	g_assert_cmpuint(t_bind(&t, mac_c), ==, ip("10.0.2.16"));
	/* a still has its address back */
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_stat(&t, "dhcp_pool_full"), ==, 0);
	t_stop(&t);
}

static void test_other_server(void)
{
	static const char *const opts[] = {
		"dhcp-start", "10.0.2.15",
		"dhcp-end", "10.0.2.15",
		NULL
	};
	struct msg m;
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.15"));
	/* mac_a picks another server: silence, and the offer is dropped
	 * (were it kept, it would be taken back anyway: offer-reclaimed) */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_ip(&m, DHCP_OPT_SERVER_ID, "10.0.2.200");
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.200");
	msg_end(&m);
	t_send(&t, &m);
	t_no_reply(&t);
	g_assert_cmpuint(t_stat(&t, "dhcp_request"), ==, 1);
	g_assert_cmpuint(t_stat(&t, "drop_dhcp_malformed"), ==, 0);
	g_assert_cmpuint(t_discover(&t, mac_b, NULL), ==, ip("10.0.2.15"));
	t_stop(&t);
}

/* With no free address, a new client takes the oldest offer nobody
 * requested (RFC 2131 4.3.1: offers need not be reserved), never a bound
 * lease: DISCOVERs from fresh MACs can't lock other guests out */
static void test_offer_reclaimed(void)
{
	static const char *const opts[] = {
		"dhcp-start", "10.0.2.15",
		"dhcp-end", "10.0.2.16",
		"log-level", "warning",
		NULL
	};
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	/* b only discovers (a flooder's pattern): its offer is held... */
	g_assert_cmpuint(t_discover(&t, mac_b, NULL), ==, ip("10.0.2.16"));
	/* ...until c needs it: c gets it, never a's bound lease */
	g_assert_cmpuint(t_discover(&t, mac_c, NULL), ==, ip("10.0.2.16"));
	g_assert_cmpuint(t_select(&t, mac_b, ip("10.0.2.16"), &r), ==,
			 DHCPNAK);
	g_assert_cmpuint(t_select(&t, mac_c, ip("10.0.2.16"), &r), ==,
			 DHCPACK);
	/* Both leases bound: d gets nothing, counted, and takes nothing */
	msg_init(&m, DHCPDISCOVER, mac_d);
	msg_end(&m);
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "dhcp: no free address*");
	t_send(&t, &m);
	g_test_assert_expected_messages();
	t_no_reply(&t);
	g_assert_cmpuint(t_stat(&t, "dhcp_pool_full"), ==, 1);
	/* the guests with leases renew them */
	g_assert_cmpuint(t_select(&t, mac_a, ip("10.0.2.15"), &r), ==,
			 DHCPACK);
	g_assert_cmpuint(t_select(&t, mac_c, ip("10.0.2.16"), &r), ==,
			 DHCPACK);
	t_stop(&t);
}

/* A guest is its MAC: a message whose chaddr is not the frame's source
 * is dropped and counted, whatever its type, and changes nothing */
static void test_chaddr_spoofed(void)
{
	static const uint8_t types[] = { DHCPDISCOVER, DHCPREQUEST,
					 DHCPRELEASE, DHCPDECLINE,
					 DHCPINFORM };
	struct reply r;
	struct msg m;
	struct t t;
	size_t i;

	t_start(&t, NULL);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	for (i = 0; i < G_N_ELEMENTS(types); i++) {
		msg_init(&m, types[i], mac_a);	/* in a's name, from b */
		msg_ip(&m, DHCP_OPT_SERVER_ID, "10.0.2.2");
		msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.15");
		msg_ciaddr(&m, "10.0.2.15");
		msg_end(&m);
		t_send_from(&t, &m, mac_b, "0.0.0.0", "255.255.255.255");
		t_no_reply(&t);
	}
	g_assert_cmpuint(t_stat(&t, "drop_dhcp_chaddr"), ==, 5);
	g_assert_cmpuint(t_stat(&t, "drop_spoof"), ==, 2);
	g_assert_cmpuint(t_stat(&t, "dhcp_discover"), ==, 1);
	g_assert_cmpuint(t_stat(&t, "dhcp_release"), ==, 0);
	/* a's lease is intact: b can't have its address, a renews it */
	msg_init(&m, DHCPREQUEST, mac_b);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.15");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);
	g_assert_cmpuint(t_select(&t, mac_a, ip("10.0.2.15"), &r), ==,
			 DHCPACK);
	/* and b still gets an address of its own */
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.16"));
	t_stop(&t);
}

/* max-leases: past it a new client gets no offer and a DHCPNAK for a
 * free address, counted; the clients with leases keep renewing them; one
 * that gives its lease up makes room */
static void test_max_leases(void)
{
	static const char *const opts[] = {
		"max-leases", "2",
		"log-level", "error",
		NULL
	};
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, opts);
	g_assert_cmpuint(t_bind(&t, mac_a), ==, ip("10.0.2.15"));
	g_assert_cmpuint(t_bind(&t, mac_b), ==, ip("10.0.2.16"));
	msg_init(&m, DHCPDISCOVER, mac_c);
	msg_end(&m);
	t_send(&t, &m);
	t_no_reply(&t);
	g_assert_cmpuint(t_stat(&t, "dhcp_lease_limit"), ==, 1);
	/* INIT-REBOOT asking for a free address: refused too */
	msg_init(&m, DHCPREQUEST, mac_c);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.40");
	msg_end(&m);
	t_expect(&t, &m, DHCPNAK, &r);
	g_assert_cmpuint(t_stat(&t, "dhcp_lease_limit"), ==, 2);
	g_assert_cmpuint(t_select(&t, mac_a, ip("10.0.2.15"), &r), ==,
			 DHCPACK);
	g_assert_cmpuint(t_select(&t, mac_b, ip("10.0.2.16"), &r), ==,
			 DHCPACK);
	t_release(&t, mac_b, ip("10.0.2.16"));
	g_assert_cmpuint(t_bind(&t, mac_c), !=, 0);
	g_assert_cmpuint(t_stat(&t, "dhcp_lease_limit"), ==, 2);
	t_stop(&t);
}

/* Send @m and expect it dropped as malformed, without a reply */
static void expect_malformed(struct t *t, const struct msg *m)
{
	uint64_t before = t_stat(t, "drop_dhcp_malformed");

	t_send(t, m);
	t_no_reply(t);
	g_assert_cmpuint(t_stat(t, "drop_dhcp_malformed"), ==, before + 1);
}

static void test_malformed(void)
{
	uint8_t v = 0;
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	/* Truncated: shorter than the fixed part and the cookie */
	msg_init(&m, DHCPDISCOVER, mac_a);
	m.len = 100;
	expect_malformed(&t, &m);
	m.len = O_OPTS - 1;
	expect_malformed(&t, &m);
	/* Bad magic cookie */
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_end(&m);
	m.b[O_MAGIC + 3] = 0x64;
	expect_malformed(&t, &m);
	/* An option running past the end of the packet */
	msg_init(&m, DHCPDISCOVER, mac_a);
	m.b[m.len++] = DHCP_OPT_HOSTNAME;
	m.b[m.len++] = 200;
	memcpy(m.b + m.len, "abc", 3);
	m.len += 3;
	expect_malformed(&t, &m);
	/* A type byte with no length byte */
	msg_init(&m, DHCPDISCOVER, mac_a);
	m.b[m.len++] = DHCP_OPT_HOSTNAME;
	expect_malformed(&t, &m);
	/* No message type */
	msg_init(&m, 0, mac_a);
	msg_ip(&m, DHCP_OPT_REQ_IP, "10.0.2.50");
	msg_end(&m);
	expect_malformed(&t, &m);
	/* Message type of the wrong length, or a server's */
	msg_init(&m, 0, mac_a);
	msg_opt(&m, DHCP_OPT_MSG_TYPE, "\1\1", 2);
	msg_end(&m);
	expect_malformed(&t, &m);
	msg_init(&m, DHCPOFFER, mac_a);
	msg_end(&m);
	expect_malformed(&t, &m);
	/* Requested address of the wrong length */
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_opt(&m, DHCP_OPT_REQ_IP, "\12\0\2", 3);
	msg_end(&m);
	expect_malformed(&t, &m);
	/* Not a request, not Ethernet, relayed, multicast chaddr */
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_end(&m);
	m.b[O_OP] = DHCP_BOOTREPLY;
	expect_malformed(&t, &m);
	m.b[O_OP] = DHCP_BOOTREQUEST;
	m.b[O_HTYPE] = 6;
	expect_malformed(&t, &m);
	m.b[O_HTYPE] = 1;
	m.b[O_HLEN] = 16;
	expect_malformed(&t, &m);
	m.b[O_HLEN] = 6;
	m.b[O_GIADDR] = 10;
	expect_malformed(&t, &m);
	m.b[O_GIADDR] = 0;
	m.b[O_CHADDR] = 0x01;
	t_send_from(&t, &m, mac_a, "0.0.0.0", "255.255.255.255");
	t_no_reply(&t);
	/* A REQUEST naming no address at all */
	msg_init(&m, DHCPREQUEST, mac_a);
	msg_end(&m);
	expect_malformed(&t, &m);
	/* Bad overload value */
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_opt(&m, DHCP_OPT_OVERLOAD, &v, 1);
	msg_end(&m);
	expect_malformed(&t, &m);

	g_assert_cmpuint(t_stat(&t, "drop_dhcp_malformed"), ==, 16);
	g_assert_cmpuint(t_stat(&t, "dhcp_discover"), ==, 0);
	/* Still serving */
	g_assert_cmpuint(t_discover(&t, mac_a, NULL), ==, ip("10.0.2.15"));
	t_stop(&t);
}

static void test_no_end_option(void)
{
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	/* Options that stop at the end of the packet without 255: accepted,
	 * as most servers do; so is padding */
	msg_init(&m, DHCPDISCOVER, mac_a);
	m.b[m.len++] = DHCP_OPT_PAD;
	m.b[m.len++] = DHCP_OPT_PAD;
	t_expect(&t, &m, DHCPOFFER, &r);
	t_stop(&t);
}

static void test_overload(void)
{
	uint8_t ov = 1;
	struct reply r;
	struct msg m;
	struct t t;

	t_start(&t, NULL);
	/* Message type and requested address in the file field (RFC 2131
	 * 4.1, RFC 2132 9.3) */
	msg_init(&m, 0, mac_a);
	msg_opt(&m, DHCP_OPT_OVERLOAD, &ov, 1);
	msg_end(&m);
	memcpy(m.b + O_FILE, "\x35\x01\x01\x32\x04\x0a\x00\x02\x28\xff", 10);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_cmpuint(r_field(&r, O_YIADDR), ==, ip("10.0.2.40"));
	/* Replies never overload */
	g_assert_false(r_has(&r, DHCP_OPT_OVERLOAD));
	g_assert_cmpuint(r.b[O_FILE], ==, 0);
	g_assert_cmpuint(r.b[O_SNAME], ==, 0);
	/* An option overrunning sname is as malformed as anywhere else */
	ov = 2;
	msg_init(&m, DHCPDISCOVER, mac_b);
	msg_opt(&m, DHCP_OPT_OVERLOAD, &ov, 1);
	msg_end(&m);
	memset(m.b + O_SNAME, 0, 64);
	m.b[O_SNAME + 62] = DHCP_OPT_HOSTNAME;
	m.b[O_SNAME + 63] = 10;
	expect_malformed(&t, &m);
	t_stop(&t);
}

/* Long options: 57 decides what fits, and nothing is cut in two */
static void test_max_size(void)
{
	char domain[201], host[61], search[256];
	const char *opts[] = {
		"domain", domain,
		"hostname", host,
		"dns-search", search,
		"mtu", "9000",
		NULL
	};
	uint16_t sz;
	struct reply r;
	struct msg m;
	struct t t;
	int i;

	memset(domain, 'd', 200);
	domain[200] = 0;
	domain[50] = domain[101] = domain[152] = '.';
	memset(host, 'h', 60);
	host[60] = 0;
	search[0] = 0;
	for (i = 0; i < 19; i++)	/* 19 * 13 - 1 = 246 chars */
		g_snprintf(search + strlen(search), 14, "%sabcdefgh.x%02d",
			   i ? "," : "", i);
	t_start(&t, opts);

	/* No option 57: 576 octets at most (RFC 2131 2) */
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_end(&m);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_cmpuint(r.len, <=, 576 - 28);
	g_assert_true(r_has(&r, DHCP_OPT_DOMAIN));
	r_opt_str(&r, DHCP_OPT_DOMAIN, domain);
	g_assert_false(r_has(&r, DHCP_OPT_SEARCH));	/* 266 + 4 bytes */
	g_assert_true(r_has(&r, DHCP_OPT_MTU));
	g_assert_false(r_has(&r, DHCP_OPT_HOSTNAME));	/* 62: no room */

	/* 57 below 576 means 576 (RFC 2132 9.10) */
	sz = htons(300);
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_opt(&m, DHCP_OPT_MAX_SIZE, &sz, 2);
	msg_end(&m);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_cmpuint(r.len, <=, 576 - 28);
	g_assert_true(r_has(&r, DHCP_OPT_DOMAIN));

	/* Room for everything: the search list in two options (RFC 3396) */
	sz = htons(1500);
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_opt(&m, DHCP_OPT_MAX_SIZE, &sz, 2);
	msg_end(&m);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_cmpuint(r.len, >, 576 - 28);
	g_assert_cmpuint(r.len, <=, 1500 - 28);
	r_opt_str(&r, DHCP_OPT_HOSTNAME, host);
	{
		uint8_t v[1024], want[512];
		ssize_t wl = dhcp_search_encode(search, want, sizeof(want));
		size_t l;

		g_assert_cmpint(wl, ==, 19 * 14);
		g_assert_cmpint(r_opt(&r, DHCP_OPT_SEARCH, v, &l), ==, 2);
		g_assert_cmpmem(v, l, want, (size_t)wl);
	}

	/* Larger than the MTU: capped by the MTU */
	sz = htons(65000);
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_opt(&m, DHCP_OPT_MAX_SIZE, &sz, 2);
	msg_end(&m);
	t_expect(&t, &m, DHCPOFFER, &r);
	g_assert_true(r_has(&r, DHCP_OPT_HOSTNAME));
	t_stop(&t);
}

static void test_search_encode(void)
{
	static const uint8_t three[] = {
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		3, 'l', 'a', 'b', 0xc0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
		5, 'o', 't', 'h', 'e', 'r', 3, 'n', 'e', 't', 0,
		1, 'a', 1, 'b', 0xc0, 13,	/* a.b.lab.example.com */
		3, 'w', 'w', 'w', 0xc0, 27,	/* www.org (just "org") */
	};
	static const uint8_t cased[] = {
		7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0,
		3, 'w', 'w', 'w', 0xc0, 0,
	};
	char long_label[80];
	uint8_t out[512];

	g_assert_cmpint(dhcp_search_encode("example.com,lab.example.com,"
					   "example.org,other.net,"
					   "a.b.lab.example.com,www.org",
					   out, sizeof(out)),
			==, sizeof(three));
	g_assert_cmpmem(out, sizeof(three), three, sizeof(three));

	/* Case-insensitive compression, blanks, a trailing dot, empties */
	g_assert_cmpint(dhcp_search_encode(" Example.COM. ,, www.example.com,",
					   out, sizeof(out)),
			==, sizeof(cased));
	g_assert_cmpmem(out, sizeof(cased), cased, sizeof(cased));

	/* The same name twice is one pointer */
	g_assert_cmpint(dhcp_search_encode("a.b,a.b", out, sizeof(out)), ==,
			5 + 2);
	g_assert_cmpuint(out[5], ==, 0xc0);
	g_assert_cmpuint(out[6], ==, 0);

	g_assert_cmpint(dhcp_search_encode("", out, sizeof(out)), ==, 0);
	g_assert_cmpint(dhcp_search_encode("a..b", out, sizeof(out)), ==,
			-EINVAL);
	g_assert_cmpint(dhcp_search_encode(".a", out, sizeof(out)), ==,
			-EINVAL);
	g_assert_cmpint(dhcp_search_encode("a b.c", out, sizeof(out)), ==,
			-EINVAL);
	memset(long_label, 'x', 64);
	long_label[64] = 0;
	g_assert_cmpint(dhcp_search_encode(long_label, out, sizeof(out)), ==,
			-EINVAL);
	long_label[63] = 0;
	g_assert_cmpint(dhcp_search_encode(long_label, out, sizeof(out)), ==,
			65);
	/* Exactly fits, then one byte short */
	g_assert_cmpint(dhcp_search_encode("example.com", out, 13), ==, 13);
	g_assert_cmpint(dhcp_search_encode("example.com", out, 12), ==,
			-ENOSPC);
	g_assert_cmpint(dhcp_search_encode("example.com,www.example.com", out,
					   18), ==, -ENOSPC);
}

static void test_no_dhcp(void)
{
	static const char *const opts[] = { "no-dhcp", NULL, NULL };
	struct msg m;
	struct t t;

	/* usernat_config_set takes a NULL value for flags */
	memset(&t, 0, sizeof(t));
	t_start(&t, opts);
	msg_init(&m, DHCPDISCOVER, mac_a);
	msg_end(&m);
	t_send(&t, &m);
	g_assert_cmpuint(t_stat(&t, "dhcp_discover"), ==, 0);
	g_assert_cmpuint(dhcp_leases(t.un, NULL, 0), ==, 0);
	t_stop(&t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/dhcp/discover/offer", test_discover_offer);
	g_test_add_func("/dhcp/discover/broadcast-flag", test_broadcast_flag);
	g_test_add_func("/dhcp/discover/requested-ip", test_requested_ip);
	g_test_add_func("/dhcp/request/ack", test_request_ack);
	g_test_add_func("/dhcp/request/renew", test_renew);
	g_test_add_func("/dhcp/request/init-reboot", test_init_reboot);
	g_test_add_func("/dhcp/request/other-server", test_other_server);
	g_test_add_func("/dhcp/lease/second-client", test_second_client);
	g_test_add_func("/dhcp/lease/release-same-ip", test_release_same_ip);
	g_test_add_func("/dhcp/lease/static", test_static_lease);
	g_test_add_func("/dhcp/lease/static-in-pool",
			test_static_in_small_pool);
	g_test_add_func("/dhcp/lease/decline", test_decline);
	g_test_add_func("/dhcp/lease/offer-reclaimed", test_offer_reclaimed);
	g_test_add_func("/dhcp/lease/chaddr-spoofed", test_chaddr_spoofed);
	g_test_add_func("/dhcp/lease/max-leases", test_max_leases);
	g_test_add_func("/dhcp/inform", test_inform);
	g_test_add_func("/dhcp/pool/full", test_pool_full);
	g_test_add_func("/dhcp/pool/reclaim", test_pool_reclaim);
	g_test_add_func("/dhcp/pool/skips-ours", test_pool_skips_ours);
	g_test_add_func("/dhcp/parse/malformed", test_malformed);
	g_test_add_func("/dhcp/parse/no-end-option", test_no_end_option);
	g_test_add_func("/dhcp/parse/overload", test_overload);
	g_test_add_func("/dhcp/options/max-size", test_max_size);
	g_test_add_func("/dhcp/options/search-encode", test_search_encode);
	g_test_add_func("/dhcp/disabled", test_no_dhcp);

	return g_test_run();
}
