/* frames6.h - build IPv6 guest frames and read the stack's IPv6 output */
#ifndef UN_TEST_FRAMES6_H
#define UN_TEST_FRAMES6_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "frames.h"

/* The guest's link-local address (EUI-64 of guest_mac) and ours */
#define GUEST_LL	"fe80::5054:ff:fe12:3456"
#define GW_LL		"fe80::5055:aff:fe00:202"

void ip6a(const char *s, uint8_t out[16]);
void mcast_mac6(const char *group, uint8_t mac[6]);

/* Ethernet + IPv6 header (next header @next, hop limit @hop) + @payload;
 * returns the frame's length */
size_t build_ip6(uint8_t *buf, const uint8_t *dst_mac, const uint8_t *src_mac,
		 const char *saddr, const char *daddr, uint8_t next,
		 uint8_t hop, const void *payload, size_t len);
/* ICMPv6 message @msg (checksum filled in) after optional extension
 * headers @ext (their first next header is @first; the last one's must
 * say 58) */
size_t build_icmp6_ext(uint8_t *buf, const uint8_t *dst_mac,
		       const uint8_t *src_mac, const char *saddr,
		       const char *daddr, uint8_t hop, uint8_t first,
		       const void *ext, size_t extlen, const void *msg,
		       size_t len);
size_t build_icmp6(uint8_t *buf, const uint8_t *dst_mac,
		   const uint8_t *src_mac, const char *saddr,
		   const char *daddr, uint8_t hop, const void *msg,
		   size_t len);
size_t build_udp6(uint8_t *buf, const uint8_t *dst_mac,
		  const uint8_t *src_mac, const char *saddr, uint16_t sport,
		  const char *daddr, uint16_t dport, const void *data,
		  size_t len);

/* Checks on an output frame: Ethernet type IPv6, payload length matching,
 * upper-layer checksum right; returns the upper-layer data and length */
const uint8_t *out6_l4(GByteArray *f, uint8_t proto, size_t *len);
/* The NDP option of @type in the message @msg of @len bytes with @hlen
 * bytes of fixed part, or NULL */
const uint8_t *ndp_find_opt(const uint8_t *msg, size_t len, size_t hlen,
			    uint8_t type);

/* A new instance, with a first frame from guest_mac sent and its
 * unsolicited RA discarded */
struct usernat *test6_instance(struct capture *cap, const char *const *opts);
void test6_done(struct usernat *un, struct capture *cap);
/* Sum of the drop_* counters and ip6_mcast_ignored */
uint64_t drops6(struct usernat *un);

#endif
