/* SPDX-License-Identifier: GPL-2.0-or-later
 * policy.h - egress policy: which new outbound flows guests may open
 */
#ifndef UN_POLICY_H
#define UN_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct usernat;
struct ip4_in;

/**
 * struct policy_rule - One --allow or --deny rule, as parsed
 * @v6:		an IPv6 rule (@net6, @prefix6), else IPv4 (@net, @mask)
 * @net:	IPv4 destination network, network order, already masked
 * @mask:	its netmask, network order
 * @net6:	IPv6 destination network, host bits cleared
 * @prefix6:	its prefix length, 0-128
 * @port_lo:	first destination port, host order (0 with @port_hi 65535
 *		when the rule names no ports)
 * @port_hi:	last destination port, host order, inclusive
 * @any_port:	the rule named no ports: it also matches ICMP
 * @allow:	true for --allow, false for --deny
 */
struct policy_rule {
	bool v6;
	uint32_t net;
	uint32_t mask;
	uint8_t net6[16];
	uint8_t prefix6;
	uint16_t port_lo;
	uint16_t port_hi;
	bool any_port;
	bool allow;
};

int policy_parse(const char *spec, bool allow, struct policy_rule *out,
		 char **err);
bool policy_rule_match(const struct policy_rule *r, uint8_t proto,
		       uint32_t daddr, uint16_t dport_h);
bool policy_rule_match6(const struct policy_rule *r, uint8_t proto,
			const uint8_t daddr[16], uint16_t dport_h);
int policy_check(const struct usernat *un, uint8_t proto, uint32_t daddr,
		 uint16_t dport_host_order);
int policy_check6(const struct usernat *un, uint8_t proto,
		  const uint8_t daddr[16], uint16_t dport_host_order);
bool policy_refuse(struct usernat *un, const struct ip4_in *ip,
		   uint16_t dport_h);

#endif /* UN_POLICY_H */
