/* test-config.c - option parsing and validation */
#include <arpa/inet.h>
#include <glib.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "stack.h"

static void capture_none(void *o, const void *f, size_t l)
{
}

static struct usernat_config *cfg_with(const char *const *kv)
{
	struct usernat_config *cfg = usernat_config_new();
	char *err = NULL;

	for (; kv && *kv; kv += 2) {
		g_assert_cmpint(usernat_config_set(cfg, kv[0], kv[1], &err), ==,
				0);
		g_assert_null(err);
	}
	return cfg;
}

/* Defaults are QEMU -netdev user's */
static void test_defaults(void)
{
	struct usernat_config *cfg = cfg_with(NULL);
	struct usernat *un;

	un = usernat_new(cfg, capture_none, NULL, NULL);
	g_assert_nonnull(un);
	g_assert_cmphex(un->cfg.net, ==, htonl(0x0a000200));
	g_assert_cmphex(un->cfg.mask, ==, htonl(0xffffff00));
	g_assert_cmphex(un->cfg.gw, ==, htonl(0x0a000202));
	g_assert_cmphex(un->cfg.dns, ==, htonl(0x0a000203));
	g_assert_cmphex(un->cfg.dhcp_start, ==, htonl(0x0a00020f));
	g_assert_cmphex(un->cfg.dhcp_end, ==, htonl(0x0a0002fe));
	g_assert_cmpuint(un->cfg.mtu, ==, 1500);
	g_assert_true(un->cfg.dhcp);
	g_assert_true(un->cfg.map_host_loopback);
	g_assert_cmpuint(un->cfg.lim.max_half_open, ==, 1024);
	g_assert_cmpuint(un->cfg.lim.max_half_open_all, ==, 4096);
	g_assert_cmpuint(un->cfg.lim.max_icmp_ids, ==, 1024);
	g_assert_cmpuint(un->cfg.lim.max_icmp_ids_guest, ==, 256);
	g_assert_cmpuint(un->cfg.lim.max_leases, ==, 0);
	usernat_free(un);
	usernat_config_free(cfg);
}

/* The resource caps' keys (Hardening 4) */
static void test_limit_keys(void)
{
	const char *const kv[] = { "max-half-open-total", "7",
				   "max-icmp-ids", "8",
				   "max-icmp-ids-per-guest", "9",
				   "max-leases", "10", NULL };
	struct usernat_config *cfg = cfg_with(kv);
	struct usernat *un = usernat_new(cfg, capture_none, NULL, NULL);

	g_assert_nonnull(un);
	g_assert_cmpuint(un->cfg.lim.max_half_open_all, ==, 7);
	g_assert_cmpuint(un->cfg.lim.max_icmp_ids, ==, 8);
	g_assert_cmpuint(un->cfg.lim.max_icmp_ids_guest, ==, 9);
	g_assert_cmpuint(un->cfg.lim.max_leases, ==, 10);
	usernat_free(un);
	usernat_config_free(cfg);
}

/* Derived addresses follow --net, whatever the option order */
static void test_derived(void)
{
	const char *const kv[] = { "dns", "192.168.50.53", "net",
				   "192.168.50.7/24", NULL };
	struct usernat_config *cfg = cfg_with(kv);
	struct usernat *un = usernat_new(cfg, capture_none, NULL, NULL);

	g_assert_nonnull(un);
	g_assert_cmphex(un->cfg.net, ==, htonl(0xc0a83200));
	g_assert_cmphex(un->cfg.gw, ==, htonl(0xc0a83202));
	g_assert_cmphex(un->cfg.dns, ==, htonl(0xc0a83235));
	g_assert_cmphex(un->cfg.dhcp_start, ==, htonl(0xc0a8320f));
	usernat_free(un);
	usernat_config_free(cfg);
}

