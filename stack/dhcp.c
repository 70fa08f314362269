// SPDX-License-Identifier: GPL-2.0-or-later
/* dhcp.c - DHCPv4 server for the guests (RFC 2131, RFC 2132)
 *
 * DOC: Theory of operation
 *
 * We are the only DHCP server on the guests' virtual link, and act as an
 * authoritative one: a client asking (INIT-REBOOT) for an address it may not
 * have gets a DHCPNAK at once, and a client we have no record of may still
 * get the address it asks for if it is free, as dnsmasq does with
 * --dhcp-authoritative.  That lets guests keep their address across a
 * restart of the instance.
 *
 * Leases live in one table allocated by dhcp_init() and never resized:
 *
 *   lease[0 .. npool)			one slot per pool address, slot i
 *					holding dhcp_start + i
 *   lease[npool .. npool + nstatic)	one slot per dhcp-host entry
 *
 * Pool slots for the gateway, DNS, network and broadcast addresses and for
 * static leases' addresses are marked reserved and never handed out.  A
 * GHashTable maps a client MAC (chaddr) to its slot: static entries are
 * inserted at start-up, dynamic ones when a client first gets an address
 * (the only allocation, once per new client; keys point at the slot's own
 * mac field, so nothing is allocated for them).
 *
 * A pool slot is:
 *   fresh	never owned (expires_ms == INT64_MIN)
 *   owned	associated with one MAC; "held" while expires_ms is in the
 *		future, either offered (bound false, held DHCP_OFFER_HOLD_MS)
 *		or bound (DHCPACK sent, held for the lease time); once it has
 *		expired or been released it stays associated with its MAC, so
 *		that client gets the same address back, until the pool runs
 *		out of fresh slots and it is reclaimed for someone else
 *   declined	a client said the address is in use (DHCPDECLINE): not
 *		owned, not handed out before declined_until_ms
 *
 * Identity is chaddr alone: option 61 (client identifier) is ignored, so a
 * guest keeps its address when its DHCP client changes (firmware, initramfs
 * and OS clients often send different client identifiers, or none), and the
 * MAC is what static leases are keyed on anyway.  This departs from
 * RFC 2131 4.2, which prefers the client identifier when present.
 *
 * Limits and guests that misbehave (Hardening 4).  A guest is its MAC
 * here: chaddr must be the frame's source MAC, else the message is
 * dropped and counted (drop_dhcp_chaddr), so a guest can neither ask for,
 * renew nor give up an address in another's name; the cost is that a
 * client behind a MAC-rewriting bridge can't get a lease.  The pool is
 * shared, and a guest that cycles through source MACs is many clients, so
 * what it can't do is take an address from anyone else:
 *   - a bound lease that has not expired is never reclaimed, whatever the
 *     pressure: a new client gets no offer (counted in dhcp_pool_full)
 *     or a DHCPNAK;
 *   - an offer is not a promise (RFC 2131 4.3.1: the server need not
 *     reserve it): when no slot is free, a new client takes the oldest
 *     offer not yet requested, so DISCOVERs from fresh MACs, which hold
 *     offers for DHCP_OFFER_HOLD_MS, cannot lock other guests out;
 *   - max-leases caps the slots held (offered or bound, not expired) at
 *     once, 0 (the default) meaning the pool's size: past it, a client
 *     with no address gets none (no offer, or DHCPNAK; counted in
 *     dhcp_lease_limit) unless an old offer can be taken back as above,
 *     and clients with an address keep renewing it.
 * DHCPv6 (dhcp6.c) keeps no lease table: nothing there can run out.
 *
 * Option overload (option 52) is honoured: after the options field, the
 * file and then the sname fields are walked as options too (RFC 2131 4.1).
 * Our replies never overload: sname and file are zero, siaddr is 0 (no boot
 * server).  Relay agents are not supported: a message with giaddr set can
 * only come from a relay on our virtual link, which has no other segments,
 * so it is dropped and counted as malformed.
 *
 * Options in replies are not filtered by the parameter request list
 * (option 55): every configured option is sent, in a fixed order, as long as
 * it fits the client's maximum message size (option 57, RFC 2132 9.10;
 * 576 octets if absent, per RFC 2131 2).  One that does not fit is left out
 * whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "dhcp.h"
#include "stack.h"
#include "wire/dhcp.h"
#include "wire/ip4.h"
#include "wire/udp.h"

#define DHCP_POOL_MAX		65536	/* slots for the dynamic pool */
#define DHCP_OFFER_HOLD_MS	60000	/* offered address kept this long */
#define DHCP_DECLINE_MS		600000	/* declined address rests this long */
#define DHCP_FULL_WARN_MS	60000	/* "pool full" at most this often */
#define DHCP_MIN_MSG		576	/* RFC 2131 2: what clients accept */
#define DHCP_MIN_REPLY		300	/* RFC 951: size of a BOOTP message */
#define DHCP_SEARCH_MAX		512	/* encoded option 119 data */
#define DHCP_CHADDR_LEN		16

/**
 * struct dhcp_lease - One slot of the lease table
 * @mac:		owner, valid if @owned
 * @owned:		associated with @mac (and in the MAC table)
 * @bound:		a DHCPACK was sent and the lease not released
 * @reserved:		pool slot never handed out (ours, static, ...)
 * @is_static:		slot of a dhcp-host entry
 * @ip:			address, network order
 * @expires_ms:		end of the offer or lease; INT64_MIN: never owned
 * @declined_until_ms:	not to be handed out before this time
 * @name:		static name, or the client's host name (option 12)
 */
struct dhcp_lease {
	uint8_t mac[ETH_ALEN];
	bool owned;
	bool bound;
	bool reserved;
	bool is_static;
	uint32_t ip;
	int64_t expires_ms;
	int64_t declined_until_ms;
	char name[64];
};

/**
 * struct un_dhcp - DHCP server state of one instance
 * @start_h:		first pool address, host order
 * @npool:		pool slots, lease[0 .. npool)
 * @nstatic:		static slots, lease[npool .. npool + nstatic)
 * @lease:		the table, allocated once
 * @by_mac:		chaddr -> struct dhcp_lease *, keys inside the slots
 * @full_warn_ms:	last "pool full" warning
 * @search_len:		bytes of @search, 0: no option 119
 * @search:		encoded domain search list (RFC 3397)
 */
