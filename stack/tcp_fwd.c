// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp_fwd.c - TCP NAT: connections from port forwards, opened toward the
 * guest
 *
 * DOC: Theory of operation
 *
 * fwd.c accepts a host client on a forwarded port and hands us the socket
 * (tcp_inbound()).  We then play the client's part toward the guest, an
 * IPv4 or IPv6 one: a SYN from the address fwd.c chose (fwd_source(): the
 * gateway or gateway6, or with forward-source=client the client's own),
 * from the client's own port if that 4-tuple is free (else a nearby one),
 * to the guest's port, with MSS, window scale and SACK-permitted options.
 * The connection's key is that 4-tuple, so the guest's answers find it
 * whichever source it has.  State SYN_SENT (RFC 9293 3.10.7.3):
 *  - the guest's SYN-ACK establishes the connection; from there on it is
 *    an ordinary connection (the host socket is already connected, its
 *    data may be waiting: it is read at once);
 *  - an RST from the guest (no service there) resets the host client
 *    (SO_LINGER 0), as a refused connect would;
 *  - silence: the SYN is resent with backoff, TCP_SYN_RETRIES times, then
 *    the client is reset.
 * The host socket is owned by us from tcp_inbound() on: closed on every
 * failure.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fwd.h"
#include "tcp_internal.h"
#include "wire/ip4.h"

/**
 * tcp_fwd_port() - A source port for a forwarded connection from @saddr
 * (mapped): the host client's own if the 4-tuple is free, else the next
 * free one above 1024
 * Return: port in network order, or 0 if none was found in 64 tries
 */
static uint16_t tcp_fwd_port(const struct usernat *un, const uint8_t *gaddr,
			     uint16_t gport, const uint8_t *saddr,
			     const struct sockaddr_storage *peer)
{
	uint16_t p = 0;
	int i;

	if (peer->ss_family == AF_INET)
		p = ntohs(((const struct sockaddr_in *)peer)->sin_port);
	else if (peer->ss_family == AF_INET6)
		p = ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
	for (i = 0; i < 64; i++, p++) {
		if (p < 1024)
			p = (uint16_t)(32768 + (p % 28232));
		if (!tcp_lookup_addr(un->tcp, gaddr, gport, saddr, htons(p)))
			return htons(p);
	}
	return 0;
}

/**
 * tcp_inbound_charge() - Count a forwarded connection against its guest's
 * flow limit: by address for IPv4, by MAC for IPv6 (as tcp_charge())
 * Return: 0, or nonzero if over a limit
 */
static int tcp_inbound_charge(struct usernat *un, const struct fwd_target *t)
{
	if (t->v6)
		return un_flow_charge6(un, t->mac, "TCP forward");
	return un_flow_charge(un, tcp_v4(t->guest), "TCP forward");
}

/**
 * tcp_inbound() - A host client connected to a TCP forward (see fwd.h)
 * @fd:		accepted non-blocking socket, now ours (closed on failure)
 * @peer:	the client's address
 * @t:		the guest (address, port, MAC) and the address the
 *		connection comes from (fwd_source()); IPv4 ones mapped
 *
 * Return: 0, or negative errno (@fd closed, the client reset)
 */
int tcp_inbound(struct usernat *un, int fd, const struct sockaddr_storage *peer,
		const struct fwd_target *t)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	int one = 1, zero = 0, ret = -ENOSPC;
	struct tcp_conn *c;
	uint16_t port;

	if (!un->tcp || tcp_inbound_charge(un, t))
		goto refuse;
	if (!(port = tcp_fwd_port(un, t->guest, t->guest_port, t->src,
				  peer)) ||
	    !(c = tcp_conn_new(un, t->guest, t->guest_port, t->src, port))) {
		if (t->v6)
			un_flow_release6(un, t->mac);
		else
			un_flow_release(un, tcp_v4(t->guest));
		goto refuse;
	}
	c->flags = TF_CHARGED | TF_INBOUND | TF_WND_DIRTY | TF_WS | TF_SACK |
		   (t->v6 ? TF_V6 : 0);
	c->created_ms = c->last_ms = tcp_now();
	UN_COUNT(un, tcp_opened);
	UN_COUNT(un, tcp_inbound);
	un->ctr[UN_CTR_tcp_active]++;
	memcpy(c->mac, t->mac, ETH_ALEN);
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (un->tcp->peek_off)
		setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
	if ((ret = tcp_epoll_events(un, c, true, true))) {
		tcp_conn_free(un, c, true);
		return ret;
	}
	c->state = TCP_ST_SYN_SENT;
	c->mss = (uint16_t)tcp_mss_max(un, t->v6);
	c->rto = TCP_RTO_INIT;
	c->snd_una = tcp_iss(un->tcp, c);
	c->sock_seq = c->peek_seq = c->snd_una + 1;
	c->recover = c->snd_una;
	c->flags |= TF_RTT;
	c->rtt_ts = (uint32_t)c->last_ms;
	tcp_send_syn(un, c);
	c->rto_at = c->last_ms + c->rto;
	tcp_timer_want(un, c, c->rto_at);
	return 0;
refuse:
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(fd);
	return ret;
}

/**
 * tcp_in_syn_sent() - A segment while our SYN to the guest waits for an
 * answer (RFC 9293 3.10.7.3)
 */
void tcp_in_syn_sent(struct usernat *un, struct tcp_conn *c,
		     const struct tcp_seg *s)
{
	struct tcp_syn_opts o;
	bool ack_ok = (s->flags & TCP_ACK) && s->ack == c->snd_una + 1;

	if ((s->flags & TCP_ACK) && !ack_ok) {
		UN_COUNT(un, tcp_drop_state);
		tcp_reply_rst_conn(un, c, s->th);	/* <SEQ=SEG.ACK> */
		return;
	}
	if (s->flags & TCP_RST) {
		if (ack_ok) {	/* nothing listens there: reset the client */
			UN_COUNT(un, tcp_inbound_refused);
			tcp_conn_free(un, c, true);
		}
		return;
	}
	if (!(s->flags & TCP_SYN) || !ack_ok) {
		UN_COUNT(un, tcp_drop_state);	/* simultaneous open: no */
		return;
	}
	tcp_syn_options(un, s->opts, &o);
	tcp_syn_apply(un, c, &o);
	c->state = TCP_ST_ESTABLISHED;
	UN_COUNT(un, tcp_established);
	c->rcv_nxt = c->rcv_acked = c->rcv_edge = s->seq + 1;
	c->snd_una = c->snd_nxt = s->ack;
	c->snd_wnd = s->wnd;		/* never scaled in a SYN */
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if ((c->flags & TF_RTT) && !c->retries)
		tcp_rto_update(c, (uint32_t)tcp_now() - c->rtt_ts);
	c->flags &= ~TF_RTT;
	c->retries = 0;
	c->rto_at = 0;
	c->cwnd = TCP_IW_SEGS * c->mss;
	c->ssthresh = UINT32_MAX / 2;
	tcp_send_ack(un, c, true);
	tcp_timer_update(un, c);
	tcp_soon(un, c, TF_SEND_DUE);	/* the client may have written */
}
