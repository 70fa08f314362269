/* SPDX-License-Identifier: GPL-2.0-or-later
 * tcp_internal.h - TCP NAT: connection table and state shared by tcp.c
 * (table, timers, host events), tcp_in.c (segments from guests) and
 * tcp_out.c (segments toward guests)
 *
 * See the theory of operation at the top of tcp.c.
 */
#ifndef UN_TCP_INTERNAL_H
#define UN_TCP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <string.h>

#include "stack.h"
#include "wire/ip4.h"
#include "wire/ip6.h"
#include "wire/tcp.h"

/* Tunables; times in milliseconds */
#define TCP_CONNECT_TIMEOUT	75000	/* give up a host connect() */
#define TCP_RTO_INIT		1000	/* RFC 6298 2.1 */
#define TCP_RTO_MIN		200	/* as Linux; RFC 6298 2.4 says 1 s */
#define TCP_RTO_MAX		60000	/* RFC 6298 2.5 */
#define TCP_PTO_MIN		10	/* tail loss probe, at least (RFC 8985) */
#define TCP_DELACK_MAX		200	/* a guest's delayed ACK, at most */
#define TCP_DELACK		2	/* ours, for less than 2 MSS of data */
#define TCP_MAX_RETRIES		15	/* consecutive timeouts, then reset */
#define TCP_GIVE_UP_MS		120000	/* ... or this long without progress */
#define TCP_SYN_RETRIES		5	/* SYN-ACKs to a silent guest */
#define TCP_HALF_CLOSED_IDLE	300000	/* idle limit once one side sent FIN */
#define TCP_CLOSING_IDLE	60000	/* ... once both did */
#define TCP_IW_SEGS		10	/* initial window, RFC 6928 */
#define TCP_MIN_CWND_SEGS	4	/* after a loss (not a timeout) */
#define TCP_RCV_WS		7	/* our window scale, RFC 7323 2.2 */
#define TCP_MIN_MSS		128	/* floor for a guest's MSS option */
#define TCP_ACK_SEGS		16	/* ACK at once after this many MSS */
#define TCP_WND_MIN_SEGS	4	/* window floor while the socket takes data */
#define TCP_SEND_ROUNDS		16	/* socket reads per wake-up, then yield */
#define TCP_CHALLENGE_LIMIT	1000	/* challenge ACKs a second, as Linux */
#define TCP_CHUNK_SHIFT		8	/* connections per pool chunk: 256 */
#define TCP_CHUNK		(1U << TCP_CHUNK_SHIFT)
#define TCP_SLOT_BITS		24	/* slot | generation << 24 in un_ref */
#define TCP_SLOT_MASK		((1U << TCP_SLOT_BITS) - 1)

/* Payload room in un->obuf after Ethernet, IPv4 and TCP headers, within the
 * 65535-byte IPv4 total length; after an IPv6 header, what is left of
 * un->obuf (ETH_HLEN + 65536 bytes) */
#define TCP_OBUF_DATA		(65535 - IP4_HLEN - TCP_HLEN)
#define TCP_OBUF_DATA6		(65536 - IP6_HLEN - TCP_HLEN)

enum tcp_state {
	TCP_ST_FREE = 0,	/* slot on the free list */
	TCP_ST_CONNECTING,	/* guest's SYN seen; host connect() pending */
	TCP_ST_SYN_RCVD,	/* host connected; our SYN-ACK sent */
	TCP_ST_SYN_SENT,	/* port forward: our SYN sent to the guest */
	TCP_ST_ESTABLISHED,	/* handshake done; flags tell the halves */
	TCP_ST_DEAD,		/* closed, still on the deferred list */
};

