/* test-icmp.c - ICMP echo NAT through ping sockets and a raw socket
 *
 * The tests run in a network namespace of their own (unshare(), so they
 * need root and are skipped otherwise): its loopback carries a test address,
 * 198.18.0.1 (benchmarking range, RFC 2544), that the "host" answers pings
 * for, and nothing else is reachable.  net.ipv4.ping_group_range is per
 * namespace, so opening it here leaves the host's setting alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checksum.h"
#include "frames.h"
#include "stack.h"

#define TEST_ADDR	"198.18.0.1"

static const uint8_t guest2_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static bool have_netns;

static void pump(struct usernat *un, struct capture *cap, guint n, int ms)
{
	int64_t end = g_get_monotonic_time() + (int64_t)ms * 1000;
	struct pollfd p = { .fd = usernat_fd(un), .events = POLLIN };

	while (cap->frames->len < n && g_get_monotonic_time() < end) {
		if (poll(&p, 1, 20) > 0)
			usernat_service(un);
	}
}

static int set_ping_range(const char *range)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(range, f) < 0;
	return fclose(f) || ret ? -1 : 0;
}

/* Our own namespace: lo up, TEST_ADDR on it */
static bool setup_netns(void)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNET))
		return false;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	g_assert_cmpint(fd, >=, 0);
	strcpy(ifr.ifr_name, "lo");
	g_assert_cmpint(ioctl(fd, SIOCGIFFLAGS, &ifr), ==, 0);
	ifr.ifr_flags |= IFF_UP;
	g_assert_cmpint(ioctl(fd, SIOCSIFFLAGS, &ifr), ==, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo:1");
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = ip(TEST_ADDR);
	g_assert_cmpint(ioctl(fd, SIOCSIFADDR, &ifr), ==, 0);
	sin->sin_addr.s_addr = 0xffffffff;
	g_assert_cmpint(ioctl(fd, SIOCSIFNETMASK, &ifr), ==, 0);
	close(fd);
	return true;
}

/* Drop or restore CAP_NET_RAW in the effective set */
static void cap_net_raw(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	g_assert_cmpint(syscall(SYS_capget, &h, d), ==, 0);
	if (on)
		d[0].effective |= 1U << CAP_NET_RAW;
	else
		d[0].effective &= ~(1U << CAP_NET_RAW);
	g_assert_cmpint(syscall(SYS_capset, &h, d), ==, 0);
}

static void guest_ping(struct usernat *un, const uint8_t *mac,
		       const char *saddr, const char *daddr, uint16_t id,
		       uint16_t seq, uint8_t fill, size_t payload)
{
	uint8_t icmp[1500] = { 8, 0 }, frame[1600];
	size_t n;

	memcpy(icmp + 4, &id, 2);
	memcpy(icmp + 6, &seq, 2);
	memset(icmp + 8, fill, payload);
	n = build_ip4(frame, gw_mac, mac, saddr, daddr, 1, icmp, 8 + payload,
		      1);
	usernat_input(un, frame, n);
}

/* Check an echo reply frame toward a guest */
static void check_reply(GByteArray *f, const uint8_t *mac, const char *src,
			const char *dst, uint16_t id, uint16_t seq,
			uint8_t fill, size_t payload)
{
	const uint8_t *e = f->data + 34;
	uint32_t a;
	size_t i;

	g_assert_cmpmem(f->data, 6, mac, 6);
	g_assert_cmpint(f->data[23], ==, 1);
	g_assert_cmphex(csum(f->data + 14, 20, 0), ==, 0);
	memcpy(&a, f->data + 26, 4);
	g_assert_cmphex(a, ==, ip(src));
	memcpy(&a, f->data + 30, 4);
	g_assert_cmphex(a, ==, ip(dst));
	g_assert_cmpuint(f->len, >=, 34 + 8 + payload);
	g_assert_cmpint(e[0], ==, 0);
	g_assert_cmpint(e[1], ==, 0);
	g_assert_cmphex(csum(e, 8 + payload, 0), ==, 0);
	g_assert_cmphex(*(const uint16_t *)(e + 4), ==, id);
	g_assert_cmphex(*(const uint16_t *)(e + 6), ==, seq);
	for (i = 0; i < payload; i++)
		g_assert_cmpint(e[8 + i], ==, fill);
}

