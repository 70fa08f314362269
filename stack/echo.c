// SPDX-License-Identifier: GPL-2.0-or-later
/* echo.c - echo NAT flows of both families: table, caps, expiry, listing
 *
 * DOC: Theory of operation
 *
 * icmp.c (IPv4) and icmp6.c (IPv6) NAT a guest's echo requests the same
 * way: each flow, (guest address, destination, guest echo identifier),
 * gets a host-side identifier of its own, either from an unprivileged ping
 * socket of its own (the kernel picks it) or chosen here for the family's
 * one raw socket.  What differs between the families - the sockets' and
 * messages' formats, checksums, errors - stays in those files; what is the
 * same lives here, once:
 *
 * - one table for both families: keys of 16-byte addresses (IPv4 mapped),
 *   a seeded hash, lookups by key, by epoll reference (ping sockets) and
 *   by host identifier (raw mode, per family);
 * - a list in order of last use, from which the 1 s tick ends flows idle
 *   for ECHO_TIMEOUT_MS;
 * - the caps (Hardening 4).  Every echo flow is a flow, charged to the
 *   generic caps (max-flows; per guest address for IPv4, per MAC for IPv6:
 *   un_flow_charge(), un_flow_charge6()).  On top, echo identifiers have
 *   caps of their own, max-icmp-ids for the instance and
 *   max-icmp-ids-per-guest for one guest, so pinging with fresh
 *   identifiers (one socket each) can't take the descriptors or flow slots
 *   TCP and UDP need.  Here a guest is its MAC, for both families: it is
 *   what a frame is sure to carry, and what IPv6 flows are charged to
 *   already.  Past a cap the request is answered with destination
 *   unreachable, administratively prohibited (as past the generic caps,
 *   so ping says "filtered" instead of waiting) and counted in
 *   icmp_id_limit; flows in progress go on.
 * - the listing for the control socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo.h"
#include "stack.h"

#define ECHO_TIMEOUT_MS		60000	/* idle echo flows end after this */
#define ECHO_LOG_MS		10000	/* at most one warning per 10 s */

/* Echo flows of one guest MAC, for max-icmp-ids-per-guest */
struct echo_guest {
	uint64_t mac;			/* key: the MAC in the low 48 bits */
	unsigned int flows;
};

/**
 * struct un_echo - Echo NAT flows of one instance, both families
 * @by_key:	struct echo_key * -> flow
 * @by_ref:	ping mode: epoll ref -> flow
 * @by_sid:	raw mode: (v6 << 16 | host identifier) -> flow
 * @by_mac:	guest MAC (uint64_t *) -> struct echo_guest, only guests
 *		with flows (freed with their last)
 * @lru:	flows, least recently used first
 * @seed:	hash seed
 * @next_ref:	next epoll reference to try
 * @last_log_ms: last warning about sockets or caps
 */
struct un_echo {
	GHashTable *by_key;
	GHashTable *by_ref;
	GHashTable *by_sid;
	GHashTable *by_mac;
	GQueue lru;
	uint32_t seed;
	uint32_t next_ref;
	int64_t last_log_ms;
};

/** echo_key_hash() - Seeded hash of an echo flow key; Return: hash */
static guint echo_key_hash(gconstpointer p)
{
	const struct echo_key *k = p;
	uint64_t h = k->seed, w[4];

	memcpy(w, k->gaddr, 32);
	h ^= w[0] ^ ((uint64_t)k->gid << 48) ^ ((uint64_t)k->v6 << 40);
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= w[1];
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= w[2];
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= w[3];
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return (guint)(h ^ (h >> 32));
}

/** echo_key_equal() - Same flow?  The seed is not compared */
static gboolean echo_key_equal(gconstpointer a, gconstpointer b)
{
	const struct echo_key *x = a, *y = b;

	return x->gid == y->gid && x->v6 == y->v6 &&
	       !memcmp(x->gaddr, y->gaddr, 32);
}

