// SPDX-License-Identifier: GPL-2.0-or-later
/* ip6.c - IPv6 input validation, extension headers, output framing
 * (RFC 8200, RFC 4291, RFC 2464)
 *
 * DOC: Theory of operation
 *
 * Input: ip6_from_guest() checks the fixed header (version, payload length
 * against the frame, source address), classifies the destination, walks the
 * extension headers and dispatches the upper layer.  Every later stage sees
 * a struct ip6_in whose l3 cursor covers exactly the packet that
 * payload_len announces (Ethernet padding trimmed) and whose l4 cursor
 * starts after the last extension header.
 *
 * Destinations, in the order they are checked:
 *   - ours (local): the gateway and DNS addresses (gateway6, dns6), our
 *     link-local address (fe80::EUI-64 of our MAC), all-nodes ff02::1,
 *     all-routers ff02::2, All_DHCP_Relay_Agents_and_Servers ff02::1:2
 *     (when DHCP is served) and the solicited-node groups of our three
 *     addresses.  ICMPv6 goes to icmp6.c (echo, NDP), UDP port 547 to
 *     dhcp6.c, TCP and other UDP for our unicast addresses to the NAT hook
 *     ip6_nat_from_guest() (the gateway stands for the host, dns6 for the
 *     DNS forwarder);
 *   - other multicast: groups we are not in (MLD reports, DAD probes of
 *     guests, mDNS...), ignored and counted in ip6_mcast_ignored;
 *   - on-link or martian unicast: other link-local addresses, the rest of
 *     our prefix (guests reach each other directly), ::, ::1 and
 *     IPv4-mapped addresses: dropped (drop_ip6_dst);
 *   - anything else is routed: not from a link-local source (RFC 4291
 *     2.5.6), hop limit checked (RFC 8200 3), then echo requests go to
 *     icmp6.c's icmp6_echo_nat() and TCP and UDP to ip6_nat_from_guest()
 *     (UDP to udp.c, TCP to tcp_in.c's tcp_from_guest6()).
 *
 * Extension headers (RFC 8200 4) are walked with a bounded loop of at most
 * IP6_EXT_MAX headers, each one bounds-checked through the pkt cursor
 * before any field of it is read:
 *   - hop-by-hop options (only right after the IPv6 header, RFC 8200 4.1)
 *     and destination options: every option is walked; Pad1, PadN and
 *     (hop-by-hop) Router Alert are known, unknown ones are handled by the
 *     two high bits of their type (RFC 8200 4.2);
 *   - routing headers with segments left 0 are skipped (RFC 8200 4.4);
 *     with segments left we would have to forward along the route, which a
 *     NAT doesn't do, so we answer a parameter problem (no type is known to
 *     us; type 0 is deprecated by RFC 5095);
 *   - fragments: reassembly is not supported (as for IPv4: it was a classic
 *     source of bugs in user-mode stacks, and guests send TCP with path MTU
 *     discovery), so real fragments are dropped and counted in
 *     drop_ip6_frag.  Atomic fragments (offset 0, no M flag) are processed
 *     as whole packets, as RFC 6946 asks;
 *   - ESP, AH, mobility and other headers are not supported: the upper
 *     layer is "unrecognized", answered with a parameter problem when the
 *     packet was for one of our unicast addresses (RFC 8200 4).
 *
 * Output: ip6_out_send() puts the Ethernet and IPv6 headers in front of
 * upper-layer data already written at ip6_out_l4(un); multicast
 * destinations get their 33:33:xx:xx:xx:xx MAC (RFC 2464 7).  Callers
 * compute their own checksums with csum_pseudo6(), as for IPv4.
 *
 * The IPv6 neighbour table (guests' addresses and MACs, learnt from every
 * packet's source and from NDP) is here too: bounded by IP6_NEIGH_MAX, it
 * allocates only when an address appears, and past the bound evicts the
 * entry heard from least recently.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "checksum.h"
#include "stack.h"
#include "tcp.h"
#include "wire/icmp6.h"
#include "wire/ip6.h"
#include "wire/udp.h"
#include "wire/dhcp6.h"

#define IP6_EXT_MAX		8	/* extension headers we walk, at most */
#define ICMP6_ERR_BURST		10	/* errors sent back to back, at most */
#define ICMP6_ERR_MS		10	/* then one per this many ms */

