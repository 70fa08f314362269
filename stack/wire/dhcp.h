/* SPDX-License-Identifier: GPL-2.0-or-later
 * wire/dhcp.h - DHCPv4 message format (RFC 2131 2, RFC 2132)
 */
#ifndef UN_WIRE_DHCP_H
#define UN_WIRE_DHCP_H

#include <stdint.h>

#define DHCP_SERVER_PORT	67
#define DHCP_CLIENT_PORT	68
#define DHCP_MAGIC		0x63825363
#define DHCP_FIXED_LEN		236	/* op .. file, before the magic cookie */
#define DHCP_MIN_LEN		(DHCP_FIXED_LEN + 4)
#define DHCP_BOOTREQUEST	1
#define DHCP_BOOTREPLY		2
#define DHCP_FLAG_BROADCAST	0x8000

/* Message types, option 53 (RFC 2132 9.6) */
#define DHCPDISCOVER	1
#define DHCPOFFER	2
#define DHCPREQUEST	3
#define DHCPDECLINE	4
#define DHCPACK		5
#define DHCPNAK		6
#define DHCPRELEASE	7
#define DHCPINFORM	8

/* Options (RFC 2132, RFC 3397) */
#define DHCP_OPT_PAD		0
#define DHCP_OPT_SUBNET		1
#define DHCP_OPT_ROUTER		3
#define DHCP_OPT_DNS		6
#define DHCP_OPT_HOSTNAME	12
#define DHCP_OPT_DOMAIN		15
#define DHCP_OPT_MTU		26
#define DHCP_OPT_BROADCAST	28
#define DHCP_OPT_REQ_IP		50
#define DHCP_OPT_LEASE_TIME	51
#define DHCP_OPT_OVERLOAD	52
#define DHCP_OPT_MSG_TYPE	53
#define DHCP_OPT_SERVER_ID	54
#define DHCP_OPT_PARAM_REQ	55
#define DHCP_OPT_MESSAGE	56
#define DHCP_OPT_MAX_SIZE	57
#define DHCP_OPT_T1		58
#define DHCP_OPT_T2		59
#define DHCP_OPT_CLIENT_ID	61
#define DHCP_OPT_SEARCH		119
#define DHCP_OPT_END		255

struct dhcp_msg {
	uint8_t op;
	uint8_t htype;
	uint8_t hlen;
	uint8_t hops;
	uint32_t xid;
	uint16_t secs;
	uint16_t flags;
	uint32_t ciaddr;
	uint32_t yiaddr;
	uint32_t siaddr;
	uint32_t giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint32_t magic;
	/* options follow */
} __attribute__((packed));

#endif
