/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/udp.h - UDP header (RFC 768)
 */
#ifndef UN_WIRE_UDP_H
#define UN_WIRE_UDP_H

#include <stdint.h>

#define UDP_HLEN 8

struct udp_hdr {
	uint16_t source;
	uint16_t dest;
	uint16_t len;
	uint16_t check;
} __attribute__((packed));

#endif