/**
 * struct ip6_neigh_key - Key of the neighbour table
 * @seed:	the table's hash seed (a guest can't aim at one bucket), not
 *		compared
 * @addr:	guest address
 */
struct ip6_neigh_key {
	uint32_t seed;
	uint8_t addr[16];
};

/**
 * struct ip6_neigh - One entry of the IPv6 neighbour table
 * @key:	its key
 * @mac:	where the address was last seen
 * @seen_ms:	when
 */
struct ip6_neigh {
	struct ip6_neigh_key key;
	uint8_t mac[6];
	int64_t seen_ms;
};

static const uint8_t ip6_all_nodes[16] = { 0xff, 0x02, [15] = 1 };
static const uint8_t ip6_all_routers[16] = { 0xff, 0x02, [15] = 2 };
static const uint8_t ip6_all_dhcp[16] = DHCP6_ALL_SERVERS;

/* ------------------------------------------------------------------------ */
/* Addresses                                                                */

/** ip6_in_prefix() - Is @a in our on-link /64 (prefix6)? */
bool ip6_in_prefix(const struct usernat *un, const uint8_t *a)
{
	return !memcmp(a, un->cfg.prefix6, 8);
}

/**
 * ip6_is_ours() - Is @addr one of our unicast addresses?
 *
 * The gateway (gateway6), the DNS forwarder (dns6) and our link-local
 * address.  Return: true if so; false if IPv6 is off
 */
bool ip6_is_ours(const struct usernat *un, const uint8_t *addr)
{
	if (!un->ip6)
		return false;
	return ip6_eq(addr, un->cfg.gw6) || ip6_eq(addr, un->cfg.dns6) ||
	       ip6_eq(addr, un->ip6->ll);
}

/**
 * ip6_group_ours() - Is the multicast address @a a group we listen to?
 *
 * All-nodes, all-routers (RFC 4291 2.7.1), the DHCPv6 servers' group when
 * DHCP is served (RFC 8415 7.1), and the solicited-node group of each of
 * our addresses.  Return: true if so
 */
static bool ip6_group_ours(const struct usernat *un, const uint8_t *a)
{
	const uint8_t *ours[3] = { un->cfg.gw6, un->cfg.dns6, un->ip6->ll };
	size_t i;

	if (ip6_eq(a, ip6_all_nodes) || ip6_eq(a, ip6_all_routers))
		return true;
	if (ip6_eq(a, ip6_all_dhcp))
		return un->cfg.dhcp;
	if (!ip6_is_snm(a))
		return false;
	for (i = 0; i < G_N_ELEMENTS(ours); i++)
		if (!memcmp(a + 13, ours[i] + 13, 3))
			return true;
	return false;
}

/**
 * ip6_src_for() - Our address to use as source toward @peer
 *
 * Link-local toward a link-local peer (so the scopes match, RFC 6724),
 * else the gateway's address.  Return: pointer to 16 bytes in @un
 */
const uint8_t *ip6_src_for(const struct usernat *un, const uint8_t *peer)
{
	return ip6_is_linklocal(peer) ? un->ip6->ll : un->cfg.gw6;
}

/**
 * ip6_dst_martian() - Is the unicast destination @a one we never route?
 *
 * Unspecified, loopback (RFC 4291 2.5.2, 2.5.3), IPv4-mapped and
 * IPv4-compatible (2.5.5: not to appear on the wire), link-local (only
 * ours are answered, guests reach each other directly), and the rest of
 * our own prefix (on-link).  Return: true if it must be dropped
 */
static bool ip6_dst_martian(const struct usernat *un, const uint8_t *a)
{
	static const uint8_t v4[10];

	if (!memcmp(a, v4, sizeof(v4)) &&
	    ((a[10] == 0xff && a[11] == 0xff) || (!a[10] && !a[11])))
		return true;	/* ::ffff:0:0/96, ::/96 (with :: and ::1) */
	return ip6_is_linklocal(a) || ip6_in_prefix(un, a);
}

/* ------------------------------------------------------------------------ */
/* Extension headers                                                        */

/**
 * ip6_opts() - Walk the options of a hop-by-hop or destination options
 * header, RFC 8200 4.2
 * @ip:		packet; l3 covers it
 * @off:	offset of the options header in ip->l3
 * @hlen:	its length, already checked to fit
 * @hbh:	hop-by-hop (Router Alert is known there)
 *
 * Unknown options are handled by the two high bits of their type: skipped,
 * or the packet discarded, with or without a parameter problem pointing at
 * the option (code 2).
 *
 * Return: 0 to go on, -1 if the packet was dropped (and counted)
 */
