// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp_out.c - TCP NAT: segments toward guests, reading host sockets,
 * retransmission and timeouts
 *
 * Every segment is built in un->obuf behind the IPv4 header and emitted at
 * once (ip4_out_send()).  Host data is peeked straight into that buffer, so
 * a segment costs no copy on its way from the host socket to the guest
 * except a memmove for the 2nd..nth segment cut from one 64 KiB read.  See
 * the theory of operation in tcp.c for what is kept where.
 *
 * TSO: when the link takes GSO frames (usernat_set_offload(), vhost-user
 * with a guest that acked GUEST_TSO4/6), new data goes out as one frame of
 * up to 64 KiB, whatever the guest's window and the host socket give,
 * with gso_size the connection's MSS and a partial checksum (NEEDS_CSUM:
 * the pseudo-header sum in the field): the guest's stack takes it as one
 * segment and checks no checksum, which is most of its per-byte work under
 * emulation.  Nothing else changes: sequence space, windows, RTT samples
 * and retransmission (always by MSS-sized ordinary segments) are the same.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "checksum.h"
#include "tcp_internal.h"
#include "wire/ip4.h"
#include "wire/ip6.h"

/* Largest MSS we advertise to a guest: what fits its MTU, MTU - 40 for
 * IPv4, MTU - 60 for IPv6 */
static uint32_t tcp_our_mss(const struct usernat *un, const struct tcp_conn *c)
{
	return tcp_mss_max(un, tcp_is_v6(c));
}

/**
 * tcp_pseudo() - Pseudo-header sum of a segment between @saddr and @daddr
 * (16 bytes each, mapped for IPv4): RFC 9293 3.1, RFC 8200 8.1
 */
static uint32_t tcp_pseudo(const uint8_t *saddr, const uint8_t *daddr,
			   bool v6, size_t l4len)
{
	if (v6)
		return csum_pseudo6(saddr, daddr, IP6_NH_TCP, (uint32_t)l4len);
	return csum_pseudo4(tcp_v4(saddr), tcp_v4(daddr), IPPROTO_TCP4,
			    (uint16_t)l4len);
}

/**
 * tcp_ip_send() - Send the segment written at tcp_out_l4() to @mac,
 * in an IPv4 or IPv6 packet
 */
static void tcp_ip_send(struct usernat *un, const uint8_t *mac,
			const uint8_t *saddr, const uint8_t *daddr, bool v6,
			size_t l4len)
{
	if (v6)
		ip6_out_send(un, mac, saddr, daddr, IP6_NH_TCP, l4len);
	else
		ip4_out_send(un, mac, tcp_v4(saddr), tcp_v4(daddr),
			     IPPROTO_TCP4, l4len);
}

/**
 * tcp_rcv_space() - Recompute the free space of the host socket's send
 * buffer, in bytes of data: what the window we advertise may offer
 *
 * SO_MEMINFO gives the buffer size and the memory queued in it, skb
 * overhead included; new data is counted at twice its size, as small
 * segments cost about that.  One syscall, and only when the socket was
 * written since the last time (TF_WND_DIRTY).
 *
 * Below TCP_WND_MIN_SEGS segments of space we close the window (TF_RCV_FULL)
 * rather than let the guest send what might be refused, and re-poll the
 * socket: a socket that is short of space then notes it (SOCK_NOSPACE) and
 * reports EPOLLOUT when it has room again, which reopens the window
 * (tcp_window_reopened()).  After that wake-up the floor is offered even
 * if the estimate is lower, as the kernel says there is room.
 */
static void tcp_rcv_space(struct usernat *un, struct tcp_conn *c)
{
	uint32_t mi[SK_MEMINFO_VARS] = { 0 }, floor;
	socklen_t sl = sizeof(mi);
	int sndbuf = 0, outq = 0;

	c->flags &= ~TF_WND_DIRTY;
	floor = TCP_WND_MIN_SEGS * tcp_our_mss(un, c);
	if (!getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mi, &sl) &&
	    sl >= (SK_MEMINFO_WMEM_QUEUED + 1) * sizeof(uint32_t)) {
		c->rcv_space = mi[SK_MEMINFO_SNDBUF] > mi[SK_MEMINFO_WMEM_QUEUED] ?
			(mi[SK_MEMINFO_SNDBUF] - mi[SK_MEMINFO_WMEM_QUEUED]) / 2 : 0;
	} else {
		/* before Linux 4.18-ish: SO_SNDBUF and SIOCOUTQ */
		sl = sizeof(sndbuf);
		getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
		ioctl(c->fd, SIOCOUTQ, &outq);
		c->rcv_space = sndbuf / 2 > outq ? (uint32_t)(sndbuf / 2 - outq)
						 : 0;
	}
	if (c->rcv_space >= floor) {
		c->flags &= ~TF_WND_FLOOR;
		return;
	}
	if (c->flags & TF_WND_FLOOR) {
		c->rcv_space = floor;
		return;
	}
	c->flags |= TF_RCV_FULL;
	tcp_epoll_events(un, c, false, !(c->flags & TF_NO_EPOLLIN));
}

