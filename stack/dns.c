// SPDX-License-Identifier: GPL-2.0-or-later
/* dns.c - DNS forwarder (RFC 1035) at the DNS address, port 53
 *
 * DOC: Theory of operation
 *
 * Guests send queries to the DNS address (10.0.2.3 by default) or, over
 * IPv6, to dns6 (prefix::3); we forward each one, unmodified apart from its
 * ID, to an upstream server and relay the answer back, with the guest's ID,
 * from the address the guest asked and port 53.  The guest's family and
 * the upstream's are independent (AAAA queries are just queries).
 *
 * Upstreams: the dns-upstream options if given (IPv4 or IPv6, any port),
 * else the "nameserver" lines of resolv-conf (default /etc/resolv.conf; at
 * most three, as the C library's MAXNS), else 127.0.0.1, which is what the
 * C library itself falls back to with no nameserver line (resolv.conf(5)).
 * A loopback resolver such as 127.0.0.53 is fine: our sockets are the
 * host's.  The file's identity and mtime are checked in the 1 s tick and the
 * list re-read when they change.  Each upstream has one connected UDP
 * socket: the kernel passes us only datagrams from that server, and an ICMP
 * port unreachable comes back as ECONNREFUSED on it.
 *
 * Pending queries sit in a fixed table of DNS_PENDING entries, allocated
 * once, found by the fresh random 16-bit ID we sent upstream (an array
 * indexed by ID), and kept on a list oldest first: when the table is full
 * the oldest query is evicted (the guest's resolver retries).  A reply is
 * accepted only from an upstream the query was sent to (the connected
 * socket), with a known ID, at least a header long, with QR set and the
 * question of the query.  A query is kept whole when it fits DNS_QSTORE
 * bytes (nearly all do), so it can be sent again.
 *
 * Failure: an upstream that refuses (ECONNREFUSED) or stays silent for
 * DNS_TRY_MS is marked failed for DNS_FAILED_MS, so new queries go to the
 * next one first, and its pending queries move on to the next upstream;
 * after the last one (and DNS_LAST_TRY_MS of silence) the guest gets a
 * SERVFAIL (RFC 1035 4.1.1 RCODE 2) built from its query's header and
 * question, so its resolver fails at once instead of timing out.  A reply
 * too big for the guest MTU goes out as header and question with TC set
 * (RFC 1035 4.2.1, RFC 2181 9), and the guest retries over TCP, which tcp.c
 * forwards to dns_tcp_upstream().
 *
 * Guest bytes are read through struct pkt only; a malformed query is
 * dropped and counted.  Pending queries are not NAT flows: they are not
 * charged against the flow limits, the bounded table is their limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stack.h"
#include "wire/ip4.h"
#include "wire/ip6.h"
#include "wire/udp.h"

#define DNS_PORT		53
#define DNS_HLEN		12	/* RFC 1035 4.1.1 */
#define DNS_PENDING		1024	/* queries awaiting an answer */
#define DNS_QSTORE		512	/* bytes of a query kept (RFC 1035 4.2.1) */
#define DNS_MAX_UPSTREAMS	16
#define DNS_RESOLV_MAXNS	3	/* nameservers used from resolv.conf */
#define DNS_TRY_MS		1000	/* silence before the next upstream */
#define DNS_LAST_TRY_MS		2000	/* silence before SERVFAIL */
#define DNS_FAILED_MS		30000	/* a failed upstream is tried last */
#define DNS_READS		32	/* replies per socket per wake-up */
#define DNS_RESOLV_CHECK_MS	1000	/* resolv.conf change check */

/* Header flags, RFC 1035 4.1.1 (in the second 16-bit word) */
#define DNS_QR			0x8000
#define DNS_TC			0x0200
#define DNS_RA			0x0080
#define DNS_RCODE_MASK		0x000f
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_REFUSED	5