static int ip6_opts(struct usernat *un, const struct ip6_in *ip, size_t off,
		    size_t hlen, bool hbh)
{
	struct pkt o, val;
	uint8_t type;
	size_t pos;
	int r;

	pkt_sub(&ip->l3, off + 2, hlen - 2, &o);
	for (;;) {
		pos = (size_t)(o.p - ip->l3.p);
		r = pkt_tlv_next(&o, &type, &val, 0, IP6_OPT_PAD1,
				 IP6_OPT_PAD1);
		if (r <= 0)
			break;
		if (type == IP6_OPT_PAD1 || type == IP6_OPT_PADN ||
		    (hbh && type == IP6_OPT_ROUTER_ALERT))
			continue;
		switch (IP6_OPT_ACTION(type)) {
		case IP6_OPT_SKIP:
			continue;
		case IP6_OPT_DISCARD_UICMP:
			if (ip6_is_mcast(ip->daddr))
				break;
			/* fall through */
		case IP6_OPT_DISCARD_ICMP:
			icmp6_send_error(un, ip, ICMP6_PARAMPROB,
					 ICMP6_PARAMPROB_OPT, (uint32_t)pos);
			break;
		default:
			break;
		}
		UN_COUNT(un, drop_ip6_exthdr);
		return -1;
	}
	if (r < 0) {		/* an option overruns its header */
		UN_COUNT(un, drop_ip6_exthdr);
		return -1;
	}
	return 0;
}

/**
 * ip6_ext_walk() - Follow the extension headers to the upper layer
 * @ip:		packet, l3 set; proto and l4 are set on success
 * @first:	next header value in the IPv6 header
 * @nh_off:	offset in l3 of the next header field naming the upper
 *		layer, output (for a parameter problem about it)
 *
 * Return: 0, or -1 if the packet was dropped (and counted, and answered
 * with a parameter problem where RFC 8200 asks for one)
 */
