/* SPDX-License-Identifier: GPL-2.0-or-later
 * dns.h - DNS forwarder: counters and module-private declarations
 */
#ifndef UN_DNS_H
#define UN_DNS_H

#include <stdint.h>
#include <sys/socket.h>

struct usernat;
struct ip4_in;
struct ip6_in;
struct pkt;

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_DNS(X)						\
	X(dns_queries, "DNS queries forwarded upstream")		\
	X(dns_replies, "DNS replies relayed to guests")			\
	X(dns_truncated, "DNS replies over the MTU, sent with TC set")	\
	X(dns_servfail, "SERVFAIL answers sent for failed queries")	\
	X(dns_retries, "DNS queries sent again to another upstream")	\
	X(dns_timeouts, "DNS upstream attempts that timed out")	\
	X(dns_upstream_errors, "DNS upstream errors (refused, unreachable)") \
	X(dns_evicted, "pending DNS queries evicted, table full")	\
	X(drop_dns_malformed, "dropped: malformed DNS query")		\
	X(drop_dns_reply, "dropped: unexpected or malformed DNS reply")

void dns_from_guest(struct usernat *un, const struct ip4_in *ip,
		    uint16_t sport, const struct pkt *payload);
void dns_from_guest6(struct usernat *un, const struct ip6_in *ip,
		     uint16_t sport, const struct pkt *payload);
int dns_tcp_upstream(struct usernat *un, struct sockaddr_storage *ss,
		     socklen_t *len);

#endif
