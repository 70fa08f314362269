/* SPDX-License-Identifier: GPL-2.0-or-later
 * stack.h - internals shared by the protocol modules of one instance
 *
 * Conventions for all of stack/:
 * - IPv4 addresses are uint32_t in network byte order everywhere (as on the
 *   wire); ports likewise are uint16_t in network order unless named _h.
 * - Nothing here is global: everything hangs off struct usernat, so several
 *   instances can share a process (the VDE plugin runs inside QEMU).
 * - Frames toward guests are built in un->obuf, one at a time, and handed to
 *   the output callback before the next one is built: no allocation per
 *   packet.
 * - Nothing here exits or aborts: errors are returned, counted and logged.
 */
#ifndef UN_STACK_H
#define UN_STACK_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "usernat.h"
#include "pkt.h"
#include "wire/eth.h"

/* Each NAT module declares its own counters in its own header:
 * UN_COUNTERS_TCP in tcp.h, and so on; see UN_COUNTERS below. */
#include "tcp.h"
#include "udp.h"
#include "icmp.h"
#include "dns.h"
#include "policy.h"
#include "ip6.h"

/* Counters: frames, and drops by reason.  X(name, description) */
#define UN_COUNTERS(X)							\
	X(frames_in, "frames received from guests")			\
	X(frames_out, "frames sent toward guests")			\
	X(poll_hits, "wake-ups found by polling, without sleeping")	\
	X(bytes_in, "bytes received from guests")			\
	X(bytes_out, "bytes sent toward guests")			\
	X(not_for_us, "frames for another station (ignored)")		\
	X(arp_requests, "ARP requests answered")			\
	X(arp_defended, "gratuitous ARPs for our addresses defended")	\
	X(icmp_echo_gw, "echo requests answered by the gateway")	\
	X(dhcp_discover, "DHCPDISCOVER received")			\
	X(dhcp_request, "DHCPREQUEST received")			\
	X(dhcp_ack, "DHCPACK sent")					\
	X(dhcp_nak, "DHCPNAK sent")					\
	X(dhcp_release, "DHCPRELEASE received")			\
	X(dhcp_decline, "DHCPDECLINE received")			\
	X(dhcp_inform, "DHCPINFORM received")				\
	X(dhcp_pool_full, "DHCP requests with no address to give")	\
	X(dhcp_lease_limit, "DHCP requests refused: max-leases reached") \
	X(drop_dhcp_chaddr, "dropped: DHCP chaddr is not the source MAC") \
	X(drop_eth_short, "dropped: frame shorter than Ethernet header")	\
	X(drop_eth_src, "dropped: multicast or zero source MAC")	\
	X(drop_oversize, "dropped: frame larger than the MTU allows")	\
	X(drop_ethertype, "dropped: unsupported ethertype")		\
	X(drop_arp_malformed, "dropped: malformed ARP")			\
	X(drop_ip_short, "dropped: truncated IPv4 header")		\
	X(drop_ip_version, "dropped: bad IP version")			\
	X(drop_ip_hdrlen, "dropped: bad IPv4 header length")		\
	X(drop_ip_totlen, "dropped: IPv4 total length exceeds frame")	\
	X(drop_ip_csum, "dropped: bad IPv4 header checksum")		\
	X(drop_ip_frag, "dropped: IPv4 fragment")			\
	X(drop_ip_src, "dropped: bad IPv4 source address")		\
	X(drop_ip_dst, "dropped: IPv4 destination not routable")	\
	X(drop_ip_proto, "dropped: unsupported IP protocol")		\
	X(drop_ip_ttl, "dropped: TTL expired")				\
	X(drop_icmp_short, "dropped: truncated ICMP")			\
	X(drop_icmp_csum, "dropped: bad ICMP checksum")		\
	X(drop_icmp_type, "dropped: unsupported ICMP type")		\
	X(drop_udp_short, "dropped: truncated UDP")			\
	X(drop_udp_csum, "dropped: bad UDP checksum")			\
	X(drop_udp_bcast, "dropped: broadcast/multicast UDP")		\
	X(drop_udp_port, "dropped: UDP to a port with no service")	\
	X(drop_tcp_short, "dropped: truncated or malformed TCP")	\
	X(drop_tcp_csum, "dropped: bad TCP checksum")			\
	X(drop_tcp_nat, "dropped: TCP (NAT not available)")		\
	X(drop_dhcp_malformed, "dropped: malformed DHCP message")	\
	X(drop_ip6, "dropped: IPv6 (no-ipv6 is set)")		\
	X(drop_flow_limit, "refused: flow or half-open limit reached")	\
	X(drop_policy, "refused: new flow denied by the egress policy")	\
	X(drop_spoof, "dropped: source address leased to another MAC")	\
	X(drop_offload, "dropped: offload information doesn't hold")	\
	X(offload_gso_in, "GSO super-frames received from guests")	\
	X(offload_csum_in, "frames from guests with partial checksums")	\
	X(offload_tso_out, "TSO super-frames sent toward guests")	\
	UN_COUNTERS_TCP(X)						\
	UN_COUNTERS_UDP(X)						\
	UN_COUNTERS_ICMP(X)						\
	UN_COUNTERS_DNS(X)						\
	UN_COUNTERS_IP6(X)

