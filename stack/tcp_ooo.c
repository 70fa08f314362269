// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp_ooo.c - TCP NAT: a bounded queue for guest segments that arrive out
 * of order
 *
 * DOC: Theory of operation
 *
 * Guest data is written to the host socket as it arrives in order; a
 * segment past RCV.NXT can't be written yet.  Dropping it is correct but
 * costly: every segment behind a lost or reordered one is then lost too,
 * the guest resends its whole flight, and without RTT samples on resent
 * data its RTO backs off to seconds.  So such segments wait here, if they
 * fall inside the window we advertised, until the hole before them is
 * filled; then they are written after it (tcp_ooo_drain()) and the guest's
 * next ACK covers them all, as from any receiver that queues out-of-order
 * data (RFC 9293 3.10.7.4 allows either).
 *
 * Memory is bounded and used only while segments are missing: nodes of one
 * MTU's worth of data come from a per-instance pool of at most
 * TCP_OOO_BYTES, grown in small chunks when needed and given back once no
 * connection holds any (tcp_ooo_trim(), from the once-a-second tick); a
 * connection holds at most a quarter of the pool.  When the pool is
 * exhausted, segments are dropped as before.  Each connection keeps its
 * nodes in a list sorted by sequence, without overlaps: a new segment is
 * cut into the pieces that fill gaps, so no byte is ever written twice.
 * A FIN on an out-of-order segment is not kept: the guest sends it again.
 *
 * What is queued is reported in SACK blocks (RFC 2018) when the guest
 * allows them: Linux then recovers losses by SACK and RACK rather than by
 * duplicate-ACK counts, which reordering and duplicate ACKs for its
 * go-back-N retransmissions would otherwise inflate until only (backed-off)
 * timeouts are left.  Queued data is never dropped once reported, except
 * when the connection ends (no reneging).
 */
#include <arpa/inet.h>
#include <string.h>

#include "tcp_internal.h"

#define TCP_OOO_BYTES	(4U << 20)	/* pool, per instance */
#define TCP_OOO_CHUNK	16		/* nodes allocated at a time */

struct tcp_ooo_node {
	int32_t next;		/* next in the connection's list, or free */
	uint32_t seq;		/* first byte */
	uint32_t len;		/* bytes at data */
	uint8_t data[];
};

/** tcp_ooo_node() - Pool node @i */
static struct tcp_ooo_node *tcp_ooo_node(const struct un_tcp *t, int32_t i)
{
	return (struct tcp_ooo_node *)(t->ooo_chunk[(uint32_t)i / TCP_OOO_CHUNK] +
				       (size_t)((uint32_t)i % TCP_OOO_CHUNK) *
				       t->ooo_stride);
}

/**
 * tcp_ooo_alloc() - A free node, growing the pool up to TCP_OOO_BYTES
 * Return: node index, or -1 if the pool is exhausted or memory ran out
 */
static int32_t tcp_ooo_alloc(struct usernat *un)
{
	struct un_tcp *t = un->tcp;
	struct tcp_ooo_node *n;
	uint8_t **nc, *chunk;
	uint32_t i;
	int32_t r;

	if (t->ooo_free < 0) {
		if ((t->ooo_cap + TCP_OOO_CHUNK) * t->ooo_stride > TCP_OOO_BYTES)
			return -1;
		nc = g_try_renew(uint8_t *, t->ooo_chunk, t->ooo_nchunks + 1);
		if (!nc)
			return -1;
		t->ooo_chunk = nc;
		chunk = g_try_malloc((size_t)t->ooo_stride * TCP_OOO_CHUNK);
		if (!chunk)
			return -1;
		t->ooo_chunk[t->ooo_nchunks++] = chunk;
		for (i = TCP_OOO_CHUNK; i-- > 0;) {
			n = tcp_ooo_node(t, (int32_t)(t->ooo_cap + i));
			n->next = t->ooo_free;
			t->ooo_free = (int32_t)(t->ooo_cap + i);
		}
		t->ooo_cap += TCP_OOO_CHUNK;
	}
	r = t->ooo_free;
	t->ooo_free = tcp_ooo_node(t, r)->next;
	t->ooo_used++;
	return r;
}

/** tcp_ooo_release() - Give node @i back to the pool */
static void tcp_ooo_release(struct un_tcp *t, int32_t i)
{
	tcp_ooo_node(t, i)->next = t->ooo_free;
	t->ooo_free = i;
	t->ooo_used--;
}

/**
 * tcp_ooo_add() - Keep the parts of an out-of-order segment we don't have
 * @seq:	its first byte, past RCV.NXT
 * @data, @len:	its payload (in the guest's frame; copied)
 *
 * Only what lies inside the window we advertised is kept; pieces that
 * overlap queued data are cut away.  Silently keeps less (or nothing) when
 * the pool or the connection's share of it is full.
 */
void tcp_ooo_add(struct usernat *un, struct tcp_conn *c, uint32_t seq,
		 const uint8_t *data, size_t len)
{
	struct un_tcp *t = un->tcp;
	uint32_t s = seq, e = seq + (uint32_t)len, conn_max;
	int32_t *pp = &c->ooo_head;

	if (seq_lt(c->rcv_edge, e))
		e = c->rcv_edge;	/* beyond the window: not ours yet */
	conn_max = TCP_OOO_BYTES / 4 / t->ooo_stride;
	while (seq_lt(s, e)) {
		struct tcp_ooo_node *n = *pp >= 0 ? tcp_ooo_node(t, *pp) : NULL;
		uint32_t pe = e;
		int32_t i;

		if (n && seq_le(n->seq + n->len, s)) {
			pp = &n->next;		/* wholly before us */
			continue;
		}
		if (n && !seq_lt(s, n->seq)) {
			s = n->seq + n->len;	/* we have this part */
			pp = &n->next;
			continue;
		}
		if (n && seq_lt(n->seq, e))
			pe = n->seq;		/* the gap before n */
		/* a node holds an MTU's worth; a GSO segment takes several */
		if (pe - s > un->cfg.mtu)
			pe = s + un->cfg.mtu;
		if (c->ooo_count >= conn_max || (i = tcp_ooo_alloc(un)) < 0)
			return;
		n = tcp_ooo_node(t, i);
		n->seq = s;
		n->len = pe - s;
		memcpy(n->data, data + (s - seq), n->len);
		n->next = *pp;
		*pp = i;
		pp = &n->next;
		c->ooo_count++;
		s = pe;
	}
}

