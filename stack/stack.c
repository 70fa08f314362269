// SPDX-License-Identifier: GPL-2.0-or-later
/* stack.c - the usernat instance: lifetime, event dispatch, shared helpers
 *
 * DOC: Theory of operation
 *
 * An instance is driven from two sides.  Guest frames arrive through
 * usernat_input() and are parsed layer by layer (eth.c, arp.c, ip4.c, then
 * icmp.c, udp.c, tcp.c); replies and NAT traffic are built in un->obuf and
 * handed to the embedder's output callback, synchronously.  Host-side events
 * (NAT sockets, timers) are registered in the instance's own epoll set,
 * un->epfd, which is the single descriptor the embedder polls; each event
 * carries a union un_ref naming the module and the object it belongs to, so
 * dispatch is a switch and an index, never a scan over all sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "dhcp.h"
#include "echo.h"
#include "stack.h"

static const char *const counter_names[UN_CTR_MAX] = {
#define UN_CTR_NAME(n, d) #n,
	UN_COUNTERS(UN_CTR_NAME)
#undef UN_CTR_NAME
};

#define UN_TICK_MS 1000

/* An embedder's descriptor in our epoll set (usernat_watch()); the epoll
 * reference is the slot and an 8-bit generation, so an event for a slot
 * freed and reused within one batch is dropped */
struct un_watch {
	int fd;				/* -1: free slot */
	uint8_t gen;
	usernat_watch_fn fn;
	void *opaque;
};

#define UN_WATCH_SLOT(idx)	((idx) & 0xffffff)
#define UN_WATCH_GEN(idx)	((uint8_t)((idx) >> 24))

void un_log(const struct usernat *un, int level, const char *fmt, ...)
{
	GLogLevelFlags gl;
	va_list ap;

	if (level > un->log_level)
		return;
	switch (level) {
	case USERNAT_LOG_ERROR:
		gl = G_LOG_LEVEL_CRITICAL;	/* G_LOG_LEVEL_ERROR aborts */
		break;
	case USERNAT_LOG_WARNING:
		gl = G_LOG_LEVEL_WARNING;
		break;
	case USERNAT_LOG_INFO:
		gl = G_LOG_LEVEL_INFO;
		break;
	default:
		gl = G_LOG_LEVEL_DEBUG;
		break;
	}
	va_start(ap, fmt);
	g_logv("usernat", gl, fmt, ap);
	va_end(ap);
}

/** un_now_ns() - CLOCK_MONOTONIC in nanoseconds (vDSO: no system call) */
static int64_t un_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t un_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *un_ip4_str(uint32_t addr, char buf[16])
{
	struct in_addr a = { .s_addr = addr };

	return inet_ntop(AF_INET, &a, buf, 16);
}

const char *un_mac_str(const uint8_t *m, char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	return buf;
}