/* Connection flags */
#define TF_GUEST_FIN	0x0001	/* guest's FIN taken; host socket SHUT_WR */
#define TF_HOST_EOF	0x0002	/* host EOF read; our FIN is at fin_seq */
#define TF_HOST_RDHUP	0x0004	/* host peer sent FIN: read on to the EOF */
#define TF_RCV_FULL	0x0008	/* host socket refused data: window 0 */
#define TF_REFUSED	0x0010	/* ... and the guest has data to resend */
#define TF_ACK_DUE	0x0020	/* send an ACK at the next flush */
#define TF_SEND_DUE	0x0040	/* read the host socket at the next flush */
#define TF_SOON		0x0080	/* on the deferred-work list */
#define TF_HALF_OPEN	0x0100	/* counted as a half-open connect */
#define TF_NO_EPOLLIN	0x0200	/* EPOLLIN off while the guest window is 0 */
#define TF_RECOVERY	0x0400	/* NewReno fast recovery, RFC 6582 */
#define TF_WND_DIRTY	0x0800	/* socket written since window computed */
#define TF_WS		0x1000	/* window scaling agreed, RFC 7323 */
#define TF_RTT		0x2000	/* RTT sample running (rtt_seq, rtt_ts) */
#define TF_PERSIST	0x4000	/* window probing: rto_at is the probe */
#define TF_CHARGED	0x8000	/* counted in un_flow_charge() */
#define TF_SRTT		0x10000	/* srtt/rttvar hold a measurement */
#define TF_WND_FLOOR	0x20000	/* EPOLLOUT said there's room: offer the floor */
#define TF_SACK		0x40000	/* SACK permitted (RFC 2018): we report ours */
#define TF_PTO		0x80000	/* rto_at is a tail loss probe (RFC 8985) */
#define TF_TLP_DONE	0x100000 /* probe sent: none until an ACK moves */
#define TF_INBOUND	0x200000 /* from a port forward (tcp_fwd.c) */
#define TF_CORKED	0x400000 /* guest data written with MSG_MORE */
#define TF_V6		0x800000 /* an IPv6 connection (addresses not mapped) */
#define TF_DRAINED	0x1000000 /* read all the socket had since this batch's
				   * epoll_wait() (tcp_mark_drained()) */
#define TF_DELACK	0x2000000 /* an ACK waits until delack_at for data
				   * to ride on (tcp_ack_due()) */
#define TF_EMPTY	0x4000000 /* the last peek found nothing past SND.NXT,
				   * and no EPOLLIN came since */

#define TCP_DRAINED_MAX	32	/* TF_DRAINED connections per batch */

/**
 * struct tcp_conn - One guest TCP connection and its host socket
 *
 * Sequence numbers on the guest side are ours (snd_*) and the guest's
 * (rcv_*), as in RFC 9293; addresses and ports in network order.
 * Addresses are 16 bytes for both families, an IPv4 one in its IPv4-mapped
 * form ::ffff:a.b.c.d (RFC 4291 2.5.5.2), as udp.c's keys: one table and
 * one hash for both; ip6.c never passes a mapped IPv6 destination, so the
 * families can't collide.  TF_V6 says which one a connection is.
 */
struct tcp_conn {
	/* flow key, as the guest sees it */
	uint8_t gaddr[16], daddr[16];	/* guest, destination */
	uint16_t gport, dport;
	int32_t hnext;			/* hash chain, -1: end */
	int32_t heap_pos;		/* timer heap index, -1: none */
	int32_t soon_next;		/* deferred-work list */
	int fd;				/* host socket, -1: none */
	uint8_t mac[ETH_ALEN];		/* the guest's Ethernet address */
	uint8_t state;			/* enum tcp_state */
	uint8_t gen;			/* slot generation, checked in refs */
	uint32_t slot;			/* own index in the pool */
	uint32_t flags;			/* TF_* */
	uint16_t mss;			/* largest segment toward the guest */
	uint8_t snd_ws;			/* guest's window shift */
	uint8_t retries;		/* consecutive timeouts */
	uint8_t dupacks;		/* duplicate ACKs in a row */
	uint16_t ooo_count;		/* nodes queued out of order */
	int32_t ooo_head;		/* first of them (tcp_ooo.c), -1: none */
	uint32_t sack_last;		/* the latest of them to arrive */
	uint32_t rtx_next;		/* recovery: resent up to here */
	uint32_t sacked[TCP_SACK_BLOCKS][2];	/* guest's SACKs, sorted */
	uint8_t nsacked;
	uint32_t delack_at;		/* TF_DELACK deadline, ms (low 32) */

