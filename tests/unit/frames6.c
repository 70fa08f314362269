/* frames6.c - test helpers for IPv6: frame builders and output checks */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "frames6.h"

void ip6a(const char *s, uint8_t out[16])
{
	g_assert_cmpint(inet_pton(AF_INET6, s, out), ==, 1);
}

void mcast_mac6(const char *group, uint8_t mac[6])
{
	uint8_t a[16];

	ip6a(group, a);
	mac[0] = mac[1] = 0x33;
	memcpy(mac + 2, a + 12, 4);
}

size_t build_ip6(uint8_t *buf, const uint8_t *dst_mac, const uint8_t *src_mac,
		 const char *saddr, const char *daddr, uint8_t next,
		 uint8_t hop, const void *payload, size_t len)
{
	uint8_t *h = buf + 14;

	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	buf[12] = 0x86;
	buf[13] = 0xdd;
	memset(h, 0, 40);
	h[0] = 0x60;
	h[4] = (uint8_t)(len >> 8);
	h[5] = (uint8_t)len;
	h[6] = next;
	h[7] = hop;
	ip6a(saddr, h + 8);
	ip6a(daddr, h + 24);
	memcpy(h + 40, payload, len);
	return 54 + len;
}

size_t build_icmp6_ext(uint8_t *buf, const uint8_t *dst_mac,
		       const uint8_t *src_mac, const char *saddr,
		       const char *daddr, uint8_t hop, uint8_t first,
		       const void *ext, size_t extlen, const void *msg,
		       size_t len)
{
	uint8_t p[9000];
	uint8_t *m = p + extlen;
	uint8_t s[16], d[16];
	uint16_t c;

	g_assert_cmpuint(extlen + len, <=, sizeof(p));
	if (extlen)	/* memcpy from NULL is undefined, even for 0 bytes */
		memcpy(p, ext, extlen);
	if (len)
		memcpy(m, msg, len);
	ip6a(saddr, s);
	ip6a(daddr, d);
	m[2] = m[3] = 0;
	c = csum(m, len, csum_pseudo6(s, d, 58, (uint32_t)len));
	memcpy(m + 2, &c, 2);
	return build_ip6(buf, dst_mac, src_mac, saddr, daddr,
			 extlen ? first : 58, hop, p, extlen + len);
}

size_t build_icmp6(uint8_t *buf, const uint8_t *dst_mac,
		   const uint8_t *src_mac, const char *saddr,
		   const char *daddr, uint8_t hop, const void *msg,
		   size_t len)
{
	return build_icmp6_ext(buf, dst_mac, src_mac, saddr, daddr, hop, 58,
			       NULL, 0, msg, len);
}

size_t build_udp6(uint8_t *buf, const uint8_t *dst_mac,
		  const uint8_t *src_mac, const char *saddr, uint16_t sport,
		  const char *daddr, uint16_t dport, const void *data,
		  size_t len)
{
	uint8_t p[9000], s[16], d[16];
	uint16_t c;

	g_assert_cmpuint(len + 8, <=, sizeof(p));
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	p[4] = (uint8_t)((len + 8) >> 8);
	p[5] = (uint8_t)(len + 8);
	p[6] = p[7] = 0;
	memcpy(p + 8, data, len);
	ip6a(saddr, s);
	ip6a(daddr, d);
	c = csum(p, len + 8, csum_pseudo6(s, d, 17, (uint32_t)(len + 8)));
	if (!c)
		c = 0xffff;
	memcpy(p + 6, &c, 2);
	return build_ip6(buf, dst_mac, src_mac, saddr, daddr, 17, 64, p,
			 len + 8);
}

const uint8_t *out6_l4(GByteArray *f, uint8_t proto, size_t *len)
{
	const uint8_t *h = f->data + 14;
	size_t plen;

	g_assert_cmpuint(f->len, >=, 54);
	g_assert_cmphex(f->data[12], ==, 0x86);
	g_assert_cmphex(f->data[13], ==, 0xdd);
	g_assert_cmphex(h[0] >> 4, ==, 6);
	plen = (size_t)h[4] << 8 | h[5];
	g_assert_cmpuint(54 + plen, <=, f->len);
	if (54 + plen < f->len)		/* only Ethernet padding past it */
		g_assert_cmpuint(f->len, ==, 60);
	g_assert_cmpuint(h[6], ==, proto);
	g_assert_cmphex(csum(h + 40, plen, csum_pseudo6(h + 8, h + 24, proto,
							(uint32_t)plen)),
			==, 0);
	*len = plen;
	return h + 40;
}

const uint8_t *ndp_find_opt(const uint8_t *msg, size_t len, size_t hlen,
			    uint8_t type)
{
	size_t off = hlen;

	while (off + 2 <= len) {
		size_t olen = (size_t)msg[off + 1] * 8;

		g_assert_cmpuint(olen, >, 0);
		g_assert_cmpuint(off + olen, <=, len);
		if (msg[off] == type)
			return msg + off;
		off += olen;
	}
	g_assert_cmpuint(off, ==, len);
	return NULL;
}

struct usernat *test6_instance(struct capture *cap, const char *const *opts)
{
	struct usernat *un = test_instance(cap, opts);
	uint8_t buf[200], mac[6], msg[8] = { 143 };	/* MLDv2 report */
	size_t n;

	mcast_mac6("ff02::16", mac);
	n = build_icmp6(buf, mac, guest_mac, GUEST_LL, "ff02::16", 1, msg,
			sizeof(msg));
	usernat_input(un, buf, n);
	capture_clear(cap);
	return un;
}

void test6_done(struct usernat *un, struct capture *cap)
{
	usernat_free(un);
	g_ptr_array_unref(cap->frames);
}

static void drops_fn(void *opaque, const char *name, uint64_t v)
{
	uint64_t *sum = opaque;

	if (!strncmp(name, "drop_", 5) || !strcmp(name, "ip6_mcast_ignored"))
		*sum += v;
}

uint64_t drops6(struct usernat *un)
{
	uint64_t sum = 0;

	usernat_stats_foreach(un, drops_fn, &sum);
	return sum;
}