/**
 * tcp_wnd_field() - The window field for a segment to the guest
 * @update:	recompute from the host socket; false repeats the window last
 *		advertised (duplicate ACKs must not look like window updates)
 * @syn:	for a SYN-ACK: never scaled (RFC 7323 2.2)
 *
 * Updates the right edge we advertised, which we don't move left while the
 * socket takes data (RFC 9293 3.8.6.2.2: no shrinking); when it is full the
 * window is closed to zero until EPOLLOUT.
 */
static uint16_t tcp_wnd_field(struct usernat *un, struct tcp_conn *c,
			      bool update, bool syn)
{
	unsigned int shift = (!syn && (c->flags & TF_WS)) ? TCP_RCV_WS : 0;
	uint32_t wnd, max = 65535U << shift;

	if (update && (c->flags & TF_WND_DIRTY) && !(c->flags & TF_RCV_FULL))
		tcp_rcv_space(un, c);
	if (c->flags & TF_RCV_FULL) {
		wnd = 0;
	} else if (!update) {
		wnd = seq_gt(c->rcv_edge, c->rcv_nxt) ?
		      c->rcv_edge - c->rcv_nxt : 0;
	} else {
		wnd = c->rcv_space;
		if (seq_gt(c->rcv_edge, c->rcv_nxt + wnd))
			wnd = c->rcv_edge - c->rcv_nxt;
	}
	wnd = tcp_min(wnd, max) >> shift;
	c->rcv_edge = c->rcv_nxt + (wnd << shift);
	return (uint16_t)wnd;
}

/**
 * tcp_emit_off() - Fill in the TCP header at tcp_out_l4() and send the
 * segment
 * @seq:	sequence number
 * @flags:	TCP_* flags; with TCP_ACK the segment acknowledges RCV.NXT
 * @optlen:	option bytes already written after the fixed header
 * @dlen:	payload bytes already written after the options
 * @update:	see tcp_wnd_field()
 * @off:	NULL for an ordinary segment; else offload information for
 *		the frame (filled in here but for the GSO fields), and the
 *		checksum is left partial: NEEDS_CSUM
 */
static void tcp_emit_off(struct usernat *un, struct tcp_conn *c,
			 uint32_t seq, uint8_t flags, size_t optlen,
			 size_t dlen, bool update,
			 struct usernat_offload *off)
{
	struct tcp_hdr *th = (struct tcp_hdr *)tcp_out_l4(un, tcp_is_v6(c));
	size_t hlen = TCP_HLEN + optlen, l4len = hlen + dlen;

	th->source = c->dport;
	th->dest = c->gport;
	th->seq = htonl(seq);
	th->ack_seq = (flags & TCP_ACK) ? htonl(c->rcv_nxt) : 0;
	th->doff = (uint8_t)(hlen / 4 << 4);
	th->flags = flags;
	th->window = (flags & TCP_RST) ? 0 :
		     htons(tcp_wnd_field(un, c, update, flags & TCP_SYN));
	th->urg_ptr = 0;
	th->check = 0;
	if (off) {
		/* virtio 1.2 5.1.6.4: the receiver adds the sum from
		 * csum_start on to the pseudo-header sum stored here */
		th->check = (uint16_t)~csum_fold(tcp_pseudo(
			c->daddr, c->gaddr, tcp_is_v6(c), l4len));
		off->flags = USERNAT_OFFLOAD_F_NEEDS_CSUM;
		off->csum_start = (uint16_t)((uint8_t *)th - un->obuf);
		off->csum_offset = offsetof(struct tcp_hdr, check);
		off->hdr_len = (uint16_t)(off->csum_start + hlen);
	} else {
		th->check = csum(th, l4len, tcp_pseudo(c->daddr, c->gaddr,
						       tcp_is_v6(c), l4len));
	}
	if (flags & TCP_ACK) {
		c->rcv_acked = c->rcv_nxt;
		c->flags &= ~(TF_ACK_DUE | TF_DELACK);
	}
	if (!off)
		tcp_ip_send(un, c->mac, c->daddr, c->gaddr, tcp_is_v6(c),
			    l4len);
	else if (tcp_is_v6(c))
		ip6_out_send_off(un, c->mac, c->daddr, c->gaddr, IP6_NH_TCP,
				 l4len, off);
	else
		ip4_out_send_off(un, c->mac, tcp_v4(c->daddr),
				 tcp_v4(c->gaddr), IPPROTO_TCP4, l4len, off);
}

