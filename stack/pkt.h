/* SPDX-License-Identifier: GPL-2.0-or-later
 * pkt.h - bounds-checked cursor over untrusted bytes
 *
 * Every byte that comes from a guest is read through a struct pkt: a pointer
 * and a remaining length.  Each accessor checks the remaining length before
 * it hands out a pointer, and returns NULL when the request does not fit, so
 * a parser reads "if (!(h = pkt_pull(&c, sizeof(*h)))) goto too_short;" and
 * can never step outside the frame.
 */
#ifndef UN_PKT_H
#define UN_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pkt {
	const uint8_t *p;	/* next unread byte */
	size_t len;		/* bytes left from p */
};

static inline struct pkt pkt_init(const void *buf, size_t len)
{
	struct pkt c = { .p = buf, .len = len };
	return c;
}

/**
 * pkt_at() - Pointer to @n bytes at offset @off, without consuming them
 * Return: pointer into the buffer, or NULL if [off, off + n) is out of range
 */
static inline const void *pkt_at(const struct pkt *c, size_t off, size_t n)
{
	if (off > c->len || n > c->len - off)
		return NULL;
	return c->p + off;
}

/**
 * pkt_pull() - Consume @n bytes from the front of the cursor
 * Return: pointer to the consumed bytes, or NULL (cursor unchanged) if short
 */
static inline const void *pkt_pull(struct pkt *c, size_t n)
{
	const uint8_t *r;

	if (n > c->len)
		return NULL;
	r = c->p;
	c->p += n;
	c->len -= n;
	return r;
}

/**
 * pkt_sub() - Cursor over [off, off + n) of @c
 * Return: 0 on success, -1 if the range does not fit (then @out is empty)
 */
static inline int pkt_sub(const struct pkt *c, size_t off, size_t n,
			  struct pkt *out)
{
	const void *p = pkt_at(c, off, n);

	*out = pkt_init(p, p ? n : 0);
	return p ? 0 : -1;
}

/* Copying readers: return 0 on success, -1 if short (value untouched) */
static inline int pkt_u8(struct pkt *c, uint8_t *v)
{
	const uint8_t *p = pkt_pull(c, 1);

	if (!p)
		return -1;
	*v = *p;
	return 0;
}

static inline int pkt_be16(struct pkt *c, uint16_t *v)
{
	const uint8_t *p = pkt_pull(c, 2);

	if (!p)
		return -1;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

static inline int pkt_be32(struct pkt *c, uint32_t *v)
{
	const uint8_t *p = pkt_pull(c, 4);

	if (!p)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	     (uint32_t)p[2] << 8 | p[3];
	return 0;
}

/**
 * pkt_tlv_next() - Walk one option of a type-length-value list
 * @c:		cursor over the option area, advanced past the option
 * @type:	option type, output
 * @val:	cursor over the option's value, output
 * @hdr_len:	bytes of type and length fields before the value (2 for DHCP)
 * @len_incl_hdr: true if the length field counts the header too (TCP: yes
 *		for most options, but handled by caller), false for DHCP
 *
 * One walker for the option formats with a one-byte type and one-byte length:
 * DHCP (RFC 2132 2) and TCP (RFC 9293 3.1).  Pad (0) and end (255 for DHCP,
 * 0 for TCP) are single bytes and reported with an empty @val; the caller
 * decides what they mean.  NDP options (8-byte units) use their own helper.
 *
 * Return: 1 if an option was read, 0 at the end of the area, -1 if the last
 * option overruns the area (malformed)
 */
static inline int pkt_tlv_next(struct pkt *c, uint8_t *type, struct pkt *val,
			       int len_incl_hdr, uint8_t single_byte_a,
			       uint8_t single_byte_b)
{
	uint8_t t, l;

	if (!c->len)
		return 0;
	if (pkt_u8(c, &t))
		return 0;
	*type = t;
	*val = pkt_init(NULL, 0);
	if (t == single_byte_a || t == single_byte_b)
		return 1;
	if (pkt_u8(c, &l))
		return -1;
	if (len_incl_hdr) {
		if (l < 2)
			return -1;
		l -= 2;
	}
	if (!(val->p = pkt_pull(c, l)))
		return -1;
	val->len = l;
	return 1;
}

#endif /* UN_PKT_H */