struct un_dhcp {
	uint32_t start_h;
	size_t npool;
	size_t nstatic;
	struct dhcp_lease *lease;
	GHashTable *by_mac;
	int64_t full_warn_ms;
	size_t search_len;
	uint8_t search[DHCP_SEARCH_MAX];
};

/**
 * struct dhcp_req - What we use of a client message, once validated
 * @type:	option 53
 * @xid:	transaction id, as on the wire
 * @flags:	host order
 * @ciaddr:	network order, like all addresses here
 * @chaddr:	whole field, echoed in replies; the MAC is its first 6 bytes
 * @req_ip:	option 50, 0 if absent
 * @server_id:	option 54, valid if @has_server_id
 * @max_size:	option 57, 0 if absent
 * @overload:	option 52, 0 if absent
 * @hostname:	option 12, sanitised, empty if absent
 */
struct dhcp_req {
	uint8_t type;
	uint32_t xid;
	uint16_t flags;
	uint32_t ciaddr;
	uint8_t chaddr[DHCP_CHADDR_LEN];
	uint32_t req_ip;
	uint32_t server_id;
	bool has_server_id;
	uint16_t max_size;
	uint8_t overload;
	char hostname[64];
};

/* Bounds-checked writer for reply options */
struct dhcp_wr {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static const uint8_t dhcp_bcast_mac[ETH_ALEN] = { 0xff, 0xff, 0xff,
						  0xff, 0xff, 0xff };

static guint dhcp_mac_hash(gconstpointer key)
{
	const uint8_t *m = key;
	guint h = 2166136261u;	/* FNV-1a */
	int i;

	for (i = 0; i < ETH_ALEN; i++)
		h = (h ^ m[i]) * 16777619u;
	return h;
}

static gboolean dhcp_mac_equal(gconstpointer a, gconstpointer b)
{
	return !memcmp(a, b, ETH_ALEN);
}

/* ------------------------------------------------------------------------ */
/* Domain search list (RFC 3397)                                            */

/**
 * dhcp_suffix_eq() - Does the name encoded at @off equal @name?
 * @enc:	encoded names so far (only our own output: pointers point back)
 * @len:	bytes of @enc
 * @off:	offset of a label in @enc
 * @name:	dotted name, no trailing dot
 * @nlen:	length of @name
 *
 * Labels are compared case-insensitively (RFC 1035 2.3.3).
 *
 * Return: true if the label sequence at @off spells @name exactly
 */
static bool dhcp_suffix_eq(const uint8_t *enc, size_t len, size_t off,
			   const char *name, size_t nlen)
{
	size_t pos = 0, hops = 0;

	while (off < len) {
		uint8_t l = enc[off];

		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++hops > 64)
				return false;
			off = (size_t)(l & 0x3f) << 8 | enc[off + 1];
			continue;
		}
		if (!l)
			return pos == nlen + 1;
		if (pos > nlen || off + 1 + l > len || pos + l > nlen ||
		    g_ascii_strncasecmp((const char *)enc + off + 1, name + pos,
					l) ||
		    (pos + l < nlen && name[pos + l] != '.'))
			return false;
		pos += l + 1;
		off += 1 + l;
	}
	return false;
}

/**
 * dhcp_name_check() - Validate one dotted name of a search list
 * Return: 0 if every label is 1 to 63 bytes and the name encodes in at most
 * 255 bytes (RFC 1035 2.3.4), -EINVAL otherwise
 */
static int dhcp_name_check(const char *s, size_t n)
{
	size_t i, lab = 0;

	if (!n || n + 2 > 255)
		return -EINVAL;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!lab || lab > 63)
				return -EINVAL;
			lab = 0;
		} else if ((unsigned char)s[i] <= ' ' || s[i] == ',') {
			return -EINVAL;
		} else {
			lab++;
		}
	}
	return 0;
}

/**
 * dhcp_name_encode() - Append one name, compressed against earlier ones
 * @out, @size:	output buffer
 * @len:	bytes used in @out, updated
 * @labels:	offsets of labels written so far, updated
 * @nlabels:	entries in @labels, updated (at most 128 kept)
 * @s, @n:	validated dotted name
 *
 * The longest suffix of @s that was already written is replaced by a
 * compression pointer (RFC 1035 4.1.4, as RFC 3397 2 allows), offsets being
 * counted from the start of the search list data.
 *
 * Return: 0, or -ENOSPC if it does not fit in @out
 */
static int dhcp_name_encode(uint8_t *out, size_t size, size_t *len,
			    uint16_t *labels, size_t *nlabels, const char *s,
			    size_t n)
{
	size_t i, k, ptr = SIZE_MAX, cut = n, start = *len, w;

	for (i = 0; i < n && ptr == SIZE_MAX; i++) {
		if (i && s[i - 1] != '.')
			continue;
		for (k = 0; k < *nlabels; k++) {
			if (dhcp_suffix_eq(out, *len, labels[k], s + i,
					   n - i)) {
				ptr = labels[k];
				cut = i;
				break;
			}
		}
	}
	/* Labels before @cut take @cut bytes with their length bytes (the
	 * whole name: n + 1), then a 2-byte pointer (or the root label: 1) */
	if (size - start < cut + 2)
		return -ENOSPC;
	w = start;
	for (i = 0; i < cut;) {
		const char *dot = memchr(s + i, '.', n - i);
		size_t l = (dot ? (size_t)(dot - s) : n) - i;

		if (*nlabels < 128 && w <= 0x3fff)
			labels[(*nlabels)++] = (uint16_t)w;
		out[w++] = (uint8_t)l;
		memcpy(out + w, s + i, l);
		w += l;
		i += l + 1;
	}
	if (ptr != SIZE_MAX) {
		out[w++] = (uint8_t)(0xc0 | ptr >> 8);
		out[w++] = (uint8_t)ptr;
	} else {
		out[w++] = 0;
	}
	*len = w;
	return 0;
}

