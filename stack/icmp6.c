// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp6.c - ICMPv6 (RFC 4443): echo to our addresses, errors to guests
 *
 * Every ICMPv6 message from a guest is checked here (length, checksum over
 * the pseudo-header) before its type is looked at.  Echo requests to our
 * addresses (and to all-nodes or all-routers, which include us) are
 * answered in-process; echo requests to other destinations are NATed by
 * icmp6_echo_nat() (below, with the theory of echo NAT); Neighbor
 * Discovery goes to ndp.c.  Errors and other types from guests are dropped
 * and counted (the NAT modules may want errors about their flows: they can
 * take them in icmp6_from_guest(), next to the echo hook).
 *
 * icmp6_send_error() is the one way to send an error toward a guest, for
 * ip6.c (hop limit, parameter problems) and for the NAT modules: it applies
 * the rules of RFC 4443 2.4 (e) and (f) so callers don't have to.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "echo.h"
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

/*
 * Echo NAT (RFC 4443 4.1, 4.2), as icmp.c does it for IPv4
 *
 * Each flow, (guest address, destination, guest echo identifier), gets a
 * host-side identifier of its own, so the pings of several guests never
 * mix: one unprivileged ping socket per flow (SOCK_DGRAM, IPPROTO_ICMPV6,
 * allowed by net.ipv4.ping_group_range, which governs both families; the
 * kernel picks the identifier and delivers replies carrying it to that
 * socket alone), else one raw ICMPv6 socket (CAP_NET_RAW, opened at
 * start-up, before the sandbox) for all flows, identifiers chosen here and
 * replies and errors matched by identifier and address.  On a raw ICMPv6
 * socket the kernel computes the checksum (RFC 3542 3.1), so requests go
 * out with their new identifier and no checksum work here.
 *
 * Replies get the guest's identifier back and a checksum over the IPv6
 * pseudo-header (RFC 4443 2.3), from the address pinged.  Errors about a
 * request (unreachable, time exceeded) are relayed quoting a rebuilt
 * request with the guest's identifier, through icmp6_send_error() (so with
 * its rate limit), from the gateway.  The flows are in echo.c's table,
 * shared with IPv4: keys, ping sockets, caps (charged to the guest's MAC,
 * un_flow_charge6(), and the ICMP id caps), expiry after a minute idle and
 * the listing are there.  The counters are icmp.c's: icmp_flows,
 * icmp_echo_out, icmp_echo_in... count echo NAT of both families.
 */

#define ICMP6_READS		16	/* messages per socket per wake-up */
#define ICMP6_PROBE_MS		60000	/* re-check for sockets, when off */
#define ICMP6_RAW_REF		ECHO_RAW_REF	/* the shared raw socket */

enum icmp6_mode {
	ICMP6_MODE_NONE,	/* only our own addresses answer */
	ICMP6_MODE_PING,	/* one unprivileged ping socket per flow */
	ICMP6_MODE_RAW,		/* one raw socket, identifiers mapped here */
};

/**
 * struct un_icmp6 - ICMPv6 echo NAT of one instance (its flows: echo.c)
 * @mode:	how requests leave, see enum icmp6_mode
 * @raw_fd:	raw mode: the one socket, else -1
 * @probe_ms:	last look for usable sockets
 * @buf:	one message in or out
 */
struct un_icmp6 {
	enum icmp6_mode mode;
	int raw_fd;
	int64_t probe_ms;
	uint8_t buf[65536];
};

/**
 * icmp6_raw_open() - Open the shared raw socket and watch it
 *
 * Its filter (RFC 3542 3.2) passes only echo replies and the errors we
 * relay: a raw socket gets a copy of every ICMPv6 message the host does.
 * Return: 0 or negative errno
 */
static int icmp6_raw_open(struct usernat *un)
{
	struct icmp6_filter filt;
	int fd, ret;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ICMP6_ECHOREPLY, &filt);
	ICMP6_FILTER_SETPASS(ICMP6_UNREACH, &filt);
	ICMP6_FILTER_SETPASS(ICMP6_TIMXCEED, &filt);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)))
		un_debug(un, "ICMPv6: no raw socket filter: %s",
			 strerror(errno));
	ret = un_epoll_add(un, fd, EPOLLIN, UN_EP_ICMP6, ICMP6_RAW_REF);
	if (ret) {
		close(fd);
		return ret;
	}
	un->icmp6->raw_fd = fd;
	return 0;
}

