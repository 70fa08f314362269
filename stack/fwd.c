// SPDX-License-Identifier: GPL-2.0-or-later
/* fwd.c - inbound port forwards (QEMU hostfwd syntax)
 *
 * DOC: Theory of operation
 *
 * A forward is tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, the
 * syntax of QEMU's hostfwd= (so it can be pasted), extended with port
 * ranges: HOSTPORT and GUESTPORT may be FIRST-LAST (the guest range as long
 * as the host one, or a single first port).  HOSTADDR may be IPv4 or
 * [IPv6]; empty means any (0.0.0.0).  GUESTADDR empty means "the guest":
 * resolved when a connection arrives, to the single guest holding a DHCP
 * lease (the first DHCP address if none does yet, as QEMU does); with
 * several leases the address is required and such connections are refused
 * with a log line.  GUESTADDR may be [IPv6], an address in prefix6: then it
 * is always given (SLAAC leases nothing) and its MAC comes from the
 * neighbour table (ip6_neigh_find()); a guest not seen using it yet has
 * its connections refused, logged.
 *
 * Each host port is one listening (TCP) or bound (UDP) socket in the
 * instance's epoll set, tagged UN_EP_FWD with its slot index.  Accepted
 * connections go to tcp_inbound(), datagrams to udp_inbound(): the NAT
 * modules carry them exactly as outbound flows.  Removing a forward closes
 * its sockets: new connections are refused, established ones go on (they
 * belong to TCP by then).  UDP flows reply through the forward's socket,
 * so udp.c is told before it closes (udp_fwd_closing()) and their replies
 * are dropped from then on.
 *
 * Source address (forward-source=gateway|client, one setting per
 * instance): by default a forwarded connection reaches the guest from the
 * gateway address, as with QEMU's hostfwd, so the guest needs no route
 * beyond its own network (gateway6 for an IPv6 guest).  With "client" the
 * guest sees the client's real address and port instead (logs, access
 * rules), and answers it
 * through its default router, i.e. us: the reply's 4-tuple matches the
 * forwarded flow (tcp_lookup_addr(), udp.c's by_key) before any egress
 * policy or --restrict check, which only judge new outbound flows.  That
 * only works for addresses the guest would send to its router, so
 * fwd_source() and fwd_source6() still use the gateway for clients on the
 * host's loopback (127/8, ::1: a guest drops packets to its own loopback),
 * clients of the other family (no translation between them), and
 * addresses the guest takes for on-link: its own network or prefix,
 * 169.254/16 (RFC 3927) and fe80::/10, as well as 0/8, ::, multicast and
 * reserved ones, which are never a source (RFC 1122 3.2.1.3).
 * The setting is per instance rather than per forward because what makes
 * it work, the guest's default route through us, belongs to the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fwd.h"
#include "ip6.h"
#include "stack.h"

#define FWD_MAX_SOCKETS	4096	/* host ports over all forwards */
#define FWD_RX_BATCH	32

struct fwd_sock {
	int fd;			/* -1: free slot */
	int fwd;		/* index in un_fwd.fwds */
	uint16_t guest_port;	/* network order */
};

struct fwd_entry {
	bool used;
	char spec[128];		/* as given, for listing and removal */
	struct fwd_spec f;
	uint64_t accepted;
};

struct un_fwd {
	GArray *fwds;		/* struct fwd_entry */
	GArray *socks;		/* struct fwd_sock */
	uint8_t buf[65536];
};

