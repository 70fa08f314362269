/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/ip4.h - IPv4 header (RFC 791)
 */
#ifndef UN_WIRE_IP4_H
#define UN_WIRE_IP4_H

#include <stdint.h>

#define IP4_HLEN	20
#define IP4_MAX_HLEN	60
#define IP4_DF		0x4000
#define IP4_MF		0x2000
#define IP4_OFFMASK	0x1fff
#define IP4_DEFTTL	64

#define IPPROTO_ICMP4	1
#define IPPROTO_TCP4	6
#define IPPROTO_UDP4	17

struct ip4_hdr {
	uint8_t ver_ihl;	/* version (4) << 4 | header length in words */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off;	/* flags and fragment offset */
	uint8_t ttl;
	uint8_t proto;
	uint16_t check;
	uint32_t saddr;		/* network order */
	uint32_t daddr;
} __attribute__((packed));

#endif