struct dns_upstream {
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;			/* connected UDP socket, or -1 */
	int64_t failed_ms;	/* when it last refused or timed out */
};

struct dns_query {
	GList link;		/* in un_dns.pending or un_dns.free */
	bool used;
	uint16_t up_id;		/* ID sent upstream (host order) */
	bool v6;		/* asked over IPv6, at dns6 */
	uint8_t gaddr[16];	/* guest: IPv4 (network order) in the first
				 * 4 bytes, or IPv6 */
	uint16_t gport;		/* guest's source port, network order */
	uint8_t mac[ETH_ALEN];
	uint8_t up;		/* upstream asked last */
	uint8_t tries;		/* upstreams asked so far */
	uint32_t asked;		/* bitmap of upstreams asked */
	int64_t deadline_ms;	/* when to give up on the current one */
	uint16_t len;		/* query length */
	uint16_t qend;		/* end of the question section */
	bool whole;		/* q holds the whole query, not just the
				 * header and question */
	uint8_t q[DNS_QSTORE];	/* the query, with the guest's ID */
};

struct un_dns {
	struct dns_upstream up[DNS_MAX_UPSTREAMS];
	unsigned int nup;
	bool from_resolv;	/* upstreams come from resolv-conf */
	struct stat resolv_st;	/* what we read last (st_ino 0: nothing) */
	int64_t resolv_check_ms;
	struct dns_query q[DNS_PENDING];
	GQueue pending;		/* oldest first */
	GQueue free;
	uint16_t by_id[65536];	/* upstream ID -> q index + 1, 0: none */
	uint16_t rnd[64];	/* random IDs, refilled from getrandom() */
	unsigned int nrnd;
	uint8_t buf[65536];	/* one reply */
};

/**
 * dns_ss_str() - Printable "ADDR:PORT" or "[ADDR6]:PORT" of an upstream
 * Return: @buf
 */
static const char *dns_ss_str(const struct sockaddr_storage *ss,
			      char buf[INET6_ADDRSTRLEN + 8])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, INET6_ADDRSTRLEN + 8, "%s:%u", a,
			 ntohs(sin->sin_port));
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, INET6_ADDRSTRLEN + 8, "[%s]:%u", a,
			 ntohs(sin6->sin6_port));
	}
	return buf;
}

/**
 * dns_random_id() - A fresh random 16-bit ID, unpredictable to spoofers
 *
 * IDs come from getrandom() in blocks of 64 (RFC 5452 9.2: the ID is half
 * of what an off-path attacker must guess).  Return: the ID
 */
static uint16_t dns_random_id(struct un_dns *d)
{
	if (!d->nrnd) {
		if (getrandom(d->rnd, sizeof(d->rnd), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(d->rnd)) {
			unsigned int i;

			for (i = 0; i < G_N_ELEMENTS(d->rnd); i++)
				d->rnd[i] = (uint16_t)g_random_int();
		}
		d->nrnd = G_N_ELEMENTS(d->rnd);
	}
	return d->rnd[--d->nrnd];
}

/*
 * Upstream servers
 */

/**
 * dns_upstream_open() - Open the connected socket of upstream @u
 * Return: 0 or negative errno (then u->fd is -1)
 */
static int dns_upstream_open(struct usernat *un, struct dns_upstream *u,
			     unsigned int idx)
{
	int fd, ret;

	u->fd = -1;
	fd = socket(u->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&u->ss, u->len)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = un_epoll_add(un, fd, EPOLLIN, UN_EP_DNS, idx);
	if (ret) {
		close(fd);
		return ret;
	}
	u->fd = fd;
	return 0;
}

/** dns_upstreams_close() - Close all upstream sockets; the list empties */
static void dns_upstreams_close(struct usernat *un)
{
	struct un_dns *d = un->dns;
	unsigned int i;

	for (i = 0; i < d->nup; i++) {
		if (d->up[i].fd < 0)
			continue;
		un_epoll_del(un, d->up[i].fd);
		close(d->up[i].fd);
		d->up[i].fd = -1;
	}
	d->nup = 0;
}

/**
 * dns_resolv_parse() - Read "nameserver ADDR" lines of a resolv.conf
 * @path:	file name
 * @out:	at most @max upstreams, port 53, output
 *
 * Addresses are numeric (IPv4, or IPv6 with an optional %scope), as
 * resolv.conf(5) requires.  Return: number found, 0 if none or unreadable
 */
static unsigned int dns_resolv_parse(const char *path,
				     struct dns_upstream *out,
				     unsigned int max)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char line[512], *tok, *save;
	unsigned int n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || strcmp(tok, "nameserver"))
			continue;
		tok = strtok_r(NULL, " \t\r\n", &save);
		if (!tok || getaddrinfo(tok, "53", &hints, &ai))
			continue;
		if (ai->ai_addrlen <= sizeof(out[n].ss)) {
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
			out[n].len = ai->ai_addrlen;
			n++;
		}
		freeaddrinfo(ai);
	}
	fclose(f);
	return n;
}

