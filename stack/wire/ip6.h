/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/ip6.h - IPv6 header and extension headers (RFC 8200)
 *
 * Struct names avoid <netinet/ip6.h>'s (struct ip6_hdr, ip6_frag, ...), so
 * either header may be included next to this one.
 */
#ifndef UN_WIRE_IP6_H
#define UN_WIRE_IP6_H

#include <stdint.h>

#define IP6_HLEN		40
#define IP6_ALEN		16
#define IP6_DEF_HOPLIMIT	64
#define IP6_MIN_MTU		1280	/* RFC 8200 5 */

/* Next header values: extension headers (RFC 8200 4) and protocols */
#define IP6_NH_HOPOPTS		0
#define IP6_NH_TCP		6
#define IP6_NH_UDP		17
#define IP6_NH_ROUTING		43
#define IP6_NH_FRAGMENT		44
#define IP6_NH_ESP		50
#define IP6_NH_AH		51
#define IPPROTO_ICMP6		58
#define IP6_NH_NONE		59
#define IP6_NH_DSTOPTS		60

struct ip6_header {
	uint32_t ver_tc_flow;	/* version (6) << 28 | class << 20 | flow */
	uint16_t payload_len;	/* bytes after this header */
	uint8_t next;		/* next header */
	uint8_t hop_limit;
	uint8_t saddr[IP6_ALEN];
	uint8_t daddr[IP6_ALEN];
} __attribute__((packed));

/* Hop-by-hop and destination options headers, RFC 8200 4.3 and 4.6: the
 * header is (len + 1) * 8 bytes, options follow these two bytes */
struct ip6_opt_header {
	uint8_t next;
	uint8_t len;		/* 8-byte units, not counting the first 8 */
} __attribute__((packed));

/* Routing header, RFC 8200 4.4: same length rule */
struct ip6_rt_header {
	uint8_t next;
	uint8_t len;
	uint8_t type;
	uint8_t segleft;	/* segments left */
} __attribute__((packed));

/* Fragment header, RFC 8200 4.5: always 8 bytes */
struct ip6_frag_header {
	uint8_t next;
	uint8_t reserved;
	uint16_t off_flags;	/* offset << 3 | M; network order */
	uint32_t id;
} __attribute__((packed));

#define IP6_FRAG_HLEN		8
#define IP6_FRAG_OFFMASK	0xfff8
#define IP6_FRAG_MF		0x0001

/* Options in hop-by-hop and destination options headers, RFC 8200 4.2 */
#define IP6_OPT_PAD1		0
#define IP6_OPT_PADN		1
#define IP6_OPT_ROUTER_ALERT	5	/* RFC 2711, hop-by-hop only */
#define IP6_OPT_ACTION(t)	((t) >> 6)	/* what to do if unknown */
#define IP6_OPT_SKIP		0	/* skip it */
#define IP6_OPT_DISCARD		1	/* discard the packet */
#define IP6_OPT_DISCARD_ICMP	2	/* discard, parameter problem */
#define IP6_OPT_DISCARD_UICMP	3	/* same, unless dst is multicast */

#endif
