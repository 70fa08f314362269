// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp.c - ICMP for IPv4 (RFC 792): echo to the gateway, errors to guests,
 * echo NAT
 *
 * DOC: Theory of operation
 *
 * Echo requests to our own addresses are answered here, in-process.  Echo
 * requests to any other unicast address outside the guest network are
 * NATed: each flow, (guest address, destination, guest echo identifier),
 * gets a host-side identifier of its own, so the pings of several guests,
 * or of one guest to several hosts, never mix:
 *
 * - with unprivileged ping sockets (SOCK_DGRAM, IPPROTO_ICMP; allowed when
 *   our group is within net.ipv4.ping_group_range), one socket per flow:
 *   the kernel assigns the socket an identifier, rewrites the request's and
 *   delivers replies carrying it to that socket alone;
 * - else, with CAP_NET_RAW, one raw socket for all flows: identifiers are
 *   chosen here (random, unique among flows), written into the request with
 *   a recomputed checksum, and every ICMP message the host receives is
 *   filtered: replies by identifier and source, errors by the echo request
 *   they quote;
 * - else echo NAT is off and one log line says why; only the gateway
 *   answers (re-checked at most once a minute, quietly, on demand).
 *
 * Replies get the guest's identifier back, a recomputed checksum, and the
 * pinged address as source.  Errors about a request (unreachable, time
 * exceeded) are relayed quoting the guest's request.  The flows are in
 * echo.c's table, shared with ICMPv6 echo NAT: it keys them, opens the
 * ping sockets, applies the caps (generic flow caps and ICMP id caps),
 * expires idle flows and lists them; this file does what is IPv4's own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "echo.h"
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

/*
 * Echo NAT
 */

#define ICMP_READS		16	/* messages per socket per wake-up */
#define ICMP_PROBE_MS		60000	/* re-check for sockets, when off */
#define ICMP_RAW_REF		ECHO_RAW_REF	/* the shared raw socket */

#ifndef ICMP_FILTER
#define ICMP_FILTER		1	/* linux/icmp.h: SOL_RAW, blocked types */
#endif

enum icmp_mode {
	ICMP_MODE_NONE,		/* only the gateway answers */
	ICMP_MODE_PING,		/* one unprivileged ping socket per flow */
	ICMP_MODE_RAW,		/* one raw socket, identifiers mapped here */
};

/* IPv4 echo NAT of one instance; its flows are in echo.c's table */
struct un_icmp {
	enum icmp_mode mode;
	int raw_fd;		/* raw mode: the one socket, else -1 */
	int64_t probe_ms;	/* last look for usable sockets */
	uint8_t buf[65536];	/* one message in or out */
};

/**
 * icmp4_unreach_code() - ICMP unreachable code for a socket error
 * @err:	positive errno from socket(), connect() or send()
 *
 * Return: ICMP_UNREACH_* code, or -1 if the error is not worth telling
 */
int icmp4_unreach_code(int err)
{
	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
		return ICMP_UNREACH_NET;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
		return ICMP_UNREACH_HOST;
	case ECONNREFUSED:
		return ICMP_UNREACH_PORT;
	case EACCES:
	case EPERM:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return ICMP_UNREACH_ADMIN;	/* RFC 1812 5.2.7.1 */
	default:
		return -1;
	}
}

/**
 * icmp_nat_dest_ok() - May an echo request to @daddr leave through the host?
 *
 * Only to unicast addresses outside the guest network; never to loopback
 * or 0/8, which are martians for a router (RFC 1812 5.3.7) and would reach
 * the host itself: the gateway address is the way to the host.
 *
 * Return: true if it may
 */
static bool icmp_nat_dest_ok(const struct usernat *un, uint32_t daddr)
{
	uint32_t h = ntohl(daddr);

	return !un_in_net(un, daddr) && (h >> 24) != 127 && (h >> 24) != 0 &&
	       h < 0xe0000000;
}

/**
 * icmp_raw_open() - Open the shared raw socket and watch it
 *
 * The filter lets only echo replies and the errors we relay through
 * (raw sockets get a copy of every ICMP message the host receives).
 *
 * Return: 0 or negative errno
 */
