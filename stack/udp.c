// SPDX-License-Identifier: GPL-2.0-or-later
/* udp.c - UDP (RFC 768): validation, local services, NAT flows, output
 *
 * DOC: Theory of operation
 *
 * A guest datagram that no local service (DHCP, the DNS forwarder) claims is
 * NATed: each flow, the four-tuple (guest address, guest port, destination
 * address, destination port) as the guest sent it, owns one connected,
 * non-blocking host UDP socket, bound to INADDR_ANY:0 and connected to
 * un_host_addr() of the destination (the gateway address stands for the
 * host's 127.0.0.1).  Because the socket is connected, everything it
 * receives comes from that one peer, so a reply goes to the guest from the
 * address and port the guest used, and flows of different guests (the guest
 * address is part of the key) never see each other's traffic.
 *
 * Flows live in a hash table keyed by the four-tuple (seeded hash: guests
 * choose the keys) and in a second table by epoll reference, so neither a
 * guest datagram nor a host event ever scans the flows.  They are also kept
 * on a list in order of last use, guest or host side: the once-a-second
 * tick pops expired flows off its head and stops at the first live one, so
 * expiry costs nothing for flows that are in use.  A flow is allocated when
 * it is created; nothing is allocated per datagram.
 *
 * Host to guest: recvmmsg() reads a batch into per-instance buffers sized
 * for the largest payload the guest MTU allows; a longer datagram comes back
 * with MSG_TRUNC and is dropped and counted (we never fragment toward
 * guests).  A capped number of batches per wake-up keeps one busy flow from
 * starving the others; epoll is level-triggered and calls again.
 *
 * Errors: the sockets have IP_RECVERR, so ICMP errors about our datagrams
 * (port unreachable: ECONNREFUSED; host or net unreachable; time exceeded)
 * are queued with their type and code; they are read from MSG_ERRQUEUE on
 * EPOLLERR and relayed to the guest as ICMP errors quoting its flow.  The
 * same errors also surface as errno from send() and recv(); those are only
 * counted, the queue is the one place they are reported from, once.
 *
 * Limits: every flow is charged with un_flow_charge(); a refused flow, or
 * one whose socket can't be created (EMFILE, ENFILE...), gets an ICMP
 * administratively prohibited (RFC 1812 5.2.7.1) and existing flows go on.
 *
 * IPv6 (udp_from_guest6(), from ip6.c's NAT hook) is the same machinery:
 * keys hold 16-byte addresses (IPv4 ones in their IPv4-mapped form, so one
 * table, one hash, no allocation per datagram for either family), an IPv6
 * flow owns a connected IPV6_V6ONLY socket to un_host_addr6() of its
 * destination (gateway6 stands for ::1 unless no-map-host-loopback), errors
 * come from IPV6_RECVERR and go back as ICMPv6 errors
 * (icmp6_send_error_flow()), dns6 port 53 is the DNS forwarder, other
 * ports of our addresses get an ICMPv6 port unreachable.  IPv6 flows are
 * charged to the guest's MAC (un_flow_charge6()): a guest has any number
 * of addresses in the prefix.  Inbound (port forward) flows may lead to
 * IPv6 guests too: their keys are IPv6, charged to the guest's MAC.
 *
 * Inbound flows (port forwards, fwd.c): a datagram from a host client on a
 * forward's socket reaches udp_inbound(), which finds or makes the flow of
 * (forward socket, client address and port, guest address and port) in a
 * third table, by_peer.  The guest sees it come from the address fwd.c
 * chose (fwd_source(): the gateway, or with forward-source=client the
 * client's own) and a source port chosen so that the flow's key in by_key,
 * (guest, guest port, that address, source port), is one no other flow
 * holds: the client's own port if free, else a free ephemeral one (RFC 6335
 * range); from the gateway never 53 or 67, which the DNS forwarder and DHCP
 * server answer to.  The guest's replies, to that address and port, find
 * the flow in by_key like any outbound datagram, before the egress policy
 * is asked (it judges new outbound flows only), and go to the client with
 * sendto() on the forward socket.
 *
 * That socket belongs to fwd.c: an inbound flow has no socket of its own,
 * nothing in epoll, and never closes the forward's.  So that a flow never
 * sends on a descriptor closed and perhaps reused meanwhile, fwd.c calls
 * udp_fwd_closing() before it closes a UDP forward socket: the flows using
 * it forget the descriptor (fwd_fd = -1) and leave by_peer, so a new socket
 * given the same number starts new flows.  Such orphans keep their by_key
 * entry until they idle out, so a late guest reply is dropped and counted
 * (drop_udp_fwd_gone) instead of starting an outbound flow to the client's
 * port; a new inbound flow that wants an orphan's key just takes it.
 * Inbound flows are charged and expire exactly as outbound ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "fwd.h"
#include "stack.h"
#include "wire/dhcp.h"
#include "wire/icmp.h"
#include "wire/icmp6.h"
#include "wire/ip4.h"
#include "wire/ip6.h"
#include "wire/udp.h"

#define UDP_BATCH	8	/* datagrams per recvmmsg() */
#define UDP_READS	4	/* recvmmsg() calls per wake-up */
#define UDP_ERRQ_READS	8	/* error queue entries per wake-up */
#define UDP_LOG_MS	10000	/* at most one resource warning per 10 s */

/* A flow as the guest sees it; ports and addresses in network order.
 * Addresses are 16 bytes for both families: an IPv4 one in its IPv4-mapped
 * form, ::ffff:a.b.c.d (RFC 4291 2.5.5.2).  No IPv6 flow can take an IPv4
 * flow's key: ip6.c never lets an IPv4-mapped destination through. */
struct udp_key {
	uint32_t seed;		/* the table's hash seed, not compared */
	uint16_t gport;
	uint16_t dport;
	uint8_t gaddr[16];	/* guest */
	uint8_t daddr[16];	/* destination the guest addressed */
};

G_STATIC_ASSERT(offsetof(struct udp_key, daddr) ==
		offsetof(struct udp_key, gaddr) + 16);

/** udp_map4() - Write IPv4 address @a4 (network order) as ::ffff:a4 */
static inline void udp_map4(uint8_t *out, uint32_t a4)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
}

/** udp_v4() - The IPv4 address of a mapped key address; Return: it */
static inline uint32_t udp_v4(const uint8_t *a)
{
	uint32_t a4;

	memcpy(&a4, a + 12, 4);
	return a4;
}

