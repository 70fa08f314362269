// SPDX-License-Identifier: GPL-2.0-or-later
/* checksum.c - Internet checksum (RFC 1071)
 *
 * The sum is accumulated in 64 bits over 32-bit words and folded at the end;
 * the result is in network byte order when stored as-is into a header.
 */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"

/**
 * csum_partial() - Add @len bytes at @buf to a running one's-complement sum
 * Return: unfolded 32-bit sum
 */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;
	uint32_t w;

	while (len >= 4) {
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t h = 0;

		memcpy(&h, p, 1);	/* odd byte, padded with zero (RFC 1071) */
		acc += h;
	}
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

/** csum_fold() - Fold a 32-bit sum to 16 bits and complement it */
uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/** csum() - Checksum of @buf seeded with @init; store the result as-is */
uint16_t csum(const void *buf, size_t len, uint32_t init)
{
	return csum_fold(csum_partial(buf, len, init));
}

/**
 * csum_pseudo4() - Sum of the IPv4 pseudo-header (RFC 768, RFC 9293 3.1)
 * @saddr, @daddr: network order; @len: L4 length, host order
 */
uint32_t csum_pseudo4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		      uint16_t len)
{
	uint64_t sum = 0;
	uint16_t w[2];

	sum += (saddr & 0xffff) + (saddr >> 16);
	sum += (daddr & 0xffff) + (daddr >> 16);
	/* proto and length as big-endian 16-bit words, in memory order */
	w[0] = htons(proto);
	w[1] = htons(len);
	sum += w[0] + w[1];
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (uint32_t)sum;
}

/**
 * csum_pseudo6() - Sum of the IPv6 pseudo-header (RFC 8200 8.1)
 * @saddr, @daddr: 16 bytes each, as on the wire
 * @proto:	upper-layer protocol (next header)
 * @len:	upper-layer packet length, host order
 *
 * Return: unfolded sum, to seed csum() over the upper-layer packet
 */
uint32_t csum_pseudo6(const uint8_t *saddr, const uint8_t *daddr,
		      uint8_t proto, uint32_t len)
{
	uint32_t w[2] = { htonl(len), htonl(proto) };
	uint32_t sum = csum_partial(saddr, 16, 0);

	sum = csum_partial(daddr, 16, sum);
	return csum_partial(w, sizeof(w), sum);
}
