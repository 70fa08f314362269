// SPDX-License-Identifier: GPL-2.0-or-later
/* udp.c - UDP (RFC 768): validation, local services, output */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "stack.h"
#include "wire/dhcp.h"
#include "wire/icmp.h"
#include "wire/ip4.h"
#include "wire/udp.h"

/**
 * udp_from_guest() - Validate a UDP datagram and hand it to its service
 */
void udp_from_guest(struct usernat *un, const struct ip4_in *ip)
{
	const struct udp_hdr *uh = pkt_at(&ip->l4, 0, UDP_HLEN);
	struct pkt payload;
	size_t ulen;

	if (!uh) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	ulen = ntohs(uh->len);
	if (ulen < UDP_HLEN || ulen > ip->l4.len) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	/* RFC 768: a zero checksum means none was computed */
	if (uh->check &&
	    csum(ip->l4.p, ulen,
		 csum_pseudo4(ip->saddr, ip->daddr, IPPROTO_UDP4,
			      (uint16_t)ulen))) {
		UN_COUNT(un, drop_udp_csum);
		return;
	}
	pkt_sub(&ip->l4, UDP_HLEN, ulen - UDP_HLEN, &payload);

	if (uh->dest == htons(DHCP_SERVER_PORT) && un->cfg.dhcp &&
	    (ip->daddr == INADDR_BROADCAST || ip->daddr == un->cfg.gw)) {
		dhcp_from_guest(un, ip, &payload);
		return;
	}
	if (!ip->saddr || !un_in_net(un, ip->saddr) ||
	    ip->daddr == INADDR_BROADCAST ||
	    ip->daddr == (un->cfg.net | ~un->cfg.mask) ||
	    (ntohl(ip->daddr) & 0xf0000000) == 0xe0000000) {
		UN_COUNT(un, drop_udp_bcast);
		return;
	}
	UN_COUNT(un, drop_udp_port);
	icmp4_send_error(un, ip, ICMP_UNREACH, ICMP_UNREACH_PORT);
}

/**
 * udp4_out_send() - Send @len bytes written at udp4_out_payload() as UDP
 */
void udp4_out_send(struct usernat *un, const uint8_t *dst_mac, uint32_t saddr,
		   uint16_t sport, uint32_t daddr, uint16_t dport, size_t len)
{
	struct udp_hdr *uh = (struct udp_hdr *)ip4_out_l4(un);
	uint16_t ulen = (uint16_t)(UDP_HLEN + len);

	uh->source = sport;
	uh->dest = dport;
	uh->len = htons(ulen);
	uh->check = 0;
	uh->check = csum(uh, ulen, csum_pseudo4(saddr, daddr, IPPROTO_UDP4,
						ulen));
	if (!uh->check)
		uh->check = 0xffff;	/* RFC 768: zero means "none" */
	ip4_out_send(un, dst_mac, saddr, daddr, IPPROTO_UDP4, ulen);
}

/* NAT flows: placeholders until Outbound NAT lands */
int udp_init(struct usernat *un) { return 0; }
void udp_cleanup(struct usernat *un) { }
void udp_ready(struct usernat *un, union un_ref ref, uint32_t events) { }
void udp_tick(struct usernat *un, int64_t now_ms) { }
