/* SPDX-License-Identifier: GPL-2.0-or-later
 * usernat.h - public API of the usernat user-mode NAT stack
 *
 * An instance is a whole virtual network: a gateway, a DNS forwarder, a DHCP
 * server, and NAT from guest TCP/UDP/ICMP to ordinary host sockets.  The
 * embedder feeds it Ethernet frames from the guest(s) with usernat_input()
 * and receives frames for them through the output callback.  All host-side
 * work (sockets, timers) hangs off one file descriptor, usernat_fd(): add it
 * to any event loop for reading and call usernat_service() when it is ready;
 * or give the instance the loop's other descriptors (usernat_watch()) and
 * wait on that one alone (usernat_wait()).  After each batch of
 * usernat_input() calls, usernat_flush() (optional) does the batch's
 * deferred work at once.
 *
 * An instance is not thread-safe: call it from one thread at a time.  Several
 * instances may live in one process.
 */
#ifndef USERNAT_H
#define USERNAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct usernat;
struct usernat_config;

/**
 * usernat_output_fn - Called for each frame the stack sends toward guests
 * @opaque:	the pointer given to usernat_new()
 * @frame:	Ethernet frame, valid only during the call
 * @len:	frame length
 */
typedef void (*usernat_output_fn)(void *opaque, const void *frame, size_t len);

/**
 * struct usernat_offload - Offload information that travels with a frame
 * over a link that has it (vhost-user's virtio-net header; virtio 1.2
 * 5.1.6): the same fields and values as struct virtio_net_hdr
 * @flags:	USERNAT_OFFLOAD_F_*
 * @gso_type:	USERNAT_GSO_*: the frame is one TCP "super-segment" that
 *		stands for several, @gso_size payload bytes each
 * @hdr_len:	Ethernet, IP and TCP header bytes (a hint, with GSO)
 * @gso_size:	payload bytes per segment (the MSS), with GSO
 * @csum_start:	with NEEDS_CSUM: where the checksummed part starts, bytes
 *		from the first byte of the Ethernet header
 * @csum_offset: with NEEDS_CSUM: where the checksum field is, bytes from
 *		@csum_start
 *
 * NEEDS_CSUM: the transport checksum is partial: the field holds the
 * pseudo-header sum, and the rest is the receiver's to add (or ignore).
 * DATA_VALID: the checksums have been checked (or computed) already.
 */
struct usernat_offload {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};
#define USERNAT_OFFLOAD_F_NEEDS_CSUM	1
#define USERNAT_OFFLOAD_F_DATA_VALID	2
#define USERNAT_GSO_NONE		0
#define USERNAT_GSO_TCPV4		1
#define USERNAT_GSO_TCPV6		4

/* What the link toward the guests takes (usernat_set_offload()) */
#define USERNAT_LINK_CSUM	(1u << 0)	/* NEEDS_CSUM, DATA_VALID */
#define USERNAT_LINK_TSO4	(1u << 1)	/* GSO TCPV4 (needs CSUM) */
#define USERNAT_LINK_TSO6	(1u << 2)	/* GSO TCPV6 (needs CSUM) */

/**
 * usernat_output_offload_fn - Output callback that also gets each frame's
 * offload information (usernat_set_output_offload())
 * @off:	never NULL; all zero for an ordinary frame
 */
typedef void (*usernat_output_offload_fn)(void *opaque, const void *frame,
					  size_t len,
					  const struct usernat_offload *off);

/* Log levels, as syslog numbers */
#define USERNAT_LOG_ERROR	3
#define USERNAT_LOG_WARNING	4
#define USERNAT_LOG_INFO	6
#define USERNAT_LOG_DEBUG	7

struct usernat_config *usernat_config_new(void);
void usernat_config_free(struct usernat_config *cfg);

/**
 * usernat_config_set() - Set one option by name, as on the command line
 * @cfg:	configuration
 * @key:	option name without dashes, e.g. "net", "gateway", "dhcp-host"
 * @value:	value, or NULL for flags such as "no-dhcp"
 * @err:	on failure, set to a newly allocated message (free with free())
 *
 * Return: 0 on success, negative errno on failure
 */
int usernat_config_set(struct usernat_config *cfg, const char *key,
		       const char *value, char **err);

/** usernat_config_keys() - NULL-terminated list of every option name */
const char *const *usernat_config_keys(void);
/** usernat_config_key_is_flag() - 1 if option @key takes no value */
int usernat_config_key_is_flag(const char *key);