/* An inbound flow as a forward client sees it (by_peer) */
struct udp_peer_key {
	uint32_t seed;		/* the table's hash seed, not compared */
	int fd;			/* forward socket it arrived on (fwd.c's) */
	uint8_t gaddr[16];	/* guest; IPv4 mapped, as in struct udp_key */
	uint16_t gport;		/* guest port, network order */
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint16_t port;		/* client's port, network order */
	uint8_t addr[16];	/* client's address; IPv4: 4 bytes, then 0 */
};

union udp_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct udp_flow {
	struct udp_key key;	/* inbound: daddr is the gateway or the
				 * client (fwd_source()), dport ours */
	GList lru;		/* link in un_udp.lru; data: this flow */
	uint8_t mac[ETH_ALEN];	/* guest's Ethernet address */
	uint8_t cmac[ETH_ALEN];	/* IPv6: the MAC the flow is charged to */
	bool v6;		/* an IPv6 flow */
	bool inbound;		/* made by a port forward (udp_inbound()) */
	int fd;			/* outbound: connected host socket, owned */
	uint32_t ref;		/* outbound: epoll reference (UN_EP_UDP) */
	int fwd_fd;		/* inbound: forward socket, NOT owned; -1 once
				 * fwd.c closed it (udp_fwd_closing()) */
	struct udp_peer_key pkey;	/* inbound: key in by_peer */
	union udp_sockaddr peer;	/* inbound: the host client */
	socklen_t peer_len;
	int64_t created_ms;
	int64_t last_ms;	/* last datagram, either direction */
	uint64_t bytes_from_guest;	/* payload bytes, for flow listing */
	uint64_t bytes_to_guest;
};

struct un_udp {
	GHashTable *by_key;	/* struct udp_key * -> struct udp_flow * */
	GHashTable *by_ref;	/* ref -> struct udp_flow * */
	GHashTable *by_peer;	/* struct udp_peer_key * -> inbound flow */
	GQueue lru;		/* flows, least recently used first */
	uint32_t seed;
	uint32_t next_ref;
	int64_t last_log_ms;
	size_t bufsize;		/* largest payload toward a guest */
	uint8_t *bufs;		/* UDP_BATCH receive buffers of bufsize */
	struct iovec iov[UDP_BATCH];
	struct mmsghdr msgs[UDP_BATCH];
};

/**
 * udp_key_hash() - Hash of a flow key, seeded (guests choose the keys)
 * Return: hash value for GHashTable
 */
static guint udp_key_hash(gconstpointer p)
{
	const struct udp_key *k = p;
	uint64_t h = k->seed, w[4];

	memcpy(w, k->gaddr, 32);	/* gaddr and daddr, contiguous */
	h ^= w[1] ^ ((uint64_t)k->gport << 48 | (uint64_t)k->dport << 32);
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= w[3];
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= w[0] ^ (w[2] << 1);	/* zero-ish for IPv4 */
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return (guint)(h ^ (h >> 32));
}

/** udp_key_equal() - Same flow?  The seed is not part of the key */
static gboolean udp_key_equal(gconstpointer a, gconstpointer b)
{
	const struct udp_key *x = a, *y = b;

	return x->gport == y->gport && x->dport == y->dport &&
	       !memcmp(x->gaddr, y->gaddr, 32);
}

/**
 * udp_peer_hash() - Hash of an inbound flow key, seeded (clients choose
 * their addresses and ports)
 * Return: hash value for GHashTable
 */
static guint udp_peer_hash(gconstpointer p)
{
	const struct udp_peer_key *k = p;
	uint64_t h = k->seed, a[2], g[2];

	memcpy(a, k->addr, sizeof(a));
	memcpy(g, k->gaddr, sizeof(g));
	h ^= (uint64_t)(uint32_t)k->fd << 32 | (g[0] ^ g[1]);
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= g[1] >> 32;
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= (uint64_t)k->gport << 32 | (uint64_t)k->family << 16 | k->port;
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= a[0];
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= a[1];
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return (guint)(h ^ (h >> 32));
}

/** udp_peer_equal() - Same inbound flow?  The seed is not compared */
static gboolean udp_peer_equal(gconstpointer a, gconstpointer b)
{
	const struct udp_peer_key *x = a, *y = b;

	return x->fd == y->fd && !memcmp(x->gaddr, y->gaddr, 16) &&
	       x->gport == y->gport && x->family == y->family &&
	       x->port == y->port && !memcmp(x->addr, y->addr, 16);
}

/**
 * udp_log_limited() - Warn about a flow socket that can't be created
 * @err:	positive errno
 *
 * Running out of descriptors or memory is worth a warning, at most one per
 * UDP_LOG_MS; an unreachable destination only a debug line.
 */
static void udp_log_limited(struct usernat *un, int err)
{
	int64_t now = un_now_ms();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		un_debug(un, "UDP: cannot open a flow socket: %s",
			 strerror(err));
		return;
	}
	if (now - un->udp->last_log_ms < UDP_LOG_MS)
		return;
	un->udp->last_log_ms = now;
	un_warn(un, "UDP: cannot open a flow socket: %s (flows: %u)",
		strerror(err), un->flows);
}

/**
 * udp_nat_dest_ok() - May a guest datagram to @daddr leave through the host?
 *
 * Loopback (127/8) and "this network" (0/8, which Linux connects to the
 * host itself) are martians for a router (RFC 1812 5.3.7, RFC 1122
 * 3.2.1.3): the host's loopback is reached through the gateway address, and
 * only when map-host-loopback allows it.
 *
 * Return: true if a flow may be created
 */
static bool udp_nat_dest_ok(uint32_t daddr)
{
	uint32_t h = ntohl(daddr);

	return (h >> 24) != 127 && (h >> 24) != 0;
}

/**
 * udp_addr_str() - A key address as text: dotted quad for a mapped IPv4
 * address, else IPv6; Return: @buf
 */
static const char *udp_addr_str(const uint8_t *a, bool v6,
				char buf[INET6_ADDRSTRLEN])
{
	if (v6)
		return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
	return inet_ntop(AF_INET, a + 12, buf, INET6_ADDRSTRLEN);
}

