// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp.c - TCP NAT: connection table, timers, host socket events
 *
 * DOC: Theory of operation
 *
 * Each guest TCP connection is spliced to one ordinary host socket.  We are
 * a full TCP endpoint toward the guest (sequence numbers, windows,
 * retransmission) and a plain socket user toward the host; the host kernel
 * does the real TCP toward the destination.  The code is split by concern:
 *   tcp.c	the table, the timers, host socket events, the flow listing
 *   tcp_in.c	segments from guests: validation, SYN, ACK, data, FIN, RST
 *   tcp_out.c	segments toward guests, reading host sockets, timeouts
 *   tcp_ooo.c	guest segments that arrived out of order; our SACK blocks
 *   tcp_sack.c	the guest's SACK blocks, for loss recovery toward it
 *   tcp_fwd.c	connections from port forwards, opened toward the guest
 *
 * States (enum tcp_state), with RFC 9293 names for the guest side:
 *
 *   CONNECTING	  guest SYN seen (the guest is in SYN-SENT); a non-blocking
 *		  connect() runs.  Retransmitted SYNs are absorbed.  Success
 *		  -> SYN-ACK; ECONNREFUSED -> RST; EHOSTUNREACH/ENETUNREACH
 *		  -> ICMP unreachable; no answer in 75 s -> dropped silently,
 *		  as an unanswering host would be.
 *   SYN_RCVD	  our SYN-ACK sent, retransmitted on RTO, up to 5 times.
 *   SYN_SENT	  port forwards only: our SYN sent to the guest (tcp_fwd.c).
 *   ESTABLISHED  data both ways.  Closing is tracked by flags rather than
 *		  more states: TF_GUEST_FIN (guest's FIN taken: shutdown(WR)
 *		  on the host socket, host data still flows to the guest),
 *		  TF_HOST_EOF (the host sent EOF: our FIN follows the last
 *		  byte, guest data still flows to the host).  When the guest
 *		  has sent its FIN and ACKed ours, the socket is closed and
 *		  the entry freed at once (the guest keeps the TIME-WAIT).
 *   (RST either way, a host socket error, idleness or too many retries
 *   free the entry at once, with an RST toward whichever side needs it.)
 *
 * What is buffered where.  In usernat, per connection: nothing, except
 * out-of-order guest data in a bounded shared pool (below).
 *
 *   guest -> host: a guest segment that starts at RCV.NXT is written
 *   straight to the host socket (send(MSG_DONTWAIT)); we ACK only what the
 *   socket accepted, so the rest stays the guest's to retransmit.  A
 *   segment beyond RCV.NXT waits in the out-of-order pool (tcp_ooo.c, at
 *   most 4 MiB per instance, used only while something is missing) and is
 *   written once the hole before it is filled; we answer it with an
 *   immediate duplicate ACK carrying SACK blocks (RFC 2018) if the guest
 *   allows them.  Overlaps are trimmed, so no byte is written twice.  The
 *   window we advertise is the free space of the host socket's send
 *   buffer (SO_MEMINFO: SO_SNDBUF minus what is queued, halved for the
 *   skb overhead of new data; after small writes the cached figure is
 *   charged instead of measured again, tcp_wnd_charge() in tcp_in.c),
 *   so the guest slows down with the host's peer; below 4 MSS it
 *   closes, and EPOLLOUT reopens it with a window update.  If the socket does refuse data, the update is followed by
 *   three duplicate ACKs, so the guest resends at once, not after its RTO.
 *
 *   host -> guest: data stays in the host socket's receive buffer until the
 *   guest ACKs it (passt's technique).  We read it with MSG_PEEK at
 *   SO_PEEK_OFF, the offset of SND.NXT past the first unconsumed byte;
 *   a guest ACK discards acknowledged bytes with recv(MSG_TRUNC), which
 *   also moves the kernel's peek offset back.  Retransmission needs no copy
 *   of its own: set the peek offset back and read again.  Without
 *   SO_PEEK_OFF (kernels before 6.9) we peek from the start of the queue
 *   with the already-sent bytes going to a discard buffer.  We read only
 *   what the guest's window (and our congestion window) allows, directly
 *   into un->obuf behind the headers, up to 64 KiB per read, cut into MSS
 *   segments there; so the guest's window is the host socket's receive
 *   window too, and a guest that stops reading stops the host's sender.
 *   Host sockets are edge-triggered (EPOLLET): a wake-up means new data;
 *   with a zero guest window EPOLLIN is switched off until the window opens.
 *   EOF is a peek that returns 0 once all data was read: our FIN follows.
 *
 * Loss recovery toward the guest: RFC 6298 RTO (min 200 ms as Linux,
 * backoff, give up after 15 tries or 2 min) with go-back-N from SND.UNA;
 * fast retransmit on three duplicate ACKs with Limited Transmit (RFC 3042)
 * and NewReno recovery (RFC 6582), resending one SACK hole per duplicate
 * ACK when the guest reports them (RFC 6675, tcp_sack.c); a tail loss
 * probe (RFC 8985) after 2 SRTT (at least 10 ms) without an ACK, so a lost
 * last segment or a delayed ACK costs milliseconds, not the 200 ms RTO.
 * Congestion window: slow start and congestion avoidance (RFC 5681),
 * growing by bytes acknowledged, cut to 0.7 on loss (as CUBIC), never
 * below 4 MSS but after a timeout: on a lossless link it quickly stops
 * mattering and the guest's window rules.
 *
 * Timers: one timerfd for the whole module, armed for the earliest deadline
 * of a min-heap of connections.  A connection has one heap key, the earliest
 * of its retransmission, probe or connect deadline (rto_at) and its
 * idle deadline (last_ms + a limit that depends on the state).  Keys are
 * lazy: a deadline that moves later (every ACK pushes the RTO) costs nothing,
 * the entry fires early, finds nothing due and goes back in the heap at its
 * real deadline; only earlier deadlines sift up.
 *
 * Deferred work: a guest ACK or data segment usually arrives in a batch of
 * frames.  Rather than discard ACKed bytes, read more host data or ACK
 * after every frame, a connection is put on the "soon" list; the flush
 * then does one recv(MSG_TRUNC), one peek and one ACK per connection per
 * batch.  Embedders call usernat_flush() at the end of each batch, and
 * usernat_service() ends with the flush too, so the list is emptied right
 * there (tcp_flush()) without a system call of its own; for an embedder
 * that has never called usernat_flush(), tcp_soon() sets the timerfd to
 * fire at once instead.  Guest data is written to the
 * host with MSG_MORE and pushed by the flush (a TCP_NODELAY setsockopt()),
 * except segments with PSH: written without MSG_MORE, they go out at once
 * with whatever was corked before them.  ACKs are sent at once for 16 MSS of
 * new data, for out-of-order or duplicate segments (the guest counts
 * duplicate ACKs for fast retransmit), filled holes, FINs and window
 * changes; by the flush for two full segments; for less, the ACK waits
 * TCP_DELACK ms for an answer to ride on (tcp_ack_due()), so a request
 * and its answer cost one frame to the guest, not two.  A guest ACK
 * makes the flush read the socket again only if its last read left data
 * behind or an EPOLLIN came since (TF_EMPTY): usually it read all there
 * was, and the peek would find nothing.
 *
 * Data structures: connections live in a pool of 256-entry chunks (pointers
 * stay valid as it grows; allocation only at SYN time), found by a hash of
 * (guest address, guest port, destination address, destination port) with
 * intrusive chains; the guest's MAC is part of the connection and must
 * match, so one guest can't touch another's flows.  An epoll reference is
 * the slot index with an 8-bit generation, so an event for a connection
 * freed earlier in the same epoll batch is ignored.  272 bytes per
 * connection (at most that, checked at build time), plus 4 for its hash
 * bucket and 4 for its heap slot.
 *
 * IPv6 (tcp_from_guest6(), from ip6.c) is the same machinery: addresses in
 * the key are 16 bytes for both families, IPv4 ones IPv4-mapped (as in
 * udp.c), TF_V6 marks an IPv6 connection.  IPv4 hashes the low words in
 * one keyed round as before; IPv6 chains three.  An IPv6 connection owns
 * an AF_INET6 socket to un_host_addr6() of its destination (gateway6
 * stands for ::1 unless no-map-host-loopback; dns6 port 53 is the DNS
 * upstream, over whichever family it has), is charged to the guest's MAC
 * (un_flow_charge6(): a guest has any number of addresses; its connects
 * in progress are counted against the half-open caps per MAC, as IPv4's
 * per address), advertises an MSS of MTU - 60,
 * and a failed connect() is reported with ICMPv6 (icmp6_send_error_flow(),
 * icmp6_unreach_code()).  Port forwards open IPv4 connections only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tcp_internal.h"

/* small enough to keep IPv4 and IPv6 connections in the same pool cheaply */
G_STATIC_ASSERT(sizeof(struct tcp_conn) <= 272);

#define TCP_EP_STRLEN	(INET6_ADDRSTRLEN + 8)	/* "[addr]:port" */

/* ---- pool and lookup ---------------------------------------------------- */

/** tcp_conn_at() - Connection in pool slot @slot (slot < t->cap) */
struct tcp_conn *tcp_conn_at(const struct un_tcp *t, uint32_t slot)
{
	return &t->chunk[slot >> TCP_CHUNK_SHIFT][slot & (TCP_CHUNK - 1)];
}

/**
 * tcp_conn_ref() - The epoll reference index of @c: slot and generation
 */
static uint32_t tcp_conn_ref(const struct tcp_conn *c)
{
	return c->slot | (uint32_t)c->gen << TCP_SLOT_BITS;
}

/**
 * tcp_conn_by_ref() - Connection an epoll reference names, if still alive
 * Return: connection, or NULL if it was freed (and maybe reused) since
 */
static struct tcp_conn *tcp_conn_by_ref(const struct un_tcp *t, uint32_t idx)
{
	uint32_t slot = idx & TCP_SLOT_MASK;
	struct tcp_conn *c;

	if (slot >= t->cap)
		return NULL;
	c = tcp_conn_at(t, slot);
	if (c->gen != (uint8_t)(idx >> TCP_SLOT_BITS) ||
	    c->state == TCP_ST_FREE || c->state == TCP_ST_DEAD)
		return NULL;
	return c;
}

/**
 * tcp_mix() - Keyed 64-to-32 bit mixing (splitmix64 finaliser)
 * @key:	per-instance secret, so a guest can't aim at one chain or
 *		predict our initial sequence numbers
 */
static uint32_t tcp_mix(const uint32_t key[4], uint32_t a, uint32_t b,
			uint32_t ports)
{
	uint64_t h = ((uint64_t)a << 32 | b) ^ ((uint64_t)key[0] << 32 | key[1]);

	h += ((uint64_t)ports << 16 ^ ((uint64_t)key[2] << 32 | key[3])) *
	     0x9e3779b97f4a7c15ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (uint32_t)h;
}

/** tcp_word() - 32-bit word @i of a 16-byte address */
static inline uint32_t tcp_word(const uint8_t *a, int i)
{
	uint32_t w;

	memcpy(&w, a + 4 * i, 4);
	return w;
}

/**
 * tcp_hash() - Keyed hash of a 4-tuple, either family
 *
 * IPv4 (both addresses mapped) takes one round, as before IPv6; IPv6
 * chains three, every word through the keyed mixer, so a guest choosing
 * its interface identifiers can't build collisions without the key.
 */
static uint32_t tcp_hash(const uint32_t key[4], const uint8_t *gaddr,
			 const uint8_t *daddr, uint16_t gport, uint16_t dport)
{
	uint32_t ports = (uint32_t)gport << 16 | dport, h;

	if (tcp_word(gaddr, 2) == htonl(0xffff) && !tcp_word(gaddr, 0) &&
	    !tcp_word(gaddr, 1))
		return tcp_mix(key, tcp_word(gaddr, 3), tcp_word(daddr, 3),
			       ports);
	h = tcp_mix(key, tcp_word(gaddr, 0), tcp_word(gaddr, 1),
		    tcp_word(gaddr, 2));
	h = tcp_mix(key, h ^ tcp_word(gaddr, 3), tcp_word(daddr, 0),
		    tcp_word(daddr, 1));
	return tcp_mix(key, h ^ tcp_word(daddr, 2), tcp_word(daddr, 3), ports);
}

/** tcp_bucket_of() - Hash bucket of a 4-tuple */
static uint32_t tcp_bucket_of(const struct un_tcp *t, const uint8_t *gaddr,
			      uint16_t gport, const uint8_t *daddr,
			      uint16_t dport)
{
	return tcp_hash(t->hash_key, gaddr, daddr, gport, dport) &
	       (t->nbuckets - 1);
}

/**
 * tcp_lookup_addr() - Find the connection of a guest's 4-tuple
 * Return: connection (any live state), or NULL
 */
struct tcp_conn *tcp_lookup_addr(const struct un_tcp *t,
				 const uint8_t *gaddr, uint16_t gport,
				 const uint8_t *daddr, uint16_t dport)
{
	int32_t i = t->bucket[tcp_bucket_of(t, gaddr, gport, daddr, dport)];

	while (i >= 0) {
		struct tcp_conn *c = tcp_conn_at(t, (uint32_t)i);

		if (c->gport == gport && c->dport == dport &&
		    !memcmp(c->gaddr, gaddr, 16) && !memcmp(c->daddr, daddr, 16))
			return c;
		i = c->hnext;
	}
	return NULL;
}

/**
 * tcp_iss() - Initial sequence number for @c, RFC 6528: a 4 us clock plus a
 * keyed hash of the connection's addresses and ports
 */
uint32_t tcp_iss(const struct un_tcp *t, const struct tcp_conn *c)
{
	struct timespec ts;
	uint32_t m;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	m = (uint32_t)((uint64_t)ts.tv_sec * 250000 + ts.tv_nsec / 4000);
	return m + tcp_hash(t->iss_key, c->gaddr, c->daddr, c->gport,
			    c->dport);
}

/** tcp_now() - The module's clock: CLOCK_MONOTONIC milliseconds */
int64_t tcp_now(void)
{
	return un_now_ms();
}

/**
 * tcp_rehash() - Double the hash buckets (at SYN time, never per packet)
 * Return: 0, or -ENOMEM (the table keeps working, with longer chains)
 */
static int tcp_rehash(struct un_tcp *t)
{
	uint32_t n = t->nbuckets * 2, s, b;
	int32_t *nb = g_try_new(int32_t, n);

	if (!nb)
		return -ENOMEM;
	memset(nb, 0xff, sizeof(*nb) * n);
	g_free(t->bucket);
	t->bucket = nb;
	t->nbuckets = n;
	for (s = 0; s < t->cap; s++) {
		struct tcp_conn *c = tcp_conn_at(t, s);

		if (c->state == TCP_ST_FREE || c->state == TCP_ST_DEAD)
			continue;
		b = tcp_bucket_of(t, c->gaddr, c->gport, c->daddr, c->dport);
		c->hnext = nb[b];
		nb[b] = (int32_t)s;
	}
	return 0;
}

/** tcp_unhash() - Take @c out of its hash chain */
static void tcp_unhash(struct un_tcp *t, struct tcp_conn *c)
{
	int32_t *pp = &t->bucket[tcp_bucket_of(t, c->gaddr, c->gport,
					       c->daddr, c->dport)];

	while (*pp >= 0) {
		struct tcp_conn *o = tcp_conn_at(t, (uint32_t)*pp);

		if (o == c) {
			*pp = c->hnext;
			c->hnext = -1;
			t->count--;
			return;
		}
		pp = &o->hnext;
	}
}

/**
 * tcp_pool_grow() - Add a chunk of TCP_CHUNK free connections
 * Return: 0, or -ENOMEM / -ENOSPC (at the configured maximum)
 */
static int tcp_pool_grow(struct un_tcp *t)
{
	uint32_t base = t->cap, i;
	struct tcp_conn *chunk, **nc;
	int32_t *nh;

	if (t->cap >= t->max)
		return -ENOSPC;
	nc = g_try_renew(struct tcp_conn *, t->chunk, t->nchunks + 1);
	if (!nc)
		return -ENOMEM;
	t->chunk = nc;
	nh = g_try_renew(int32_t, t->heap, t->cap + TCP_CHUNK);
	if (!nh)
		return -ENOMEM;
	t->heap = nh;
	chunk = g_try_new0(struct tcp_conn, TCP_CHUNK);
	if (!chunk)
		return -ENOMEM;
	t->chunk[t->nchunks++] = chunk;
	t->cap += TCP_CHUNK;
	for (i = TCP_CHUNK; i-- > 0;) {
		chunk[i].slot = base + i;
		chunk[i].fd = -1;
		chunk[i].heap_pos = -1;
		chunk[i].hnext = t->free_head;
		t->free_head = (int32_t)(base + i);
	}
	return 0;
}

/**
 * tcp_conn_new() - Allocate and hash a connection for a guest's 4-tuple
 *
 * Only called for a guest SYN.  The caller fills in the rest and owns the
 * entry until tcp_conn_free().  Return: zeroed connection, or NULL if the
 * pool is at its maximum or memory ran out
 */
struct tcp_conn *tcp_conn_new(struct usernat *un, const uint8_t *gaddr,
			      uint16_t gport, const uint8_t *daddr,
			      uint16_t dport)
{
	struct un_tcp *t = un->tcp;
	struct tcp_conn *c;
	uint32_t slot, b;
	uint8_t gen;

	if (t->free_head < 0 && tcp_pool_grow(t))
		return NULL;
	if (t->count >= t->nbuckets)
		tcp_rehash(t);
	slot = (uint32_t)t->free_head;
	c = tcp_conn_at(t, slot);
	t->free_head = c->hnext;
	gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->slot = slot;
	c->gen = gen;
	c->fd = -1;
	c->heap_pos = -1;
	c->soon_next = -1;
	c->ooo_head = -1;
	memcpy(c->gaddr, gaddr, 16);
	c->gport = gport;
	memcpy(c->daddr, daddr, 16);
	c->dport = dport;
	b = tcp_bucket_of(t, gaddr, gport, daddr, dport);
	c->hnext = t->bucket[b];
	t->bucket[b] = (int32_t)slot;
	t->count++;
	return c;
}

/* ---- timers --------------------------------------------------------------- */

/** tcp_heap_set() - Put @c at heap position @pos */
static void tcp_heap_set(struct un_tcp *t, uint32_t pos, struct tcp_conn *c)
{
	t->heap[pos] = (int32_t)c->slot;
	c->heap_pos = (int32_t)pos;
}

/** tcp_heap_conn() - Connection at heap position @pos */
static struct tcp_conn *tcp_heap_conn(const struct un_tcp *t, uint32_t pos)
{
	return tcp_conn_at(t, (uint32_t)t->heap[pos]);
}

/** tcp_heap_up() - Sift the entry at @pos toward the root (earlier key) */
static void tcp_heap_up(struct un_tcp *t, uint32_t pos)
{
	struct tcp_conn *c = tcp_heap_conn(t, pos);

	while (pos) {
		uint32_t parent = (pos - 1) / 2;
		struct tcp_conn *p = tcp_heap_conn(t, parent);

		if (p->timer_at <= c->timer_at)
			break;
		tcp_heap_set(t, pos, p);
		pos = parent;
	}
	tcp_heap_set(t, pos, c);
}

/** tcp_heap_down() - Sift the entry at @pos toward the leaves */
static void tcp_heap_down(struct un_tcp *t, uint32_t pos)
{
	struct tcp_conn *c = tcp_heap_conn(t, pos);

	for (;;) {
		uint32_t l = pos * 2 + 1, m = l;
		struct tcp_conn *mc;

		if (l >= t->heap_len)
			break;
		mc = tcp_heap_conn(t, l);
		if (l + 1 < t->heap_len &&
		    tcp_heap_conn(t, l + 1)->timer_at < mc->timer_at) {
			m = l + 1;
			mc = tcp_heap_conn(t, m);
		}
		if (c->timer_at <= mc->timer_at)
			break;
		tcp_heap_set(t, pos, mc);
		pos = m;
	}
	tcp_heap_set(t, pos, c);
}

/** tcp_heap_remove() - Take @c out of the timer heap */
static void tcp_heap_remove(struct un_tcp *t, struct tcp_conn *c)
{
	uint32_t pos = (uint32_t)c->heap_pos;
	struct tcp_conn *last;

	c->heap_pos = -1;
	if (pos == --t->heap_len)
		return;
	last = tcp_heap_conn(t, t->heap_len);
	tcp_heap_set(t, pos, last);
	tcp_heap_down(t, pos);
	tcp_heap_up(t, (uint32_t)last->heap_pos);
}

/**
 * tcp_timerfd_arm() - Set the module's timerfd to fire at @at (ms, the
 * CLOCK_MONOTONIC of un_now_ms()); INT64_MAX disarms, 0 fires at once
 */
static void tcp_timerfd_arm(struct un_tcp *t, int64_t at)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (at != INT64_MAX) {
		its.it_value.tv_sec = at / 1000;
		its.it_value.tv_nsec = (at % 1000) * 1000000L;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;	/* 0 would disarm */
	}
	timerfd_settime(t->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	t->armed_at = at;
}

/**
 * tcp_timer_want() - Make sure @c's timer runs no later than @at
 *
 * Later deadlines are left to the lazy re-check in tcp_timer_fire(); only
 * an earlier one moves the heap entry (and maybe the timerfd).
 */
void tcp_timer_want(struct usernat *un, struct tcp_conn *c, int64_t at)
{
	struct un_tcp *t = un->tcp;

	if (c->heap_pos < 0) {
		c->timer_at = at;
		tcp_heap_set(t, t->heap_len++, c);
		tcp_heap_up(t, (uint32_t)c->heap_pos);
	} else if (at < c->timer_at) {
		c->timer_at = at;
		tcp_heap_up(t, (uint32_t)c->heap_pos);
	}
	if (at < t->armed_at)
		tcp_timerfd_arm(t, at);
}

/**
 * tcp_idle_limit() - How long @c may stay silent in its state, ms
 *
 * Established: the configured tcp_idle_timeout (0: never).  Half-closed
 * and closing connections get shorter limits of their own, so entries whose
 * peer vanished mid-close don't linger for the full idle timeout.
 */
static int64_t tcp_idle_limit(const struct usernat *un,
			      const struct tcp_conn *c)
{
	int64_t lim = (int64_t)un->cfg.lim.tcp_idle_timeout * 1000;
	int fins = !!(c->flags & TF_GUEST_FIN) + !!(c->flags & TF_HOST_EOF);

	if (!lim)
		lim = INT64_MAX / 2;
	if (c->state != TCP_ST_ESTABLISHED)
		return INT64_MAX / 2;	/* rto_at covers the handshake */
	if (fins == 2)
		return MIN(lim, TCP_CLOSING_IDLE);
	if (fins == 1)
		return MIN(lim, TCP_HALF_CLOSED_IDLE);
	return lim;
}

/**
 * tcp_idle_due() - Has @c been silent longer than its state allows?
 */
bool tcp_idle_due(const struct usernat *un, const struct tcp_conn *c,
		  int64_t now)
{
	return now - c->last_ms >= tcp_idle_limit(un, c);
}

/**
 * tcp_timer_update() - Re-arm @c's timer for its real next deadline
 */
void tcp_timer_update(struct usernat *un, struct tcp_conn *c)
{
	int64_t at = c->last_ms + tcp_idle_limit(un, c);

	if (c->rto_at && c->rto_at < at)
		at = c->rto_at;
	if ((c->flags & TF_DELACK) && tcp_delack_deadline(c) < at)
		at = tcp_delack_deadline(c);
	tcp_timer_want(un, c, at);
}

/**
 * tcp_ack_due() - In-order data from the guest waits for an ACK: send it
 * now, or let it wait TCP_DELACK ms for data of ours to ride on
 *
 * Less than two full segments unacknowledged may wait (RFC 9293 3.8.6.3,
 * RFC 1122 4.2.3.2: ACK at least every second full segment, delay at most
 * 500 ms; Linux waits 40 ms): a request's ACK then comes with the answer,
 * if the host answers within the delay, one frame and one system call
 * fewer per exchange.  The delay is short so that a guest whose Nagle
 * algorithm holds its next small write for our ACK loses 2 ms, not 40.
 */
static void tcp_ack_due(struct usernat *un, struct tcp_conn *c)
{
	int64_t at;

	c->flags &= ~TF_ACK_DUE;
	if (c->rcv_nxt - c->rcv_acked >= 2U * tcp_mss_max(un, tcp_is_v6(c))) {
		tcp_send_ack(un, c, true);
		return;
	}
	if (c->flags & TF_DELACK)
		return;		/* waiting already: the first deadline holds */
	at = tcp_now() + TCP_DELACK;
	c->flags |= TF_DELACK;
	c->delack_at = (uint32_t)at;
	tcp_timer_want(un, c, at);
}

/**
 * tcp_soon() - Queue deferred work (TF_ACK_DUE, TF_SEND_DUE) for @c
 *
 * The flush runs from usernat_flush() (tcp_flush()) when the embedder
 * calls it at the end of the batch of guest frames, and at the end of
 * usernat_service() for work queued by host-side events; then nothing
 * more is needed here.  The timerfd, set to fire at once, is the fallback
 * for embedders that never call usernat_flush(): it fires after the
 * embedder has handed us the rest of the current batch.  (One that calls
 * it after some batches only gets the rest done by the next flush or
 * usernat_service(), at the latest the once-a-second tick's.)
 */
void tcp_soon(struct usernat *un, struct tcp_conn *c, uint32_t what)
{
	struct un_tcp *t = un->tcp;

	c->flags |= what;
	if (c->flags & TF_SOON)
		return;
	c->flags |= TF_SOON;
	c->soon_next = t->soon_head;
	t->soon_head = (int32_t)c->slot;
	if (t->armed_at && !un->embedder_flushes && !un->in_service)
		tcp_timerfd_arm(t, 0);	/* no flush is sure to follow */
}

/**
 * tcp_mark_drained() - A read of @c's host socket found nothing more
 * (tcp_data_to_guest()): an EPOLLIN that the current batch of events
 * reports for it is stale, see tcp_sock_ready(); and until an EPOLLIN
 * comes, a guest ACK needs no peek (TF_EMPTY)
 *
 * The batch's part is remembered for TCP_DRAINED_MAX connections; past
 * that, their events are read as before (an EAGAIN at worst).
 */
void tcp_mark_drained(struct usernat *un, struct tcp_conn *c)
{
	struct un_tcp *t = un->tcp;

	c->flags |= TF_EMPTY;
	if ((c->flags & TF_DRAINED) || t->ndrained >= TCP_DRAINED_MAX)
		return;
	c->flags |= TF_DRAINED;
	t->drained[t->ndrained++] = c->slot;
}

/**
 * tcp_batch_start() - A batch of epoll events begins (usernat_wait(), right
 * after epoll_wait() returned): what was drained before it counts no more
 */
void tcp_batch_start(struct usernat *un)
{
	struct un_tcp *t = un->tcp;
	uint32_t i;

	if (!t)
		return;
	for (i = 0; i < t->ndrained; i++)
		tcp_conn_at(t, t->drained[i])->flags &= ~TF_DRAINED;
	t->ndrained = 0;
}

/**
 * tcp_slot_release() - Return a freed slot to the pool
 */
static void tcp_slot_release(struct un_tcp *t, struct tcp_conn *c)
{
	c->state = TCP_ST_FREE;
	c->gen++;
	c->hnext = t->free_head;
	t->free_head = (int32_t)c->slot;
}

/**
 * tcp_ep_str() - One end of @c as text: "a.b.c.d:port" for IPv4 (mapped),
 * "[RFC 5952 text]:port" for IPv6; Return: @buf
 */
static const char *tcp_ep_str(const struct tcp_conn *c, const uint8_t *a,
			      uint16_t port, char buf[TCP_EP_STRLEN])
{
	char t[INET6_ADDRSTRLEN];

	if (tcp_is_v6(c))
		snprintf(buf, TCP_EP_STRLEN, "[%s]:%u",
			 inet_ntop(AF_INET6, a, t, sizeof(t)), ntohs(port));
	else
		snprintf(buf, TCP_EP_STRLEN, "%s:%u",
			 un_ip4_str(tcp_v4(a), t), ntohs(port));
	return buf;
}

/**
 * tcp_flow_release() - Give back @c's flow charge: by guest address for
 * IPv4, by MAC for IPv6 (a guest has any number of IPv6 addresses)
 */
void tcp_flow_release(struct usernat *un, const struct tcp_conn *c)
{
	if (tcp_is_v6(c))
		un_flow_release6(un, c->mac);
	else
		un_flow_release(un, tcp_v4(c->gaddr));
}

/**
 * tcp_half_open_release() - @c's connect is over (done or failed): give
 * back its half-open charge, if it holds one (TF_HALF_OPEN, either family)
 */
void tcp_half_open_release(struct usernat *un, struct tcp_conn *c)
{
	if (!(c->flags & TF_HALF_OPEN))
		return;
	un_half_open_release(un, tcp_is_v6(c), tcp_v4(c->gaddr), c->mac);
	c->flags &= ~TF_HALF_OPEN;
}

/**
 * tcp_conn_free() - Close @c's host socket and free the entry
 * @abortive:	reset the host connection (SO_LINGER 0) instead of a FIN
 *
 * Sends nothing to the guest: callers do that first if needed.  Releases
 * the flow and half-open charges.  @c must not be used afterwards.
 */
void tcp_conn_free(struct usernat *un, struct tcp_conn *c, bool abortive)
{
	struct un_tcp *t = un->tcp;
	char a[TCP_EP_STRLEN], b[TCP_EP_STRLEN];

	if (c->fd >= 0) {
		if (abortive) {
			struct linger lin = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin,
				   sizeof(lin));
		}
		close(c->fd);	/* also leaves the epoll set */
		c->fd = -1;
	}
	tcp_ooo_purge(un, c);
	tcp_half_open_release(un, c);
	if (c->flags & TF_CHARGED) {
		tcp_flow_release(un, c);
		UN_COUNT(un, tcp_closed);
		un->ctr[UN_CTR_tcp_active]--;
	}
	un_debug(un, "tcp: %s -> %s closed%s",
		 tcp_ep_str(c, c->gaddr, c->gport, a),
		 tcp_ep_str(c, c->daddr, c->dport, b),
		 abortive ? " (reset)" : "");
	tcp_unhash(t, c);
	if (c->heap_pos >= 0)
		tcp_heap_remove(t, c);
	c->flags &= TF_SOON;
	if (c->flags & TF_SOON)
		c->state = TCP_ST_DEAD;	/* the flush releases it */
	else
		tcp_slot_release(t, c);
}