static int fwd_err(char **err, int ret, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static int fwd_err(char **err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		*err = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int parse_port_range(const char *s, size_t n, uint16_t *a, uint16_t *b)
{
	char tmp[16], *dash, *end;
	unsigned long x, y;

	if (!n || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if ((dash = strchr(tmp, '-')))
		*dash = 0;
	x = strtoul(tmp, &end, 10);
	if (*end || end == tmp || !x || x > 65535)
		return -1;
	y = x;
	if (dash) {
		y = strtoul(dash + 1, &end, 10);
		if (*end || end == dash + 1 || y < x || y > 65535)
			return -1;
	}
	*a = (uint16_t)x;
	*b = (uint16_t)y;
	return 0;
}

/**
 * fwd_parse() - Parse a forward specification (see the theory above)
 * Return: 0, or -EINVAL with *@err set (g_free it)
 */
int fwd_parse(const char *s, struct fwd_spec *f, char **err)
{
	const char *host, *sep, *gcolon, *hcolon, *p;
	char addr[INET6_ADDRSTRLEN + 2];
	uint16_t gp, gpe;
	size_t n;

	memset(f, 0, sizeof(*f));
	if (!s)
		goto bad;
	if (!strncmp(s, "tcp:", 4))
		host = s + 4;
	else if (!strncmp(s, "udp:", 4)) {
		host = s + 4;
		f->udp = true;
	} else
		goto bad;

	/* The guest part is the last ":PORT" and what precedes it up to
	 * the '-' that separates it from the host part. */
	if (!(gcolon = strrchr(host, ':')))
		goto bad;
	for (sep = NULL, p = host; p < gcolon; p++)
		if (*p == '-')
			sep = p;
	if (!sep)
		goto bad;
	/* host part: [ADDR]:PORT[-PORT]; the address may be [IPv6] */
	if (!(hcolon = memrchr(host, ':', (size_t)(sep - host))))
		goto bad;
	/* a '-' inside the host port range belongs to it: the separator is
	 * the first '-' after the host port's colon that is followed by a
	 * guest part, i.e. the last one before gcolon is right unless the
	 * host range has a dash: then sep is still the last dash before the
	 * guest address, which is what we found. */
	if (parse_port_range(hcolon + 1, (size_t)(sep - hcolon - 1),
			     &f->host_port, &f->host_port_end))
		return fwd_err(err, -EINVAL, "forward '%s': bad host port", s);
	n = (size_t)(hcolon - host);
	if (n >= sizeof(addr))
		goto bad;
	memcpy(addr, host, n);
	addr[n] = 0;
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&f->host;

		addr[n - 1] = 0;
		if (inet_pton(AF_INET6, addr + 1, &a6->sin6_addr) != 1)
			return fwd_err(err, -EINVAL, "forward '%s': bad host "
				       "address", s);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(f->host_port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&f->host;

		a4->sin_family = AF_INET;
		a4->sin_port = htons(f->host_port);
		if (n && inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
			return fwd_err(err, -EINVAL, "forward '%s': bad host "
				       "address", s);
	}
	/* guest part: [ADDR]:PORT[-PORT] */
	n = (size_t)(gcolon - sep - 1);
	if (n >= sizeof(addr))
		goto bad;
	memcpy(addr, sep + 1, n);
	addr[n] = 0;
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr[n - 1] = 0;
		if (inet_pton(AF_INET6, addr + 1, f->guest_ip6) != 1)
			return fwd_err(err, -EINVAL, "forward '%s': bad guest "
				       "address", s);
		f->guest_v6 = true;
	} else if (n && inet_pton(AF_INET, addr, &f->guest_ip) != 1) {
		return fwd_err(err, -EINVAL, "forward '%s': bad guest address "
			       "(IPv4, or [IPv6])", s);
	}
	if (parse_port_range(gcolon + 1, strlen(gcolon + 1), &gp, &gpe))
		return fwd_err(err, -EINVAL, "forward '%s': bad guest port", s);
	if (gpe != gp && gpe - gp != f->host_port_end - f->host_port)
		return fwd_err(err, -EINVAL, "forward '%s': guest port range "
			       "must be as long as the host one", s);
	f->guest_port = gp;
	return 0;
bad:
	return fwd_err(err, -EINVAL, "forward '%s': expected tcp|udp:[HOSTADDR]"
		       ":HOSTPORT-[GUESTADDR]:GUESTPORT", s ? s : "");
}

static struct un_fwd *fwd_state(struct usernat *un)
{
	if (!un->fwd) {
		un->fwd = g_new0(struct un_fwd, 1);
		un->fwd->fwds = g_array_new(FALSE, TRUE,
					    sizeof(struct fwd_entry));
		un->fwd->socks = g_array_new(FALSE, TRUE,
					     sizeof(struct fwd_sock));
	}
	return un->fwd;
}

static void fwd_close_socks(struct usernat *un, int idx)
{
	struct un_fwd *st = un->fwd;
	guint i;

	for (i = 0; i < st->socks->len; i++) {
		struct fwd_sock *s = &g_array_index(st->socks, struct fwd_sock,
						    i);

		if (s->fd >= 0 && s->fwd == idx) {
			/* UDP inbound flows reply through this socket without
			 * owning it: detach them before the number can be
			 * reused (udp.c, udp_fwd_closing()) */
			if (g_array_index(st->fwds, struct fwd_entry, idx).f.udp)
				udp_fwd_closing(un, s->fd);
			un_epoll_del(un, s->fd);
			close(s->fd);
			s->fd = -1;
		}
	}
}

/** fwd_sock_slot() - A free socket slot (grows the table) */
static int fwd_sock_slot(struct un_fwd *st)
{
	struct fwd_sock none = { .fd = -1 };
	guint i;

	for (i = 0; i < st->socks->len; i++)
		if (g_array_index(st->socks, struct fwd_sock, i).fd < 0)
			return (int)i;
	if (st->socks->len >= FWD_MAX_SOCKETS)
		return -1;
	g_array_append_val(st->socks, none);
	return (int)st->socks->len - 1;
}

/** fwd_open_port() - Bind (and listen on) one host port of forward @idx */
static int fwd_open_port(struct usernat *un, int idx, const struct fwd_spec *f,
			 uint16_t port, uint16_t guest_port, char **err)
{
	struct un_fwd *st = un->fwd;
	struct sockaddr_storage a = f->host;
	int fd, one = 1, slot;
	struct fwd_sock *s;
	socklen_t alen;

	if (a.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
		alen = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&a)->sin_port = htons(port);
		alen = sizeof(struct sockaddr_in);
	}
	if ((slot = fwd_sock_slot(st)) < 0)
		return fwd_err(err, -ENOSPC, "too many forwarded ports");
	fd = socket(a.ss_family, (f->udp ? SOCK_DGRAM : SOCK_STREAM) |
			SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fwd_err(err, -errno, "forward: socket: %s",
			       strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, alen) ||
	    (!f->udp && listen(fd, 128))) {
		int e = errno;

		close(fd);
		return fwd_err(err, -e, "forward: cannot bind %s port %u: %s",
			       f->udp ? "UDP" : "TCP", port, strerror(e));
	}
	s = &g_array_index(st->socks, struct fwd_sock, slot);
	s->fd = fd;
	s->fwd = idx;
	s->guest_port = htons(guest_port);
	un_epoll_add(un, fd, EPOLLIN, UN_EP_FWD, (uint32_t)slot);
	return 0;
}

/**
 * usernat_forward_add() - Add a forward (see fwd.c's theory for the syntax)
 * Return: 0, or negative errno with *@err set (free with free()... g_free)
 */
int usernat_forward_add(struct usernat *un, const char *spec, char **err)
{
	struct fwd_entry e = { .used = true };
	struct un_fwd *st = fwd_state(un);
	unsigned int port;
	int idx, ret;
	guint i;

	if (err)
		*err = NULL;
	if ((ret = fwd_parse(spec, &e.f, err)))
		return ret;
	if (strlen(spec) >= sizeof(e.spec))
		return fwd_err(err, -EINVAL, "forward: specification too long");
	if (e.f.guest_ip && (!un_in_net(un, e.f.guest_ip) ||
			     un_is_ours(un, e.f.guest_ip)))
		return fwd_err(err, -EINVAL, "forward '%s': the guest address "
			       "must be in the network and not usernat's own",
			       spec);
	if (e.f.guest_v6 && (!un->cfg.ipv6 ||
			     !ip6_in_prefix(un, e.f.guest_ip6) ||
			     ip6_is_ours(un, e.f.guest_ip6)))
		return fwd_err(err, -EINVAL, "forward '%s': the guest address "
			       "must be in prefix6 (IPv6 on) and not usernat's "
			       "own", spec);
	if (!e.f.guest_ip && !e.f.guest_v6 &&
	    usernat_leases(un, NULL, 0) > 1)
		return fwd_err(err, -EINVAL, "forward '%s': several guests "
			       "hold leases: give the guest address", spec);
	strcpy(e.spec, spec);
	for (i = 0; i < st->fwds->len; i++)
		if (!g_array_index(st->fwds, struct fwd_entry, i).used)
			break;
	if (i == st->fwds->len)
		g_array_append_val(st->fwds, e);
	else
		g_array_index(st->fwds, struct fwd_entry, i) = e;
	idx = (int)i;
	for (port = e.f.host_port; port <= e.f.host_port_end; port++) {
		ret = fwd_open_port(un, idx, &e.f, (uint16_t)port,
				    (uint16_t)(e.f.guest_port +
					       (port - e.f.host_port)), err);
		if (ret) {
			fwd_close_socks(un, idx);
			g_array_index(st->fwds, struct fwd_entry, idx).used =
				false;
			return ret;
		}
	}
	un_info(un, "forward %s added", spec);
	return 0;
}

/**
 * usernat_forward_remove() - Remove the forward given as @spec
 * Return: 0, or -ENOENT with *@err set
 */
int usernat_forward_remove(struct usernat *un, const char *spec, char **err)
{
	struct un_fwd *st = un->fwd;
	guint i;

	if (err)
		*err = NULL;
	for (i = 0; st && i < st->fwds->len; i++) {
		struct fwd_entry *e = &g_array_index(st->fwds, struct fwd_entry,
						     i);

		if (e->used && !strcmp(e->spec, spec)) {
			fwd_close_socks(un, (int)i);
			e->used = false;
			un_info(un, "forward %s removed", spec);
			return 0;
		}
	}
	return fwd_err(err, -ENOENT, "no forward '%s'", spec);
}

void usernat_forward_foreach(const struct usernat *un,
			     void (*fn)(void *opaque, const char *spec,
					uint64_t accepted),
			     void *opaque)
{
	guint i;

	for (i = 0; un->fwd && i < un->fwd->fwds->len; i++) {
		const struct fwd_entry *e =
			&g_array_index(un->fwd->fwds, struct fwd_entry, i);

		if (e->used)
			fn(opaque, e->spec, e->accepted);
	}
}

/** fwd_map4() - Write IPv4 address @a4 (network order) as ::ffff:a4 */
static void fwd_map4(uint8_t *out, uint32_t a4)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
}

static void fwd_target_source(const struct usernat *un,
			      const struct sockaddr_storage *peer,
			      struct fwd_target *t);

/**
 * fwd_guest() - The guest a connection of forward @e goes to
 * @t:		its address, port @port (network order) and MAC are set
 *
 * IPv4: the forward's address, or the one leased guest.  IPv6: the
 * forward's address, which must be in the neighbour table (the guest has
 * sent something from it: SLAAC's DAD and router solicitation do).
 * Return: 0, or -1 (logged) if there is none
 */
static int fwd_guest(struct usernat *un, const struct fwd_entry *e,
		     uint16_t port, struct fwd_target *t)
{
	const struct un_guest *g;
	struct usernat_lease l;
	char a[INET6_ADDRSTRLEN];
	uint32_t ip;

	memset(t, 0, sizeof(*t));
	t->guest_port = port;
	if (e->f.guest_v6) {
		t->v6 = true;
		memcpy(t->guest, e->f.guest_ip6, 16);
		if (ip6_neigh_find(un, t->guest, t->mac))
			return 0;
		un_warn(un, "forward %s: guest %s not seen on the network yet, "
			"connection refused", e->spec,
			inet_ntop(AF_INET6, t->guest, a, sizeof(a)));
		return -1;
	}
	ip = e->f.guest_ip;
	if (!ip) {
		size_t n = usernat_leases(un, &l, 1);

		if (n > 1) {
			un_warn(un, "forward %s: several guests hold leases, "
				"connection refused: give the guest address",
				e->spec);
			return -1;
		}
		ip = n ? l.ip : un->cfg.dhcp_start;
	}
	if (!(g = un_guest_find(un, ip))) {
		un_warn(un, "forward %s: guest %s not seen on the network yet, "
			"connection refused", e->spec, un_ip4_str(ip, a));
		return -1;
	}
	fwd_map4(t->guest, ip);
	memcpy(t->mac, g->mac, ETH_ALEN);
	return 0;
}

/**
 * fwd_source() - The address a forwarded flow from client @peer comes from,
 * as the guest sees it (see "Source address" in the theory above)
 * @peer:	the client, from accept() or recvfrom()
 *
 * Return: the client's IPv4 address with forward-source=client if the
 * guest can answer it through its default router, else the gateway
 * address; network order
 */
uint32_t fwd_source(const struct usernat *un,
		    const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)peer;
	uint32_t a, h;

	if (!un->cfg.fwd_client_source)
		return un->cfg.gw;
	if (peer->ss_family == AF_INET)
		a = ((const struct sockaddr_in *)peer)->sin_addr.s_addr;
	else if (peer->ss_family == AF_INET6 &&
		 IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		memcpy(&a, a6->sin6_addr.s6_addr + 12, 4);
	else
		return un->cfg.gw;
	h = ntohl(a);
	if ((h >> 24) == 0 || (h >> 24) == 127 ||	/* RFC 1122 3.2.1.3 */
	    (h >> 16) == 0xa9fe ||			/* RFC 3927 */
	    h >= 0xe0000000 ||				/* class D, E */
	    un_in_net(un, a))				/* on-link */
		return un->cfg.gw;
	return a;
}

/**
 * fwd_source6() - As fwd_source(), toward an IPv6 guest
 * @out:	gateway6, or with forward-source=client the client's IPv6
 *		address if the guest answers it through its default router:
 *		not ::1 or ::, nor link-local, multicast, IPv4-mapped (an IPv4
 *		client) or in prefix6 (on-link)
 */
void fwd_source6(const struct usernat *un,
		 const struct sockaddr_storage *peer, uint8_t *out)
{
	const struct sockaddr_in6 *p6 = (const struct sockaddr_in6 *)peer;
	const struct in6_addr *a = &p6->sin6_addr;

	memcpy(out, un->cfg.gw6, 16);
	if (!un->cfg.fwd_client_source || peer->ss_family != AF_INET6 ||
	    IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
	    IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
	    IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a) ||
	    ip6_in_prefix(un, a->s6_addr))
		return;
	memcpy(out, a->s6_addr, 16);
}

