/* test-dhcp6.c - DHCPv6 server: stateless and stateful exchanges, option
 * validation, malformed and truncated messages */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "checksum.h"
#include "frames6.h"
#include "stack.h"

static const uint8_t server_duid[10] = { 0, 3, 0, 1, 0x52, 0x55, 0x0a,
					 0x00, 0x02, 0x02 };

/* A client message under construction */
struct msg {
	uint8_t b[1500];
	size_t len;
};

static void m_init(struct msg *m, uint8_t type)
{
	m->b[0] = type;
	m->b[1] = 0x12;
	m->b[2] = 0x34;
	m->b[3] = 0x56;
	m->len = 4;
}

static void m_opt(struct msg *m, uint16_t code, const void *v, size_t len)
{
	m->b[m->len++] = (uint8_t)(code >> 8);
	m->b[m->len++] = (uint8_t)code;
	m->b[m->len++] = (uint8_t)(len >> 8);
	m->b[m->len++] = (uint8_t)len;
	if (len)
		memcpy(m->b + m->len, v, len);
	m->len += len;
}

/* DUID-LL of guest_mac, or of a MAC ending in @last */
static void m_client_id(struct msg *m, uint8_t last)
{
	uint8_t duid[10] = { 0, 3, 0, 1 };

	memcpy(duid + 4, guest_mac, 6);
	if (last)
		duid[9] = last;
	m_opt(m, 1, duid, sizeof(duid));
}

static void m_server_id(struct msg *m)
{
	m_opt(m, 2, server_duid, sizeof(server_duid));
}

/* IA_NA @iaid with T1, T2 0, and an IAADDR for @addr if not NULL */
static void m_ia_na(struct msg *m, uint32_t iaid, const char *addr)
{
	uint8_t v[12 + 28] = { 0 };
	size_t len = 12;

	iaid = htonl(iaid);
	memcpy(v, &iaid, 4);
	if (addr) {
		v[12] = 0;
		v[13] = 5;
		v[15] = 24;
		ip6a(addr, v + 16);
		len += 28;
	}
	m_opt(m, 3, v, len);
}

static size_t m_frame(uint8_t *buf, const struct msg *m)
{
	uint8_t mac[6];

	mcast_mac6("ff02::1:2", mac);
	return build_udp6(buf, mac, guest_mac, GUEST_LL, 546, "ff02::1:2", 547,
			  m->b, m->len);
}

/* Send @m; Return: the reply's DHCPv6 message, length in *@len, or NULL if
 * there was none */
static const uint8_t *exchange(struct usernat *un, struct capture *cap,
			       const struct msg *m, size_t *len)
{
	uint8_t buf[2000], a[16];
	const uint8_t *u;
	GByteArray *f;
	size_t n = m_frame(buf, m), ulen;

	capture_clear(cap);
	usernat_input(un, buf, n);
	if (!cap->frames->len)
		return NULL;
	g_assert_cmpuint(cap->frames->len, ==, 1);
	f = capture_nth(cap, 0);
	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	u = out6_l4(f, 17, &ulen);
	ip6a(GW_LL, a);
	g_assert_cmpmem(f->data + 14 + 8, 16, a, 16);
	ip6a(GUEST_LL, a);
	g_assert_cmpmem(f->data + 14 + 24, 16, a, 16);
	g_assert_cmpuint((unsigned)u[0] << 8 | u[1], ==, 547);
	g_assert_cmpuint((unsigned)u[2] << 8 | u[3], ==, 546);
	g_assert_cmpuint((unsigned)u[4] << 8 | u[5], ==, ulen);
	g_assert_cmpmem(u + 9, 3, m->b + 1, 3);		/* xid */
	*len = ulen - 8;
	return u + 8;
}

/* Option @code in an options area, or NULL; every option must fit */
static const uint8_t *opt_in(const uint8_t *p, size_t len, uint16_t code,
			     size_t *olen)
{
	const uint8_t *found = NULL;
	size_t off = 0;

	while (off < len) {
		size_t l;

		g_assert_cmpuint(off + 4, <=, len);
		l = (size_t)p[off + 2] << 8 | p[off + 3];
		g_assert_cmpuint(off + 4 + l, <=, len);
		if (!found && ((unsigned)p[off] << 8 | p[off + 1]) == code) {
			found = p + off + 4;
			*olen = l;
		}
		off += 4 + l;
	}
	return found;
}

