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
#include "wire/ip4.h"
#include "wire/ip6.h"

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
 * eth_offload_ok() - Does a frame's offload information hold?
 * @frame, @len: the frame (untrusted)
 * @off:	its information (untrusted)
 *
 * Only what we act on is allowed: NEEDS_CSUM and DATA_VALID; a partial
 * checksum's field inside the frame, past the Ethernet header; GSO only for
 * TCP (no ECN, no UDP), over IPv4 or IPv6 without extension headers, with a
 * segment size, and no longer than one IP packet can be (virtio 1.2
 * 5.1.6.2).  The IP and TCP headers are validated by the layers above as
 * for any frame.
 * Return: true if the frame may be parsed
 */
bool eth_offload_ok(const uint8_t *frame, size_t len,
		    const struct usernat_offload *off)
{
	const unsigned int known = USERNAT_OFFLOAD_F_NEEDS_CSUM |
				   USERNAT_OFFLOAD_F_DATA_VALID;
	size_t l3, max;
	uint16_t type;

	if (off->flags & ~known)
		return false;
	if ((off->flags & USERNAT_OFFLOAD_F_NEEDS_CSUM) &&
	    (off->csum_start < ETH_HLEN ||
	     (size_t)off->csum_start + off->csum_offset + 2 > len))
		return false;
	if (off->gso_type == USERNAT_GSO_NONE)
		return true;
	if (off->gso_type != USERNAT_GSO_TCPV4 &&
	    off->gso_type != USERNAT_GSO_TCPV6)
		return false;
	if (!off->gso_size || off->hdr_len > len || len < ETH_HLEN + IP6_HLEN)
		return false;
	memcpy(&type, frame + 12, 2);
	l3 = off->gso_type == USERNAT_GSO_TCPV4 ? IP4_HLEN : IP6_HLEN;
	max = ETH_HLEN + 65535 + (l3 == IP6_HLEN ? IP6_HLEN : 0);
	if (len > max)
		return false;
	if (l3 == IP4_HLEN)	/* protocol field */
		return type == htons(ETH_P_IP4) &&
		       frame[ETH_HLEN + 9] == IPPROTO_TCP;
	return type == htons(ETH_P_IP6) &&	/* next header field */
	       frame[ETH_HLEN + 6] == IPPROTO_TCP;
}

/**
 * eth_max_len() - Longest frame accepted: the MTU with a VLAN tag's worth
 * of slack, or one whole IP packet for a GSO frame (usernat_input_offload()
 * checked its length against its IP version already)
 */
static size_t eth_max_len(const struct usernat *un)
{
	if (un->rx_off && un->rx_off->gso_type != USERNAT_GSO_NONE)
		return ETH_HLEN + IP6_HLEN + 65535;
	return ETH_HLEN + 4 + (size_t)un->cfg.mtu;
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
	if (len > eth_max_len(un)) {
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