/** usernat_config_key_repeats() - 1 if option @key may be given again */
int usernat_config_key_repeats(const char *key);

/** usernat_config_mtu() - The MTU the configuration gives guests */
unsigned int usernat_config_mtu(const struct usernat_config *cfg);
/** usernat_config_pcap_max() - The configured capture size cap, bytes */
uint64_t usernat_config_pcap_max(const struct usernat_config *cfg);
/** usernat_config_log_level() - The configured USERNAT_LOG_* level */
int usernat_config_log_level(const struct usernat_config *cfg);

/**
 * usernat_config_help() - One line per option, "key=VALUE  description"
 * Return: static string
 */
const char *usernat_config_help(void);

struct usernat *usernat_new(const struct usernat_config *cfg,
			    usernat_output_fn out, void *opaque, char **err);
void usernat_free(struct usernat *un);

/** usernat_input() - Hand one frame from a guest to the stack (not kept) */
void usernat_input(struct usernat *un, const void *frame, size_t len);

/**
 * usernat_input_offload() - usernat_input() for a frame that came with
 * offload information (a partial checksum, or a GSO super-frame of up to
 * 64 KiB), as the guest's virtio-net driver sends them
 * @off:	the frame's information (not kept); NULL is usernat_input()
 *
 * The information is checked against the frame (checksum position within
 * it, a GSO type the frame really is, sizes); a frame whose information
 * doesn't hold is dropped and counted (drop_offload).  A transport checksum
 * marked partial (NEEDS_CSUM) or DATA_VALID is not verified: the frame
 * comes from the guest's memory, not over a lossy wire.
 */
void usernat_input_offload(struct usernat *un, const void *frame, size_t len,
			   const struct usernat_offload *off);

/**
 * usernat_set_output_offload() - Have frames toward guests handed to @out,
 * with their offload information, instead of the usernat_new() callback
 * @out:	callback (same opaque pointer), or NULL to go back to the
 *		usernat_new() one (offloads are then switched off)
 */
void usernat_set_output_offload(struct usernat *un,
				usernat_output_offload_fn out);

/**
 * usernat_set_offload() - What the link toward the guests takes now
 * @caps:	USERNAT_LINK_* bits; 0 (the default) for none
 *
 * With USERNAT_LINK_CSUM, frames the stack built with correct checksums
 * are marked DATA_VALID, and TCP segments may carry partial ones; with
 * USERNAT_LINK_TSO4/6 (which need CSUM), TCP sends up to 64 KiB of data
 * in one GSO frame.  Only a link that carries the information may set
 * them: every guest on it must accept such frames.  May change at any
 * time (e.g. when a guest renegotiates); the next frame follows it.
 * Return: 0, or -EINVAL for unknown bits, TSO without CSUM, or no output
 * callback from usernat_set_output_offload()
 */
int usernat_set_offload(struct usernat *un, unsigned int caps);

/**
 * usernat_flush() - End of a batch: the embedder has handed over the frames
 * it had (a burst of usernat_input() calls); do the work deferred until the
 * end of the batch now
 *
 * The stack gathers per-batch work (pushing guest data to host sockets,
 * reading more host data, one ACK per connection) and does it once per
 * batch.  Calling usernat_flush() after the last usernat_input() of each
 * batch does that at once, which saves a wake-up of usernat_fd() and
 * cuts round-trip latency.  Optional: without it the same work runs from a
 * timer behind usernat_fd() that fires as soon as the embedder polls again.
 * Once an embedder has called it, the stack counts on it after every batch
 * and no longer arms that timer (two system calls per batch saved); work
 * of a batch left unflushed waits for the next flush or usernat_service().
 * Same thread as usernat_input(); cheap when nothing is pending.
 */
void usernat_flush(struct usernat *un);

/** usernat_fd() - The one descriptor to poll for reading */
int usernat_fd(const struct usernat *un);

/** usernat_service() - Handle pending host-side events; never blocks */
void usernat_service(struct usernat *un);

/**
 * usernat_watch_fn - Called by usernat_wait() or usernat_service() with the
 * epoll events of a descriptor given to usernat_watch()
 */
typedef void (*usernat_watch_fn)(void *opaque, uint32_t events);