enum un_counter {
#define UN_CTR_ENUM(n, d) UN_CTR_##n,
	UN_COUNTERS(UN_CTR_ENUM)
#undef UN_CTR_ENUM
	UN_CTR_MAX
};

#define UN_COUNT(un, name)	((un)->ctr[UN_CTR_##name]++)

/* What an epoll event belongs to: type and index packed in epoll_data.u64 */
enum un_ep_type {
	UN_EP_NONE = 0,
	UN_EP_TIMER,		/* the instance's housekeeping timerfd */
	UN_EP_TCP,		/* idx: TCP connection */
	UN_EP_TCP_LISTEN,	/* idx: port forward */
	UN_EP_UDP,		/* idx: UDP flow */
	UN_EP_ICMP,		/* idx: ICMP echo flow (echo.c) */
	UN_EP_DNS,		/* idx: DNS upstream socket */
	UN_EP_TCP_TIMER,	/* TCP's own timerfd */
	UN_EP_FWD,		/* idx: forward socket slot (fwd.c) */
	UN_EP_ICMP6,		/* idx: ICMPv6 echo flow (echo.c) */
	UN_EP_WATCH,		/* idx: embedder's descriptor (usernat_watch()) */
	UN_EP_TYPES
};

union un_ref {
	struct {
		uint32_t type;
		uint32_t idx;
	};
	uint64_t u64;
};

/* Static DHCP lease, --dhcp-host MAC,IP[,NAME] */
struct un_dhcp_host {
	uint8_t mac[ETH_ALEN];
	uint32_t ip;
	char name[64];
};

/* Resource limits (issue: Outbound NAT 7; Hardening 4) */
struct un_limits {
	unsigned int max_flows;		/* all flows of the instance */
	unsigned int max_flows_guest;	/* flows of one guest address */
	unsigned int max_half_open;	/* TCP connects in progress, per guest */
	unsigned int max_half_open_all;	/* TCP connects in progress, instance */
	unsigned int max_icmp_ids;	/* echo NAT flows of the instance */
	unsigned int max_icmp_ids_guest;	/* echo NAT flows of one MAC */
	unsigned int max_leases;	/* DHCP leases held (offered, bound) */
	unsigned int udp_timeout;	/* seconds idle before a UDP flow ends */
	unsigned int tcp_idle_timeout;	/* seconds idle, established TCP */
};

