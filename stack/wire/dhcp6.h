/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/dhcp6.h - DHCPv6 messages and options (RFC 8415)
 */
#ifndef UN_WIRE_DHCP6_H
#define UN_WIRE_DHCP6_H

#include <stdint.h>

#define DHCP6_CLIENT_PORT	546
#define DHCP6_SERVER_PORT	547

/* RFC 8415 7.3: message types */
#define DHCP6_SOLICIT		1
#define DHCP6_ADVERTISE		2
#define DHCP6_REQUEST		3
#define DHCP6_CONFIRM		4
#define DHCP6_RENEW		5
#define DHCP6_REBIND		6
#define DHCP6_REPLY		7
#define DHCP6_RELEASE		8
#define DHCP6_DECLINE		9
#define DHCP6_RECONFIGURE	10
#define DHCP6_INFO_REQUEST	11
#define DHCP6_RELAY_FORW	12
#define DHCP6_RELAY_REPL	13

/* RFC 8415 21, RFC 3646: option codes */
#define DHCP6_OPT_CLIENTID	1
#define DHCP6_OPT_SERVERID	2
#define DHCP6_OPT_IA_NA		3
#define DHCP6_OPT_IA_TA		4
#define DHCP6_OPT_IAADDR	5
#define DHCP6_OPT_ORO		6
#define DHCP6_OPT_PREFERENCE	7
#define DHCP6_OPT_ELAPSED	8
#define DHCP6_OPT_STATUS	13
#define DHCP6_OPT_RAPID_COMMIT	14
#define DHCP6_OPT_DNS		23
#define DHCP6_OPT_DOMAINS	24
#define DHCP6_OPT_IA_PD		25
#define DHCP6_OPT_IAPREFIX	26

/* RFC 8415 21.13: status codes */
#define DHCP6_ST_SUCCESS	0
#define DHCP6_ST_UNSPEC		1
#define DHCP6_ST_NOADDRS	2
#define DHCP6_ST_NOBINDING	3
#define DHCP6_ST_NOTONLINK	4
#define DHCP6_ST_USEMULTICAST	5
#define DHCP6_ST_NOPREFIX	6

/* RFC 8415 11: DUID types; a DUID is at most 128 bytes after its type */
#define DHCP6_DUID_LLT		1
#define DHCP6_DUID_EN		2
#define DHCP6_DUID_LL		3
#define DHCP6_DUID_UUID		4
#define DHCP6_DUID_MAX		130	/* type (2) + 128 */

/* RFC 8415 8: message header; options follow */
struct dhcp6_msg {
	uint8_t type;
	uint8_t xid[3];
} __attribute__((packed));

/* RFC 8415 21.1: option header; the value follows */
struct dhcp6_opt {
	uint16_t code;
	uint16_t len;		/* bytes of the value */
} __attribute__((packed));

#define DHCP6_OPT_HLEN		4
#define DHCP6_IA_NA_LEN		12	/* IAID, T1, T2 */
#define DHCP6_IA_TA_LEN		4	/* IAID */
#define DHCP6_IA_PD_LEN		12	/* IAID, T1, T2 */
#define DHCP6_IAADDR_LEN	24	/* address, preferred, valid */
#define DHCP6_IAPREFIX_LEN	25	/* preferred, valid, length, prefix */

/* All_DHCP_Relay_Agents_and_Servers, RFC 8415 7.1: ff02::1:2 */
#define DHCP6_ALL_SERVERS { 0xff, 0x02, 0, 0, 0, 0, 0, 0, \
			    0, 0, 0, 0, 0, 1, 0, 2 }

#endif