int un_epoll_add(struct usernat *un, int fd, uint32_t events,
		 enum un_ep_type type, uint32_t idx)
{
	union un_ref ref = { .type = type, .idx = idx };
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	return epoll_ctl(un->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int un_epoll_mod(struct usernat *un, int fd, uint32_t events,
		 enum un_ep_type type, uint32_t idx)
{
	union un_ref ref = { .type = type, .idx = idx };
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	return epoll_ctl(un->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

void un_epoll_del(struct usernat *un, int fd)
{
	epoll_ctl(un->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/**
 * un_guest_learn() - Record that @ip is at @mac (ARP, DHCP)
 *
 * Allocates only when a new address appears, never for a known one.
 */
void un_guest_learn(struct usernat *un, const uint8_t *mac, uint32_t ip)
{
	struct un_guest *g;
	char a[16], m[18];

	if (!un_in_net(un, ip) || un_is_ours(un, ip) || (mac[0] & 1))
		return;
	g = g_hash_table_lookup(un->guests, GUINT_TO_POINTER(ip));
	if (g) {
		if (!memcmp(g->mac, mac, ETH_ALEN))
			return;
		un_info(un, "neighbour %s moved to %s", un_ip4_str(ip, a),
			un_mac_str(mac, m));
		memcpy(g->mac, mac, ETH_ALEN);
		return;
	}
	if (g_hash_table_size(un->guests) >= 4096)
		return;		/* bounded: a guest can't fill our memory */
	g = g_new0(struct un_guest, 1);
	memcpy(g->mac, mac, ETH_ALEN);
	g->ip = ip;
	g_hash_table_insert(un->guests, GUINT_TO_POINTER(ip), g);
	un_debug(un, "neighbour %s at %s", un_ip4_str(ip, a),
		 un_mac_str(mac, m));
}

const struct un_guest *un_guest_find(const struct usernat *un, uint32_t ip)
{
	return g_hash_table_lookup(un->guests, GUINT_TO_POINTER(ip));
}

/* "limit reached", at most once per 10 s, naming the guest by @guest_ip,
 * or by @mac if set (IPv6 flows) */
static void limit_log(struct usernat *un, uint32_t guest_ip,
		      const uint8_t *mac, const char *what)
{
	int64_t now = un_now_ms();
	char a[18];

	UN_COUNT(un, drop_flow_limit);
	if (now - un->last_limit_log_ms < 10000)
		return;
	un->last_limit_log_ms = now;
	un_warn(un, "limit reached: %s from %s refused (flows: %u in all)",
		what, mac ? un_mac_str(mac, a) : un_ip4_str(guest_ip, a),
		un->flows);
}

/**
 * un_flow_charge() - Account a new flow of @guest_ip against the caps
 * @what:	flow kind for the log line, e.g. "TCP connection"
 * Return: 0, or -ENOSPC if the instance or the guest is at its cap
 */
int un_flow_charge(struct usernat *un, uint32_t guest_ip, const char *what)
{
	struct un_guest *g = g_hash_table_lookup(un->guests,
						 GUINT_TO_POINTER(guest_ip));

	if (un->flows >= un->cfg.lim.max_flows ||
	    (g && g->flows >= un->cfg.lim.max_flows_guest)) {
		limit_log(un, guest_ip, NULL, what);
		return -ENOSPC;
	}
	un->flows++;
	if (g)
		g->flows++;
	return 0;
}

/* IPv6 flows of one guest MAC (un->guests6); see un_flow_charge6() */
struct un_guest6 {
	uint64_t mac;			/* key: the MAC in the low 48 bits */
	unsigned int flows;
	unsigned int half_open;		/* TCP connects in progress (<= flows,
					 * so freed with the last flow) */
};

/** un_mac_key() - A MAC as a 64-bit key; Return: key */
static uint64_t un_mac_key(const uint8_t *mac)
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < ETH_ALEN; i++)
		k = k << 8 | mac[i];
	return k;
}

/**
 * un_half_open_of() - The half-open count of a guest: of its IPv4 address,
 * or (@v6) of its MAC's IPv6 flows
 * Return: pointer to the count, or NULL if the guest is not tracked
 */
static unsigned int *un_half_open_of(struct usernat *un, bool v6,
				     uint32_t guest_ip, const uint8_t *mac)
{
	struct un_guest *g;
	struct un_guest6 *g6;
	uint64_t k;

	if (v6) {
		k = un_mac_key(mac);
		g6 = g_hash_table_lookup(un->guests6, &k);
		return g6 ? &g6->half_open : NULL;
	}
	g = g_hash_table_lookup(un->guests, GUINT_TO_POINTER(guest_ip));
	return g ? &g->half_open : NULL;
}

/**
 * un_flow_charge6() - Account a new IPv6 flow of guest @mac (see stack.h)
 * @what:	flow kind for the log line
 *
 * The per-guest entry is allocated with the guest's first IPv6 flow and
 * freed with its last, so the table holds only guests with flows (bounded
 * by max-flows).  Return: 0, or -ENOSPC if the instance or the guest is at
 * its cap
 */
int un_flow_charge6(struct usernat *un, const uint8_t *mac, const char *what)
{
	uint64_t k = un_mac_key(mac);
	struct un_guest6 *g = g_hash_table_lookup(un->guests6, &k);

	if (un->flows >= un->cfg.lim.max_flows ||
	    (g && g->flows >= un->cfg.lim.max_flows_guest)) {
		limit_log(un, 0, mac, what);
		return -ENOSPC;
	}
	if (!g) {
		g = g_new0(struct un_guest6, 1);
		g->mac = k;
		g_hash_table_insert(un->guests6, &g->mac, g);
	}
	un->flows++;
	g->flows++;
	return 0;
}

/** un_flow_release6() - The IPv6 flow charged to @mac has ended */
void un_flow_release6(struct usernat *un, const uint8_t *mac)
{
	uint64_t k = un_mac_key(mac);
	struct un_guest6 *g = g_hash_table_lookup(un->guests6, &k);

	if (un->flows)
		un->flows--;
	if (g && !--g->flows)
		g_hash_table_remove(un->guests6, &k);
}

void un_flow_release(struct usernat *un, uint32_t guest_ip)
{
	struct un_guest *g = g_hash_table_lookup(un->guests,
						 GUINT_TO_POINTER(guest_ip));

	if (un->flows)
		un->flows--;
	if (g && g->flows)
		g->flows--;
}

/**
 * un_half_open_charge() - Account a TCP connect in progress
 * @v6:		an IPv6 connection: the guest is @mac, else @guest_ip
 *
 * Capped per guest (max-half-open; a guest as un_flow_charge() and
 * un_flow_charge6() see it, so only after the connection's flow charge)
 * and per instance (max-half-open-total), for both families: a SYN flood
 * to fresh ports, over either, ties up at most that many connect()s and
 * descriptors.  Return: 0, or -ENOSPC past a cap (counted in
 * drop_flow_limit)
 */
int un_half_open_charge(struct usernat *un, bool v6, uint32_t guest_ip,
			const uint8_t *mac)
{
	unsigned int *n = un_half_open_of(un, v6, guest_ip, mac);

	if (un->half_open >= un->cfg.lim.max_half_open_all ||
	    (n && *n >= un->cfg.lim.max_half_open)) {
		limit_log(un, guest_ip, v6 ? mac : NULL,
			  "half-open TCP connection");
		return -ENOSPC;
	}
	un->half_open++;
	if (n)
		(*n)++;
	return 0;
}

/** un_half_open_release() - A connect charged by un_half_open_charge()
 * has ended or completed */
void un_half_open_release(struct usernat *un, bool v6, uint32_t guest_ip,
			  const uint8_t *mac)
{
	unsigned int *n = un_half_open_of(un, v6, guest_ip, mac);

	if (un->half_open)
		un->half_open--;
	if (n && *n)
		(*n)--;
}

/**
 * un_out_frame_off() - Hand the frame at un->obuf to the output callback,
 * with offload information @off (only with usernat_set_output_offload())
 *
 * pcap records the frame as it goes out: a TSO frame with its partial
 * checksum, cut to the 65535-byte snap length, as tcpdump shows them on a
 * host.
 */
void un_out_frame_off(struct usernat *un, size_t len,
		      const struct usernat_offload *off)
{
	un->ctr[UN_CTR_frames_out]++;
	un->ctr[UN_CTR_bytes_out] += len;
	if (un->pcap)
		pcap_frame(un, un->obuf, len);
	if (off->gso_type != USERNAT_GSO_NONE)
		UN_COUNT(un, offload_tso_out);
	un->out_off(un->opaque, un->obuf, len, off);
}

/**
 * un_out_frame() - Hand the frame at un->obuf to the output callback
 *
 * Frames built here carry correct checksums: a link that takes offload
 * information (USERNAT_LINK_CSUM) is told so (DATA_VALID), which spares the
 * guest verifying them.
 */
void un_out_frame(struct usernat *un, size_t len)
{
	static const struct usernat_offload plain, valid = {
		.flags = USERNAT_OFFLOAD_F_DATA_VALID
	};

	if (un->out_off) {
		un_out_frame_off(un, len, (un->link_caps & USERNAT_LINK_CSUM) ?
					  &valid : &plain);
		return;
	}
	un->ctr[UN_CTR_frames_out]++;
	un->ctr[UN_CTR_bytes_out] += len;
	if (un->pcap)
		pcap_frame(un, un->obuf, len);
	un->out(un->opaque, un->obuf, len);
}

void usernat_set_output_offload(struct usernat *un,
				usernat_output_offload_fn out)
{
	g_return_if_fail(un);
	un->out_off = out;
	if (!out)
		un->link_caps = 0;
}

int usernat_set_offload(struct usernat *un, unsigned int caps)
{
	const unsigned int tso = USERNAT_LINK_TSO4 | USERNAT_LINK_TSO6;

	g_return_val_if_fail(un, -EINVAL);
	if ((caps & ~(USERNAT_LINK_CSUM | tso)) ||
	    ((caps & tso) && !(caps & USERNAT_LINK_CSUM)) ||
	    (caps && !un->out_off))
		return -EINVAL;
	if (caps != un->link_caps)
		un_debug(un, "link offloads: csum %s, tso4 %s, tso6 %s",
			 caps & USERNAT_LINK_CSUM ? "on" : "off",
			 caps & USERNAT_LINK_TSO4 ? "on" : "off",
			 caps & USERNAT_LINK_TSO6 ? "on" : "off");
	un->link_caps = caps;
	return 0;
}

static int timer_setup(struct usernat *un)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = UN_TICK_MS * 1000000L % 1000000000L,
				 .tv_sec = UN_TICK_MS / 1000 },
	};

	its.it_value = its.it_interval;
	un->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (un->timerfd < 0)
		return -errno;
	if (timerfd_settime(un->timerfd, 0, &its, NULL))
		return -errno;
	return un_epoll_add(un, un->timerfd, EPOLLIN, UN_EP_TIMER, 0);
}

/**
 * fd_budget() - Fit the flow cap to the descriptors this process may open
 *
 * Every TCP and UDP flow, and every echo flow on a ping socket, holds one
 * descriptor.  Past RLIMIT_NOFILE, socket() would fail for everyone, so the
 * instance cap is lowered to the limit less a reserve for the embedder's
 * own descriptors: flows past it are refused cleanly (RST, ICMP) and
 * counted, never a failure of the whole process.
 */
static void fd_budget(struct usernat *un)
{
	struct rlimit rl;
	rlim_t budget;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	budget = rl.rlim_cur > 128 ? rl.rlim_cur - 64 : rl.rlim_cur / 2;
	if (un->cfg.lim.max_flows > budget) {
		un_info(un, "max-flows %u lowered to %u: RLIMIT_NOFILE is %llu",
			un->cfg.lim.max_flows, (unsigned int)budget,
			(unsigned long long)rl.rlim_cur);
		un->cfg.lim.max_flows = (unsigned int)budget;
	}
}

/**
 * usernat_new() - Create an instance (see usernat.h)
 * Return: instance, or NULL with *@err set to a message the caller frees
 */
struct usernat *usernat_new(const struct usernat_config *cfg,
			    usernat_output_fn out, void *opaque, char **err)
{
	struct usernat *un;
	guint i;
	int ret;

	if (err)
		*err = NULL;
	g_return_val_if_fail(cfg && out, NULL);

	un = g_malloc0(sizeof(*un));
	un->epfd = un->timerfd = -1;
	un_config_copy(&un->cfg, cfg);
	if (un_config_finish(&un->cfg, err))
		goto fail;
	un->out = out;
	un->opaque = opaque;
	un->log_level = un->cfg.log_level;
	fd_budget(un);
	un->guests = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					   g_free);
	un->guests6 = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					    NULL, g_free);
	un->last_defend_ms = -100000;
	un->watches = g_array_new(FALSE, TRUE, sizeof(struct un_watch));

	un->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (un->epfd < 0 || (ret = timer_setup(un)) < 0) {
		if (err)
			*err = g_strdup_printf("cannot set up event loop: %s",
					       strerror(errno));
		goto fail;
	}
	if (un->cfg.dhcp && (ret = dhcp_init(un)) < 0) {
		if (err)
			*err = g_strdup_printf("cannot set up DHCP: %s",
					       strerror(-ret));
		goto fail;
	}
	if (un->cfg.pcap[0] &&
	    usernat_pcap_start(un, un->cfg.pcap, un->cfg.pcap_max, err))
		goto fail;
	if ((ret = ip6_init(un)) < 0) {
		if (err)
			*err = g_strdup_printf("cannot set up IPv6: %s",
					       strerror(-ret));
		goto fail;
	}
	if ((ret = tcp_init(un)) < 0 || (ret = udp_init(un)) < 0 ||
	    (ret = echo_init(un)) < 0 || (ret = icmp_init(un)) < 0 ||
	    (ret = dns_init(un)) < 0 ||
	    (ret = icmp6_nat_init(un)) < 0) {
		if (err)
			*err = g_strdup_printf("cannot set up NAT: %s",
					       strerror(-ret));
		goto fail;
	}
	for (i = 0; i < un->cfg.forwards->len; i++)
		if (usernat_forward_add(un, g_ptr_array_index(un->cfg.forwards,
							      i), err))
			goto fail;
	return un;
