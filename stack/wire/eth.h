/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/eth.h - Ethernet II header (IEEE 802.3)
 */
#ifndef UN_WIRE_ETH_H
#define UN_WIRE_ETH_H

#include <stdint.h>

#define ETH_ALEN	6
#define ETH_HLEN	14
#define ETH_P_IP4	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_IP6	0x86dd
#define ETH_P_VLAN	0x8100
#define ETH_MAX_MTU	65521	/* largest L3 payload we ever build */

struct eth_hdr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;		/* network order */
} __attribute__((packed));

#endif
