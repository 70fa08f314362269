/* SPDX-License-Identifier: GPL-2.0-or-later
 * ip6.h - IPv6 (ip6.c, ndp.c, dhcp6.c, icmp6.c): counters and the
 * declarations these four files share
 *
 * The entry points other modules use (struct ip6_in, ip6_from_guest(),
 * ip6_out_send(), icmp6_send_error(), the NAT hooks) are in stack.h.
 * struct un_ip6 is private to the four IPv6 files.
 */
#ifndef UN_IP6_H
#define UN_IP6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <glib.h>

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_IP6(X)						\
	X(ndp_ns, "neighbour solicitations for our addresses answered") \
	X(ndp_dad, "DAD probes for our IPv6 addresses answered")	\
	X(ndp_ns_other, "neighbour solicitations for other addresses (not answered)") \
	X(ndp_rs, "router solicitations answered")			\
	X(ndp_ra, "router advertisements sent")			\
	X(ndp_conflict, "advertisements of our IPv6 addresses by guests") \
	X(ndp_ignored, "router advertisements, redirects from guests (ignored)") \
	X(icmp6_echo_gw, "ICMPv6 echo requests answered by the gateway") \
	X(icmp6_errors, "ICMPv6 errors sent to guests")		\
	X(ip6_mcast_ignored, "IPv6 multicast to groups we are not in")	\
	X(dhcp6_solicit, "DHCPv6 Solicit received")			\
	X(dhcp6_request, "DHCPv6 Request, Renew or Rebind received")	\
	X(dhcp6_confirm, "DHCPv6 Confirm received")			\
	X(dhcp6_release, "DHCPv6 Release or Decline received")	\
	X(dhcp6_inform, "DHCPv6 Information-request received")	\
	X(dhcp6_reply, "DHCPv6 Advertise or Reply sent")		\
	X(drop_ip6_short, "dropped: truncated IPv6 header")		\
	X(drop_ip6_version, "dropped: IPv6 ethertype, bad IP version")	\
	X(drop_ip6_len, "dropped: IPv6 payload length exceeds frame")	\
	X(drop_ip6_src, "dropped: bad IPv6 source address")		\
	X(drop_ip6_dst, "dropped: IPv6 destination not routable")	\
	X(drop_ip6_hoplimit, "dropped: IPv6 hop limit expired")	\
	X(drop_ip6_exthdr, "dropped: malformed or unsupported extension header") \
	X(drop_ip6_frag, "dropped: IPv6 fragment (no reassembly)")	\
	X(drop_ip6_proto, "dropped: unsupported IPv6 next header")	\
	X(drop_ip6_nat, "dropped: IPv6 NAT not available (TCP, UDP, echo)") \
	X(drop_icmp6_short, "dropped: truncated ICMPv6")		\
	X(drop_icmp6_csum, "dropped: bad ICMPv6 checksum")		\
	X(drop_icmp6_type, "dropped: unsupported ICMPv6 type")	\
	X(drop_ndp_malformed, "dropped: invalid NDP message (RFC 4861 validation)") \
	X(drop_dhcp6_malformed, "dropped: malformed or misdirected DHCPv6")

#define IP6_NEIGH_MAX		1024	/* IPv6 neighbour table entries */
#define IP6_MACS_MAX		256	/* guest MACs remembered for RAs */
#define IP6_SEARCH_MAX		512	/* encoded DNS search list: dns-search
					 * (255 bytes) uncompressed fits */

struct usernat;
struct ip6_in;
struct pkt;
struct ip6_neigh;

/**
 * struct un_ip6 - IPv6 state of one instance (ip6.c, ndp.c, dhcp6.c,
 * icmp6.c)
 * @ll:			our link-local address, fe80::EUI-64 of our MAC
 * @neigh:		guest address -> struct ip6_neigh (ip6.c), at most
 *			IP6_NEIGH_MAX entries
 * @seed:		hash seed of @neigh
 * @macs:		guest MACs seen, a ring of IP6_MACS_MAX (ndp.c)
 * @nmacs:		entries used in @macs
 * @macs_next:		next slot of @macs to overwrite when full
 * @macs_hit:		slot of the last MAC found, checked first
 * @next_ra_ms:		when the next unsolicited RA is due
 * @last_mcast_ra_ms:	last RA to all-nodes, for the RFC 4861 rate limit
 * @initial_ras:	quick RAs still to send after a new guest appeared
 * @err_tokens:		ICMPv6 errors that may be sent now (RFC 4443 2.4 f)
 * @err_ms:		last refill of @err_tokens
 * @conflict_log_ms:	last "address conflict" warning
 * @search_len:		bytes of @search, 0: no search list
 * @search:		DNS search list, RFC 1035 3.1 names, uncompressed
 *			(RFC 8106 5.2 DNSSL, RFC 3646 option 24)
 */
struct un_ip6 {
	uint8_t ll[16];
	GHashTable *neigh;
	uint32_t seed;
	uint8_t macs[IP6_MACS_MAX][6];
	unsigned int nmacs;
	unsigned int macs_next;
	unsigned int macs_hit;
	int64_t next_ra_ms;
	int64_t last_mcast_ra_ms;
	unsigned int initial_ras;
	unsigned int err_tokens;
	int64_t err_ms;
	int64_t conflict_log_ms;
	size_t search_len;
	uint8_t search[IP6_SEARCH_MAX];
};

/* Address classes (RFC 4291 2.4); @a points to 16 bytes */
static inline bool ip6_is_mcast(const uint8_t *a)
{
	return a[0] == 0xff;
}

static inline bool ip6_is_unspec(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

static inline bool ip6_is_linklocal(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool ip6_eq(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, 16);
}

/* Solicited-node multicast group, ff02::1:ff00:0/104 (RFC 4291 2.7.1) */
static inline bool ip6_is_snm(const uint8_t *a)
{
	static const uint8_t snm[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };

	return !memcmp(a, snm, sizeof(snm));
}

/* ip6.c */
void ip6_out_send_hl(struct usernat *un, const uint8_t *dst_mac,
		     const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
		     size_t l4len, uint8_t hop_limit);
bool ip6_in_prefix(const struct usernat *un, const uint8_t *a);
const uint8_t *ip6_src_for(const struct usernat *un, const uint8_t *peer);
bool icmp6_err_allowed(struct usernat *un);
void ip6_neigh_learn(struct usernat *un, const uint8_t *addr,
		     const uint8_t *mac);
ssize_t ip6_search_encode(const char *list, uint8_t *out, size_t size);

/* icmp6.c */
void icmp6_from_guest(struct usernat *un, const struct ip6_in *ip);

/* ndp.c */
void ndp_from_guest(struct usernat *un, const struct ip6_in *ip);
void ndp_init(struct usernat *un, int64_t now);
void ndp_tick(struct usernat *un, int64_t now);
int ndp_opt_next(struct pkt *c, uint8_t *type, struct pkt *val);

/* dhcp6.c */
void dhcp6_from_guest(struct usernat *un, const struct ip6_in *ip,
		      const struct pkt *payload);

#endif /* UN_IP6_H */