/**
 * tcp_push() - Send what tcp_write_host() left corked in the host socket
 * (setting TCP_NODELAY pushes pending data, even if it was set already)
 */
static void tcp_push(struct tcp_conn *c)
{
	int one = 1;

	c->flags &= ~TF_CORKED;
	if (c->fd >= 0)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/**
 * tcp_flush_soon() - Do the deferred work of every queued connection:
 * push corked guest data, discard ACKed host bytes, send what the windows
 * allow, send due ACKs
 */
static void tcp_flush_soon(struct usernat *un)
{
	struct un_tcp *t = un->tcp;
	int32_t i = t->soon_head;

	t->soon_head = -1;
	while (i >= 0) {
		struct tcp_conn *c = tcp_conn_at(t, (uint32_t)i);
		uint32_t what = c->flags & (TF_SEND_DUE | TF_ACK_DUE);

		i = c->soon_next;
		c->flags &= ~(TF_SOON | TF_SEND_DUE);
		if (c->state == TCP_ST_DEAD) {
			tcp_slot_release(t, c);
			continue;
		}
		if (c->flags & TF_CORKED)
			tcp_push(c);
		if ((what & TF_SEND_DUE) && tcp_data_to_guest(un, c) < 0) {
			tcp_reset(un, c, false);
			continue;
		}
		if (c->flags & TF_ACK_DUE)
			tcp_ack_due(un, c);
	}
}

/**
 * tcp_timer_fire() - The timerfd fired: run due timers, then deferred work
 */
static void tcp_timer_fire(struct usernat *un)
{
	struct un_tcp *t = un->tcp;
	int64_t now = tcp_now();
	int budget = 4096;	/* bound the work of one call */

	t->armed_at = INT64_MAX;
	while (t->heap_len && budget--) {
		struct tcp_conn *c = tcp_heap_conn(t, 0);

		if (c->timer_at > now)
			break;
		tcp_heap_remove(t, c);
		tcp_timeout(un, c, now);
	}
	tcp_flush_soon(un);
	/* re-arming also clears the timerfd's readability */
	if (t->soon_head >= 0 || (t->heap_len && budget < 0))
		tcp_timerfd_arm(t, 0);
	else
		tcp_timerfd_arm(t, t->heap_len ? tcp_heap_conn(t, 0)->timer_at
					       : INT64_MAX);
}

/**
 * tcp_flush() - End of a batch of guest frames (usernat_flush()) or of
 * host-side events (usernat_service()): do the deferred work now, and take
 * back the "fire now" arming of tcp_soon() if no timer is due.  Work that
 * the flush queues again is left to the timerfd, set to fire at once.
 */
void tcp_flush(struct usernat *un)
{
	struct un_tcp *t = un->tcp;

	if (!t || t->soon_head < 0)
		return;
	tcp_flush_soon(un);
	if (t->soon_head >= 0) {
		/* queued again (a connection with more to send than one
		 * flush reads): after the other events, from the timerfd */
		if (t->armed_at)
			tcp_timerfd_arm(t, 0);
		return;
	}
	if (t->armed_at)
		return;		/* armed for a real deadline */
	if (t->heap_len && tcp_heap_conn(t, 0)->timer_at <= tcp_now())
		return;		/* a timer is due: let the timerfd run it */
	tcp_timerfd_arm(t, t->heap_len ? tcp_heap_conn(t, 0)->timer_at
				       : INT64_MAX);
}

/* ---- host sockets --------------------------------------------------------- */

/**
 * tcp_epoll_events() - (Re)register @c's socket, with or without EPOLLIN
 * Return: 0 or negative errno
 */
int tcp_epoll_events(struct usernat *un, struct tcp_conn *c, bool add,
		     bool in)
{
	uint32_t ev = EPOLLOUT | EPOLLRDHUP | EPOLLET | (in ? EPOLLIN : 0);

	if (in)
		c->flags &= ~(TF_NO_EPOLLIN | TF_EMPTY);
	else
		c->flags |= TF_NO_EPOLLIN;
	if (add)
		return un_epoll_add(un, c->fd, ev, UN_EP_TCP, tcp_conn_ref(c));
	return un_epoll_mod(un, c->fd, ev, UN_EP_TCP, tcp_conn_ref(c));
}

/** tcp_sock_error() - Pending error of a socket (SO_ERROR), 0 if none */
static int tcp_sock_error(int fd)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl))
		return errno;
	return err;
}

