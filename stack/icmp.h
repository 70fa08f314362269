/* SPDX-License-Identifier: GPL-2.0-or-later
 * icmp.h - ICMP NAT: counters and module-private declarations
 */
#ifndef UN_ICMP_H
#define UN_ICMP_H

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_ICMP(X)						\
	X(icmp_flows, "ICMP echo flows created")			\
	X(icmp_flows_expired, "ICMP echo flows ended after idling")	\
	X(icmp_echo_out, "echo requests sent to the host network")	\
	X(icmp_echo_in, "echo replies relayed to guests")		\
	X(icmp_errors_relayed, "ICMP errors for echo flows relayed")	\
	X(drop_icmp_dst, "dropped: echo to a loopback, zero or broadcast address") \
	X(drop_icmp_nat, "dropped: echo with no ping or raw socket available") \
	X(drop_icmp_socket, "refused: no host socket for an echo flow")	\
	X(icmp_id_limit, "echo requests refused: ICMP id limit reached") \
	X(drop_icmp_send, "dropped: echo send to the host failed")	\
	X(drop_icmp_reply, "dropped: echo reply unknown, foreign or too big")

/**
 * icmp4_unreach_code() - ICMP unreachable code for a socket error
 * @err:	positive errno from socket(), connect() or send()
 *
 * Return: ICMP_UNREACH_* code, or -1 if the error is not worth telling
 */
int icmp4_unreach_code(int err);

#endif
