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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/checksum/rfc1071-example", test_rfc1071_example);
	g_test_add_func("/checksum/ip-header", test_ip_header);
	g_test_add_func("/checksum/odd-length", test_odd_length);
	g_test_add_func("/checksum/partial", test_partial);
	g_test_add_func("/checksum/pseudo-header", test_pseudo);
	return g_test_run();
}