/** tcp_emit() - tcp_emit_off() of an ordinary segment */
static void tcp_emit(struct usernat *un, struct tcp_conn *c, uint32_t seq,
		     uint8_t flags, size_t optlen, size_t dlen, bool update)
{
	tcp_emit_off(un, c, seq, flags, optlen, dlen, update, NULL);
}

/**
 * tcp_send_tso() - Send the @n bytes at the payload area of un->obuf (more
 * than an MSS) from SND.NXT as one GSO frame: the guest's NIC driver takes
 * it as the MSS-sized segments it stands for
 */
static void tcp_send_tso(struct usernat *un, struct tcp_conn *c, size_t n)
{
	struct usernat_offload off = {
		.gso_type = tcp_is_v6(c) ? USERNAT_GSO_TCPV6 :
					   USERNAT_GSO_TCPV4,
		.gso_size = c->mss,
	};

	tcp_emit_off(un, c, c->snd_nxt, TCP_ACK | TCP_PSH, 0, n, true, &off);
	c->snd_nxt += (uint32_t)n;
}

/**
 * tcp_send_ack() - Send a pure ACK now
 * @update:	recompute the window (false for duplicate/challenge ACKs)
 *
 * The sequence number is SND.MAX: a zero-length segment must not be below
 * the guest's RCV.NXT, which may be anywhere up to SND.MAX after a
 * retransmission timeout rewound SND.NXT (RFC 9293 3.10.7.4).
 */
void tcp_send_ack(struct usernat *un, struct tcp_conn *c, bool update)
{
	size_t optlen = tcp_ooo_sack(un, c,
				     tcp_out_l4(un, tcp_is_v6(c)) + TCP_HLEN);

	tcp_emit(un, c, c->snd_max, TCP_ACK, optlen, 0, update);
}

/**
 * tcp_send_syn() - Send (or resend) our SYN-ACK (answering the guest's SYN)
 * or SYN (a port forward opening a connection to the guest), with MSS and,
 * when the guest offered them or we offer them, window scale and
 * SACK-permitted options (RFC 9293 3.7.1, RFC 7323 2.2, RFC 2018 2)
 */
void tcp_send_syn(struct usernat *un, struct tcp_conn *c)
{
	uint8_t *o = tcp_out_l4(un, tcp_is_v6(c)) + TCP_HLEN;
	uint32_t mss = tcp_our_mss(un, c);
	size_t optlen = TCPOLEN_MSS;

	o[0] = TCPOPT_MSS;
	o[1] = TCPOLEN_MSS;
	o[2] = (uint8_t)(mss >> 8);
	o[3] = (uint8_t)mss;
	if (c->flags & TF_WS) {
		o[optlen++] = TCPOPT_NOP;
		o[optlen++] = TCPOPT_WSCALE;
		o[optlen++] = TCPOLEN_WSCALE;
		o[optlen++] = TCP_RCV_WS;
	}
	if (c->flags & TF_SACK) {
		o[optlen++] = TCPOPT_NOP;
		o[optlen++] = TCPOPT_NOP;
		o[optlen++] = TCPOPT_SACK_OK;
		o[optlen++] = TCPOLEN_SACK_OK;
	}
	tcp_emit(un, c, c->snd_una, c->state == TCP_ST_SYN_SENT ? TCP_SYN
			: TCP_SYN | TCP_ACK, optlen, 0, true);
	c->snd_nxt = c->snd_una + 1;
	c->snd_max = c->snd_nxt;
}

/**
 * tcp_send_rst() - Reset the guest's side of @c
 *
 * Before the handshake the guest is in SYN-SENT and accepts an RST that
 * acknowledges its SYN (RFC 9293 3.10.7.3); after it, the RST carries
 * SND.MAX: at or above the guest's RCV.NXT, so it is either accepted or
 * answered with a challenge ACK, which finds no connection and gets an
 * exact RST (RFC 5961 3.2).
 */
void tcp_send_rst(struct usernat *un, struct tcp_conn *c)
{
	UN_COUNT(un, tcp_rst_to_guest);
	if (c->state == TCP_ST_CONNECTING)
		tcp_emit(un, c, 0, TCP_RST | TCP_ACK, 0, 0, false);
	else
		tcp_emit(un, c, c->snd_max, TCP_RST | TCP_ACK, 0, 0, false);
}

/**
 * tcp_reply_rst() - Answer a segment that has no connection with an RST
 * @th:		the guest's TCP header (in the guest's frame, not un->obuf)
 * @dlen:	its payload length
 *
 * RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.  Never for an RST.
 */