/**
 * tcp_sock_ready() - Events on a connection's host socket
 */
static void tcp_sock_ready(struct usernat *un, struct tcp_conn *c,
			   uint32_t events)
{
	int err;

	if (c->state == TCP_ST_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		err = tcp_sock_error(c->fd);
		if (err)
			tcp_connect_failed(un, c, err);
		else if (events & EPOLLOUT)
			tcp_connected(un, c);
		return;
	}
	if (events & EPOLLERR) {
		err = tcp_sock_error(c->fd);
		if (err && err != EAGAIN) {
			un_debug(un, "tcp: host socket error: %s",
				 strerror(err));
			tcp_reset(un, c, false);
			return;
		}
	}
	if (events & (EPOLLRDHUP | EPOLLHUP))
		c->flags |= TF_HOST_RDHUP;
	if ((events & EPOLLOUT) && (c->flags & TF_RCV_FULL)) {
		/* room again: first what waits out of order, then tell */
		if (tcp_ooo_drain(un, c) < 0) {
			tcp_reset(un, c, false);
			return;
		}
		tcp_window_reopened(un, c);
	}
	/* An EPOLLIN alone for a socket read dry since the epoll_wait() that
	 * reported it (the flush after a guest ACK read the data it stands
	 * for) is stale: newer data would have queued a new event, for the
	 * next epoll_wait(), so the peek would find nothing */
	if ((c->flags & TF_DRAINED) &&
	    !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		c->flags &= ~TF_EMPTY;	/* maybe new data: peek again */
	if (c->state == TCP_ST_ESTABLISHED &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) &&
	    tcp_data_to_guest(un, c) < 0)
		tcp_reset(un, c, false);
}