/** udp_flow_debug() - One debug line about flow @f: @what happened */
static void udp_flow_debug(const struct usernat *un, const struct udp_flow *f,
			   const char *what)
{
	char g[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	if (un->log_level < USERNAT_LOG_DEBUG)
		return;
	un_debug(un, "UDP flow %s%s%s:%u -> %s%s%s:%u: %s",
		 f->v6 ? "[" : "", udp_addr_str(f->key.gaddr, f->v6, g),
		 f->v6 ? "]" : "", ntohs(f->key.gport),
		 f->v6 ? "[" : "", udp_addr_str(f->key.daddr, f->v6, d),
		 f->v6 ? "]" : "", ntohs(f->key.dport), what);
}

/**
 * udp_flow_free() - End a flow: close its socket, release its charge
 *
 * An inbound flow closes nothing (the forward socket is fwd.c's); it may
 * have left by_peer already (orphan), and a newer flow may hold the same
 * peer key there, so it removes only its own entry.
 */
static void udp_flow_free(struct usernat *un, struct udp_flow *f)
{
	struct un_udp *u = un->udp;

	g_hash_table_remove(u->by_key, &f->key);
	g_queue_unlink(&u->lru, &f->lru);
	if (f->inbound) {
		if (g_hash_table_lookup(u->by_peer, &f->pkey) == f)
			g_hash_table_remove(u->by_peer, &f->pkey);
	} else {
		g_hash_table_remove(u->by_ref, GUINT_TO_POINTER(f->ref));
		un_epoll_del(un, f->fd);
		close(f->fd);
	}
	if (f->v6)
		un_flow_release6(un, f->cmac);
	else
		un_flow_release(un, udp_v4(f->key.gaddr));
	g_free(f);
}

/** udp_flow_touch() - Mark @f used now: move it to the tail of the LRU list */
static void udp_flow_touch(struct un_udp *u, struct udp_flow *f, int64_t now)
{
	f->last_ms = now;
	g_queue_unlink(&u->lru, &f->lru);
	g_queue_push_tail_link(&u->lru, &f->lru);
}

/**
 * udp_flow_socket() - Open the connected host socket of a new flow
 * @k:		the flow's key: where the guest sent to
 * @v6:		an IPv6 flow
 *
 * IPv4 flows connect to un_host_addr() of the destination, IPv6 ones to
 * un_host_addr6() (an IPV6_V6ONLY socket: never an IPv4-mapped peer).
 * Errors are queued with IP_RECVERR or IPV6_RECVERR.
 *
 * Return: socket, or negative errno
 */
static int udp_flow_socket(const struct usernat *un, const struct udp_key *k,
			   bool v6)
{
	union udp_sockaddr any = { 0 }, to = { 0 };
	socklen_t sl;
	int fd, one = 1, ret;

	if (v6) {
		any.in6.sin6_family = to.in6.sin6_family = AF_INET6;
		to.in6.sin6_port = k->dport;
		un_host_addr6(un, k->daddr, to.in6.sin6_addr.s6_addr);
		sl = sizeof(to.in6);
	} else {
		any.in.sin_family = to.in.sin_family = AF_INET;
		to.in.sin_port = k->dport;
		to.in.sin_addr.s_addr = un_host_addr(un, udp_v4(k->daddr));
		sl = sizeof(to.in);
	}
	fd = socket(to.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if ((v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			     sizeof(one)) ||
		  setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one))
		: setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one))) ||
	    bind(fd, &any.sa, sl) || connect(fd, &to.sa, sl)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/**
 * udp_flow_add() - Create the outbound flow for @k, charged to its guest
 * @v6:		an IPv6 flow, charged to @mac; else to the guest address
 * @mac:	the guest's Ethernet address
 *
 * The caller has checked the egress policy and tells the guest about a
 * refusal.  Return: new flow (owned by the tables), or NULL with *@err set:
 * -ENOSPC over a limit, else the socket's error (counted in
 * drop_udp_socket)
 */
static struct udp_flow *udp_flow_add(struct usernat *un,
				     const struct udp_key *k, bool v6,
				     const uint8_t *mac, int *err)
{
	struct un_udp *u = un->udp;
	struct udp_flow *f;
	int fd;

	*err = v6 ? un_flow_charge6(un, mac, "UDP flow") :
		    un_flow_charge(un, udp_v4(k->gaddr), "UDP flow");
	if (*err)
		return NULL;
	fd = udp_flow_socket(un, k, v6);
	if (fd < 0) {
		*err = fd;
		goto fail;
	}
	f = g_new0(struct udp_flow, 1);
	f->key = *k;
	f->v6 = v6;
	memcpy(f->cmac, mac, ETH_ALEN);
	f->fd = fd;
	f->fwd_fd = -1;
	f->lru.data = f;
	f->created_ms = un_now_ms();
	do {
		f->ref = u->next_ref++;
	} while (g_hash_table_contains(u->by_ref, GUINT_TO_POINTER(f->ref)));
	*err = un_epoll_add(un, fd, EPOLLIN, UN_EP_UDP, f->ref);
	if (*err) {
		close(fd);
		g_free(f);
		goto fail;
	}
	g_hash_table_insert(u->by_key, &f->key, f);
	g_hash_table_insert(u->by_ref, GUINT_TO_POINTER(f->ref), f);
	g_queue_push_tail_link(&u->lru, &f->lru);
	UN_COUNT(un, udp_flows);
	udp_flow_debug(un, f, "new");
	return f;

fail:
	if (v6)
		un_flow_release6(un, mac);
	else
		un_flow_release(un, udp_v4(k->gaddr));
	UN_COUNT(un, drop_udp_socket);
	udp_log_limited(un, -*err);
	return NULL;
}

/**
 * udp_flow_new() - Create the IPv4 flow for @k, or tell the guest why not
 * @ip:		the guest's datagram, for the ICMP error if we refuse
 *
 * Refused by the egress policy, or over a limit: ICMP administratively
 * prohibited (RFC 1812 5.2.7.1); no socket: the unreachable code of the
 * error.  Return: new flow (owned by the tables), or NULL
 */
static struct udp_flow *udp_flow_new(struct usernat *un,
				     const struct ip4_in *ip,
				     const struct udp_key *k)
{
	struct udp_flow *f;
	int err, code;

	/* Egress policy (policy.c), once per new flow: refused with ICMP
	 * administratively prohibited, counted in drop_policy */
	if (policy_refuse(un, ip, ntohs(k->dport)))
		return NULL;
	f = udp_flow_add(un, k, false, ip->src_mac, &err);
	if (f)
		return f;
	code = err == -ENOSPC ? ICMP_UNREACH_ADMIN : icmp4_unreach_code(-err);
	if (code >= 0)
		icmp4_send_error(un, ip, ICMP_UNREACH, (uint8_t)code);
	return NULL;
}