static int icmp_raw_open(struct usernat *un)
{
	uint32_t filt = ~(1U << ICMP_ECHOREPLY | 1U << ICMP_UNREACH |
			  1U << ICMP_TIMXCEED);
	int fd, ret;

	fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof(filt)))
		un_debug(un, "ICMP: no raw socket filter: %s",
			 strerror(errno));
	ret = un_epoll_add(un, fd, EPOLLIN, UN_EP_ICMP, ICMP_RAW_REF);
	if (ret) {
		close(fd);
		return ret;
	}
	un->icmp->raw_fd = fd;
	return 0;
}

/**
 * icmp_probe() - Find out how echo requests can leave: ping, raw or not
 * @quiet:	log only success (a re-check), not why nothing works
 *
 * Ping sockets (SOCK_DGRAM, IPPROTO_ICMP) need the process's group within
 * net.ipv4.ping_group_range; raw sockets need CAP_NET_RAW.  Ping sockets
 * are preferred: the kernel gives each one its own identifier and checks
 * what we send.  Return: true if echo NAT is available
 */
static bool icmp_probe(struct usernat *un, bool quiet)
{
	struct un_icmp *i = un->icmp;
	int fd, ping_err, raw_err;

	i->probe_ms = un_now_ms();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd >= 0) {
		close(fd);
		i->mode = ICMP_MODE_PING;
		un_info(un, "ICMP echo NAT: using ping sockets");
		return true;
	}
	ping_err = errno;
	raw_err = -icmp_raw_open(un);
	if (!raw_err) {
		i->mode = ICMP_MODE_RAW;
		un_info(un, "ICMP echo NAT: using a raw socket (no ping "
			"sockets: %s)", strerror(ping_err));
		return true;
	}
	if (!quiet)
		un_info(un, "ICMP echo NAT off, only the gateway answers pings:"
			" no ping socket (%s; see sysctl "
			"net.ipv4.ping_group_range), no raw socket (%s)",
			strerror(ping_err), strerror(raw_err));
	return false;
}

/**
 * icmp_flow_new() - Create the echo flow for @k, charged to the guest
 * @ip:		the guest's echo request, quoted if we refuse
 *
 * Refused (policy, caps, no socket): destination unreachable,
 * administratively prohibited (RFC 1812 5.2.7.1); counted by
 * policy_refuse() or echo_flow_new().
 * Return: new flow (owned by echo.c's table), or NULL after telling the
 * guest
 */
static struct echo_flow *icmp_flow_new(struct usernat *un,
				       const struct ip4_in *ip,
				       const struct echo_key *k)
{
	struct echo_flow *f;
	int err;

	/* Egress policy (policy.c), once per new flow: refused with ICMP
	 * administratively prohibited, counted in drop_policy */
	if (policy_refuse(un, ip, 0))
		return NULL;
	f = echo_flow_new(un, k, ip->src_mac, un->icmp->mode == ICMP_MODE_PING,
			  &err);
	if (!f)
		icmp4_send_error(un, ip, ICMP_UNREACH, ICMP_UNREACH_ADMIN);
	return f;
}

/**
 * icmp_echo_send() - Send the guest's echo request out for flow @f
 * @msg, @len:	the guest's ICMP message (validated, checksum correct)
 *
 * A ping socket puts its own identifier in and computes the checksum; for
 * the raw socket we do both, on a copy.  Return: bytes sent or -errno
 */
static ssize_t icmp_echo_send(struct usernat *un, struct echo_flow *f,
			      const uint8_t *msg, size_t len)
{
	struct un_icmp *i = un->icmp;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr =
					un_host_addr(un, echo_v4(f->key.daddr)) };
	struct icmp_hdr *h = (struct icmp_hdr *)i->buf;
	ssize_t n;

	if (f->fd >= 0) {
		n = sendto(f->fd, msg, len, MSG_DONTWAIT,
			   (struct sockaddr *)&to, sizeof(to));
	} else {
		memcpy(i->buf, msg, len);
		h->un.echo.id = f->sid;
		h->check = 0;
		h->check = csum(i->buf, len, 0);
		n = sendto(i->raw_fd, i->buf, len, MSG_DONTWAIT,
			   (struct sockaddr *)&to, sizeof(to));
	}
	return n < 0 ? -errno : n;
}

