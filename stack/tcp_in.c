// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp_in.c - TCP NAT: segments from guests
 *
 * Validation (header length, checksum, options through the bounds-checked
 * TLV walker), the connection lookup, opening host connections for SYNs,
 * and the RFC 9293 3.10.7 segment processing: sequence check, RST and SYN
 * checks (RFC 5961), ACK processing with duplicate-ACK detection, NewReno
 * and SACK recovery, then the payload, written straight to the host socket
 * (or queued, out of order), and the FIN.  See the theory of operation in
 * tcp.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "checksum.h"
#include "ip6.h"
#include "policy.h"
#include "tcp.h"
#include "tcp_internal.h"
#include "wire/icmp.h"
#include "wire/icmp6.h"
#include "wire/ip4.h"
#include "wire/ip6.h"

#define TCP_DNS_PORT	53

/**
 * tcp_parse() - Check a guest's TCP segment and fill @s
 *
 * Return: 0, or -1 if dropped (and counted): shorter than its header, a
 * data offset below 5 words or past the segment, a bad checksum
 */
static int tcp_parse(struct usernat *un, const struct tcp_pkt *ip,
		     struct tcp_seg *s)
{
	const struct tcp_hdr *th = pkt_at(&ip->l4, 0, TCP_HLEN);
	uint32_t pseudo;
	size_t hlen;

	if (!th) {
		UN_COUNT(un, drop_tcp_short);
		return -1;
	}
	hlen = TCP_DOFF_LEN(th->doff);
	if (hlen < TCP_HLEN || hlen > ip->l4.len) {
		UN_COUNT(un, drop_tcp_short);
		return -1;
	}
	/* RFC 9293 3.1: over the pseudo-header, header and payload;
	 * RFC 8200 8.1 for IPv6 */
	if (ip->v6)
		pseudo = csum_pseudo6(ip->saddr, ip->daddr, IP6_NH_TCP,
				      (uint32_t)ip->l4.len);
	else
		pseudo = csum_pseudo4(tcp_v4(ip->saddr), tcp_v4(ip->daddr),
				      IPPROTO_TCP4, (uint16_t)ip->l4.len);
	/* not with a partial checksum (virtio-net offload, see
	 * un_rx_csum_ok()) */
	if (!un_rx_csum_ok(un) && csum(ip->l4.p, ip->l4.len, pseudo)) {
		UN_COUNT(un, drop_tcp_csum);
		return -1;
	}
	s->th = th;
	s->seq = ntohl(th->seq);
	s->ack = ntohl(th->ack_seq);
	s->wnd = ntohs(th->window);
	s->flags = th->flags;
	pkt_sub(&ip->l4, TCP_HLEN, hlen - TCP_HLEN, &s->opts);
	pkt_sub(&ip->l4, hlen, ip->l4.len - hlen, &s->data);
	return 0;
}

/**
 * tcp_syn_options() - Read MSS, window scale and SACK-permitted from the
 * options of a SYN or SYN-ACK
 *
 * Walks the option area with pkt_tlv_next(): EOL ends it, NOP is one
 * byte, anything else has a length byte counting the kind and itself.  An
 * option that overruns the area or has the wrong length is counted and
 * ignored; what was read before it still counts.
 */
void tcp_syn_options(struct usernat *un, struct pkt opts,
		     struct tcp_syn_opts *o)
{
	struct pkt val;
	uint8_t type, ws;
	int r;

	o->mss = TCP_DEFAULT_MSS;
	o->ws = -1;
	o->sack = false;
	while ((r = pkt_tlv_next(&opts, &type, &val, 1, TCPOPT_EOL,
				 TCPOPT_NOP)) > 0) {
		if (type == TCPOPT_EOL)
			return;
		if (type == TCPOPT_MSS && val.len == TCPOLEN_MSS - 2) {
			pkt_be16(&val, &o->mss);
		} else if (type == TCPOPT_WSCALE &&
			   val.len == TCPOLEN_WSCALE - 2) {
			pkt_u8(&val, &ws);
			/* RFC 7323 2.3: larger shifts are taken as 14 */
			o->ws = MIN(ws, TCP_MAX_WSCALE);
		} else if (type == TCPOPT_SACK_OK &&
			   val.len == TCPOLEN_SACK_OK - 2) {
			o->sack = true;
		} else if (type == TCPOPT_MSS || type == TCPOPT_WSCALE ||
			   type == TCPOPT_SACK_OK) {
			UN_COUNT(un, tcp_bad_options);
		}
	}
	if (r < 0)
		UN_COUNT(un, tcp_bad_options);
}

/**
 * tcp_syn_apply() - Take what the guest's SYN or SYN-ACK options say
 *
 * The guest's MSS (clamped to what our MTU carries, and to at least
 * TCP_MIN_MSS) sizes our segments; window scaling and SACK stay on (if we
 * offer them: TF_WS, TF_SACK set by the caller) only if the guest offered
 * them too (RFC 7323 2.2, RFC 2018 2).
 */