void tcp_reply_rst(struct usernat *un, const struct tcp_pkt *p,
		   const struct tcp_hdr *th, size_t dlen)
{
	struct tcp_hdr *o = (struct tcp_hdr *)tcp_out_l4(un, p->v6);
	uint32_t seglen = (uint32_t)dlen + !!(th->flags & TCP_SYN) +
			  !!(th->flags & TCP_FIN);
	uint8_t mac[ETH_ALEN];

	if (th->flags & TCP_RST)
		return;
	memcpy(mac, p->mac, ETH_ALEN);
	memset(o, 0, TCP_HLEN);
	o->source = th->dest;
	o->dest = th->source;
	if (th->flags & TCP_ACK) {
		o->seq = th->ack_seq;
		o->flags = TCP_RST;
	} else {
		o->ack_seq = htonl(ntohl(th->seq) + seglen);
		o->flags = TCP_RST | TCP_ACK;
	}
	o->doff = TCP_HLEN / 4 << 4;
	o->check = csum(o, TCP_HLEN, tcp_pseudo(p->daddr, p->saddr, p->v6,
						TCP_HLEN));
	tcp_ip_send(un, mac, p->daddr, p->saddr, p->v6, TCP_HLEN);
}

/**
 * tcp_reply_rst_conn() - tcp_reply_rst() to a segment of @c's 4-tuple
 * that doesn't fit its state (<SEQ=SEG.ACK><CTL=RST>)
 */
void tcp_reply_rst_conn(struct usernat *un, const struct tcp_conn *c,
			const struct tcp_hdr *th)
{
	struct tcp_pkt p = { .mac = c->mac, .v6 = tcp_is_v6(c) };

	memcpy(p.saddr, c->gaddr, 16);
	memcpy(p.daddr, c->daddr, 16);
	tcp_reply_rst(un, &p, th, 0);
}

/**
 * tcp_reset() - RST to the guest, then close the host side and free @c
 * @abortive:	reset the host connection too (else a normal close)
 */
void tcp_reset(struct usernat *un, struct tcp_conn *c, bool abortive)
{
	tcp_send_rst(un, c);
	tcp_conn_free(un, c, abortive);
}

/**
 * tcp_scratch() - The module's 64 KiB discard buffer, allocated on first use
 * Return: buffer, or NULL if out of memory
 */
static uint8_t *tcp_scratch(struct un_tcp *t)
{
	if (!t->scratch)
		t->scratch = g_try_malloc(TCP_SCRATCH);
	return t->scratch;
}

/**
 * tcp_consume() - Discard from the host socket what the guest has ACKed
 *
 * recv(MSG_TRUNC) drops bytes without copying them (falls back to reading
 * into the scratch buffer where unsupported).  The kernel's peek offset
 * moves back by as much, down to zero, as peek_seq = max(peek_seq,
 * sock_seq) does.  Return: 0, or negative errno from the socket
 */
int tcp_consume(struct usernat *un, struct tcp_conn *c)
{
	struct un_tcp *t = un->tcp;
	uint32_t upto = c->snd_una, n;

	if ((c->flags & TF_HOST_EOF) && seq_gt(upto, c->fin_seq))
		upto = c->fin_seq;
	if (!seq_gt(upto, c->sock_seq))
		return 0;
	n = upto - c->sock_seq;
	while (n) {
		uint8_t *buf = NULL;
		ssize_t r;

		if (!t->trunc && !(buf = tcp_scratch(t)))
			return -ENOMEM;
		r = recv(c->fd, buf, t->trunc ? n : tcp_min(n, TCP_SCRATCH),
			 MSG_DONTWAIT | (t->trunc ? MSG_TRUNC : 0));
		if (r < 0 && t->trunc && (errno == EFAULT || errno == EINVAL)) {
			t->trunc = false;	/* kernel without MSG_TRUNC */
			continue;
		}
		if (r < 0)
			return -errno;
		if (!r)
			return -EIO;	/* ACKed bytes we never had */
		c->sock_seq += (uint32_t)r;
		n -= (uint32_t)r;
	}
	if (seq_lt(c->peek_seq, c->sock_seq))
		c->peek_seq = c->sock_seq;
	return 0;
}

/**
 * tcp_peek_skip() - tcp_peek_at() without SO_PEEK_OFF: peek from the head
 * of the queue, the @skip bytes before what we want going to the scratch
 * buffer (several iovecs on the same 64 KiB, so up to 4 MiB)
 */