static const uint8_t *opt(const uint8_t *r, size_t len, uint16_t code,
			  size_t *olen)
{
	return opt_in(r + 4, len - 4, code, olen);
}

static uint32_t be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* The address in the IA_NA of @r (with IAID @iaid), lifetimes checked */
static void ia_addr(const uint8_t *r, size_t len, uint32_t iaid,
		    uint8_t addr[16])
{
	const uint8_t *ia = NULL, *a;
	size_t off = 4, l, al;

	while (off + 4 <= len) {	/* the IA_NA with this IAID */
		l = (size_t)r[off + 2] << 8 | r[off + 3];
		if (r[off + 1] == 3 && be32(r + off + 4) == iaid) {
			ia = r + off + 4;
			break;
		}
		off += 4 + l;
	}
	g_assert_nonnull(ia);
	g_assert_cmpuint(be32(ia + 4), ==, 43200);		/* T1 */
	g_assert_cmpuint(be32(ia + 8), ==, 69120);		/* T2 */
	g_assert_nonnull(a = opt_in(ia + 12, l - 12, 5, &al));
	g_assert_cmpuint(al, ==, 24);
	g_assert_cmpuint(be32(a + 16), ==, 86400);		/* preferred */
	g_assert_cmpuint(be32(a + 20), ==, 86400);		/* valid */
	memcpy(addr, a, 16);
	g_assert_cmphex(addr[0], ==, 0xfd);
	g_assert_cmpuint(addr[1] | addr[2] | addr[3] | addr[4] | addr[5] |
			 addr[6] | addr[7], ==, 0);
	g_assert_cmpuint(addr[8] | addr[9] | addr[10] | addr[11] | addr[12] |
			 addr[13], !=, 0);	/* not a low one like ::2 */
}

/* Server and client identifiers, DNS and search list */
static void check_common(const uint8_t *r, size_t len, bool config)
{
	static const uint8_t domains[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l',
					   'e', 4, 't', 'e', 's', 't', 0 };
	const uint8_t *o;
	uint8_t a[16];
	size_t ol;

	g_assert_nonnull(o = opt(r, len, 2, &ol));
	g_assert_cmpmem(o, ol, server_duid, sizeof(server_duid));
	g_assert_nonnull(o = opt(r, len, 1, &ol));
	g_assert_cmpuint(ol, ==, 10);
	g_assert_cmpmem(o + 4, 6, guest_mac, 6);
	if (!config) {
		g_assert_null(opt(r, len, 23, &ol));
		return;
	}
	g_assert_nonnull(o = opt(r, len, 23, &ol));
	ip6a("fd00::3", a);
	g_assert_cmpmem(o, ol, a, 16);
	g_assert_nonnull(o = opt(r, len, 24, &ol));
	g_assert_cmpmem(o, ol, domains, sizeof(domains));
}

static const char *const search_opts[] = { "dns-search", "example.test",
					   NULL };

/* Stateless: Information-request, answered with DNS data */
static void test_info_request(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, search_opts);
	const uint8_t *r;
	struct msg m;
	uint8_t buf[2000];
	size_t len, ol, n;

	m_init(&m, 11);
	m_client_id(&m, 0);
	m_opt(&m, 6, "\0\x17\0\x18", 4);		/* ORO: 23, 24 */
	m_opt(&m, 8, "\0\0", 2);			/* elapsed time */
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_cmpuint(r[0], ==, 7);
	check_common(r, len, true);
	g_assert_null(opt(r, len, 3, &ol));
	g_assert_cmpuint(usernat_stat(un, "dhcp6_inform"), ==, 1);
	/* with our server identifier, and without a client identifier */
	m_init(&m, 11);
	m_server_id(&m);
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_null(opt(r, len, 1, &ol));
	g_assert_nonnull(opt(r, len, 23, &ol));
	/* unicast to our link-local address is answered too */
	capture_clear(&cap);
	n = build_udp6(buf, gw_mac, guest_mac, GUEST_LL, 546, GW_LL, 547, m.b,
		       m.len);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	test6_done(un, &cap);
}

/* Solicit, Advertise, Request, Reply; Renew and Rebind keep the address;
 * another instance derives the same one */
