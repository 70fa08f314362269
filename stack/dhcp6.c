// SPDX-License-Identifier: GPL-2.0-or-later
/* dhcp6.c - DHCPv6 server for the guests (RFC 8415, RFC 3646)
 *
 * DOC: Theory of operation
 *
 * Router advertisements give guests their addresses (SLAAC) and, with the
 * O flag, point them here for the rest: an Information-request gets a
 * Reply with the DNS server (dns6, option 23) and the domain search list
 * (option 24) when one is configured.  Guests that want an address from
 * DHCPv6 anyway (Solicit, with or without Rapid Commit, then Request,
 * Renew, Rebind) get one in each IA_NA they ask for.
 *
 * Addresses are derived, not allocated: the interface identifier is a hash
 * of the client's DUID and the IA's IAID (keyed with our MAC and the
 * prefix), redrawn if it falls on the low 64 Ki identifiers (::2, ::3 and
 * addresses people configure by hand live there), on the reserved anycast
 * identifiers (RFC 5453) or on one of our addresses.  So the server keeps
 * no lease table at all: a client keeps its address across its renewals,
 * its reboots and ours, there is nothing to exhaust, and Release and
 * Decline only need an answer.  The price: a declined address can't be
 * replaced by another (the client is told Success, and we log it), and two
 * clients would share an address only if two 64-bit hashes collided.
 * SLAAC and DHCPv6 addresses come from the same /64 and can't collide in
 * practice either (and the guest's DAD would catch it).
 *
 * Every option length is validated, inside IAs too, before anything is
 * answered (one walker, dhcp6_opt_next()); so are the rules of RFC 8415 16
 * on which messages carry which identifiers: anything else is dropped and
 * counted in drop_dhcp6_malformed.  Requests to a server identifier not
 * ours are dropped the same way (there is no other server on the link).
 * We accept messages to the servers' group and to our unicast addresses
 * alike (more lenient than RFC 8415 18.4, which would answer UseMulticast).
 * Relay messages are dropped: a relay would have to sit on our virtual
 * link, which has no other segments.  Temporary addresses (IA_TA) and
 * prefix delegation (IA_PD) are not offered: those IAs are answered with
 * NoAddrsAvail and NoPrefixAvail.  Configuration options are sent whether
 * or not the client's Option Request option lists them.
 */
#include <arpa/inet.h>
#include <string.h>

#include "stack.h"
#include "wire/dhcp6.h"
#include "wire/eth.h"
#include "wire/ip6.h"

#define DHCP6_IA_MAX		8	/* IAs answered per message */
#define DHCP6_ADDRS_MAX		4	/* client addresses per IA handled */
/* A reply fits the IPv6 minimum MTU whatever the link's */
#define DHCP6_REPLY_MAX		(IP6_MIN_MTU - IP6_HLEN - 8)
#define DHCP6_DUID_LL_LEN	10	/* type, hardware type, MAC */

/**
 * struct dhcp6_req - What we use of a client message, once validated
 * @type:		message type
 * @xid:		transaction id, as on the wire
 * @client_id:		option 1's value (the DUID), if @has_client_id
 * @server_id:		option 2's value, if @has_server_id
 * @rapid_commit:	option 14 present
 * @has_ia:		any IA option present (even past DHCP6_IA_MAX)
 * @nia:		entries in @ia_code and @ia
 * @ia_code:		DHCP6_OPT_IA_NA, _IA_TA or _IA_PD
 * @ia:			each IA option's value, validated
 */
struct dhcp6_req {
	uint8_t type;
	uint8_t xid[3];
	struct pkt client_id;
	struct pkt server_id;
	bool has_client_id;
	bool has_server_id;
	bool rapid_commit;
	bool has_ia;
	unsigned int nia;
	uint16_t ia_code[DHCP6_IA_MAX];
	struct pkt ia[DHCP6_IA_MAX];
};