G_STATIC_ASSERT(offsetof(struct echo_key, daddr) ==
		offsetof(struct echo_key, gaddr) + 16);

/** echo_mac_key() - A MAC as a 64-bit key; Return: key */
static uint64_t echo_mac_key(const uint8_t *mac)
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < ETH_ALEN; i++)
		k = k << 8 | mac[i];
	return k;
}

/** echo_sid_key() - by_sid key: host identifiers are per family */
static gpointer echo_sid_key(bool v6, uint16_t sid)
{
	return GUINT_TO_POINTER((guint)v6 << 16 | sid);
}

/** echo_map4() - Write IPv4 address @a4 (network order) as ::ffff:a4 */
static void echo_map4(uint8_t *out, uint32_t a4)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
}

/** echo_key4() - Key of IPv4 flow (@gaddr, @daddr, @gid), network order */
void echo_key4(const struct usernat *un, struct echo_key *k, uint32_t gaddr,
	       uint32_t daddr, uint16_t gid)
{
	memset(k, 0, sizeof(*k));
	k->seed = un->echo->seed;
	k->gid = gid;
	echo_map4(k->gaddr, gaddr);
	echo_map4(k->daddr, daddr);
}

/** echo_key6() - Key of IPv6 flow (@gaddr, @daddr, @gid), 16-byte addresses */
void echo_key6(const struct usernat *un, struct echo_key *k,
	       const uint8_t *gaddr, const uint8_t *daddr, uint16_t gid)
{
	memset(k, 0, sizeof(*k));
	k->seed = un->echo->seed;
	k->gid = gid;
	k->v6 = 1;
	memcpy(k->gaddr, gaddr, 16);
	memcpy(k->daddr, daddr, 16);
}

/** echo_lookup() - Flow of key @k; Return: flow or NULL */
struct echo_flow *echo_lookup(const struct usernat *un,
			      const struct echo_key *k)
{
	return g_hash_table_lookup(un->echo->by_key, k);
}

/** echo_by_ref() - Flow of ping socket reference @ref; Return: flow or NULL */
struct echo_flow *echo_by_ref(const struct usernat *un, uint32_t ref)
{
	return g_hash_table_lookup(un->echo->by_ref, GUINT_TO_POINTER(ref));
}

/** echo_by_sid() - Raw-mode flow of host identifier @sid of a family;
 * Return: flow or NULL */
struct echo_flow *echo_by_sid(const struct usernat *un, bool v6, uint16_t sid)
{
	return g_hash_table_lookup(un->echo->by_sid, echo_sid_key(v6, sid));
}

/** echo_count() - Echo flows charged to @mac (or all, @mac NULL) */
unsigned int echo_count(const struct usernat *un, const uint8_t *mac)
{
	uint64_t k;
	const struct echo_guest *g;

	if (!mac)
		return un->echo->lru.length;
	k = echo_mac_key(mac);
	g = g_hash_table_lookup(un->echo->by_mac, &k);
	return g ? g->flows : 0;
}