/**
 * icmp_echo_nat() - Forward a guest's echo request to a host-side address
 * @ih:		its ICMP header (validated)
 *
 * The flow is (guest, destination, guest identifier): several guests, or
 * one guest pinging several hosts, never share a host-side identifier.
 */
static void icmp_echo_nat(struct usernat *un, const struct ip4_in *ip,
			  const struct icmp_hdr *ih)
{
	struct un_icmp *i = un->icmp;
	struct echo_key k;
	struct echo_flow *f;
	ssize_t n;
	int code;

	if (!icmp_nat_dest_ok(un, ip->daddr) || !un_in_net(un, ip->saddr)) {
		UN_COUNT(un, drop_icmp_dst);
		return;
	}
	if (i->mode == ICMP_MODE_NONE &&
	    (un_now_ms() - i->probe_ms < ICMP_PROBE_MS ||
	     !icmp_probe(un, true))) {
		UN_COUNT(un, drop_icmp_nat);
		return;
	}
	echo_key4(un, &k, ip->saddr, ip->daddr, ih->un.echo.id);
	f = echo_lookup(un, &k);
	if (!f && !(f = icmp_flow_new(un, ip, &k)))
		return;
	memcpy(f->mac, ip->src_mac, ETH_ALEN);
	echo_touch(un, f);
	n = icmp_echo_send(un, f, ip->l4.p, ip->l4.len);
	if (n >= 0) {
		UN_COUNT(un, icmp_echo_out);
		f->bytes_from_guest += ip->l4.len;
		return;
	}
	UN_COUNT(un, drop_icmp_send);
	code = icmp4_unreach_code((int)-n);
	if (code == ICMP_UNREACH_NET || code == ICMP_UNREACH_HOST)
		icmp4_send_error(un, ip, ICMP_UNREACH, (uint8_t)code);
}

/**
 * icmp_echo_to_guest() - Relay an echo reply to the guest of flow @f
 * @msg, @len:	the ICMP message as received on the host (not kept)
 *
 * The guest's identifier goes back in and the checksum is recomputed; the
 * source is the address the guest pinged.
 */
static void icmp_echo_to_guest(struct usernat *un, struct echo_flow *f,
			       const uint8_t *msg, size_t len)
{
	struct pkt c = pkt_init(msg, len);
	const struct icmp_hdr *h = pkt_at(&c, 0, ICMP_HLEN);
	uint8_t *l4 = ip4_out_l4(un);
	struct icmp_hdr *oh = (struct icmp_hdr *)l4;

	if (!h || h->type != ICMP_ECHOREPLY ||
	    len > un->cfg.mtu - IP4_HLEN) {
		UN_COUNT(un, drop_icmp_reply);
		return;
	}
	memcpy(l4, msg, len);
	oh->un.echo.id = f->key.gid;
	oh->check = 0;
	oh->check = csum(l4, len, 0);
	echo_touch(un, f);
	UN_COUNT(un, icmp_echo_in);
	f->bytes_to_guest += len;
	ip4_out_send(un, f->mac, echo_v4(f->key.daddr), echo_v4(f->key.gaddr),
		     IPPROTO_ICMP4, len);
}

/**
 * icmp_echo_error() - Relay an ICMP error about flow @f's echo request
 * @type, @code: as received
 * @info:	ICMP_UNREACH_NEEDFRAG: the next-hop MTU (RFC 1191), else 0
 * @seq:	sequence number of the request it is about, network order
 * @src:	who reported it; the gateway stands in for local or odd ones
 *
 * Quotes a rebuilt IPv4 header and the echo header as the guest sent it
 * (its identifier), which is what a guest matches errors with (RFC 792).
 */
