/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/icmp.h - ICMP for IPv4 (RFC 792)
 */
#ifndef UN_WIRE_ICMP_H
#define UN_WIRE_ICMP_H

#include <stdint.h>

#define ICMP_HLEN		8
#define ICMP_ECHOREPLY		0
#define ICMP_UNREACH		3
#define ICMP_UNREACH_NET	0
#define ICMP_UNREACH_HOST	1
#define ICMP_UNREACH_PROTO	2
#define ICMP_UNREACH_PORT	3
#define ICMP_UNREACH_NEEDFRAG	4
#define ICMP_UNREACH_ADMIN	13
#define ICMP_ECHO		8
#define ICMP_TIMXCEED		11

struct icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t check;
	union {
		struct {
			uint16_t id;
			uint16_t seq;
		} echo;
		uint32_t unused;
		struct {
			uint16_t unused;
			uint16_t mtu;
		} frag;
	} un;
} __attribute__((packed));

#endif