void tcp_syn_apply(struct usernat *un, struct tcp_conn *c,
		   const struct tcp_syn_opts *o)
{
	c->mss = (uint16_t)tcp_min(tcp_max(o->mss, TCP_MIN_MSS),
				   tcp_mss_max(un, tcp_is_v6(c)));
	if (o->ws >= 0)
		c->snd_ws = (uint8_t)o->ws;
	else
		c->flags &= ~TF_WS;
	if (!o->sack)
		c->flags &= ~TF_SACK;
}

/**
 * tcp_addrs_ok() - May this guest segment create or use a flow?
 *
 * The source must be a guest of our network; the destination a unicast
 * address outside "this network", loopback, multicast and broadcast
 * (RFC 1122 3.2.1.3): the host's loopback is reached only through the
 * gateway address (un_host_addr()).
 *
 * IPv6: ip6.c passed only routable destinations or our own addresses; the
 * source must be in our prefix, or link-local toward one of our addresses
 * (as for UDP).
 */
static bool tcp_addrs_ok(const struct usernat *un, const struct tcp_pkt *ip,
			 const struct tcp_hdr *th)
{
	uint32_t s4 = tcp_v4(ip->saddr), d4 = tcp_v4(ip->daddr), d = ntohl(d4);

	if (ip->v6) {
		if (!ip6_in_prefix(un, ip->saddr) &&
		    !(ip->local && ip6_is_linklocal(ip->saddr)))
			return false;
	} else {
		if (!un_in_net(un, s4) || un_is_ours(un, s4))
			return false;
		if ((d >> 24) == 0 || (d >> 24) == 127 || d >= 0xe0000000 ||
		    d4 == (un->cfg.net | ~un->cfg.mask))
			return false;
	}
	return th->source && th->dest;
}

/**
 * tcp_target6() - Where the host side of a new IPv6 connection connects to
 *
 * As tcp_target(): dns6 port 53 is the DNS upstream (dns.c), gateway6
 * stands for the host's ::1 (un_host_addr6()) unless no-map-host-loopback,
 * other ports and addresses of ours have no service.
 * Return: 0, or negative errno (-ECONNREFUSED: answer with an RST)
 */
static int tcp_target6(struct usernat *un, const struct tcp_pkt *ip,
		       uint16_t dport, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (ip6_eq(ip->daddr, un->cfg.dns6) && dport == htons(TCP_DNS_PORT))
		return dns_tcp_upstream(un, ss, len);	/* dns.c */
	if (ip->local && !(un->cfg.map_host_loopback &&
			   ip6_eq(ip->daddr, un->cfg.gw6)))
		return -ECONNREFUSED;
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	un_host_addr6(un, ip->daddr, sin6->sin6_addr.s6_addr);
	sin6->sin6_port = dport;
	*len = sizeof(*sin6);
	return 0;
}

/**
 * tcp_charge() - Count a new connection against the guest's flow limit
 * (by address for IPv4, by MAC for IPv6: un_flow_charge6()) and the
 * half-open limits, of either family.  Return: 0, or -ENOSPC
 */
static int tcp_charge(struct usernat *un, const struct tcp_pkt *ip)
{
	uint32_t g = tcp_v4(ip->saddr);

	if (ip->v6 ? un_flow_charge6(un, ip->mac, "TCP connection") :
		     un_flow_charge(un, g, "TCP connection"))
		return -ENOSPC;
	if (un_half_open_charge(un, ip->v6, g, ip->mac)) {
		if (ip->v6)
			un_flow_release6(un, ip->mac);
		else
			un_flow_release(un, g);
		return -ENOSPC;
	}
	return 0;
}

/**
 * tcp_target() - Where the host side of a new connection connects to
 *
 * The DNS address port 53 goes to the first upstream server (dns.c); other
 * ports there have no service.  Everything else goes to the destination,
 * the gateway address standing for the host's loopback (un_host_addr());
 * with no-map-host-loopback it stands for nothing and is refused.
 * Return: 0, or negative errno (-ECONNREFUSED: answer with an RST)
 */
static int tcp_target(struct usernat *un, const struct tcp_pkt *ip,
		      uint16_t dport, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	uint32_t daddr = tcp_v4(ip->daddr);

	if (ip->v6)
		return tcp_target6(un, ip, dport, ss, len);
	if (daddr == un->cfg.dns && dport == htons(TCP_DNS_PORT))
		return dns_tcp_upstream(un, ss, len);	/* dns.c */
	if ((daddr == un->cfg.dns && daddr != un->cfg.gw) ||
	    (daddr == un->cfg.gw && !un->cfg.map_host_loopback))
		return -ECONNREFUSED;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = un_host_addr(un, daddr);
	sin->sin_port = dport;
	*len = sizeof(*sin);
	return 0;
}

/**
 * tcp_fd_exhausted() - Count and (at most every 10 s) log a SYN refused for
 * lack of file descriptors or socket memory
 */
static void tcp_fd_exhausted(struct usernat *un, int err)
{
	int64_t now = tcp_now();

	UN_COUNT(un, tcp_fd_exhausted);
	if (now - un->tcp->last_fd_log < 10000 && un->tcp->last_fd_log)
		return;
	un->tcp->last_fd_log = now;
	un_warn(un, "tcp: cannot open a host socket (%s): refusing new "
		"connections until there are descriptors again",
		strerror(err));
}

