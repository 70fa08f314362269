/* test-spoof.c - anti-spoofing: a source address DHCP leased to one MAC is
 * dropped (drop_spoof) when another MAC uses it; static guests, addresses
 * nobody leased and --no-dhcp networks are not affected */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "dhcp.h"
#include "frames.h"
#include "stack.h"

static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static const uint8_t mac_static[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99 };

/* A DHCP message of @type with chaddr @mac (RFC 2131), broadcast from
 * 0.0.0.0 by @eth_src; @req_ip: option 50 (and our server id), or NULL;
 * @ciaddr: or NULL */
static void dhcp_send_from(struct usernat *un, const uint8_t *eth_src,
			   const uint8_t *mac, uint8_t type,
			   const char *req_ip, const char *ciaddr)
{
	uint8_t m[300] = { 1, 1, 6, 0, 0x11, 0x22, 0x33, 0x44 }, frame[400];
	uint8_t l4[8 + sizeof(m)];
	uint16_t sp = htons(68), dp = htons(67);
	uint32_t a;
	size_t n, o = 240;

	memcpy(m + 28, mac, 6);
	if (ciaddr) {
		a = ip(ciaddr);
		memcpy(m + 12, &a, 4);
	}
	m[236] = 0x63; m[237] = 0x82; m[238] = 0x53; m[239] = 0x63;
	m[o++] = 53; m[o++] = 1; m[o++] = type;
	if (req_ip) {
		a = ip(req_ip);
		m[o++] = 50; m[o++] = 4;
		memcpy(m + o, &a, 4);
		o += 4;
		a = ip("10.0.2.2");
		m[o++] = 54; m[o++] = 4;
		memcpy(m + o, &a, 4);
		o += 4;
	}
	m[o] = 255;
	memcpy(l4, &sp, 2);
	memcpy(l4 + 2, &dp, 2);
	memcpy(l4 + 8, m, sizeof(m));
	n = build_ip4(frame, bcast_mac, eth_src, "0.0.0.0", "255.255.255.255",
		      17, l4, sizeof(l4), 1);
	usernat_input(un, frame, n);
}

static void dhcp_send(struct usernat *un, const uint8_t *mac, uint8_t type,
		      const char *req_ip, const char *ciaddr)
{
	dhcp_send_from(un, mac, mac, type, req_ip, ciaddr);
}

/* DISCOVER, then REQUEST what was offered: the address leased to @mac */
static void lease(struct usernat *un, struct capture *cap,
		  const uint8_t *mac, const char *want)
{
	uint64_t acks = usernat_stat(un, "dhcp_ack");
	char got[16];
	uint32_t yi;

	capture_clear(cap);
	dhcp_send(un, mac, 1, NULL, NULL);
	g_assert_cmpuint(cap->frames->len, ==, 1);
	memcpy(&yi, capture_nth(cap, 0)->data + 42 + 16, 4);
	g_assert_cmpstr(inet_ntop(AF_INET, &yi, got, sizeof(got)), ==, want);
	dhcp_send(un, mac, 3, want, NULL);
	g_assert_cmpuint(usernat_stat(un, "dhcp_ack"), ==, acks + 1);
	capture_clear(cap);
}

/* An echo request to the gateway from @mac at @saddr; true if answered */
static bool ping_gw(struct usernat *un, struct capture *cap,
		    const uint8_t *mac, const char *saddr)
{
	uint8_t icmp[16] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 }, frame[100];
	size_t n = build_ip4(frame, gw_mac, mac, saddr, "10.0.2.2", 1, icmp,
			     sizeof(icmp), 1);

	capture_clear(cap);
	usernat_input(un, frame, n);
	return cap->frames->len == 1 &&
	       !memcmp(capture_nth(cap, 0)->data, mac, 6);
}

static void free_instance(struct usernat *un, struct capture *cap)
{
	usernat_free(un);
	g_ptr_array_unref(cap->frames);
}

