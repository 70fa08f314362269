// SPDX-License-Identifier: GPL-2.0-or-later
/* config.c - instance configuration: one option parser for every front end
 *
 * The daemon's command line, the VDE plugin's URL options and embedders all
 * set options by name through usernat_config_set(), so each option is parsed
 * and validated in exactly one place.  Values that depend on others (the
 * gateway defaults to the network's .2, and so on) are derived at the end,
 * in un_config_finish(), so options may come in any order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd.h"
#include "policy.h"
#include "stack.h"

static const char config_help[] =
	"net=ADDR/PREFIX        guest network (default 10.0.2.0/24)\n"
	"gateway=ADDR           gateway address, reaches the host (default .2)\n"
	"dns=ADDR               DNS forwarder address (default .3)\n"
	"dhcp-start=ADDR        first DHCP address (default .15)\n"
	"dhcp-end=ADDR          last DHCP address (default: last in network)\n"
	"mtu=N                  MTU given to guests (576-65520, default 1500)\n"
	"mac=MAC                gateway MAC address (default 52:55:0a:00:02:02)\n"
	"domain=NAME            DHCP domain name (option 15)\n"
	"dns-search=D1,D2,...   DHCP domain search list (option 119)\n"
	"hostname=NAME          DHCP host name for guests without a static one\n"
	"lease-time=SECS        DHCP lease time (default 86400)\n"
	"dhcp-host=MAC,IP[,NAME] static DHCP lease (repeatable)\n"
	"no-dhcp                do not serve DHCP\n"
	"no-map-host-loopback   the gateway address does not reach host loopback\n"
	"prefix6=ADDR/64        IPv6 prefix for SLAAC and DHCPv6 (default\n"
	"                       fd00::/64)\n"
	"gateway6=ADDR          gateway's IPv6 address (default prefix::2)\n"
	"dns6=ADDR              DNS forwarder's IPv6 address (default prefix::3)\n"
	"no-ipv6                no IPv6: no router advertisements, NDP or DHCPv6\n"
	"dns-upstream=ADDR[:PORT] DNS server to forward to (repeatable; IPv6 as\n"
	"                       [ADDR]:PORT; default: nameservers of resolv-conf)\n"
	"resolv-conf=PATH       where to read upstream DNS servers (default\n"
	"                       /etc/resolv.conf)\n"
	"udp-timeout=SECS       idle UDP flows end after this (default 180)\n"
	"tcp-idle-timeout=SECS  idle established TCP connections end after this\n"
	"                       (default 7200; 0: never)\n"
	"max-flows=N            flows (TCP, UDP, ICMP) in all (default 32768)\n"
	"max-flows-per-guest=N  flows of one guest (default 16384)\n"
	"max-half-open=N        TCP connects in progress per guest (default 1024)\n"
	"max-half-open-total=N  TCP connects in progress in all (default 4096)\n"
	"max-icmp-ids=N         ICMP/ICMPv6 echo flows (identifiers) in all\n"
	"                       (default 1024)\n"
	"max-icmp-ids-per-guest=N\n"
	"                       echo flows of one guest MAC (default 256)\n"
	"max-leases=N           DHCP leases offered or bound at once (default 0:\n"
	"                       as many as the pool has addresses)\n"
	"forward=tcp|udp:[HADDR]:HPORT-[GADDR]:GPORT  port forward, QEMU hostfwd\n"
	"                       syntax, ports may be ranges, GADDR IPv4 or\n"
	"                       [IPv6] (repeatable)\n"
	"forward-source=gateway|client  where forwarded connections come from,\n"
	"                       as guests see them: the gateway address\n"
	"                       (default) or the client's own address and port\n"
	"                       (clients of the guest's family, off the host's\n"
	"                       loopback; others still come from the gateway)\n"
	"pcap=FILE              record every frame, both ways, in pcap format\n"
	"pcap-max=SIZE          stop capturing at SIZE bytes (K, M, G suffixes;\n"
	"                       default 1G; 0: no cap)\n"
	"log-level=LEVEL        error, warning, info (default) or debug\n"
	"poll-us=N              before sleeping, look for events for up to N\n"
	"                       microseconds, adapting to how soon they come\n"
	"                       (0-1000, default 50; 0: never; usernat_wait())\n"
	"restrict               guests open no outbound flows (TCP, UDP, ICMP\n"
	"                       echo, DNS relay) unless an allow rule matches;\n"
	"                       DHCP, gateway ping and forwards still work\n"
	"allow=NET[:PORTS]      egress rule: allow new flows to NET (ADDR/PREFIX,\n"
	"                       or IPv6 [ADDR6/PREFIX]), ports N or N-M\n"
	"                       (repeatable; first match wins)\n"
	"deny=NET[:PORTS]       egress rule: refuse new flows to NET[:PORTS]\n"
	"                       (repeatable; first match wins)\n";

/* Every option name usernat_config_set() takes; flags take no value */
static const char *const config_keys[] = {
	"net", "gateway", "host", "dns", "dhcp-start", "dhcp-end", "mtu",
	"mac", "domain", "dns-search", "hostname", "lease-time", "dhcp-host",
	"no-dhcp", "no-map-host-loopback", "dns-upstream", "resolv-conf",
	"udp-timeout", "tcp-idle-timeout", "max-flows", "max-flows-per-guest",
	"max-half-open", "max-half-open-total", "max-icmp-ids",
	"max-icmp-ids-per-guest", "max-leases", "forward", "forward-source",
	"pcap", "pcap-max", "log-level", "restrict", "allow", "deny",
	"prefix6", "gateway6", "dns6", "no-ipv6", "poll-us", NULL
};