struct usernat_config {
	uint32_t net;		/* network address */
	uint32_t mask;		/* netmask */
	int prefix;		/* prefix length of mask */
	uint32_t gw;		/* gateway address (the host side) */
	uint32_t dns;		/* DNS forwarder address */
	uint32_t dhcp_start;	/* first address in the DHCP pool */
	uint32_t dhcp_end;	/* last address in the DHCP pool, inclusive */
	bool gw_set, dns_set, start_set, end_set;	/* given explicitly */
	unsigned int mtu;
	unsigned int poll_us;	/* adaptive polling, at most (un_poll_adapt()) */
	uint8_t mac[ETH_ALEN];	/* our (gateway and DNS) MAC address */
	bool dhcp;		/* serve DHCP */
	bool map_host_loopback;	/* gateway address reaches host 127.0.0.1 */
	uint32_t lease_time;	/* seconds */
	char domain[254];	/* option 15, empty: none */
	char search[256];	/* option 119, comma-separated, empty: none */
	char hostname[64];	/* option 12 for guests with no static name */
	GArray *dhcp_hosts;	/* struct un_dhcp_host */
	char pcap[256];		/* capture file, empty: none */
	uint64_t pcap_max;	/* capture size cap in bytes, 0: none */
	GPtrArray *forwards;	/* char *, "tcp::2222-:22" */
	bool fwd_client_source;	/* forward-source=client: forwarded flows
				 * keep the client's address (fwd_source()) */
	GArray *dns_upstreams;	/* struct sockaddr_storage; empty: resolv.conf */
	char resolv_conf[256];	/* where to read upstreams from */
	struct un_limits lim;
	int log_level;		/* USERNAT_LOG_* */
	bool restricted;	/* --restrict: new outbound flows denied unless
				 * an allow rule matches (policy.c) */
	GArray *policy;		/* struct policy_rule, --allow/--deny in order */
	bool ipv6;		/* NDP, DHCPv6, ICMPv6 (default on) */
	uint8_t prefix6[16];	/* on-link /64 for SLAAC (default fd00::/64) */
	uint8_t gw6[16];	/* gateway's IPv6 address (default prefix::2) */
	uint8_t dns6[16];	/* DNS forwarder's (default prefix::3) */
	bool gw6_set, dns6_set;	/* given explicitly */
};

struct un_guest {
	uint8_t mac[ETH_ALEN];
	uint32_t ip;
	unsigned int flows;		/* NAT flows charged to this guest */
	unsigned int half_open;		/* TCP connects in progress */
};

struct un_dhcp;
struct un_tcp;
struct un_udp;
struct un_icmp;
struct un_dns;
struct un_pcap;
struct un_fwd;
struct un_ip6;
struct un_icmp6;
struct un_echo;