fail:
	usernat_free(un);
	return NULL;
}

void usernat_free(struct usernat *un)
{
	if (!un)
		return;
	usernat_pcap_stop(un);
	fwd_cleanup(un);
	dns_cleanup(un);
	echo_cleanup(un);
	icmp6_nat_cleanup(un);
	icmp_cleanup(un);
	udp_cleanup(un);
	tcp_cleanup(un);
	ip6_cleanup(un);
	dhcp_cleanup(un);
	if (un->timerfd >= 0)
		close(un->timerfd);
	if (un->epfd >= 0)
		close(un->epfd);
	if (un->guests)
		g_hash_table_destroy(un->guests);
	if (un->guests6)
		g_hash_table_destroy(un->guests6);
	if (un->watches)
		g_array_free(un->watches, TRUE);
	un_config_clear(&un->cfg);
	g_free(un);
}

int usernat_fd(const struct usernat *un)
{
	return un->epfd;
}

void usernat_input(struct usernat *un, const void *frame, size_t len)
{
	un->ctr[UN_CTR_frames_in]++;
	un->ctr[UN_CTR_bytes_in] += len;
	if (un->pcap)
		pcap_frame(un, frame, len);
	eth_from_guest(un, frame, len);
}

/**
 * usernat_input_offload() - A frame with offload information (see
 * usernat.h): checked (eth_offload_ok()), then parsed as any other with
 * un->rx_off pointing at the information until it returns
 */
