/* SPDX-License-Identifier: GPL-2.0-or-later
 * checksum.h - Internet checksum (RFC 1071) and pseudo-headers
 */
#ifndef UN_CHECKSUM_H
#define UN_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
uint16_t csum_fold(uint32_t sum);
uint16_t csum(const void *buf, size_t len, uint32_t init);
uint32_t csum_pseudo4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		      uint16_t len);
uint32_t csum_pseudo6(const uint8_t *saddr, const uint8_t *daddr,
		      uint8_t proto, uint32_t len);

#endif