static void icmp_echo_error(struct usernat *un, struct echo_flow *f,
			    uint8_t type, uint8_t code, uint32_t info,
			    uint16_t seq, uint32_t src)
{
	struct icmp_hdr *ih = (struct icmp_hdr *)ip4_out_l4(un);
	struct ip4_hdr *q = (struct ip4_hdr *)((uint8_t *)ih + ICMP_HLEN);
	struct icmp_hdr *qe = (struct icmp_hdr *)((uint8_t *)q + IP4_HLEN);
	uint32_t h = ntohl(src);

	if (!src || (h >> 24) == 127 || h >= 0xe0000000 || un_in_net(un, src))
		src = un->cfg.gw;
	memset(q, 0, IP4_HLEN);
	q->ver_ihl = 0x45;
	q->tot_len = htons(IP4_HLEN + ICMP_HLEN);
	q->frag_off = htons(IP4_DF);
	q->ttl = IP4_DEFTTL;
	q->proto = IPPROTO_ICMP4;
	q->saddr = echo_v4(f->key.gaddr);
	q->daddr = echo_v4(f->key.daddr);
	q->check = csum(q, IP4_HLEN, 0);
	qe->type = ICMP_ECHO;
	qe->code = 0;
	qe->check = 0;
	qe->un.echo.id = f->key.gid;
	qe->un.echo.seq = seq;
	ih->type = type;
	ih->code = code;
	ih->un.unused = 0;
	if (type == ICMP_UNREACH && code == ICMP_UNREACH_NEEDFRAG)
		ih->un.frag.mtu = htons((uint16_t)MIN(info, 65535U));
	ih->check = 0;
	ih->check = csum(ih, ICMP_HLEN + IP4_HLEN + ICMP_HLEN, 0);
	UN_COUNT(un, icmp_errors_relayed);
	ip4_out_send(un, f->mac, src, echo_v4(f->key.gaddr), IPPROTO_ICMP4,
		     ICMP_HLEN + IP4_HLEN + ICMP_HLEN);
}

/**
 * icmp_ping_errqueue() - Relay errors queued on a flow's ping socket
 *
 * With IP_RECVERR the kernel queues ICMP errors about our requests, with
 * the request's ICMP header as data (for its sequence number) and the
 * reporting address as offender.
 */
static void icmp_ping_errqueue(struct usernat *un, struct echo_flow *f)
{
	char cbuf[CMSG_SPACE(sizeof(struct sock_extended_err) +
			     sizeof(struct sockaddr_in))];
	const struct sock_extended_err *ee;
	const struct sockaddr_in *off;
	struct icmp_hdr req;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	for (r = 0; r < ICMP_READS; r++) {
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
			if (cm->cmsg_level != IPPROTO_IP ||
			    cm->cmsg_type != IP_RECVERR)
				continue;
			ee = (const struct sock_extended_err *)CMSG_DATA(cm);
			if (ee->ee_origin != SO_EE_ORIGIN_ICMP ||
			    (ee->ee_type != ICMP_UNREACH &&
			     ee->ee_type != ICMP_TIMXCEED))
				continue;
			off = (const struct sockaddr_in *)SO_EE_OFFENDER(ee);
			icmp_echo_error(un, f, ee->ee_type, ee->ee_code,
					ee->ee_info,
					n >= ICMP_HLEN ? req.un.echo.seq : 0,
					off->sin_family == AF_INET ?
					off->sin_addr.s_addr : 0);
		}
	}
}

/**
 * icmp_ping_recv() - Relay echo replies from a flow's ping socket
 *
 * The kernel delivers replies by identifier alone; one from an address
 * other than the one pinged is not the guest's business and is dropped.
 */