void usernat_input_offload(struct usernat *un, const void *frame, size_t len,
			   const struct usernat_offload *off)
{
	if (!off) {
		usernat_input(un, frame, len);
		return;
	}
	un->ctr[UN_CTR_frames_in]++;
	un->ctr[UN_CTR_bytes_in] += len;
	if (un->pcap)
		pcap_frame(un, frame, len);
	if (!eth_offload_ok(frame, len, off)) {
		UN_COUNT(un, drop_offload);
		return;
	}
	if (off->gso_type != USERNAT_GSO_NONE)
		UN_COUNT(un, offload_gso_in);
	if (off->flags & USERNAT_OFFLOAD_F_NEEDS_CSUM)
		UN_COUNT(un, offload_csum_in);
	un->rx_off = off;
	eth_from_guest(un, frame, len);
	un->rx_off = NULL;
}

/**
 * usernat_flush() - The embedder has handed over a batch of frames: do the
 * work deferred until the end of the batch (TCP: push guest data to host
 * sockets, read more host data, one ACK per connection) now rather than
 * when the timerfd behind usernat_fd() fires
 */
void usernat_flush(struct usernat *un)
{
	un->embedder_flushes = true;
	tcp_flush(un);
}

/**
 * usernat_watch() - Watch an embedder's descriptor in our epoll set (see
 * usernat.h).  Slots are found by a scan: there are a handful of them, and
 * they change on the control path only.  Return: 0 or negative errno
 */