static const char *const config_flags[] = { "no-dhcp",
					    "no-map-host-loopback",
					    "restrict", "no-ipv6", NULL };

const char *usernat_config_help(void)
{
	return config_help;
}

const char *const *usernat_config_keys(void)
{
	return config_keys;
}

/* Options that may be given more than once, each time adding a value */
static const char *const config_repeats[] = { "dhcp-host", "dns-upstream",
					      "forward", "allow", "deny",
					      NULL };

int usernat_config_key_repeats(const char *key)
{
	size_t i;

	for (i = 0; config_repeats[i]; i++)
		if (!strcmp(key, config_repeats[i]))
			return 1;
	return 0;
}

int usernat_config_key_is_flag(const char *key)
{
	size_t i;

	for (i = 0; config_flags[i]; i++)
		if (!strcmp(key, config_flags[i]))
			return 1;
	return 0;
}

unsigned int usernat_config_mtu(const struct usernat_config *cfg)
{
	return cfg->mtu;
}

uint64_t usernat_config_pcap_max(const struct usernat_config *cfg)
{
	return cfg->pcap_max;
}

int usernat_config_log_level(const struct usernat_config *cfg)
{
	return cfg->log_level;
}

static int set_err(char **err, int ret, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static int set_err(char **err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		if (vasprintf(err, fmt, ap) < 0)
			*err = NULL;
		va_end(ap);
	}
	return ret;
}

/**
 * usernat_config_new() - A configuration with QEMU -netdev user defaults
 * Return: new configuration, free with usernat_config_free()
 */
struct usernat_config *usernat_config_new(void)
{
	struct usernat_config *cfg = g_new0(struct usernat_config, 1);
	static const uint8_t mac[ETH_ALEN] = { 0x52, 0x55, 0x0a, 0x00, 0x02,
					       0x02 };

	cfg->net = htonl(0x0a000200);		/* 10.0.2.0/24, as QEMU */
	cfg->prefix = 24;
	cfg->mask = htonl(0xffffff00);
	cfg->mtu = 1500;
	cfg->poll_us = UN_POLL_US_DEFAULT;
	memcpy(cfg->mac, mac, ETH_ALEN);
	cfg->dhcp = true;
	cfg->map_host_loopback = true;
	cfg->lease_time = 86400;
	cfg->log_level = USERNAT_LOG_INFO;
	cfg->dhcp_hosts = g_array_new(FALSE, TRUE, sizeof(struct un_dhcp_host));
	cfg->dns_upstreams = g_array_new(FALSE, TRUE,
					 sizeof(struct sockaddr_storage));
	cfg->forwards = g_ptr_array_new_with_free_func(g_free);
	cfg->policy = g_array_new(FALSE, TRUE, sizeof(struct policy_rule));
	strcpy(cfg->resolv_conf, "/etc/resolv.conf");
	cfg->lim.max_flows = 32768;
	cfg->lim.max_flows_guest = 16384;
	cfg->lim.max_half_open = 1024;
	cfg->lim.max_half_open_all = 4096;
	cfg->lim.max_icmp_ids = 1024;
	cfg->lim.max_icmp_ids_guest = 256;
	cfg->lim.max_leases = 0;		/* the pool's size */
	cfg->lim.udp_timeout = 180;
	cfg->lim.tcp_idle_timeout = 7200;
	cfg->pcap_max = 1ULL << 30;
	cfg->ipv6 = true;
	cfg->prefix6[0] = 0xfd;			/* fd00::/64 */
	return cfg;
}