static int ip6_ext_walk(struct usernat *un, struct ip6_in *ip, uint8_t first,
			size_t *nh_off)
{
	size_t off = IP6_HLEN, hlen;
	uint8_t nh = first;
	unsigned int i;

	*nh_off = 6;
	for (i = 0; i <= IP6_EXT_MAX; i++) {	/* headers, then upper layer */
		const struct ip6_opt_header *eh;
		const struct ip6_rt_header *rt;
		const struct ip6_frag_header *fh;

		ip->proto = nh;
		switch (nh) {
		case IP6_NH_HOPOPTS:
		case IP6_NH_DSTOPTS:
		case IP6_NH_ROUTING:
			if (i == IP6_EXT_MAX)
				goto drop;
			if (!(eh = pkt_at(&ip->l3, off, sizeof(*eh))))
				goto drop;
			hlen = ((size_t)eh->len + 1) * 8;
			if (!pkt_at(&ip->l3, off, hlen))
				goto drop;
			break;
		case IP6_NH_FRAGMENT:
			hlen = IP6_FRAG_HLEN;
			if (i == IP6_EXT_MAX || !(fh = pkt_at(&ip->l3, off, hlen)))
				goto drop;
			/* RFC 6946 4: an atomic fragment is a whole packet */
			if (ntohs(fh->off_flags) & (IP6_FRAG_OFFMASK |
						    IP6_FRAG_MF)) {
				UN_COUNT(un, drop_ip6_frag);
				return -1;
			}
			break;
		default:	/* the upper layer, or one we don't know */
			pkt_sub(&ip->l3, off, ip->l3.len - off, &ip->l4);
			return 0;
		}

		/* RFC 8200 4.1: hop-by-hop only right after the header */
		if (nh == IP6_NH_HOPOPTS && i) {
			icmp6_send_error(un, ip, ICMP6_PARAMPROB,
					 ICMP6_PARAMPROB_NH, (uint32_t)*nh_off);
			goto drop;
		}
		if ((nh == IP6_NH_HOPOPTS || nh == IP6_NH_DSTOPTS) &&
		    ip6_opts(un, ip, off, hlen, nh == IP6_NH_HOPOPTS))
			return -1;
		/* RFC 8200 4.4: with segments left, an unrecognized routing
		 * type is a parameter problem pointing at the type field */
		if (nh == IP6_NH_ROUTING &&
		    (rt = pkt_at(&ip->l3, off, sizeof(*rt))) && rt->segleft) {
			icmp6_send_error(un, ip, ICMP6_PARAMPROB,
					 ICMP6_PARAMPROB_HDR,
					 (uint32_t)(off + 2));
			goto drop;
		}
		nh = ((const uint8_t *)ip->l3.p)[off];	/* checked above */
		*nh_off = off;
		off += hlen;
	}
drop:		/* too many headers, or truncated, or answered above */
	UN_COUNT(un, drop_ip6_exthdr);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

/**
 * ip6_nat_from_guest() - NAT hook: TCP and UDP this module doesn't serve
 * @ip:		validated packet: routable destination (hop limit checked)
 *		or one of our unicast addresses (ip->local); l4 is the
 *		unvalidated transport header and data
 *
 * UDP goes to udp_from_guest6() (udp.c): NAT, and the DNS forwarder at
 * dns6 port 53; it answers other ports of our addresses with a port
 * unreachable itself.  TCP goes to tcp_from_guest6() (tcp_in.c): NAT, DNS
 * over TCP at dns6 port 53, an RST for other ports of our addresses.
 */
void ip6_nat_from_guest(struct usernat *un, const struct ip6_in *ip)
{
	switch (ip->proto) {
	case IP6_NH_UDP:
		udp_from_guest6(un, ip);
		return;
	case IP6_NH_TCP:
		tcp_from_guest6(un, ip);
		return;
	default:
		break;
	}
	UN_COUNT(un, drop_ip6_nat);
}

/**
 * ip6_udp_local() - UDP for one of our addresses or groups
 *
 * DHCPv6 (port 547) is served here, to the servers' group or to our
 * unicast addresses; other UDP to our groups is ignored; other UDP to our
 * unicast addresses goes to the NAT hook (host loopback, DNS).
 */
static void ip6_udp_local(struct usernat *un, const struct ip6_in *ip)
{
	const struct udp_hdr *uh = pkt_at(&ip->l4, 0, UDP_HLEN);
	struct pkt payload;
	size_t ulen;

	if (!uh) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	if (uh->dest != htons(DHCP6_SERVER_PORT) || !un->cfg.dhcp) {
		if (ip6_is_mcast(ip->daddr))
			UN_COUNT(un, ip6_mcast_ignored);
		else
			ip6_nat_from_guest(un, ip);
		return;
	}
	ulen = ntohs(uh->len);
	if (ulen < UDP_HLEN || ulen > ip->l4.len) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	/* RFC 8200 8.1: the checksum is mandatory, zero is invalid; not
	 * checked when partial (virtio-net offload, see un_rx_csum_ok()) */
	if (!uh->check || (!un_rx_csum_ok(un) &&
	    csum(ip->l4.p, ulen, csum_pseudo6(ip->saddr, ip->daddr,
					       IP6_NH_UDP, (uint32_t)ulen)))) {
		UN_COUNT(un, drop_udp_csum);
		return;
	}
	pkt_sub(&ip->l4, UDP_HLEN, ulen - UDP_HLEN, &payload);
	dhcp6_from_guest(un, ip, &payload);
}

/**
 * ip6_check_src() - Validate the source address, RFC 4291 2.7, 2.5.3
 *
 * Never multicast, loopback or one of our own addresses (a looped or
 * spoofed packet).  The unspecified address is checked later, once the
 * upper layer is known: only NDP may use it (DAD, RS).
 *
 * Return: true if acceptable
 */
static bool ip6_check_src(const struct usernat *un, const uint8_t *a)
{
	static const uint8_t loopback[16] = { [15] = 1 };

	return !ip6_is_mcast(a) && !ip6_eq(a, loopback) && !ip6_is_ours(un, a);
}

/**
 * ip6_dispatch() - Hand a validated packet to its upper layer
 * @ip:		packet, extension headers walked
 * @nh_off:	offset of the next header field naming the upper layer
 */
static void ip6_dispatch(struct usernat *un, const struct ip6_in *ip,
			 size_t nh_off)
{
	if (ip6_is_unspec(ip->saddr) && ip->proto != IPPROTO_ICMP6) {
		UN_COUNT(un, drop_ip6_src);	/* only NDP may use :: */
		return;
	}
	if (ip->proto != IP6_NH_TCP && ip->proto != IP6_NH_UDP &&
	    ip->proto != IPPROTO_ICMP6) {
		UN_COUNT(un, drop_ip6_proto);
		/* RFC 8200 4: unrecognized next header; 4.7: none is fine */
		if (ip->local && ip->proto != IP6_NH_NONE)
			icmp6_send_error(un, ip, ICMP6_PARAMPROB,
					 ICMP6_PARAMPROB_NH, (uint32_t)nh_off);
		return;
	}
	if (!ip->local) {
		/* RFC 4291 2.5.6: link-local sources stay on the link */
		if (ip6_is_linklocal(ip->saddr)) {
			UN_COUNT(un, drop_ip6_src);
			icmp6_send_error(un, ip, ICMP6_UNREACH,
					 ICMP6_UNREACH_BEYONDSCOPE, 0);
			return;
		}
		/* RFC 8200 3: we would forward it with hop limit 0 */
		if (ip->hop_limit <= 1) {
			UN_COUNT(un, drop_ip6_hoplimit);
			icmp6_send_error(un, ip, ICMP6_TIMXCEED,
					 ICMP6_TIMXCEED_HOPS, 0);
			return;
		}
	}
	if (ip->proto == IPPROTO_ICMP6)
		icmp6_from_guest(un, ip);
	else if (ip->local && ip->proto == IP6_NH_UDP)
		ip6_udp_local(un, ip);
	else if (ip->local && ip6_is_mcast(ip->daddr))
		UN_COUNT(un, ip6_mcast_ignored);	/* TCP to a group */
	else
		ip6_nat_from_guest(un, ip);
}

/**
 * ip6_from_guest() - Validate an IPv6 packet and dispatch it
 * @src_mac:	frame's source MAC
 * @eth_dst:	frame's destination MAC (ours, or 33:33:xx multicast)
 * @c:		cursor over the Ethernet payload (untrusted), not kept
 */
void ip6_from_guest(struct usernat *un, const uint8_t *src_mac,
		    const uint8_t *eth_dst, struct pkt *c)
{
	const struct ip6_header *h = pkt_at(c, 0, IP6_HLEN);
	struct ip6_in ip = { .src_mac = src_mac, .eth_dst = eth_dst };
	size_t plen, nh_off;

	g_return_if_fail(un->ip6);
	if (!h) {
		UN_COUNT(un, drop_ip6_short);
		return;
	}
	if (ntohl(h->ver_tc_flow) >> 28 != 6) {
		UN_COUNT(un, drop_ip6_version);
		return;
	}
	/* Jumbograms (payload length 0, RFC 2675) can't fit our MTU */
	plen = ntohs(h->payload_len);
	if (plen > c->len - IP6_HLEN || (!plen && h->next != IP6_NH_NONE)) {
		UN_COUNT(un, drop_ip6_len);
		return;
	}
	pkt_sub(c, 0, IP6_HLEN + plen, &ip.l3);	/* padding trimmed */
	memcpy(ip.saddr, h->saddr, 16);
	memcpy(ip.daddr, h->daddr, 16);
	ip.hop_limit = h->hop_limit;
	ip.proto = h->next;

	if (!ip6_check_src(un, ip.saddr)) {
		UN_COUNT(un, drop_ip6_src);
		return;
	}
	/* As ip4.c: any packet with a valid source teaches us where it is
	 * (MLD reports to groups we ignore included) */
	ip6_neigh_learn(un, ip.saddr, src_mac);
	ip.local = ip6_is_mcast(ip.daddr) ? ip6_group_ours(un, ip.daddr) :
		   ip6_is_ours(un, ip.daddr);
	if (!ip.local && ip6_is_mcast(ip.daddr)) {
		UN_COUNT(un, ip6_mcast_ignored);
		return;
	}
	if (!ip.local && ip6_dst_martian(un, ip.daddr)) {
		UN_COUNT(un, drop_ip6_dst);
		return;
	}
	if (!ip6_ext_walk(un, &ip, h->next, &nh_off))
		ip6_dispatch(un, &ip, nh_off);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

/**
 * ip6_out_frame() - ip6_out_send() with a given hop limit and, if not
 * NULL, offload information @off for the frame (a TSO frame)
 */
static void ip6_out_frame(struct usernat *un, const uint8_t *dst_mac,
			  const uint8_t *saddr, const uint8_t *daddr,
			  uint8_t proto, size_t l4len, uint8_t hop_limit,
			  const struct usernat_offload *off)
{
	struct eth_hdr *eh = (struct eth_hdr *)un->obuf;
	struct ip6_header *h = (struct ip6_header *)(un->obuf + ETH_HLEN);
	size_t len = UN_L4_OFF6 + l4len;
	uint8_t mac[ETH_ALEN], s[16], d[16];

	if (l4len > sizeof(un->obuf) - UN_L4_OFF6 || l4len > 0xffff)
		return;
	memcpy(s, saddr, 16);	/* the caller's may live in un->obuf */
	memcpy(d, daddr, 16);
	if (ip6_is_mcast(d)) {	/* RFC 2464 7 */
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, d + 12, 4);
	} else if (dst_mac) {
		memcpy(mac, dst_mac, ETH_ALEN);
	} else if (!ip6_neigh_find(un, d, mac)) {
		un_debug(un, "ip6: no neighbour entry, packet dropped");
		return;
	}
	memcpy(eh->dst, mac, ETH_ALEN);
	memcpy(eh->src, un->cfg.mac, ETH_ALEN);
	eh->type = htons(ETH_P_IP6);
	h->ver_tc_flow = htonl(6u << 28);
	h->payload_len = htons((uint16_t)l4len);
	h->next = proto;
	h->hop_limit = hop_limit;
	memcpy(h->saddr, s, 16);
	memcpy(h->daddr, d, 16);
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
 * ip6_out_send_hl() - ip6_out_send() with a given hop limit (NDP: 255)
 */
void ip6_out_send_hl(struct usernat *un, const uint8_t *dst_mac,
		     const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
		     size_t l4len, uint8_t hop_limit)
{
	ip6_out_frame(un, dst_mac, saddr, daddr, proto, l4len, hop_limit,
		      NULL);
}

/**
 * ip6_out_send_off() - ip6_out_send() of a frame with offload information
 * @off:	for the output callback (usernat_set_output_offload() is set)
 */
void ip6_out_send_off(struct usernat *un, const uint8_t *dst_mac,
		      const uint8_t *saddr, const uint8_t *daddr,
		      uint8_t proto, size_t l4len,
		      const struct usernat_offload *off)
{
	ip6_out_frame(un, dst_mac, saddr, daddr, proto, l4len,
		      IP6_DEF_HOPLIMIT, off);
}

/**
 * ip6_out_send() - Add Ethernet and IPv6 headers to the L4 data in un->obuf
 * @dst_mac:	Ethernet destination; ignored for a multicast @daddr (RFC
 *		2464 7); NULL: looked up in the neighbour table, and the
 *		packet is dropped if the address is unknown
 * @saddr, @daddr: 16 bytes each
 * @proto:	upper-layer protocol (next header); no extension headers
 * @l4len:	bytes already written at ip6_out_l4(un), checksum included
 *
 * Hop limit 64.  The frame is sent before return.
 */
void ip6_out_send(struct usernat *un, const uint8_t *dst_mac,
		  const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
		  size_t l4len)
{
	ip6_out_send_hl(un, dst_mac, saddr, daddr, proto, l4len,
			IP6_DEF_HOPLIMIT);
}

/**
 * udp6_out_send() - Send @len bytes written at udp6_out_payload() as UDP
 * @sport, @dport: network order
 *
 * The checksum is mandatory in IPv6 (RFC 8200 8.1); a computed zero is
 * sent as 0xffff (RFC 768).  Here rather than in udp.c so that DHCPv6 and
 * the UDP NAT share it.
 */
void udp6_out_send(struct usernat *un, const uint8_t *dst_mac,
		   const uint8_t *saddr, uint16_t sport, const uint8_t *daddr,
		   uint16_t dport, size_t len)
{
	struct udp_hdr *uh = (struct udp_hdr *)ip6_out_l4(un);
	size_t ulen = UDP_HLEN + len;

	if (ulen > 0xffff)
		return;
	uh->source = sport;
	uh->dest = dport;
	uh->len = htons((uint16_t)ulen);
	uh->check = 0;
	uh->check = csum(uh, ulen, csum_pseudo6(saddr, daddr, IP6_NH_UDP,
						(uint32_t)ulen));
	if (!uh->check)
		uh->check = 0xffff;
	ip6_out_send(un, dst_mac, saddr, daddr, IP6_NH_UDP, ulen);
}

/* ------------------------------------------------------------------------ */
/* Neighbour table                                                          */

/** ip6_neigh_hash() - Seeded hash of a neighbour key; Return: hash */
static guint ip6_neigh_hash(gconstpointer p)
{
	const struct ip6_neigh_key *k = p;
	uint64_t h, w[2];

	memcpy(w, k->addr, 16);
	h = (w[0] ^ k->seed) * 0x9e3779b97f4a7c15ULL;
	h ^= w[1];
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return (guint)(h ^ (h >> 32));
}

/** ip6_neigh_equal() - Same address?  The seed is not part of the key */
static gboolean ip6_neigh_equal(gconstpointer a, gconstpointer b)
{
	const struct ip6_neigh_key *x = a, *y = b;

	return ip6_eq(x->addr, y->addr);
}

/** ip6_neigh_get() - Entry of @addr, or NULL */
static struct ip6_neigh *ip6_neigh_get(const struct un_ip6 *s,
				       const uint8_t *addr)
{
	struct ip6_neigh_key k = { .seed = s->seed };

	memcpy(k.addr, addr, 16);
	return g_hash_table_lookup(s->neigh, &k);
}

/**
 * ip6_neigh_evict() - Make room: drop the entry heard from longest ago
 *
 * A scan of the table, only when a new address arrives and it is full.
 */
static void ip6_neigh_evict(struct un_ip6 *s)
{
	struct ip6_neigh *old = NULL, *n;
	GHashTableIter it;

	g_hash_table_iter_init(&it, s->neigh);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&n))
		if (!old || n->seen_ms < old->seen_ms)
			old = n;
	if (old)
		g_hash_table_remove(s->neigh, &old->key);
}

