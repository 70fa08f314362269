/* frames.c - test helpers: frame builders and an output capture */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "frames.h"

const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void capture_fn(void *opaque, const void *frame, size_t len)
{
	struct capture *cap = opaque;
	GByteArray *b = g_byte_array_sized_new((guint)len);

	g_byte_array_append(b, frame, (guint)len);
	g_ptr_array_add(cap->frames, b);
}

void capture_clear(struct capture *cap)
{
	g_ptr_array_set_size(cap->frames, 0);
}

GByteArray *capture_nth(struct capture *cap, guint i)
{
	g_assert_cmpuint(i, <, cap->frames->len);
	return g_ptr_array_index(cap->frames, i);
}

struct usernat *test_instance(struct capture *cap, const char *const *opts)
{
	struct usernat_config *cfg = usernat_config_new();
	struct usernat *un;
	char *err = NULL;

	cap->frames = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_byte_array_unref);
	for (; opts && *opts; opts += 2)
		g_assert_cmpint(usernat_config_set(cfg, opts[0], opts[1], &err),
				==, 0);
	un = usernat_new(cfg, capture_fn, cap, &err);
	g_assert_null(err);
	g_assert_nonnull(un);
	usernat_config_free(cfg);
	return un;
}

uint32_t ip(const char *s)
{
	struct in_addr a;

	g_assert_cmpint(inet_pton(AF_INET, s, &a), ==, 1);
	return a.s_addr;
}

size_t build_ip4(uint8_t *buf, const uint8_t *dst_mac, const uint8_t *src_mac,
		 const char *saddr, const char *daddr, uint8_t proto,
		 const void *l4, size_t l4len, int fix_l4)
{
	uint8_t *ih = buf + 14, *p = buf + 34;
	uint32_t s = ip(saddr), d = ip(daddr);
	uint16_t c;

	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
	memset(ih, 0, 20);
	ih[0] = 0x45;
	ih[2] = (uint8_t)((20 + l4len) >> 8);
	ih[3] = (uint8_t)(20 + l4len);
	ih[6] = 0x40;	/* DF */
	ih[8] = 64;
	ih[9] = proto;
	memcpy(ih + 12, &s, 4);
	memcpy(ih + 16, &d, 4);
	c = csum(ih, 20, 0);
	memcpy(ih + 10, &c, 2);
	memcpy(p, l4, l4len);
	if (fix_l4 && proto == 1) {
		p[2] = p[3] = 0;
		c = csum(p, l4len, 0);
		memcpy(p + 2, &c, 2);
	} else if (fix_l4 && proto == 17) {
		p[4] = (uint8_t)(l4len >> 8);
		p[5] = (uint8_t)l4len;
		p[6] = p[7] = 0;
		c = csum(p, l4len, csum_pseudo4(s, d, 17, (uint16_t)l4len));
		memcpy(p + 6, &c, 2);
	}
	return 34 + l4len;
}

size_t build_arp(uint8_t *buf, uint16_t op, const uint8_t *eth_dst,
		 const uint8_t *sha, const char *spa, const uint8_t *tha,
		 const char *tpa)
{
	uint32_t s = ip(spa), t = ip(tpa);
	uint8_t *a = buf + 14;

	memcpy(buf, eth_dst, 6);
	memcpy(buf + 6, sha, 6);
	buf[12] = 0x08;
	buf[13] = 0x06;
	a[0] = 0; a[1] = 1;	/* Ethernet */
	a[2] = 0x08; a[3] = 0;	/* IPv4 */
	a[4] = 6; a[5] = 4;
	a[6] = 0; a[7] = (uint8_t)op;
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &s, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &t, 4);
	return 42;
}
