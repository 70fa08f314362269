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
 * exceeded) are relayed quoting the guest's request.  Flows are in a seeded
 * hash table, and on a list in order of last use from which the 1 s tick
 * expires those idle for a minute; each is charged with un_flow_charge().
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

#define ICMP_FLOW_TIMEOUT_MS	60000	/* idle echo flows end after this */
#define ICMP_READS		16	/* messages per socket per wake-up */
#define ICMP_PROBE_MS		60000	/* re-check for sockets, when off */
#define ICMP_LOG_MS		10000	/* at most one warning per 10 s */
#define ICMP_RAW_REF		0	/* epoll idx of the shared raw socket */

#ifndef ICMP_FILTER
#define ICMP_FILTER		1	/* linux/icmp.h: SOL_RAW, blocked types */
#endif

enum icmp_mode {
	ICMP_MODE_NONE,		/* only the gateway answers */
	ICMP_MODE_PING,		/* one unprivileged ping socket per flow */
	ICMP_MODE_RAW,		/* one raw socket, identifiers mapped here */
};

/* An echo flow as the guest sees it; network order */
struct icmp_key {
	uint32_t seed;		/* the table's hash seed, not compared */
	uint32_t gaddr;		/* guest */
	uint32_t daddr;		/* address the guest pings */
	uint16_t gid;		/* guest's echo identifier */
};

struct icmp_flow {
	struct icmp_key key;
	GList lru;		/* link in un_icmp.lru; data: this flow */
	uint8_t mac[ETH_ALEN];	/* guest's Ethernet address */
	int fd;			/* ping socket; -1 in raw mode */
	uint16_t sid;		/* echo identifier on the host side */
	uint32_t ref;		/* epoll idx (ping mode) */
	int64_t created_ms;
	int64_t last_ms;
	uint64_t bytes_from_guest;	/* ICMP message bytes, for listing */
	uint64_t bytes_to_guest;
};

struct un_icmp {
	enum icmp_mode mode;
	int raw_fd;		/* raw mode: the one socket, else -1 */
	GHashTable *by_key;	/* struct icmp_key * -> struct icmp_flow * */
	GHashTable *by_ref;	/* ping mode: ref -> flow */
	GHashTable *by_sid;	/* raw mode: host identifier -> flow */
	GQueue lru;		/* flows, least recently used first */
	uint32_t seed;
	uint32_t next_ref;
	int64_t probe_ms;	/* last look for usable sockets */
	int64_t last_log_ms;
	uint8_t buf[65536];	/* one message in or out */
};

/** icmp_key_hash() - Hash of an echo flow key, seeded; Return: hash */
static guint icmp_key_hash(gconstpointer p)
{
	const struct icmp_key *k = p;
	uint64_t h = k->seed;

	h ^= (uint64_t)k->gaddr << 32 | k->daddr;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= k->gid;
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return (guint)(h ^ (h >> 32));
}

/** icmp_key_equal() - Same flow?  The seed is not part of the key */
static gboolean icmp_key_equal(gconstpointer a, gconstpointer b)
{
	const struct icmp_key *x = a, *y = b;

	return x->gaddr == y->gaddr && x->daddr == y->daddr &&
	       x->gid == y->gid;
}

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

/** icmp_flow_debug() - One debug line about echo flow @f: @what happened */
static void icmp_flow_debug(const struct usernat *un,
			    const struct icmp_flow *f, const char *what)
{
	char g[16], d[16];

	un_debug(un, "ICMP echo flow %s id %u -> %s (host id %u): %s",
		 un_ip4_str(f->key.gaddr, g), ntohs(f->key.gid),
		 un_ip4_str(f->key.daddr, d), ntohs(f->sid), what);
}

/**
 * icmp_flow_free() - End an echo flow: close its socket, release its charge
 */