/**
 * tcp_host_connect() - Open @c's host socket and start connecting it
 * @ss, @sl:	where to
 *
 * Failures to get a socket (descriptors, memory) answer the guest with an
 * RST; the connect()'s own result comes now or later as tcp_connected() or
 * tcp_connect_failed().
 */
static void tcp_host_connect(struct usernat *un, struct tcp_conn *c,
			     const struct sockaddr_storage *ss, socklen_t sl)
{
	int fd, one = 1, zero = 0, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = errno;
		if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM)
			tcp_fd_exhausted(un, err);
		tcp_reset(un, c, false);
		return;
	}
	c->fd = fd;
	/* the guest already decided how to segment: don't delay its data */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (un->tcp->peek_off)
		setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
	if (tcp_epoll_events(un, c, true, true)) {
		tcp_reset(un, c, false);
		return;
	}
	if (!connect(fd, (const struct sockaddr *)ss, sl))
		tcp_connected(un, c);
	else if (errno != EINPROGRESS)
		tcp_connect_failed(un, c, errno);
}

/**
 * tcp_open() - A guest SYN for no existing flow: start the host connect()
 *
 * Refusals (no service, limits) answer with an RST.  A payload on the SYN
 * is not taken (we don't offer TCP Fast Open); the guest sends it again.
 */
static void tcp_open(struct usernat *un, const struct tcp_pkt *ip,
		     const struct tcp_seg *s)
{
	const struct tcp_hdr *th = s->th;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct tcp_syn_opts o;
	struct tcp_conn *c;

	/* Egress policy (policy.c), once per new connection: a denied one
	 * gets an RST, so the guest's connect() fails at once */
	if (ip->v6 ? policy_check6(un, IP6_NH_TCP, ip->daddr, ntohs(th->dest))
		   : policy_check(un, IPPROTO_TCP4, tcp_v4(ip->daddr),
				  ntohs(th->dest))) {
		UN_COUNT(un, drop_policy);
		tcp_reply_rst(un, ip, th, s->data.len);
		return;
	}
	if (tcp_target(un, ip, th->dest, &ss, &sl)) {
		UN_COUNT(un, tcp_refused);
		tcp_reply_rst(un, ip, th, s->data.len);
		return;
	}
	if (tcp_charge(un, ip)) {
		UN_COUNT(un, tcp_limit);
		tcp_reply_rst(un, ip, th, s->data.len);
		return;
	}
	if (!(c = tcp_conn_new(un, ip->saddr, th->source, ip->daddr,
			       th->dest))) {
		un_half_open_release(un, ip->v6, tcp_v4(ip->saddr), ip->mac);
		if (ip->v6)
			un_flow_release6(un, ip->mac);
		else
			un_flow_release(un, tcp_v4(ip->saddr));
		UN_COUNT(un, tcp_limit);
		tcp_reply_rst(un, ip, th, s->data.len);
		return;
	}
	/* offered back if the guest offers them: window scale, SACK */
	c->flags = TF_CHARGED | TF_WND_DIRTY | TF_WS | TF_SACK | TF_HALF_OPEN |
		   (ip->v6 ? TF_V6 : 0);
	c->created_ms = c->last_ms = tcp_now();
	UN_COUNT(un, tcp_opened);
	un->ctr[UN_CTR_tcp_active]++;
	memcpy(c->mac, ip->mac, ETH_ALEN);
	c->state = TCP_ST_CONNECTING;
	c->rcv_nxt = c->rcv_acked = c->rcv_edge = s->seq + 1;
	tcp_syn_options(un, s->opts, &o);
	tcp_syn_apply(un, c, &o);
	c->snd_wnd = s->wnd;	/* never scaled in a SYN */
	c->snd_wl1 = s->seq;
	c->rto = TCP_RTO_INIT;
	c->rto_at = c->last_ms + TCP_CONNECT_TIMEOUT;
	tcp_timer_want(un, c, c->rto_at);
	tcp_host_connect(un, c, &ss, sl);
}

/**
 * tcp_connected() - The host connect() succeeded: answer the guest's SYN
 */
void tcp_connected(struct usernat *un, struct tcp_conn *c)
{
	struct un_tcp *t = un->tcp;

	tcp_half_open_release(un, c);
	c->state = TCP_ST_SYN_RCVD;
	c->snd_una = tcp_iss(t, c);
	c->sock_seq = c->peek_seq = c->snd_una + 1;
	c->recover = c->snd_una;
	c->flags |= TF_RTT;
	c->rtt_ts = (uint32_t)tcp_now();
	tcp_send_syn(un, c);
	c->rto_at = tcp_now() + c->rto;
	tcp_timer_want(un, c, c->rto_at);
}

/**
 * tcp_unreach6() - ICMPv6 destination unreachable (RFC 4443 3.1) for
 * @c's SYN, the host connect() having failed with @err
 *
 * The quoted header is the guest's SYN as it sent it (ports, sequence
 * number), so the guest's stack finds the connection it belongs to.
 */