/* Bounded writer for reply options */
struct dhcp6_wr {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

/**
 * dhcp6_opt_next() - Walk one option, RFC 8415 21.1
 * @c:		cursor over an options area, advanced past the option
 * @code:	option code, output
 * @val:	cursor over the option's value, output
 *
 * The one walker for DHCPv6 options, at the top level and inside IAs.
 *
 * Return: 1 if an option was read, 0 at the end, -1 if it overruns the
 * area (malformed)
 */
static int dhcp6_opt_next(struct pkt *c, uint16_t *code, struct pkt *val)
{
	uint16_t len;

	if (!c->len)
		return 0;
	if (pkt_be16(c, code) || pkt_be16(c, &len) || pkt_sub(c, 0, len, val))
		return -1;
	pkt_pull(c, len);
	return 1;
}

/**
 * dhcp6_ia_fixed() - Bytes before the sub-options of an IA option
 * Return: 12 for IA_NA and IA_PD (IAID, T1, T2), 4 for IA_TA (IAID)
 */
static size_t dhcp6_ia_fixed(uint16_t code)
{
	return code == DHCP6_OPT_IA_TA ? DHCP6_IA_TA_LEN : DHCP6_IA_NA_LEN;
}

/**
 * dhcp6_ia_check() - Validate an IA option and its sub-options
 * @code:	DHCP6_OPT_IA_NA, _IA_TA or _IA_PD
 * @val:	the option's value
 *
 * RFC 8415 21.4-21.6, 21.21-21.22: the fixed part, then sub-options
 * whose lengths must fit, with the fixed size of an address, prefix or
 * status where one appears.
 *
 * Return: 0, or -1 if malformed
 */
static int dhcp6_ia_check(uint16_t code, const struct pkt *val)
{
	size_t fixed = dhcp6_ia_fixed(code);
	struct pkt c, sub;
	uint16_t sc;
	int r;

	if (val->len < fixed)
		return -1;
	pkt_sub(val, fixed, val->len - fixed, &c);
	while ((r = dhcp6_opt_next(&c, &sc, &sub)) > 0) {
		if ((sc == DHCP6_OPT_IAADDR && sub.len < DHCP6_IAADDR_LEN) ||
		    (sc == DHCP6_OPT_IAPREFIX &&
		     sub.len < DHCP6_IAPREFIX_LEN) ||
		    (sc == DHCP6_OPT_STATUS && sub.len < 2))
			return -1;
	}
	return r;
}

/**
 * dhcp6_duid_check() - Validate a client or server identifier option
 *
 * RFC 8415 11: a DUID is a 2-byte type and at most 128 bytes more, at
 * least one.  Only one of each option per message.
 *
 * Return: 0, or -1 if malformed or repeated
 */
static int dhcp6_duid_check(const struct pkt *val, bool *seen, struct pkt *dst)
{
	if (*seen || val->len < 3 || val->len > DHCP6_DUID_MAX)
		return -1;
	*seen = true;
	*dst = *val;
	return 0;
}

/**
 * dhcp6_parse() - Validate a client message and extract what we use
 * @payload:	UDP payload (untrusted)
 * @rq:		output; its cursors point into @payload
 *
 * Return: 0, or -1 if malformed
 */
static int dhcp6_parse(const struct pkt *payload, struct dhcp6_req *rq)
{
	struct pkt c = *payload, val;
	const struct dhcp6_msg *m = pkt_pull(&c, sizeof(*m));
	uint16_t code;
	int r;

	memset(rq, 0, sizeof(*rq));
	if (!m)
		return -1;
	rq->type = m->type;
	memcpy(rq->xid, m->xid, 3);
	while ((r = dhcp6_opt_next(&c, &code, &val)) > 0) {
		switch (code) {
		case DHCP6_OPT_CLIENTID:
			if (dhcp6_duid_check(&val, &rq->has_client_id,
					     &rq->client_id))
				return -1;
			break;
		case DHCP6_OPT_SERVERID:
			if (dhcp6_duid_check(&val, &rq->has_server_id,
					     &rq->server_id))
				return -1;
			break;
		case DHCP6_OPT_IA_NA:
		case DHCP6_OPT_IA_TA:
		case DHCP6_OPT_IA_PD:
			if (dhcp6_ia_check(code, &val))
				return -1;
			rq->has_ia = true;
			if (rq->nia < DHCP6_IA_MAX) {
				rq->ia_code[rq->nia] = code;
				rq->ia[rq->nia++] = val;
			}
			break;
		case DHCP6_OPT_RAPID_COMMIT:	/* RFC 8415 21.14 */
			if (val.len)
				return -1;
			rq->rapid_commit = true;
			break;
		case DHCP6_OPT_ELAPSED:		/* 21.9 */
			if (val.len != 2)
				return -1;
			break;
		case DHCP6_OPT_ORO:		/* 21.7: 2-byte codes */
			if (val.len & 1)
				return -1;
			break;
		default:
			break;
		}
	}
	return r;
}

/**
 * dhcp6_duid() - Our DUID: DUID-LL of our MAC (RFC 8415 11.4)
 * @out:	DHCP6_DUID_LL_LEN bytes
 */
static void dhcp6_duid(const struct usernat *un, uint8_t *out)
{
	out[0] = 0;
	out[1] = DHCP6_DUID_LL;
	out[2] = 0;
	out[3] = 1;		/* hardware type: Ethernet */
	memcpy(out + 4, un->cfg.mac, ETH_ALEN);
}

/**
 * dhcp6_check() - The rules of RFC 8415 16 on identifiers and IAs
 *
 * Solicit, Confirm and Rebind carry a client identifier and no server
 * identifier; Request, Renew, Release and Decline carry both, the server's
 * ours; an Information-request may carry ours, and no IA (16.12).
 *
 * Return: true if the message is to be answered
 */
static bool dhcp6_check(const struct usernat *un, const struct dhcp6_req *rq)
{
	uint8_t duid[DHCP6_DUID_LL_LEN];
	bool ours;

	dhcp6_duid(un, duid);
	ours = rq->has_server_id && rq->server_id.len == sizeof(duid) &&
	       !memcmp(rq->server_id.p, duid, sizeof(duid));
	switch (rq->type) {
	case DHCP6_SOLICIT:
	case DHCP6_CONFIRM:
	case DHCP6_REBIND:
		return rq->has_client_id && !rq->has_server_id;
	case DHCP6_REQUEST:
	case DHCP6_RENEW:
	case DHCP6_RELEASE:
	case DHCP6_DECLINE:
		return rq->has_client_id && ours;
	case DHCP6_INFO_REQUEST:
		return (!rq->has_server_id || ours) && !rq->has_ia;
	default:	/* server and relay messages */
		return false;
	}
}

/* ------------------------------------------------------------------------ */
/* Addresses                                                                */

/** dhcp6_fnv() - FNV-1a over @len bytes, continuing @h; Return: hash */
static uint64_t dhcp6_fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/**
 * dhcp6_addr() - The address of IA @iaid of client @duid
 * @duid:	client identifier (validated)
 * @iaid:	4 bytes
 * @addr:	output
 *
 * See the theory of operation: prefix6 and a 64-bit hash, stable for a
 * given client, IA, MAC and prefix.  Redrawn (at most 16 times, each
 * redraw failing with a probability below 2^-40) when it would be a low,
 * reserved or our own identifier.
 */
static void dhcp6_addr(const struct usernat *un, const struct pkt *duid,
		       const uint8_t *iaid, uint8_t addr[16])
{
	unsigned int salt, i;
	uint64_t h;

	memcpy(addr, un->cfg.prefix6, 8);
	for (salt = 0; salt < 16; salt++) {
		h = dhcp6_fnv(0xcbf29ce484222325ULL, &salt, sizeof(salt));
		h = dhcp6_fnv(h, un->cfg.mac, ETH_ALEN);
		h = dhcp6_fnv(h, un->cfg.prefix6, 8);
		h = dhcp6_fnv(h, duid->p, duid->len);
		h = dhcp6_fnv(h, iaid, 4);
		h ^= h >> 33;		/* finaliser: spread every bit */
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
		for (i = 0; i < 8; i++)
			addr[8 + i] = (uint8_t)(h >> (56 - 8 * i));
		/* RFC 5453: fdff:ffff:ffff:ff80 and up are reserved */
		if (h >= 0x10000 && h < 0xfdffffffffffff80ULL &&
		    !ip6_is_ours(un, addr))
			return;
	}
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

/**
 * dhcp6_put() - Append one option, whole or not at all
 * Return: pointer to its value in the reply, or NULL if it doesn't fit
 */
static uint8_t *dhcp6_put(struct dhcp6_wr *w, uint16_t code, const void *v,
			  size_t len)
{
	uint8_t *p = w->p + w->len;

	if (len > 0xffff || w->cap - w->len < DHCP6_OPT_HLEN + len)
		return NULL;
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len)
		memcpy(p + DHCP6_OPT_HLEN, v, len);
	w->len += DHCP6_OPT_HLEN + len;
	return p + DHCP6_OPT_HLEN;
}

/** dhcp6_be32() - Store @v big-endian at @p */
static void dhcp6_be32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/**
 * dhcp6_iaaddr() - Write an IAADDR sub-option (RFC 8415 21.6) at @p
 * Return: bytes written (28)
 */
static size_t dhcp6_iaaddr(uint8_t *p, const uint8_t *addr, uint32_t pref,
			   uint32_t valid)
{
	p[0] = 0;
	p[1] = DHCP6_OPT_IAADDR;
	p[2] = 0;
	p[3] = DHCP6_IAADDR_LEN;
	memcpy(p + 4, addr, 16);
	dhcp6_be32(p + 20, pref);
	dhcp6_be32(p + 24, valid);
	return DHCP6_OPT_HLEN + DHCP6_IAADDR_LEN;
}

/**
 * dhcp6_put_ia() - Answer one IA of the client's
 * @ia:		the client's IA option value (validated)
 *
 * IA_NA: our address for it, valid and preferred for the lease time, T1
 * and T2 at 0.5 and 0.8 of it (RFC 8415 21.4).  In a Renew or Rebind,
 * other addresses the client lists are returned with lifetimes 0: they are
 * not for this link (18.3.4, 18.3.5).  IA_TA and IA_PD: a status code
 * saying there is nothing to give (21.13).
 */
static void dhcp6_put_ia(struct usernat *un, struct dhcp6_wr *w,
			 const struct dhcp6_req *rq, uint16_t code,
			 const struct pkt *ia)
{
	uint8_t v[DHCP6_IA_NA_LEN + (DHCP6_ADDRS_MAX + 1) * 28 + 6];
	uint32_t lt = un->cfg.lease_time;
	size_t len = dhcp6_ia_fixed(code), n = 0;
	uint8_t addr[16];
	struct pkt c, sub;
	uint16_t sc;

	memset(v, 0, sizeof(v));
	memcpy(v, ia->p, 4);			/* IAID */
	if (code != DHCP6_OPT_IA_NA) {
		v[len++] = 0;
		v[len++] = DHCP6_OPT_STATUS;
		v[len++] = 0;
		v[len++] = 2;
		v[len++] = 0;
		v[len++] = code == DHCP6_OPT_IA_PD ? DHCP6_ST_NOPREFIX :
						     DHCP6_ST_NOADDRS;
		dhcp6_put(w, code, v, len);
		return;
	}
	dhcp6_be32(v + 4, lt / 2);
	dhcp6_be32(v + 8, (uint32_t)((uint64_t)lt * 4 / 5));
	dhcp6_addr(un, &rq->client_id, ia->p, addr);
	len += dhcp6_iaaddr(v + len, addr, lt, lt);
	pkt_sub(ia, DHCP6_IA_NA_LEN, ia->len - DHCP6_IA_NA_LEN, &c);
	while ((rq->type == DHCP6_RENEW || rq->type == DHCP6_REBIND) &&
	       n < DHCP6_ADDRS_MAX && dhcp6_opt_next(&c, &sc, &sub) > 0) {
		if (sc != DHCP6_OPT_IAADDR || ip6_eq(sub.p, addr))
			continue;
		len += dhcp6_iaaddr(v + len, sub.p, 0, 0);
		n++;
	}
	dhcp6_put(w, code, v, len);
}

/**
 * dhcp6_confirm_status() - Are the client's addresses on our link?
 *
 * RFC 8415 18.3.3: Success if every address in its IAs is in our prefix,
 * NotOnLink otherwise.  Return: the status, or -1 if there are no
 * addresses (no reply then)
 */
static int dhcp6_confirm_status(const struct usernat *un,
				const struct dhcp6_req *rq)
{
	int st = -1;
	unsigned int i;

	for (i = 0; i < rq->nia; i++) {
		size_t fixed = dhcp6_ia_fixed(rq->ia_code[i]);
		struct pkt c, sub;
		uint16_t sc;

		pkt_sub(&rq->ia[i], fixed, rq->ia[i].len - fixed, &c);
		while (dhcp6_opt_next(&c, &sc, &sub) > 0) {
			if (sc != DHCP6_OPT_IAADDR)
				continue;
			if (!ip6_in_prefix(un, sub.p))
				return DHCP6_ST_NOTONLINK;
			st = DHCP6_ST_SUCCESS;
		}
	}
	return st;
}

/**
 * dhcp6_reply() - Build and send an Advertise or a Reply
 * @ip:		the client's packet: the reply goes back to its source
 * @type:	DHCP6_ADVERTISE or DHCP6_REPLY
 * @status:	top-level status code, or -1 for none
 * @ias:	answer the client's IAs
 * @config:	add the DNS server and search list
 *
 * From our address in the client's scope (link-local, normally) port 547
 * to the client's port 546 (RFC 8415 7.2), at the frame's source MAC.
 * Built at udp6_out_payload(un) and sent before return.
 */
static void dhcp6_reply(struct usernat *un, const struct ip6_in *ip,
			const struct dhcp6_req *rq, uint8_t type, int status,
			bool ias, bool config)
{
	uint8_t *b = udp6_out_payload(un), duid[DHCP6_DUID_LL_LEN];
	struct dhcp6_wr w = { .p = b + sizeof(struct dhcp6_msg),
			      .cap = DHCP6_REPLY_MAX -
				     sizeof(struct dhcp6_msg) };
	const struct un_ip6 *s = un->ip6;
	uint8_t pref = 255, st[2] = { 0, (uint8_t)status };
	unsigned int i;

	b[0] = type;
	memcpy(b + 1, rq->xid, 3);
	dhcp6_duid(un, duid);
	dhcp6_put(&w, DHCP6_OPT_SERVERID, duid, sizeof(duid));
	if (rq->has_client_id)
		dhcp6_put(&w, DHCP6_OPT_CLIENTID, rq->client_id.p,
			  rq->client_id.len);
	if (type == DHCP6_REPLY && rq->type == DHCP6_SOLICIT)
		dhcp6_put(&w, DHCP6_OPT_RAPID_COMMIT, NULL, 0);
	/* RFC 8415 18.2.1: 255, the client need not wait for others */
	if (type == DHCP6_ADVERTISE)
		dhcp6_put(&w, DHCP6_OPT_PREFERENCE, &pref, 1);
	if (status >= 0)
		dhcp6_put(&w, DHCP6_OPT_STATUS, st, sizeof(st));
	for (i = 0; ias && i < rq->nia; i++)
		dhcp6_put_ia(un, &w, rq, rq->ia_code[i], &rq->ia[i]);
	if (config) {
		dhcp6_put(&w, DHCP6_OPT_DNS, un->cfg.dns6, 16);
		if (s->search_len)
			dhcp6_put(&w, DHCP6_OPT_DOMAINS, s->search,
				  s->search_len);
	}
	UN_COUNT(un, dhcp6_reply);
	udp6_out_send(un, ip->src_mac, ip6_src_for(un, ip->saddr),
		      htons(DHCP6_SERVER_PORT), ip->saddr,
		      htons(DHCP6_CLIENT_PORT),
		      sizeof(struct dhcp6_msg) + w.len);
}

/**
 * dhcp6_log_lease() - One line per address handed out (first IA_NA)
 */
static void dhcp6_log_lease(struct usernat *un, const struct ip6_in *ip,
			    const struct dhcp6_req *rq)
{
	char a[INET6_ADDRSTRLEN], m[18];
	uint8_t addr[16];
	unsigned int i;

	for (i = 0; i < rq->nia; i++) {
		if (rq->ia_code[i] != DHCP6_OPT_IA_NA)
			continue;
		dhcp6_addr(un, &rq->client_id, rq->ia[i].p, addr);
		un_info(un, "dhcp6: lease %s to %s",
			inet_ntop(AF_INET6, addr, a, sizeof(a)),
			un_mac_str(ip->src_mac, m));
		return;
	}
}

/**
 * dhcp6_from_guest() - Handle a message to the DHCPv6 server port
 * @ip:		the IPv6 packet it came in
 * @payload:	UDP payload (untrusted), not kept after return
 *
 * A reply, if any, is built in un->obuf and sent before return.
 */
void dhcp6_from_guest(struct usernat *un, const struct ip6_in *ip,
		      const struct pkt *payload)
{
	struct dhcp6_req rq;
	char m[18];
	int st;

	if (dhcp6_parse(payload, &rq) || !dhcp6_check(un, &rq)) {
		UN_COUNT(un, drop_dhcp6_malformed);
		un_debug(un, "dhcp6: malformed or misdirected message from %s",
			 un_mac_str(ip->src_mac, m));
		return;
	}
	un_debug(un, "dhcp6: type %u from %s", rq.type,
		 un_mac_str(ip->src_mac, m));
	switch (rq.type) {
	case DHCP6_SOLICIT:	/* RFC 8415 18.3.1, 18.3.9 */
		UN_COUNT(un, dhcp6_solicit);
		if (rq.rapid_commit)
			dhcp6_log_lease(un, ip, &rq);
		dhcp6_reply(un, ip, &rq, rq.rapid_commit ? DHCP6_REPLY :
			    DHCP6_ADVERTISE, -1, true, true);
		break;
	case DHCP6_REQUEST:	/* 18.3.2, 18.3.4, 18.3.5 */
		dhcp6_log_lease(un, ip, &rq);
		/* fall through */
	case DHCP6_RENEW:
	case DHCP6_REBIND:
		UN_COUNT(un, dhcp6_request);
		dhcp6_reply(un, ip, &rq, DHCP6_REPLY, -1, true, true);
		break;
	case DHCP6_CONFIRM:	/* 18.3.3 */
		UN_COUNT(un, dhcp6_confirm);
		if ((st = dhcp6_confirm_status(un, &rq)) >= 0)
			dhcp6_reply(un, ip, &rq, DHCP6_REPLY, st, false,
				    false);
		break;
	case DHCP6_DECLINE:	/* 18.3.8 */
		un_warn(un, "dhcp6: %s declined its address (in use?); it "
			"will get the same one again", un_mac_str(ip->src_mac,
								  m));
		/* fall through */
	case DHCP6_RELEASE:	/* 18.3.7: nothing is kept to release */
		UN_COUNT(un, dhcp6_release);
		dhcp6_reply(un, ip, &rq, DHCP6_REPLY, DHCP6_ST_SUCCESS, false,
			    false);
		break;
	case DHCP6_INFO_REQUEST:	/* 18.3.6 */
		UN_COUNT(un, dhcp6_inform);
		dhcp6_reply(un, ip, &rq, DHCP6_REPLY, -1, false, true);
		break;
	default:
		break;
	}
}