void un_config_clear(struct usernat_config *cfg)
{
	if (cfg->dhcp_hosts)
		g_array_free(cfg->dhcp_hosts, TRUE);
	if (cfg->dns_upstreams)
		g_array_free(cfg->dns_upstreams, TRUE);
	if (cfg->forwards)
		g_ptr_array_free(cfg->forwards, TRUE);
	if (cfg->policy)
		g_array_free(cfg->policy, TRUE);
	cfg->policy = NULL;
	cfg->forwards = NULL;
	cfg->dhcp_hosts = NULL;
	cfg->dns_upstreams = NULL;
}

void usernat_config_free(struct usernat_config *cfg)
{
	if (!cfg)
		return;
	un_config_clear(cfg);
	g_free(cfg);
}

/** un_config_copy() - Deep copy of @src into @dst; Return: 0 */
int un_config_copy(struct usernat_config *dst, const struct usernat_config *src)
{
	*dst = *src;
	dst->dhcp_hosts = g_array_new(FALSE, TRUE, sizeof(struct un_dhcp_host));
	g_array_append_vals(dst->dhcp_hosts, src->dhcp_hosts->data,
			    src->dhcp_hosts->len);
	dst->dns_upstreams = g_array_new(FALSE, TRUE,
					 sizeof(struct sockaddr_storage));
	g_array_append_vals(dst->dns_upstreams, src->dns_upstreams->data,
			    src->dns_upstreams->len);
	dst->policy = g_array_new(FALSE, TRUE, sizeof(struct policy_rule));
	g_array_append_vals(dst->policy, src->policy->data, src->policy->len);
	dst->forwards = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < src->forwards->len; i++)
		g_ptr_array_add(dst->forwards,
				g_strdup(g_ptr_array_index(src->forwards, i)));
	return 0;
}

static int parse_ip4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	char tail;
	int i;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
			 &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_net(struct usernat_config *cfg, const char *v, char **err)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = v ? strchr(v, '/') : NULL;
	unsigned long prefix = 24;
	uint32_t a, mask;

	if (!v)
		return set_err(err, -EINVAL, "net: needs ADDR/PREFIX");
	if (slash) {
		if ((size_t)(slash - v) >= sizeof(addr) ||
		    parse_uint(slash + 1, 8, 30, &prefix))
			return set_err(err, -EINVAL,
				       "net: '%s': prefix must be 8 to 30", v);
		memcpy(addr, v, (size_t)(slash - v));
		addr[slash - v] = 0;
	} else {
		if (strlen(v) >= sizeof(addr))
			return set_err(err, -EINVAL, "net: bad address '%s'", v);
		strcpy(addr, v);
	}
	if (parse_ip4(addr, &a))
		return set_err(err, -EINVAL, "net: bad address '%s'", v);
	mask = htonl((uint32_t)(0xffffffffULL << (32 - prefix)));
	cfg->net = a & mask;
	cfg->mask = mask;
	cfg->prefix = (int)prefix;
	return 0;
}