/**
 * dhcp_search_encode() - Encode a comma-separated domain list for option 119
 * @list:	e.g. "example.com,lab.example.com"; blanks around names and
 *		one trailing dot per name are ignored, empty entries skipped
 * @out:	output buffer
 * @size:	size of @out
 *
 * Names are encoded as RFC 1035 3.1 label sequences with suffix compression
 * (RFC 3397 2).  The result may exceed 255 bytes: it is then sent as several
 * consecutive options (RFC 3396), which the writer takes care of.
 *
 * Return: bytes written, -EINVAL for an invalid name, -ENOSPC if @out is
 * too small
 */
ssize_t dhcp_search_encode(const char *list, uint8_t *out, size_t size)
{
	uint16_t labels[128];
	size_t nlabels = 0, len = 0;
	const char *p = list;

	g_return_val_if_fail(list && out, -EINVAL);

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;
		int ret;

		p += n + (e ? 1 : 0);
		while (n && g_ascii_isspace(*s)) {
			s++;
			n--;
		}
		while (n && g_ascii_isspace(s[n - 1]))
			n--;
		if (n && s[n - 1] == '.')
			n--;
		if (!n)
			continue;	/* empty entry */
		if ((ret = dhcp_name_check(s, n)))
			return ret;
		ret = dhcp_name_encode(out, size, &len, labels, &nlabels, s, n);
		if (ret)
			return ret;
	}
	return (ssize_t)len;
}

/* ------------------------------------------------------------------------ */
/* Lease table                                                              */

/** dhcp_slot() - Pool slot of @ip (network order), or NULL if not in pool */
static struct dhcp_lease *dhcp_slot(struct un_dhcp *d, uint32_t ip)
{
	uint32_t h = ntohl(ip);

	if (h < d->start_h || h - d->start_h >= d->npool)
		return NULL;
	return &d->lease[h - d->start_h];
}

static bool dhcp_held(const struct dhcp_lease *l, int64_t now)
{
	return l->owned && l->expires_ms > now;
}

static bool dhcp_active(const struct dhcp_lease *l, int64_t now)
{
	return l->bound && l->expires_ms > now;
}

/** dhcp_disown() - Forget the MAC associated with a dynamic slot */
static void dhcp_disown(struct un_dhcp *d, struct dhcp_lease *l)
{
	if (!l->owned)
		return;
	g_hash_table_remove(d->by_mac, l->mac);
	l->owned = l->bound = false;
	l->name[0] = 0;
}

/**
 * dhcp_own() - Associate a pool slot with @mac, dropping older associations
 *
 * A previous owner of the slot loses it, and @mac loses any other slot:
 * each MAC has at most one slot and each slot at most one MAC.  May grow
 * the MAC table (once per new client).
 */
static void dhcp_own(struct un_dhcp *d, struct dhcp_lease *l,
		     const uint8_t *mac)
{
	struct dhcp_lease *old = g_hash_table_lookup(d->by_mac, mac);

	if (old == l)
		return;
	if (old)
		dhcp_disown(d, old);
	dhcp_disown(d, l);
	memcpy(l->mac, mac, ETH_ALEN);
	l->owned = true;
	l->bound = false;
	g_hash_table_insert(d->by_mac, l->mac, l);
}

/** dhcp_usable() - Can this pool slot be handed to a client it isn't for? */
static bool dhcp_usable(const struct dhcp_lease *l, int64_t now)
{
	return !l->reserved && l->declined_until_ms <= now &&
	       !dhcp_held(l, now);
}

/**
 * dhcp_offer_reclaimable() - Is this pool slot an offer nobody requested,
 * which may go to another client when nothing else is left?
 */
static bool dhcp_offer_reclaimable(const struct dhcp_lease *l, int64_t now)
{
	return !l->reserved && !l->bound && l->declined_until_ms <= now &&
	       dhcp_held(l, now);
}

/**
 * dhcp_pick() - Choose a pool slot for a client with none
 * @at_cap:	max-leases is reached: only an offer may be taken back
 *
 * Fresh slots first, lowest address first; then other unowned ones (once
 * declined); then the slot whose lease expired longest ago, reclaiming it
 * from its previous owner; as a last resort the oldest offer not yet
 * requested (see Theory of operation).  Never a bound lease that has not
 * expired.  One scan of the pool, only when a client we don't know asks
 * for an address.
 *
 * Return: slot, or NULL if every address is reserved, declined or bound
 */
static struct dhcp_lease *dhcp_pick(struct un_dhcp *d, int64_t now,
				    bool at_cap)
{
	struct dhcp_lease *best = NULL, *offer = NULL;
	size_t i;

	for (i = 0; i < d->npool; i++) {
		struct dhcp_lease *l = &d->lease[i];

		if (dhcp_offer_reclaimable(l, now)) {
			if (!offer || l->expires_ms < offer->expires_ms)
				offer = l;
			continue;
		}
		if (at_cap || !dhcp_usable(l, now))
			continue;
		/* An unowned slot disappoints no one: prefer it */
		if (!best || (best->owned && !l->owned) ||
		    (best->owned == l->owned &&
		     l->expires_ms < best->expires_ms))
			best = l;
		if (best->expires_ms == INT64_MIN)
			break;
	}
	return best ? best : offer;
}

/**
 * dhcp_at_cap() - Are max-leases pool slots held (offered or bound)?
 *
 * One scan of the pool, only for a client with no address (as
 * dhcp_pick()).  Return: true if a new client may not hold one more
 */
static bool dhcp_at_cap(const struct usernat *un, int64_t now)
{
	const struct un_dhcp *d = un->dhcp;
	size_t i, held = 0;

	if (!un->cfg.lim.max_leases || un->cfg.lim.max_leases >= d->npool)
		return false;
	for (i = 0; i < d->npool; i++)
		if (!d->lease[i].reserved && dhcp_held(&d->lease[i], now))
			held++;
	return held >= un->cfg.lim.max_leases;
}