int usernat_watch(struct usernat *un, int fd, uint32_t events,
		  usernat_watch_fn fn, void *opaque)
{
	struct un_watch *w, *free_w = NULL;
	guint i;
	int ret;

	g_return_val_if_fail(fd >= 0 && fn, -EINVAL);
	for (i = 0; i < un->watches->len; i++) {
		w = &g_array_index(un->watches, struct un_watch, i);
		if (w->fd == fd) {
			uint32_t idx = i | (uint32_t)w->gen << 24;

			ret = un_epoll_mod(un, fd, events, UN_EP_WATCH, idx);
			if (ret == -ENOENT)	/* closed unwatched, reused */
				ret = un_epoll_add(un, fd, events,
						   UN_EP_WATCH, idx);
			if (!ret) {
				w->fn = fn;
				w->opaque = opaque;
			}
			return ret;
		}
		if (w->fd < 0 && !free_w)
			free_w = w;
	}
	if (!free_w) {
		if (un->watches->len > UN_WATCH_SLOT(~0U))
			return -ENOSPC;
		g_array_set_size(un->watches, un->watches->len + 1);
		free_w = &g_array_index(un->watches, struct un_watch,
					un->watches->len - 1);
		free_w->fd = -1;
	}
	i = (guint)(free_w - &g_array_index(un->watches, struct un_watch, 0));
	free_w->gen++;
	ret = un_epoll_add(un, fd, events, UN_EP_WATCH,
			   i | (uint32_t)free_w->gen << 24);
	if (ret)
		return ret;
	free_w->fd = fd;
	free_w->fn = fn;
	free_w->opaque = opaque;
	return 0;
}