static int parse_dhcp_host(struct usernat_config *cfg, const char *v,
			   char **err)
{
	struct un_dhcp_host h = { 0 };
	char **f;
	int ret = 0;
	guint n;

	if (!v)
		return set_err(err, -EINVAL, "dhcp-host: needs MAC,IP[,NAME]");
	f = g_strsplit(v, ",", 4);
	n = g_strv_length(f);
	if (n < 2 || n > 3 || parse_mac(f[0], h.mac) || parse_ip4(f[1], &h.ip)) {
		ret = set_err(err, -EINVAL,
			      "dhcp-host: '%s': expected MAC,IP[,NAME]", v);
	} else if (n == 3 && (strlen(f[2]) >= sizeof(h.name) || !*f[2])) {
		ret = set_err(err, -EINVAL, "dhcp-host: bad name in '%s'", v);
	} else {
		if (n == 3)
			strcpy(h.name, f[2]);
		g_array_append_val(cfg->dhcp_hosts, h);
	}
	g_strfreev(f);
	return ret;
}

/**
 * parse_upstream() - ADDR, ADDR:PORT, [ADDR6] or [ADDR6]:PORT, or bare ADDR6
 */
static int parse_upstream(struct usernat_config *cfg, const char *v,
			  char **err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	unsigned long p = 53;
	size_t hl;

	if (!v || !*v)
		goto bad;
	if (*v == '[') {
		if (!(end = strchr(v, ']')))
			goto bad;
		hl = (size_t)(end - v - 1);
		v++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			goto bad;
	} else if ((end = strchr(v, ':')) && !strchr(end + 1, ':')) {
		hl = (size_t)(end - v);
		port = end + 1;
	} else {
		hl = strlen(v);
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, v, hl);
	host[hl] = 0;
	if (port && parse_uint(port, 1, 65535, &p))
		goto bad;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
	} else {
		goto bad;
	}
	if (cfg->dns_upstreams->len >= 16)
		return set_err(err, -E2BIG, "dns-upstream: at most 16");
	g_array_append_val(cfg->dns_upstreams, ss);
	return 0;
bad:
	return set_err(err, -EINVAL, "dns-upstream: '%s': expected ADDR, "
		       "ADDR:PORT or [IPV6]:PORT", v ? v : "");
}

/**
 * parse_policy() - One egress rule, --allow or --deny NET[:PORTS] (policy.c)
 *
 * Rules keep their order: the first that matches a new flow decides.
 */
static int parse_policy(struct usernat_config *cfg, const char *key,
			const char *v, char **err)
{
	struct policy_rule r;
	char *e = NULL;
	int ret;

	ret = policy_parse(v, key[0] == 'a', &r, &e);
	if (ret) {
		ret = set_err(err, ret, "%s", e ? e : key);
		free(e);
		return ret;
	}
	if (cfg->policy->len >= 1024)
		return set_err(err, -E2BIG, "%s: at most 1024 allow and deny "
			       "rules", key);
	g_array_append_val(cfg->policy, r);
	return 0;
}

static int parse_log_level(const char *v, int *level)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", USERNAT_LOG_ERROR },	{ "warning", USERNAT_LOG_WARNING },
		{ "warn", USERNAT_LOG_WARNING }, { "info", USERNAT_LOG_INFO },
		{ "debug", USERNAT_LOG_DEBUG },
	};
	size_t i;

	for (i = 0; v && i < G_N_ELEMENTS(levels); i++) {
		if (!strcmp(v, levels[i].name)) {
			*level = levels[i].level;
			return 0;
		}
	}
	return -1;
}

static int set_string(char *dst, size_t size, const char *key, const char *v,
		      char **err)
{
	if (!v || strlen(v) >= size)
		return set_err(err, -EINVAL, "%s: value missing or longer "
			       "than %zu characters", key, size - 1);
	strcpy(dst, v);
	return 0;
}

static int set_addr(uint32_t *dst, bool *given, const char *key, const char *v,
		    char **err)
{
	if (parse_ip4(v, dst))
		return set_err(err, -EINVAL, "%s: bad IPv4 address '%s'", key,
			       v ? v : "");
	*given = true;
	return 0;
}

static int set_addr6(uint8_t *dst, bool *given, const char *key,
		     const char *v, char **err)
{
	if (!v || inet_pton(AF_INET6, v, dst) != 1)
		return set_err(err, -EINVAL, "%s: bad IPv6 address '%s'", key,
			       v ? v : "");
	*given = true;
	return 0;
}

/**
 * parse_prefix6() - prefix6=ADDR[/64]: the guests' on-link prefix
 *
 * Only /64: SLAAC on Ethernet takes 64-bit interface identifiers (RFC
 * 4862 5.5.3, RFC 2464 4).  Bits past the prefix are ignored.  A unicast
 * prefix, not link-local, loopback or unspecified.
 */