struct usernat {
	struct usernat_config cfg;	/* private copy */
	usernat_output_fn out;
	usernat_output_offload_fn out_off; /* if set, used instead of out */
	void *opaque;
	unsigned int link_caps;		/* USERNAT_LINK_* (set_offload) */
	/* The offload information of the frame being parsed: set by
	 * usernat_input_offload() for the duration of the call, NULL
	 * otherwise (checked against the frame already); see un_rx_csum_ok() */
	const struct usernat_offload *rx_off;
	int epfd;			/* host-side events of this instance */
	int64_t poll_ns;		/* usernat_wait() polls this long */
	int timerfd;			/* housekeeping tick */
	int log_level;
	uint64_t ctr[UN_CTR_MAX];
	GHashTable *guests;		/* IP (network order) -> struct un_guest */
	struct un_dhcp *dhcp;
	struct un_tcp *tcp;		/* tcp.c */
	struct un_udp *udp;		/* udp.c (NAT flows) */
	struct un_icmp *icmp;		/* icmp.c (echo NAT) */
	struct un_dns *dns;		/* dns.c */
	struct un_pcap *pcap;		/* pcap.c, NULL unless capturing */
	struct un_fwd *fwd;		/* fwd.c, NULL until a forward exists */
	struct un_ip6 *ip6;		/* ip6.c, ndp.c...; NULL if no-ipv6 */
	struct un_icmp6 *icmp6;		/* icmp6.c echo NAT; NULL if no-ipv6 */
	struct un_echo *echo;		/* echo.c: echo NAT flows, both
					 * families */
	GHashTable *guests6;		/* MAC -> struct un_guest6, IPv6 flow
					 * accounting (un_flow_charge6()) */
	int64_t last_defend_ms;		/* RFC 5227 2.4 defence rate limit */
	uint16_t ip_id;			/* IPv4 identification counter */
	unsigned int flows;		/* NAT flows of all guests */
	unsigned int half_open;		/* TCP connects in progress, all */
	int64_t last_limit_log_ms;	/* rate limit of "over a cap" logs */
	int64_t last_policy_log_ms;	/* rate limit of "policy: refused" */
	/* Deferred work (tcp_soon()) is done by a flush that is sure to come:
	 * the embedder calls usernat_flush() after its batches (set at its
	 * first call), or we are inside usernat_service(), which ends with
	 * one; else the TCP timerfd is armed to fire at once */
	bool embedder_flushes;
	bool in_service;
	GArray *watches;		/* struct un_watch, usernat_watch() */
	/* Frame under construction toward a guest, see un_out_*() */
	uint8_t obuf[ETH_HLEN + 65536] __attribute__((aligned(8)));
};

