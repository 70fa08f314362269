// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp6.c - ICMPv6 (RFC 4443): echo to our addresses, errors to guests
 *
 * Every ICMPv6 message from a guest is checked here (length, checksum over
 * the pseudo-header) before its type is looked at.  Echo requests to our
 * addresses (and to all-nodes or all-routers, which include us) are
 * answered in-process; echo requests to other destinations go to the NAT
 * hook icmp6_echo_nat(); Neighbor Discovery goes to ndp.c.  Errors and
 * other types from guests are dropped and counted for now (the NAT modules
 * will want errors about their flows: they can take them in
 * icmp6_from_guest(), next to the echo hook).
 *
 * icmp6_send_error() is the one way to send an error toward a guest, for
 * ip6.c (hop limit, parameter problems) and for the NAT modules: it applies
 * the rules of RFC 4443 2.4 (e) and (f) so callers don't have to.
 */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "stack.h"
#include "wire/icmp6.h"
#include "wire/ip6.h"

/**
 * icmp6_echo_local() - Answer an echo request for one of our addresses
 *
 * RFC 4443 4.2: the reply carries the request's identifier, sequence and
 * data; to a request sent to a group, it comes from one of our unicast
 * addresses.
 */
static void icmp6_echo_local(struct usernat *un, const struct ip6_in *ip)
{
	uint8_t *l4 = ip6_out_l4(un);
	struct icmp6_header *ih = (struct icmp6_header *)l4;
	const uint8_t *src = ip6_is_mcast(ip->daddr) ?
			     ip6_src_for(un, ip->saddr) : ip->daddr;
	uint8_t mac[ETH_ALEN];

	if (ip->l4.len > sizeof(un->obuf) - UN_L4_OFF6)
		return;
	memcpy(mac, ip->src_mac, ETH_ALEN);
	memcpy(l4, ip->l4.p, ip->l4.len);
	ih->type = ICMP6_ECHOREPLY;
	ih->code = 0;
	ih->check = 0;
	ih->check = csum(l4, ip->l4.len,
			 csum_pseudo6(src, ip->saddr, IPPROTO_ICMP6,
				      (uint32_t)ip->l4.len));
	UN_COUNT(un, icmp6_echo_gw);
	ip6_out_send(un, mac, src, ip->saddr, IPPROTO_ICMP6, ip->l4.len);
}

/**
 * icmp6_echo_nat() - NAT hook: an echo request to an address not ours
 * @ip:		validated request (checksum checked), routable destination,
 *		hop limit checked
 *
 * The ICMP module takes IPv6 echo here (ping sockets are
 * SOCK_DGRAM/IPPROTO_ICMPV6).  Until it does, the request is counted in
 * drop_ip6_nat and not answered.
 */
void icmp6_echo_nat(struct usernat *un, const struct ip6_in *ip)
{
	(void)ip;
	UN_COUNT(un, drop_ip6_nat);
}

/**
 * icmp6_from_guest() - Handle an ICMPv6 message from a guest
 * @ip:		packet, upper layer ICMPv6; may come from :: (NDP only)
 */
void icmp6_from_guest(struct usernat *un, const struct ip6_in *ip)
{
	const struct icmp6_header *ih = pkt_at(&ip->l4, 0, ICMP6_HLEN);

	if (!ih) {
		UN_COUNT(un, drop_icmp6_short);
		return;
	}
	/* RFC 4443 2.3: the checksum covers the IPv6 pseudo-header */
	if (csum(ip->l4.p, ip->l4.len,
		 csum_pseudo6(ip->saddr, ip->daddr, IPPROTO_ICMP6,
			      (uint32_t)ip->l4.len))) {
		UN_COUNT(un, drop_icmp6_csum);
		return;
	}
	switch (ih->type) {
	case ICMP6_ECHO:
		if (ih->code || ip6_is_unspec(ip->saddr))
			break;
		if (ip->local)
			icmp6_echo_local(un, ip);
		else
			icmp6_echo_nat(un, ip);
		return;
	case NDP_RS:
	case NDP_RA:
	case NDP_NS:
	case NDP_NA:
	case NDP_REDIRECT:
		ndp_from_guest(un, ip);
		return;
	default:
		break;
	}
	UN_COUNT(un, drop_icmp6_type);
}