static ssize_t tcp_peek_skip(struct usernat *un, struct tcp_conn *c,
			     uint32_t skip, uint8_t *buf, size_t len)
{
	uint8_t *scratch = tcp_scratch(un->tcp);
	struct iovec iov[64];
	struct msghdr mh = { .msg_iov = iov };
	uint32_t left = skip;
	ssize_t r;

	if (!scratch)
		return -ENOMEM;
	while (left) {
		size_t n = tcp_min(left, TCP_SCRATCH);

		if (mh.msg_iovlen >= G_N_ELEMENTS(iov) - 1)
			return -ENOBUFS;	/* > 4 MiB in flight */
		iov[mh.msg_iovlen].iov_base = scratch;
		iov[mh.msg_iovlen++].iov_len = n;
		left -= (uint32_t)n;
	}
	iov[mh.msg_iovlen].iov_base = buf;
	iov[mh.msg_iovlen++].iov_len = len;
	r = recvmsg(c->fd, &mh, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)r <= skip)	/* nothing new: EOF or not yet */
		return (c->flags & TF_HOST_RDHUP) ? 0 : -EAGAIN;
	return r - (ssize_t)skip;
}

/**
 * tcp_peek_at() - Read host data starting at sequence @seq, leaving it queued
 * @buf, @len:	where to, how much at most
 *
 * With SO_PEEK_OFF the kernel keeps the offset (we move it only when @seq
 * isn't where the last peek ended); without, see tcp_peek_skip().
 *
 * Return: bytes read, 0 at EOF (all data read and the host sent FIN),
 * -EAGAIN if no data past @seq yet, other negative errno on failure
 */
static ssize_t tcp_peek_at(struct usernat *un, struct tcp_conn *c,
			   uint32_t seq, uint8_t *buf, size_t len)
{
	ssize_t r;

	if (!un->tcp->peek_off)
		return tcp_peek_skip(un, c, seq - c->sock_seq, buf, len);
	if (c->peek_seq != seq) {
		int off = (int)(seq - c->sock_seq);

		if (setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &off,
			       sizeof(off)))
			return -errno;
		c->peek_seq = seq;
	}
	r = recv(c->fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	c->peek_seq = seq + (uint32_t)r;
	return r;
}

/**
 * tcp_loss_timer() - (Re)start the timer for data in flight
 * @restart:	an ACK moved SND.UNA (RFC 6298 5.3); else a running RTO is
 *		left alone (RFC 6298 5.1)
 *
 * While a tail loss probe may be sent (RFC 8985 7.2: established, not in
 * recovery, none sent since the last ACK that moved), the timer is the
 * probe timeout, 2 SRTT but at least TCP_PTO_MIN, plus a delayed ACK's
 * worth with one segment in flight; every send restarts it.  Otherwise it
 * is the RTO.
 */
void tcp_loss_timer(struct usernat *un, struct tcp_conn *c, bool restart)
{
	uint32_t flight = c->snd_max - c->snd_una, pto;
	int64_t now = tcp_now();

	if (!flight || (c->flags & TF_PERSIST)) {
		if (!(c->flags & TF_PERSIST))
			c->rto_at = 0;
		c->flags &= ~TF_PTO;
		return;
	}
	if (c->state == TCP_ST_ESTABLISHED &&
	    !(c->flags & (TF_RECOVERY | TF_TLP_DONE))) {
		pto = tcp_max(2 * c->srtt, TCP_PTO_MIN);
		if (flight <= c->mss)
			pto += TCP_DELACK_MAX;
		c->rto_at = now + tcp_min(pto, c->rto);
		c->flags |= TF_PTO;
	} else if (restart || !c->rto_at || (c->flags & TF_PTO)) {
		c->rto_at = now + c->rto;
		c->flags &= ~TF_PTO;
	}
	tcp_timer_want(un, c, c->rto_at);
}

/**
 * tcp_send_data() - Cut @n bytes at @buf (the payload area of un->obuf)
 * into segments and send them from SND.NXT on
 */
static void tcp_send_data(struct usernat *un, struct tcp_conn *c,
			  uint8_t *buf, size_t n)
{
	size_t off = 0, len;

	if (!(c->flags & TF_RTT) && seq_ge(c->snd_nxt, c->snd_max)) {
		/* time new data only, never a retransmission (Karn) */
		c->flags |= TF_RTT;
		c->rtt_seq = c->snd_nxt + (uint32_t)tcp_min(c->mss, n);
		c->rtt_ts = (uint32_t)tcp_now();
	}
	if (n > c->mss && un_tso_ok(un, tcp_is_v6(c))) {
		tcp_send_tso(un, c, n);
		off = n;	/* all sent */
	}
	for (; off < n; off += len) {
		len = tcp_min(c->mss, n - off);
		if (off)
			memmove(buf, buf + off, len);
		tcp_emit(un, c, c->snd_nxt,
			 TCP_ACK | (off + len == n ? TCP_PSH : 0), 0, len, true);
		c->snd_nxt += (uint32_t)len;
	}
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	c->last_ms = tcp_now();
	tcp_loss_timer(un, c, false);
}

