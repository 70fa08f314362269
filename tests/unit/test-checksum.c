/* test-checksum.c - Internet checksum (RFC 1071) */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "checksum.h"

/* RFC 1071 3: the example words 0001 f203 f4f5 f6f7 sum to ddf2 */
static void test_rfc1071_example(void)
{
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t c = csum(b, sizeof(b), 0);

	g_assert_cmphex(ntohs(c), ==, (uint16_t)~0xddf2);
}

/* A real IPv4 header verifies to zero with its checksum in place */
static void test_ip_header(void)
{
	uint8_t h[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40,
			0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
			0x00, 0xc7 };

	g_assert_cmphex(csum(h, sizeof(h), 0), ==, 0);
	h[10] = h[11] = 0;
	g_assert_cmphex(ntohs(csum(h, sizeof(h), 0)), ==, 0xb861);
}

/* Odd lengths pad the last byte with zero */
static void test_odd_length(void)
{
	const uint8_t a[] = { 0x12, 0x34, 0x56 };
	const uint8_t b[] = { 0x12, 0x34, 0x56, 0x00 };

	g_assert_cmphex(csum(a, 3, 0), ==, csum(b, 4, 0));
}

/* Splitting the sum over pieces at even offsets gives the same result */
static void test_partial(void)
{
	uint8_t buf[1000];
	uint32_t s;
	int i;

	for (i = 0; i < 1000; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	s = csum_partial(buf, 400, 0);
	s = csum_partial(buf + 400, 600, s);
	g_assert_cmphex(csum_fold(s), ==, csum(buf, 1000, 0));
}

/* Pseudo-header: a UDP datagram with its checksum in place verifies */
static void test_pseudo(void)
{
	uint32_t sa = htonl(0x0a00020f), da = htonl(0x0a000202);
	uint8_t udp[12] = { 0x12, 0x34, 0x00, 0x35, 0x00, 0x0c, 0, 0,
			    'a', 'b', 'c', 'd' };
	uint16_t c = csum(udp, 12, csum_pseudo4(sa, da, 17, 12));

	memcpy(udp + 6, &c, 2);
	g_assert_cmphex(csum(udp, 12, csum_pseudo4(sa, da, 17, 12)), ==, 0);
}

/*
 * ref_csum() - RFC 1071 by the book: big-endian 16-bit words, a zero pad
 * byte after an odd last one, end-around carry after every addition.
 * Return: the checksum in host order (what ntohs() of csum() must give)
 */
static uint16_t ref_csum(const uint8_t *p, size_t len, uint16_t init)
{
	uint32_t sum = init;
	size_t i;

	for (i = 0; i < len; i += 2) {
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* Every length 0..300 and every start offset 0..7 (the 32-byte and 8-byte
 * loops, each tail and misaligned loads), then lengths up to 64 KiB + 7,
 * against the reference, on bytes that make every carry path run */
static void test_reference(void)
{
	static uint8_t buf[65536 + 64];
	GRand *r = g_rand_new_with_seed(1071);
	size_t len, off, i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)g_rand_int(r);
	for (len = 0; len <= 300; len++)
		for (off = 0; off < 8; off++)
			g_assert_cmphex(ntohs(csum(buf + off, len, 0)), ==,
					ref_csum(buf + off, len, 0));
	for (i = 0; i < 200; i++) {
		len = g_rand_int_range(r, 0, 65536 + 8);
		off = g_rand_int_range(r, 0, 8);
		g_assert_cmphex(ntohs(csum(buf + off, len, 0)), ==,
				ref_csum(buf + off, len, 0));
	}
	/* all ones: the accumulators' largest values and the final folds */
	memset(buf, 0xff, sizeof(buf));
	for (len = 0; len <= 65536 + 7; len += 997)
		for (off = 0; off < 8; off++)
			g_assert_cmphex(ntohs(csum(buf + off, len, 0)), ==,
					ref_csum(buf + off, len, 0));
	g_rand_free(r);
}

/* A seed from an earlier csum_partial() (or a pseudo-header) is carried
 * in, including the largest unfolded one; pieces at even offsets of any
 * length add up to the whole */
static void test_reference_seeded(void)
{
	static uint8_t buf[4096];
	GRand *r = g_rand_new_with_seed(768);
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)g_rand_int(r);
	for (i = 0; i < 500; i++) {
		size_t len = g_rand_int_range(r, 0, sizeof(buf) - 8);
		size_t off = g_rand_int_range(r, 0, 8);
		size_t cut = g_rand_int_range(r, 0, len / 2 + 1) * 2;
		uint32_t seed = i ? g_rand_int(r) : 0xffffffff;
		uint16_t fseed = (uint16_t)~csum_fold(seed);
		uint32_t s;

		g_assert_cmphex(ntohs(csum(buf + off, len, seed)), ==,
				ref_csum(buf + off, len, ntohs(fseed)));
		s = csum_partial(buf + off, cut, seed);
		s = csum_partial(buf + off + cut, len - cut, s);
		g_assert_cmphex(ntohs(csum_fold(s)), ==,
				ref_csum(buf + off, len, ntohs(fseed)));
	}
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/checksum/rfc1071-example", test_rfc1071_example);
	g_test_add_func("/checksum/ip-header", test_ip_header);
	g_test_add_func("/checksum/odd-length", test_odd_length);
	g_test_add_func("/checksum/partial", test_partial);
	g_test_add_func("/checksum/pseudo-header", test_pseudo);
	g_test_add_func("/checksum/reference", test_reference);
	g_test_add_func("/checksum/reference-seeded", test_reference_seeded);
	return g_test_run();
}