static void tcp_unreach6(struct usernat *un, const struct tcp_conn *c,
			 int err)
{
	struct tcp_hdr th = { .source = c->gport, .dest = c->dport,
			      .seq = htonl(c->rcv_nxt - 1),
			      .doff = TCP_HLEN / 4 << 4, .flags = TCP_SYN };
	int code = icmp6_unreach_code(err);

	icmp6_send_error_flow(un, c->mac, IP6_NH_TCP, c->gaddr, c->daddr, &th,
			      sizeof(th), ICMP6_UNREACH,
			      code < 0 ? ICMP6_UNREACH_NOROUTE : (uint8_t)code);
}

/**
 * tcp_connect_failed() - The host connect() failed with @err: tell the
 * guest as the destination would have, then free @c
 */
void tcp_connect_failed(struct usernat *un, struct tcp_conn *c, int err)
{
	uint8_t code;

	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
		code = ICMP_UNREACH_NET;
		goto unreach;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		code = ICMP_UNREACH_HOST;
		goto unreach;
	case EACCES:
	case EPERM:
		code = ICMP_UNREACH_ADMIN;
		goto unreach;
	case ETIMEDOUT:
		UN_COUNT(un, tcp_connect_timeout);
		tcp_conn_free(un, c, true);
		return;
	default:
		UN_COUNT(un, tcp_refused);
		tcp_reset(un, c, true);
		return;
	}
unreach:
	UN_COUNT(un, tcp_unreach);
	if (tcp_is_v6(c))
		tcp_unreach6(un, c, err);
	else
		icmp4_send_error_flow(un, c->mac, IPPROTO_TCP4,
				      tcp_v4(c->gaddr), c->gport,
				      tcp_v4(c->daddr), c->dport, ICMP_UNREACH,
				      code);
	tcp_conn_free(un, c, true);
}

/**
 * tcp_challenge_ack() - Answer a suspicious RST or SYN with an ACK, at most
 * TCP_CHALLENGE_LIMIT a second for the instance (RFC 5961 7)
 */
static void tcp_challenge_ack(struct usernat *un, struct tcp_conn *c)
{
	struct un_tcp *t = un->tcp;
	int64_t sec = tcp_now() / 1000;

	if (sec != t->chack_sec) {
		t->chack_sec = sec;
		t->chack_count = 0;
	}
	if (t->chack_count++ >= TCP_CHALLENGE_LIMIT)
		return;
	UN_COUNT(un, tcp_challenge_ack);
	tcp_send_ack(un, c, false);
}

/**
 * tcp_in_rst() - An RST for @c, checked as RFC 5961 3.2 asks: exactly at
 * RCV.NXT resets, elsewhere in the window gets a challenge ACK, outside it
 * is ignored.  Return: true if @c was freed
 */
static bool tcp_in_rst(struct usernat *un, struct tcp_conn *c,
		       const struct tcp_seg *s)
{
	uint32_t wnd = tcp_max(c->rcv_edge - c->rcv_nxt, 1);

	if (s->seq == c->rcv_nxt) {
		UN_COUNT(un, tcp_rst_from_guest);
		tcp_conn_free(un, c, true);
		return true;
	}
	if (c->state == TCP_ST_ESTABLISHED && seq_gt(s->seq, c->rcv_nxt) &&
	    seq_lt(s->seq, c->rcv_nxt + wnd)) {
		tcp_challenge_ack(un, c);
		return false;
	}
	UN_COUNT(un, tcp_drop_state);
	return false;
}

/**
 * tcp_guest_window() - Apply a window update from the guest (RFC 9293
 * 3.10.7.4: only from a segment newer than the last one that set it)
 * Return: the previous window
 */
static uint32_t tcp_guest_window(struct usernat *un, struct tcp_conn *c,
				 const struct tcp_seg *s)
{
	uint32_t old = c->snd_wnd;

	if (!(seq_lt(c->snd_wl1, s->seq) ||
	      (c->snd_wl1 == s->seq && seq_le(c->snd_wl2, s->ack))))
		return old;
	c->snd_wnd = s->wnd << c->snd_ws;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if (c->snd_wnd && (c->flags & (TF_NO_EPOLLIN | TF_PERSIST))) {
		/* the window opened: read and send again */
		if (c->flags & TF_NO_EPOLLIN)
			tcp_epoll_events(un, c, false, true);
		if (c->flags & TF_PERSIST) {
			c->flags &= ~TF_PERSIST;
			c->rto_at = 0;
			c->retries = 0;
		}
	}
	if (c->snd_wnd > old)
		tcp_soon(un, c, TF_SEND_DUE);
	return old;
}

/**
 * tcp_resend_hole() - In recovery, resend the next hole not resent yet
 *
 * With SACK, the first gap the scoreboard shows at or after rtx_next (RFC
 * 6675 "NextSeg" rule 1); without, the segment at SND.UNA if not resent
 * yet (RFC 6582).  Return: negative errno if the socket failed
 */