/**
 * dns_upstreams_list() - The upstreams the configuration asks for now
 * @out:	DNS_MAX_UPSTREAMS entries, output (sockets not opened)
 * @why:	where they came from, output, for the log
 *
 * Return: how many (at least one: 127.0.0.1 is the last resort)
 */
static unsigned int dns_upstreams_list(struct usernat *un,
				       struct dns_upstream *out,
				       const char **why)
{
	const GArray *cfg = un->cfg.dns_upstreams;
	struct sockaddr_in *sin;
	unsigned int i, n;

	if (cfg && cfg->len) {
		for (i = 0; i < cfg->len && i < DNS_MAX_UPSTREAMS; i++) {
			memset(&out[i], 0, sizeof(out[i]));
			out[i].ss = g_array_index(cfg, struct sockaddr_storage,
						  i);
			out[i].len = out[i].ss.ss_family == AF_INET6 ?
				     sizeof(struct sockaddr_in6) :
				     sizeof(struct sockaddr_in);
		}
		*why = "configured";
		return i;
	}
	n = dns_resolv_parse(un->cfg.resolv_conf, out, DNS_RESOLV_MAXNS);
	*why = un->cfg.resolv_conf;
	if (n)
		return n;
	/* resolv.conf(5): with no nameserver, the local machine's */
	memset(&out[0], 0, sizeof(out[0]));
	sin = (struct sockaddr_in *)&out[0].ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(DNS_PORT);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	out[0].len = sizeof(*sin);
	*why = "no nameserver in resolv-conf, the C library's default";
	return 1;
}

/**
 * dns_upstreams_load() - (Re)build the upstream list and open its sockets
 *
 * Return: true if the list changed (pending queries must move on)
 */
static bool dns_upstreams_load(struct usernat *un)
{
	struct dns_upstream next[DNS_MAX_UPSTREAMS];
	struct un_dns *d = un->dns;
	char a[INET6_ADDRSTRLEN + 8];
	GString *msg;
	const char *why;
	unsigned int n, i;
	int ret;

	n = dns_upstreams_list(un, next, &why);
	for (i = 0; n == d->nup && i < n; i++)
		if (next[i].len != d->up[i].len ||
		    memcmp(&next[i].ss, &d->up[i].ss, next[i].len))
			break;
	if (n == d->nup && i == n)
		return false;

	dns_upstreams_close(un);
	msg = g_string_new(NULL);
	for (i = 0; i < n; i++) {
		d->up[i] = next[i];
		ret = dns_upstream_open(un, &d->up[i], i);
		g_string_append_printf(msg, "%s%s", i ? ", " : "",
				       dns_ss_str(&d->up[i].ss, a));
		if (ret)
			g_string_append_printf(msg, " (unusable: %s)",
					       strerror(-ret));
	}
	d->nup = n;
	un_info(un, "DNS forwarder: upstream %s (%s)", msg->str, why);
	g_string_free(msg, TRUE);
	return true;
}