/**
 * dhcp_select() - Address to offer a client, RFC 2131 4.3.1
 * @mac:	client
 * @req_ip:	option 50, or 0
 *
 * In order: its static lease; its current or previous address (still
 * associated with it, so not given to anyone else); the requested address
 * if in the pool and free; a new one.
 *
 * Return: slot, owned by @mac unless static, or NULL if the pool is full
 * (or max-leases reached: counted in dhcp_lease_limit)
 */
static struct dhcp_lease *dhcp_select(struct usernat *un, const uint8_t *mac,
				      uint32_t req_ip, int64_t now)
{
	struct un_dhcp *d = un->dhcp;
	struct dhcp_lease *l = g_hash_table_lookup(d->by_mac, mac);
	char a[16], m[18];

	bool at_cap;

	if (l)
		return l;
	at_cap = dhcp_at_cap(un, now);
	l = req_ip ? dhcp_slot(d, req_ip) : NULL;
	if (!l || l->owned || !dhcp_usable(l, now) || at_cap) {
		if (!(l = dhcp_pick(d, now, at_cap))) {
			if (at_cap)
				UN_COUNT(un, dhcp_lease_limit);
			return NULL;
		}
	}
	if (l->owned)
		un_info(un, "dhcp: reclaiming %s from %s%s",
			un_ip4_str(l->ip, a), un_mac_str(l->mac, m),
			dhcp_held(l, now) ? " (offered, never requested)" :
					    "");
	dhcp_own(d, l, mac);
	return l;
}

/**
 * dhcp_check() - May @mac have @addr? RFC 2131 4.3.2
 *
 * Yes if it is its static address, or the pool address associated with it,
 * or a free pool address (we are authoritative, see Theory of operation),
 * which then becomes associated with it unless max-leases are held
 * (counted in dhcp_lease_limit).
 *
 * Return: slot for @addr, or NULL if the client must be sent a DHCPNAK
 */