/**
 * ip6_neigh_learn() - Record that guest address @addr is at @mac
 *
 * Only link-local addresses and addresses in our prefix are kept (the
 * guests we can reach on the link), never ours, multicast or unspecified.
 * Allocates only when a new address appears.
 */
void ip6_neigh_learn(struct usernat *un, const uint8_t *addr,
		     const uint8_t *mac)
{
	struct un_ip6 *s = un->ip6;
	struct ip6_neigh *n;
	char a[INET6_ADDRSTRLEN], m[18];

	if ((mac[0] & 1) || ip6_is_mcast(addr) || ip6_is_unspec(addr) ||
	    (!ip6_is_linklocal(addr) && !ip6_in_prefix(un, addr)) ||
	    ip6_is_ours(un, addr))
		return;
	if ((n = ip6_neigh_get(s, addr))) {
		n->seen_ms = un_now_ms();
		if (memcmp(n->mac, mac, ETH_ALEN)) {
			un_info(un, "neighbour %s moved to %s",
				inet_ntop(AF_INET6, addr, a, sizeof(a)),
				un_mac_str(mac, m));
			memcpy(n->mac, mac, ETH_ALEN);
		}
		return;
	}
	if (g_hash_table_size(s->neigh) >= IP6_NEIGH_MAX)
		ip6_neigh_evict(s);
	n = g_new0(struct ip6_neigh, 1);
	n->key.seed = s->seed;
	memcpy(n->key.addr, addr, 16);
	memcpy(n->mac, mac, ETH_ALEN);
	n->seen_ms = un_now_ms();
	g_hash_table_insert(s->neigh, &n->key, n);
	un_debug(un, "neighbour %s at %s",
		 inet_ntop(AF_INET6, addr, a, sizeof(a)), un_mac_str(mac, m));
}

