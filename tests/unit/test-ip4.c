/* test-ip4.c - IPv4 validation, gateway echo, Ethernet filtering */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "checksum.h"
#include "frames.h"
#include "stack.h"

static size_t echo_frame(uint8_t *buf, const char *dst, size_t payload)
{
	uint8_t icmp[1500] = { 8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01 };
	size_t i;

	for (i = 0; i < payload; i++)
		icmp[8 + i] = (uint8_t)i;
	return build_ip4(buf, gw_mac, guest_mac, "10.0.2.15", dst, 1, icmp,
			 8 + payload, 1);
}

static void test_echo_gateway(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t buf[2000];
	GByteArray *f;
	size_t n = echo_frame(buf, "10.0.2.2", 56);
	uint32_t a;

	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	f = capture_nth(&cap, 0);
	g_assert_cmpuint(f->len, ==, n);
	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	g_assert_cmphex(csum(f->data + 14, 20, 0), ==, 0);	/* IP header */
	memcpy(&a, f->data + 26, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.2"));
	memcpy(&a, f->data + 30, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.15"));
	g_assert_cmpint(f->data[34], ==, 0);			/* echo reply */
	g_assert_cmphex(csum(f->data + 34, n - 34, 0), ==, 0);
	g_assert_cmpmem(f->data + 38, n - 38, buf + 38, n - 38); /* id, data */
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_gw"), ==, 1);

	/* the DNS address answers too */
	n = echo_frame(buf, "10.0.2.3", 0);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Each kind of bad header is dropped, counted under its own reason */
static void test_bad_headers(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t good[200], b[200];
	size_t n = echo_frame(good, "10.0.2.2", 20), i;
	uint16_t c;

#define MUTATE(stmt, ctr)						\
	do {								\
		uint64_t before = usernat_stat(un, ctr);		\
		memcpy(b, good, n);					\
		stmt;							\
		usernat_input(un, b, n);				\
		g_assert_cmpuint(usernat_stat(un, ctr), ==, before + 1); \
	} while (0)
#define FIXCSUM() \
	(b[24] = b[25] = 0, c = csum(b + 14, 20, 0), memcpy(b + 24, &c, 2))

	MUTATE(b[14] = 0x65, "drop_ip_version");
	MUTATE((b[14] = 0x44, FIXCSUM()), "drop_ip_hdrlen");
	MUTATE((b[14] = 0x4f, FIXCSUM()), "drop_ip_hdrlen");
	MUTATE((b[17] = 0xff, FIXCSUM()), "drop_ip_totlen");
	MUTATE((b[17] = 10, FIXCSUM()), "drop_ip_totlen");
	MUTATE(b[24] ^= 1, "drop_ip_csum");
	MUTATE((b[20] = 0x20, FIXCSUM()), "drop_ip_frag");
	MUTATE((b[21] = 0x10, FIXCSUM()), "drop_ip_frag");
	MUTATE((memset(b + 26, 0xff, 4), FIXCSUM()), "drop_ip_src");
	MUTATE((b[26] = 224, FIXCSUM()), "drop_ip_src");
	MUTATE((b[33] = 16, FIXCSUM()), "drop_ip_dst");	/* another guest */
	MUTATE((b[23] = 99, FIXCSUM()), "drop_ip_proto");
	MUTATE(b[40] ^= 1, "drop_icmp_csum");
	MUTATE(b[6] = 1, "drop_eth_src");
	MUTATE(b[0] = 0x33, "not_for_us");
	MUTATE((b[12] = 0x88, b[13] = 0xcc), "drop_ethertype");
	/* truncation at every length is caught by some check, never crashes */
	for (i = 0; i < n; i++)
		usernat_input(un, good, i);
	g_assert_cmpuint(usernat_stat(un, "drop_eth_short"), ==, 14);
	g_assert_cmpuint(usernat_stat(un, "drop_ip_short"), ==, 20);
	/* no answer to any of it except the protocol-unreachable error */
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpint(capture_nth(&cap, 0)->data[34], ==, 3);
	g_assert_cmpint(capture_nth(&cap, 0)->data[35], ==, 2);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Frames bigger than the MTU are dropped; Ethernet padding is trimmed */
static void test_sizes(void)
{
	const char *const opts[] = { "mtu", "576", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	uint8_t buf[2000];
	size_t n = echo_frame(buf, "10.0.2.2", 600);

	usernat_input(un, buf, n);
	g_assert_cmpuint(usernat_stat(un, "drop_oversize"), ==, 1);
	n = echo_frame(buf, "10.0.2.2", 4);	/* 46 bytes: needs padding */
	memset(buf + n, 0xee, 60 - n);
	usernat_input(un, buf, 60);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpuint(usernat_stat(un, "icmp_echo_gw"), ==, 1);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* TTL 1 toward the outside: time exceeded from the gateway */
static void test_ttl(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t buf[200];
	size_t n = echo_frame(buf, "192.0.2.1", 8);
	uint16_t c;

	buf[22] = 1;
	buf[24] = buf[25] = 0;
	c = csum(buf + 14, 20, 0);
	memcpy(buf + 24, &c, 2);
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpint(capture_nth(&cap, 0)->data[34], ==, 11);
	g_assert_cmphex(csum(capture_nth(&cap, 0)->data + 34,
			     capture_nth(&cap, 0)->len - 34, 0), ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ip4/echo-gateway", test_echo_gateway);
	g_test_add_func("/ip4/bad-headers", test_bad_headers);
	g_test_add_func("/ip4/sizes", test_sizes);
	g_test_add_func("/ip4/ttl", test_ttl);
	return g_test_run();
}
