// SPDX-License-Identifier: GPL-2.0-or-later
/* eth.c - Ethernet: first look at every frame from a guest
 *
 * usernat is one station on the guests' segment: it takes frames addressed
 * to its own MAC, broadcasts and IPv6 multicast, and ignores unicast between
 * guests (on a switch they reach each other directly; a hub may still show
 * them to us).
 */
#include <arpa/inet.h>
#include <string.h>

#include "stack.h"

static const uint8_t eth_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff };
static const uint8_t eth_zero[ETH_ALEN];

/**
 * eth_for_us() - Is the frame addressed to us?
 *
 * Our MAC and broadcast; with IPv6 on, also IPv6 multicast, 33:33 and the
 * group's low 32 bits (RFC 2464 7): ip6.c tells our groups from others'.
 */
static bool eth_for_us(const struct usernat *un, const struct eth_hdr *eh)
{
	if (!memcmp(eh->dst, un->cfg.mac, ETH_ALEN) ||
	    !memcmp(eh->dst, eth_bcast, ETH_ALEN))
		return true;
	return un->ip6 && eh->dst[0] == 0x33 && eh->dst[1] == 0x33 &&
	       eh->type == htons(ETH_P_IP6);
}

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
	if (!eth_for_us(un, eh)) {
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
		if (un->ip6) {
			ndp_guest_seen(un, eh->src);	/* new: an RA */
			ip6_from_guest(un, eh->src, eh->dst, &c);
		} else {
			UN_COUNT(un, drop_ip6);	/* no-ipv6, or MTU < 1280 */
		}
		break;
	default:
		UN_COUNT(un, drop_ethertype);
		break;
	}
}
