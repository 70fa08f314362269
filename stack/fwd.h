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
	uint16_t guest_port;		/* first guest port */
};

int fwd_parse(const char *s, struct fwd_spec *f, char **err);
uint32_t fwd_source(const struct usernat *un,
		    const struct sockaddr_storage *peer);

/*
 * Hooks the NAT modules implement:
 *
 * tcp_inbound() - a host client connected to a TCP forward: @fd is the
 * accepted, non-blocking socket, now owned by TCP (closed by it on any
 * failure); @peer is the client's address; open a connection to
 * @guest_ip:@guest_port (port in network order) at @guest_mac, from
 * address @src_ip (fwd_source(): the gateway, or the client's own).
 * Return: 0, or negative errno (then fd is closed).
 *
 * udp_inbound() - a datagram of @len bytes at @data arrived from @peer on
 * the UDP forward socket @fd (still owned by fwd.c; reply to @peer with
 * sendto() on it) toward @guest_ip:@guest_port at @guest_mac, from
 * address @src_ip as for TCP.
 *
 * udp_fwd_closing() - fwd.c calls it just before it closes the UDP forward
 * socket @fd: UDP flows that reply through @fd must stop using it.
 */
int tcp_inbound(struct usernat *un, int fd, const struct sockaddr_storage *peer,
		uint32_t src_ip, uint32_t guest_ip, uint16_t guest_port,
		const uint8_t *guest_mac);
void udp_inbound(struct usernat *un, int fd,
		 const struct sockaddr_storage *peer, socklen_t peer_len,
		 uint32_t src_ip, uint32_t guest_ip, uint16_t guest_port,
		 const uint8_t *guest_mac, const uint8_t *data, size_t len);
void udp_fwd_closing(struct usernat *un, int fd);

#endif