static void icmp_flow_free(struct usernat *un, struct icmp_flow *f)
{
	struct un_icmp *i = un->icmp;

	g_hash_table_remove(i->by_key, &f->key);
	g_queue_unlink(&i->lru, &f->lru);
	if (f->fd >= 0) {
		g_hash_table_remove(i->by_ref, GUINT_TO_POINTER(f->ref));
		un_epoll_del(un, f->fd);
		close(f->fd);
	} else {
		g_hash_table_remove(i->by_sid, GUINT_TO_POINTER(f->sid));
	}
	un_flow_release(un, f->key.gaddr);
	g_free(f);
}

/** icmp_flow_touch() - Mark @f used now: to the tail of the LRU list */
static void icmp_flow_touch(struct un_icmp *i, struct icmp_flow *f)
{
	f->last_ms = un_now_ms();
	g_queue_unlink(&i->lru, &f->lru);
	g_queue_push_tail_link(&i->lru, &f->lru);
}

/**
 * icmp_ping_socket() - Open a ping socket with its own echo identifier
 * @sid:	the identifier the kernel gave it, network order, output
 *
 * Return: socket, or negative errno
 */
static int icmp_ping_socket(uint16_t *sid)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd, one = 1, ret;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMP);
	if (fd < 0)
		return -errno;
	/* Binding to port 0 makes the kernel pick a free identifier now */
	if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*sid = sa.sin_port;
	return fd;
}

/**
 * icmp_raw_sid() - A host-side identifier no raw-mode flow uses
 * Return: 0 with *@sid set, or -ENOSPC if none was found
 */
static int icmp_raw_sid(struct un_icmp *i, uint16_t *sid)
{
	int tries;

	for (tries = 0; tries < 64; tries++) {
		*sid = (uint16_t)g_random_int();
		if (!g_hash_table_contains(i->by_sid, GUINT_TO_POINTER(*sid)))
			return 0;
	}
	return -ENOSPC;
}

/**
 * icmp_log_limited() - Warn about an echo socket that can't be had
 * @err:	positive errno
 *
 * Out of descriptors or memory: a warning, at most one per ICMP_LOG_MS;
 * anything else only a debug line.
 */
static void icmp_log_limited(struct usernat *un, int err)
{
	int64_t now = un_now_ms();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		un_debug(un, "ICMP: cannot open an echo socket: %s",
			 strerror(err));
		return;
	}
	if (now - un->icmp->last_log_ms < ICMP_LOG_MS)
		return;
	un->icmp->last_log_ms = now;
	un_warn(un, "ICMP: cannot open an echo socket: %s (flows: %u)",
		strerror(err), un->flows);
}

/**
 * icmp_flow_new() - Create the echo flow for @k, charged to the guest
 * @ip:		the guest's echo request, quoted if we refuse
 *
 * Return: new flow (owned by the tables), or NULL after telling the guest
 */