/** echo_flow_debug() - One debug line about echo flow @f: @what happened */
static void echo_flow_debug(const struct usernat *un,
			    const struct echo_flow *f, const char *what)
{
	char g[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = f->key.v6 ? AF_INET6 : AF_INET;
	size_t off = f->key.v6 ? 0 : 12;

	if (un->log_level < USERNAT_LOG_DEBUG)
		return;
	un_debug(un, "ICMP%s echo flow %s id %u -> %s (host id %u): %s",
		 f->key.v6 ? "v6" : "",
		 inet_ntop(af, f->key.gaddr + off, g, sizeof(g)),
		 ntohs(f->key.gid),
		 inet_ntop(af, f->key.daddr + off, d, sizeof(d)),
		 ntohs(f->sid), what);
}

/**
 * echo_log_limited() - Warn about an echo flow refused for want of
 * resources (@why), at most once per ECHO_LOG_MS
 */
static void echo_log_limited(struct usernat *un, const char *why)
{
	int64_t now = un_now_ms();

	if (now - un->echo->last_log_ms < ECHO_LOG_MS)
		return;
	un->echo->last_log_ms = now;
	un_warn(un, "ICMP: echo flow refused: %s (echo flows: %u, flows: %u)",
		why, un->echo->lru.length, un->flows);
}

/**
 * echo_charge() - Account a new flow of guest @mac against the echo caps,
 * then the generic flow caps
 *
 * Return: 0, or -ENOSPC past a cap (counted: icmp_id_limit, or
 * drop_flow_limit by un_flow_charge*())
 */
static int echo_charge(struct usernat *un, const struct echo_key *k,
		       const uint8_t *mac)
{
	struct un_echo *e = un->echo;
	uint64_t mk = echo_mac_key(mac);
	struct echo_guest *g = g_hash_table_lookup(e->by_mac, &mk);

	if (e->lru.length >= un->cfg.lim.max_icmp_ids ||
	    (g && g->flows >= un->cfg.lim.max_icmp_ids_guest)) {
		UN_COUNT(un, icmp_id_limit);
		echo_log_limited(un, "ICMP id limit reached");
		return -ENOSPC;
	}
	if (k->v6 ? un_flow_charge6(un, mac, "ICMPv6 echo flow")
		  : un_flow_charge(un, echo_v4(k->gaddr), "ICMP echo flow"))
		return -ENOSPC;
	if (!g) {
		g = g_new0(struct echo_guest, 1);
		g->mac = mk;
		g_hash_table_insert(e->by_mac, &g->mac, g);
	}
	g->flows++;
	return 0;
}

/** echo_release() - Give back what echo_charge() took for @f's key/@mac */
static void echo_release(struct usernat *un, const struct echo_key *k,
			 const uint8_t *mac)
{
	uint64_t mk = echo_mac_key(mac);
	struct echo_guest *g = g_hash_table_lookup(un->echo->by_mac, &mk);

	if (k->v6)
		un_flow_release6(un, mac);
	else
		un_flow_release(un, echo_v4(k->gaddr));
	if (g && !--g->flows)
		g_hash_table_remove(un->echo->by_mac, &mk);
}

/**
 * echo_ping_socket() - Open a ping socket with its own echo identifier
 * @v6:		ICMPv6, else ICMP
 * @sid:	the identifier the kernel gave it, network order, output
 *
 * The socket reports errors about what it sends (IP_RECVERR,
 * IPV6_RECVERR): the families relay them.  Return: socket, or negative
 * errno
 */
static int echo_ping_socket(bool v6, uint16_t *sid)
{
	struct sockaddr_storage ss = { .ss_family = v6 ? AF_INET6 : AF_INET };
	socklen_t sl = v6 ? sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in);
	int fd, one = 1, ret;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return -errno;
	/* Binding to port 0 makes the kernel pick a free identifier now */
	if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       v6 ? IPV6_RECVERR : IP_RECVERR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sl) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* sin_port and sin6_port are at the same place */
	*sid = v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port;
	return fd;
}

/**
 * echo_raw_sid() - A host-side identifier no raw-mode flow of the family
 * uses
 * Return: 0 with *@sid set, or -ENOSPC if none was found
 */
static int echo_raw_sid(struct un_echo *e, bool v6, uint16_t *sid)
{
	int tries;

	for (tries = 0; tries < 64; tries++) {
		*sid = (uint16_t)g_random_int();
		if (!g_hash_table_contains(e->by_sid, echo_sid_key(v6, *sid)))
			return 0;
	}
	return -ENOSPC;
}

/**
 * echo_register() - Put new flow @f in the tables (and epoll)
 * Return: 0, or negative errno (@f in no table)
 */
