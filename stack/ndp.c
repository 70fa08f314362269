// SPDX-License-Identifier: GPL-2.0-or-later
/* ndp.c - Neighbor Discovery (RFC 4861) for our addresses, router
 * advertisements for SLAAC (RFC 4862) with DNS options (RFC 8106)
 *
 * DOC: Theory of operation
 *
 * We are the router of the guests' link and the owner of three addresses:
 * the gateway (gateway6), the DNS forwarder (dns6) and our link-local
 * address (fe80::EUI-64, the one router advertisements come from, as RFC
 * 4861 6.1.2 requires, and so the guests' default route).  All three are at
 * our one MAC.
 *
 * Neighbor solicitations for our addresses get an advertisement with the
 * Router and Override flags set (we include the target link-layer address,
 * RFC 4861 7.2.4) and Solicited set, unicast to the asker.  A DAD probe
 * for one of them (source ::) is a guest about to take our address: it
 * gets the same advertisement, unsolicited, to all-nodes, so its DAD fails
 * (RFC 4862 5.4.3, RFC 4861 7.2.4).  Solicitations for any other address
 * are never answered: a guest's DAD for its own address must succeed, and
 * guests resolve each other directly.
 *
 * Router advertisements: the prefix (prefix6, /64, on-link and
 * autonomous: SLAAC), the MTU, our link-layer address, RDNSS with dns6 and
 * DNSSL with the dns-search list when there is one (RFC 8106), router
 * lifetime 9000 s (the maximum, RFC 4861 6.2.1); the O flag when DHCP is
 * served (stateless DHCPv6 for the same DNS data), M never (SLAAC gives
 * the addresses; DHCPv6 still leases one to a client that asks).
 *   - a router solicitation from an address gets a unicast answer (RFC
 *     4861 6.2.6 allows it), one from :: an answer to all-nodes;
 *   - unsolicited, to all-nodes: as soon as the first IPv6 frame from a
 *     guest MAC we have not seen arrives (its DAD probe or MLD report, or
 *     whatever a guest that was up before us sends), then twice more at
 *     16 s intervals (RFC 4861 6.2.4 initial advertisements), then every
 *     200 to 600 s (MinRtrAdvInterval, MaxRtrAdvInterval, 6.2.1) from the
 *     1 s tick once any guest was seen.  Only IPv6 frames count: a guest
 *     that speaks no IPv6 gets no IPv6 chatter, and one that was up before
 *     us kept its addresses and router (their lifetimes are hours) and
 *     gets the next periodic RA;
 *   - advertisements to all-nodes are at least 3 s apart
 *     (MIN_DELAY_BETWEEN_RAS, 6.2.6): one due sooner is postponed.
 *
 * Everything received is validated as RFC 4861 6.1 and 7.1 ask (hop limit
 * 255, code 0, lengths, options of non-zero length) and dropped, counted
 * in drop_ndp_malformed, otherwise.  Guests' addresses and MACs are learnt
 * from solicitations and advertisements (ip6.c learns from every packet's
 * source too).  Router advertisements and redirects from guests are
 * ignored.
 */
#include <arpa/inet.h>
#include <string.h>

#include "checksum.h"
#include "stack.h"
#include "wire/icmp6.h"
#include "wire/ip6.h"

#define NDP_ROUTER_LIFETIME	9000		/* s, RFC 4861 6.2.1 max */
#define NDP_RA_MIN_MS		200000		/* MinRtrAdvInterval */
#define NDP_RA_MAX_MS		600000		/* MaxRtrAdvInterval */
#define NDP_RA_INITIAL		3		/* MAX_INITIAL_RTR_ADVERTISEMENTS */
#define NDP_RA_INITIAL_MS	16000		/* MAX_INITIAL_RTR_ADVERT_INTERVAL */
#define NDP_RA_DELAY_MS		3000		/* MIN_DELAY_BETWEEN_RAS */
#define NDP_PREFIX_VALID	86400		/* s, as radvd */
#define NDP_PREFIX_PREFERRED	14400
/* RFC 8106 5.1: at least MaxRtrAdvInterval; 3 times is recommended */
#define NDP_DNS_LIFETIME	(3 * NDP_RA_MAX_MS / 1000)
#define NDP_CONFLICT_LOG_MS	10000
#define NDP_RA_MAX_LEN		1024		/* what we build, at most */