/* Logging: filtered per instance, emitted through g_log("usernat") */
void un_log(const struct usernat *un, int level, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
#define un_err(un, ...)		un_log(un, USERNAT_LOG_ERROR, __VA_ARGS__)
#define un_warn(un, ...)	un_log(un, USERNAT_LOG_WARNING, __VA_ARGS__)
#define un_info(un, ...)	un_log(un, USERNAT_LOG_INFO, __VA_ARGS__)
#define un_debug(un, ...)						\
	do {								\
		if ((un)->log_level >= USERNAT_LOG_DEBUG)		\
			un_log(un, USERNAT_LOG_DEBUG, __VA_ARGS__);	\
	} while (0)

int64_t un_now_ms(void);

#define UN_POLL_US_DEFAULT	50	/* poll-us */
#define UN_POLL_NS_START	4000	/* the first window, as QEMU's */
int64_t un_poll_adapt(int64_t poll_ns, int64_t max_ns, int64_t waited_ns);
const char *un_ip4_str(uint32_t addr, char buf[16]);
const char *un_mac_str(const uint8_t *mac, char buf[18]);

/* Epoll registration of host sockets in the instance's epoll set */
int un_epoll_add(struct usernat *un, int fd, uint32_t events,
		 enum un_ep_type type, uint32_t idx);
int un_epoll_mod(struct usernat *un, int fd, uint32_t events,
		 enum un_ep_type type, uint32_t idx);
void un_epoll_del(struct usernat *un, int fd);

/* Guests seen on the network (neighbour table) */
void un_guest_learn(struct usernat *un, const uint8_t *mac, uint32_t ip);
const struct un_guest *un_guest_find(const struct usernat *un, uint32_t ip);

/* Flow accounting against the limits: charge when a flow is created,
 * release when it ends.  un_flow_charge() returns 0, or -ENOSPC past a cap
 * (counted in drop_flow_limit and logged at most once per 10 s). */
int un_flow_charge(struct usernat *un, uint32_t guest_ip, const char *what);
void un_flow_release(struct usernat *un, uint32_t guest_ip);
int un_half_open_charge(struct usernat *un, bool v6, uint32_t guest_ip,
			const uint8_t *mac);
void un_half_open_release(struct usernat *un, bool v6, uint32_t guest_ip,
			  const uint8_t *mac);
/* IPv6 flows are charged to the guest's MAC (a guest may use any number of
 * addresses in the prefix: SLAAC, privacy, DHCPv6), in a count separate
 * from its IPv4 address's; max-flows covers both.  @mac is the MAC the flow
 * was created from: keep it for the release, the guest's may change. */
int un_flow_charge6(struct usernat *un, const uint8_t *mac, const char *what);
void un_flow_release6(struct usernat *un, const uint8_t *mac);

/* Flow listing for the control socket: each module reports its flows */
typedef void (*un_flow_fn)(void *opaque, const struct usernat_flow *flow);
void tcp_flows_foreach(const struct usernat *un, un_flow_fn fn, void *opaque);
void udp_flows_foreach(const struct usernat *un, un_flow_fn fn, void *opaque);
void echo_flows_foreach(const struct usernat *un, un_flow_fn fn,
			void *opaque);	/* echo.c: ICMP and ICMPv6 */

/* Port forwards (fwd.c) */
void fwd_ready(struct usernat *un, union un_ref ref, uint32_t events);
void fwd_cleanup(struct usernat *un);

/* Packet capture (pcap.c) */
void pcap_frame(struct usernat *un, const void *frame, size_t len);
void pcap_flush(struct usernat *un);

/* Output: emit the frame of @len bytes at un->obuf */
void un_out_frame(struct usernat *un, size_t len);
/* ... with offload information (a TSO frame, a partial checksum) */
void un_out_frame_off(struct usernat *un, size_t len,
		      const struct usernat_offload *off);

/**
 * un_rx_csum_ok() - The frame being parsed needs no transport checksum
 * check: it came with NEEDS_CSUM (its checksum is partial, the guest's
 * NIC offload) or DATA_VALID.  Such frames come from the guest's memory
 * through a vhost-user ring, not over a wire that could corrupt them.
 */
static inline bool un_rx_csum_ok(const struct usernat *un)
{
	return un->rx_off && (un->rx_off->flags &
			      (USERNAT_OFFLOAD_F_NEEDS_CSUM |
			       USERNAT_OFFLOAD_F_DATA_VALID));
}

/** un_tso_ok() - May TCP hand the guests GSO frames of this family? */
static inline bool un_tso_ok(const struct usernat *un, bool v6)
{
	return un->link_caps & (v6 ? USERNAT_LINK_TSO6 : USERNAT_LINK_TSO4);
}

/* Address helpers */
static inline bool un_in_net(const struct usernat *un, uint32_t ip)
{
	return (ip & un->cfg.mask) == un->cfg.net;
}

static inline bool un_is_ours(const struct usernat *un, uint32_t ip)
{
	return ip == un->cfg.gw || ip == un->cfg.dns;
}

/* Configuration (config.c) */
int un_config_copy(struct usernat_config *dst,
		   const struct usernat_config *src);
void un_config_clear(struct usernat_config *cfg);
int un_config_finish(struct usernat_config *cfg, char **err);

/* Modules: entry points from the layer below */
void eth_from_guest(struct usernat *un, const uint8_t *frame, size_t len);
bool eth_offload_ok(const uint8_t *frame, size_t len,
		    const struct usernat_offload *off);
void arp_from_guest(struct usernat *un, const uint8_t *src_mac,
		    struct pkt *c);

/* An IPv4 packet from a guest, as the transport protocols see it */
struct ip4_in {
	const uint8_t *src_mac;		/* sender's Ethernet address */
	const uint8_t *eth_dst;		/* frame's destination address */
	uint32_t saddr, daddr;		/* network order */
	uint8_t proto, ttl, tos;
	struct pkt l3;			/* whole IP packet (header + payload) */
	struct pkt l4;			/* payload, trimmed to tot_len */
};

void ip4_from_guest(struct usernat *un, const uint8_t *src_mac,
		    const uint8_t *eth_dst, struct pkt *c);
bool ip4_src_spoofed(const struct usernat *un, const uint8_t *src_mac,
		     uint32_t saddr);
void icmp_from_guest(struct usernat *un, const struct ip4_in *ip);
void udp_from_guest(struct usernat *un, const struct ip4_in *ip);
void tcp_from_guest(struct usernat *un, const struct ip4_in *ip);

/* Building IPv4 frames toward guests, in un->obuf */
#define UN_L4_OFF	(ETH_HLEN + 20)
static inline uint8_t *ip4_out_l4(struct usernat *un)
{
	return un->obuf + UN_L4_OFF;
}
void ip4_out_send(struct usernat *un, const uint8_t *dst_mac, uint32_t saddr,
		  uint32_t daddr, uint8_t proto, size_t l4len);
void ip4_out_send_off(struct usernat *un, const uint8_t *dst_mac,
		      uint32_t saddr, uint32_t daddr, uint8_t proto,
		      size_t l4len, const struct usernat_offload *off);
static inline uint8_t *udp4_out_payload(struct usernat *un)
{
	return un->obuf + UN_L4_OFF + 8;
}
void udp4_out_send(struct usernat *un, const uint8_t *dst_mac, uint32_t saddr,
		   uint16_t sport, uint32_t daddr, uint16_t dport, size_t len);
void icmp4_send_error(struct usernat *un, const struct ip4_in *ip,
		      uint8_t type, uint8_t code);
void icmp4_send_error_flow(struct usernat *un, const uint8_t *guest_mac,
			   uint8_t proto, uint32_t saddr, uint16_t sport,
			   uint32_t daddr, uint16_t dport, uint8_t type,
			   uint8_t code);

/* An IPv6 packet from a guest, as the transport protocols see it (ip6.c).
 * Addresses are 16-byte arrays, as on the wire. */
struct ip6_in {
	const uint8_t *src_mac;		/* sender's Ethernet address */
	const uint8_t *eth_dst;		/* frame's destination address */
	uint8_t saddr[16], daddr[16];
	uint8_t proto;			/* upper layer, after extension headers */
	uint8_t hop_limit;
	bool local;			/* daddr is ours: one of our unicast
					 * addresses or a group we are in */
	struct pkt l3;			/* whole packet, trimmed to its length */
	struct pkt l4;			/* upper-layer data (after extension
					 * headers) */
};

void ip6_from_guest(struct usernat *un, const uint8_t *src_mac,
		    const uint8_t *eth_dst, struct pkt *c);
bool ip6_is_ours(const struct usernat *un, const uint8_t *addr);
bool ip6_neigh_find(const struct usernat *un, const uint8_t *addr,
		    uint8_t mac[6]);
int ip6_init(struct usernat *un);
void ip6_cleanup(struct usernat *un);
void ip6_tick(struct usernat *un, int64_t now_ms);
void ndp_guest_seen(struct usernat *un, const uint8_t *mac);

/* IPv6 NAT hooks: traffic the IPv6 modules don't terminate themselves.
 * ip6_nat_from_guest() (ip6.c) gets TCP and UDP (but DHCPv6) for a
 * routable destination or for one of our unicast addresses (ip->local),
 * and passes UDP to udp_from_guest6() (udp.c: NAT, and the DNS forwarder
 * at dns6 port 53); icmp6_echo_nat() (icmp6.c) NATs echo requests to
 * routable addresses. */
void ip6_nat_from_guest(struct usernat *un, const struct ip6_in *ip);
void icmp6_echo_nat(struct usernat *un, const struct ip6_in *ip);
void udp_from_guest6(struct usernat *un, const struct ip6_in *ip);

/* Building IPv6 frames toward guests, in un->obuf */
#define UN_L4_OFF6	(ETH_HLEN + 40)
static inline uint8_t *ip6_out_l4(struct usernat *un)
{
	return un->obuf + UN_L4_OFF6;
}
void ip6_out_send(struct usernat *un, const uint8_t *dst_mac,
		  const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
		  size_t l4len);
void ip6_out_send_off(struct usernat *un, const uint8_t *dst_mac,
		      const uint8_t *saddr, const uint8_t *daddr,
		      uint8_t proto, size_t l4len,
		      const struct usernat_offload *off);
static inline uint8_t *udp6_out_payload(struct usernat *un)
{
	return un->obuf + UN_L4_OFF6 + 8;
}
void udp6_out_send(struct usernat *un, const uint8_t *dst_mac,
		   const uint8_t *saddr, uint16_t sport, const uint8_t *daddr,
		   uint16_t dport, size_t len);
void icmp6_send_error(struct usernat *un, const struct ip6_in *ip,
		      uint8_t type, uint8_t code, uint32_t param);
void icmp6_send_error_flow(struct usernat *un, const uint8_t *guest_mac,
			   uint8_t proto, const uint8_t *saddr,
			   const uint8_t *daddr, const void *l4hdr,
			   size_t l4len, uint8_t type, uint8_t code);
int icmp6_unreach_code(int err);

/* NAT modules: set-up, teardown, host-side events, housekeeping.
 * *_init() returns 0 or negative errno; *_cleanup() is safe after a failed
 * or skipped init; *_ready() gets the idx of its union un_ref; *_tick() runs
 * once a second from the instance's timer. */
int tcp_init(struct usernat *un);
void tcp_cleanup(struct usernat *un);
void tcp_ready(struct usernat *un, union un_ref ref, uint32_t events);
void tcp_tick(struct usernat *un, int64_t now_ms);
void tcp_flush(struct usernat *un);
void tcp_batch_start(struct usernat *un);
int udp_init(struct usernat *un);
void udp_cleanup(struct usernat *un);
void udp_ready(struct usernat *un, union un_ref ref, uint32_t events);
void udp_tick(struct usernat *un, int64_t now_ms);
int icmp_init(struct usernat *un);
void icmp_cleanup(struct usernat *un);
void icmp_ready(struct usernat *un, union un_ref ref, uint32_t events);
int dns_init(struct usernat *un);
void dns_cleanup(struct usernat *un);
void dns_ready(struct usernat *un, union un_ref ref, uint32_t events);
void dns_tick(struct usernat *un, int64_t now_ms);
int icmp6_nat_init(struct usernat *un);
void icmp6_nat_cleanup(struct usernat *un);
void icmp6_nat_ready(struct usernat *un, union un_ref ref, uint32_t events);

/**
 * un_host_addr() - The host address a guest destination maps to
 * @daddr:	destination the guest used (network order)
 *
 * The gateway address stands for the host's loopback (127.0.0.1) unless
 * no-map-host-loopback is set.  Return: address to connect() to.
 */
static inline uint32_t un_host_addr(const struct usernat *un, uint32_t daddr)
{
	if (daddr == un->cfg.gw && un->cfg.map_host_loopback)
		return htonl(INADDR_LOOPBACK);
	return daddr;
}

/**
 * un_host_addr6() - The host address an IPv6 guest destination maps to
 * @daddr:	destination the guest used, 16 bytes
 * @out:	address to connect() to, 16 bytes, output
 *
 * gateway6 stands for the host's ::1 unless no-map-host-loopback is set,
 * as the IPv4 gateway does for 127.0.0.1.
 */
static inline void un_host_addr6(const struct usernat *un,
				 const uint8_t *daddr, uint8_t *out)
{
	static const uint8_t loopback[16] = { [15] = 1 };

	if (un->cfg.map_host_loopback && !memcmp(daddr, un->cfg.gw6, 16))
		memcpy(out, loopback, 16);
	else if (out != daddr)
		memcpy(out, daddr, 16);
}

/* DHCP server (dhcp.c) */
int dhcp_init(struct usernat *un);
void dhcp_cleanup(struct usernat *un);
void dhcp_from_guest(struct usernat *un, const struct ip4_in *ip,
		     struct pkt *payload);

#endif /* UN_STACK_H */
