// SPDX-License-Identifier: GPL-2.0-or-later
/* policy.c - egress policy: which new outbound flows guests may open
 *
 * DOC: Theory of operation
 *
 * The policy is an ordered list of rules, --allow NET[:PORTS] and
 * --deny NET[:PORTS], checked once for each NEW outbound flow (a TCP SYN,
 * the first datagram of a UDP flow, the first echo request of an ICMP echo
 * flow, each DNS query to the forwarder), never per packet.  The first rule
 * whose network and port range hold the destination decides; with no
 * matching rule the flow is allowed, unless --restrict is set, which makes
 * the default "deny".
 *
 * Destinations are matched as the guest addressed them: the gateway address
 * stands for the host (its loopback, unless no-map-host-loopback), so
 * "--deny 10.0.2.2/32" cuts guests off the host's own services, and the DNS
 * forwarder's address with port 53 stands for the upstream servers, so
 * "--restrict --allow 10.0.2.3/32:53" keeps name resolution and nothing
 * else.  A rule that names ports matches only TCP and UDP; one without
 * ports matches ICMP echo as well.
 *
 * Rules are IPv4 (ADDR/PREFIX[:PORTS]) or IPv6 (ADDR6/PREFIX, or with
 * ports [ADDR6/PREFIX]:PORTS), and match destinations of their own family,
 * as iptables and ip6tables do: "--deny 0.0.0.0/0" leaves IPv6 alone,
 * --restrict covers both.  One exception: our own IPv6 addresses, gateway6
 * and dns6, are the same host services and DNS relay as the gateway and
 * DNS addresses, so a rule matches them by either address.
 *
 * What the policy never touches: DHCP, ARP, the gateway's own answer to a
 * ping (all served in this process, no host socket), and port forwards
 * (inbound: the host side chose them).  This follows libslirp's
 * restrict=on, which also leaves DHCP, ping of the gateway and forwards
 * working and, like us, does not relay DNS.
 *
 * A refused flow is counted in drop_policy; UDP and ICMP get an ICMP
 * "communication administratively prohibited" (type 3 code 13, RFC 1812
 * 5.2.7.1) quoting the guest's packet; TCP gets a RST (tcp_in.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/ip4.h"
#include "wire/ip6.h"

#define POLICY_LOG_MS	10000	/* "denied" info lines at most this often */

static int policy_err(char **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int policy_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		if (vasprintf(err, fmt, ap) < 0)
			*err = NULL;
		va_end(ap);
	}
	return -EINVAL;
}

/**
 * policy_port() - Parse a port number 1-65535 from @s up to @end
 * Return: 0 with *@out set, or -1
 */
static int policy_port(const char *s, const char *end, uint16_t *out)
{
	unsigned long v = 0;
	const char *p;

	if (s == end || end - s > 5)
		return -1;
	for (p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/**
 * policy_ports() - Parse PORTS, "N" or "N-M" with N <= M, into @r
 * Return: 0, or -1
 */
static int policy_ports(const char *s, struct policy_rule *r)
{
	const char *dash = strchr(s, '-'), *end = s + strlen(s);

	if (dash) {
		if (policy_port(s, dash, &r->port_lo) ||
		    policy_port(dash + 1, end, &r->port_hi))
			return -1;
	} else {
		if (policy_port(s, end, &r->port_lo))
			return -1;
		r->port_hi = r->port_lo;
	}
	return r->port_lo <= r->port_hi ? 0 : -1;
}

/**
 * policy_net() - Parse ADDR[/PREFIX] (prefix 0-32; none means /32) into @r
 * @s:		the text, NUL-terminated, no port part
 *
 * Host bits below the prefix are cleared, as iptables does.
 * Return: 0, or -1
 */
static int policy_net(const char *s, struct policy_rule *r)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long prefix = 32;
	struct in_addr a;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end || prefix > 32)
			return -1;
	}
	r->mask = prefix ? htonl((uint32_t)(0xffffffffULL << (32 - prefix)))
			 : 0;
	r->net = a.s_addr & r->mask;
	return 0;
}

/**
 * policy_net6() - Parse ADDR6[/PREFIX] (prefix 0-128; none means /128)
 * @s:		the text, NUL-terminated, no brackets, no port part
 * Return: 0, or -1
 */
static int policy_net6(const char *s, struct policy_rule *r)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long prefix = 128;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s), i;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET6, addr, r->net6) != 1)
		return -1;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end || prefix > 128)
			return -1;
	}
	r->v6 = true;
	r->prefix6 = (uint8_t)prefix;
	for (i = 0; i < 16; i++) {	/* clear the host bits */
		if (prefix >= 8 * (i + 1))
			continue;
		r->net6[i] &= prefix > 8 * i ?
			      (uint8_t)(0xff << (8 - (prefix - 8 * i))) : 0;
	}
	return 0;
}

