// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp_sack.c - TCP NAT: what the guest's SACK blocks tell us (RFC 2018,
 * RFC 6675), as the sender toward it
 *
 * DOC: Theory of operation
 *
 * When the guest allows SACK, its duplicate ACKs carry blocks naming the
 * data it holds past a hole.  We keep a small scoreboard per connection:
 * up to TCP_SACK_BLOCKS merged ranges above SND.UNA, sorted, the lowest
 * kept when there are more (holes near SND.UNA matter first).  It serves
 * two things:
 *  - counting duplicate ACKs: a Linux receiver's window grows in every
 *    ACK, so RFC 5681's "same window" test would miss them; an ACK that
 *    carries SACK blocks is a duplicate whatever its window;
 *  - fast recovery: each duplicate ACK lets one hole the scoreboard shows
 *    be resent (tcp_sack_hole(), from tcp_dupack()), so several losses in
 *    one window are repaired in one round trip instead of one per round
 *    trip (NewReno).
 * SACKed data stays in the host socket like any unacknowledged data (the
 * guest may renege, RFC 2018 8): only the cumulative ACK discards it.  The
 * scoreboard is cleared at a retransmission timeout.
 */
#include <arpa/inet.h>
#include <string.h>

#include "tcp_internal.h"

/**
 * tcp_sack_add() - Merge [l, r) into the scoreboard
 */
static void tcp_sack_add(struct tcp_conn *c, uint32_t l, uint32_t r)
{
	uint32_t (*b)[2] = c->sacked;
	unsigned int i, j, n = c->nsacked;

	/* absorb every range that overlaps or touches [l, r) */
	for (i = 0; i < n;) {
		if (seq_lt(b[i][1], l) || seq_lt(r, b[i][0])) {
			i++;
			continue;
		}
		if (seq_lt(b[i][0], l))
			l = b[i][0];
		if (seq_gt(b[i][1], r))
			r = b[i][1];
		memmove(&b[i], &b[i + 1], (n - i - 1) * sizeof(b[0]));
		n--;
	}
	for (i = 0; i < n && seq_lt(b[i][0], l); i++)
		;
	if (i == TCP_SACK_BLOCKS) {
		c->nsacked = (uint8_t)n;
		return;			/* the highest: no room, dropped */
	}
	j = MIN(n, TCP_SACK_BLOCKS - 1);
	memmove(&b[i + 1], &b[i], (j - i) * sizeof(b[0]));
	b[i][0] = l;
	b[i][1] = r;
	c->nsacked = (uint8_t)(j + 1);
}

/**
 * tcp_sack_input() - Take the SACK blocks of a guest ACK
 * @opts:	the segment's option area (untrusted)
 *
 * Blocks outside (SND.UNA, SND.MAX] or empty are ignored (RFC 2018 leaves
 * validation to us; RFC 6675 4 ignores what can't be right).
 * Return: number of valid blocks taken
 */
unsigned int tcp_sack_input(struct tcp_conn *c, struct pkt opts)
{
	unsigned int taken = 0;
	uint8_t type;
	struct pkt v;

	if (!(c->flags & TF_SACK))
		return 0;
	while (pkt_tlv_next(&opts, &type, &v, 1, TCPOPT_EOL, TCPOPT_NOP) > 0) {
		if (type == TCPOPT_EOL)
			break;
		if (type != TCPOPT_SACK || v.len % 8)
			continue;
		while (v.len) {
			uint32_t l = 0, r = 0;

			if (pkt_be32(&v, &l) || pkt_be32(&v, &r))
				break;
			if (!seq_lt(l, r) || !seq_gt(r, c->snd_una) ||
			    seq_gt(r, c->snd_max) || seq_lt(l, c->snd_una))
				continue;
			tcp_sack_add(c, l, r);
			taken++;
		}
	}
	return taken;
}

/**
 * tcp_sack_prune() - SND.UNA moved: forget what it covers
 */
void tcp_sack_prune(struct tcp_conn *c)
{
	unsigned int i = 0;

	while (i < c->nsacked && !seq_gt(c->sacked[i][1], c->snd_una))
		i++;
	if (i) {
		memmove(&c->sacked[0], &c->sacked[i],
			(c->nsacked - i) * sizeof(c->sacked[0]));
		c->nsacked = (uint8_t)(c->nsacked - i);
	}
}

/**
 * tcp_sack_hole() - The first hole at or after @from below SACKed data
 * @len:	its length, output (0: none)
 * Return: its first byte
 */
uint32_t tcp_sack_hole(const struct tcp_conn *c, uint32_t from,
		       uint32_t *len)
{
	unsigned int i;

	*len = 0;
	for (i = 0; i < c->nsacked; i++) {
		if (seq_lt(from, c->sacked[i][0])) {
			*len = c->sacked[i][0] - from;
			return from;
		}
		if (seq_lt(from, c->sacked[i][1]))
			from = c->sacked[i][1];
	}
	return from;
}