static int tcp_resend_hole(struct usernat *un, struct tcp_conn *c)
{
	uint32_t from = seq_gt(c->rtx_next, c->snd_una) ? c->rtx_next
							 : c->snd_una;
	uint32_t len, seq = tcp_sack_hole(c, from, &len);
	int r;

	if (!len) {
		if (from != c->snd_una)
			return 0;	/* SND.UNA was resent already */
		len = c->mss;
	}
	r = tcp_retransmit_at(un, c, seq, len);
	if (r < 0)
		return r;
	c->rtx_next = seq + (uint32_t)MAX(r, 1);
	return 0;
}

/**
 * tcp_dupack() - A duplicate ACK (RFC 5681 2)
 *
 * The first two let one new segment out each (Limited Transmit, RFC 3042),
 * so a small window still yields a third; the third starts fast retransmit
 * and NewReno fast recovery (RFC 6582 3.2); in recovery each one inflates
 * the congestion window by an MSS and, with SACK, resends one more hole.
 * Return: negative errno if the socket failed
 */
static int tcp_dupack(struct usernat *un, struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una;

	if (c->flags & TF_RECOVERY) {
		c->cwnd += c->mss;
		tcp_soon(un, c, TF_SEND_DUE);
		return c->nsacked ? tcp_resend_hole(un, c) : 0;
	}
	if (++c->dupacks < 3) {
		tcp_soon(un, c, TF_SEND_DUE);
		return 0;
	}
	/* RFC 6582 3.2 step 2: not again for losses of the same window (the
	 * ACK must cover all that was sent when recovery last started) */
	if (c->dupacks != 3 || !seq_ge(c->snd_una, c->recover))
		return 0;
	UN_COUNT(un, tcp_fast_retransmit);
	c->ssthresh = tcp_ssthresh(c, flight);
	c->recover = c->snd_max;
	c->cwnd = c->ssthresh + 3U * c->mss;
	c->flags |= TF_RECOVERY;
	c->rtx_next = c->snd_una;
	return tcp_resend_hole(un, c);
}

/**
 * tcp_recovery_ack() - New data acknowledged during fast recovery: a full
 * ACK ends it, a partial ACK resends the next hole and deflates the
 * window by what it acknowledged (RFC 6582 3.2 steps 3-4)
 * Return: negative errno if the socket failed
 */
static int tcp_recovery_ack(struct usernat *un, struct tcp_conn *c,
			    uint32_t acked)
{
	if (seq_ge(c->snd_una, c->recover)) {
		c->flags &= ~TF_RECOVERY;
		c->nsacked = 0;
		c->cwnd = c->ssthresh;
		return 0;
	}
	c->cwnd -= tcp_min(c->cwnd, acked);
	c->cwnd += c->mss;
	return tcp_resend_hole(un, c);
}

/**
 * tcp_acked() - The guest acknowledged new data up to SEG.ACK
 * @opts:	the ACK's options, for SACK blocks
 *
 * RTT sample (RFC 6298, Karn's rule via TF_RTT), congestion window
 * growth (RFC 5681 3.1: slow start by the bytes acknowledged, which copes
 * with stretch ACKs, then about one MSS per RTT), NewReno partial and full
 * ACKs (RFC 6582 3.2 steps 3-4), RTO restart (RFC 6298 5.2-5.3).  The
 * bytes are discarded from the host socket at the next flush.
 * Return: negative errno if the socket failed
 */
static int tcp_acked(struct usernat *un, struct tcp_conn *c, uint32_t ack,
		     const struct pkt *opts)
{
	uint32_t acked = ack - c->snd_una;
	int64_t now = tcp_now();
	int ret = 0;

	/* payload delivered: not our FIN */
	c->bytes_out += acked - ((c->flags & TF_HOST_EOF) &&
				 seq_gt(ack, c->fin_seq) &&
				 !seq_gt(c->snd_una, c->fin_seq));
	c->snd_una = ack;
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	tcp_sack_prune(c);
	if (opts->len)
		tcp_sack_input(c, *opts);
	c->retries = 0;
	if ((c->flags & TF_RTT) && seq_ge(ack, c->rtt_seq)) {
		c->flags &= ~TF_RTT;
		tcp_rto_update(c, (uint32_t)now - c->rtt_ts);
	} else {
		tcp_rto_reset(c);		/* undo any backoff */
	}
	if (c->flags & TF_RECOVERY)
		ret = tcp_recovery_ack(un, c, acked);
	else if (c->cwnd < c->ssthresh)
		c->cwnd += acked;	/* slow start */
	else			/* congestion avoidance: ~1 MSS per RTT */
		c->cwnd += tcp_max(1, (uint32_t)((uint64_t)c->mss * acked /
						 c->cwnd));
	c->cwnd = tcp_min(c->cwnd, 1U << 30);
	c->dupacks = 0;
	c->flags &= ~TF_TLP_DONE;
	tcp_loss_timer(un, c, true);
	tcp_soon(un, c, TF_SEND_DUE);
	return ret;
}