/* Every malformed value is refused with a message naming the option */
static void test_bad_values(void)
{
	static const char *const bad[][2] = {
		{ "net", "10.0.2.0/33" }, { "net", "10.0.2/24" },
		{ "net", "banana" },	  { "net", NULL },
		{ "gateway", "10.0.2" },  { "dns", "" },
		{ "mtu", "575" },	  { "mtu", "65521" },
		{ "mtu", "15x" },	  { "mtu", "-1500" },
		{ "mac", "01:00:00:00:00:01" }, { "mac", "52:54:00:12:34" },
		{ "lease-time", "59" },	  { "dhcp-host", "52:54:00:12:34:56" },
		{ "dhcp-host", "zz:54:00:12:34:56,10.0.2.9" },
		{ "log-level", "loud" },  { "no-dhcp", "yes" },
		{ "max-half-open-total", "0" }, { "max-icmp-ids", "0" },
		{ "max-icmp-ids-per-guest", "x" }, { "max-leases", "-1" },
		{ "poll-us", "1001" },	  { "poll-us", "5us" },
		{ "frobnicate", "1" },
	};
	struct usernat_config *cfg = usernat_config_new();
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *err = NULL;

		g_assert_cmpint(usernat_config_set(cfg, bad[i][0], bad[i][1],
						   &err), <, 0);
		g_assert_nonnull(err);
		g_assert_cmpuint(strlen(err), >, 5);
		free(err);
	}
	usernat_config_free(cfg);
}

/* Inconsistent combinations fail at instance creation, with a message */
static void test_inconsistent(void)
{
	static const char *const sets[][4] = {
		{ "gateway", "10.0.3.2", NULL, NULL },
		{ "dns", "10.0.2.255", NULL, NULL },
		{ "dhcp-start", "10.0.2.100", "dhcp-end", "10.0.2.50" },
		{ "dhcp-host", "52:54:00:12:34:56,10.0.2.2", NULL, NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(sets); i++) {
		const char *const kv[] = { sets[i][0], sets[i][1], sets[i][2],
					   sets[i][3], NULL };
		struct usernat_config *cfg = cfg_with(kv);
		char *err = NULL;

		g_assert_null(usernat_new(cfg, capture_none, NULL, &err));
		g_assert_nonnull(err);
		free(err);
		usernat_config_free(cfg);
	}
}

/* The flow cap never exceeds the descriptors the process may open */
static void test_fd_budget(void)
{
	struct usernat_config *cfg = cfg_with(NULL);
	struct rlimit old, rl;
	struct usernat *un;

	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
	rl = old;
	rl.rlim_cur = 300;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	un = usernat_new(cfg, capture_none, NULL, NULL);
	g_assert_nonnull(un);
	g_assert_cmpuint(un->cfg.lim.max_flows, ==, 300 - 64);
	usernat_free(un);
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
	un = usernat_new(cfg, capture_none, NULL, NULL);
	if (old.rlim_cur == RLIM_INFINITY || old.rlim_cur >= 32768 + 64)
		g_assert_cmpuint(un->cfg.lim.max_flows, ==, 32768);
	usernat_free(un);
	usernat_config_free(cfg);
}

/* Two instances in one process don't share state */
static void test_two_instances(void)
{
	const char *const kv[] = { "net", "10.9.0.0/16", NULL };
	struct usernat_config *a = cfg_with(NULL), *b = cfg_with(kv);
	struct usernat *ua = usernat_new(a, capture_none, NULL, NULL);
	struct usernat *ub = usernat_new(b, capture_none, NULL, NULL);

	g_assert_cmphex(ua->cfg.gw, ==, htonl(0x0a000202));
	g_assert_cmphex(ub->cfg.gw, ==, htonl(0x0a090002));
	g_assert_cmpint(usernat_fd(ua), !=, usernat_fd(ub));
	usernat_free(ua);
	usernat_free(ub);
	usernat_config_free(a);
	usernat_config_free(b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/limit-keys", test_limit_keys);
	g_test_add_func("/config/derived", test_derived);
	g_test_add_func("/config/bad-values", test_bad_values);
	g_test_add_func("/config/inconsistent", test_inconsistent);
	g_test_add_func("/config/two-instances", test_two_instances);
	g_test_add_func("/config/fd-budget", test_fd_budget);
	return g_test_run();
}
