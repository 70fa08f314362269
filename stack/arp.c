// SPDX-License-Identifier: GPL-2.0-or-later
/* arp.c - ARP (RFC 826) for the gateway and DNS addresses
 *
 * We answer requests for the addresses we own (gateway and DNS) and nothing
 * else, learn guests' addresses from what they send, and treat the special
 * forms of RFC 5227 as such:
 * - a probe (sender address 0.0.0.0) for one of our addresses is answered,
 *   so the prober sees the conflict (RFC 5227 2.1.1);
 * - an announcement or reply claiming one of our addresses is defended with
 *   one broadcast announcement of our own, at most once per DEFEND_INTERVAL
 *   (RFC 5227 2.4 (b)), so that caches on the segment point back at us;
 * - other gratuitous ARPs update the neighbour table and get no reply.
 */
#include <arpa/inet.h>
#include <string.h>

#include "stack.h"
#include "wire/arp.h"

#define ARP_DEFEND_INTERVAL_MS	10000	/* RFC 5227 3: DEFEND_INTERVAL */
#define ETH_MIN_FRAME		60	/* without FCS */

static const uint8_t eth_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff };

/**
 * arp_send() - Build and emit an ARP packet from us
 * @op:		ARP_OP_REQUEST or ARP_OP_REPLY
 * @dst:	Ethernet destination
 * @spa:	our address being stated
 * @tha, @tpa:	target fields
 */
static void arp_send(struct usernat *un, uint16_t op, const uint8_t *dst,
		     uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	struct eth_hdr *eh = (struct eth_hdr *)un->obuf;
	struct arp_pkt *ap = (struct arp_pkt *)(un->obuf + ETH_HLEN);

	memset(un->obuf, 0, ETH_MIN_FRAME);
	memcpy(eh->dst, dst, ETH_ALEN);
	memcpy(eh->src, un->cfg.mac, ETH_ALEN);
	eh->type = htons(ETH_P_ARP);
	ap->hrd = htons(ARP_HRD_ETHER);
	ap->pro = htons(ETH_P_IP4);
	ap->hln = ETH_ALEN;
	ap->pln = 4;
	ap->op = htons(op);
	memcpy(ap->sha, un->cfg.mac, ETH_ALEN);
	memcpy(ap->spa, &spa, 4);
	memcpy(ap->tha, tha, ETH_ALEN);
	memcpy(ap->tpa, &tpa, 4);
	un_out_frame(un, ETH_MIN_FRAME);
}

/** arp_defend() - Announce @ip as ours after a guest claimed it */
static void arp_defend(struct usernat *un, uint32_t ip, const uint8_t *who)
{
	int64_t now = un_now_ms();
	char a[16], m[18];

	if (now - un->last_defend_ms < ARP_DEFEND_INTERVAL_MS)
		return;
	un->last_defend_ms = now;
	UN_COUNT(un, arp_defended);
	un_warn(un, "arp: %s claims our address %s, defending",
		un_mac_str(who, m), un_ip4_str(ip, a));
	/* Announcement: a request with sender and target address both ours */
	arp_send(un, ARP_OP_REQUEST, eth_bcast, ip, eth_bcast, ip);
}

/**
 * arp_from_guest() - Handle an ARP packet from a guest
 * @src_mac:	Ethernet source of the frame
 * @c:		cursor over the ARP payload (untrusted)
 */
void arp_from_guest(struct usernat *un, const uint8_t *src_mac, struct pkt *c)
{
	const struct arp_pkt *ap = pkt_pull(c, sizeof(*ap));
	uint32_t spa, tpa;
	uint8_t sha[ETH_ALEN];
	uint16_t op;

	if (!ap || ap->hrd != htons(ARP_HRD_ETHER) ||
	    ap->pro != htons(ETH_P_IP4) || ap->hln != ETH_ALEN ||
	    ap->pln != 4 || (ap->sha[0] & 1)) {
		UN_COUNT(un, drop_arp_malformed);
		return;
	}
	op = ntohs(ap->op);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) {
		UN_COUNT(un, drop_arp_malformed);
		return;
	}
	memcpy(&spa, ap->spa, 4);
	memcpy(&tpa, ap->tpa, 4);
	memcpy(sha, ap->sha, ETH_ALEN);	/* obuf reuse can't clobber it */

	if (un_is_ours(un, spa)) {
		arp_defend(un, spa, sha);
		return;
	}
	/* Anti-spoofing (ip4.c): an address leased to another MAC */
	if (ip4_src_spoofed(un, sha, spa)) {
		UN_COUNT(un, drop_spoof);
		return;
	}
	if (spa)
		un_guest_learn(un, sha, spa);

	if (op != ARP_OP_REQUEST || !un_is_ours(un, tpa) || spa == tpa)
		return;		/* not for us, or an announcement */

	UN_COUNT(un, arp_requests);
	arp_send(un, ARP_OP_REPLY, src_mac, tpa, sha, spa);
}