/**
 * tcp_in_ack() - ACK processing (RFC 9293 3.10.7.4, fifth check)
 *
 * A duplicate ACK is one for SND.UNA with data outstanding, no payload, no
 * SYN or FIN, and the same window (RFC 5681 2) or SACK blocks (a Linux
 * receiver's window changes from one ACK to the next).
 * Return: 0 to go on with the payload, 1 to drop the segment, negative
 * errno if the host socket failed
 */
static int tcp_in_ack(struct usernat *un, struct tcp_conn *c,
		      const struct tcp_seg *s)
{
	unsigned int sacks = 0;
	uint32_t old_wnd;

	if (seq_gt(s->ack, c->snd_max)) {
		/* acknowledges something we never sent */
		UN_COUNT(un, tcp_drop_state);
		tcp_send_ack(un, c, false);
		return 1;
	}
	if (seq_lt(s->ack, c->snd_una))
		return 0;		/* old: ignore the ACK, keep the data */
	old_wnd = tcp_guest_window(un, c, s);
	if (c->flags & TF_PERSIST)
		c->retries = 0;	/* it answers our probes: keep probing */
	if (s->ack != c->snd_una)
		return tcp_acked(un, c, s->ack, &s->opts);
	if (s->opts.len)
		sacks = tcp_sack_input(c, s->opts);
	if (c->snd_una != c->snd_max && !s->data.len &&
	    !(s->flags & (TCP_SYN | TCP_FIN)) &&
	    (c->snd_wnd == old_wnd || sacks))
		return tcp_dupack(un, c);
	return 0;
}

/**
 * tcp_both_closed() - Guest FIN taken and our FIN acknowledged?
 */
static bool tcp_both_closed(const struct tcp_conn *c)
{
	return (c->flags & TF_GUEST_FIN) && (c->flags & TF_HOST_EOF) &&
	       seq_gt(c->snd_una, c->fin_seq);
}

/* rcv_space charged per write beyond its bytes (tcp_wnd_charge()) */
#define TCP_WND_WRITE_COST	1024
/* charged since the last measurement before measuring again, bytes */
#define TCP_WND_RECHECK		16384

/**
 * tcp_wnd_charge() - Account @n bytes just written to @c's host socket
 * against the free space cached in c->rcv_space
 * @refused:	the socket took less than it was given
 *
 * Measuring the space (tcp_rcv_space(): a getsockopt(SO_MEMINFO)) for
 * every ACK costs a system call per request on an interactive connection.
 * Instead, after small writes, the cached figure is lowered by what was
 * written plus TCP_WND_WRITE_COST per write (a small write takes an skb of
 * its own: more memory than its bytes), so the window we offer is never
 * more than the socket had at the last measurement less what we put in
 * since; that keeps the advertised right edge where it was (RFC 9293
 * 3.8.6.2.2).  The next ACK measures again (TF_WND_DIRTY) once
 * TCP_WND_RECHECK bytes were charged (a bound on how wrong the figure can
 * get if the buffer shrinks under memory pressure or SO_SNDBUF), when the
 * space is down to TCP_ACK_SEGS segments, or when the socket refused data.
 * Bulk transfers measure about as often as before (once per ACK); a 1-byte
 * request/response measures once per 16 requests.
 */
static void tcp_wnd_charge(struct usernat *un, struct tcp_conn *c,
			   uint32_t n, bool refused)
{
	uint32_t low = TCP_ACK_SEGS * tcp_mss_max(un, tcp_is_v6(c));
	uint32_t charge = n + TCP_WND_WRITE_COST;

	if (!refused && !(c->flags & TF_WND_DIRTY) &&
	    c->rcv_charged + charge <= TCP_WND_RECHECK &&
	    c->rcv_space >= low + charge) {
		c->rcv_space -= charge;
		c->rcv_charged += charge;
		return;
	}
	c->flags |= TF_WND_DIRTY;
	c->rcv_charged = 0;	/* from the measurement that follows */
}

/**
 * tcp_write_host() - Write the new part of a guest payload to the host
 * socket
 *
 * @more:	corked (MSG_MORE): the kernel gathers the guest's segments of
 *		one batch of frames into full-sized ones instead of pushing
 *		each through its stack; the flush that follows the batch
 *		pushes the rest (tcp_push(), a TCP_NODELAY setsockopt()).
 *		False for the guest's PSH segments: sent at once without
 *		MSG_MORE, which also pushes what earlier ones left corked
 *		(the socket has TCP_NODELAY), so no setsockopt() is needed.
 * Return: bytes taken (maybe fewer than @len), or negative errno
 */
ssize_t tcp_write_host(struct usernat *un, struct tcp_conn *c,
		       const uint8_t *p, size_t len, bool more)
{
	ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL |
			 (more ? MSG_MORE : 0));

	if (more || n != (ssize_t)len)
		tcp_soon(un, c, TF_CORKED);
	else
		c->flags &= ~TF_CORKED;	/* this send pushed it all */

	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ENOBUFS)
			return -errno;
		n = 0;
	}
	c->rcv_nxt += (uint32_t)n;
	c->bytes_in += (uint64_t)n;
	tcp_wnd_charge(un, c, (uint32_t)n, (size_t)n < len);
	if ((size_t)n < len) {
		/* full: close the window until EPOLLOUT, the guest resends */
		UN_COUNT(un, tcp_host_full);
		c->flags |= TF_RCV_FULL | TF_REFUSED;
	} else {
		c->flags &= ~(TF_RCV_FULL | TF_REFUSED);
	}
	return n;
}