static int parse_prefix6(struct usernat_config *cfg, const char *v,
			 char **err)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = v ? strchr(v, '/') : NULL;
	size_t n = slash ? (size_t)(slash - v) : v ? strlen(v) : 0;
	uint8_t a[16];
	static const uint8_t zero[8];

	if (!v || n >= sizeof(addr) || (slash && strcmp(slash, "/64")))
		return set_err(err, -EINVAL, "prefix6: '%s': expected ADDR/64",
			       v ? v : "");
	memcpy(addr, v, n);
	addr[n] = 0;
	if (inet_pton(AF_INET6, addr, a) != 1 || a[0] == 0xff ||
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || !memcmp(a, zero, 8))
		return set_err(err, -EINVAL, "prefix6: '%s': expected a "
			       "unicast, not link-local, ADDR/64", v);
	memset(cfg->prefix6, 0, 16);
	memcpy(cfg->prefix6, a, 8);
	return 0;
}

/**
 * usernat_config_set() - Set option @key to @value (see usernat.h)
 */
int usernat_config_set(struct usernat_config *cfg, const char *key,
		       const char *v, char **err)
{
	unsigned long n;

	if (err)
		*err = NULL;
	g_return_val_if_fail(cfg && key, -EINVAL);

	if (!strcmp(key, "net"))
		return parse_net(cfg, v, err);
	if (!strcmp(key, "gateway") || !strcmp(key, "host"))
		return set_addr(&cfg->gw, &cfg->gw_set, key, v, err);
	if (!strcmp(key, "dns"))
		return set_addr(&cfg->dns, &cfg->dns_set, key, v, err);
	if (!strcmp(key, "dhcp-start"))
		return set_addr(&cfg->dhcp_start, &cfg->start_set, key, v, err);
	if (!strcmp(key, "dhcp-end"))
		return set_addr(&cfg->dhcp_end, &cfg->end_set, key, v, err);
	if (!strcmp(key, "mtu")) {
		if (parse_uint(v, 576, 65520, &n))
			return set_err(err, -EINVAL,
				       "mtu: must be a number from 576 to 65520");
		cfg->mtu = (unsigned int)n;
		return 0;
	}
	if (!strcmp(key, "poll-us")) {
		if (parse_uint(v, 0, 1000, &n))
			return set_err(err, -EINVAL,
				       "poll-us: must be a number from 0 to 1000");
		cfg->poll_us = (unsigned int)n;
		return 0;
	}
	if (!strcmp(key, "mac")) {
		if (parse_mac(v, cfg->mac) || (cfg->mac[0] & 1))
			return set_err(err, -EINVAL, "mac: bad unicast MAC "
				       "address '%s'", v ? v : "");
		return 0;
	}
	if (!strcmp(key, "domain"))
		return set_string(cfg->domain, sizeof(cfg->domain), key, v, err);
	if (!strcmp(key, "dns-search"))
		return set_string(cfg->search, sizeof(cfg->search), key, v, err);
	if (!strcmp(key, "hostname"))
		return set_string(cfg->hostname, sizeof(cfg->hostname), key, v,
				  err);
	if (!strcmp(key, "lease-time")) {
		if (parse_uint(v, 60, 0x7fffffff, &n))
			return set_err(err, -EINVAL, "lease-time: must be a "
				       "number of seconds, at least 60");
		cfg->lease_time = (uint32_t)n;
		return 0;
	}
	if (!strcmp(key, "dhcp-host"))
		return parse_dhcp_host(cfg, v, err);
	if (!strcmp(key, "no-dhcp") || !strcmp(key, "no-map-host-loopback")) {
		if (v && *v)
			return set_err(err, -EINVAL, "%s takes no value", key);
		if (key[3] == 'd')
			cfg->dhcp = false;
		else
			cfg->map_host_loopback = false;
		return 0;
	}
	if (!strcmp(key, "prefix6"))
		return parse_prefix6(cfg, v, err);
	if (!strcmp(key, "gateway6"))
		return set_addr6(cfg->gw6, &cfg->gw6_set, key, v, err);
	if (!strcmp(key, "dns6"))
		return set_addr6(cfg->dns6, &cfg->dns6_set, key, v, err);
	if (!strcmp(key, "no-ipv6")) {
		if (v && *v)
			return set_err(err, -EINVAL, "%s takes no value", key);
		cfg->ipv6 = false;
		return 0;
	}
	if (!strcmp(key, "restrict")) {
		if (v && *v)
			return set_err(err, -EINVAL, "%s takes no value", key);
		cfg->restricted = true;
		return 0;
	}
	if (!strcmp(key, "allow") || !strcmp(key, "deny"))
		return parse_policy(cfg, key, v, err);
	if (!strcmp(key, "forward")) {
		struct fwd_spec f;
		char *e = NULL;

		if (fwd_parse(v, &f, &e)) {
			int r = set_err(err, -EINVAL, "%s", e);

			g_free(e);
			return r;
		}
		g_ptr_array_add(cfg->forwards, g_strdup(v));
		return 0;
	}
	if (!strcmp(key, "forward-source")) {
		/* One choice per instance, not per forward: it depends on the
		 * guest routing its replies through us (fwd_source()) */
		if (v && !strcmp(v, "gateway"))
			cfg->fwd_client_source = false;
		else if (v && !strcmp(v, "client"))
			cfg->fwd_client_source = true;
		else
			return set_err(err, -EINVAL, "forward-source: '%s': "
				       "use gateway or client", v ? v : "");
		return 0;
	}
	if (!strcmp(key, "pcap"))
		return set_string(cfg->pcap, sizeof(cfg->pcap), key, v, err);
	if (!strcmp(key, "pcap-max")) {
		char *end;
		unsigned long long sz;

		errno = 0;
		sz = v && *v != '-' ? strtoull(v, &end, 10) : 0;
		if (!v || !*v || *v == '-' || errno || end == v ||
		    (*end && end[1]) ||
		    (*end && !strchr("kKmMgG", *end)))
			return set_err(err, -EINVAL, "pcap-max: '%s': expected "
				       "a size such as 100M", v ? v : "");
		if (*end)
			sz <<= (*end | 0x20) == 'k' ? 10 :
			       (*end | 0x20) == 'm' ? 20 : 30;
		cfg->pcap_max = sz;
		return 0;
	}
	if (!strcmp(key, "dns-upstream"))
		return parse_upstream(cfg, v, err);
	if (!strcmp(key, "resolv-conf"))
		return set_string(cfg->resolv_conf, sizeof(cfg->resolv_conf),
				  key, v, err);
	{
		static const struct {
			const char *key;
			size_t off;
			unsigned long min, max;
		} lims[] = {
			{ "udp-timeout", offsetof(struct un_limits, udp_timeout),
			  1, 86400 },
			{ "tcp-idle-timeout",
			  offsetof(struct un_limits, tcp_idle_timeout), 0,
			  0x7fffffff },
			{ "max-flows", offsetof(struct un_limits, max_flows), 1,
			  1 << 22 },
			{ "max-flows-per-guest",
			  offsetof(struct un_limits, max_flows_guest), 1,
			  1 << 22 },
			{ "max-half-open",
			  offsetof(struct un_limits, max_half_open), 1,
			  1 << 22 },
			{ "max-half-open-total",
			  offsetof(struct un_limits, max_half_open_all), 1,
			  1 << 22 },
			{ "max-icmp-ids",
			  offsetof(struct un_limits, max_icmp_ids), 1,
			  1 << 22 },
			{ "max-icmp-ids-per-guest",
			  offsetof(struct un_limits, max_icmp_ids_guest), 1,
			  1 << 22 },
			{ "max-leases", offsetof(struct un_limits, max_leases),
			  0, 1 << 22 },
		};
		size_t i;

		for (i = 0; i < G_N_ELEMENTS(lims); i++) {
			if (strcmp(key, lims[i].key))
				continue;
			if (parse_uint(v, lims[i].min, lims[i].max, &n))
				return set_err(err, -EINVAL, "%s: must be a "
					       "number from %lu to %lu", key,
					       lims[i].min, lims[i].max);
			*(unsigned int *)((char *)&cfg->lim + lims[i].off) =
				(unsigned int)n;
			return 0;
		}
	}
	if (!strcmp(key, "log-level")) {
		if (parse_log_level(v, &cfg->log_level))
			return set_err(err, -EINVAL, "log-level: '%s': use error, "
				       "warning, info or debug", v ? v : "");
		return 0;
	}
	return set_err(err, -ENOENT, "unknown option '%s'", key);
}