static struct dhcp_lease *dhcp_check(struct usernat *un, const uint8_t *mac,
				     uint32_t addr, int64_t now)
{
	struct un_dhcp *d = un->dhcp;
	struct dhcp_lease *l = g_hash_table_lookup(d->by_mac, mac);

	if (l && l->is_static)
		return l->ip == addr ? l : NULL;
	if (l && l->ip == addr)
		return l;
	if (!un_in_net(un, addr) || !(l = dhcp_slot(d, addr)))
		return NULL;
	if (l->owned || !dhcp_usable(l, now))
		return NULL;
	if (dhcp_at_cap(un, now)) {
		UN_COUNT(un, dhcp_lease_limit);
		return NULL;
	}
	dhcp_own(d, l, mac);
	return l;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

/** dhcp_hostname() - Copy option 12 as a printable host name */
static void dhcp_hostname(char *dst, size_t size, const struct pkt *val)
{
	size_t i, n = val->len < size - 1 ? val->len : size - 1;

	for (i = 0; i < n && val->p[i]; i++)
		dst[i] = (char)(g_ascii_isalnum(val->p[i]) ||
				val->p[i] == '-' || val->p[i] == '.' ?
				val->p[i] : '_');
	dst[i] = 0;
}

/**
 * dhcp_opt() - Record one client option we use
 *
 * The first instance of each option counts; later ones are ignored
 * (RFC 3396 concatenation is not needed for any option we read).
 *
 * Return: 0, or -1 if an option we use has the wrong length
 */
static int dhcp_opt(struct dhcp_req *rq, uint8_t type, struct pkt *val,
		    bool main_area)
{
	struct pkt v = *val;
	uint16_t u16;

	switch (type) {
	case DHCP_OPT_MSG_TYPE:		/* RFC 2132 9.6 */
		if (rq->type)
			return 0;
		return v.len == 1 ? pkt_u8(&v, &rq->type) : -1;
	case DHCP_OPT_REQ_IP:		/* RFC 2132 9.1 */
		if (v.len != 4)
			return -1;
		if (!rq->req_ip)
			memcpy(&rq->req_ip, v.p, 4);
		return 0;
	case DHCP_OPT_SERVER_ID:	/* RFC 2132 9.7 */
		if (v.len != 4)
			return -1;
		if (!rq->has_server_id)
			memcpy(&rq->server_id, v.p, 4);
		rq->has_server_id = true;
		return 0;
	case DHCP_OPT_MAX_SIZE:		/* RFC 2132 9.10 */
		if (pkt_be16(&v, &u16) || v.len)
			return -1;
		if (!rq->max_size)
			rq->max_size = u16;
		return 0;
	case DHCP_OPT_OVERLOAD:		/* RFC 2132 9.3 */
		if (v.len != 1 || v.p[0] < 1 || v.p[0] > 3)
			return -1;
		if (main_area)
			rq->overload = v.p[0];
		return 0;
	case DHCP_OPT_HOSTNAME:		/* RFC 2132 3.14 */
		if (!rq->hostname[0])
			dhcp_hostname(rq->hostname, sizeof(rq->hostname), &v);
		return 0;
	default:
		return 0;
	}
}

/**
 * dhcp_opts() - Walk one option area up to its end option
 * Return: 0, or -1 if an option overruns the area or is malformed
 */
static int dhcp_opts(struct pkt area, struct dhcp_req *rq, bool main_area)
{
	struct pkt val;
	uint8_t type;
	int ret;

	while ((ret = pkt_tlv_next(&area, &type, &val, 0, DHCP_OPT_PAD,
				   DHCP_OPT_END)) > 0) {
		if (type == DHCP_OPT_END)
			return 0;
		if (type != DHCP_OPT_PAD && dhcp_opt(rq, type, &val, main_area))
			return -1;
	}
	return ret;
}

/**
 * dhcp_parse() - Validate a client message and extract what we use
 * @payload:	UDP payload (untrusted), not consumed
 * @rq:		output
 *
 * Return: 0, or -1 if the message is malformed or one we don't serve
 */
static int dhcp_parse(const struct pkt *payload, struct dhcp_req *rq)
{
	struct pkt c = *payload, area;
	const struct dhcp_msg *m = pkt_pull(&c, sizeof(*m));

	memset(rq, 0, sizeof(*rq));
	if (!m || m->op != DHCP_BOOTREQUEST || m->htype != 1 ||
	    m->hlen != ETH_ALEN || ntohl(m->magic) != DHCP_MAGIC)
		return -1;
	if (m->giaddr)		/* relayed: see Theory of operation */
		return -1;
	if ((m->chaddr[0] & 1) || !memcmp(m->chaddr, "\0\0\0\0\0\0", 6))
		return -1;	/* we would send replies there */
	rq->xid = m->xid;
	rq->flags = ntohs(m->flags);
	rq->ciaddr = m->ciaddr;
	memcpy(rq->chaddr, m->chaddr, sizeof(rq->chaddr));

	if (dhcp_opts(c, rq, true))
		return -1;
	/* RFC 2131 4.1: options, then file, then sname if overloaded */
	if (rq->overload & 1) {
		pkt_sub(payload, offsetof(struct dhcp_msg, file),
			sizeof(m->file), &area);
		if (dhcp_opts(area, rq, false))
			return -1;
	}
	if (rq->overload & 2) {
		pkt_sub(payload, offsetof(struct dhcp_msg, sname),
			sizeof(m->sname), &area);
		if (dhcp_opts(area, rq, false))
			return -1;
	}
	return rq->type ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

/**
 * dhcp_put() - Append one option if it fits whole
 * Return: true if written
 */
static bool dhcp_put(struct dhcp_wr *w, uint8_t type, const void *val,
		     size_t len)
{
	if (len > 255 || w->cap - w->len < 2 + len)
		return false;
	w->p[w->len++] = type;
	w->p[w->len++] = (uint8_t)len;
	memcpy(w->p + w->len, val, len);
	w->len += len;
	return true;
}

static bool dhcp_put32(struct dhcp_wr *w, uint8_t type, uint32_t v)
{
	return dhcp_put(w, type, &v, 4);
}

/**
 * dhcp_put_long() - Append an option of any length, split per RFC 3396
 * Return: true if written, all or nothing
 */
static bool dhcp_put_long(struct dhcp_wr *w, uint8_t type, const uint8_t *val,
			  size_t len)
{
	size_t need = len + 2 * ((len + 254) / 255), off;

	if (!len || w->cap - w->len < need)
		return false;
	for (off = 0; off < len; off += 255)
		dhcp_put(w, type, val + off, len - off > 255 ? 255 : len - off);
	return true;
}

/**
 * dhcp_reply_limit() - Largest DHCP message (UDP payload) we may send
 *
 * RFC 2132 9.10: option 57 counts the whole IP datagram and is at least
 * 576; without it, 576 (RFC 2131 2).  Never more than the link MTU.
 */
static size_t dhcp_reply_limit(const struct usernat *un,
			       const struct dhcp_req *rq)
{
	size_t max = rq->max_size > DHCP_MIN_MSG ? rq->max_size : DHCP_MIN_MSG;

	if (max > un->cfg.mtu)
		max = un->cfg.mtu;
	max -= IP4_HLEN + UDP_HLEN;
	return max < DHCP_MIN_REPLY ? DHCP_MIN_REPLY : max;
}

/**
 * dhcp_put_config() - Append the configuration options, RFC 2132
 * @l:		lease, for the lease times; NULL for DHCPINFORM
 */
static void dhcp_put_config(struct usernat *un, struct dhcp_wr *w,
			    const struct dhcp_lease *l, const uint8_t *mac)
{
	const struct usernat_config *cfg = &un->cfg;
	const struct dhcp_lease *st = g_hash_table_lookup(un->dhcp->by_mac,
							   mac);
	uint32_t lt = cfg->lease_time;
	uint16_t mtu = htons((uint16_t)cfg->mtu);
	const char *host;

	if (l) {
		dhcp_put32(w, DHCP_OPT_LEASE_TIME, htonl(lt));
		/* RFC 2131 4.4.5: T1 0.5, T2 0.875 of the lease */
		dhcp_put32(w, DHCP_OPT_T1, htonl(lt / 2));
		dhcp_put32(w, DHCP_OPT_T2,
			   htonl((uint32_t)((uint64_t)lt * 7 / 8)));
	}
	dhcp_put32(w, DHCP_OPT_SUBNET, cfg->mask);
	dhcp_put32(w, DHCP_OPT_BROADCAST, cfg->net | ~cfg->mask);
	dhcp_put32(w, DHCP_OPT_ROUTER, cfg->gw);
	dhcp_put32(w, DHCP_OPT_DNS, cfg->dns);
	if (cfg->domain[0])
		dhcp_put(w, DHCP_OPT_DOMAIN, cfg->domain, strlen(cfg->domain));
	if (un->dhcp->search_len)
		dhcp_put_long(w, DHCP_OPT_SEARCH, un->dhcp->search,
			      un->dhcp->search_len);
	dhcp_put(w, DHCP_OPT_MTU, &mtu, 2);
	host = st && st->is_static && st->name[0] ? st->name : cfg->hostname;
	if (host[0])
		dhcp_put(w, DHCP_OPT_HOSTNAME, host, strlen(host));
}

/**
 * dhcp_build() - Write a reply at udp4_out_payload(), RFC 2131 4.3.1 table 3
 * @type:	DHCPOFFER, DHCPACK or DHCPNAK
 * @yiaddr:	address given, 0 for DHCPNAK and DHCPINFORM replies
 * @l:		lease, NULL for DHCPNAK and DHCPINFORM replies
 *
 * Return: length of the DHCP message written
 */
static size_t dhcp_build(struct usernat *un, const struct dhcp_req *rq,
			 uint8_t type, uint32_t yiaddr,
			 const struct dhcp_lease *l)
{
	uint8_t *b = udp4_out_payload(un);
	struct dhcp_msg *m = (struct dhcp_msg *)b;
	size_t limit = dhcp_reply_limit(un, rq), len;
	/* One byte kept back for the end option */
	struct dhcp_wr w = { .p = b + sizeof(*m),
			     .cap = limit - sizeof(*m) - 1 };

	memset(m, 0, sizeof(*m));
	m->op = DHCP_BOOTREPLY;
	m->htype = 1;
	m->hlen = ETH_ALEN;
	m->xid = rq->xid;
	m->flags = htons(rq->flags);
	if (type == DHCPACK)
		m->ciaddr = rq->ciaddr;
	m->yiaddr = yiaddr;
	memcpy(m->chaddr, rq->chaddr, sizeof(m->chaddr));
	m->magic = htonl(DHCP_MAGIC);

	dhcp_put(&w, DHCP_OPT_MSG_TYPE, &type, 1);
	dhcp_put32(&w, DHCP_OPT_SERVER_ID, un->cfg.gw);
	if (type != DHCPNAK)
		dhcp_put_config(un, &w, l, rq->chaddr);
	w.p[w.len++] = DHCP_OPT_END;

	len = sizeof(*m) + w.len;
	if (len < DHCP_MIN_REPLY) {
		memset(b + len, DHCP_OPT_PAD, DHCP_MIN_REPLY - len);
		len = DHCP_MIN_REPLY;
	}
	return len;
}

/**
 * dhcp_send() - Build and send a reply, addressed per RFC 2131 4.1
 *
 * giaddr is always 0 here (relayed messages are dropped).  DHCPNAK is
 * broadcast; with ciaddr set (RENEWING, REBINDING, INFORM) the reply goes
 * to ciaddr; with the broadcast bit, to 255.255.255.255; else unicast to
 * yiaddr at chaddr, which needs no ARP since we know the MAC.
 */
static void dhcp_send(struct usernat *un, const struct dhcp_req *rq,
		      uint8_t type, uint32_t yiaddr,
		      const struct dhcp_lease *l)
{
	size_t len = dhcp_build(un, rq, type, yiaddr, l);
	const uint8_t *mac = rq->chaddr;
	uint32_t daddr;

	if (type == DHCPNAK)
		daddr = INADDR_BROADCAST;
	else if (rq->ciaddr)
		daddr = rq->ciaddr;
	else if ((rq->flags & DHCP_FLAG_BROADCAST) || !yiaddr)
		daddr = INADDR_BROADCAST;
	else
		daddr = yiaddr;
	if (daddr == INADDR_BROADCAST)
		mac = dhcp_bcast_mac;
	if (type == DHCPACK)
		UN_COUNT(un, dhcp_ack);
	else if (type == DHCPNAK)
		UN_COUNT(un, dhcp_nak);
	udp4_out_send(un, mac, un->cfg.gw, htons(DHCP_SERVER_PORT), daddr,
		      htons(DHCP_CLIENT_PORT), len);
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

/** dhcp_pool_full() - Count, and warn at most once a minute */
static void dhcp_pool_full(struct usernat *un, const uint8_t *mac,
			   int64_t now)
{
	struct un_dhcp *d = un->dhcp;
	char m[18];

	UN_COUNT(un, dhcp_pool_full);
	if (d->full_warn_ms && now - d->full_warn_ms < DHCP_FULL_WARN_MS)
		return;
	d->full_warn_ms = now ? now : 1;
	un_warn(un, "dhcp: no free address for %s: pool of %zu exhausted",
		un_mac_str(mac, m), d->npool);
}

/** dhcp_discover() - DHCPDISCOVER: offer an address, RFC 2131 4.3.1 */
static void dhcp_discover(struct usernat *un, const struct dhcp_req *rq,
			  int64_t now)
{
	struct dhcp_lease *l = dhcp_select(un, rq->chaddr, rq->req_ip, now);
	char a[16], m[18];

	UN_COUNT(un, dhcp_discover);
	if (!l) {
		dhcp_pool_full(un, rq->chaddr, now);
		return;
	}
	if (!dhcp_active(l, now)) {	/* hold it while the client picks */
		l->bound = false;
		l->expires_ms = now + DHCP_OFFER_HOLD_MS;
	}
	un_debug(un, "dhcp: offer %s to %s", un_ip4_str(l->ip, a),
		 un_mac_str(rq->chaddr, m));
	dhcp_send(un, rq, DHCPOFFER, l->ip, l);
}

/** dhcp_bind() - Commit a lease and acknowledge it, RFC 2131 4.3.2 */
static void dhcp_bind(struct usernat *un, const struct dhcp_req *rq,
		      struct dhcp_lease *l, int64_t now)
{
	bool renew = dhcp_active(l, now);
	char a[16], m[18], sfx[80] = "";

	l->bound = true;
	l->expires_ms = now + (int64_t)un->cfg.lease_time * 1000;
	if (!l->is_static && rq->hostname[0])
		memcpy(l->name, rq->hostname, sizeof(l->name));
	un_guest_learn(un, l->mac, l->ip);

	un_ip4_str(l->ip, a);
	un_mac_str(l->mac, m);
	if (renew) {
		un_debug(un, "dhcp: renew %s to %s", a, m);
	} else {
		if (l->name[0] || l->is_static)
			g_snprintf(sfx, sizeof(sfx), " (%s%s%s)",
				   l->is_static ? "static" : "",
				   l->is_static && l->name[0] ? ", " : "",
				   l->name);
		un_info(un, "dhcp: lease %s to %s%s", a, m, sfx);
	}
	dhcp_send(un, rq, DHCPACK, l->ip, l);
}

/** dhcp_nak() - Refuse an address, RFC 2131 4.3.2 */
static void dhcp_nak(struct usernat *un, const struct dhcp_req *rq,
		     uint32_t addr)
{
	char a[16], m[18];

	un_info(un, "dhcp: refusing %s to %s", un_ip4_str(addr, a),
		un_mac_str(rq->chaddr, m));
	dhcp_send(un, rq, DHCPNAK, 0, NULL);
}

/**
 * dhcp_request() - DHCPREQUEST, RFC 2131 4.3.2
 *
 * The client's state tells which address it asks for: SELECTING (server
 * identifier, requested address), INIT-REBOOT (requested address, no
 * ciaddr), RENEWING or REBINDING (ciaddr).
 *
 * Return: 0, or -1 if malformed
 */
static int dhcp_request(struct usernat *un, const struct dhcp_req *rq,
			int64_t now)
{
	struct dhcp_lease *l;
	uint32_t addr;

	UN_COUNT(un, dhcp_request);
	if (rq->has_server_id && rq->server_id != un->cfg.gw) {
		/* Another server was chosen: release what we offered */
		l = g_hash_table_lookup(un->dhcp->by_mac, rq->chaddr);
		if (l && !l->is_static && !dhcp_active(l, now) &&
		    l->expires_ms > now)
			l->expires_ms = now;
		return 0;
	}
	addr = rq->ciaddr ? rq->ciaddr : rq->req_ip;
	if (!addr)
		return -1;
	if (!(l = dhcp_check(un, rq->chaddr, addr, now)))
		dhcp_nak(un, rq, addr);
	else
		dhcp_bind(un, rq, l, now);
	return 0;
}

/**
 * dhcp_release() - DHCPRELEASE: end the lease, keep the association
 *
 * RFC 2131 4.3.4: the address is in ciaddr.  The slot stays associated
 * with the client, so it gets the same address next time unless the pool
 * runs out first.  No reply.
 */
static void dhcp_release(struct usernat *un, const struct dhcp_req *rq,
			 int64_t now)
{
	struct dhcp_lease *l = g_hash_table_lookup(un->dhcp->by_mac,
						   rq->chaddr);
	char a[16], m[18];

	UN_COUNT(un, dhcp_release);
	if ((rq->has_server_id && rq->server_id != un->cfg.gw) || !l ||
	    l->ip != rq->ciaddr || !dhcp_active(l, now))
		return;
	l->bound = false;
	l->expires_ms = now;
	un_info(un, "dhcp: release %s from %s", un_ip4_str(l->ip, a),
		un_mac_str(l->mac, m));
}

/**
 * dhcp_decline() - DHCPDECLINE: the client found the address in use
 *
 * RFC 2131 4.3.3: the address (option 50) is marked unusable, here for
 * DHCP_DECLINE_MS, and the client loses its association with it so its
 * next DHCPDISCOVER yields another address.  A static address can't be
 * replaced: that is only logged.
 */
static void dhcp_decline(struct usernat *un, const struct dhcp_req *rq,
			 int64_t now)
{
	struct dhcp_lease *l = g_hash_table_lookup(un->dhcp->by_mac,
						   rq->chaddr);
	char a[16], m[18];

	UN_COUNT(un, dhcp_decline);
	if ((rq->has_server_id && rq->server_id != un->cfg.gw) || !l ||
	    l->ip != rq->req_ip)
		return;
	un_warn(un, "dhcp: %s declined %s (address in use?)%s",
		un_mac_str(rq->chaddr, m), un_ip4_str(l->ip, a),
		l->is_static ? "" : ", not handing it out for 10 minutes");
	if (l->is_static) {
		l->bound = false;
		return;
	}
	dhcp_disown(un->dhcp, l);
	l->expires_ms = now;
	l->declined_until_ms = now + DHCP_DECLINE_MS;
}

/**
 * dhcp_inform() - DHCPINFORM: configuration only, RFC 2131 3.4 and 4.3.5
 *
 * The reply carries no address (yiaddr 0) and no lease times, and goes to
 * ciaddr.
 */
static void dhcp_inform(struct usernat *un, const struct dhcp_req *rq)
{
	char a[16], m[18];

	UN_COUNT(un, dhcp_inform);
	un_debug(un, "dhcp: inform from %s at %s", un_mac_str(rq->chaddr, m),
		 un_ip4_str(rq->ciaddr, a));
	dhcp_send(un, rq, DHCPACK, 0, NULL);
}

/**
 * dhcp_from_guest() - Handle a message to the DHCP server port
 * @un:		instance
 * @ip:		IPv4 packet it came in
 * @payload:	UDP payload (untrusted), not kept after return
 *
 * A reply, if any, is built in un->obuf and sent before return.
 */
void dhcp_from_guest(struct usernat *un, const struct ip4_in *ip,
		     struct pkt *payload)
{
	int64_t now = un_now_ms();
	struct dhcp_req rq;
	char m[18], c[18];
	int ret = 0;

	if (!un->dhcp)
		return;
	if (dhcp_parse(payload, &rq)) {
		UN_COUNT(un, drop_dhcp_malformed);
		un_debug(un, "dhcp: malformed message from %s",
			 un_mac_str(ip->src_mac, m));
		return;
	}
	/* chaddr is the client; the frame may come through a bridge */
	un_debug(un, "dhcp: type %u from %s, chaddr %s", rq.type,
		 un_mac_str(ip->src_mac, m), un_mac_str(rq.chaddr, c));
	/* A guest is its MAC (see Theory of operation): a lease is asked
	 * for, renewed and given up only by its own client, or one guest
	 * could free another's address and then take it, or hold addresses
	 * in names it does not send from */
	if (memcmp(rq.chaddr, ip->src_mac, ETH_ALEN)) {
		UN_COUNT(un, drop_dhcp_chaddr);
		if (rq.type == DHCPRELEASE || rq.type == DHCPDECLINE)
			UN_COUNT(un, drop_spoof);
		return;
	}
	switch (rq.type) {
	case DHCPDISCOVER:
		dhcp_discover(un, &rq, now);
		break;
	case DHCPREQUEST:
		ret = dhcp_request(un, &rq, now);
		break;
	case DHCPDECLINE:
		dhcp_decline(un, &rq, now);
		break;
	case DHCPRELEASE:
		dhcp_release(un, &rq, now);
		break;
	case DHCPINFORM:
		dhcp_inform(un, &rq);
		break;
	default:		/* server messages, or types we don't serve */
		ret = -1;
		break;
	}
	if (ret)
		UN_COUNT(un, drop_dhcp_malformed);
}

/* ------------------------------------------------------------------------ */
/* Set-up and queries                                                       */

/**
 * dhcp_init_static() - Fill the static slots from cfg.dhcp_hosts
 *
 * Their addresses are reserved in the pool.  For a MAC listed twice the
 * first entry wins; an address listed twice is only given to the first.
 */
static void dhcp_init_static(struct usernat *un, struct un_dhcp *d)
{
	GArray *hosts = un->cfg.dhcp_hosts;
	char a[16];
	size_t i, k;

	for (i = 0; hosts && i < hosts->len; i++) {
		const struct un_dhcp_host *h =
			&g_array_index(hosts, struct un_dhcp_host, i);
		struct dhcp_lease *l = &d->lease[d->npool + d->nstatic];
		struct dhcp_lease *p = dhcp_slot(d, h->ip);
		bool dup = g_hash_table_contains(d->by_mac, h->mac);

		for (k = 0; k < d->nstatic; k++)
			dup |= d->lease[d->npool + k].ip == h->ip;
		if (dup) {
			un_warn(un, "dhcp: ignoring duplicate dhcp-host %s",
				un_ip4_str(h->ip, a));
			continue;
		}
		memcpy(l->mac, h->mac, ETH_ALEN);
		l->ip = h->ip;
		l->owned = l->is_static = true;
		l->expires_ms = INT64_MIN;
		g_strlcpy(l->name, h->name, sizeof(l->name));
		g_hash_table_insert(d->by_mac, l->mac, l);
		if (p)
			p->reserved = true;
		d->nstatic++;
	}
}

/**
 * dhcp_init() - Allocate the DHCP server state of @un from its configuration
 *
 * The pool is cfg.dhcp_start to cfg.dhcp_end inclusive (config.c checked
 * they lie in the network), capped at DHCP_POOL_MAX addresses.
 *
 * Return: 0, -EINVAL for an unusable range, -ENOMEM
 */
int dhcp_init(struct usernat *un)
{
	const struct usernat_config *cfg = &un->cfg;
	uint32_t start = ntohl(cfg->dhcp_start), end = ntohl(cfg->dhcp_end);
	uint32_t net = ntohl(cfg->net), bcast = net | ~ntohl(cfg->mask);
	size_t nhosts = cfg->dhcp_hosts ? cfg->dhcp_hosts->len : 0, i;
	struct un_dhcp *d;
	ssize_t slen;

	un->dhcp = NULL;
	if (start > end || !un_in_net(un, cfg->dhcp_start) ||
	    !un_in_net(un, cfg->dhcp_end))
		return -EINVAL;
	if (!(d = g_try_new0(struct un_dhcp, 1)))
		return -ENOMEM;
	d->start_h = start;
	d->npool = (size_t)(end - start) + 1;
	if (d->npool > DHCP_POOL_MAX) {
		un_warn(un, "dhcp: pool limited to its first %d addresses",
			DHCP_POOL_MAX);
		d->npool = DHCP_POOL_MAX;
	}
	if (!(d->lease = g_try_new0(struct dhcp_lease, d->npool + nhosts))) {
		g_free(d);
		return -ENOMEM;
	}
	for (i = 0; i < d->npool; i++) {
		struct dhcp_lease *l = &d->lease[i];
		uint32_t h = start + (uint32_t)i;

		l->ip = htonl(h);
		l->expires_ms = INT64_MIN;
		l->reserved = h == net || h == bcast || un_is_ours(un, l->ip);
	}
	d->by_mac = g_hash_table_new(dhcp_mac_hash, dhcp_mac_equal);
	dhcp_init_static(un, d);

	slen = dhcp_search_encode(cfg->search, d->search, sizeof(d->search));
	if (slen < 0)
		un_warn(un, "dhcp: dns-search '%s' not usable (%s), not sent",
			cfg->search, g_strerror((int)-slen));
	else
		d->search_len = (size_t)slen;
	un->dhcp = d;
	return 0;
}

/** dhcp_cleanup() - Free the DHCP server state; safe if there is none */
void dhcp_cleanup(struct usernat *un)
{
	struct un_dhcp *d = un->dhcp;

	if (!d)
		return;
	g_hash_table_destroy(d->by_mac);
	g_free(d->lease);
	g_free(d);
	un->dhcp = NULL;
}

/**
 * dhcp_ip_owner() - Who holds an active lease on @ip (anti-spoofing, ip4.c)
 * @un:		instance
 * @ip:		address, network order
 * @mac:	the lease holder's MAC, output, when found
 *
 * Only bound, unexpired leases count: an address merely offered, released
 * or expired has no owner, nor has one we never leased (static guests).
 * A pool address is found by index; static leases (few, configured) by a
 * scan.  No allocation: it runs for every IPv4 packet from a guest.
 *
 * Return: true with @mac set if a lease on @ip is active
 */
bool dhcp_ip_owner(const struct usernat *un, uint32_t ip, uint8_t mac[6])
{
	const struct un_dhcp *d = un->dhcp;
	const struct dhcp_lease *l = NULL;
	uint32_t h = ntohl(ip);
	size_t i;

	if (!d)
		return false;
	if (h >= d->start_h && h - d->start_h < d->npool &&
	    d->lease[h - d->start_h].bound)
		l = &d->lease[h - d->start_h];
	for (i = d->npool; !l && i < d->npool + d->nstatic; i++)
		if (d->lease[i].ip == ip && d->lease[i].bound)
			l = &d->lease[i];
	if (!l || !l->owned || !dhcp_active(l, un_now_ms()))
		return false;
	memcpy(mac, l->mac, ETH_ALEN);
	return true;
}

/**
 * dhcp_leases() - List the active (bound, unexpired) leases
 * @un:		instance
 * @out:	array of @max entries, or NULL to only count
 * @max:	size of @out
 *
 * Return: entries written to @out (at most @max); if @out is NULL, the
 * number of active leases
 */
size_t dhcp_leases(const struct usernat *un, struct dhcp_lease_info *out,
		   size_t max)
{
	const struct un_dhcp *d;
	int64_t now = un_now_ms();
	size_t i, n = 0;

	g_return_val_if_fail(un, 0);
	if (!(d = un->dhcp))
		return 0;
	for (i = 0; i < d->npool + d->nstatic; i++) {
		const struct dhcp_lease *l = &d->lease[i];

		if (!l->owned || !dhcp_active(l, now))
			continue;
		if (out) {
			if (n >= max)
				break;
			memcpy(out[n].mac, l->mac, ETH_ALEN);
			out[n].ip = l->ip;
			out[n].expires_ms = l->expires_ms;
			out[n].is_static = l->is_static;
			memcpy(out[n].name, l->name, sizeof(out[n].name));
		}
		n++;
	}
	return n;
}
