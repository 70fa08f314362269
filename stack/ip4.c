// SPDX-License-Identifier: GPL-2.0-or-later
/* ip4.c - IPv4 input validation and output framing (RFC 791, RFC 1122)
 *
 * Input: every header field a guest controls is checked before anything
 * above this layer sees the packet; the transport modules get a struct ip4_in
 * whose l4 cursor covers exactly the payload that tot_len announces (any
 * Ethernet padding beyond it is trimmed).
 *
 * Anti-spoofing: a guest may not use a source address that DHCP leased to
 * another MAC (ip4_src_spoofed()), so one guest can't impersonate another
 * toward the host or poison our neighbour table.  Addresses nobody holds a
 * lease on stay free for statically configured guests.
 *
 * Fragments are dropped and counted: guests use path MTU discovery (DF) for
 * TCP, and reassembly was the source of several libslirp CVEs; see the
 * Outbound NAT notes for UDP.
 */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "dhcp.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/ip4.h"

static bool ip4_is_bcast(const struct usernat *un, uint32_t a)
{
	return a == INADDR_BROADCAST || a == (un->cfg.net | ~un->cfg.mask);
}

static bool ip4_is_mcast(uint32_t a)
{
	return (ntohl(a) & 0xf0000000) == 0xe0000000;
}

/**
 * ip4_src_spoofed() - Is @saddr, sent by @src_mac, another guest's address?
 * @src_mac:	Ethernet source of the frame
 * @saddr:	source address it claims, network order
 *
 * Only an active DHCP lease held by a different MAC makes it so: guests
 * with static addresses (--no-dhcp, or addresses we never leased) are not
 * affected.  Return: true if the packet must be dropped
 */
bool ip4_src_spoofed(const struct usernat *un, const uint8_t *src_mac,
		     uint32_t saddr)
{
	uint8_t owner[ETH_ALEN];

	if (!saddr || !un_in_net(un, saddr))
		return false;
	return dhcp_ip_owner(un, saddr, owner) &&
	       memcmp(owner, src_mac, ETH_ALEN);
}

/**
 * ip4_from_guest() - Validate an IPv4 packet and dispatch it by protocol
 * @src_mac:	frame's source MAC
 * @eth_dst:	frame's destination MAC
 * @c:		cursor over the Ethernet payload (untrusted)
 */