/**
 * icmp6_probe() - Find out how echo requests can leave: ping, raw or not
 * @quiet:	log only success (a re-check), not why nothing works
 *
 * Return: true if echo NAT is available
 */
static bool icmp6_probe(struct usernat *un, bool quiet)
{
	struct un_icmp6 *s = un->icmp6;
	int fd, ping_err, raw_err;

	s->probe_ms = un_now_ms();
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd >= 0) {
		close(fd);
		s->mode = ICMP6_MODE_PING;
		un_info(un, "ICMPv6 echo NAT: using ping sockets");
		return true;
	}
	ping_err = errno;
	raw_err = -icmp6_raw_open(un);
	if (!raw_err) {
		s->mode = ICMP6_MODE_RAW;
		un_info(un, "ICMPv6 echo NAT: using a raw socket (no ping "
			"sockets: %s)", strerror(ping_err));
		return true;
	}
	if (!quiet)
		un_info(un, "ICMPv6 echo NAT off: no ping socket (%s; see "
			"sysctl net.ipv4.ping_group_range), no raw socket (%s)",
			strerror(ping_err), strerror(raw_err));
	return false;
}

/**
 * icmp6_flow_new() - Create the echo flow for @k, charged to the guest
 * @ip:		the guest's request, quoted if we refuse
 *
 * Refused (policy, caps, no socket): destination unreachable,
 * administratively prohibited (RFC 4443 3.1 code 1); counted here or by
 * echo_flow_new().
 * Return: new flow (owned by echo.c's table), or NULL after telling the
 * guest
 */
static struct echo_flow *icmp6_flow_new(struct usernat *un,
					const struct ip6_in *ip,
					const struct echo_key *k)
{
	struct echo_flow *f;
	int err;

	/* Egress policy (policy.c), once per new flow */
	if (policy_check6(un, IPPROTO_ICMP6, ip->daddr, 0)) {
		UN_COUNT(un, drop_policy);
		icmp6_send_error(un, ip, ICMP6_UNREACH, ICMP6_UNREACH_ADMIN, 0);
		return NULL;
	}
	f = echo_flow_new(un, k, ip->src_mac,
			  un->icmp6->mode == ICMP6_MODE_PING, &err);
	if (!f)
		icmp6_send_error(un, ip, ICMP6_UNREACH, ICMP6_UNREACH_ADMIN, 0);
	return f;
}

/**
 * icmp6_echo_send() - Send the guest's echo request out for flow @f
 * @msg, @len:	the guest's ICMPv6 message (validated)
 *
 * A ping socket puts its own identifier in; for the raw socket we do, on
 * a copy.  The kernel computes the checksum either way.
 * Return: bytes sent or negative errno
 */
static ssize_t icmp6_echo_send(struct usernat *un, struct echo_flow *f,
			       const uint8_t *msg, size_t len)
{
	struct un_icmp6 *s = un->icmp6;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	struct icmp6_header *h = (struct icmp6_header *)s->buf;
	ssize_t n;

	memcpy(&to.sin6_addr, f->key.daddr, 16);
	if (len > sizeof(s->buf))
		return -EMSGSIZE;
	memcpy(s->buf, msg, len);
	h->check = 0;
	if (f->fd < 0)
		h->un.echo.id = f->sid;
	n = sendto(f->fd >= 0 ? f->fd : s->raw_fd, s->buf, len, MSG_DONTWAIT,
		   (struct sockaddr *)&to, sizeof(to));
	return n < 0 ? -errno : n;
}

/**
 * icmp6_echo_nat() - NAT hook: an echo request to an address not ours
 * @ip:		validated request (checksum checked), routable destination,
 *		hop limit checked
 *
 * The flow is (guest, destination, guest identifier).  The source must be
 * in our prefix (guests' routable addresses), as for UDP.
 */