	/* guest -> host */
	uint32_t rcv_nxt;		/* next byte expected from the guest */
	uint32_t rcv_acked;		/* rcv_nxt last acknowledged */
	uint32_t rcv_edge;		/* right window edge last advertised */
	uint32_t rcv_space;		/* host socket's free space, cached */
	uint32_t rcv_charged;		/* written since measured (tcp_in.c) */

	/* host -> guest */
	uint32_t snd_una;		/* oldest byte the guest hasn't ACKed */
	uint32_t snd_nxt;		/* next byte to send */
	uint32_t snd_max;		/* highest byte ever sent, + 1 */
	uint32_t sock_seq;		/* first byte still in the host socket */
	uint32_t peek_seq;		/* where the next MSG_PEEK reads */
	uint32_t fin_seq;		/* our FIN, if TF_HOST_EOF */
	uint32_t snd_wnd;		/* guest's window, bytes */
	uint32_t snd_wl1, snd_wl2;	/* segment that last set snd_wnd */
	uint32_t cwnd, ssthresh;	/* RFC 5681 */
	uint32_t recover;		/* RFC 6582 */
	uint32_t srtt, rttvar, rto;	/* RFC 6298, ms */
	uint32_t rtt_seq, rtt_ts;	/* RTT sample: end seq, send time */
	uint32_t rtx_start;		/* first timeout of a run, ms (low 32) */

	uint64_t bytes_in, bytes_out;	/* payload from / to the guest */
	int64_t created_ms;
	int64_t rto_at;			/* retransmit/probe/connect; 0: none */
	int64_t timer_at;		/* heap key (may be early: lazy) */
	int64_t last_ms;		/* last activity, for idle timeouts */
};

/**
 * struct un_tcp - TCP NAT state of one instance
 */
struct un_tcp {
	struct tcp_conn **chunk;	/* pool, TCP_CHUNK connections each */
	uint32_t nchunks;
	uint32_t cap;			/* slots allocated */
	uint32_t max;			/* slots allowed (max_flows) */
	int32_t free_head;		/* free slots, via hnext */
	uint32_t count;			/* connections in the table */
	int32_t *bucket;		/* hash buckets, -1: empty */
	uint32_t nbuckets;		/* power of two */
	int32_t *heap;			/* min-heap of slots by timer_at */
	uint32_t heap_len, heap_cap;
	int32_t soon_head;		/* deferred work, -1: none */
	int timerfd;
	int64_t armed_at;		/* timerfd deadline, INT64_MAX: off */
	uint32_t hash_key[4];		/* per-instance secrets */
	uint32_t iss_key[4];
	bool peek_off;			/* SO_PEEK_OFF works on TCP */
	bool trunc;			/* recv(MSG_TRUNC) discards */
	uint8_t *scratch;		/* 64 KiB, for fallbacks, lazily */
	uint8_t **ooo_chunk;		/* out-of-order pool (tcp_ooo.c) */
	uint32_t ooo_nchunks, ooo_cap, ooo_used, ooo_stride;
	int32_t ooo_free;
	int64_t last_fd_log;		/* rate limit of EMFILE logs */
	int64_t chack_sec;		/* challenge ACKs: this second, */
	uint32_t chack_count;		/* ... so many sent */
	uint32_t drained[TCP_DRAINED_MAX];	/* slots with TF_DRAINED */
	uint32_t ndrained;
};

#define TCP_SCRATCH	65536

/** tcp_map4() - Write IPv4 address @a4 (network order) as ::ffff:a4 */
static inline void tcp_map4(uint8_t *out, uint32_t a4)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
}