/**
 * udp_flow_send() - Send a guest's payload on outbound flow @f's socket
 * @payload:	untrusted bytes, not kept
 *
 * Return: 0, or negative errno (counted in drop_udp_send)
 */
static int udp_flow_send(struct usernat *un, struct udp_flow *f,
			 const struct pkt *payload)
{
	ssize_t n;

	udp_flow_touch(un->udp, f, un_now_ms());
	n = send(f->fd, payload->p, payload->len, MSG_DONTWAIT);
	/* An ICMP error for an earlier datagram is reported on this send()
	 * and the datagram not sent; the error itself is relayed from the
	 * error queue, so just try once more. */
	if (n < 0 && errno == ECONNREFUSED)
		n = send(f->fd, payload->p, payload->len, MSG_DONTWAIT);
	if (n >= 0) {
		UN_COUNT(un, udp_out);
		f->bytes_from_guest += payload->len;
		return 0;
	}
	UN_COUNT(un, drop_udp_send);
	return -errno;
}

/**
 * udp_nat() - Send a guest datagram out through its flow's host socket
 * @uh:		the guest's UDP header (validated)
 * @payload:	its payload, untrusted bytes (not kept)
 * @f:		the outbound flow it belongs to, NULL if none exists yet
 */
static void udp_nat(struct usernat *un, const struct ip4_in *ip,
		    const struct udp_hdr *uh, const struct pkt *payload,
		    struct udp_flow *f)
{
	struct udp_key k = { .seed = un->udp->seed, .gport = uh->source,
			     .dport = uh->dest };
	int err, code;

	if (!udp_nat_dest_ok(ip->daddr)) {
		UN_COUNT(un, drop_udp_dst);
		return;
	}
	udp_map4(k.gaddr, ip->saddr);
	udp_map4(k.daddr, ip->daddr);
	if (!f && !(f = udp_flow_new(un, ip, &k)))
		return;
	memcpy(f->mac, ip->src_mac, ETH_ALEN);
	err = udp_flow_send(un, f, payload);
	code = err ? icmp4_unreach_code(-err) : -1;
	if (code == ICMP_UNREACH_NET || code == ICMP_UNREACH_HOST)
		icmp4_send_error(un, ip, ICMP_UNREACH, (uint8_t)code);
}

/**
 * udp_flow_error() - Relay one queued socket error about flow @f, if it is
 * an ICMP or ICMPv6 error worth telling the guest
 * @cm:		the IP_RECVERR or IPV6_RECVERR control message
 *
 * Destination unreachable (except IPv4 "fragmentation needed" and IPv6
 * "packet too big", which the host handles for us) and time exceeded are
 * relayed as an error quoting the guest's flow (RFC 792, RFC 4443 3.1,
 * 3.3); local errors are only drained.
 */
static void udp_flow_error(struct usernat *un, struct udp_flow *f,
			   const struct cmsghdr *cm)
{
	const struct sock_extended_err *ee =
		(const struct sock_extended_err *)CMSG_DATA(cm);
	uint8_t uh[UDP_HLEN] = { 0 };

	if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR &&
	    !f->v6 && ee->ee_origin == SO_EE_ORIGIN_ICMP &&
	    ((ee->ee_type == ICMP_UNREACH &&
	      ee->ee_code != ICMP_UNREACH_NEEDFRAG) ||
	     ee->ee_type == ICMP_TIMXCEED)) {
		UN_COUNT(un, udp_icmp_relayed);
		icmp4_send_error_flow(un, f->mac, IPPROTO_UDP4,
				      udp_v4(f->key.gaddr), f->key.gport,
				      udp_v4(f->key.daddr), f->key.dport,
				      ee->ee_type, ee->ee_code);
	} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		   cm->cmsg_type == IPV6_RECVERR && f->v6 &&
		   ee->ee_origin == SO_EE_ORIGIN_ICMP6 &&
		   (ee->ee_type == ICMP6_UNREACH ||
		    ee->ee_type == ICMP6_TIMXCEED)) {
		memcpy(uh, &f->key.gport, 2);
		memcpy(uh + 2, &f->key.dport, 2);
		uh[5] = UDP_HLEN;
		UN_COUNT(un, udp_icmp_relayed);
		icmp6_send_error_flow(un, f->mac, IP6_NH_UDP, f->key.gaddr,
				      f->key.daddr, uh, sizeof(uh),
				      ee->ee_type, ee->ee_code);
	}
}

/**
 * udp_flow_errqueue() - Relay ICMP errors queued on a flow's socket
 */