static struct usernat *icmp_instance(struct capture *cap, const char *range)
{
	if (!have_netns)
		return NULL;
	g_assert_cmpint(set_ping_range(range), ==, 0);
	return test_instance(cap, NULL);
}

/* Flows as usernat_flows_foreach() reports them */
static void flow_collect(void *opaque, const struct usernat_flow *f)
{
	if (!strcmp(f->proto, "icmp"))
		g_array_append_val((GArray *)opaque, *f);
}

/* The listing shows one echo flow: the guest's identifier as its port, the
 * address pinged, ICMP bytes each way */
static void check_listing(struct usernat *un, uint16_t id, uint64_t bytes)
{
	GArray *fl = g_array_new(FALSE, FALSE, sizeof(struct usernat_flow));
	const struct usernat_flow *f;

	usernat_flows_foreach(un, flow_collect, fl);
	g_assert_cmpuint(fl->len, ==, 1);
	f = &g_array_index(fl, struct usernat_flow, 0);
	g_assert_cmpstr(f->state, ==, "active");
	g_assert_cmpint(f->inbound, ==, 0);
	g_assert_cmphex(f->guest_addr, ==, ip("10.0.2.15"));
	g_assert_cmpuint(f->guest_port, ==, ntohs(id));
	g_assert_true(g_str_has_prefix(f->host, TEST_ADDR ":"));
	g_assert_cmpuint(f->bytes_from_guest, ==, bytes);
	g_assert_cmpuint(f->bytes_to_guest, ==, bytes);
	g_assert_cmpuint(f->age_ms, <, 10000);
	g_array_unref(fl);
}