/** tcp_v4() - The IPv4 address of a mapped address; Return: network order */
static inline uint32_t tcp_v4(const uint8_t *a)
{
	uint32_t a4;

	memcpy(&a4, a + 12, 4);
	return a4;
}

/** tcp_is_v6() - Is @c an IPv6 connection? */
static inline bool tcp_is_v6(const struct tcp_conn *c)
{
	return c->flags & TF_V6;
}

/** tcp_mss_max() - Largest segment an MTU-sized packet of the family holds */
static inline uint32_t tcp_mss_max(const struct usernat *un, bool v6)
{
	return un->cfg.mtu - (v6 ? IP6_HLEN : IP4_HLEN) - TCP_HLEN;
}

/** tcp_out_l4() - Where the TCP header of a segment toward a guest goes */
static inline uint8_t *tcp_out_l4(struct usernat *un, bool v6)
{
	return v6 ? ip6_out_l4(un) : ip4_out_l4(un);
}

/* Sequence arithmetic, RFC 9293 3.4 */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

#define seq_gt(a, b)	seq_lt(b, a)
#define seq_ge(a, b)	seq_le(b, a)

static inline uint32_t tcp_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline uint32_t tcp_max(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* A segment from a guest, validated and in host order */
struct tcp_seg {
	const struct tcp_hdr *th;	/* in the guest's frame */
	uint32_t seq, ack;
	uint32_t wnd;			/* window field, unscaled */
	uint8_t flags;
	struct pkt opts;		/* option area */
	struct pkt data;		/* payload */
};

/* A guest packet's addresses, either family; IPv4 ones mapped as in
 * struct tcp_conn */
struct tcp_pkt {
	const uint8_t *mac;		/* the guest's Ethernet address */
	uint8_t saddr[16], daddr[16];	/* guest, destination */
	bool v6;
	bool local;			/* IPv6: daddr is one of ours */
	struct pkt l4;			/* the segment */
};

/* What a SYN's options say (RFC 9293 3.7.1, RFC 7323 2, RFC 2018 2) */
struct tcp_syn_opts {
	uint16_t mss;
	int ws;				/* shift, -1 if not offered */
	bool sack;			/* SACK permitted */
};

/* tcp.c: table, lifetime, timers, deferred work */
struct tcp_conn *tcp_conn_at(const struct un_tcp *t, uint32_t slot);
struct tcp_conn *tcp_lookup_addr(const struct un_tcp *t,
				 const uint8_t *gaddr, uint16_t gport,
				 const uint8_t *daddr, uint16_t dport);
struct tcp_conn *tcp_conn_new(struct usernat *un, const uint8_t *gaddr,
			      uint16_t gport, const uint8_t *daddr,
			      uint16_t dport);
void tcp_flow_release(struct usernat *un, const struct tcp_conn *c);

/** tcp_lookup() - tcp_lookup_addr() for an IPv4 4-tuple (network order) */
static inline struct tcp_conn *tcp_lookup(const struct un_tcp *t,
					  uint32_t gaddr, uint16_t gport,
					  uint32_t daddr, uint16_t dport)
{
	uint8_t g[16], d[16];

	tcp_map4(g, gaddr);
	tcp_map4(d, daddr);
	return tcp_lookup_addr(t, g, gport, d, dport);
}
void tcp_half_open_release(struct usernat *un, struct tcp_conn *c);
void tcp_conn_free(struct usernat *un, struct tcp_conn *c, bool abortive);
void tcp_timer_want(struct usernat *un, struct tcp_conn *c, int64_t at);
void tcp_timer_update(struct usernat *un, struct tcp_conn *c);
bool tcp_idle_due(const struct usernat *un, const struct tcp_conn *c,
		  int64_t now);
void tcp_soon(struct usernat *un, struct tcp_conn *c, uint32_t what);
void tcp_mark_drained(struct usernat *un, struct tcp_conn *c);
int tcp_epoll_events(struct usernat *un, struct tcp_conn *c, bool add,
		     bool in);
uint32_t tcp_iss(const struct un_tcp *t, const struct tcp_conn *c);
int64_t tcp_now(void);

/**
 * tcp_delack_deadline() - When @c's delayed ACK (TF_DELACK) is due, on the
 * tcp_now() clock (delack_at keeps its low 32 bits, within 2^31 ms of now)
 */
static inline int64_t tcp_delack_deadline(const struct tcp_conn *c)
{
	int64_t now = tcp_now();

	return now + (int32_t)(c->delack_at - (uint32_t)now);
}

/* tcp_in.c: segments from guests */
void tcp_syn_options(struct usernat *un, struct pkt opts,
		     struct tcp_syn_opts *o);
void tcp_syn_apply(struct usernat *un, struct tcp_conn *c,
		   const struct tcp_syn_opts *o);
void tcp_connected(struct usernat *un, struct tcp_conn *c);
void tcp_connect_failed(struct usernat *un, struct tcp_conn *c, int err);

ssize_t tcp_write_host(struct usernat *un, struct tcp_conn *c,
		       const uint8_t *p, size_t len, bool more);

/* tcp_fwd.c: connections from port forwards */
void tcp_in_syn_sent(struct usernat *un, struct tcp_conn *c,
		     const struct tcp_seg *s);

/* tcp_ooo.c: out-of-order queue */
void tcp_ooo_init(struct usernat *un);
void tcp_ooo_add(struct usernat *un, struct tcp_conn *c, uint32_t seq,
		 const uint8_t *data, size_t len);
int tcp_ooo_drain(struct usernat *un, struct tcp_conn *c);
void tcp_ooo_purge(struct usernat *un, struct tcp_conn *c);
void tcp_ooo_trim(struct un_tcp *t, bool force);
size_t tcp_ooo_sack(struct usernat *un, const struct tcp_conn *c,
		    uint8_t *opt);

/* tcp_sack.c: what the guest's SACK blocks say (sender side) */
unsigned int tcp_sack_input(struct tcp_conn *c, struct pkt opts);
void tcp_sack_prune(struct tcp_conn *c);
uint32_t tcp_sack_hole(const struct tcp_conn *c, uint32_t from,
		       uint32_t *len);

/* tcp_out.c: segments toward guests, host socket reads */
void tcp_send_flags(struct usernat *un, struct tcp_conn *c, uint8_t flags);
void tcp_send_ack(struct usernat *un, struct tcp_conn *c, bool update);
void tcp_send_syn(struct usernat *un, struct tcp_conn *c);
void tcp_send_rst(struct usernat *un, struct tcp_conn *c);
void tcp_reply_rst(struct usernat *un, const struct tcp_pkt *p,
		   const struct tcp_hdr *th, size_t dlen);
void tcp_reply_rst_conn(struct usernat *un, const struct tcp_conn *c,
			const struct tcp_hdr *th);
int tcp_data_to_guest(struct usernat *un, struct tcp_conn *c);
int tcp_consume(struct usernat *un, struct tcp_conn *c);
void tcp_loss_timer(struct usernat *un, struct tcp_conn *c, bool restart);
int tcp_retransmit_at(struct usernat *un, struct tcp_conn *c, uint32_t seq,
		      uint32_t len);
void tcp_rto_update(struct tcp_conn *c, uint32_t rtt);
void tcp_rto_reset(struct tcp_conn *c);
uint32_t tcp_ssthresh(const struct tcp_conn *c, uint32_t flight);
void tcp_window_reopened(struct usernat *un, struct tcp_conn *c);
void tcp_reset(struct usernat *un, struct tcp_conn *c, bool abortive);
void tcp_timeout(struct usernat *un, struct tcp_conn *c, int64_t now);

#endif /* UN_TCP_INTERNAL_H */