/**
 * tcp_send_fin() - Send our FIN (the host's EOF) at fin_seq
 */
static void tcp_send_fin(struct usernat *un, struct tcp_conn *c)
{
	tcp_emit(un, c, c->fin_seq, TCP_FIN | TCP_ACK, 0, 0, true);
	c->snd_nxt = c->fin_seq + 1;
	if (seq_gt(c->snd_nxt, c->snd_max)) {
		c->snd_max = c->snd_nxt;
		tcp_timer_update(un, c);	/* shorter idle limit now */
	}
	tcp_loss_timer(un, c, false);
}

/**
 * tcp_window_blocked() - Nothing may be sent: the guest's window is full
 *
 * With a zero window and nothing in flight, the RTO won't run, so probe
 * the window (RFC 9293 3.8.6.1) and stop polling the socket for input.
 */
static void tcp_window_blocked(struct usernat *un, struct tcp_conn *c)
{
	if (c->snd_wnd || c->snd_una != c->snd_max)
		return;
	if (!(c->flags & TF_NO_EPOLLIN))
		tcp_epoll_events(un, c, false, false);
	if (!(c->flags & TF_PERSIST)) {
		c->flags |= TF_PERSIST;
		c->flags &= ~TF_PTO;
		c->rto_at = tcp_now() + c->rto;
		tcp_timer_want(un, c, c->rto_at);
	}
}

/**
 * tcp_send_room() - How many new bytes may go out now: the guest's window
 * and the congestion window (plus a segment for each of two duplicate
 * ACKs: Limited Transmit, RFC 3042), minus what is in flight, not past our
 * FIN's place, and at most what fits un->obuf in whole segments
 */
static uint32_t tcp_send_room(const struct tcp_conn *c)
{
	uint32_t flight = c->snd_nxt - c->snd_una, wnd, room;
	uint32_t lt = (c->flags & TF_RECOVERY) ? 0 :
		      tcp_min(c->dupacks, 2) * (uint32_t)c->mss;

	wnd = tcp_min(c->snd_wnd, c->cwnd + lt);
	room = wnd > flight ? wnd - flight : 0;
	if (c->flags & TF_HOST_EOF)
		room = tcp_min(room, c->fin_seq - c->snd_nxt);
	return tcp_min(room, (tcp_is_v6(c) ? TCP_OBUF_DATA6 : TCP_OBUF_DATA) /
			     c->mss * c->mss);
}

/**
 * tcp_data_to_guest() - Send what the host socket has and the windows allow
 *
 * Discards ACKed bytes first, then peeks at most 64 KiB at a time (a
 * multiple of the MSS) into un->obuf and sends it as segments; our FIN
 * follows the host's EOF.  Stops when the socket has no more, the guest's
 * (or congestion) window is full, or after TCP_SEND_ROUNDS reads, when the
 * rest is deferred so other connections get their turn.
 *
 * Return: 0, or negative errno if the host socket failed (the caller
 * resets the connection)
 */
int tcp_data_to_guest(struct usernat *un, struct tcp_conn *c)
{
	uint8_t *buf = tcp_out_l4(un, tcp_is_v6(c)) + TCP_HLEN;
	int rounds, r;

	if (c->state != TCP_ST_ESTABLISHED)
		return 0;
	if ((r = tcp_consume(un, c)))
		return r;
	for (rounds = 0; rounds < TCP_SEND_ROUNDS; rounds++) {
		uint32_t room;
		ssize_t n;

		if ((c->flags & TF_HOST_EOF) &&
		    !seq_lt(c->snd_nxt, c->fin_seq)) {
			if (c->snd_nxt == c->fin_seq)
				tcp_send_fin(un, c);
			return 0;	/* else the FIN is out already */
		}
		if (!(room = tcp_send_room(c))) {
			tcp_window_blocked(un, c);
			return 0;
		}
		/* all read, nothing resent, no EPOLLIN since: the socket has
		 * nothing new, save the peek (a guest ACK lands here) */
		if ((c->flags & TF_EMPTY) && c->snd_nxt == c->snd_max)
			return 0;
		n = tcp_peek_at(un, c, c->snd_nxt, buf, room);
		if (n == -EAGAIN) {
			tcp_mark_drained(un, c);
			return 0;
		}
		if (n < 0)
			return (int)n;
		if (!n) {
			c->flags |= TF_HOST_EOF;
			c->fin_seq = c->snd_nxt;
			continue;
		}
		tcp_send_data(un, c, buf, (size_t)n);
		if ((uint32_t)n < room && !(c->flags & TF_HOST_RDHUP)) {
			tcp_mark_drained(un, c);
			return 0;	/* drained: wait for the next edge */
		}
	}
	tcp_soon(un, c, TF_SEND_DUE);
	return 0;
}