/**
 * dns_upstream_first() - The upstream a new query goes to
 *
 * The first usable one that has not failed lately, else the first usable.
 * Return: index, or -1 if no upstream has a socket
 */
static int dns_upstream_first(struct un_dns *d, int64_t now)
{
	int fallback = -1;
	unsigned int i;

	for (i = 0; i < d->nup; i++) {
		if (d->up[i].fd < 0)
			continue;
		if (!d->up[i].failed_ms ||
		    now - d->up[i].failed_ms >= DNS_FAILED_MS)
			return (int)i;
		if (fallback < 0)
			fallback = (int)i;
	}
	return fallback;
}

/**
 * dns_tcp_upstream() - Where tcp.c forwards guest TCP to the DNS address
 * @ss, @len:	the upstream's address (and port), output
 *
 * The upstream a new UDP query would go to: the first one that has not
 * failed lately.  Return: 0, or -ENOENT if there is none
 */
int dns_tcp_upstream(struct usernat *un, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct un_dns *d = un->dns;
	int i;

	g_return_val_if_fail(ss && len, -EINVAL);
	if (!d || !d->nup)
		return -ENOENT;
	i = dns_upstream_first(d, un_now_ms());
	if (i < 0)
		i = 0;
	*ss = d->up[i].ss;
	*len = d->up[i].len;
	return 0;
}

/*
 * Pending queries
 */

/** dns_query_free() - Forget pending query @q; its ID is free again */
static void dns_query_free(struct un_dns *d, struct dns_query *q)
{
	g_queue_unlink(&d->pending, &q->link);
	d->by_id[q->up_id] = 0;
	q->used = false;
	g_queue_push_tail_link(&d->free, &q->link);
}

/**
 * dns_query_alloc() - A free entry, evicting the oldest query if need be
 * Return: entry, linked at the tail of the pending list, with a fresh ID
 */
static struct dns_query *dns_query_alloc(struct usernat *un)
{
	struct un_dns *d = un->dns;
	struct dns_query *q;
	GList *l = g_queue_pop_head_link(&d->free);
	uint16_t id;

	if (!l) {
		q = g_queue_peek_head(&d->pending);
		UN_COUNT(un, dns_evicted);
		dns_query_free(d, q);
		l = g_queue_pop_head_link(&d->free);
	}
	q = l->data;
	do {
		id = dns_random_id(d);
	} while (d->by_id[id]);
	q->up_id = id;
	q->used = true;
	d->by_id[id] = (uint16_t)(q - d->q + 1);
	g_queue_push_tail_link(&d->pending, &q->link);
	return q;
}

/** dns_out_payload() - Where the UDP payload toward @q's guest goes */
static uint8_t *dns_out_payload(struct usernat *un, const struct dns_query *q)
{
	return q->v6 ? udp6_out_payload(un) : udp4_out_payload(un);
}

/** dns_out_max() - The largest reply @q's guest takes without truncation */
static size_t dns_out_max(const struct usernat *un, const struct dns_query *q)
{
	return un->cfg.mtu - (q->v6 ? IP6_HLEN : IP4_HLEN) - UDP_HLEN;
}

/**
 * dns_to_guest() - Send @len bytes at dns_out_payload() to @q's guest,
 * from the DNS address it asked (dns or dns6), port 53
 */
static void dns_to_guest(struct usernat *un, const struct dns_query *q,
			 size_t len)
{
	uint32_t a4;

	if (q->v6) {
		udp6_out_send(un, q->mac, un->cfg.dns6, htons(DNS_PORT),
			      q->gaddr, q->gport, len);
		return;
	}
	memcpy(&a4, q->gaddr, 4);
	udp4_out_send(un, q->mac, un->cfg.dns, htons(DNS_PORT), a4, q->gport,
		      len);
}