static void test_solicit_request(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, search_opts);
	uint8_t a1[16], a2[16], b1[16], c1[16], d1[16];
	const uint8_t *r, *o;
	struct msg m;
	size_t len, ol;
	int type;

	m_init(&m, 1);
	m_client_id(&m, 0);
	m_ia_na(&m, 1, NULL);
	m_ia_na(&m, 2, NULL);
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_cmpuint(r[0], ==, 2);				/* Advertise */
	check_common(r, len, true);
	g_assert_nonnull(o = opt(r, len, 7, &ol));		/* preference */
	g_assert_cmpuint(ol, ==, 1);
	g_assert_cmpuint(o[0], ==, 255);
	g_assert_null(opt(r, len, 14, &ol));
	ia_addr(r, len, 1, a1);
	ia_addr(r, len, 2, a2);
	g_assert_cmpmem(a1, 8, a2, 8);
	g_assert_false(!memcmp(a1, a2, 16));	/* one address per IA */
	g_assert_cmpuint(usernat_stat(un, "dhcp6_solicit"), ==, 1);

	for (type = 3; type <= 6; type++) {	/* Request ... Rebind */
		if (type == 4)
			continue;		/* Confirm: elsewhere */
		m_init(&m, (uint8_t)type);
		m_client_id(&m, 0);
		if (type != 6)
			m_server_id(&m);
		m_ia_na(&m, 1, type == 3 ? NULL : "fd00::1");
		g_assert_nonnull(r = exchange(un, &cap, &m, &len));
		g_assert_cmpuint(r[0], ==, 7);
		check_common(r, len, true);
		ia_addr(r, len, 1, b1);
		g_assert_cmpmem(a1, 16, b1, 16);
	}
	g_assert_cmpuint(usernat_stat(un, "dhcp6_request"), ==, 3);
	test6_done(un, &cap);

	/* stable: a new instance gives the same; another client not */
	un = test6_instance(&cap, NULL);
	m_init(&m, 1);
	m_client_id(&m, 0);
	m_ia_na(&m, 1, NULL);
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	ia_addr(r, len, 1, c1);
	g_assert_cmpmem(a1, 16, c1, 16);
	m_init(&m, 1);
	m_client_id(&m, 0x77);
	m_ia_na(&m, 1, NULL);
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	ia_addr(r, len, 1, d1);
	g_assert_false(!memcmp(a1, d1, 16));
	test6_done(un, &cap);
}

/* Rapid Commit: a Reply at once, saying so */
static void test_rapid_commit(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, search_opts);
	const uint8_t *r;
	uint8_t a[16];
	struct msg m;
	size_t len, ol;

	m_init(&m, 1);
	m_client_id(&m, 0);
	m_opt(&m, 14, NULL, 0);
	m_ia_na(&m, 9, NULL);
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_cmpuint(r[0], ==, 7);
	g_assert_nonnull(opt(r, len, 14, &ol));
	g_assert_cmpuint(ol, ==, 0);
	g_assert_null(opt(r, len, 7, &ol));
	check_common(r, len, true);
	ia_addr(r, len, 9, a);
	test6_done(un, &cap);
}

/* A Renew with an address that isn't the client's: lifetimes 0 */
static void test_renew_foreign(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	const uint8_t *r, *ia, *a;
	uint8_t mine[16], other[16];
	struct msg m;
	size_t len, ol, off, al;
	int found = 0;

	m_init(&m, 5);
	m_client_id(&m, 0);
	m_server_id(&m);
	m_ia_na(&m, 1, "2001:db8::1");
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	ia_addr(r, len, 1, mine);
	g_assert_nonnull(ia = opt(r, len, 3, &ol));
	ip6a("2001:db8::1", other);
	for (off = 12; off < ol; off += 4 + al) {
		a = ia + off + 4;
		al = (size_t)ia[off + 2] << 8 | ia[off + 3];
		if (!memcmp(a, other, 16)) {
			g_assert_cmpuint(be32(a + 16), ==, 0);
			g_assert_cmpuint(be32(a + 20), ==, 0);
			found = 1;
		}
	}
	g_assert_true(found);
	test6_done(un, &cap);
}