static bool host_addr_ok(const struct usernat_config *cfg, uint32_t a)
{
	uint32_t bcast = cfg->net | ~cfg->mask;

	return (a & cfg->mask) == cfg->net && a != cfg->net && a != bcast;
}

/**
 * host_addr6_ok() - Is @a an address a host may have in prefix6?
 *
 * In the prefix, and not its subnet-router anycast address (interface
 * identifier 0, RFC 4291 2.6.1).
 */
static bool host_addr6_ok(const struct usernat_config *cfg, const uint8_t *a)
{
	static const uint8_t zero[8];

	return !memcmp(a, cfg->prefix6, 8) && memcmp(a + 8, zero, 8);
}

/**
 * config_finish6() - IPv6 defaults (prefix::2, prefix::3) and checks
 * Return: 0, or -EINVAL with *@err set
 */
static int config_finish6(struct usernat_config *cfg, char **err)
{
	char a[INET6_ADDRSTRLEN];

	if (!cfg->gw6_set) {
		memcpy(cfg->gw6, cfg->prefix6, 16);
		cfg->gw6[15] = 2;
	}
	if (!cfg->dns6_set) {
		memcpy(cfg->dns6, cfg->prefix6, 16);
		cfg->dns6[15] = 3;
	}
	if (!cfg->ipv6)
		return 0;
	if (!host_addr6_ok(cfg, cfg->gw6))
		return set_err(err, -EINVAL, "gateway6 %s is not a host "
			       "address in prefix6",
			       inet_ntop(AF_INET6, cfg->gw6, a, sizeof(a)));
	if (!host_addr6_ok(cfg, cfg->dns6))
		return set_err(err, -EINVAL, "dns6 %s is not a host address "
			       "in prefix6",
			       inet_ntop(AF_INET6, cfg->dns6, a, sizeof(a)));
	return 0;
}