/**
 * tcp_ooo_sack() - Write a SACK option describing @c's queue
 * @opt:	where to (at most 36 bytes)
 *
 * Blocks are runs of contiguous nodes.  The first block is the one holding
 * the latest segment to arrive (RFC 2018 4), the others follow in sequence
 * order, up to TCP_SACK_BLOCKS in all.  Two NOPs pad it to 32-bit words.
 * Return: option bytes written, 0 if there is nothing to report
 */
size_t tcp_ooo_sack(struct usernat *un, const struct tcp_conn *c,
		    uint8_t *opt)
{
	const struct un_tcp *t = un->tcp;
	uint32_t blk[TCP_SACK_BLOCKS][2], nb = 0, no = 0, i;
	bool have_first = false;
	int32_t in = c->ooo_head;

	if (!(c->flags & TF_SACK) || in < 0)
		return 0;
	/* blk[0] is kept for the latest segment's run */
	while (in >= 0 && (!have_first || no < TCP_SACK_BLOCKS - 1)) {
		const struct tcp_ooo_node *n = tcp_ooo_node(t, in);
		uint32_t l = n->seq, r = n->seq + n->len;

		while (n->next >= 0 && tcp_ooo_node(t, n->next)->seq == r) {
			n = tcp_ooo_node(t, n->next);
			r = n->seq + n->len;
		}
		in = n->next;
		if (!have_first && seq_le(l, c->sack_last) &&
		    seq_lt(c->sack_last, r)) {
			blk[0][0] = l;
			blk[0][1] = r;
			have_first = true;
		} else if (no < TCP_SACK_BLOCKS - 1) {
			blk[1 + no][0] = l;
			blk[1 + no][1] = r;
			no++;
		}
	}
	opt[0] = TCPOPT_NOP;
	opt[1] = TCPOPT_NOP;
	opt[2] = TCPOPT_SACK;
	for (i = have_first ? 0 : 1; i < 1 + no; i++) {
		uint32_t l = htonl(blk[i][0]), r = htonl(blk[i][1]);

		memcpy(opt + 4 + 8 * nb, &l, 4);
		memcpy(opt + 8 + 8 * nb, &r, 4);
		nb++;
	}
	opt[3] = (uint8_t)(TCPOLEN_SACK_BASE + 8 * nb);
	return 4 + 8 * nb;
}

/**
 * tcp_ooo_drain() - Write queued segments that RCV.NXT has reached
 *
 * Stops at the next hole, or when the host socket takes no more (the rest
 * waits for EPOLLOUT, see tcp_write_host()).
 * Return: true if RCV.NXT moved, negative errno if the socket failed
 */
int tcp_ooo_drain(struct usernat *un, struct tcp_conn *c)
{
	struct un_tcp *t = un->tcp;
	uint32_t before = c->rcv_nxt;

	while (c->ooo_head >= 0) {
		struct tcp_ooo_node *n = tcp_ooo_node(t, c->ooo_head);
		uint32_t skip = c->rcv_nxt - n->seq;
		int32_t next = n->next;

		if (seq_gt(n->seq, c->rcv_nxt))
			break;
		if (skip < n->len) {
			ssize_t r = tcp_write_host(un, c, n->data + skip,
						   n->len - skip, true);

			if (r < 0)
				return (int)r;
			if ((size_t)r < n->len - skip)
				break;
		}
		tcp_ooo_release(t, c->ooo_head);
		c->ooo_head = next;
		c->ooo_count--;
	}
	return c->rcv_nxt != before;
}

/**
 * tcp_ooo_purge() - Drop what @c has queued (it is being freed)
 */
void tcp_ooo_purge(struct usernat *un, struct tcp_conn *c)
{
	struct un_tcp *t = un->tcp;

	while (c->ooo_head >= 0) {
		int32_t next = tcp_ooo_node(t, c->ooo_head)->next;

		tcp_ooo_release(t, c->ooo_head);
		c->ooo_head = next;
	}
	c->ooo_count = 0;
}

/**
 * tcp_ooo_init() - Size the pool's nodes: one frame's payload each
 */
void tcp_ooo_init(struct usernat *un)
{
	struct un_tcp *t = un->tcp;

	t->ooo_free = -1;
	t->ooo_stride = (uint32_t)(sizeof(struct tcp_ooo_node) + un->cfg.mtu +
				   7) & ~7U;
}

/**
 * tcp_ooo_trim() - Give the pool's memory back once nothing is queued
 * @force:	even if something is (the instance is going away)
 */
void tcp_ooo_trim(struct un_tcp *t, bool force)
{
	uint32_t i;

	if ((t->ooo_used && !force) || !t->ooo_nchunks)
		return;
	for (i = 0; i < t->ooo_nchunks; i++)
		g_free(t->ooo_chunk[i]);
	g_free(t->ooo_chunk);
	t->ooo_chunk = NULL;
	t->ooo_nchunks = 0;
	t->ooo_cap = 0;
	t->ooo_free = -1;
}
