/* test-arp.c - ARP: answers for our addresses only, RFC 5227 forms */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "frames.h"
#include "stack.h"

static const uint8_t zero_mac[6];
static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static void assert_reply(struct capture *cap, const char *spa,
			 const uint8_t *to_mac, const char *to_ip)
{
	GByteArray *f;
	uint32_t a;

	g_assert_cmpuint(cap->frames->len, ==, 1);
	f = capture_nth(cap, 0);
	g_assert_cmpuint(f->len, >=, 42);
	g_assert_cmpmem(f->data, 6, to_mac, 6);
	g_assert_cmpmem(f->data + 6, 6, gw_mac, 6);
	g_assert_cmpint(f->data[12], ==, 0x08);
	g_assert_cmpint(f->data[13], ==, 0x06);
	g_assert_cmpint(f->data[21], ==, 2);		/* reply */
	g_assert_cmpmem(f->data + 22, 6, gw_mac, 6);	/* sha */
	memcpy(&a, f->data + 28, 4);
	g_assert_cmphex(a, ==, ip(spa));
	g_assert_cmpmem(f->data + 32, 6, to_mac, 6);	/* tha */
	memcpy(&a, f->data + 38, 4);
	g_assert_cmphex(a, ==, ip(to_ip));
}

static void test_gateway_and_dns(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t buf[64];
	size_t n;

	n = build_arp(buf, 1, bcast_mac, guest_mac, "10.0.2.15", zero_mac,
		      "10.0.2.2");
	usernat_input(un, buf, n);
	assert_reply(&cap, "10.0.2.2", guest_mac, "10.0.2.15");
	capture_clear(&cap);

	n = build_arp(buf, 1, bcast_mac, guest_mac, "10.0.2.15", zero_mac,
		      "10.0.2.3");
	usernat_input(un, buf, n);
	assert_reply(&cap, "10.0.2.3", guest_mac, "10.0.2.15");
	g_assert_cmpuint(usernat_stat(un, "arp_requests"), ==, 2);
	/* and the guest was learned */
	g_assert_nonnull(un_guest_find(un, ip("10.0.2.15")));
	g_assert_cmpmem(un_guest_find(un, ip("10.0.2.15"))->mac, 6, guest_mac,
			6);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Never answer for addresses we don't own: other guests, outside hosts */
static void test_not_ours(void)
{
	static const char *const targets[] = { "10.0.2.16", "10.0.2.15",
					       "192.168.1.1", "10.0.2.255",
					       "0.0.0.0" };
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t buf[64];
	size_t i, n;

	for (i = 0; i < G_N_ELEMENTS(targets); i++) {
		n = build_arp(buf, 1, bcast_mac, guest_mac, "10.0.2.15",
			      zero_mac, targets[i]);
		usernat_input(un, buf, n);
	}
	g_assert_cmpuint(cap.frames->len, ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* RFC 5227: probes for our address get an answer; gratuitous ARPs for
 * other addresses are learned silently; claims on ours are defended once */
static void test_rfc5227(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t buf[64];
	size_t n;

	/* probe for a free address: silence */
	n = build_arp(buf, 1, bcast_mac, guest_mac, "0.0.0.0", zero_mac,
		      "10.0.2.15");
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 0);

	/* probe for the gateway address: answered */
	n = build_arp(buf, 1, bcast_mac, guest_mac, "0.0.0.0", zero_mac,
		      "10.0.2.2");
	usernat_input(un, buf, n);
	assert_reply(&cap, "10.0.2.2", guest_mac, "0.0.0.0");
	capture_clear(&cap);

	/* announcement of a guest address: learned, no reply */
	n = build_arp(buf, 1, bcast_mac, other_mac, "10.0.2.20", zero_mac,
		      "10.0.2.20");
	usernat_input(un, buf, n);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_nonnull(un_guest_find(un, ip("10.0.2.20")));

	/* a guest claims the gateway address: one defence, then quiet */
	n = build_arp(buf, 2, bcast_mac, other_mac, "10.0.2.2", bcast_mac,
		      "10.0.2.2");
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "*claims our address 10.0.2.2*");
	usernat_input(un, buf, n);
	usernat_input(un, buf, n);
	g_test_assert_expected_messages();
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpmem(capture_nth(&cap, 0)->data, 6, bcast_mac, 6);
	g_assert_cmpmem(capture_nth(&cap, 0)->data + 22, 6, gw_mac, 6);
	g_assert_cmpuint(usernat_stat(un, "arp_defended"), ==, 1);
	g_assert_null(un_guest_find(un, ip("10.0.2.2")));
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Malformed ARP is dropped and counted, at every truncation */
static void test_malformed(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	uint8_t buf[64], bad[64];
	size_t n, i;

	n = build_arp(buf, 1, bcast_mac, guest_mac, "10.0.2.15", zero_mac,
		      "10.0.2.2");
	for (i = 14; i < n; i++)
		usernat_input(un, buf, i);
	g_assert_cmpuint(usernat_stat(un, "drop_arp_malformed"), ==, n - 14);

	memcpy(bad, buf, n);
	bad[18] = 8;	/* hln */
	usernat_input(un, bad, n);
	memcpy(bad, buf, n);
	bad[21] = 9;	/* op */
	usernat_input(un, bad, n);
	memcpy(bad, buf, n);
	bad[22] = 1;	/* multicast sender */
	usernat_input(un, bad, n);
	g_assert_cmpuint(usernat_stat(un, "drop_arp_malformed"), ==, n - 14 + 3);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/arp/gateway-and-dns", test_gateway_and_dns);
	g_test_add_func("/arp/not-ours", test_not_ours);
	g_test_add_func("/arp/rfc5227", test_rfc5227);
	g_test_add_func("/arp/malformed", test_malformed);
	return g_test_run();
}
