/* SPDX-License-Identifier: GPL-2.0-or-later
 * echo.h - the echo NAT flow table, shared by icmp.c (IPv4) and icmp6.c
 * (IPv6): keys, flows, caps, expiry and listing; module-private
 */
#ifndef UN_ECHO_H
#define UN_ECHO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "wire/eth.h"

struct usernat;

#define ECHO_RAW_REF	0	/* epoll idx of a family's shared raw socket;
				 * ping-socket flows never get it */

/*
 * An echo flow as the guest sees it: (guest, destination, guest echo
 * identifier).  Addresses are 16 bytes for both families, IPv4 ones mapped
 * (::ffff:a.b.c.d), as udp.c keys its flows; @v6 tells the families apart
 * (a mapped address is never a guest's IPv6 address, but the flag keeps
 * that from mattering).
 */
struct echo_key {
	uint32_t seed;		/* the table's hash seed, not compared */
	uint16_t gid;		/* guest's echo identifier, network order */
	uint8_t v6;		/* 1: ICMPv6 */
	uint8_t pad;		/* zero */
	uint8_t gaddr[16];	/* guest */
	uint8_t daddr[16];	/* address pinged */
};

/**
 * struct echo_flow - One echo NAT flow, owned by the table (echo.c)
 * @key:	the flow as the guest sees it
 * @lru:	link in the table's list in order of last use; data: this flow
 * @mac:	guest's Ethernet address, last seen (replies go there)
 * @cmac:	the MAC the flow is charged to (echo caps; IPv6 flow cap)
 * @fd:		ping socket; -1 in raw mode
 * @sid:	echo identifier on the host side, network order
 * @ref:	epoll idx (ping mode), never ECHO_RAW_REF
 * @created_ms, @last_ms: creation, last use
 * @bytes_from_guest, @bytes_to_guest: ICMP message bytes, for listing
 */
struct echo_flow {
	struct echo_key key;
	GList lru;
	uint8_t mac[ETH_ALEN];
	uint8_t cmac[ETH_ALEN];
	int fd;
	uint16_t sid;
	uint32_t ref;
	int64_t created_ms;
	int64_t last_ms;
	uint64_t bytes_from_guest;
	uint64_t bytes_to_guest;
};

/** echo_v4() - The IPv4 address (network order) in mapped key address @a */
static inline uint32_t echo_v4(const uint8_t *a)
{
	uint32_t v;

	memcpy(&v, a + 12, 4);
	return v;
}

int echo_init(struct usernat *un);
void echo_cleanup(struct usernat *un);
void echo_key4(const struct usernat *un, struct echo_key *k, uint32_t gaddr,
	       uint32_t daddr, uint16_t gid);
void echo_key6(const struct usernat *un, struct echo_key *k,
	       const uint8_t *gaddr, const uint8_t *daddr, uint16_t gid);
struct echo_flow *echo_lookup(const struct usernat *un,
			      const struct echo_key *k);
struct echo_flow *echo_by_ref(const struct usernat *un, uint32_t ref);
struct echo_flow *echo_by_sid(const struct usernat *un, bool v6,
			      uint16_t sid);
struct echo_flow *echo_flow_new(struct usernat *un, const struct echo_key *k,
				const uint8_t *mac, bool ping, int *err);
void echo_touch(struct usernat *un, struct echo_flow *f);
void echo_tick(struct usernat *un, int64_t now_ms);
unsigned int echo_count(const struct usernat *un, const uint8_t *mac);

#endif