/**
 * un_config_finish() - Derive defaults from the network, check consistency
 * Return: 0, or -EINVAL with *@err set
 */
int un_config_finish(struct usernat_config *cfg, char **err)
{
	uint32_t net = ntohl(cfg->net), bcast = net | ~ntohl(cfg->mask);
	char a[16];
	guint i;

	if (!cfg->gw_set)
		cfg->gw = htonl(net + 2);
	if (!cfg->dns_set)
		cfg->dns = htonl(net + 3);
	if (!cfg->start_set)
		cfg->dhcp_start = htonl(net + 15 < bcast ? net + 15 : net + 4);
	if (!cfg->end_set)
		cfg->dhcp_end = htonl(bcast - 1);

	if (!host_addr_ok(cfg, cfg->gw))
		return set_err(err, -EINVAL, "gateway %s is not a host address "
			       "in the network", un_ip4_str(cfg->gw, a));
	if (!host_addr_ok(cfg, cfg->dns))
		return set_err(err, -EINVAL, "dns %s is not a host address in "
			       "the network", un_ip4_str(cfg->dns, a));
	if (!host_addr_ok(cfg, cfg->dhcp_start) ||
	    !host_addr_ok(cfg, cfg->dhcp_end) ||
	    ntohl(cfg->dhcp_start) > ntohl(cfg->dhcp_end))
		return set_err(err, -EINVAL, "DHCP range must lie inside the "
			       "network, start before end");
	for (i = 0; i < cfg->dhcp_hosts->len; i++) {
		struct un_dhcp_host *h =
			&g_array_index(cfg->dhcp_hosts, struct un_dhcp_host, i);

		if (!host_addr_ok(cfg, h->ip) || h->ip == cfg->gw ||
		    h->ip == cfg->dns)
			return set_err(err, -EINVAL, "dhcp-host address %s is "
				       "not a free host address in the network",
				       un_ip4_str(h->ip, a));
	}
	return config_finish6(cfg, err);
}
