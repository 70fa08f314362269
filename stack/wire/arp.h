/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/arp.h - ARP for IPv4 over Ethernet (RFC 826)
 */
#ifndef UN_WIRE_ARP_H
#define UN_WIRE_ARP_H

#include <stdint.h>

#define ARP_HRD_ETHER	1
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2
#define ARP_LEN		28

struct arp_pkt {
	uint16_t hrd;		/* hardware type, network order */
	uint16_t pro;		/* protocol type: ETH_P_IP4 */
	uint8_t hln;		/* 6 */
	uint8_t pln;		/* 4 */
	uint16_t op;
	uint8_t sha[6];
	uint8_t spa[4];
	uint8_t tha[6];
	uint8_t tpa[4];
} __attribute__((packed));

#endif