static const uint8_t ndp_all_nodes[16] = { 0xff, 0x02, [15] = 1 };

/**
 * ndp_opt_next() - Walk one NDP option, RFC 4861 4.6
 * @c:		cursor over the options, advanced past the option
 * @type:	option type, output
 * @val:	cursor over the whole option (type and length bytes too),
 *		output; its length is a multiple of 8
 *
 * The one walker for NDP options; a length of zero is malformed (4.6:
 * "nodes MUST silently discard an ND packet that contains an option with
 * length zero").
 *
 * Return: 1 if an option was read, 0 at the end, -1 if malformed
 */
int ndp_opt_next(struct pkt *c, uint8_t *type, struct pkt *val)
{
	const struct ndp_opt *o;
	size_t len;

	if (!c->len)
		return 0;
	if (!(o = pkt_at(c, 0, sizeof(*o))) || !o->len)
		return -1;
	len = (size_t)o->len * NDP_OPT_UNIT;
	if (pkt_sub(c, 0, len, val))
		return -1;
	*type = o->type;
	pkt_pull(c, len);
	return 1;
}

/**
 * ndp_lla() - Find the link-layer address option @want among the options
 * @opts:	options area (untrusted)
 * @want:	NDP_OPT_SLLA or NDP_OPT_TLLA
 * @mac:	the address, output, NULL if absent
 *
 * Every option is walked, so a malformed one anywhere is caught.  Other
 * options are ignored (RFC 4861 4.6).
 *
 * Return: 0, or -1 if the options are malformed
 */