/**
 * dns_short_reply() - Answer @q with its own header and question only
 * @flags:	QR, TC, RCODE... to set on the query's flags (opcode, RD kept)
 *
 * For SERVFAIL (RFC 1035 4.1.1, RCODE 2) and for a truncated reply (TC,
 * RFC 2181 9): ANCOUNT, NSCOUNT and ARCOUNT are zero.
 */
static void dns_short_reply(struct usernat *un, const struct dns_query *q,
			    uint16_t flags)
{
	uint8_t *p = dns_out_payload(un, q);
	uint16_t f;

	memcpy(p, q->q, q->qend);
	f = (uint16_t)(p[2] << 8 | p[3]);
	f = (f & 0x7910) | flags;	/* keep opcode, RD, CD */
	p[2] = (uint8_t)(f >> 8);
	p[3] = (uint8_t)f;
	memset(p + 6, 0, 6);
	dns_to_guest(un, q, q->qend);
}

/** dns_servfail() - Give up on @q: SERVFAIL to its guest, @q is freed */
static void dns_servfail(struct usernat *un, struct dns_query *q)
{
	UN_COUNT(un, dns_servfail);
	dns_short_reply(un, q, DNS_QR | DNS_RA | DNS_RCODE_SERVFAIL);
	dns_query_free(un->dns, q);
}

/**
 * dns_query_send() - Send @q (or, first time, @payload) to upstream @up
 * @payload:	the guest's query when it is not stored whole, else NULL
 *
 * The query goes out unmodified apart from the ID, gathered from the ID and
 * the rest of the guest's bytes.  Return: 0 or negative errno
 */
static int dns_query_send(struct usernat *un, struct dns_query *q,
			  unsigned int up, const struct pkt *payload)
{
	struct dns_upstream *u = &un->dns->up[up];
	uint8_t id[2] = { (uint8_t)(q->up_id >> 8), (uint8_t)q->up_id };
	struct iovec iov[2] = { { .iov_base = id, .iov_len = 2 } };

	if (payload) {
		iov[1].iov_base = (void *)(payload->p + 2);
		iov[1].iov_len = payload->len - 2;
	} else {
		iov[1].iov_base = q->q + 2;
		iov[1].iov_len = (size_t)q->len - 2;
	}
	q->up = (uint8_t)up;
	q->tries++;
	q->asked |= 1U << up;
	if (u->fd < 0)
		return -ENOTCONN;
	if (writev(u->fd, iov, 2) < 0)
		return -errno;
	return 0;
}

/**
 * dns_query_next() - Try @q with the next upstream, or give up: SERVFAIL
 * @now:	monotonic time
 *
 * Only whole queries can be sent again.  Each upstream is tried once.
 */
static void dns_query_next(struct usernat *un, struct dns_query *q,
			   int64_t now)
{
	struct un_dns *d = un->dns;
	unsigned int up, n;

	for (n = 0; q->whole && q->tries < d->nup && n < d->nup; n++) {
		up = (q->up + 1 + n) % d->nup;
		if (q->asked & (1U << up))
			continue;
		if (dns_query_send(un, q, up, NULL)) {
			UN_COUNT(un, dns_upstream_errors);
			d->up[up].failed_ms = now;
			continue;
		}
		UN_COUNT(un, dns_retries);
		q->deadline_ms = now + (q->tries < d->nup ? DNS_TRY_MS :
					DNS_LAST_TRY_MS);
		return;
	}
	dns_servfail(un, q);
}

/**
 * dns_upstream_failed() - Upstream @up refused: move its queries on
 */
static void dns_upstream_failed(struct usernat *un, unsigned int up,
				int64_t now)
{
	struct un_dns *d = un->dns;
	GList *l, *next;

	UN_COUNT(un, dns_upstream_errors);
	d->up[up].failed_ms = now;
	for (l = d->pending.head; l; l = next) {
		struct dns_query *q = l->data;

		next = l->next;		/* q may be freed or moved */
		if (q->up == up)
			dns_query_next(un, q, now);
	}
}