void icmp6_echo_nat(struct usernat *un, const struct ip6_in *ip)
{
	struct un_icmp6 *s = un->icmp6;
	const struct icmp6_header *ih = pkt_at(&ip->l4, 0, ICMP6_HLEN);
	struct echo_key k;
	struct echo_flow *f;
	ssize_t n;
	int code;

	if (!s || !ih || !ip6_in_prefix(un, ip->saddr)) {
		UN_COUNT(un, drop_icmp_dst);
		return;
	}
	if (s->mode == ICMP6_MODE_NONE &&
	    (un_now_ms() - s->probe_ms < ICMP6_PROBE_MS ||
	     !icmp6_probe(un, true))) {
		UN_COUNT(un, drop_icmp_nat);
		return;
	}
	echo_key6(un, &k, ip->saddr, ip->daddr, ih->un.echo.id);
	f = echo_lookup(un, &k);
	if (!f && !(f = icmp6_flow_new(un, ip, &k)))
		return;
	memcpy(f->mac, ip->src_mac, ETH_ALEN);
	echo_touch(un, f);
	n = icmp6_echo_send(un, f, ip->l4.p, ip->l4.len);
	if (n >= 0) {
		UN_COUNT(un, icmp_echo_out);
		f->bytes_from_guest += ip->l4.len;
		return;
	}
	UN_COUNT(un, drop_icmp_send);
	code = icmp6_unreach_code((int)-n);
	if (code == ICMP6_UNREACH_NOROUTE || code == ICMP6_UNREACH_ADDR)
		icmp6_send_error(un, ip, ICMP6_UNREACH, (uint8_t)code, 0);
}

/**
 * icmp6_echo_to_guest() - Relay an echo reply to the guest of flow @f
 * @msg, @len:	the ICMPv6 message as received (not kept)
 *
 * The guest's identifier goes back in; the checksum is recomputed over
 * the pseudo-header of (address pinged -> guest).
 */
static void icmp6_echo_to_guest(struct usernat *un, struct echo_flow *f,
				const uint8_t *msg, size_t len)
{
	struct icmp6_header *oh = (struct icmp6_header *)ip6_out_l4(un);

	if (len < ICMP6_HLEN || msg[0] != ICMP6_ECHOREPLY ||
	    len > un->cfg.mtu - IP6_HLEN) {
		UN_COUNT(un, drop_icmp_reply);
		return;
	}
	memcpy(oh, msg, len);
	oh->un.echo.id = f->key.gid;
	oh->check = 0;
	oh->check = csum(oh, len, csum_pseudo6(f->key.daddr, f->key.gaddr,
					       IPPROTO_ICMP6, (uint32_t)len));
	echo_touch(un, f);
	UN_COUNT(un, icmp_echo_in);
	f->bytes_to_guest += len;
	ip6_out_send(un, f->mac, f->key.daddr, f->key.gaddr, IPPROTO_ICMP6,
		     len);
}

/**
 * icmp6_echo_error() - Relay an ICMPv6 error about flow @f's request
 * @seq:	sequence number of the request, network order
 *
 * Quotes a rebuilt request: IPv6 header and echo header with the guest's
 * identifier, which is what a guest matches errors with.
 */
static void icmp6_echo_error(struct usernat *un, struct echo_flow *f,
			     uint8_t type, uint8_t code, uint16_t seq)
{
	struct icmp6_header q = { .type = ICMP6_ECHO };

	if (type != ICMP6_UNREACH && type != ICMP6_TIMXCEED)
		return;
	q.un.echo.id = f->key.gid;
	q.un.echo.seq = seq;
	UN_COUNT(un, icmp_errors_relayed);
	icmp6_send_error_flow(un, f->mac, IPPROTO_ICMP6, f->key.gaddr,
			      f->key.daddr, &q, sizeof(q), type, code);
}

/**
 * icmp6_ping_errqueue() - Relay errors queued on a flow's ping socket
 *
 * With IPV6_RECVERR the kernel queues ICMPv6 errors about our requests,
 * with the request's header as data (for its sequence number).
 */
