/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/tcp.h - TCP header (RFC 9293 3.1) and options (RFC 7323)
 */
#ifndef UN_WIRE_TCP_H
#define UN_WIRE_TCP_H

#include <stdint.h>

#define TCP_HLEN	20
#define TCP_MAX_HLEN	60
#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_PSH		0x08
#define TCP_ACK		0x10
#define TCP_URG		0x20

#define TCPOPT_EOL	0
#define TCPOPT_NOP	1
#define TCPOPT_MSS	2
#define TCPOPT_WSCALE	3
#define TCPOPT_SACK_OK	4
#define TCPOPT_SACK	5
#define TCPOPT_TS	8

#define TCPOLEN_MSS	4	/* kind, length, 16-bit MSS */
#define TCPOLEN_WSCALE	3	/* kind, length, shift count */
#define TCPOLEN_SACK_OK	2	/* kind, length: SACK permitted (RFC 2018 2) */
#define TCPOLEN_SACK_BASE 2	/* kind, length, then 8 bytes per block */
#define TCP_SACK_BLOCKS	4	/* at most, without timestamps (RFC 2018 3) */
#define TCP_MAX_WSCALE	14	/* RFC 7323 2.3 */
#define TCP_DEFAULT_MSS	536	/* RFC 9293 3.7.1, when no MSS option */

struct tcp_hdr {
	uint16_t source;
	uint16_t dest;
	uint32_t seq;
	uint32_t ack_seq;
	uint8_t doff;		/* data offset in words << 4 */
	uint8_t flags;
	uint16_t window;
	uint16_t check;
	uint16_t urg_ptr;
} __attribute__((packed));

/* Header length in bytes from the data offset field */
#define TCP_DOFF_LEN(doff)	((size_t)((doff) >> 4) * 4)

#endif