/**
 * tcp_retransmit_at() - Resend up to @len bytes (at most an MSS) from @seq
 *
 * For fast retransmit (RFC 5681 3.2), NewReno partial ACKs (RFC 6582) and
 * the holes SACK blocks show (RFC 6675).  @seq at our FIN resends the FIN.
 * Return: bytes resent, or negative errno from the host socket
 */
int tcp_retransmit_at(struct usernat *un, struct tcp_conn *c, uint32_t seq,
		      uint32_t len)
{
	uint8_t *buf = tcp_out_l4(un, tcp_is_v6(c)) + TCP_HLEN;
	ssize_t n;
	int r;

	if ((r = tcp_consume(un, c)))
		return r;
	if (seq_lt(seq, c->snd_una))
		return 0;
	len = tcp_min(len, tcp_min(c->mss, c->snd_max - seq));
	if (c->flags & TF_HOST_EOF) {
		if (seq == c->fin_seq) {
			tcp_emit(un, c, c->fin_seq, TCP_FIN | TCP_ACK, 0, 0,
				 true);
			return 0;
		}
		if (seq_gt(seq, c->fin_seq))
			return 0;
		len = tcp_min(len, c->fin_seq - seq);
	}
	if (!len)
		return 0;
	n = tcp_peek_at(un, c, seq, buf, len);
	if (n == -EAGAIN || !n)
		return 0;
	if (n < 0)
		return (int)n;
	tcp_emit(un, c, seq, TCP_ACK | TCP_PSH, 0, (size_t)n, true);
	c->flags &= ~TF_RTT;	/* Karn: no RTT sample across a resend */
	return (int)n;
}

/**
 * tcp_ssthresh() - Slow start threshold after a loss with @flight bytes
 * outstanding: 0.7 of it as CUBIC does (RFC 9438 4.6; RFC 5681 halves),
 * at least TCP_MIN_CWND_SEGS, so the guest always has two full segments to
 * ACK at once rather than one to delay its ACK for
 */
uint32_t tcp_ssthresh(const struct tcp_conn *c, uint32_t flight)
{
	return tcp_max((uint32_t)((uint64_t)flight * 7 / 10),
		       TCP_MIN_CWND_SEGS * (uint32_t)c->mss);
}

/**
 * tcp_rto_reset() - RTO from the current estimates, without the backoff
 */
void tcp_rto_reset(struct tcp_conn *c)
{
	if (!(c->flags & TF_SRTT)) {
		c->rto = TCP_RTO_INIT;
		return;
	}
	c->rto = c->srtt + tcp_max(1, 4 * c->rttvar);
	c->rto = tcp_min(tcp_max(c->rto, TCP_RTO_MIN), TCP_RTO_MAX);
}

/**
 * tcp_rto_update() - Take an RTT measurement of @rtt ms (RFC 6298 2.2-2.4)
 */
void tcp_rto_update(struct tcp_conn *c, uint32_t rtt)
{
	if (!(c->flags & TF_SRTT)) {
		c->srtt = rtt;
		c->rttvar = rtt / 2;
		c->flags |= TF_SRTT;
	} else {
		uint32_t delta = c->srtt > rtt ? c->srtt - rtt : rtt - c->srtt;

		c->rttvar = (3 * c->rttvar + delta) / 4;
		c->srtt = (7 * c->srtt + rtt) / 8;
	}
	tcp_rto_reset(c);
}

/**
 * tcp_window_reopened() - The host socket has room again (EPOLLOUT after it
 * refused data): tell the guest with a window update
 *
 * If the guest still holds data we refused, follow with three duplicate
 * ACKs so it retransmits now instead of after its RTO.
 */
void tcp_window_reopened(struct usernat *un, struct tcp_conn *c)
{
	int i;

	c->flags &= ~TF_RCV_FULL;
	c->flags |= TF_WND_DIRTY | TF_WND_FLOOR;
	tcp_send_ack(un, c, true);
	if (!(c->flags & TF_REFUSED))
		return;
	c->flags &= ~TF_REFUSED;
	for (i = 0; i < 3; i++)
		tcp_send_ack(un, c, false);
}

/**
 * tcp_rto_expired() - Retransmission timeout of an established connection
 *
 * RFC 6298 5.4-5.7: back off, resend from SND.UNA (go-back-N: the peek
 * offset just moves back), collapse the congestion window (RFC 5681 3.1).
 * Gives up with RSTs both ways after TCP_MAX_RETRIES timeouts or
 * TCP_GIVE_UP_MS without progress.  Return: true if @c was freed
 */
