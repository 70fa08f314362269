/* SPDX-License-Identifier: GPL-2.0-or-later
 * tcp.h - TCP NAT: counters and module-private declarations
 *
 * The engine's internals (connection table, timers) are in tcp_internal.h;
 * the entry points the stack calls are declared in stack.h.
 */
#ifndef UN_TCP_H
#define UN_TCP_H

/* Counters of this module, X(name, description), merged into UN_COUNTERS.
 * tcp_active is a gauge (current connections), the rest only grow. */
#define UN_COUNTERS_TCP(X)						\
	X(tcp_active, "TCP connections currently open")		\
	X(tcp_opened, "TCP connections opened (guest SYNs accepted)")	\
	X(tcp_closed, "TCP connections closed and freed")		\
	X(tcp_established, "TCP connections that completed the handshake") \
	X(tcp_inbound, "TCP connections from port forwards")		\
	X(tcp_inbound_refused, "TCP port forward connections the guest refused") \
	X(tcp_refused, "TCP connects refused by the host (RST sent)")	\
	X(tcp_unreach, "TCP connects unreachable (ICMP error sent)")	\
	X(tcp_connect_timeout, "TCP connects that never completed")	\
	X(tcp_limit, "TCP SYNs refused: flow or half-open limit")	\
	X(tcp_fd_exhausted, "TCP SYNs refused: out of file descriptors") \
	X(tcp_rst_no_flow, "TCP RSTs sent for segments of no connection") \
	X(tcp_rst_from_guest, "TCP connections reset by the guest")	\
	X(tcp_rst_to_guest, "TCP connections reset toward the guest")	\
	X(tcp_idle_timeout, "TCP connections closed for idleness")	\
	X(tcp_gave_up, "TCP connections dropped after too many retries") \
	X(tcp_retransmit, "TCP retransmission timeouts toward guests")	\
	X(tcp_fast_retransmit, "TCP fast retransmits toward guests")	\
	X(tcp_window_probe, "TCP zero-window probes sent to guests")	\
	X(tcp_tail_probe, "TCP tail loss probes sent to guests")	\
	X(tcp_ooo, "TCP out-of-order guest segments dropped")		\
	X(tcp_dup, "TCP guest segments with no new data")		\
	X(tcp_challenge_ack, "TCP challenge ACKs (RFC 5961)")		\
	X(tcp_host_full, "TCP guest data refused: host socket full")	\
	X(tcp_bad_options, "TCP options malformed (ignored)")		\
	X(tcp_drop_mac, "dropped: TCP segment from another MAC")	\
	X(tcp_drop_addr, "dropped: TCP with an unusable address")	\
	X(tcp_drop_state, "dropped: TCP segment not valid in its state")

struct usernat;
struct ip6_in;

/* tcp_in.c: TCP over IPv6, from ip6_nat_from_guest() (ip6.c) */
void tcp_from_guest6(struct usernat *un, const struct ip6_in *ip);

#endif