/**
 * policy_split() - Split a rule into its network and its PORTS
 * @spec:	NET[:PORTS] for IPv4; ADDR6/PREFIX, or [ADDR6/PREFIX]:PORTS
 * @net:	the network part, output, @size bytes
 * @ports:	output: the PORTS text, or NULL if the rule has none
 * @v6:		output: the network is an IPv6 one
 *
 * Return: 0, or -1 if @spec is malformed
 */
static int policy_split(const char *spec, char *net, size_t size,
			const char **ports, bool *v6)
{
	const char *close, *colon = strchr(spec, ':');
	size_t n;

	*v6 = spec[0] == '[' || (colon && strchr(colon + 1, ':'));
	if (spec[0] == '[') {
		close = strchr(spec, ']');
		if (!close || (close[1] && close[1] != ':'))
			return -1;
		n = (size_t)(close - spec - 1);
		spec++;
		colon = close[1] ? close + 1 : NULL;
	} else if (*v6) {
		n = strlen(spec);	/* bare IPv6 networks have no ports */
		colon = NULL;
	} else {
		n = colon ? (size_t)(colon - spec) : strlen(spec);
	}
	if (n >= size)
		return -1;
	memcpy(net, spec, n);
	net[n] = 0;
	*ports = colon ? colon + 1 : NULL;
	return 0;
}

/**
 * policy_parse() - Parse one rule, NET[:PORTS]
 * @spec:	ADDR/PREFIX, ADDR/PREFIX:PORT or ADDR/PREFIX:FIRST-LAST (a bare
 *		ADDR is ADDR/32); IPv6: ADDR6/PREFIX, [ADDR6/PREFIX]:PORTS (a
 *		bare ADDR6 is ADDR6/128)
 * @allow:	true for an --allow rule, false for --deny
 * @out:	the rule, output
 * @err:	on failure, a newly allocated message (free with free())
 *
 * Return: 0, or -EINVAL with *@err set
 */
int policy_parse(const char *spec, bool allow, struct policy_rule *out,
		 char **err)
{
	const char *key = allow ? "allow" : "deny";
	struct policy_rule r = { .allow = allow, .port_lo = 0,
				 .port_hi = 65535, .any_port = true };
	char net[INET6_ADDRSTRLEN + 8];
	const char *ports;
	bool v6;

	if (err)
		*err = NULL;
	if (!spec || !*spec)
		return policy_err(err, "%s: needs NET[:PORTS], e.g. "
				  "10.0.0.0/8 or 192.0.2.1/32:443", key);
	if (policy_split(spec, net, sizeof(net), &ports, &v6) ||
	    (v6 ? policy_net6(net, &r) : policy_net(net, &r)))
		goto bad;
	if (ports) {
		if (policy_ports(ports, &r))
			goto bad;
		r.any_port = false;
	}
	*out = r;
	return 0;
bad:
	return policy_err(err, "%s: '%s': expected ADDR/PREFIX[:PORTS] or "
			  "[ADDR6/PREFIX][:PORTS] (prefix 0-32 or 0-128, "
			  "PORTS N or N-M, 1-65535)", key, spec);
}

/**
 * policy_rule_match() - Does rule @r hold this destination?
 * @proto:	IPPROTO_TCP4, IPPROTO_UDP4 or IPPROTO_ICMP4
 * @daddr:	network order
 * @dport_h:	host order; ignored for ICMP
 *
 * A rule with ports matches only protocols that have ports.
 */
bool policy_rule_match(const struct policy_rule *r, uint8_t proto,
		       uint32_t daddr, uint16_t dport_h)
{
	if (r->v6 || (daddr & r->mask) != r->net)
		return false;
	if (r->any_port)
		return true;
	if (proto != IPPROTO_TCP4 && proto != IPPROTO_UDP4)
		return false;
	return dport_h >= r->port_lo && dport_h <= r->port_hi;
}

/**
 * policy_rule_match6() - Does IPv6 rule @r hold this destination?
 * @proto:	IPPROTO_TCP4, IPPROTO_UDP4 (same numbers in IPv6) or
 *		IPPROTO_ICMP6
 * @daddr:	16 bytes
 * @dport_h:	host order; ignored for ICMPv6
 */
bool policy_rule_match6(const struct policy_rule *r, uint8_t proto,
			const uint8_t daddr[16], uint16_t dport_h)
{
	unsigned int full = r->prefix6 / 8, bits = r->prefix6 % 8;

	if (!r->v6 || memcmp(daddr, r->net6, full))
		return false;
	if (bits && ((daddr[full] ^ r->net6[full]) & (0xff << (8 - bits))))
		return false;
	if (r->any_port)
		return true;
	if (proto != IPPROTO_TCP4 && proto != IPPROTO_UDP4)
		return false;
	return dport_h >= r->port_lo && dport_h <= r->port_hi;
}