static void udp_flow_errqueue(struct usernat *un, struct udp_flow *f)
{
	char cbuf[CMSG_SPACE(sizeof(struct sock_extended_err) +
			     sizeof(struct sockaddr_in6))];
	struct msghdr mh;
	struct cmsghdr *cm;
	int i;

	for (i = 0; i < UDP_ERRQ_READS; i++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		if (recvmsg(f->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			udp_flow_error(un, f, cm);
	}
}

/**
 * udp_flow_to_guest() - Send @len bytes of a host datagram to @f's guest,
 * from the address and port it sent to
 * @data:	the payload (copied)
 *
 * Return: false if it is too big for the guest MTU (we never fragment)
 */
static bool udp_flow_to_guest(struct usernat *un, struct udp_flow *f,
			      const void *data, size_t len)
{
	if (f->v6) {
		if (len > un->cfg.mtu - IP6_HLEN - UDP_HLEN)
			return false;
		memcpy(udp6_out_payload(un), data, len);
		udp6_out_send(un, f->mac, f->key.daddr, f->key.dport,
			      f->key.gaddr, f->key.gport, len);
	} else {
		memcpy(udp4_out_payload(un), data, len);
		udp4_out_send(un, f->mac, udp_v4(f->key.daddr), f->key.dport,
			      udp_v4(f->key.gaddr), f->key.gport, len);
	}
	f->bytes_to_guest += len;
	return true;
}

/**
 * udp_flow_recv() - Relay datagrams from a flow's socket to its guest
 *
 * At most UDP_READS batches of UDP_BATCH datagrams per call ("prevent loop
 * starvation"); level-triggered epoll calls again for the rest.
 */
static void udp_flow_recv(struct usernat *un, struct udp_flow *f)
{
	struct un_udp *u = un->udp;
	int r, n, i;
	bool got = false;

	for (r = 0; r < UDP_READS; r++) {
		for (i = 0; i < UDP_BATCH; i++) {
			u->msgs[i].msg_hdr.msg_flags = 0;
			u->msgs[i].msg_len = 0;
		}
		n = recvmmsg(f->fd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;	/* EAGAIN, or an error the queue reports */
		got = true;
		for (i = 0; i < n; i++) {
			if ((u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    !udp_flow_to_guest(un, f, u->iov[i].iov_base,
					       u->msgs[i].msg_len)) {
				UN_COUNT(un, drop_udp_toobig);
				continue;
			}
			UN_COUNT(un, udp_in);
		}
		if (n < UDP_BATCH)
			break;
	}
	if (got)
		udp_flow_touch(u, f, un_now_ms());
}

/**
 * udp_ready() - Host-side event on a flow's socket
 * @ref:	UN_EP_UDP and the flow's reference
 * @events:	epoll events
 *
 * A reference whose flow has ended (an event of the same batch as its
 * expiry) is ignored.
 */
void udp_ready(struct usernat *un, union un_ref ref, uint32_t events)
{
	struct udp_flow *f;

	if (!un->udp)
		return;
	f = g_hash_table_lookup(un->udp->by_ref, GUINT_TO_POINTER(ref.idx));
	if (!f)
		return;
	if (events & EPOLLERR)
		udp_flow_errqueue(un, f);
	if (events & EPOLLIN)
		udp_flow_recv(un, f);
}

/**
 * udp_tick() - End flows idle for longer than the UDP timeout
 * @now_ms:	monotonic time
 *
 * Walks the LRU list from its oldest end and stops at the first flow still
 * in use: cost proportional to the flows that expire, not to all flows.
 */
void udp_tick(struct usernat *un, int64_t now_ms)
{
	struct un_udp *u = un->udp;
	int64_t timeout = (int64_t)un->cfg.lim.udp_timeout * 1000;
	struct udp_flow *f;

	if (!u)
		return;
	while ((f = g_queue_peek_head(&u->lru)) &&
	       now_ms - f->last_ms >= timeout) {
		UN_COUNT(un, udp_flows_expired);
		udp_flow_debug(un, f, "expired");
		udp_flow_free(un, f);
	}
}

/**
 * udp_init() - Set up the UDP NAT of an instance
 *
 * Receive buffers are sized for the largest UDP payload the guest MTU
 * carries (MTU - IPv4 header - UDP header) and allocated once, here.
 *
 * Return: 0
 */
int udp_init(struct usernat *un)
{
	struct un_udp *u = g_new0(struct un_udp, 1);
	int i;

	un->udp = u;
	u->by_key = g_hash_table_new(udp_key_hash, udp_key_equal);
	u->by_ref = g_hash_table_new(g_direct_hash, g_direct_equal);
	u->by_peer = g_hash_table_new(udp_peer_hash, udp_peer_equal);
	g_queue_init(&u->lru);
	u->seed = g_random_int();
	u->next_ref = g_random_int();
	u->last_log_ms = -UDP_LOG_MS;
	u->bufsize = un->cfg.mtu - IP4_HLEN - UDP_HLEN;
	u->bufs = g_malloc(u->bufsize * UDP_BATCH);
	for (i = 0; i < UDP_BATCH; i++) {
		u->iov[i].iov_base = u->bufs + (size_t)i * u->bufsize;
		u->iov[i].iov_len = u->bufsize;
		u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

/**
 * udp_cleanup() - End all flows and free the UDP NAT; safe if never set up
 */
void udp_cleanup(struct usernat *un)
{
	struct un_udp *u = un->udp;
	struct udp_flow *f;

	if (!u)
		return;
	while ((f = g_queue_peek_head(&u->lru)))
		udp_flow_free(un, f);
	g_hash_table_destroy(u->by_key);
	g_hash_table_destroy(u->by_ref);
	g_hash_table_destroy(u->by_peer);
	g_free(u->bufs);
	g_free(u);
	un->udp = NULL;
}

/*
 * Inbound flows: port forwards (see the theory above)
 */

#define UDP_EPHEMERAL_FIRST	49152	/* RFC 6335 6: dynamic ports */
#define UDP_EPHEMERAL_COUNT	16384

/**
 * udp_flow_find() - The flow a validated guest datagram belongs to
 * Return: flow, outbound or inbound, or NULL if there is none yet
 */
static struct udp_flow *udp_flow_find(struct usernat *un,
				      const struct ip4_in *ip,
				      const struct udp_hdr *uh)
{
	struct udp_key k = { .seed = un->udp->seed, .gport = uh->source,
			     .dport = uh->dest };

	udp_map4(k.gaddr, ip->saddr);
	udp_map4(k.daddr, ip->daddr);
	return g_hash_table_lookup(un->udp->by_key, &k);
}

/**
 * udp_inbound_reply() - A guest's datagram on inbound flow @f: to its client
 * @src_mac:	the guest's Ethernet address, as the frame says
 * @payload:	the datagram's payload, untrusted bytes (not kept)
 *
 * Sent with sendto() on the forward socket, which fwd.c owns; if the
 * forward was removed meanwhile the flow has no socket and the datagram is
 * dropped, and the flow is not refreshed: it idles out.
 */
static void udp_inbound_reply(struct usernat *un, struct udp_flow *f,
			      const uint8_t *src_mac,
			      const struct pkt *payload)
{
	if (f->fwd_fd < 0) {
		UN_COUNT(un, drop_udp_fwd_gone);
		return;
	}
	memcpy(f->mac, src_mac, ETH_ALEN);
	udp_flow_touch(un->udp, f, un_now_ms());
	if (sendto(f->fwd_fd, payload->p, payload->len, MSG_DONTWAIT,
		   &f->peer.sa, f->peer_len) < 0) {
		UN_COUNT(un, drop_udp_send);
		return;
	}
	f->bytes_from_guest += payload->len;
	UN_COUNT(un, udp_inbound_replies);
}

/**
 * udp_peer_key_make() - The by_peer key of a forward client's datagram
 * @peer, @peer_len:	the client's address, from recvfrom()
 * @t:			the guest it goes to
 * @k:			output
 *
 * Return: 0, or -EAFNOSUPPORT for an address that is not IPv4 or IPv6
 */
static int udp_peer_key_make(const struct un_udp *u, int fd,
			     const struct sockaddr_storage *peer,
			     socklen_t peer_len, const struct fwd_target *t,
			     struct udp_peer_key *k)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)peer;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)peer;

	memset(k, 0, sizeof(*k));
	k->seed = u->seed;
	k->fd = fd;
	memcpy(k->gaddr, t->guest, 16);
	k->gport = t->guest_port;
	k->family = peer->ss_family;
	if (peer->ss_family == AF_INET && peer_len >= sizeof(*a4)) {
		k->port = a4->sin_port;
		memcpy(k->addr, &a4->sin_addr, 4);
	} else if (peer->ss_family == AF_INET6 && peer_len >= sizeof(*a6)) {
		k->port = a6->sin6_port;
		memcpy(k->addr, &a6->sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

/**
 * udp_inbound_key_free() - May an inbound flow take the by_key key @k?
 *
 * Yes if no flow holds it, or only an orphan (its forward is gone), which
 * then ends now.  Ports our addresses serve themselves are never free: a
 * guest's reply to them would go to that service instead.
 *
 * Return: true if @k is free now
 */
static bool udp_inbound_key_free(struct usernat *un, const struct udp_key *k,
				 bool v6)
{
	struct udp_flow *f;

	bool ours = v6 ? ip6_is_ours(un, k->daddr) :
			 un_is_ours(un, udp_v4(k->daddr));

	if (!k->dport || (ours && (k->dport == htons(53) ||
				   k->dport == htons(DHCP_SERVER_PORT))))
		return false;
	f = g_hash_table_lookup(un->udp->by_key, k);
	if (!f)
		return true;
	if (!f->inbound || f->fwd_fd >= 0)
		return false;
	udp_flow_debug(un, f, "orphan replaced");
	udp_flow_free(un, f);
	return true;
}

/**
 * udp_inbound_sport() - Pick the gateway-side source port of a new inbound
 * flow: the client's own port if free (see udp_inbound_key_free()), else
 * the first free one of the ephemeral range from a random start
 * @k:		the flow's key, daddr set; dport set on success
 *
 * Return: 0, or -EADDRINUSE if every candidate is taken
 */
static int udp_inbound_sport(struct usernat *un, struct udp_key *k, bool v6,
			     uint16_t client_port)
{
	uint32_t start = g_random_int() % UDP_EPHEMERAL_COUNT, i;

	k->dport = client_port;
	if (udp_inbound_key_free(un, k, v6))
		return 0;
	for (i = 0; i < UDP_EPHEMERAL_COUNT; i++) {
		k->dport = htons((uint16_t)(UDP_EPHEMERAL_FIRST +
					    (start + i) % UDP_EPHEMERAL_COUNT));
		if (udp_inbound_key_free(un, k, v6))
			return 0;
	}
	return -EADDRINUSE;
}

/**
 * udp_inbound_new() - Create the inbound flow for client key @pk
 * @peer, @peer_len:	the client's address, copied
 * @t:			the guest, and the flow's address on its side
 *
 * Return: new flow (owned by the tables), or NULL (counted) if the guest is
 * over its flow limit or no source port is free
 */
static struct udp_flow *udp_inbound_new(struct usernat *un,
					const struct udp_peer_key *pk,
					const struct sockaddr_storage *peer,
					socklen_t peer_len,
					const struct fwd_target *t)
{
	struct un_udp *u = un->udp;
	struct udp_key k = { .seed = u->seed, .gport = pk->gport };
	struct udp_flow *f;

	memcpy(k.gaddr, t->guest, 16);
	memcpy(k.daddr, t->src, 16);
	if (udp_inbound_sport(un, &k, t->v6, pk->port)) {
		UN_COUNT(un, drop_udp_inbound);
		return NULL;
	}
	if (t->v6 ? un_flow_charge6(un, t->mac, "UDP inbound flow") :
		    un_flow_charge(un, udp_v4(t->guest), "UDP inbound flow"))
		return NULL;
	f = g_new0(struct udp_flow, 1);
	f->key = k;
	f->v6 = t->v6;
	memcpy(f->cmac, t->mac, ETH_ALEN);
	f->inbound = true;
	f->fd = -1;
	f->fwd_fd = pk->fd;
	f->pkey = *pk;
	memcpy(&f->peer, peer, MIN((size_t)peer_len, sizeof(f->peer)));
	f->peer_len = MIN(peer_len, (socklen_t)sizeof(f->peer));
	f->lru.data = f;
	f->created_ms = un_now_ms();
	g_hash_table_insert(u->by_key, &f->key, f);
	g_hash_table_insert(u->by_peer, &f->pkey, f);
	g_queue_push_tail_link(&u->lru, &f->lru);
	UN_COUNT(un, udp_inbound_flows);
	udp_flow_debug(un, f, "new, inbound");
	return f;
}

/**
 * udp_inbound() - A forward client's datagram: relay it to the guest
 * @fd:		the forward socket it arrived on; fwd.c keeps owning it, and
 *		calls udp_fwd_closing() before closing it
 * @peer, @peer_len:	the client
 * @t:		the guest (address, port, MAC) it goes to, and where a new
 *		flow comes from on the guest side (fwd_source())
 * @data, @len:	the datagram (not kept)
 *
 * The guest sees it from the flow's address and port; see the theory
 * above.  Datagrams too big for the guest MTU are dropped, counted.
 */
void udp_inbound(struct usernat *un, int fd,
		 const struct sockaddr_storage *peer, socklen_t peer_len,
		 const struct fwd_target *t, const uint8_t *data, size_t len)
{
	struct un_udp *u = un->udp;
	struct udp_peer_key pk;
	struct udp_flow *f;

	if (!u)
		return;
	if (len > u->bufsize) {
		UN_COUNT(un, drop_udp_toobig);
		return;
	}
	if (udp_peer_key_make(u, fd, peer, peer_len, t, &pk)) {
		UN_COUNT(un, drop_udp_inbound);
		return;
	}
	f = g_hash_table_lookup(u->by_peer, &pk);
	if (!f && !(f = udp_inbound_new(un, &pk, peer, peer_len, t)))
		return;
	memcpy(f->mac, t->mac, ETH_ALEN);
	udp_flow_touch(u, f, un_now_ms());
	UN_COUNT(un, udp_inbound);
	/* IPv6 headers are longer: bufsize is for IPv4 */
	if (!udp_flow_to_guest(un, f, data, len))
		UN_COUNT(un, drop_udp_toobig);
}

/**
 * udp_fwd_closing() - fwd.c is about to close UDP forward socket @fd
 *
 * Inbound flows using it forget it and leave by_peer (a socket given the
 * same number later starts flows of its own); they stay in by_key until
 * they idle out, so late guest replies are dropped and counted.  Walks all
 * flows: forwards are removed rarely, by the control plane.
 */
void udp_fwd_closing(struct usernat *un, int fd)
{
	struct un_udp *u = un->udp;
	struct udp_flow *f;
	GList *l;

	if (!u || fd < 0)
		return;
	for (l = u->lru.head; l; l = l->next) {
		f = l->data;
		if (!f->inbound || f->fwd_fd != fd)
			continue;
		if (g_hash_table_lookup(u->by_peer, &f->pkey) == f)
			g_hash_table_remove(u->by_peer, &f->pkey);
		f->fwd_fd = -1;
		udp_flow_debug(un, f, "forward removed");
	}
}

/**
 * udp_flow_host() - The host side of flow @f as "ADDR:PORT" for listings:
 * an inbound flow's client, or where an outbound flow's socket sends
 */
static void udp_flow_host(const struct usernat *un, const struct udp_flow *f,
			  char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t h6[16];
	struct in_addr h;

	if (!f->inbound && f->v6) {
		un_host_addr6(un, f->key.daddr, h6);
		inet_ntop(AF_INET6, h6, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ntohs(f->key.dport));
	} else if (!f->inbound) {
		h.s_addr = un_host_addr(un, udp_v4(f->key.daddr));
		inet_ntop(AF_INET, &h, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ntohs(f->key.dport));
	} else if (f->peer.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &f->peer.in6.sin6_addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ntohs(f->peer.in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &f->peer.in.sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ntohs(f->peer.in.sin_port));
	}
}

/**
 * udp_flows_foreach() - Report each UDP flow to @fn (control plane)
 *
 * State is "active", or "forward-gone" for an inbound flow whose forward
 * was removed; bytes are payload bytes.
 */
void udp_flows_foreach(const struct usernat *un, un_flow_fn fn, void *opaque)
{
	int64_t now = un_now_ms();
	struct usernat_flow uf;
	const struct udp_flow *f;
	char a[INET6_ADDRSTRLEN];
	GList *l;

	if (!un->udp)
		return;
	for (l = un->udp->lru.head; l; l = l->next) {
		f = l->data;
		memset(&uf, 0, sizeof(uf));
		uf.proto = "udp";
		uf.state = f->inbound && f->fwd_fd < 0 ? "forward-gone" :
							 "active";
		uf.inbound = f->inbound;
		uf.guest_port = ntohs(f->key.gport);
		if (f->v6)
			snprintf(uf.guest, sizeof(uf.guest), "[%s]:%u",
				 udp_addr_str(f->key.gaddr, true, a),
				 uf.guest_port);
		else
			uf.guest_addr = udp_v4(f->key.gaddr);
		udp_flow_host(un, f, uf.host, sizeof(uf.host));
		uf.bytes_from_guest = f->bytes_from_guest;
		uf.bytes_to_guest = f->bytes_to_guest;
		uf.age_ms = (uint64_t)MAX(now - f->created_ms, 0);
		fn(opaque, &uf);
	}
}

/**
 * udp_from_guest() - Validate a UDP datagram and hand it to its service
 */
void udp_from_guest(struct usernat *un, const struct ip4_in *ip)
{
	const struct udp_hdr *uh = pkt_at(&ip->l4, 0, UDP_HLEN);
	struct udp_flow *f;
	struct pkt payload;
	size_t ulen;

	if (!uh) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	ulen = ntohs(uh->len);
	if (ulen < UDP_HLEN || ulen > ip->l4.len) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	/* RFC 768: a zero checksum means none was computed; not checked
	 * when partial (virtio-net offload, see un_rx_csum_ok()) */
	if (uh->check && !un_rx_csum_ok(un) &&
	    csum(ip->l4.p, ulen,
		 csum_pseudo4(ip->saddr, ip->daddr, IPPROTO_UDP4,
			      (uint16_t)ulen))) {
		UN_COUNT(un, drop_udp_csum);
		return;
	}
	pkt_sub(&ip->l4, UDP_HLEN, ulen - UDP_HLEN, &payload);

	if (uh->dest == htons(DHCP_SERVER_PORT) && un->cfg.dhcp &&
	    (ip->daddr == INADDR_BROADCAST || ip->daddr == un->cfg.gw)) {
		dhcp_from_guest(un, ip, &payload);
		return;
	}
	if (!ip->saddr || !un_in_net(un, ip->saddr) ||
	    ip->daddr == INADDR_BROADCAST ||
	    ip->daddr == (un->cfg.net | ~un->cfg.mask) ||
	    (ntohl(ip->daddr) & 0xf0000000) == 0xe0000000) {
		UN_COUNT(un, drop_udp_bcast);
		return;
	}
	if (ip->daddr == un->cfg.dns && uh->dest == htons(53)) {
		dns_from_guest(un, ip, uh->source, &payload);
		return;
	}
	f = udp_flow_find(un, ip, uh);
	if (f && f->inbound) {
		/* a reply to a forward client, whatever the loopback mapping */
		udp_inbound_reply(un, f, ip->src_mac, &payload);
		return;
	}
	/* Our addresses have no other services; the gateway's are the
	 * host's loopback ones when mapped (then un_host_addr() differs) */
	if (un_is_ours(un, ip->daddr) &&
	    un_host_addr(un, ip->daddr) == ip->daddr) {
		UN_COUNT(un, drop_udp_port);
		icmp4_send_error(un, ip, ICMP_UNREACH, ICMP_UNREACH_PORT);
		return;
	}
	udp_nat(un, ip, uh, &payload, f);
}

/*
 * IPv6 (RFC 8200 8.1, RFC 768): the same NAT, from ip6_nat_from_guest()
 */

/**
 * udp_policy6_refuse() - Egress policy for a new IPv6 flow (or DNS query)
 * @ip:		the guest's datagram
 * @dport_h:	its destination port, host order
 *
 * policy_check6() (policy.c) matches gateway6 and dns6 by rules on their
 * IPv4 twins too.  Refused: counted in drop_policy, ICMPv6 administratively
 * prohibited (RFC 4443 3.1 code 1) unless @quiet (DNS answers REFUSED).
 *
 * Return: true if the flow must not be created
 */
bool udp_policy6_refuse(struct usernat *un, const struct ip6_in *ip,
			uint16_t dport_h, bool quiet)
{
	if (!policy_check6(un, IPPROTO_UDP4, ip->daddr, dport_h))
		return false;
	UN_COUNT(un, drop_policy);
	un_debug(un, "policy: refused IPv6 UDP to port %u", dport_h);
	if (!quiet)
		icmp6_send_error(un, ip, ICMP6_UNREACH, ICMP6_UNREACH_ADMIN, 0);
	return true;
}

/**
 * udp_flow_new6() - Create the IPv6 flow for @k, or tell the guest why not
 * @ip:		the guest's datagram, quoted in an ICMPv6 error if refused
 *
 * Return: new flow (owned by the tables), or NULL
 */
static struct udp_flow *udp_flow_new6(struct usernat *un,
				      const struct ip6_in *ip,
				      const struct udp_key *k)
{
	struct udp_flow *f;
	int err, code;

	if (udp_policy6_refuse(un, ip, ntohs(k->dport), false))
		return NULL;
	f = udp_flow_add(un, k, true, ip->src_mac, &err);
	if (f)
		return f;
	code = err == -ENOSPC ? ICMP6_UNREACH_ADMIN : icmp6_unreach_code(-err);
	if (code >= 0)
		icmp6_send_error(un, ip, ICMP6_UNREACH, (uint8_t)code, 0);
	return NULL;
}

/**
 * udp_flow_find6() - The flow a validated IPv6 guest datagram belongs to
 * Return: flow, outbound or inbound, or NULL if there is none yet
 */
static struct udp_flow *udp_flow_find6(struct usernat *un,
				       const struct ip6_in *ip,
				       const struct udp_hdr *uh)
{
	struct udp_key k = { .seed = un->udp->seed, .gport = uh->source,
			     .dport = uh->dest };

	memcpy(k.gaddr, ip->saddr, 16);
	memcpy(k.daddr, ip->daddr, 16);
	return g_hash_table_lookup(un->udp->by_key, &k);
}

/**
 * udp_nat6() - Send a guest's IPv6 datagram out through its flow
 * @uh:		the guest's UDP header (validated)
 * @payload:	its payload, untrusted bytes (not kept)
 * @f:		the outbound flow it belongs to, NULL if none exists yet
 */
static void udp_nat6(struct usernat *un, const struct ip6_in *ip,
		     const struct udp_hdr *uh, const struct pkt *payload,
		     struct udp_flow *f)
{
	struct udp_key k = { .seed = un->udp->seed, .gport = uh->source,
			     .dport = uh->dest };
	int err, code;

	memcpy(k.gaddr, ip->saddr, 16);
	memcpy(k.daddr, ip->daddr, 16);
	if (!f && !(f = udp_flow_new6(un, ip, &k)))
		return;
	memcpy(f->mac, ip->src_mac, ETH_ALEN);
	err = udp_flow_send(un, f, payload);
	code = err ? icmp6_unreach_code(-err) : -1;
	if (code == ICMP6_UNREACH_NOROUTE || code == ICMP6_UNREACH_ADDR)
		icmp6_send_error(un, ip, ICMP6_UNREACH, (uint8_t)code, 0);
}

/**
 * udp_from_guest6() - Validate an IPv6 UDP datagram and serve or NAT it
 * @ip:		from ip6_nat_from_guest(): a routable destination (hop limit
 *		checked), or one of our unicast addresses (ip->local); never
 *		multicast, never DHCPv6 (ip6.c serves it)
 *
 * dns6 port 53 is the DNS forwarder; gateway6 stands for the host's ::1
 * (un_host_addr6()); other ports of our addresses get a port unreachable
 * (RFC 4443 3.1 code 4), so a resolver or client moves on at once.  The
 * source must be in our prefix (as IPv4 wants the guest network), or
 * link-local toward one of our addresses.
 */
void udp_from_guest6(struct usernat *un, const struct ip6_in *ip)
{
	const struct udp_hdr *uh = pkt_at(&ip->l4, 0, UDP_HLEN);
	struct udp_flow *f;
	struct pkt payload;
	size_t ulen;

	if (!uh || (ulen = ntohs(uh->len)) < UDP_HLEN || ulen > ip->l4.len) {
		UN_COUNT(un, drop_udp_short);
		return;
	}
	/* RFC 8200 8.1: the checksum is mandatory, zero is invalid; not
	 * checked when partial (virtio-net offload, see un_rx_csum_ok()) */
	if (!uh->check || (!un_rx_csum_ok(un) &&
	    csum(ip->l4.p, ulen, csum_pseudo6(ip->saddr, ip->daddr,
					       IP6_NH_UDP, (uint32_t)ulen)))) {
		UN_COUNT(un, drop_udp_csum);
		return;
	}
	if (!ip6_in_prefix(un, ip->saddr) &&
	    !(ip->local && ip6_is_linklocal(ip->saddr))) {
		UN_COUNT(un, drop_ip6_src);
		return;
	}
	pkt_sub(&ip->l4, UDP_HLEN, ulen - UDP_HLEN, &payload);
	if (ip6_eq(ip->daddr, un->cfg.dns6) && uh->dest == htons(53)) {
		dns_from_guest6(un, ip, uh->source, &payload);
		return;
	}
	f = udp_flow_find6(un, ip, uh);
	if (f && f->inbound) {
		/* a reply to a forward client, before policy (see theory) */
		udp_inbound_reply(un, f, ip->src_mac, &payload);
		return;
	}
	if (ip->local && !(un->cfg.map_host_loopback &&
			   ip6_eq(ip->daddr, un->cfg.gw6))) {
		UN_COUNT(un, drop_udp_port);
		icmp6_send_error(un, ip, ICMP6_UNREACH, ICMP6_UNREACH_PORT, 0);
		return;
	}
	udp_nat6(un, ip, uh, &payload, f);
}

/**
 * udp4_out_send() - Send @len bytes written at udp4_out_payload() as UDP
 */
void udp4_out_send(struct usernat *un, const uint8_t *dst_mac, uint32_t saddr,
		   uint16_t sport, uint32_t daddr, uint16_t dport, size_t len)
{
	struct udp_hdr *uh = (struct udp_hdr *)ip4_out_l4(un);
	uint16_t ulen = (uint16_t)(UDP_HLEN + len);

	uh->source = sport;
	uh->dest = dport;
	uh->len = htons(ulen);
	uh->check = 0;
	uh->check = csum(uh, ulen, csum_pseudo4(saddr, daddr, IPPROTO_UDP4,
						ulen));
	if (!uh->check)
		uh->check = 0xffff;	/* RFC 768: zero means "none" */
	ip4_out_send(un, dst_mac, saddr, daddr, IPPROTO_UDP4, ulen);
}