/* Confirm: Success on-link, NotOnLink off it, silence with nothing */
static void test_confirm(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	const uint8_t *r, *o;
	struct msg m;
	size_t len, ol;

	m_init(&m, 4);
	m_client_id(&m, 0);
	m_ia_na(&m, 1, "fd00::abcd");
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_cmpuint(r[0], ==, 7);
	g_assert_nonnull(o = opt(r, len, 13, &ol));
	g_assert_cmpuint(ol, ==, 2);
	g_assert_cmpuint(o[1], ==, 0);
	check_common(r, len, false);
	m_init(&m, 4);
	m_client_id(&m, 0);
	m_ia_na(&m, 1, "fd00::abcd");
	m_ia_na(&m, 2, "2001:db8::1");
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_nonnull(o = opt(r, len, 13, &ol));
	g_assert_cmpuint(o[1], ==, 4);
	m_init(&m, 4);
	m_client_id(&m, 0);
	m_ia_na(&m, 1, NULL);
	g_assert_null(exchange(un, &cap, &m, &len));
	g_assert_cmpuint(usernat_stat(un, "dhcp6_confirm"), ==, 3);
	test6_done(un, &cap);
}

/* Release and Decline: Success */
static void test_release(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	const uint8_t *r, *o;
	struct msg m;
	size_t len, ol;
	uint8_t type;

	for (type = 8; type <= 9; type++) {
		m_init(&m, type);
		m_client_id(&m, 0);
		m_server_id(&m);
		m_ia_na(&m, 1, "fd00::abcd");
		if (type == 9)
			g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
					      "*declined*");
		g_assert_nonnull(r = exchange(un, &cap, &m, &len));
		g_test_assert_expected_messages();
		g_assert_cmpuint(r[0], ==, 7);
		g_assert_nonnull(o = opt(r, len, 13, &ol));
		g_assert_cmpuint(o[1], ==, 0);
		g_assert_null(opt(r, len, 3, &ol));
	}
	g_assert_cmpuint(usernat_stat(un, "dhcp6_release"), ==, 2);
	test6_done(un, &cap);
}

/* Temporary addresses and prefixes: none to give, and said so */
static void test_ia_ta_pd(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t ta[4] = { 0, 0, 0, 5 }, pd[12] = { 0, 0, 0, 6 };
	const uint8_t *r, *o, *s;
	struct msg m;
	size_t len, ol, sl;

	m_init(&m, 1);
	m_client_id(&m, 0);
	m_opt(&m, 4, ta, sizeof(ta));
	m_opt(&m, 25, pd, sizeof(pd));
	g_assert_nonnull(r = exchange(un, &cap, &m, &len));
	g_assert_nonnull(o = opt(r, len, 4, &ol));
	g_assert_cmpmem(o, 4, ta, 4);
	g_assert_nonnull(s = opt_in(o + 4, ol - 4, 13, &sl));
	g_assert_cmpuint(s[1], ==, 2);			/* NoAddrsAvail */
	g_assert_nonnull(o = opt(r, len, 25, &ol));
	g_assert_cmpmem(o, 4, pd, 4);
	g_assert_nonnull(s = opt_in(o + 12, ol - 12, 13, &sl));
	g_assert_cmpuint(s[1], ==, 6);			/* NoPrefixAvail */
	test6_done(un, &cap);
}

/* Each malformed or misdirected message: dropped, counted, no reply */
static void test_malformed(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t big[140] = { 0, 4 }, wrong[10] = { 0, 3, 0, 1, 1, 2, 3, 4, 5,
						   6 };
	struct msg m;
	size_t len;
	uint64_t before;

#define BAD(type, stmts)						\
	do {								\
		before = usernat_stat(un, "drop_dhcp6_malformed");	\
		m_init(&m, type);					\
		stmts;							\
		g_assert_null(exchange(un, &cap, &m, &len));		\
		g_assert_cmpuint(usernat_stat(un, "drop_dhcp6_malformed"), \
				 ==, before + 1);			\
	} while (0)

	BAD(1, (void)0);					/* no id */
	BAD(1, (m_client_id(&m, 0), m_server_id(&m)));
	BAD(1, (m_client_id(&m, 0), m_client_id(&m, 1)));	/* twice */
	BAD(1, m_opt(&m, 1, "\0\3", 2));			/* short */
	BAD(1, m_opt(&m, 1, big, sizeof(big)));			/* long */
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 14, "x", 1)));
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 8, "x", 1)));
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 6, "x", 1)));
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 3, "12345678901", 11)));
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 4, "123", 3)));
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 3,
					   "123456789012\0\5\0\4abcd", 20)));
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 3, "123456789012\0\5\0", 15)));
	BAD(1, (m_client_id(&m, 0), m.b[m.len++] = 0));	/* trailing */
	BAD(1, (m_client_id(&m, 0), m_opt(&m, 99, "", 0), m.b[m.len - 1] = 9));
	BAD(3, m_client_id(&m, 0));				/* no server */
	BAD(3, (m_client_id(&m, 0), m_opt(&m, 2, wrong, sizeof(wrong))));
	BAD(5, m_server_id(&m));				/* no client */
	BAD(6, (m_client_id(&m, 0), m_server_id(&m)));
	BAD(4, (m_client_id(&m, 0), m_server_id(&m)));
	BAD(11, (m_client_id(&m, 0), m_ia_na(&m, 1, NULL)));
	BAD(11, m_opt(&m, 2, wrong, sizeof(wrong)));
	BAD(2, m_client_id(&m, 0));			/* server's type */
	BAD(7, m_client_id(&m, 0));
	BAD(12, m_client_id(&m, 0));			/* relay */
	BAD(0, m_client_id(&m, 0));
	m.len = 3;					/* no header */
	before = usernat_stat(un, "drop_dhcp6_malformed");
	g_assert_null(exchange(un, &cap, &m, &len));
	g_assert_cmpuint(usernat_stat(un, "drop_dhcp6_malformed"), ==,
			 before + 1);
	test6_done(un, &cap);
}