static struct icmp_flow *icmp_flow_new(struct usernat *un,
				       const struct ip4_in *ip,
				       const struct icmp_key *k)
{
	struct un_icmp *i = un->icmp;
	struct icmp_flow *f;
	uint16_t sid = 0;
	int fd = -1, ret;

	/* Egress policy (policy.c), once per new flow: refused with ICMP
	 * administratively prohibited, counted in drop_policy */
	if (policy_refuse(un, ip, 0))
		return NULL;
	if (un_flow_charge(un, k->gaddr, "ICMP echo flow")) {
		icmp4_send_error(un, ip, ICMP_UNREACH, ICMP_UNREACH_ADMIN);
		return NULL;
	}
	if (i->mode == ICMP_MODE_PING)
		ret = fd = icmp_ping_socket(&sid);
	else
		ret = icmp_raw_sid(i, &sid);
	if (ret < 0)
		goto refuse;
	f = g_new0(struct icmp_flow, 1);
	f->key = *k;
	f->fd = fd;
	f->sid = sid;
	f->lru.data = f;
	f->created_ms = un_now_ms();
	if (fd >= 0) {
		do {
			f->ref = i->next_ref++;
		} while (f->ref == ICMP_RAW_REF ||
			 g_hash_table_contains(i->by_ref,
					       GUINT_TO_POINTER(f->ref)));
		ret = un_epoll_add(un, fd, EPOLLIN, UN_EP_ICMP, f->ref);
		if (ret) {
			close(fd);
			g_free(f);
			goto refuse;
		}
		g_hash_table_insert(i->by_ref, GUINT_TO_POINTER(f->ref), f);
	} else {
		g_hash_table_insert(i->by_sid, GUINT_TO_POINTER(sid), f);
	}
	g_hash_table_insert(i->by_key, &f->key, f);
	g_queue_push_tail_link(&i->lru, &f->lru);
	UN_COUNT(un, icmp_flows);
	icmp_flow_debug(un, f, "new");
	return f;

refuse:
	un_flow_release(un, k->gaddr);
	UN_COUNT(un, drop_icmp_socket);
	icmp_log_limited(un, -ret);
	icmp4_send_error(un, ip, ICMP_UNREACH, ICMP_UNREACH_ADMIN);
	return NULL;
}

/**
 * icmp_echo_send() - Send the guest's echo request out for flow @f
 * @msg, @len:	the guest's ICMP message (validated, checksum correct)
 *
 * A ping socket puts its own identifier in and computes the checksum; for
 * the raw socket we do both, on a copy.  Return: bytes sent or -errno
 */
static ssize_t icmp_echo_send(struct usernat *un, struct icmp_flow *f,
			      const uint8_t *msg, size_t len)
{
	struct un_icmp *i = un->icmp;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = un_host_addr(un,
								  f->key.daddr) };
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
	struct icmp_key k = { .seed = i->seed, .gaddr = ip->saddr,
			      .daddr = ip->daddr, .gid = ih->un.echo.id };
	struct icmp_flow *f;
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
	f = g_hash_table_lookup(i->by_key, &k);
	if (!f && !(f = icmp_flow_new(un, ip, &k)))
		return;
	memcpy(f->mac, ip->src_mac, ETH_ALEN);
	icmp_flow_touch(i, f);
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
static void icmp_echo_to_guest(struct usernat *un, struct icmp_flow *f,
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
	icmp_flow_touch(un->icmp, f);
	UN_COUNT(un, icmp_echo_in);
	f->bytes_to_guest += len;
	ip4_out_send(un, f->mac, f->key.daddr, f->key.gaddr, IPPROTO_ICMP4,
		     len);
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
static void icmp_echo_error(struct usernat *un, struct icmp_flow *f,
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
	q->saddr = f->key.gaddr;
	q->daddr = f->key.daddr;
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
	ip4_out_send(un, f->mac, src, f->key.gaddr, IPPROTO_ICMP4,
		     ICMP_HLEN + IP4_HLEN + ICMP_HLEN);
}

/**
 * icmp_ping_errqueue() - Relay errors queued on a flow's ping socket
 *
 * With IP_RECVERR the kernel queues ICMP errors about our requests, with
 * the request's ICMP header as data (for its sequence number) and the
 * reporting address as offender.
 */
static void icmp_ping_errqueue(struct usernat *un, struct icmp_flow *f)
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
static void icmp_ping_recv(struct usernat *un, struct icmp_flow *f)
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
		    from.sin_addr.s_addr != un_host_addr(un, f->key.daddr)) {
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
	struct icmp_flow *f;

	if (!q || q->proto != IPPROTO_ICMP4 ||
	    !(qe = pkt_at(c, (size_t)(q->ver_ihl & 0xf) * 4, ICMP_HLEN)) ||
	    qe->type != ICMP_ECHO)
		return;
	f = g_hash_table_lookup(un->icmp->by_sid,
				GUINT_TO_POINTER(qe->un.echo.id));
	if (!f || q->daddr != un_host_addr(un, f->key.daddr))
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
	struct icmp_flow *f;
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
		f = g_hash_table_lookup(i->by_sid,
					GUINT_TO_POINTER(h->un.echo.id));
		if (!f || ih->saddr != un_host_addr(un, f->key.daddr))
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
	struct icmp_flow *f;

	if (!i)
		return;
	if (ref.idx == ICMP_RAW_REF) {
		if (i->raw_fd >= 0)
			icmp_raw_recv(un);
		return;
	}
	f = g_hash_table_lookup(i->by_ref, GUINT_TO_POINTER(ref.idx));
	if (!f)
		return;		/* ended in this batch of events */
	if (events & EPOLLERR)
		icmp_ping_errqueue(un, f);
	if (events & EPOLLIN)
		icmp_ping_recv(un, f);
}