/* Guest A holds 10.0.2.15; B using it is dropped, A is served */
static void test_dynamic_lease(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	const struct un_guest *g;
	uint8_t owner[6];

	lease(un, &cap, guest_mac, "10.0.2.15");
	g_assert_true(dhcp_ip_owner(un, ip("10.0.2.15"), owner));
	g_assert_cmpmem(owner, 6, guest_mac, 6);
	g_assert_false(dhcp_ip_owner(un, ip("10.0.2.16"), owner));

	g_assert_true(ping_gw(un, &cap, guest_mac, "10.0.2.15"));
	g_assert_false(ping_gw(un, &cap, mac_b, "10.0.2.15"));
	g_assert_cmpuint(usernat_stat(un, "drop_spoof"), ==, 1);
	/* the neighbour table still has A for .15 */
	g_assert_nonnull(g = un_guest_find(un, ip("10.0.2.15")));
	g_assert_cmpmem(g->mac, 6, guest_mac, 6);
	g_assert_true(ping_gw(un, &cap, guest_mac, "10.0.2.15"));

	/* an address nobody leased is free for a static guest */
	g_assert_true(ping_gw(un, &cap, mac_b, "10.0.2.99"));
	/* B gets its own lease, and uses it */
	lease(un, &cap, mac_b, "10.0.2.16");
	g_assert_true(ping_gw(un, &cap, mac_b, "10.0.2.16"));
	g_assert_false(ping_gw(un, &cap, guest_mac, "10.0.2.16"));
	g_assert_cmpuint(usernat_stat(un, "drop_spoof"), ==, 2);
	free_instance(un, &cap);
}

/* ARP from B claiming A's leased address neither gets an answer nor
 * re-points A's neighbour entry (which port forwards use) */
static void test_arp(void)
{
	static const uint8_t zero[6];
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	const struct un_guest *g;
	uint8_t buf[64];
	size_t n;

	lease(un, &cap, guest_mac, "10.0.2.15");
	n = build_arp(buf, 1, bcast_mac, mac_b, "10.0.2.15", zero, "10.0.2.2");
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_spoof"), ==, 1);
	g_assert_nonnull(g = un_guest_find(un, ip("10.0.2.15")));
	g_assert_cmpmem(g->mac, 6, guest_mac, 6);
	/* the owner's own ARP is answered */
	n = build_arp(buf, 1, bcast_mac, guest_mac, "10.0.2.15", zero,
		      "10.0.2.2");
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	free_instance(un, &cap);
}

/* A released lease has no owner any more; only its client may release it */
static void test_released(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t owner[6];

	lease(un, &cap, guest_mac, "10.0.2.15");
	g_assert_false(ping_gw(un, &cap, mac_b, "10.0.2.15"));
	/* B can't release (or decline) A's lease in A's name */
	dhcp_send_from(un, mac_b, guest_mac, 7, NULL, "10.0.2.15");
	dhcp_send_from(un, mac_b, guest_mac, 4, "10.0.2.15", NULL);
	g_assert_cmpuint(usernat_stat(un, "drop_spoof"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "dhcp_release"), ==, 0);
	g_assert_cmpuint(usernat_stat(un, "dhcp_decline"), ==, 0);
	g_assert_true(dhcp_ip_owner(un, ip("10.0.2.15"), owner));
	dhcp_send(un, guest_mac, 7, NULL, "10.0.2.15");	/* DHCPRELEASE */
	g_assert_cmpuint(usernat_stat(un, "dhcp_release"), ==, 1);
	g_assert_false(dhcp_ip_owner(un, ip("10.0.2.15"), owner));
	g_assert_true(ping_gw(un, &cap, mac_b, "10.0.2.15"));
	free_instance(un, &cap);
}

/* A static lease, once bound, belongs to its MAC too */
static void test_static_lease(void)
{
	static const char *const opts[] = {
		"dhcp-host", "52:54:00:12:34:99,10.0.2.50,fixed", NULL,
	};
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);

	/* not bound yet: not enforced */
	g_assert_true(ping_gw(un, &cap, mac_b, "10.0.2.50"));
	lease(un, &cap, mac_static, "10.0.2.50");
	g_assert_true(ping_gw(un, &cap, mac_static, "10.0.2.50"));
	g_assert_false(ping_gw(un, &cap, mac_b, "10.0.2.50"));
	g_assert_cmpuint(usernat_stat(un, "drop_spoof"), ==, 1);
	free_instance(un, &cap);
}

/* --no-dhcp: no leases, so any address goes (static guests) */
static void test_no_dhcp(void)
{
	static const char *const opts[] = { "no-dhcp", NULL, NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint8_t owner[6];

	g_assert_false(dhcp_ip_owner(un, ip("10.0.2.15"), owner));
	g_assert_true(ping_gw(un, &cap, guest_mac, "10.0.2.15"));
	g_assert_true(ping_gw(un, &cap, mac_b, "10.0.2.15"));
	g_assert_cmpuint(usernat_stat(un, "drop_spoof"), ==, 0);
	free_instance(un, &cap);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spoof/dynamic-lease", test_dynamic_lease);
	g_test_add_func("/spoof/released", test_released);
	g_test_add_func("/spoof/arp", test_arp);
	g_test_add_func("/spoof/static-lease", test_static_lease);
	g_test_add_func("/spoof/no-dhcp", test_no_dhcp);
	return g_test_run();
}