/**
 * dns_question_end() - Offset just past the question section of a query
 * @c:		cursor over the whole message (untrusted)
 * @qdcount:	number of questions
 *
 * Walks each QNAME label by label (RFC 1035 4.1.2, 3.1: lengths up to 63,
 * names up to 255 bytes; a compression pointer, 4.1.4, ends a name) and its
 * QTYPE and QCLASS.  Return: offset, or 0 if malformed
 */
static size_t dns_question_end(const struct pkt *msg, uint16_t qdcount)
{
	struct pkt c = *msg;
	size_t name;
	uint8_t l;

	if (!pkt_pull(&c, DNS_HLEN))
		return 0;
	while (qdcount--) {
		for (name = 0;; name += (size_t)l + 1) {
			if (pkt_u8(&c, &l) || name > 255)
				return 0;
			if (!l)
				break;
			if ((l & 0xc0) == 0xc0) {
				if (pkt_u8(&c, &l))
					return 0;
				break;
			}
			if ((l & 0xc0) || !pkt_pull(&c, l))
				return 0;
		}
		if (!pkt_pull(&c, 4))
			return 0;
	}
	return (size_t)(c.p - msg->p);
}

/**
 * dns_query_check() - Is @payload a query we can forward?
 * Return: end of its question section, or 0 if malformed (counted)
 */
static size_t dns_query_check(struct usernat *un, const struct pkt *payload)
{
	struct pkt c = *payload;
	uint16_t id, flags, qdcount;
	size_t qend;

	if (pkt_be16(&c, &id) || pkt_be16(&c, &flags) ||
	    pkt_be16(&c, &qdcount) || (flags & DNS_QR) ||
	    !(qend = dns_question_end(payload, qdcount)) ||
	    qend > DNS_QSTORE) {
		UN_COUNT(un, drop_dns_malformed);
		return 0;
	}
	return qend;
}

/**
 * dns_query_start() - Forward a new query @q upstream, or refuse it
 * @q:		fresh entry, guest fields set
 * @payload:	the guest's query (untrusted; not kept past the call)
 * @qend:	end of its question section (dns_query_check())
 * @refuse:	nonzero if the egress policy refused it: REFUSED (RFC 1035
 *		4.1.1) at once rather than a timeout
 */
static void dns_query_start(struct usernat *un, struct dns_query *q,
			    const struct pkt *payload, size_t qend,
			    int refuse)
{
	struct un_dns *d = un->dns;
	int64_t now = un_now_ms();
	int up, ret;

	q->tries = 0;
	q->asked = 0;
	q->qend = (uint16_t)qend;
	q->len = (uint16_t)MIN(payload->len, DNS_QSTORE);
	q->whole = payload->len <= DNS_QSTORE;
	memcpy(q->q, payload->p, q->len);

	if (refuse) {
		if (!q->v6)	/* udp_policy6_refuse() counted it */
			UN_COUNT(un, drop_policy);
		dns_short_reply(un, q, DNS_QR | DNS_RCODE_REFUSED);
		dns_query_free(d, q);
		return;
	}
	up = dns_upstream_first(d, now);
	if (up < 0) {
		dns_servfail(un, q);
		return;
	}
	UN_COUNT(un, dns_queries);
	q->deadline_ms = now + (d->nup > 1 && q->whole ? DNS_TRY_MS :
				DNS_LAST_TRY_MS);
	ret = dns_query_send(un, q, (unsigned int)up,
			     q->whole ? NULL : payload);
	if (ret == -EAGAIN || ret == -ENOBUFS)
		dns_query_next(un, q, now);	/* this one, not the server */
	else if (ret)
		dns_upstream_failed(un, (unsigned int)up, now);
}