void usernat_unwatch(struct usernat *un, int fd)
{
	guint i;

	for (i = 0; i < un->watches->len; i++) {
		struct un_watch *w = &g_array_index(un->watches,
						    struct un_watch, i);

		if (w->fd == fd) {
			un_epoll_del(un, fd);
			w->fd = -1;
			w->fn = NULL;
			return;
		}
	}
}

/** watch_ready() - Events of an embedder's descriptor: its callback */
static void watch_ready(struct usernat *un, union un_ref ref,
			uint32_t events)
{
	uint32_t slot = UN_WATCH_SLOT(ref.idx);
	struct un_watch *w;

	if (slot >= un->watches->len)
		return;
	w = &g_array_index(un->watches, struct un_watch, slot);
	if (w->fd >= 0 && w->gen == UN_WATCH_GEN(ref.idx))
		w->fn(w->opaque, events);
}

static void timer_tick(struct usernat *un)
{
	uint64_t expirations;

	int64_t now;

	if (read(un->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	now = un_now_ms();
	pcap_flush(un);
	tcp_tick(un, now);
	udp_tick(un, now);
	echo_tick(un, now);
	dns_tick(un, now);
	ip6_tick(un, now);
}

static void lease_export(struct usernat_lease *o,
			 const struct dhcp_lease_info *l, int64_t now)
{
	memcpy(o->mac, l->mac, ETH_ALEN);
	o->ip = l->ip;
	o->expires_in = l->expires_ms > now ?
			(uint32_t)((l->expires_ms - now) / 1000) : 0;
	o->is_static = l->is_static;
	memcpy(o->name, l->name, sizeof(o->name));
	o->name[sizeof(o->name) - 1] = 0;
}

/**
 * un_dispatch() - Handle one batch of events from our epoll set, then the
 * deferred work they queued (tcp_flush()), as a batch of guest frames does
 * with usernat_flush()
 */
static void un_dispatch(struct usernat *un, const struct epoll_event *ev,
			int n)
{
	int i;

	tcp_batch_start(un);
	un->in_service = true;
	for (i = 0; i < n; i++) {
		union un_ref ref = { .u64 = ev[i].data.u64 };

		switch (ref.type) {
		case UN_EP_TIMER:
			timer_tick(un);
			break;
		case UN_EP_TCP:
		case UN_EP_TCP_LISTEN:
		case UN_EP_TCP_TIMER:
			tcp_ready(un, ref, ev[i].events);
			break;
		case UN_EP_UDP:
			udp_ready(un, ref, ev[i].events);
			break;
		case UN_EP_ICMP:
			icmp_ready(un, ref, ev[i].events);
			break;
		case UN_EP_DNS:
			dns_ready(un, ref, ev[i].events);
			break;
		case UN_EP_ICMP6:
			icmp6_nat_ready(un, ref, ev[i].events);
			break;
		case UN_EP_FWD:
			fwd_ready(un, ref, ev[i].events);
			break;
		case UN_EP_WATCH:
			watch_ready(un, ref, ev[i].events);
			break;
		default:
			break;
		}
	}
	un->in_service = false;
	tcp_flush(un);
}

/**
 * usernat_wait() - Wait for and handle events (see usernat.h)
 *
 * Handles at most one batch of events per call, so a busy instance can't
 * starve the embedder's other work; the epoll fd stays readable if more is
 * pending.  Return: events handled, 0 on EINTR, or negative errno
 */
int usernat_wait(struct usernat *un, int timeout_ms)
{
	int64_t max_ns = (int64_t)un->cfg.poll_us * 1000, start = 0, now;
	struct epoll_event ev[64];
	int n = 0;

	if (timeout_ms && max_ns) {
		/* poll first: a wake-up costs more than a few empty looks
		 * when the next event is microseconds away */
		now = start = un_now_ns();
		while (now - start < un->poll_ns &&
		       !(n = epoll_wait(un->epfd, ev, G_N_ELEMENTS(ev), 0)))
			now = un_now_ns();
		if (n > 0)
			UN_COUNT(un, poll_hits);
	}
	if (!n)
		n = epoll_wait(un->epfd, ev, G_N_ELEMENTS(ev), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (start)
		un->poll_ns = un_poll_adapt(un->poll_ns, max_ns,
					    un_now_ns() - start);
	un_dispatch(un, ev, n);
	return n;
}

/**
 * un_poll_adapt() - The next polling window of usernat_wait(), after an
 * event came @waited_ns after the wait began, the window being @poll_ns
 *
 * The policy of QEMU's IOThread polling (util/aio-posix.c): an event
 * within the window leaves it as it is; one later, but within @max_ns,
 * doubles it (from UN_POLL_NS_START), so the window grows to cover the
 * gaps of a request-response exchange; one later than @max_ns halves it
 * (QEMU drops it to 0), so an idle or slow instance soon sleeps at once
 * and polls no more, while one late event doesn't undo what the steady
 * exchange learned.  Below UN_POLL_NS_START it is 0.
 * Return: the new window, 0 to @max_ns
 */
int64_t un_poll_adapt(int64_t poll_ns, int64_t max_ns, int64_t waited_ns)
{
	if (waited_ns <= poll_ns)
		return poll_ns;
	if (waited_ns > max_ns)
		return poll_ns / 2 < UN_POLL_NS_START ? 0 : poll_ns / 2;
	if (!poll_ns)
		return MIN(UN_POLL_NS_START, max_ns);
	return MIN(poll_ns * 2, max_ns);
}

/** usernat_service() - Handle pending host-side events, without blocking */
void usernat_service(struct usernat *un)
{
	usernat_wait(un, 0);
}

void usernat_stats_foreach(const struct usernat *un,
			   void (*fn)(void *, const char *, uint64_t),
			   void *opaque)
{
	int i;

	for (i = 0; i < UN_CTR_MAX; i++)
		fn(opaque, counter_names[i], un->ctr[i]);
}

uint64_t usernat_stat(const struct usernat *un, const char *name)
{
	int i;

	for (i = 0; i < UN_CTR_MAX; i++)
		if (!strcmp(counter_names[i], name))
			return un->ctr[i];
	return 0;
}

/**
 * usernat_leases() - Active DHCP leases (see usernat.h); control plane only
 */
size_t usernat_leases(const struct usernat *un, struct usernat_lease *out,
		      size_t max)
{
	size_t total = dhcp_leases(un, NULL, 0), n, i;
	struct dhcp_lease_info *all;
	int64_t now = un_now_ms();

	if (!out || !total)
		return total;
	all = g_new(struct dhcp_lease_info, total);
	n = dhcp_leases(un, all, total);
	for (i = 0; i < n && i < max; i++)
		lease_export(&out[i], &all[i], now);
	g_free(all);
	return total;
}

void usernat_flows_foreach(const struct usernat *un, un_flow_fn fn,
			   void *opaque)
{
	tcp_flows_foreach(un, fn, opaque);
	udp_flows_foreach(un, fn, opaque);
	echo_flows_foreach(un, fn, opaque);
}

void usernat_set_log_level(struct usernat *un, int level)
{
	un->log_level = level;
}
