/* SPDX-License-Identifier: GPL-2.0-or-later
 * udp.h - UDP NAT: counters and module-private declarations
 */
#ifndef UN_UDP_H
#define UN_UDP_H

#include <stdbool.h>
#include <stdint.h>

struct usernat;
struct ip6_in;

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_UDP(X)						\
	X(udp_flows, "UDP flows created by guests (outbound)")		\
	X(udp_flows_expired, "UDP flows ended after the idle timeout")	\
	X(udp_out, "UDP datagrams sent from guests to host sockets")	\
	X(udp_in, "UDP datagrams relayed from host sockets to guests")	\
	X(udp_icmp_relayed, "ICMP errors for UDP flows relayed to guests") \
	X(drop_udp_dst, "dropped: UDP to a loopback or zero address")	\
	X(drop_udp_socket, "refused: no host socket for a UDP flow")	\
	X(drop_udp_send, "dropped: UDP send to the host failed")	\
	X(drop_udp_toobig, "dropped: host UDP datagram over guest MTU")	\
	X(udp_inbound_flows, "UDP flows created by port forwards")	\
	X(udp_inbound, "UDP datagrams from forward clients to guests")	\
	X(udp_inbound_replies, "UDP guest replies sent to forward clients") \
	X(drop_udp_inbound, "dropped: forward datagram with no flow possible") \
	X(drop_udp_fwd_gone, "dropped: guest reply for a removed UDP forward")

bool udp_policy6_refuse(struct usernat *un, const struct ip6_in *ip,
			uint16_t dport_h, bool quiet);

#endif