static bool tcp_rto_expired(struct usernat *un, struct tcp_conn *c,
			    int64_t now)
{
	uint32_t flight = c->snd_max - c->snd_una;

	c->rto_at = 0;
	if (!flight)
		return false;
	if (!c->retries)
		c->rtx_start = (uint32_t)now;
	if (++c->retries > TCP_MAX_RETRIES ||
	    (uint32_t)now - c->rtx_start > TCP_GIVE_UP_MS) {
		UN_COUNT(un, tcp_gave_up);
		tcp_reset(un, c, true);
		return true;
	}
	UN_COUNT(un, tcp_retransmit);
	c->ssthresh = tcp_ssthresh(c, flight);
	c->cwnd = c->mss;
	c->flags &= ~(TF_RECOVERY | TF_RTT);
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->nsacked = 0;		/* RFC 6675 5.1: start over */
	c->snd_nxt = c->snd_una;
	c->rto = tcp_min(c->rto * 2, TCP_RTO_MAX);
	c->flags |= TF_TLP_DONE;
	c->rto_at = now + c->rto;
	tcp_timer_want(un, c, c->rto_at);
	if (tcp_data_to_guest(un, c) < 0) {
		tcp_reset(un, c, false);
		return true;
	}
	return false;
}

/**
 * tcp_probe_window() - Zero-window probe: a segment below the guest's
 * window, which it must answer with an ACK showing its window
 * (RFC 9293 3.8.6.1, as Linux's tcp_xmit_probe_skb()).
 * Return: true if @c was freed (the guest stopped answering)
 */
static bool tcp_probe_window(struct usernat *un, struct tcp_conn *c)
{
	c->rto_at = 0;
	if (c->snd_wnd) {
		c->flags &= ~TF_PERSIST;
		tcp_soon(un, c, TF_SEND_DUE);
		return false;
	}
	if (++c->retries > TCP_MAX_RETRIES) {
		UN_COUNT(un, tcp_gave_up);
		tcp_reset(un, c, true);
		return true;
	}
	UN_COUNT(un, tcp_window_probe);
	tcp_emit(un, c, c->snd_una - 1, TCP_ACK, 0, 0, true);
	c->rto = tcp_min(c->rto * 2, TCP_RTO_MAX);
	c->rto_at = tcp_now() + c->rto;
	tcp_timer_want(un, c, c->rto_at);
	return false;
}

/**
 * tcp_tail_probe() - The probe timeout fired with data in flight and no
 * ACK: resend the last segment (RFC 8985 7.3), which the guest answers at
 * once, with SACK or a duplicate ACK if something before it was lost; then
 * the RTO runs.  Return: true if @c was freed
 */
static bool tcp_tail_probe(struct usernat *un, struct tcp_conn *c,
			   int64_t now)
{
	uint32_t len = tcp_min(c->mss, c->snd_max - c->snd_una);
	uint32_t seq = c->snd_max - len;

	c->flags &= ~TF_PTO;
	c->flags |= TF_TLP_DONE;
	if ((c->flags & TF_HOST_EOF) && c->snd_max == c->fin_seq + 1)
		seq = c->fin_seq;		/* the FIN is last */
	UN_COUNT(un, tcp_tail_probe);
	if (tcp_retransmit_at(un, c, seq, len) < 0) {
		tcp_reset(un, c, false);
		return true;
	}
	c->rto_at = now + c->rto;
	return false;
}

/**
 * tcp_timeout() - @c's timer fired (it is out of the heap): handle what is
 * due, then re-arm for the next deadline
 */
void tcp_timeout(struct usernat *un, struct tcp_conn *c, int64_t now)
{
	if ((c->flags & TF_DELACK) && tcp_delack_deadline(c) <= now)
		tcp_send_ack(un, c, true);	/* no data came to carry it */
	if (c->rto_at && c->rto_at <= now) {
		switch (c->state) {
		case TCP_ST_CONNECTING:
			UN_COUNT(un, tcp_connect_timeout);
			tcp_conn_free(un, c, true);
			return;
		case TCP_ST_SYN_RCVD:
			if (++c->retries > TCP_SYN_RETRIES) {
				UN_COUNT(un, tcp_gave_up);
				tcp_conn_free(un, c, true);
				return;
			}
			c->flags &= ~TF_RTT;
			tcp_send_syn(un, c);
			c->rto = tcp_min(c->rto * 2, TCP_RTO_MAX);
			c->rto_at = now + c->rto;
			break;
		default:
			if ((c->flags & TF_PERSIST) ? tcp_probe_window(un, c) :
			    (c->flags & TF_PTO) ? tcp_tail_probe(un, c, now) :
			    tcp_rto_expired(un, c, now))
				return;
			break;
		}
	}
	if (tcp_idle_due(un, c, now)) {
		UN_COUNT(un, tcp_idle_timeout);
		tcp_reset(un, c, true);
		return;
	}
	tcp_timer_update(un, c);
}