/**
 * dns_from_guest() - A query from a guest to the DNS address, port 53
 * @sport:	the guest's source port, network order
 * @payload:	the UDP payload (untrusted; not kept past the call)
 */
void dns_from_guest(struct usernat *un, const struct ip4_in *ip,
		    uint16_t sport, const struct pkt *payload)
{
	struct dns_query *q;
	size_t qend = dns_query_check(un, payload);

	if (!qend)
		return;
	q = dns_query_alloc(un);
	q->v6 = false;
	memcpy(q->gaddr, &ip->saddr, 4);
	q->gport = sport;
	memcpy(q->mac, ip->src_mac, ETH_ALEN);
	/* Egress policy (policy.c): our address and port 53 stand for the
	 * upstreams (--restrict refuses DNS unless allowed) */
	dns_query_start(un, q, payload, qend,
			policy_check(un, IPPROTO_UDP4, ip->daddr, DNS_PORT));
}

/**
 * dns_from_guest6() - A query from a guest to dns6, port 53
 * @ip:		the query's packet (validated by udp.c)
 * @sport:	the guest's source port, network order
 * @payload:	the UDP payload (untrusted; not kept past the call)
 *
 * As over IPv4; the reply goes back from dns6.  The policy sees dns6 as
 * the IPv4 DNS address (udp_policy6_refuse()).
 */
void dns_from_guest6(struct usernat *un, const struct ip6_in *ip,
		     uint16_t sport, const struct pkt *payload)
{
	struct dns_query *q;
	size_t qend = dns_query_check(un, payload);
	bool refused;

	if (!qend)
		return;
	refused = udp_policy6_refuse(un, ip, DNS_PORT, true);
	q = dns_query_alloc(un);
	q->v6 = true;
	memcpy(q->gaddr, ip->saddr, 16);
	q->gport = sport;
	memcpy(q->mac, ip->src_mac, ETH_ALEN);
	dns_query_start(un, q, payload, qend, refused ? -EACCES : 0);
}

/*
 * Replies
 */

/**
 * dns_reply() - Check a reply from upstream @up and relay it to its guest
 * @len:	bytes at d->buf
 */
static void dns_reply(struct usernat *un, unsigned int up, size_t len)
{
	struct un_dns *d = un->dns;
	const uint8_t *r = d->buf;
	struct dns_query *q;
	uint16_t id, qd;
	uint8_t *p;

	if (len < DNS_HLEN || !(r[2] & 0x80)) {
		UN_COUNT(un, drop_dns_reply);
		return;
	}
	id = (uint16_t)(r[0] << 8 | r[1]);
	qd = (uint16_t)(r[4] << 8 | r[5]);
	q = d->by_id[id] ? &d->q[d->by_id[id] - 1] : NULL;
	/* The question must be the query's, unless the server sent none
	 * (some FORMERR and NOTIMP answers) */
	if (!q || !(q->asked & (1U << up)) ||
	    (qd && (len < q->qend || memcmp(r + 4, q->q + 4, 2) ||
		    memcmp(r + DNS_HLEN, q->q + DNS_HLEN,
			   q->qend - DNS_HLEN)))) {
		UN_COUNT(un, drop_dns_reply);
		return;
	}
	if (len > dns_out_max(un, q)) {
		/* RFC 2181 9: too big, say so; the guest asks over TCP */
		UN_COUNT(un, dns_truncated);
		dns_short_reply(un, q, DNS_QR | DNS_TC |
				(uint16_t)((r[2] << 8 | r[3]) & 0x048f));
	} else {
		p = dns_out_payload(un, q);
		memcpy(p, r, len);
		memcpy(p, q->q, 2);	/* the guest's ID */
		UN_COUNT(un, dns_replies);
		dns_to_guest(un, q, len);
	}
	dns_query_free(d, q);
}

/**
 * dns_ready() - Replies (or an error) on upstream socket @ref.idx
 */