/**
 * tcp_ready() - Host-side events: a connection's socket or our timerfd
 */
void tcp_ready(struct usernat *un, union un_ref ref, uint32_t events)
{
	struct tcp_conn *c;

	if (!un->tcp)
		return;
	if (ref.type == UN_EP_TCP_TIMER) {
		tcp_timer_fire(un);
		return;
	}
	if (ref.type != UN_EP_TCP)
		return;
	c = tcp_conn_by_ref(un->tcp, ref.idx);
	if (c && c->fd >= 0)
		tcp_sock_ready(un, c, events);
}

/**
 * tcp_tick() - Once a second: give back an unused out-of-order pool (the
 * timers are per connection, see tcp_timer_fire())
 */
void tcp_tick(struct usernat *un, int64_t now_ms)
{
	if (un->tcp)
		tcp_ooo_trim(un->tcp, false);
}

/* ---- listing ------------------------------------------------------------ */

static const char *tcp_state_name(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_ST_CONNECTING:
		return "connecting";
	case TCP_ST_SYN_RCVD:
		return "syn-received";
	case TCP_ST_SYN_SENT:
		return "syn-sent";
	default:
		break;
	}
	if ((c->flags & TF_GUEST_FIN) && (c->flags & TF_HOST_EOF))
		return "closing";
	if (c->flags & TF_GUEST_FIN)
		return "guest-closed";
	if (c->flags & TF_HOST_EOF)
		return "host-closed";
	return "established";
}