static int echo_register(struct usernat *un, struct echo_flow *f)
{
	struct un_echo *e = un->echo;
	int ret;

	if (f->fd >= 0) {
		do {
			f->ref = e->next_ref++;
		} while (f->ref == ECHO_RAW_REF ||
			 g_hash_table_contains(e->by_ref,
					       GUINT_TO_POINTER(f->ref)));
		ret = un_epoll_add(un, f->fd, EPOLLIN,
				   f->key.v6 ? UN_EP_ICMP6 : UN_EP_ICMP,
				   f->ref);
		if (ret)
			return ret;
		g_hash_table_insert(e->by_ref, GUINT_TO_POINTER(f->ref), f);
	} else {
		g_hash_table_insert(e->by_sid, echo_sid_key(f->key.v6, f->sid),
				    f);
	}
	g_hash_table_insert(e->by_key, &f->key, f);
	g_queue_push_tail_link(&e->lru, &f->lru);
	return 0;
}

/**
 * echo_flow_new() - Create the echo flow for @k, charged to guest @mac
 * @ping:	open a ping socket for it, else pick an identifier for the
 *		family's raw socket
 * @err:	why not, output: -ENOSPC past a cap, else a negative errno
 *
 * The caller has checked the egress policy; past a cap or with no socket
 * it tells the guest (destination unreachable, administratively
 * prohibited).  Counted here either way: icmp_id_limit or drop_flow_limit,
 * drop_icmp_socket.
 * Return: new flow (owned by the table), or NULL
 */
struct echo_flow *echo_flow_new(struct usernat *un, const struct echo_key *k,
				const uint8_t *mac, bool ping, int *err)
{
	struct echo_flow *f;
	uint16_t sid = 0;
	int fd = -1, ret;

	if ((*err = echo_charge(un, k, mac)))
		return NULL;
	ret = ping ? (fd = echo_ping_socket(k->v6, &sid))
		   : echo_raw_sid(un->echo, k->v6, &sid);
	f = g_new0(struct echo_flow, 1);
	f->key = *k;
	f->fd = fd;
	f->sid = sid;
	f->lru.data = f;
	memcpy(f->mac, mac, ETH_ALEN);
	memcpy(f->cmac, mac, ETH_ALEN);
	f->created_ms = f->last_ms = un_now_ms();
	if (ret < 0 || (ret = echo_register(un, f)) < 0) {
		if (fd >= 0)
			close(fd);
		g_free(f);
		echo_release(un, k, mac);
		UN_COUNT(un, drop_icmp_socket);
		if (ret == -EMFILE || ret == -ENFILE || ret == -ENOBUFS ||
		    ret == -ENOMEM)
			echo_log_limited(un, strerror(-ret));
		else
			un_debug(un, "ICMP: no echo socket: %s",
				 strerror(-ret));
		*err = ret;
		return NULL;
	}
	UN_COUNT(un, icmp_flows);
	echo_flow_debug(un, f, "new");
	return f;
}

/** echo_touch() - Mark @f used now: to the tail of the LRU list */
void echo_touch(struct usernat *un, struct echo_flow *f)
{
	struct un_echo *e = un->echo;

	f->last_ms = un_now_ms();
	g_queue_unlink(&e->lru, &f->lru);
	g_queue_push_tail_link(&e->lru, &f->lru);
}

/**
 * echo_flow_free() - End an echo flow: close its socket, release its
 * charges
 */
static void echo_flow_free(struct usernat *un, struct echo_flow *f)
{
	struct un_echo *e = un->echo;

	g_hash_table_remove(e->by_key, &f->key);
	g_queue_unlink(&e->lru, &f->lru);
	if (f->fd >= 0) {
		g_hash_table_remove(e->by_ref, GUINT_TO_POINTER(f->ref));
		un_epoll_del(un, f->fd);
		close(f->fd);
	} else {
		g_hash_table_remove(e->by_sid, echo_sid_key(f->key.v6, f->sid));
	}
	echo_release(un, &f->key, f->cmac);
	g_free(f);
}

/**
 * echo_tick() - End echo flows idle for ECHO_TIMEOUT_MS
 *
 * Oldest first from the LRU list, stopping at the first live flow.
 */