static void icmp_ping_recv(struct usernat *un, struct echo_flow *f)
{
	struct un_icmp *i = un->icmp;
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	int r;

	for (r = 0; r < ICMP_READS; r++) {
		fl = sizeof(from);
		n = recvfrom(f->fd, i->buf, sizeof(i->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (from.sin_family != AF_INET ||
		    from.sin_addr.s_addr !=
		    un_host_addr(un, echo_v4(f->key.daddr))) {
			UN_COUNT(un, drop_icmp_reply);
			continue;
		}
		icmp_echo_to_guest(un, f, i->buf, (size_t)n);
	}
}

/**
 * icmp_raw_error() - An ICMP error on the raw socket: relay it if it quotes
 * one of our echo requests
 * @src:	the error's source address
 * @c:		the error message after its ICMP header (untrusted)
 */
static void icmp_raw_error(struct usernat *un, const struct icmp_hdr *h,
			   uint32_t src, const struct pkt *c)
{
	const struct ip4_hdr *q = pkt_at(c, 0, IP4_HLEN);
	const struct icmp_hdr *qe;
	struct echo_flow *f;

	if (!q || q->proto != IPPROTO_ICMP4 ||
	    !(qe = pkt_at(c, (size_t)(q->ver_ihl & 0xf) * 4, ICMP_HLEN)) ||
	    qe->type != ICMP_ECHO)
		return;
	f = echo_by_sid(un, false, qe->un.echo.id);
	if (!f || q->daddr != un_host_addr(un, echo_v4(f->key.daddr)))
		return;
	icmp_echo_error(un, f, h->type, h->code, ntohs(h->un.frag.mtu),
			qe->un.echo.seq, src);
}

/**
 * icmp_raw_recv() - Messages on the shared raw socket
 *
 * A raw socket sees every ICMP message the host gets (bar the filter):
 * replies are matched by our identifier and the address pinged, errors by
 * the echo request they quote; everything else belongs to someone else.
 */
static void icmp_raw_recv(struct usernat *un)
{
	struct un_icmp *i = un->icmp;
	const struct ip4_hdr *ih;
	const struct icmp_hdr *h;
	struct echo_flow *f;
	struct pkt c, l4;
	ssize_t n;
	int r;

	for (r = 0; r < ICMP_READS * 4; r++) {
		n = recv(i->raw_fd, i->buf, sizeof(i->buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		c = pkt_init(i->buf, (size_t)n);
		if (!(ih = pkt_at(&c, 0, IP4_HLEN)) ||
		    pkt_sub(&c, (size_t)(ih->ver_ihl & 0xf) * 4,
			    c.len - (size_t)(ih->ver_ihl & 0xf) * 4, &l4) ||
		    !(h = pkt_pull(&l4, ICMP_HLEN)))
			continue;
		if (h->type != ICMP_ECHOREPLY) {
			icmp_raw_error(un, h, ih->saddr, &l4);
			continue;
		}
		f = echo_by_sid(un, false, h->un.echo.id);
		if (!f || ih->saddr != un_host_addr(un, echo_v4(f->key.daddr)))
			continue;	/* someone else's ping */
		icmp_echo_to_guest(un, f, l4.p - ICMP_HLEN,
				   l4.len + ICMP_HLEN);
	}
}

/**
 * icmp_ready() - Host-side event: a ping socket, or the shared raw socket
 * @ref:	UN_EP_ICMP and the flow's reference, or ICMP_RAW_REF
 */
void icmp_ready(struct usernat *un, union un_ref ref, uint32_t events)
{
	struct un_icmp *i = un->icmp;
	struct echo_flow *f;

	if (!i)
		return;
	if (ref.idx == ICMP_RAW_REF) {
		if (i->raw_fd >= 0)
			icmp_raw_recv(un);
		return;
	}
	f = echo_by_ref(un, ref.idx);
	if (!f || f->key.v6)
		return;		/* ended in this batch of events */
	if (events & EPOLLERR)
		icmp_ping_errqueue(un, f);
	if (events & EPOLLIN)
		icmp_ping_recv(un, f);
}

/**
 * icmp_init() - Set up echo NAT; finds out which sockets we may use
 * Return: 0 (no way out for echo requests is not an error)
 */
int icmp_init(struct usernat *un)
{
	struct un_icmp *i = g_new0(struct un_icmp, 1);

	un->icmp = i;
	i->raw_fd = -1;
	icmp_probe(un, false);
	return 0;
}

/**
 * icmp_cleanup() - Close the raw socket; safe if never set up.  The flows
 * are echo_cleanup()'s.
 */
void icmp_cleanup(struct usernat *un)
{
	struct un_icmp *i = un->icmp;

	if (!i)
		return;
	if (i->raw_fd >= 0) {
		un_epoll_del(un, i->raw_fd);
		close(i->raw_fd);
	}
	g_free(i);
	un->icmp = NULL;
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
	if (ih->type == ICMP_ECHO && ih->code == 0) {
		if (un_is_ours(un, ip->daddr))
			icmp_echo_local(un, ip);
		else
			icmp_echo_nat(un, ip, ih);
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