/**
 * icmp6_error_ok() - May an error be sent about @ip?  RFC 4443 2.4 (e)
 *
 * Not about an ICMPv6 error or a redirect; not about a packet sent to a
 * group (IPv6 or Ethernet multicast), except packet too big and a
 * parameter problem about an unknown option that asked for one; not to an
 * unspecified or multicast source.
 *
 * Return: true if allowed
 */
static bool icmp6_error_ok(const struct ip6_in *ip, uint8_t type,
			   uint8_t code)
{
	if (ip6_is_unspec(ip->saddr) || ip6_is_mcast(ip->saddr))
		return false;
	if ((ip6_is_mcast(ip->daddr) || (ip->eth_dst[0] & 1)) &&
	    type != ICMP6_TOOBIG &&
	    !(type == ICMP6_PARAMPROB && code == ICMP6_PARAMPROB_OPT))
		return false;
	if (ip->proto == IPPROTO_ICMP6) {
		const uint8_t *t = pkt_at(&ip->l4, 0, 1);

		if (!t || *t < 128 || *t == NDP_REDIRECT)
			return false;
	}
	return true;
}

/**
 * icmp6_send_error() - Send an ICMPv6 error about the guest's packet @ip
 * @ip:		the offending packet; l3 must cover it (l4 may be empty if
 *		its upper layer was never reached)
 * @type:	ICMP6_UNREACH, ICMP6_TOOBIG, ICMP6_TIMXCEED, ICMP6_PARAMPROB
 * @code:	the type's code
 * @param:	packet too big: the MTU; parameter problem: the pointer (an
 *		offset in the offending packet); else 0
 *
 * RFC 4443 2.4: quotes as much of the packet as keeps the error within the
 * minimum MTU (1280 bytes, (c)); never about an error, a redirect, a packet
 * to a group or from no one ((e)); rate limited ((f)).  The source is the
 * address the packet was for if it was one of ours, else our address in
 * the scope of the guest's.  Built in un->obuf and sent before return;
 * @ip's buffers may be anywhere, un->obuf included.
 */
void icmp6_send_error(struct usernat *un, const struct ip6_in *ip,
		      uint8_t type, uint8_t code, uint32_t param)
{
	struct icmp6_header *ih = (struct icmp6_header *)ip6_out_l4(un);
	size_t qlen = ip->l3.len;
	uint8_t mac[ETH_ALEN], src[16], dst[16];

	if (!un->ip6 || !icmp6_error_ok(ip, type, code) ||
	    !icmp6_err_allowed(un))
		return;
	if (qlen > IP6_MIN_MTU - IP6_HLEN - ICMP6_HLEN)
		qlen = IP6_MIN_MTU - IP6_HLEN - ICMP6_HLEN;
	memcpy(mac, ip->src_mac, ETH_ALEN);
	memcpy(dst, ip->saddr, 16);
	memcpy(src, ip->local && !ip6_is_mcast(ip->daddr) ? ip->daddr :
		    ip6_src_for(un, ip->saddr), 16);
	memmove((uint8_t *)ih + ICMP6_HLEN, ip->l3.p, qlen);
	ih->type = type;
	ih->code = code;
	ih->un.pointer = htonl(param);
	ih->check = 0;
	ih->check = csum(ih, ICMP6_HLEN + qlen,
			 csum_pseudo6(src, dst, IPPROTO_ICMP6,
				      (uint32_t)(ICMP6_HLEN + qlen)));
	UN_COUNT(un, icmp6_errors);
	ip6_out_send(un, mac, src, dst, IPPROTO_ICMP6, ICMP6_HLEN + qlen);
}
