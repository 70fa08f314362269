/* frames.h - build guest frames and capture the stack's output in tests */
#ifndef UN_TEST_FRAMES_H
#define UN_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "usernat.h"

struct capture {
	GPtrArray *frames;	/* GByteArray * */
};

extern const uint8_t guest_mac[6];
extern const uint8_t gw_mac[6];
extern const uint8_t bcast_mac[6];

void capture_fn(void *opaque, const void *frame, size_t len);
void capture_clear(struct capture *cap);
GByteArray *capture_nth(struct capture *cap, guint i);

struct usernat *test_instance(struct capture *cap, const char *const *opts);

/* Build an IPv4 frame with a correct header checksum (and L4 checksum for
 * ICMP/UDP when @fix_l4 is set); returns its length */
size_t build_ip4(uint8_t *buf, const uint8_t *dst_mac, const uint8_t *src_mac,
		 const char *saddr, const char *daddr, uint8_t proto,
		 const void *l4, size_t l4len, int fix_l4);
size_t build_arp(uint8_t *buf, uint16_t op, const uint8_t *eth_dst,
		 const uint8_t *sha, const char *spa, const uint8_t *tha,
		 const char *tpa);
uint32_t ip(const char *s);

#endif