void ip4_from_guest(struct usernat *un, const uint8_t *src_mac,
		    const uint8_t *eth_dst, struct pkt *c)
{
	const struct ip4_hdr *ih = pkt_at(c, 0, IP4_HLEN);
	struct ip4_in ip = { .src_mac = src_mac, .eth_dst = eth_dst };
	size_t hlen, tot;

	if (!ih) {
		UN_COUNT(un, drop_ip_short);
		return;
	}
	if (ih->ver_ihl >> 4 != 4) {
		UN_COUNT(un, drop_ip_version);
		return;
	}
	hlen = (size_t)(ih->ver_ihl & 0xf) * 4;
	tot = ntohs(ih->tot_len);
	if (hlen < IP4_HLEN || hlen > c->len) {
		UN_COUNT(un, drop_ip_hdrlen);
		return;
	}
	if (tot < hlen || tot > c->len) {
		UN_COUNT(un, drop_ip_totlen);
		return;
	}
	if (csum(ih, hlen, 0)) {
		UN_COUNT(un, drop_ip_csum);
		return;
	}
	if (ntohs(ih->frag_off) & (IP4_MF | IP4_OFFMASK)) {
		UN_COUNT(un, drop_ip_frag);
		return;
	}

	ip.saddr = ih->saddr;
	ip.daddr = ih->daddr;
	ip.proto = ih->proto;
	ip.ttl = ih->ttl;
	ip.tos = ih->tos;
	pkt_sub(c, 0, tot, &ip.l3);
	pkt_sub(c, hlen, tot - hlen, &ip.l4);

	/* RFC 1122 3.2.1.3: never accept broadcast or multicast sources;
	 * 0.0.0.0 only from a client still asking DHCP for its address. */
	if (ip4_is_bcast(un, ip.saddr) || ip4_is_mcast(ip.saddr) ||
	    (!ip.saddr && ip.proto != IPPROTO_UDP4)) {
		UN_COUNT(un, drop_ip_src);
		return;
	}
	/* Hardening: before it can teach us a wrong neighbour */
	if (ip4_src_spoofed(un, src_mac, ip.saddr)) {
		UN_COUNT(un, drop_spoof);
		return;
	}
	if (ip.saddr && un_in_net(un, ip.saddr))
		un_guest_learn(un, src_mac, ip.saddr);

	/* Guests on our network talk to each other directly, not through us */
	if (un_in_net(un, ip.daddr) && !un_is_ours(un, ip.daddr) &&
	    !ip4_is_bcast(un, ip.daddr)) {
		UN_COUNT(un, drop_ip_dst);
		return;
	}
	/* RFC 1812 5.3.7: loopback and "this network" destinations are
	 * martians; the host's loopback is reached through the gateway (and
	 * 0.0.0.0/8 would reach the host itself, even with
	 * no-map-host-loopback) */
	if ((ntohl(ip.daddr) >> 24) == 127 || (ntohl(ip.daddr) >> 24) == 0) {
		UN_COUNT(un, drop_ip_dst);
		return;
	}
	/* We route what leaves the network: RFC 1812 5.3.1 */
	if (!un_in_net(un, ip.daddr) && !ip4_is_bcast(un, ip.daddr) &&
	    !ip4_is_mcast(ip.daddr) && ip.ttl <= 1) {
		UN_COUNT(un, drop_ip_ttl);
		icmp4_send_error(un, &ip, ICMP_TIMXCEED, 0);
		return;
	}

	switch (ip.proto) {
	case IPPROTO_ICMP4:
		icmp_from_guest(un, &ip);
		break;
	case IPPROTO_UDP4:
		udp_from_guest(un, &ip);
		break;
	case IPPROTO_TCP4:
		tcp_from_guest(un, &ip);
		break;
	default:
		UN_COUNT(un, drop_ip_proto);
		if (un_is_ours(un, ip.daddr))
			icmp4_send_error(un, &ip, ICMP_UNREACH,
					 ICMP_UNREACH_PROTO);
		break;
	}
}

/**
 * ip4_out_send_off() - Add Ethernet and IPv4 headers to the L4 data in
 * un->obuf, send the frame with offload information @off
 * @dst_mac:	Ethernet destination
 * @saddr, @daddr: network order
 * @proto:	IP protocol
 * @l4len:	bytes already written at ip4_out_l4(un), at most 65515
 * @off:	for the output callback (usernat_set_output_offload() is
 *		set), or NULL for an ordinary frame
 */
void ip4_out_send_off(struct usernat *un, const uint8_t *dst_mac,
		      uint32_t saddr, uint32_t daddr, uint8_t proto,
		      size_t l4len, const struct usernat_offload *off)
{
	struct eth_hdr *eh = (struct eth_hdr *)un->obuf;
	struct ip4_hdr *ih = (struct ip4_hdr *)(un->obuf + ETH_HLEN);
	size_t len = ETH_HLEN + IP4_HLEN + l4len;

	memcpy(eh->dst, dst_mac, ETH_ALEN);
	memcpy(eh->src, un->cfg.mac, ETH_ALEN);
	eh->type = htons(ETH_P_IP4);
	ih->ver_ihl = 0x45;
	ih->tos = 0;
	ih->tot_len = htons((uint16_t)(IP4_HLEN + l4len));
	ih->id = htons(un->ip_id++);
	ih->frag_off = htons(IP4_DF);
	ih->ttl = IP4_DEFTTL;
	ih->proto = proto;
	ih->check = 0;
	ih->saddr = saddr;
	ih->daddr = daddr;
	ih->check = csum(ih, IP4_HLEN, 0);
	if (len < 60) {		/* pad to the Ethernet minimum */
		memset(un->obuf + len, 0, 60 - len);
		len = 60;
	}
	if (off)
		un_out_frame_off(un, len, off);
	else
		un_out_frame(un, len);
}

/**
 * ip4_out_send() - ip4_out_send_off() of an ordinary frame
 */
void ip4_out_send(struct usernat *un, const uint8_t *dst_mac, uint32_t saddr,
		  uint32_t daddr, uint8_t proto, size_t l4len)
{
	ip4_out_send_off(un, dst_mac, saddr, daddr, proto, l4len, NULL);
}