/**
 * usernat_watch() - Put an embedder's descriptor in the instance's own epoll
 * set (the one behind usernat_fd()), to wait on that set alone
 * @fd:		descriptor; watched already: its events, @fn and @opaque are
 *		replaced
 * @events:	EPOLLIN, EPOLLOUT... as for epoll_ctl()
 *
 * An embedder whose loop has nothing but the instance and a few
 * descriptors of its own (a transport, a signalfd) can then call
 * usernat_wait() as its loop: one epoll_wait() per wake-up instead of one
 * on its loop's set and one more in usernat_service().  Call
 * usernat_unwatch() before closing @fd.  Return: 0 or negative errno
 */
int usernat_watch(struct usernat *un, int fd, uint32_t events,
		  usernat_watch_fn fn, void *opaque);

/** usernat_unwatch() - Stop watching @fd (usernat_watch()) */
void usernat_unwatch(struct usernat *un, int fd);

/**
 * usernat_wait() - Wait up to @timeout_ms (-1: no limit) for events of the
 * instance and of watched descriptors, and handle them: usernat_service()
 * that may block.  Return: events handled (0 if interrupted by a signal),
 * or negative errno
 */
int usernat_wait(struct usernat *un, int timeout_ms);

/**
 * usernat_stats_foreach() - Call @fn for each counter, name and value
 */
void usernat_stats_foreach(const struct usernat *un,
			   void (*fn)(void *opaque, const char *name,
				      uint64_t value),
			   void *opaque);

/** usernat_stat() - Value of one counter by name; 0 if unknown */
uint64_t usernat_stat(const struct usernat *un, const char *name);

/**
 * usernat_pcap_start() - Record every frame, both ways, in pcap format
 * @path:	file to (over)write
 * @max_bytes:	size cap; capture stops there (0: no cap)
 * Return: 0, or negative errno with *@err set (free with free())
 */
int usernat_pcap_start(struct usernat *un, const char *path,
		       uint64_t max_bytes, char **err);
/** usernat_pcap_stop() - Stop capturing and close the file, if capturing */
void usernat_pcap_stop(struct usernat *un);

/* One active DHCP lease, as usernat_leases() reports it */
struct usernat_lease {
	uint8_t mac[6];
	uint32_t ip;		/* network byte order */
	uint32_t expires_in;	/* seconds from now */
	int is_static;		/* from a dhcp-host option */
	char name[64];		/* host name, may be empty */
};

/**
 * usernat_leases() - Copy up to @max active leases to @out
 * Return: number of active leases (may exceed @max; @out may be NULL)
 */
size_t usernat_leases(const struct usernat *un, struct usernat_lease *out,
		      size_t max);

/**
 * usernat_forward_add() - Forward host connections to a guest port
 * @spec:	tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU's
 *		hostfwd=; ports may be ranges FIRST-LAST
 * Return: 0, or negative errno with *@err set (free with free())
 */
int usernat_forward_add(struct usernat *un, const char *spec, char **err);
/** usernat_forward_remove() - Remove the forward added as @spec */
int usernat_forward_remove(struct usernat *un, const char *spec, char **err);
/** usernat_forward_foreach() - Each forward: its spec, connections so far */
void usernat_forward_foreach(const struct usernat *un,
			     void (*fn)(void *opaque, const char *spec,
					uint64_t accepted),
			     void *opaque);

/* One NAT flow, as usernat_flows_foreach() reports it */
struct usernat_flow {
	const char *proto;		/* "tcp", "udp", "icmp" */
	const char *state;		/* e.g. "established"; may be "" */
	int inbound;			/* 1: from a port forward */
	uint32_t guest_addr;		/* network order; 0 for IPv6 */
	uint16_t guest_port;		/* host order; ICMP: echo id */
	char guest[64];			/* the guest side, "ADDR:PORT" or
					 * "[ADDR6]:PORT"; "" for an IPv4
					 * flow: guest_addr, guest_port */
	char host[64];			/* the host side, "ADDR:PORT" */
	uint64_t bytes_from_guest;
	uint64_t bytes_to_guest;
	uint64_t age_ms;
};

/** usernat_flows_foreach() - Call @fn for each active flow (control plane) */
void usernat_flows_foreach(const struct usernat *un,
			   void (*fn)(void *opaque,
				      const struct usernat_flow *flow),
			   void *opaque);

/** usernat_set_log_level() - Change the instance's log level at run time */
void usernat_set_log_level(struct usernat *un, int level);

#ifdef __cplusplus
}
#endif

#endif /* USERNAT_H */
