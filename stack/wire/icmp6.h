/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/icmp6.h - ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861)
 *
 * Names avoid <netinet/icmp6.h>'s (struct icmp6_hdr, ND_*, ICMP6_DST_*),
 * so either header may be included next to this one.
 */
#ifndef UN_WIRE_ICMP6_H
#define UN_WIRE_ICMP6_H

#include <stdint.h>

#define ICMP6_HLEN		8

/* Error messages (RFC 4443 3) */
#define ICMP6_UNREACH		1
#define ICMP6_UNREACH_NOROUTE	0
#define ICMP6_UNREACH_ADMIN	1
#define ICMP6_UNREACH_BEYONDSCOPE 2	/* beyond scope of source address */
#define ICMP6_UNREACH_ADDR	3
#define ICMP6_UNREACH_PORT	4
#define ICMP6_TOOBIG		2
#define ICMP6_TIMXCEED		3
#define ICMP6_TIMXCEED_HOPS	0
#define ICMP6_PARAMPROB		4
#define ICMP6_PARAMPROB_HDR	0	/* erroneous header field */
#define ICMP6_PARAMPROB_NH	1	/* unrecognized next header */
#define ICMP6_PARAMPROB_OPT	2	/* unrecognized IPv6 option */

/* Informational messages (RFC 4443 4, RFC 4861 4) */
#define ICMP6_ECHO		128
#define ICMP6_ECHOREPLY		129
#define NDP_RS			133
#define NDP_RA			134
#define NDP_NS			135
#define NDP_NA			136
#define NDP_REDIRECT		137

#define NDP_HOPLIMIT		255	/* RFC 4861 6.1.1, 7.1.1: on-link only */

struct icmp6_header {
	uint8_t type;
	uint8_t code;
	uint16_t check;
	union {
		struct {
			uint16_t id;
			uint16_t seq;
		} echo;
		uint32_t mtu;		/* packet too big */
		uint32_t pointer;	/* parameter problem */
		uint32_t unused;
	} un;
} __attribute__((packed));

/* Router solicitation, RFC 4861 4.1: options follow */
struct ndp_rs {
	uint8_t type, code;
	uint16_t check;
	uint32_t reserved;
} __attribute__((packed));

/* Router advertisement, RFC 4861 4.2: options follow */
struct ndp_ra {
	uint8_t type, code;
	uint16_t check;
	uint8_t cur_hop_limit;
	uint8_t flags;
	uint16_t lifetime;	/* router lifetime, seconds */
	uint32_t reachable;	/* ms */
	uint32_t retrans;	/* ms */
} __attribute__((packed));

#define NDP_RA_MANAGED		0x80	/* M: addresses by DHCPv6 */
#define NDP_RA_OTHER		0x40	/* O: other configuration by DHCPv6 */

/* Neighbor solicitation and advertisement, RFC 4861 4.3, 4.4 */
struct ndp_ns {
	uint8_t type, code;
	uint16_t check;
	uint32_t reserved;
	uint8_t target[16];
} __attribute__((packed));

struct ndp_na {
	uint8_t type, code;
	uint16_t check;
	uint32_t flags;		/* R, S, O in the top bits; network order */
	uint8_t target[16];
} __attribute__((packed));

#define NDP_NA_ROUTER		0x80000000u
#define NDP_NA_SOLICITED	0x40000000u
#define NDP_NA_OVERRIDE		0x20000000u

/* Redirect, RFC 4861 4.5 */
#define NDP_REDIRECT_LEN	40

/* Options, RFC 4861 4.6: type, length in 8-byte units (0 is invalid) */
struct ndp_opt {
	uint8_t type;
	uint8_t len;
} __attribute__((packed));

#define NDP_OPT_UNIT		8
#define NDP_OPT_SLLA		1	/* source link-layer address */
#define NDP_OPT_TLLA		2	/* target link-layer address */
#define NDP_OPT_PREFIX		3	/* prefix information */
#define NDP_OPT_REDIRECTED	4
#define NDP_OPT_MTU		5
#define NDP_OPT_RDNSS		25	/* RFC 8106 5.1 */
#define NDP_OPT_DNSSL		31	/* RFC 8106 5.2 */

/* Link-layer address option on Ethernet, RFC 4861 4.6.1 (RFC 2464 6) */
struct ndp_opt_lla {
	uint8_t type;
	uint8_t len;		/* 1 */
	uint8_t mac[6];
} __attribute__((packed));

/* Prefix information, RFC 4861 4.6.2 */
struct ndp_opt_prefix {
	uint8_t type;
	uint8_t len;		/* 4 */
	uint8_t prefix_len;
	uint8_t flags;
	uint32_t valid;		/* seconds */
	uint32_t preferred;
	uint32_t reserved;
	uint8_t prefix[16];
} __attribute__((packed));

#define NDP_PREFIX_ONLINK	0x80	/* L */
#define NDP_PREFIX_AUTO		0x40	/* A: use for SLAAC (RFC 4862) */

/* MTU, RFC 4861 4.6.4 */
struct ndp_opt_mtu {
	uint8_t type;
	uint8_t len;		/* 1 */
	uint16_t reserved;
	uint32_t mtu;
} __attribute__((packed));

/* Recursive DNS servers and DNS search list, RFC 8106 5.1 and 5.2: the
 * addresses, or the names (RFC 1035 3.1, uncompressed, zero padded to a
 * multiple of 8 bytes), follow */
struct ndp_opt_dns {
	uint8_t type;
	uint8_t len;
	uint16_t reserved;
	uint32_t lifetime;	/* seconds */
} __attribute__((packed));

#endif