/**
 * policy_check() - May a guest open a new flow to this destination?
 * @un:		instance
 * @proto:	IPPROTO_TCP4, IPPROTO_UDP4 or IPPROTO_ICMP4
 * @daddr:	destination as the guest addressed it, network order
 * @dport_host_order: destination port, host order (0 for ICMP)
 *
 * First matching rule wins; no match: allowed unless restricted.  Pure: it
 * counts and sends nothing (see policy_refuse()).
 *
 * Return: 0 to allow, -EACCES to refuse
 */
int policy_check(const struct usernat *un, uint8_t proto, uint32_t daddr,
		 uint16_t dport_host_order)
{
	const GArray *rules = un->cfg.policy;
	guint i;

	for (i = 0; rules && i < rules->len; i++) {
		const struct policy_rule *r =
			&g_array_index(rules, struct policy_rule, i);

		if (policy_rule_match(r, proto, daddr, dport_host_order))
			return r->allow ? 0 : -EACCES;
	}
	return un->cfg.restricted ? -EACCES : 0;
}

/**
 * policy_check6() - May a guest open a new IPv6 flow to this destination?
 * @un:		instance
 * @proto:	IPPROTO_TCP4, IPPROTO_UDP4 (the same numbers in IPv6) or
 *		IPPROTO_ICMP6
 * @daddr:	destination as the guest addressed it, 16 bytes
 * @dport_host_order: destination port, host order (0 for ICMPv6)
 *
 * IPv6 rules match IPv6 destinations; our gateway6 and dns6 addresses are
 * matched by IPv6 rules on them and by IPv4 rules on their twins, the
 * gateway and DNS addresses, in rule order.  Pure, as policy_check().
 *
 * Return: 0 to allow, -EACCES to refuse
 */
int policy_check6(const struct usernat *un, uint8_t proto,
		  const uint8_t daddr[16], uint16_t dport_host_order)
{
	const GArray *rules = un->cfg.policy;
	uint8_t proto4 = proto == IPPROTO_ICMP6 ? IPPROTO_ICMP4 : proto;
	uint32_t twin = 0;
	guint i;

	if (!memcmp(daddr, un->cfg.gw6, 16))
		twin = un->cfg.gw;
	else if (!memcmp(daddr, un->cfg.dns6, 16))
		twin = un->cfg.dns;
	for (i = 0; rules && i < rules->len; i++) {
		const struct policy_rule *r =
			&g_array_index(rules, struct policy_rule, i);

		if (policy_rule_match6(r, proto, daddr, dport_host_order) ||
		    (twin && policy_rule_match(r, proto4, twin,
					       dport_host_order)))
			return r->allow ? 0 : -EACCES;
	}
	return un->cfg.restricted ? -EACCES : 0;
}

/**
 * policy_refuse() - Check a new UDP or ICMP flow; refuse it if denied
 * @ip:		the guest's first packet of the flow
 * @dport_h:	its destination port, host order (0 for ICMP)
 *
 * A refused flow is counted in drop_policy, logged (at most one info line
 * per POLICY_LOG_MS, every one at debug level), and answered with ICMP
 * "administratively prohibited" for UDP and ICMP.  TCP callers answer with
 * a RST themselves.
 *
 * Return: true if the flow must not be created
 */
bool policy_refuse(struct usernat *un, const struct ip4_in *ip,
		   uint16_t dport_h)
{
	const char *proto = ip->proto == IPPROTO_TCP4 ? "TCP" :
			    ip->proto == IPPROTO_UDP4 ? "UDP" : "ICMP";
	int64_t now;
	char s[16], d[16], port[8] = "";

	if (!policy_check(un, ip->proto, ip->daddr, dport_h))
		return false;
	UN_COUNT(un, drop_policy);
	if (ip->proto == IPPROTO_TCP4 || ip->proto == IPPROTO_UDP4)
		snprintf(port, sizeof(port), ":%u", dport_h);
	now = un_now_ms();
	if (!un->last_policy_log_ms ||
	    now - un->last_policy_log_ms >= POLICY_LOG_MS) {
		un->last_policy_log_ms = now;
		un_info(un, "policy: refused %s %s -> %s%s (further refusals "
			"for %d s only counted, drop_policy)", proto,
			un_ip4_str(ip->saddr, s), un_ip4_str(ip->daddr, d),
			port, POLICY_LOG_MS / 1000);
	} else {
		un_debug(un, "policy: refused %s %s -> %s%s", proto,
			 un_ip4_str(ip->saddr, s), un_ip4_str(ip->daddr, d),
			 port);
	}
	/* RFC 1812 5.2.7.1: code 13, communication administratively
	 * prohibited */
	if (ip->proto != IPPROTO_TCP4)
		icmp4_send_error(un, ip, ICMP_UNREACH, ICMP_UNREACH_ADMIN);
	return true;
}