void dns_ready(struct usernat *un, union un_ref ref, uint32_t events)
{
	struct un_dns *d = un->dns;
	unsigned int up = ref.idx;
	ssize_t n;
	int r;

	if (!d || up >= d->nup || d->up[up].fd < 0)
		return;
	for (r = 0; r < DNS_READS; r++) {
		n = recv(d->up[up].fd, d->buf, sizeof(d->buf), MSG_DONTWAIT);
		if (n >= 0) {
			dns_reply(un, up, (size_t)n);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* ECONNREFUSED, EHOSTUNREACH...: reported once, go on */
		un_debug(un, "DNS: upstream %u: %s", up, strerror(errno));
		dns_upstream_failed(un, up, un_now_ms());
	}
}

/**
 * dns_resolv_changed() - Has resolv-conf changed since we read it?
 *
 * Compares device, inode, size and mtime: editors and resolvconf replace
 * the file, others rewrite it in place.  Return: true if it has
 */
static bool dns_resolv_changed(struct usernat *un)
{
	struct un_dns *d = un->dns;
	struct stat st;

	if (stat(un->cfg.resolv_conf, &st))
		memset(&st, 0, sizeof(st));
	if (st.st_dev == d->resolv_st.st_dev &&
	    st.st_ino == d->resolv_st.st_ino &&
	    st.st_size == d->resolv_st.st_size &&
	    st.st_mtim.tv_sec == d->resolv_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == d->resolv_st.st_mtim.tv_nsec)
		return false;
	d->resolv_st = st;
	return true;
}

/**
 * dns_tick() - Time out upstream attempts; notice a new resolv-conf
 *
 * The pending list is bounded (DNS_PENDING) and only unanswered queries are
 * on it, so a walk is cheap.
 */
void dns_tick(struct usernat *un, int64_t now_ms)
{
	struct un_dns *d = un->dns;
	struct dns_query *q;
	GList *l, *next;
	bool reload = false;

	if (!d)
		return;
	if (d->from_resolv &&
	    now_ms - d->resolv_check_ms >= DNS_RESOLV_CHECK_MS) {
		d->resolv_check_ms = now_ms;
		reload = dns_resolv_changed(un) && dns_upstreams_load(un);
	}
	for (l = d->pending.head; l; l = next) {
		q = l->data;
		next = l->next;
		if (reload) {
			/* New servers: start over with the first one */
			q->asked = 0;
			q->tries = 0;
			q->up = (uint8_t)(d->nup - 1);
			dns_query_next(un, q, now_ms);
		} else if (now_ms >= q->deadline_ms) {
			UN_COUNT(un, dns_timeouts);
			d->up[q->up].failed_ms = now_ms;
			dns_query_next(un, q, now_ms);
		}
	}
}

/**
 * dns_init() - Set up the forwarder: upstream list and sockets
 *
 * Return: 0 (an upstream that can't be reached now is not fatal: its
 * queries get SERVFAIL)
 */
int dns_init(struct usernat *un)
{
	struct un_dns *d = g_new0(struct un_dns, 1);
	unsigned int i;

	un->dns = d;
	g_queue_init(&d->pending);
	g_queue_init(&d->free);
	for (i = 0; i < DNS_PENDING; i++) {
		d->q[i].link.data = &d->q[i];
		g_queue_push_tail_link(&d->free, &d->q[i].link);
	}
	d->from_resolv = !un->cfg.dns_upstreams || !un->cfg.dns_upstreams->len;
	if (d->from_resolv)
		dns_resolv_changed(un);
	d->resolv_check_ms = un_now_ms();
	dns_upstreams_load(un);
	return 0;
}

/**
 * dns_cleanup() - Close upstream sockets, free the forwarder; safe if
 * never set up
 */
void dns_cleanup(struct usernat *un)
{
	if (!un->dns)
		return;
	dns_upstreams_close(un);
	g_free(un->dns);
	un->dns = NULL;
}
