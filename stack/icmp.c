// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp.c - ICMP for IPv4 (RFC 792): echo to the gateway, errors to guests */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/ip4.h"

/**
 * icmp_echo_local() - Answer an echo request sent to one of our addresses
 */
static void icmp_echo_local(struct usernat *un, const struct ip4_in *ip)
{
	uint8_t *l4 = ip4_out_l4(un);
	struct icmp_hdr *ih = (struct icmp_hdr *)l4;
	const uint8_t *src_mac = ip->src_mac;
	uint8_t mac[ETH_ALEN];

	if (ip->l4.len > sizeof(un->obuf) - UN_L4_OFF)
		return;
	memcpy(mac, src_mac, ETH_ALEN);
	memcpy(l4, ip->l4.p, ip->l4.len);
	ih->type = ICMP_ECHOREPLY;
	ih->code = 0;
	ih->check = 0;
	ih->check = csum(l4, ip->l4.len, 0);
	UN_COUNT(un, icmp_echo_gw);
	ip4_out_send(un, mac, ip->daddr, ip->saddr, IPPROTO_ICMP4, ip->l4.len);
}

/**
 * icmp_from_guest() - Handle an ICMP message from a guest
 */
void icmp_from_guest(struct usernat *un, const struct ip4_in *ip)
{
	const struct icmp_hdr *ih = pkt_at(&ip->l4, 0, ICMP_HLEN);

	if (!ih) {
		UN_COUNT(un, drop_icmp_short);
		return;
	}
	if (csum(ip->l4.p, ip->l4.len, 0)) {
		UN_COUNT(un, drop_icmp_csum);
		return;
	}
	if (ih->type == ICMP_ECHO && ih->code == 0 &&
	    un_is_ours(un, ip->daddr)) {
		icmp_echo_local(un, ip);
		return;
	}
	UN_COUNT(un, drop_icmp_type);
}

/**
 * icmp4_send_error() - Send an ICMP error about the guest's packet @ip
 *
 * Quotes the offending IP header and up to 548 bytes of its payload, so the
 * error stays within 576 bytes (RFC 1812 4.3.2.3).  Never about an ICMP
 * error, a broadcast or a packet with no unicast source (RFC 1122 3.2.2).
 */
void icmp4_send_error(struct usernat *un, const struct ip4_in *ip,
		      uint8_t type, uint8_t code)
{
	struct icmp_hdr *ih = (struct icmp_hdr *)ip4_out_l4(un);
	uint8_t mac[ETH_ALEN];
	size_t qlen = ip->l3.len;

	if (!ip->saddr || (ip->eth_dst[0] & 1))
		return;
	if (ip->proto == IPPROTO_ICMP4) {
		const struct icmp_hdr *q = pkt_at(&ip->l4, 0, ICMP_HLEN);

		if (!q || (q->type != ICMP_ECHO && q->type != 13 &&
			   q->type != 15 && q->type != 17))
			return;
	}
	if (qlen > 576 - IP4_HLEN - ICMP_HLEN)
		qlen = 576 - IP4_HLEN - ICMP_HLEN;
	memcpy(mac, ip->src_mac, ETH_ALEN);
	memmove((uint8_t *)ih + ICMP_HLEN, ip->l3.p, qlen);
	ih->type = type;
	ih->code = code;
	ih->un.unused = 0;
	ih->check = 0;
	ih->check = csum(ih, ICMP_HLEN + qlen, 0);
	ip4_out_send(un, mac,
		     un_is_ours(un, ip->daddr) ? ip->daddr : un->cfg.gw,
		     ip->saddr, IPPROTO_ICMP4, ICMP_HLEN + qlen);
}

/**
 * icmp4_send_error_flow() - ICMP error about a flow, without its packet
 * @guest_mac:	where to send it
 * @proto, @saddr, @sport, @daddr, @dport: the guest's flow as the guest
 *		sent it (saddr is the guest), ports in network order
 *
 * For errors found later than the packet that caused them (an asynchronous
 * connect() failure, an ECONNREFUSED on a UDP socket): quotes a rebuilt IP
 * header and the first 8 bytes of the transport header, which is all a
 * guest needs to match the error to its socket (RFC 792).  Only TCP and
 * UDP quotes are built; the TCP sequence number is quoted as zero.
 */
void icmp4_send_error_flow(struct usernat *un, const uint8_t *guest_mac,
			   uint8_t proto, uint32_t saddr, uint16_t sport,
			   uint32_t daddr, uint16_t dport, uint8_t type,
			   uint8_t code)
{
	struct icmp_hdr *ih = (struct icmp_hdr *)ip4_out_l4(un);
	struct ip4_hdr *q = (struct ip4_hdr *)((uint8_t *)ih + ICMP_HLEN);
	uint8_t *l4 = (uint8_t *)q + IP4_HLEN;
	uint8_t mac[ETH_ALEN];

	memcpy(mac, guest_mac, ETH_ALEN);
	memset(q, 0, IP4_HLEN + 8);
	q->ver_ihl = 0x45;
	q->tot_len = htons(IP4_HLEN + (proto == IPPROTO_TCP4 ? 20 : 8));
	q->frag_off = htons(IP4_DF);
	q->ttl = IP4_DEFTTL;
	q->proto = proto;
	q->saddr = saddr;
	q->daddr = daddr;
	q->check = csum(q, IP4_HLEN, 0);
	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	if (proto == IPPROTO_UDP4) {
		uint16_t ulen = htons(8);

		memcpy(l4 + 4, &ulen, 2);
	}
	ih->type = type;
	ih->code = code;
	ih->un.unused = 0;
	ih->check = 0;
	ih->check = csum(ih, ICMP_HLEN + IP4_HLEN + 8, 0);
	ip4_out_send(un, mac, un_is_ours(un, daddr) ? daddr : un->cfg.gw,
		     saddr, IPPROTO_ICMP4, ICMP_HLEN + IP4_HLEN + 8);
}

/* Echo NAT: placeholders until Outbound NAT lands */
int icmp_init(struct usernat *un) { return 0; }
void icmp_cleanup(struct usernat *un) { }
void icmp_ready(struct usernat *un, union un_ref ref, uint32_t events) { }
void icmp_tick(struct usernat *un, int64_t now_ms) { }