/* UDP checks before DHCPv6 sees anything */
static void test_udp(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, NULL);
	uint8_t buf[2000];
	struct msg m;
	size_t n;

	m_init(&m, 11);
	n = m_frame(buf, &m);
	buf[60] = buf[61] = 0;				/* no checksum */
	usernat_input(un, buf, n);
	n = m_frame(buf, &m);
	buf[60] ^= 0x40;				/* wrong */
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_csum"), ==, 2);
	n = m_frame(buf, &m);
	buf[59] += 1;					/* overruns */
	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_udp_short"), ==, 1);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	test6_done(un, &cap);
}

/* Every truncation of a message: a reply when what is left still makes
 * sense (options end on a boundary), else dropped and counted */
static void test_truncation(void)
{
	struct capture cap;
	struct usernat *un = test6_instance(&cap, search_opts);
	uint8_t buf[2000];
	struct msg m, t;
	size_t k, n, i;

	m_init(&m, 5);
	m_client_id(&m, 0);
	m_server_id(&m);
	m_ia_na(&m, 1, "fd00::1");
	m_opt(&m, 6, "\0\x17\0\x18", 4);
	for (k = 0; k < m.len; k++) {
		uint64_t drops = drops6(un);

		t = m;
		t.len = k;
		capture_clear(&cap);
		n = m_frame(buf, &t);
		usernat_input(un, buf, n);
		g_assert_true(cap.frames->len == 1 || drops6(un) > drops);
		/* and the frame itself cut short */
		n = m_frame(buf, &m);
		for (i = 54; i < n; i += 7)
			usernat_input(un, buf, i);
	}
	test6_done(un, &cap);
}

/* no-dhcp: DHCPv6 is not served either */
static void test_no_dhcp(void)
{
	const char *const opts[] = { "no-dhcp", NULL, NULL };
	struct capture cap;
	struct usernat *un = test6_instance(&cap, opts);
	struct msg m;
	size_t len;

	m_init(&m, 11);
	g_assert_null(exchange(un, &cap, &m, &len));
	g_assert_cmpuint(usernat_stat(un, "ip6_mcast_ignored"), >=, 1);
	g_assert_cmpuint(usernat_stat(un, "dhcp6_inform"), ==, 0);
	test6_done(un, &cap);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dhcp6/info-request", test_info_request);
	g_test_add_func("/dhcp6/solicit-request", test_solicit_request);
	g_test_add_func("/dhcp6/rapid-commit", test_rapid_commit);
	g_test_add_func("/dhcp6/renew-foreign", test_renew_foreign);
	g_test_add_func("/dhcp6/confirm", test_confirm);
	g_test_add_func("/dhcp6/release", test_release);
	g_test_add_func("/dhcp6/ia-ta-pd", test_ia_ta_pd);
	g_test_add_func("/dhcp6/malformed", test_malformed);
	g_test_add_func("/dhcp6/udp", test_udp);
	g_test_add_func("/dhcp6/truncation", test_truncation);
	g_test_add_func("/dhcp6/no-dhcp", test_no_dhcp);
	return g_test_run();
}