/**
 * ip6_neigh_find() - The MAC of guest address @addr, if known
 * @mac:	output
 * Return: true with @mac set if found
 */
bool ip6_neigh_find(const struct usernat *un, const uint8_t *addr,
		    uint8_t mac[6])
{
	const struct ip6_neigh *n;

	if (!un->ip6 || !(n = ip6_neigh_get(un->ip6, addr)))
		return false;
	memcpy(mac, n->mac, ETH_ALEN);
	return true;
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                   */

/**
 * ip6_search_encode() - Encode a comma-separated domain list, uncompressed
 * @list:	e.g. "example.com,lab.example.com"; blanks around names and
 *		one trailing dot per name are ignored, empty entries skipped
 * @out, @size:	output buffer
 *
 * RFC 1035 3.1 label sequences, one after the other and not compressed, as
 * both RFC 8106 5.2 (DNSSL) and RFC 3646 4 (DHCPv6 option 24) require.
 *
 * Return: bytes written, -EINVAL for an invalid name, -ENOSPC if @out is
 * too small
 */
ssize_t ip6_search_encode(const char *list, uint8_t *out, size_t size)
{
	const char *p = list;
	size_t len = 0;

	while (*p) {
		const char *e = strchr(p, ','), *s = p;
		size_t n = e ? (size_t)(e - p) : strlen(p), i, lab;

		p += n + (e ? 1 : 0);
		while (n && g_ascii_isspace(*s)) {
			s++;
			n--;
		}
		while (n && g_ascii_isspace(s[n - 1]))
			n--;
		if (n && s[n - 1] == '.')
			n--;
		if (!n)
			continue;
		if (n + 2 > 255)	/* RFC 1035 2.3.4 */
			return -EINVAL;
		if (size - len < n + 2)
			return -ENOSPC;
		for (i = 0; i < n; i += lab + 1) {
			const char *dot = memchr(s + i, '.', n - i);

			lab = (dot ? (size_t)(dot - s) : n) - i;
			if (!lab || lab > 63)
				return -EINVAL;
			out[len++] = (uint8_t)lab;
			memcpy(out + len, s + i, lab);
			len += lab;
		}
		out[len++] = 0;
	}
	return (ssize_t)len;
}

/**
 * ip6_init() - Allocate the IPv6 state of @un (if IPv6 is on)
 *
 * Our link-local address is fe80::/64 with the modified EUI-64 of our MAC
 * as interface identifier (RFC 4291 2.5.1, appendix A; RFC 2464 4).  IPv6
 * needs a link MTU of at least 1280 (RFC 8200 5): below that it stays off,
 * with a note in the log.
 *
 * Return: 0, or -ENOMEM
 */
int ip6_init(struct usernat *un)
{
	const uint8_t *mac = un->cfg.mac;
	struct un_ip6 *s;
	ssize_t n;

	un->ip6 = NULL;
	if (!un->cfg.ipv6)
		return 0;
	if (un->cfg.mtu < IP6_MIN_MTU) {
		un_info(un, "ip6: MTU %u is below 1280, IPv6 is off",
			un->cfg.mtu);
		return 0;
	}
	if (!(s = g_try_new0(struct un_ip6, 1)))
		return -ENOMEM;
	s->ll[0] = 0xfe;
	s->ll[1] = 0x80;
	s->ll[8] = mac[0] ^ 0x02;	/* universal/local bit inverted */
	s->ll[9] = mac[1];
	s->ll[10] = mac[2];
	s->ll[11] = 0xff;
	s->ll[12] = 0xfe;
	s->ll[13] = mac[3];
	s->ll[14] = mac[4];
	s->ll[15] = mac[5];
	s->seed = g_random_int();
	s->neigh = g_hash_table_new_full(ip6_neigh_hash, ip6_neigh_equal,
					 NULL, g_free);
	s->err_tokens = ICMP6_ERR_BURST;
	n = ip6_search_encode(un->cfg.search, s->search, sizeof(s->search));
	if (n < 0)
		un_warn(un, "ip6: dns-search '%s' not usable (%s), not sent",
			un->cfg.search, g_strerror((int)-n));
	else
		s->search_len = (size_t)n;
	un->ip6 = s;
	ndp_init(un, un_now_ms());
	return 0;
}

/** ip6_cleanup() - Free the IPv6 state; safe if there is none */
void ip6_cleanup(struct usernat *un)
{
	struct un_ip6 *s = un->ip6;

	if (!s)
		return;
	g_hash_table_destroy(s->neigh);
	g_free(s);
	un->ip6 = NULL;
}

/** ip6_tick() - Once a second: periodic router advertisements */
void ip6_tick(struct usernat *un, int64_t now_ms)
{
	if (un->ip6)
		ndp_tick(un, now_ms);
}

/**
 * icmp6_err_allowed() - Take a token of the ICMPv6 error rate limit
 *
 * RFC 4443 2.4 (f): a token bucket of ICMP6_ERR_BURST errors, refilled by
 * one every ICMP6_ERR_MS.  Return: true if an error may be sent now
 */
bool icmp6_err_allowed(struct usernat *un)
{
	struct un_ip6 *s = un->ip6;
	int64_t now = un_now_ms(), add = (now - s->err_ms) / ICMP6_ERR_MS;

	if (add > 0) {
		s->err_tokens = (unsigned int)MIN((int64_t)ICMP6_ERR_BURST,
						  s->err_tokens + add);
		s->err_ms = now;
	}
	if (!s->err_tokens)
		return false;
	s->err_tokens--;
	return true;
}