void echo_tick(struct usernat *un, int64_t now_ms)
{
	struct un_echo *e = un->echo;
	struct echo_flow *f;

	if (!e)
		return;
	while ((f = g_queue_peek_head(&e->lru)) &&
	       now_ms - f->last_ms >= ECHO_TIMEOUT_MS) {
		UN_COUNT(un, icmp_flows_expired);
		echo_flow_debug(un, f, "expired");
		echo_flow_free(un, f);
	}
}

/**
 * echo_flow_report() - Fill @uf for echo flow @f
 *
 * The guest port is the guest's echo identifier; the host side is the
 * address pinged (never the gateway: the gateway answers pings itself,
 * but it may stand for the host's loopback) and, as its port, the
 * identifier used on the host.  IPv4 guests are in guest_addr, IPv6 ones
 * spelt out in guest.
 */
static void echo_flow_report(const struct usernat *un,
			     const struct echo_flow *f, int64_t now,
			     struct usernat_flow *uf)
{
	char a[INET6_ADDRSTRLEN];

	memset(uf, 0, sizeof(*uf));
	uf->proto = "icmp";
	uf->state = "active";
	uf->guest_port = ntohs(f->key.gid);
	if (f->key.v6) {
		snprintf(uf->guest, sizeof(uf->guest), "[%s]:%u",
			 inet_ntop(AF_INET6, f->key.gaddr, a, sizeof(a)),
			 uf->guest_port);
		snprintf(uf->host, sizeof(uf->host), "[%s]:%u",
			 inet_ntop(AF_INET6, f->key.daddr, a, sizeof(a)),
			 ntohs(f->sid));
	} else {
		uf->guest_addr = echo_v4(f->key.gaddr);
		snprintf(uf->host, sizeof(uf->host), "%s:%u",
			 un_ip4_str(un_host_addr(un, echo_v4(f->key.daddr)),
				    a),
			 ntohs(f->sid));
	}
	uf->bytes_from_guest = f->bytes_from_guest;
	uf->bytes_to_guest = f->bytes_to_guest;
	uf->age_ms = (uint64_t)MAX(now - f->created_ms, 0);
}

/** echo_flows_foreach() - Report each echo flow to @fn (control plane) */
void echo_flows_foreach(const struct usernat *un, un_flow_fn fn, void *opaque)
{
	int64_t now = un_now_ms();
	struct usernat_flow uf;
	GList *l;

	if (!un->echo)
		return;
	for (l = un->echo->lru.head; l; l = l->next) {
		echo_flow_report(un, l->data, now, &uf);
		fn(opaque, &uf);
	}
}

/** echo_init() - Set up the (empty) table; Return: 0 */
int echo_init(struct usernat *un)
{
	struct un_echo *e = g_new0(struct un_echo, 1);

	e->by_key = g_hash_table_new(echo_key_hash, echo_key_equal);
	e->by_ref = g_hash_table_new(g_direct_hash, g_direct_equal);
	e->by_sid = g_hash_table_new(g_direct_hash, g_direct_equal);
	e->by_mac = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					  g_free);
	g_queue_init(&e->lru);
	e->seed = g_random_int();
	e->next_ref = g_random_int();
	e->last_log_ms = -ECHO_LOG_MS;
	un->echo = e;
	return 0;
}

/**
 * echo_cleanup() - End all echo flows (their sockets closed, charges
 * released); safe if never set up.  Before the families' cleanups.
 */
void echo_cleanup(struct usernat *un)
{
	struct un_echo *e = un->echo;
	struct echo_flow *f;

	if (!e)
		return;
	while ((f = g_queue_peek_head(&e->lru)))
		echo_flow_free(un, f);
	g_hash_table_destroy(e->by_key);
	g_hash_table_destroy(e->by_ref);
	g_hash_table_destroy(e->by_sid);
	g_hash_table_destroy(e->by_mac);
	g_free(e);
	un->echo = NULL;
}