/**
 * tcp_flow_host() - "ADDR:PORT" of @c's host side: the socket's peer, or
 * where it is connecting to
 */
static void tcp_flow_host(const struct usernat *un, const struct tcp_conn *c,
			  char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN];

	ss.ss_family = AF_UNSPEC;
	if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl))
		ss.ss_family = AF_UNSPEC;	/* not connected yet */
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		snprintf(buf, len, "[%s]:%u",
			 inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a)),
			 ntohs(s6->sin6_port));
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		snprintf(buf, len, "%s:%u", un_ip4_str(s4->sin_addr.s_addr, a),
			 ntohs(s4->sin_port));
	} else if (tcp_is_v6(c)) {
		uint8_t h[16];

		un_host_addr6(un, c->daddr, h);
		snprintf(buf, len, "[%s]:%u",
			 inet_ntop(AF_INET6, h, a, sizeof(a)), ntohs(c->dport));
	} else {
		snprintf(buf, len, "%s:%u",
			 un_ip4_str(un_host_addr(un, tcp_v4(c->daddr)), a),
			 ntohs(c->dport));
	}
}

/**
 * tcp_flows_foreach() - Report each TCP connection to @fn (control plane)
 *
 * The host side is the socket's peer: the destination of an outbound
 * connection, the client of a port forward.  Bytes are payload bytes:
 * written to the host socket, and acknowledged by the guest.  One
 * getpeername() per connection: not for the packet path.
 */