static int ndp_lla(struct pkt opts, uint8_t want, const uint8_t **mac)
{
	const struct ndp_opt_lla *lla;
	struct pkt val;
	uint8_t type;
	int r;

	*mac = NULL;
	while ((r = ndp_opt_next(&opts, &type, &val)) > 0) {
		if (type != want || *mac)
			continue;
		if (!(lla = pkt_at(&val, 0, sizeof(*lla))))
			return -1;
		*mac = lla->mac;
	}
	return r;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

/**
 * ndp_send() - Checksum and send the NDP message at ip6_out_l4(un)
 * @dst_mac:	Ethernet destination (ignored for a multicast @daddr)
 * @saddr:	one of our addresses
 * @len:	bytes of the message
 *
 * Hop limit 255, so that receivers know it was not forwarded (RFC 4861
 * 6.1, 7.1).
 */
static void ndp_send(struct usernat *un, const uint8_t *dst_mac,
		     const uint8_t *saddr, const uint8_t *daddr, size_t len)
{
	uint8_t *p = ip6_out_l4(un);
	uint16_t c;

	p[2] = p[3] = 0;
	c = csum(p, len, csum_pseudo6(saddr, daddr, IPPROTO_ICMP6,
				      (uint32_t)len));
	memcpy(p + 2, &c, 2);
	ip6_out_send_hl(un, dst_mac, saddr, daddr, IPPROTO_ICMP6, len,
			NDP_HOPLIMIT);
}

/**
 * ndp_na_send() - Advertise one of our addresses, RFC 4861 7.2.4
 * @dst_mac:	where to (ignored for a multicast @daddr)
 * @daddr:	the solicitor, or all-nodes
 * @target:	our address, also the source
 * @solicited:	an answer to a solicitation from an address
 */
static void ndp_na_send(struct usernat *un, const uint8_t *dst_mac,
			const uint8_t *daddr, const uint8_t *target,
			bool solicited)
{
	struct ndp_na *na = (struct ndp_na *)ip6_out_l4(un);
	struct ndp_opt_lla *lla = (struct ndp_opt_lla *)(na + 1);
	uint8_t t[16];

	memcpy(t, target, 16);
	memset(na, 0, sizeof(*na));
	na->type = NDP_NA;
	na->flags = htonl(NDP_NA_ROUTER | NDP_NA_OVERRIDE |
			  (solicited ? NDP_NA_SOLICITED : 0));
	memcpy(na->target, t, 16);
	lla->type = NDP_OPT_TLLA;
	lla->len = 1;
	memcpy(lla->mac, un->cfg.mac, ETH_ALEN);
	ndp_send(un, dst_mac, t, daddr, sizeof(*na) + sizeof(*lla));
}

/**
 * ndp_put_dns() - Append the RDNSS and, if configured, DNSSL options
 * @p:		where, within the RA being built
 *
 * RFC 8106 5.1, 5.2: the search list is zero padded to a multiple of 8.
 * Return: bytes written
 */
static size_t ndp_put_dns(struct usernat *un, uint8_t *p)
{
	struct ndp_opt_dns *o = (struct ndp_opt_dns *)p;
	const struct un_ip6 *s = un->ip6;
	size_t len = sizeof(*o) + 16, dlen;

	o->type = NDP_OPT_RDNSS;
	o->len = (uint8_t)(len / NDP_OPT_UNIT);
	o->reserved = 0;
	o->lifetime = htonl(NDP_DNS_LIFETIME);
	memcpy(p + sizeof(*o), un->cfg.dns6, 16);
	if (!s->search_len)
		return len;

	o = (struct ndp_opt_dns *)(p + len);
	dlen = (sizeof(*o) + s->search_len + NDP_OPT_UNIT - 1) /
	       NDP_OPT_UNIT * NDP_OPT_UNIT;
	memset(o, 0, dlen);
	o->type = NDP_OPT_DNSSL;
	o->len = (uint8_t)(dlen / NDP_OPT_UNIT);
	o->lifetime = htonl(NDP_DNS_LIFETIME);
	memcpy(o + 1, s->search, s->search_len);
	return len + dlen;
}

/**
 * ndp_ra_send() - Send a router advertisement, RFC 4861 4.2 and 6.2.3
 * @dst_mac:	solicitor's MAC (ignored when @daddr is all-nodes)
 * @daddr:	solicitor, or all-nodes
 *
 * From our link-local address (RFC 4861 6.1.2).  Options: source
 * link-layer address, MTU, prefix information (4.6.2; L and A set: on-link,
 * SLAAC per RFC 4862 5.5.3), RDNSS and DNSSL (RFC 8106).  Reachable time
 * and retransmission timer are left unspecified (0).
 */
static void ndp_ra_send(struct usernat *un, const uint8_t *dst_mac,
			const uint8_t *daddr)
{
	uint8_t *p = ip6_out_l4(un);
	struct ndp_ra *ra = (struct ndp_ra *)p;
	struct ndp_opt_lla *lla = (struct ndp_opt_lla *)(ra + 1);
	struct ndp_opt_mtu *mtu = (struct ndp_opt_mtu *)(lla + 1);
	struct ndp_opt_prefix *pi = (struct ndp_opt_prefix *)(mtu + 1);
	uint8_t d[16], mac[ETH_ALEN];
	size_t len = sizeof(*ra) + sizeof(*lla) + sizeof(*mtu) + sizeof(*pi);

	G_STATIC_ASSERT(sizeof(struct ndp_ra) + 8 + 8 + 32 + 24 + 8 +
			IP6_SEARCH_MAX + 8 <= NDP_RA_MAX_LEN);
	memcpy(d, daddr, 16);
	if (dst_mac)
		memcpy(mac, dst_mac, ETH_ALEN);
	memset(p, 0, len);
	ra->type = NDP_RA;
	ra->cur_hop_limit = IP6_DEF_HOPLIMIT;
	ra->flags = un->cfg.dhcp ? NDP_RA_OTHER : 0;
	ra->lifetime = htons(NDP_ROUTER_LIFETIME);
	lla->type = NDP_OPT_SLLA;
	lla->len = 1;
	memcpy(lla->mac, un->cfg.mac, ETH_ALEN);
	mtu->type = NDP_OPT_MTU;
	mtu->len = 1;
	mtu->mtu = htonl(un->cfg.mtu);
	pi->type = NDP_OPT_PREFIX;
	pi->len = sizeof(*pi) / NDP_OPT_UNIT;
	pi->prefix_len = 64;
	pi->flags = NDP_PREFIX_ONLINK | NDP_PREFIX_AUTO;
	pi->valid = htonl(NDP_PREFIX_VALID);
	pi->preferred = htonl(NDP_PREFIX_PREFERRED);
	memcpy(pi->prefix, un->cfg.prefix6, 8);
	len += ndp_put_dns(un, p + len);
	UN_COUNT(un, ndp_ra);
	ndp_send(un, dst_mac ? mac : NULL, un->ip6->ll, d, len);
}

/**
 * ndp_ra_mcast() - Advertise to all-nodes now, or as soon as allowed
 *
 * RFC 4861 6.2.6: at most one multicast RA per MIN_DELAY_BETWEEN_RAS; one
 * asked for sooner is scheduled for then, from the tick.  The next one is
 * scheduled after the initial interval while initial advertisements
 * remain, else at a random time 200 to 600 s away (RFC 4861 6.2.4).
 */
static void ndp_ra_mcast(struct usernat *un, int64_t now)
{
	struct un_ip6 *s = un->ip6;

	if (now - s->last_mcast_ra_ms < NDP_RA_DELAY_MS) {
		s->next_ra_ms = MIN(s->next_ra_ms,
				    s->last_mcast_ra_ms + NDP_RA_DELAY_MS);
		return;
	}
	ndp_ra_send(un, NULL, ndp_all_nodes);
	s->last_mcast_ra_ms = now;
	if (s->initial_ras) {
		s->initial_ras--;
		s->next_ra_ms = now + NDP_RA_INITIAL_MS;
	} else {
		s->next_ra_ms = now + g_random_int_range(NDP_RA_MIN_MS,
							 NDP_RA_MAX_MS + 1);
	}
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

/**
 * ndp_ns() - Neighbor solicitation, RFC 4861 7.1.1 and 7.2.3-7.2.4
 * Return: 0, or -1 if malformed
 */
static int ndp_ns(struct usernat *un, const struct ip6_in *ip)
{
	const struct ndp_ns *ns = pkt_at(&ip->l4, 0, sizeof(*ns));
	bool dad = ip6_is_unspec(ip->saddr);
	const uint8_t *slla;
	struct pkt opts;
	char a[INET6_ADDRSTRLEN], m[18];

	if (!ns || ip6_is_mcast(ns->target))
		return -1;
	pkt_sub(&ip->l4, sizeof(*ns), ip->l4.len - sizeof(*ns), &opts);
	if (ndp_lla(opts, NDP_OPT_SLLA, &slla))
		return -1;
	/* A DAD probe goes to a solicited-node group and has no SLLA */
	if (dad && (slla || !ip6_is_snm(ip->daddr)))
		return -1;
	if (slla)
		ip6_neigh_learn(un, ip->saddr, slla);
	if (!ip6_is_ours(un, ns->target)) {
		UN_COUNT(un, ndp_ns_other);
		return 0;
	}
	if (dad) {
		UN_COUNT(un, ndp_dad);
		un_info(un, "ndp: %s probes for our address %s, defending",
			un_mac_str(ip->src_mac, m),
			inet_ntop(AF_INET6, ns->target, a, sizeof(a)));
		ndp_na_send(un, NULL, ndp_all_nodes, ns->target, false);
		return 0;
	}
	UN_COUNT(un, ndp_ns);
	ndp_na_send(un, slla ? slla : ip->src_mac, ip->saddr, ns->target,
		    true);
	return 0;
}

/**
 * ndp_na() - Neighbor advertisement from a guest, RFC 4861 7.1.2, 7.2.5
 *
 * Learns the target's MAC, unless the target is one of our addresses:
 * that is a conflict, logged (at most every 10 s); our addresses are ours
 * by configuration, so nothing else changes.
 *
 * Return: 0, or -1 if malformed
 */
static int ndp_na(struct usernat *un, const struct ip6_in *ip)
{
	const struct ndp_na *na = pkt_at(&ip->l4, 0, sizeof(*na));
	struct un_ip6 *s = un->ip6;
	const uint8_t *tlla;
	struct pkt opts;
	int64_t now;
	char a[INET6_ADDRSTRLEN], m[18];

	if (!na || ip6_is_mcast(na->target) ||
	    (ip6_is_mcast(ip->daddr) && (ntohl(na->flags) & NDP_NA_SOLICITED)))
		return -1;
	pkt_sub(&ip->l4, sizeof(*na), ip->l4.len - sizeof(*na), &opts);
	if (ndp_lla(opts, NDP_OPT_TLLA, &tlla))
		return -1;
	if (!ip6_is_ours(un, na->target)) {
		ip6_neigh_learn(un, na->target, tlla ? tlla : ip->src_mac);
		return 0;
	}
	UN_COUNT(un, ndp_conflict);
	now = un_now_ms();
	if (now - s->conflict_log_ms >= NDP_CONFLICT_LOG_MS) {
		s->conflict_log_ms = now;
		un_warn(un, "ndp: %s claims our address %s",
			un_mac_str(tlla ? tlla : ip->src_mac, m),
			inet_ntop(AF_INET6, na->target, a, sizeof(a)));
	}
	return 0;
}

/**
 * ndp_rs() - Router solicitation, RFC 4861 6.1.1 and 6.2.6
 * Return: 0, or -1 if malformed
 */
static int ndp_rs(struct usernat *un, const struct ip6_in *ip)
{
	const uint8_t *slla;
	struct pkt opts;

	if (!pkt_at(&ip->l4, 0, sizeof(struct ndp_rs)))
		return -1;
	pkt_sub(&ip->l4, sizeof(struct ndp_rs),
		ip->l4.len - sizeof(struct ndp_rs), &opts);
	if (ndp_lla(opts, NDP_OPT_SLLA, &slla))
		return -1;
	if (ip6_is_unspec(ip->saddr)) {
		if (slla)	/* 6.1.1: no SLLA from :: */
			return -1;
		UN_COUNT(un, ndp_rs);
		ndp_ra_mcast(un, un_now_ms());
		return 0;
	}
	if (slla)
		ip6_neigh_learn(un, ip->saddr, slla);
	UN_COUNT(un, ndp_rs);
	ndp_ra_send(un, slla ? slla : ip->src_mac, ip->saddr);
	return 0;
}

/**
 * ndp_from_guest() - Handle a Neighbor Discovery message from a guest
 * @ip:		ICMPv6 packet, checksum already checked; type 133 to 137
 *
 * RFC 4861 6.1.1, 7.1.1, 7.1.2: hop limit 255 (not forwarded by anyone)
 * and code 0, then each message's own checks.
 */
void ndp_from_guest(struct usernat *un, const struct ip6_in *ip)
{
	const uint8_t *t = pkt_at(&ip->l4, 0, 2);
	int ret = -1;

	if (!t || ip->hop_limit != NDP_HOPLIMIT || t[1]) {
		UN_COUNT(un, drop_ndp_malformed);
		return;
	}
	switch (t[0]) {
	case NDP_NS:
		ret = ndp_ns(un, ip);
		break;
	case NDP_NA:
		ret = ndp_na(un, ip);
		break;
	case NDP_RS:
		ret = ndp_rs(un, ip);
		break;
	default:	/* RA, redirect: we are the router here */
		UN_COUNT(un, ndp_ignored);
		return;
	}
	if (ret)
		UN_COUNT(un, drop_ndp_malformed);
}

/**
 * ndp_guest_seen() - Note the source MAC of an IPv6 frame from a guest
 *
 * The first IPv6 frame from a MAC we don't know (in the last IP6_MACS_MAX)
 * is a guest whose interface just came up, or that came up before us: it
 * gets an unsolicited RA (to all-nodes, rate limited), followed by the
 * initial ones.  The MAC of the last hit is checked first, so a stream of
 * frames from one guest costs one comparison each.
 */
void ndp_guest_seen(struct usernat *un, const uint8_t *mac)
{
	struct un_ip6 *s = un->ip6;
	unsigned int i;

	if (!s)
		return;
	if (s->nmacs && !memcmp(s->macs[s->macs_hit], mac, ETH_ALEN))
		return;
	for (i = 0; i < s->nmacs; i++) {
		if (!memcmp(s->macs[i], mac, ETH_ALEN)) {
			s->macs_hit = i;
			return;
		}
	}
	i = s->nmacs < IP6_MACS_MAX ? s->nmacs++ : s->macs_next;
	s->macs_next = (i + 1) % IP6_MACS_MAX;
	memcpy(s->macs[i], mac, ETH_ALEN);
	s->macs_hit = i;
	s->initial_ras = NDP_RA_INITIAL - 1;	/* counting this one */
	ndp_ra_mcast(un, un_now_ms());
}

/** ndp_init() - Start the advertisement schedule (ip6_init()) */
void ndp_init(struct usernat *un, int64_t now)
{
	struct un_ip6 *s = un->ip6;

	s->last_mcast_ra_ms = now - NDP_RA_DELAY_MS;
	s->next_ra_ms = now + NDP_RA_MAX_MS;
}

/**
 * ndp_tick() - Send the unsolicited RA that is due, once a guest was seen
 */
void ndp_tick(struct usernat *un, int64_t now)
{
	struct un_ip6 *s = un->ip6;

	if (s->nmacs && now >= s->next_ra_ms)
		ndp_ra_mcast(un, now);
}