/** fwd_target_source() - Set @t->src for client @peer (fwd_source*()) */
static void fwd_target_source(const struct usernat *un,
			      const struct sockaddr_storage *peer,
			      struct fwd_target *t)
{
	if (t->v6)
		fwd_source6(un, peer, t->src);
	else
		fwd_map4(t->src, fwd_source(un, peer));
}

/**
 * fwd_ready() - A forward socket is readable: accept, or read datagrams
 */
void fwd_ready(struct usernat *un, union un_ref ref, uint32_t events)
{
	struct un_fwd *st = un->fwd;
	struct fwd_target t;
	struct fwd_sock *s;
	struct fwd_entry *e;
	int i;

	if (!st || ref.idx >= st->socks->len)
		return;
	s = &g_array_index(st->socks, struct fwd_sock, ref.idx);
	if (s->fd < 0)
		return;
	e = &g_array_index(st->fwds, struct fwd_entry, s->fwd);
	for (i = 0; i < FWD_RX_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n;
		int fd;

		if (!e->f.udp) {
			fd = accept4(s->fd, (struct sockaddr *)&peer, &plen,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0)
				return;
			if (fwd_guest(un, e, s->guest_port, &t)) {
				close(fd);
				continue;
			}
			fwd_target_source(un, &peer, &t);
			e->accepted++;
			tcp_inbound(un, fd, &peer, &t);
			continue;
		}
		n = recvfrom(s->fd, st->buf, sizeof(st->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&peer, &plen);
		if (n < 0)
			return;
		if (fwd_guest(un, e, s->guest_port, &t))
			continue;
		fwd_target_source(un, &peer, &t);
		e->accepted++;
		udp_inbound(un, s->fd, &peer, plen, &t, st->buf, (size_t)n);
	}
}

void fwd_cleanup(struct usernat *un)
{
	struct un_fwd *st = un->fwd;
	guint i;

	if (!st)
		return;
	for (i = 0; i < st->fwds->len; i++)
		fwd_close_socks(un, (int)i);
	g_array_free(st->fwds, TRUE);
	g_array_free(st->socks, TRUE);
	g_free(st);
	un->fwd = NULL;
}