void tcp_flows_foreach(const struct usernat *un, un_flow_fn fn, void *opaque)
{
	const struct un_tcp *t = un->tcp;
	int64_t now = tcp_now();
	struct usernat_flow uf;
	uint32_t s;

	if (!t)
		return;
	for (s = 0; s < t->cap; s++) {
		const struct tcp_conn *c = tcp_conn_at(t, s);

		if (c->state == TCP_ST_FREE || c->state == TCP_ST_DEAD)
			continue;
		memset(&uf, 0, sizeof(uf));
		uf.proto = "tcp";
		uf.state = tcp_state_name(c);
		uf.inbound = !!(c->flags & TF_INBOUND);
		uf.guest_port = ntohs(c->gport);
		if (tcp_is_v6(c))
			tcp_ep_str(c, c->gaddr, c->gport, uf.guest);
		else
			uf.guest_addr = tcp_v4(c->gaddr);
		tcp_flow_host(un, c, uf.host, sizeof(uf.host));
		uf.bytes_from_guest = c->bytes_in;
		uf.bytes_to_guest = c->bytes_out;
		uf.age_ms = (uint64_t)MAX(now - c->created_ms, 0);
		fn(opaque, &uf);
	}
}

/* ---- lifetime ----------------------------------------------------------- */

/**
 * tcp_probe_peek_off() - Does this kernel support SO_PEEK_OFF on TCP (6.9+)?
 */
