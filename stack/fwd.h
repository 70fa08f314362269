/* SPDX-License-Identifier: GPL-2.0-or-later
 * fwd.h - inbound port forwards: the table, and what NAT modules implement
 */
#ifndef UN_FWD_H
#define UN_FWD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct usernat;

/* One forward as parsed: host side and guest side, ports in host order */
struct fwd_spec {
	bool udp;
	struct sockaddr_storage host;	/* bind address, port = first port */
	uint16_t host_port, host_port_end;
	uint32_t guest_ip;		/* network order; 0: the leased guest */
	bool guest_v6;			/* the guest is guest_ip6 */
	uint8_t guest_ip6[16];
	uint16_t guest_port;		/* first guest port */
};

/* Where one forwarded connection or UDP flow goes, as fwd.c resolved it.
 * Addresses are 16 bytes for both families, an IPv4 one in its
 * IPv4-mapped form ::ffff:a.b.c.d, as the flow tables key them. */
struct fwd_target {
	bool v6;			/* an IPv6 guest (and source) */
	uint8_t src[16];		/* the guest sees the flow come from
					 * here (fwd_source()) */
	uint8_t guest[16];		/* the guest's address */
	uint16_t guest_port;		/* network order */
	uint8_t mac[6];			/* the guest's MAC */
};

int fwd_parse(const char *s, struct fwd_spec *f, char **err);
uint32_t fwd_source(const struct usernat *un,
		    const struct sockaddr_storage *peer);
void fwd_source6(const struct usernat *un,
		 const struct sockaddr_storage *peer, uint8_t *out);

/*
 * Hooks the NAT modules implement:
 *
 * tcp_inbound() - a host client connected to a TCP forward: @fd is the
 * accepted, non-blocking socket, now owned by TCP (closed by it on any
 * failure); @peer is the client's address; open a connection to the
 * guest @t says, from @t->src.  Return: 0, or negative errno (then fd is
 * closed).
 *
 * udp_inbound() - a datagram of @len bytes at @data arrived from @peer on
 * the UDP forward socket @fd (still owned by fwd.c; reply to @peer with
 * sendto() on it) toward the guest @t says, from @t->src.
 *
 * udp_fwd_closing() - fwd.c calls it just before it closes the UDP forward
 * socket @fd: UDP flows that reply through @fd must stop using it.
 */
int tcp_inbound(struct usernat *un, int fd, const struct sockaddr_storage *peer,
		const struct fwd_target *t);
void udp_inbound(struct usernat *un, int fd,
		 const struct sockaddr_storage *peer, socklen_t peer_len,
		 const struct fwd_target *t, const uint8_t *data, size_t len);
void udp_fwd_closing(struct usernat *un, int fd);

#endif