/**
 * icmp_tick() - End echo flows idle for ICMP_FLOW_TIMEOUT_MS
 *
 * Oldest first from the LRU list, stopping at the first live flow.
 */
void icmp_tick(struct usernat *un, int64_t now_ms)
{
	struct un_icmp *i = un->icmp;
	struct icmp_flow *f;

	if (!i)
		return;
	while ((f = g_queue_peek_head(&i->lru)) &&
	       now_ms - f->last_ms >= ICMP_FLOW_TIMEOUT_MS) {
		UN_COUNT(un, icmp_flows_expired);
		icmp_flow_debug(un, f, "expired");
		icmp_flow_free(un, f);
	}
}

/**
 * icmp_flows_foreach() - Report each echo flow to @fn (control plane)
 *
 * The guest port is the guest's echo identifier; the host side is the
 * address pinged (never the gateway: the gateway answers pings itself)
 * and, as its port, the identifier used on the host.
 */
void icmp_flows_foreach(const struct usernat *un, un_flow_fn fn,
			void *opaque)
{
	int64_t now = un_now_ms();
	const struct icmp_flow *f;
	struct usernat_flow uf;
	char a[16];
	GList *l;

	if (!un->icmp)
		return;
	for (l = un->icmp->lru.head; l; l = l->next) {
		f = l->data;
		memset(&uf, 0, sizeof(uf));
		uf.proto = "icmp";
		uf.state = "active";
		uf.guest_addr = f->key.gaddr;
		uf.guest_port = ntohs(f->key.gid);
		snprintf(uf.host, sizeof(uf.host), "%s:%u",
			 un_ip4_str(un_host_addr(un, f->key.daddr), a),
			 ntohs(f->sid));
		uf.bytes_from_guest = f->bytes_from_guest;
		uf.bytes_to_guest = f->bytes_to_guest;
		uf.age_ms = (uint64_t)MAX(now - f->created_ms, 0);
		fn(opaque, &uf);
	}
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
	i->by_key = g_hash_table_new(icmp_key_hash, icmp_key_equal);
	i->by_ref = g_hash_table_new(g_direct_hash, g_direct_equal);
	i->by_sid = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&i->lru);
	i->seed = g_random_int();
	i->next_ref = g_random_int();
	i->last_log_ms = -ICMP_LOG_MS;
	icmp_probe(un, false);
	return 0;
}

/**
 * icmp_cleanup() - End all echo flows, close sockets; safe if never set up
 */
void icmp_cleanup(struct usernat *un)
{
	struct un_icmp *i = un->icmp;
	struct icmp_flow *f;

	if (!i)
		return;
	while ((f = g_queue_peek_head(&i->lru)))
		icmp_flow_free(un, f);
	if (i->raw_fd >= 0) {
		un_epoll_del(un, i->raw_fd);
		close(i->raw_fd);
	}
	g_hash_table_destroy(i->by_key);
	g_hash_table_destroy(i->by_ref);
	g_hash_table_destroy(i->by_sid);
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