/**
 * tcp_in_fin() - The guest's FIN, at RCV.NXT (RFC 9293 3.10.7.4, eighth
 * step): shut the host socket for writing; its data still flows to the
 * guest until its own EOF
 */
static void tcp_in_fin(struct usernat *un, struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->flags |= TF_GUEST_FIN;
	shutdown(c->fd, SHUT_WR);
	tcp_send_ack(un, c, true);
	tcp_timer_update(un, c);	/* half-closed: a shorter idle limit */
}

/**
 * tcp_in_data() - Payload and FIN of an acceptable segment (RFC 9293
 * 3.10.7.4, seventh and eighth steps)
 *
 * Data starting at or before RCV.NXT is written, trimmed to its new part,
 * followed by whatever it lets out of the out-of-order queue; a later
 * segment goes to that queue (tcp_ooo.c) and gets an immediate duplicate
 * ACK (three make the guest retransmit what is missing).  ACKs for
 * in-order data wait for the flush unless 16 MSS are unacknowledged.
 * Return: true if @c was freed
 */
static bool tcp_in_data(struct usernat *un, struct tcp_conn *c,
			const struct tcp_seg *s)
{
	bool fin = s->flags & TCP_FIN, ooo = c->ooo_head >= 0;
	uint32_t skip = c->rcv_nxt - s->seq, len = (uint32_t)s->data.len;
	ssize_t n = 0;

	if (seq_gt(s->seq, c->rcv_nxt) && !(c->flags & TF_GUEST_FIN)) {
		UN_COUNT(un, tcp_ooo);
		if (len && !(c->flags & TF_RCV_FULL)) {
			tcp_ooo_add(un, c, s->seq, s->data.p, len);
			c->sack_last = s->seq;
		}
		tcp_send_ack(un, c, false);
		return false;
	}
	if ((c->flags & TF_GUEST_FIN) || skip > len || (skip == len && !fin)) {
		UN_COUNT(un, tcp_dup);		/* nothing new */
		tcp_send_ack(un, c, false);
		return false;
	}
	if (skip < len) {
		n = tcp_write_host(un, c, s->data.p + skip, len - skip,
				   !(s->flags & TCP_PSH) || ooo);
		if (n == len - skip && ooo && tcp_ooo_drain(un, c) < 0)
			n = -EPIPE;
		if (n < 0) {
			tcp_reset(un, c, false);
			return true;
		}
		if ((size_t)n < len - skip) {
			tcp_send_ack(un, c, true);	/* zero window */
			return false;
		}
	}
	if (fin && c->rcv_nxt == s->seq + len)
		tcp_in_fin(un, c);
	else if (ooo || c->rcv_nxt - c->rcv_acked >=
			TCP_ACK_SEGS * tcp_mss_max(un, tcp_is_v6(c)))
		tcp_send_ack(un, c, true);	/* a hole was filled: at once */
	else
		tcp_soon(un, c, TF_ACK_DUE);
	return false;
}

/**
 * tcp_in_established() - A segment for a synchronized connection
 * (RFC 9293 3.10.7.4, with RFC 5961 for RST and SYN)
 */
static void tcp_in_established(struct usernat *un, struct tcp_conn *c,
			       const struct tcp_seg *s)
{
	int r;

	if (s->flags & TCP_RST) {
		tcp_in_rst(un, c, s);
		return;
	}
	if (s->flags & TCP_SYN) {
		/* RFC 5961 4.2: any SYN here gets a challenge ACK */
		tcp_challenge_ack(un, c);
		return;
	}
	if (!(s->flags & TCP_ACK)) {
		UN_COUNT(un, tcp_drop_state);
		return;
	}
	r = tcp_in_ack(un, c, s);
	if (r < 0) {
		tcp_reset(un, c, false);
		return;
	}
	if (r)
		return;
	if ((s->data.len || (s->flags & TCP_FIN)) && tcp_in_data(un, c, s))
		return;
	if (tcp_both_closed(c)) {
		tcp_consume(un, c);
		tcp_conn_free(un, c, false);
	}
}

/**
 * tcp_in_syn_rcvd() - A segment while our SYN-ACK waits for its ACK
 *
 * A retransmitted SYN gets the SYN-ACK again; the ACK of our SYN
 * establishes the connection (RFC 9293 3.10.7.4) and its payload, if any,
 * is processed as in ESTABLISHED; an ACK of anything else gets an RST.
 */