/* One guest pings the host's address; the reply carries its identifier */
static void echo(const char *range)
{
	struct capture cap;
	struct usernat *un = icmp_instance(&cap, range);
	uint16_t id = htons(0x4242);
	int seq;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	for (seq = 1; seq <= 3; seq++) {
		capture_clear(&cap);
		guest_ping(un, guest_mac, "10.0.2.15", TEST_ADDR, id,
			   htons((uint16_t)seq), (uint8_t)seq, 56);
		pump(un, &cap, 1, 2000);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		check_reply(capture_nth(&cap, 0), guest_mac, TEST_ADDR,
			    "10.0.2.15", id, htons((uint16_t)seq),
			    (uint8_t)seq, 56);
	}
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_out"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_in"), ==, 3);
	check_listing(un, id, 3 * (8 + 56));
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Two guests with the same identifier each get their own replies */
static void two_guests(const char *range)
{
	struct capture cap;
	struct usernat *un = icmp_instance(&cap, range);
	uint16_t id = htons(0x1111), seq = htons(7);
	bool seen1 = false, seen2 = false;
	guint i;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	guest_ping(un, guest_mac, "10.0.2.15", TEST_ADDR, id, seq, 0xaa, 32);
	guest_ping(un, guest2_mac, "10.0.2.16", TEST_ADDR, id, seq, 0xbb, 48);
	pump(un, &cap, 2, 2000);
	pump(un, &cap, 3, 200);		/* and no more than that */
	g_assert_cmpuint(cap.frames->len, ==, 2);
	for (i = 0; i < 2; i++) {
		GByteArray *f = capture_nth(&cap, i);

		if (!memcmp(f->data, guest_mac, 6)) {
			check_reply(f, guest_mac, TEST_ADDR, "10.0.2.15", id,
				    seq, 0xaa, 32);
			seen1 = true;
		} else {
			check_reply(f, guest2_mac, TEST_ADDR, "10.0.2.16", id,
				    seq, 0xbb, 48);
			seen2 = true;
		}
	}
	g_assert_true(seen1 && seen2);
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* The host gets an ICMP error about a flow's echo request: the guest gets
 * it too, quoting its own request.  The error is forged here, from the
 * request seen on our namespace's loopback. */
static void errors(const char *range)
{
	struct capture cap;
	struct usernat *un = icmp_instance(&cap, range);
	uint16_t id = htons(0x5151), seq = htons(3);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = ip(TEST_ADDR) };
	struct timeval tv = { .tv_sec = 2 };
	uint8_t req[1500], err[8 + 28] = { 3, 1 };
	const uint8_t *e = NULL;
	uint16_t c;
	uint32_t a;
	ssize_t n;
	guint i;
	int raw;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	g_assert_cmpint(raw, >=, 0);
	setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	guest_ping(un, guest_mac, "10.0.2.15", TEST_ADDR, id, seq, 0x77, 16);
	do {		/* usernat's request, as it went out */
		n = recv(raw, req, sizeof(req), 0);
		g_assert_cmpint(n, >=, 28);
	} while (req[20] != 8);
	memcpy(err + 8, req, 28);	/* RFC 792: IP header + 8 bytes */
	c = csum(err, sizeof(err), 0);
	memcpy(err + 2, &c, 2);
	g_assert_cmpint(sendto(raw, err, sizeof(err), 0,
			       (struct sockaddr *)&to, sizeof(to)), ==,
			sizeof(err));
	pump(un, &cap, 2, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 2);	/* reply and error */
	for (i = 0; i < cap.frames->len; i++)
		if (capture_nth(&cap, i)->data[34] == 3)
			e = capture_nth(&cap, i)->data + 34;
	g_assert_nonnull(e);
	g_assert_cmpint(e[1], ==, 1);
	g_assert_cmphex(csum(e, 8 + 28, 0), ==, 0);
	memcpy(&a, e - 34 + 26, 4);
	g_assert_cmphex(a, ==, ip(TEST_ADDR));		/* who reported it */
	memcpy(&a, e + 8 + 12, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.15"));	/* the guest's request */
	memcpy(&a, e + 8 + 16, 4);
	g_assert_cmphex(a, ==, ip(TEST_ADDR));
	g_assert_cmpint(e[8 + 9], ==, 1);
	g_assert_cmpint(e[28], ==, 8);
	g_assert_cmphex(*(const uint16_t *)(e + 32), ==, id);
	g_assert_cmphex(*(const uint16_t *)(e + 34), ==, seq);
	g_assert_cmpuint(usernat_stat(un, "icmp_errors_relayed"), ==, 1);
	close(raw);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

static void test_ping_errors(void)
{
	errors("0 2147483647");
}

static void test_raw_errors(void)
{
	errors("1 0");
}

static void test_ping_echo(void)
{
	echo("0 2147483647");
}

static void test_ping_two_guests(void)
{
	two_guests("0 2147483647");
}

static void test_raw_echo(void)
{
	echo("1 0");
}

static void test_raw_two_guests(void)
{
	two_guests("1 0");
}

/* No route to the destination on the host: net unreachable to the guest */
static void test_unreachable(void)
{
	struct capture cap;
	struct usernat *un = icmp_instance(&cap, "0 2147483647");
	const uint8_t *e;
	uint32_t a;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	guest_ping(un, guest_mac, "10.0.2.15", "198.51.100.1", htons(9),
		   htons(1), 0, 8);
	pump(un, &cap, 1, 1000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	e = capture_nth(&cap, 0)->data + 34;
	g_assert_cmpint(e[0], ==, 3);
	g_assert_cmpint(e[1], ==, 0);
	memcpy(&a, e + 8 + 16, 4);
	g_assert_cmphex(a, ==, ip("198.51.100.1"));
	g_assert_cmpuint(usernat_stat(un, "drop_icmp_send"), ==, 1);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Loopback, zero, broadcast and multicast never go out; the gateway still
 * answers for itself */
static void test_martians(void)
{
	struct capture cap;
	struct usernat *un = icmp_instance(&cap, "0 2147483647");
	static const char *const bad[] = { "127.0.0.1", "0.0.0.0",
					   "10.0.2.255", "224.0.0.1" };
	size_t i;

	if (!un) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	for (i = 0; i < G_N_ELEMENTS(bad); i++)
		guest_ping(un, guest_mac, "10.0.2.15", bad[i], htons(5),
			   htons(1), 0, 8);
	pump(un, &cap, 1, 200);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	/* loopback and 0/8 are already dropped by ip4.c */
	g_assert_cmpuint(usernat_stat(un, "drop_icmp_dst") +
			 usernat_stat(un, "drop_ip_dst"), ==,
			 G_N_ELEMENTS(bad));
	guest_ping(un, guest_mac, "10.0.2.15", "10.0.2.2", htons(5), htons(1),
		   0, 8);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_gw"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Neither ping nor raw sockets: only the gateway answers */
static void test_off(void)
{
	struct capture cap;
	struct usernat *un;

	if (!have_netns) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	cap_net_raw(false);
	un = icmp_instance(&cap, "1 0");
	guest_ping(un, guest_mac, "10.0.2.15", TEST_ADDR, htons(3), htons(1),
		   0, 8);
	pump(un, &cap, 1, 300);
	cap_net_raw(true);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_icmp_nat"), ==, 1);
	guest_ping(un, guest_mac, "10.0.2.15", "10.0.2.2", htons(3), htons(1),
		   0, 8);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* The flow limit covers echo flows: admin prohibited past it */
static void test_limit(void)
{
	const char *const opts[] = { "max-flows", "1", "log-level", "error",
				     NULL };
	struct capture cap;
	struct usernat *un;
	const uint8_t *e;

	if (!have_netns) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	g_assert_cmpint(set_ping_range("0 2147483647"), ==, 0);
	un = test_instance(&cap, opts);
	guest_ping(un, guest_mac, "10.0.2.15", TEST_ADDR, htons(1), htons(1),
		   0, 8);
	guest_ping(un, guest_mac, "10.0.2.15", TEST_ADDR, htons(2), htons(1),
		   0, 8);
	pump(un, &cap, 2, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	e = capture_nth(&cap, 0)->data + 34;	/* the refusal comes first */
	g_assert_cmpint(e[0], ==, 3);
	g_assert_cmpint(e[1], ==, 13);
	check_reply(capture_nth(&cap, 1), guest_mac, TEST_ADDR, "10.0.2.15",
		    htons(1), htons(1), 0, 8);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 1);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Expect frame @i to be "administratively prohibited" to @mac */
static void check_admin(struct capture *cap, guint i, const uint8_t *mac)
{
	const uint8_t *e = capture_nth(cap, i)->data + 34;

	g_assert_cmpmem(capture_nth(cap, i)->data, 6, mac, 6);
	g_assert_cmpint(e[0], ==, 3);
	g_assert_cmpint(e[1], ==, 13);
}

/* One ping of @mac/@src with @id, expecting its reply (or, @refused, the
 * refusal) as the only frame */
static void ping_expect(struct usernat *un, struct capture *cap,
			const uint8_t *mac, const char *src, uint16_t id,
			uint16_t seq, bool refused)
{
	capture_clear(cap);
	guest_ping(un, mac, src, TEST_ADDR, htons(id), htons(seq), 0x5a, 16);
	pump(un, cap, 1, 2000);
	pump(un, cap, 2, 50);			/* and no more */
	g_assert_cmpuint(cap->frames->len, ==, 1);
	if (refused)
		check_admin(cap, 0, mac);
	else
		check_reply(capture_nth(cap, 0), mac, TEST_ADDR, src,
			    htons(id), htons(seq), 0x5a, 16);
}

/* max-icmp-ids-per-guest: a guest pinging with fresh identifiers is
 * refused past its cap, counted; its flows go on; another guest still
 * gets flows of its own */
static void id_limit_guest(const char *range)
{
	const char *const opts[] = { "max-icmp-ids-per-guest", "3",
				     "log-level", "error", NULL };
	struct capture cap;
	struct usernat *un;
	uint16_t id;

	if (!have_netns) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	g_assert_cmpint(set_ping_range(range), ==, 0);
	un = test_instance(&cap, opts);
	for (id = 1; id <= 3; id++)
		ping_expect(un, &cap, guest_mac, "10.0.2.15", id, 1, false);
	for (id = 4; id <= 6; id++)
		ping_expect(un, &cap, guest_mac, "10.0.2.15", id, 1, true);
	g_assert_cmpuint(usernat_stat(un, "icmp_id_limit"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 3);
	for (id = 1; id <= 3; id++)
		ping_expect(un, &cap, guest_mac, "10.0.2.15", id, 2, false);
	ping_expect(un, &cap, guest2_mac, "10.0.2.16", 4, 1, false);
	ping_expect(un, &cap, guest2_mac, "10.0.2.16", 1, 1, false);
	g_assert_cmpuint(usernat_stat(un, "icmp_flows"), ==, 5);
	g_assert_cmpuint(usernat_stat(un, "icmp_id_limit"), ==, 3);
	g_assert_cmpuint(un->flows, ==, 5);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

static void test_id_limit_guest_ping(void)
{
	id_limit_guest("0 2147483647");
}

static void test_id_limit_guest_raw(void)
{
	id_limit_guest("1 0");
}

/* max-icmp-ids: the instance's cap, below max-flows; flows end, room is
 * made (the flow count goes back to zero when the instance is freed) */
static void test_id_limit_instance(void)
{
	const char *const opts[] = { "max-icmp-ids", "2",
				     "log-level", "error", NULL };
	struct capture cap;
	struct usernat *un;

	if (!have_netns) {
		g_test_skip("needs root and network namespaces");
		return;
	}
	g_assert_cmpint(set_ping_range("0 2147483647"), ==, 0);
	un = test_instance(&cap, opts);
	ping_expect(un, &cap, guest_mac, "10.0.2.15", 1, 1, false);
	ping_expect(un, &cap, guest2_mac, "10.0.2.16", 1, 1, false);
	ping_expect(un, &cap, guest2_mac, "10.0.2.16", 2, 1, true);
	ping_expect(un, &cap, guest_mac, "10.0.2.15", 2, 1, true);
	g_assert_cmpuint(usernat_stat(un, "icmp_id_limit"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 0);
	ping_expect(un, &cap, guest_mac, "10.0.2.15", 1, 2, false);
	ping_expect(un, &cap, guest2_mac, "10.0.2.16", 1, 2, false);
	g_assert_cmpuint(un->flows, ==, 2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	have_netns = setup_netns();
	g_test_add_func("/icmp/ping-socket/echo", test_ping_echo);
	g_test_add_func("/icmp/ping-socket/two-guests", test_ping_two_guests);
	g_test_add_func("/icmp/ping-socket/errors", test_ping_errors);
	g_test_add_func("/icmp/raw/echo", test_raw_echo);
	g_test_add_func("/icmp/raw/errors", test_raw_errors);
	g_test_add_func("/icmp/raw/two-guests", test_raw_two_guests);
	g_test_add_func("/icmp/unreachable", test_unreachable);
	g_test_add_func("/icmp/martians", test_martians);
	g_test_add_func("/icmp/off", test_off);
	g_test_add_func("/icmp/limit", test_limit);
	g_test_add_func("/icmp/id-limit/guest-ping", test_id_limit_guest_ping);
	g_test_add_func("/icmp/id-limit/guest-raw", test_id_limit_guest_raw);
	g_test_add_func("/icmp/id-limit/instance", test_id_limit_instance);
	return g_test_run();
}