static bool tcp_probe_peek_off(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), zero = 0;
	bool ok;

	if (s < 0)
		return false;
	ok = !setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
	close(s);
	return ok;
}

/** tcp_random() - Secret bytes for hashing and ISNs (getrandom()) */
static void tcp_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len)
		return;
	while (len--)
		*p++ = (uint8_t)g_random_int();
}

/**
 * tcp_init() - Set up the TCP NAT of an instance: tables and timerfd
 * Return: 0, or negative errno (tcp_cleanup() then frees what was made)
 */
int tcp_init(struct usernat *un)
{
	struct un_tcp *t = g_try_new0(struct un_tcp, 1);
	int ret;

	if (!t)
		return -ENOMEM;
	un->tcp = t;
	t->free_head = -1;
	t->soon_head = -1;
	t->timerfd = -1;
	t->armed_at = INT64_MAX;
	t->max = MIN(MAX(un->cfg.lim.max_flows, 1U), TCP_SLOT_MASK);
	t->nbuckets = 256;
	t->bucket = g_try_new(int32_t, t->nbuckets);
	if (!t->bucket)
		return -ENOMEM;
	memset(t->bucket, 0xff, sizeof(*t->bucket) * t->nbuckets);
	tcp_random(t->hash_key, sizeof(t->hash_key));
	tcp_random(t->iss_key, sizeof(t->iss_key));
	tcp_ooo_init(un);
	t->peek_off = tcp_probe_peek_off();
	t->trunc = true;
	t->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->timerfd < 0)
		return -errno;
	ret = un_epoll_add(un, t->timerfd, EPOLLIN, UN_EP_TCP_TIMER, 0);
	if (ret)
		return ret;
	un_debug(un, "tcp: SO_PEEK_OFF %s", t->peek_off ? "supported"
							: "not supported");
	return 0;
}

/**
 * tcp_cleanup() - Close every host socket and free the module's memory
 *
 * Host connections are closed normally (FIN, or RST if unread data is
 * left); guests are told nothing, as the instance is going away.
 */
void tcp_cleanup(struct usernat *un)
{
	struct un_tcp *t = un->tcp;
	uint32_t s;

	if (!t)
		return;
	for (s = 0; s < t->cap; s++) {
		struct tcp_conn *c = tcp_conn_at(t, s);

		if (c->state != TCP_ST_FREE && c->fd >= 0)
			close(c->fd);
	}
	tcp_ooo_trim(t, true);
	for (s = 0; s < t->nchunks; s++)
		g_free(t->chunk[s]);
	g_free(t->chunk);
	g_free(t->heap);
	g_free(t->bucket);
	g_free(t->scratch);
	if (t->timerfd >= 0)
		close(t->timerfd);
	g_free(t);
	un->tcp = NULL;
}
