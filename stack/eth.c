// SPDX-License-Identifier: GPL-2.0-or-later
/* eth.c - Ethernet: first look at every frame from a guest
 *
 * usernat is one station on the guests' segment: it takes frames addressed
 * to its own MAC and broadcasts, and ignores unicast between guests (on a
 * switch they reach each other directly; a hub may still show them to us).
 */
#include <arpa/inet.h>
#include <string.h>

#include "stack.h"

static const uint8_t eth_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff };
static const uint8_t eth_zero[ETH_ALEN];

/**
 * eth_from_guest() - Validate an Ethernet frame and pass it up
 * @un:		instance
 * @frame:	untrusted frame, not kept after return
 * @len:	frame length
 */
void eth_from_guest(struct usernat *un, const uint8_t *frame, size_t len)
{
	struct pkt c = pkt_init(frame, len);
	const struct eth_hdr *eh;

	if (!(eh = pkt_pull(&c, ETH_HLEN))) {
		UN_COUNT(un, drop_eth_short);
		return;
	}
	/* Allow a VLAN tag's worth of slack over the MTU */
	if (len > ETH_HLEN + 4 + (size_t)un->cfg.mtu) {
		UN_COUNT(un, drop_oversize);
		return;
	}
	if ((eh->src[0] & 1) || !memcmp(eh->src, eth_zero, ETH_ALEN)) {
		UN_COUNT(un, drop_eth_src);
		return;
	}
	if (memcmp(eh->dst, un->cfg.mac, ETH_ALEN) &&
	    memcmp(eh->dst, eth_bcast, ETH_ALEN)) {
		UN_COUNT(un, not_for_us);
		return;
	}

	switch (ntohs(eh->type)) {
	case ETH_P_ARP:
		arp_from_guest(un, eh->src, &c);
		break;
	case ETH_P_IP4:
		ip4_from_guest(un, eh->src, eh->dst, &c);
		break;
	case ETH_P_IP6:
		UN_COUNT(un, drop_ip6);
		break;
	default:
		UN_COUNT(un, drop_ethertype);
		break;
	}
}
