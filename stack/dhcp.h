/* SPDX-License-Identifier: GPL-2.0-or-later
 * dhcp.h - DHCPv4 server: lease listing and helpers for the control socket
 *
 * The packet entry points (dhcp_init(), dhcp_cleanup(), dhcp_from_guest())
 * are declared in stack.h with the other modules'.
 */
#ifndef UN_DHCP_H
#define UN_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct usernat;

/**
 * struct dhcp_lease_info - One active lease, as dhcp_leases() reports it
 * @mac:	client hardware address (chaddr)
 * @ip:		leased address, network order
 * @expires_ms:	end of the lease on the un_now_ms() (monotonic) clock
 * @is_static:	from a dhcp-host entry
 * @name:	static name, else the host name the client sent (option 12,
 *		sanitised), else empty
 */
struct dhcp_lease_info {
	uint8_t mac[6];
	uint32_t ip;
	int64_t expires_ms;
	bool is_static;
	char name[64];
};

size_t dhcp_leases(const struct usernat *un, struct dhcp_lease_info *out,
		   size_t max);
bool dhcp_ip_owner(const struct usernat *un, uint32_t ip, uint8_t mac[6]);
ssize_t dhcp_search_encode(const char *list, uint8_t *out, size_t size);

#endif /* UN_DHCP_H */