static void tcp_in_syn_rcvd(struct usernat *un, struct tcp_conn *c,
			    const struct tcp_seg *s)
{
	if (s->flags & TCP_RST) {
		tcp_in_rst(un, c, s);
		return;
	}
	if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		tcp_send_syn(un, c);
		return;
	}
	if ((s->flags & (TCP_SYN | TCP_ACK)) != TCP_ACK) {
		UN_COUNT(un, tcp_drop_state);
		return;
	}
	if (s->ack != c->snd_una + 1) {
		/* <SEQ=SEG.ACK><CTL=RST> */
		UN_COUNT(un, tcp_drop_state);
		tcp_reply_rst_conn(un, c, s->th);
		return;
	}
	c->state = TCP_ST_ESTABLISHED;
	UN_COUNT(un, tcp_established);
	if ((c->flags & TF_RTT) && !c->retries)
		tcp_rto_update(c, (uint32_t)tcp_now() - c->rtt_ts);
	else
		c->rto = TCP_RTO_INIT;	/* RFC 6298 5.7 */
	c->flags &= ~TF_RTT;
	c->retries = 0;
	c->rto_at = 0;
	c->cwnd = TCP_IW_SEGS * c->mss;
	c->ssthresh = UINT32_MAX / 2;
	c->snd_una = c->snd_nxt;
	c->snd_wnd = s->wnd << c->snd_ws;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	tcp_timer_update(un, c);
	tcp_soon(un, c, TF_SEND_DUE);	/* the host may have spoken first */
	if ((s->data.len || (s->flags & TCP_FIN)) && tcp_in_data(un, c, s))
		return;
}

/**
 * tcp_in_connecting() - A segment while the host connect() runs: SYNs
 * are absorbed (the SYN-ACK comes when the host answers), an RST at the
 * right sequence abandons the connect, the rest is ignored
 */
static void tcp_in_connecting(struct usernat *un, struct tcp_conn *c,
			      const struct tcp_seg *s)
{
	if (s->flags & TCP_RST)
		tcp_in_rst(un, c, s);
	else if (!(s->flags & TCP_SYN))
		UN_COUNT(un, tcp_drop_state);
}

/**
 * tcp_no_flow() - A segment for no connection: a SYN opens one, anything
 * else but an RST gets an RST (RFC 9293 3.10.7.1, CLOSED)
 */
static void tcp_no_flow(struct usernat *un, const struct tcp_pkt *ip,
			const struct tcp_seg *s)
{
	if ((s->flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN) {
		tcp_open(un, ip, s);
		return;
	}
	if (s->flags & TCP_RST)
		return;
	UN_COUNT(un, tcp_rst_no_flow);
	tcp_reply_rst(un, ip, s->th, s->data.len);
}

/**
 * tcp_input() - Handle a TCP segment from a guest, either family
 * @ip:		its addresses and the segment
 */
static void tcp_input(struct usernat *un, const struct tcp_pkt *ip)
{
	struct tcp_conn *c;
	struct tcp_seg s;

	if (tcp_parse(un, ip, &s))
		return;
	if (!tcp_addrs_ok(un, ip, s.th)) {
		UN_COUNT(un, tcp_drop_addr);
		return;
	}
	c = tcp_lookup_addr(un->tcp, ip->saddr, s.th->source, ip->daddr,
			    s.th->dest);
	if (!c) {
		tcp_no_flow(un, ip, &s);
		return;
	}
	if (memcmp(c->mac, ip->mac, ETH_ALEN)) {
		UN_COUNT(un, tcp_drop_mac);
		return;
	}
	c->last_ms = tcp_now();
	switch (c->state) {
	case TCP_ST_CONNECTING:
		tcp_in_connecting(un, c, &s);
		break;
	case TCP_ST_SYN_RCVD:
		tcp_in_syn_rcvd(un, c, &s);
		break;
	case TCP_ST_SYN_SENT:
		tcp_in_syn_sent(un, c, &s);
		break;
	case TCP_ST_ESTABLISHED:
		tcp_in_established(un, c, &s);
		break;
	default:
		break;
	}
}

/**
 * tcp_from_guest() - Handle a TCP segment from a guest, over IPv4
 * @ip:		the IPv4 packet; ip->l4 is the segment, trimmed to the IP
 *		total length
 */
void tcp_from_guest(struct usernat *un, const struct ip4_in *ip)
{
	struct tcp_pkt p = { .mac = ip->src_mac, .l4 = ip->l4 };

	if (!un->tcp) {
		UN_COUNT(un, drop_tcp_nat);
		return;
	}
	tcp_map4(p.saddr, ip->saddr);
	tcp_map4(p.daddr, ip->daddr);
	tcp_input(un, &p);
}

/**
 * tcp_from_guest6() - Handle a TCP segment from a guest, over IPv6
 * @ip:		from ip6_nat_from_guest(): a routable destination (hop limit
 *		checked), or one of our unicast addresses (ip->local), never
 *		IPv4-mapped; ip->l4 is the segment
 */
void tcp_from_guest6(struct usernat *un, const struct ip6_in *ip)
{
	struct tcp_pkt p = { .mac = ip->src_mac, .v6 = true,
			     .local = ip->local, .l4 = ip->l4 };

	if (!un->tcp) {
		UN_COUNT(un, drop_tcp_nat);
		return;
	}
	memcpy(p.saddr, ip->saddr, 16);
	memcpy(p.daddr, ip->daddr, 16);
	tcp_input(un, &p);
}