static void icmp6_ping_errqueue(struct usernat *un, struct echo_flow *f)
{
	char cbuf[CMSG_SPACE(sizeof(struct sock_extended_err) +
			     sizeof(struct sockaddr_in6))];
	const struct sock_extended_err *ee;
	struct icmp6_header req;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	for (r = 0; r < ICMP6_READS; r++) {
		memset(&mh, 0, sizeof(mh));
		memset(&req, 0, sizeof(req));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(f->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != IPPROTO_IPV6 ||
			    cm->cmsg_type != IPV6_RECVERR)
				continue;
			ee = (const struct sock_extended_err *)CMSG_DATA(cm);
			if (ee->ee_origin == SO_EE_ORIGIN_ICMP6)
				icmp6_echo_error(un, f, ee->ee_type,
						 ee->ee_code,
						 n >= ICMP6_HLEN ?
						 req.un.echo.seq : 0);
		}
	}
}

/**
 * icmp6_ping_recv() - Relay echo replies from a flow's ping socket
 *
 * The kernel delivers replies by identifier alone; one from an address
 * other than the one pinged is dropped.
 */
static void icmp6_ping_recv(struct usernat *un, struct echo_flow *f)
{
	struct un_icmp6 *s = un->icmp6;
	struct sockaddr_in6 from;
	socklen_t fl;
	ssize_t n;
	int r;

	for (r = 0; r < ICMP6_READS; r++) {
		fl = sizeof(from);
		n = recvfrom(f->fd, s->buf, sizeof(s->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (from.sin6_family != AF_INET6 ||
		    memcmp(&from.sin6_addr, f->key.daddr, 16)) {
			UN_COUNT(un, drop_icmp_reply);
			continue;
		}
		icmp6_echo_to_guest(un, f, s->buf, (size_t)n);
	}
}

/**
 * icmp6_raw_error() - An error on the raw socket: relay it if it quotes
 * one of our echo requests
 * @h:		the error's header
 * @c:		what follows it: the quoted packet (untrusted)
 */
static void icmp6_raw_error(struct usernat *un, const struct icmp6_header *h,
			    const struct pkt *c)
{
	const uint8_t *q = pkt_at(c, 0, IP6_HLEN);
	const struct icmp6_header *qe = pkt_at(c, IP6_HLEN, ICMP6_HLEN);
	struct echo_flow *f;

	/* Only a request quoted with no extension header: ours have none */
	if (!q || !qe || q[6] != IPPROTO_ICMP6 || qe->type != ICMP6_ECHO)
		return;
	f = echo_by_sid(un, true, qe->un.echo.id);
	if (!f || memcmp(q + 24, f->key.daddr, 16))
		return;
	icmp6_echo_error(un, f, h->type, h->code, qe->un.echo.seq);
}

/**
 * icmp6_raw_recv() - Messages on the shared raw socket
 *
 * A raw ICMPv6 socket gets the message without the IPv6 header; the
 * source comes with it.  Replies are matched by our identifier and the
 * address pinged, errors by the request they quote.
 */
static void icmp6_raw_recv(struct usernat *un)
{
	struct un_icmp6 *s = un->icmp6;
	const struct icmp6_header *h;
	struct sockaddr_in6 from;
	struct echo_flow *f;
	struct pkt c;
	socklen_t fl;
	ssize_t n;
	int r;

	for (r = 0; r < ICMP6_READS * 4; r++) {
		fl = sizeof(from);
		n = recvfrom(s->raw_fd, s->buf, sizeof(s->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		c = pkt_init(s->buf, (size_t)n);
		if (!(h = pkt_pull(&c, ICMP6_HLEN)))
			continue;
		if (h->type != ICMP6_ECHOREPLY) {
			icmp6_raw_error(un, h, &c);
			continue;
		}
		f = echo_by_sid(un, true, h->un.echo.id);
		if (!f || from.sin6_family != AF_INET6 ||
		    memcmp(&from.sin6_addr, f->key.daddr, 16))
			continue;	/* someone else's ping */
		icmp6_echo_to_guest(un, f, s->buf, (size_t)n);
	}
}

/**
 * icmp6_nat_ready() - Host-side event: a ping socket, or the raw socket
 * @ref:	UN_EP_ICMP6 and the flow's reference, or ICMP6_RAW_REF
 */
void icmp6_nat_ready(struct usernat *un, union un_ref ref, uint32_t events)
{
	struct un_icmp6 *s = un->icmp6;
	struct echo_flow *f;

	if (!s)
		return;
	if (ref.idx == ICMP6_RAW_REF) {
		if (s->raw_fd >= 0)
			icmp6_raw_recv(un);
		return;
	}
	f = echo_by_ref(un, ref.idx);
	if (!f || !f->key.v6)
		return;		/* ended in this batch of events */
	if (events & EPOLLERR)
		icmp6_ping_errqueue(un, f);
	if (events & EPOLLIN)
		icmp6_ping_recv(un, f);
}

/**
 * icmp6_nat_init() - Set up ICMPv6 echo NAT (if IPv6 is on)
 *
 * Finds out now which sockets we may use: a raw socket can only be had
 * before the sandbox drops privileges.  Return: 0 (no way out for echo
 * requests is not an error)
 */
int icmp6_nat_init(struct usernat *un)
{
	struct un_icmp6 *s;

	un->icmp6 = NULL;
	if (!un->ip6)
		return 0;
	s = g_new0(struct un_icmp6, 1);
	un->icmp6 = s;
	s->raw_fd = -1;
	icmp6_probe(un, false);
	return 0;
}

/**
 * icmp6_nat_cleanup() - Close the raw socket; safe if never set up.  The
 * flows are echo_cleanup()'s.
 */
void icmp6_nat_cleanup(struct usernat *un)
{
	struct un_icmp6 *s = un->icmp6;

	if (!s)
		return;
	if (s->raw_fd >= 0) {
		un_epoll_del(un, s->raw_fd);
		close(s->raw_fd);
	}
	g_free(s);
	un->icmp6 = NULL;
}

/**
 * icmp6_unreach_code() - ICMPv6 unreachable code for a socket error
 * @err:	positive errno from socket(), connect() or send()
 *
 * Return: ICMP6_UNREACH_* code (RFC 4443 3.1), or -1 if not worth telling
 */
int icmp6_unreach_code(int err)
{
	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
		return ICMP6_UNREACH_NOROUTE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
		return ICMP6_UNREACH_ADDR;
	case ECONNREFUSED:
		return ICMP6_UNREACH_PORT;
	case EACCES:
	case EPERM:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return ICMP6_UNREACH_ADMIN;
	default:
		return -1;
	}
}

/**
 * icmp6_send_error_flow() - ICMPv6 error about a flow, without its packet
 * @guest_mac:	where to send it
 * @proto:	upper layer of the flow (UDP, ICMPv6)
 * @saddr, @daddr: the flow as the guest sent it (saddr is the guest)
 * @l4hdr, @l4len: the start of the transport header to quote, as the
 *		guest sent it (ports, identifiers): at most 64 bytes
 *
 * For errors found later than the packet that caused them (an error queued
 * on a UDP or ping socket): quotes a rebuilt IPv6 header and @l4hdr, which
 * is all a guest needs to match the error to its socket (RFC 4443 2.4 c:
 * as much as fits; the rest is not known any more).  Sent through
 * icmp6_send_error(), so with its rules and rate limit.
 */
void icmp6_send_error_flow(struct usernat *un, const uint8_t *guest_mac,
			   uint8_t proto, const uint8_t *saddr,
			   const uint8_t *daddr, const void *l4hdr,
			   size_t l4len, uint8_t type, uint8_t code)
{
	uint8_t buf[IP6_HLEN + 64];
	struct ip6_header *h = (struct ip6_header *)buf;
	struct ip6_in ip = { .src_mac = guest_mac, .eth_dst = un->cfg.mac,
			     .proto = proto, .hop_limit = IP6_DEF_HOPLIMIT };

	g_return_if_fail(l4len <= sizeof(buf) - IP6_HLEN);
	memset(h, 0, IP6_HLEN);
	h->ver_tc_flow = htonl(6u << 28);
	h->payload_len = htons((uint16_t)l4len);
	h->next = proto;
	h->hop_limit = IP6_DEF_HOPLIMIT;
	memcpy(h->saddr, saddr, 16);
	memcpy(h->daddr, daddr, 16);
	memcpy(buf + IP6_HLEN, l4hdr, l4len);
	memcpy(ip.saddr, saddr, 16);
	memcpy(ip.daddr, daddr, 16);
	ip.local = ip6_is_ours(un, daddr);
	ip.l3 = pkt_init(buf, IP6_HLEN + l4len);
	ip.l4 = pkt_init(buf + IP6_HLEN, l4len);
	icmp6_send_error(un, &ip, type, code, 0);
}
