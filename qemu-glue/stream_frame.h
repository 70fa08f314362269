/* SPDX-License-Identifier: GPL-2.0-or-later
 * stream_frame.h - cutting QEMU's length-prefixed stream into frames
 */
#ifndef UN_STREAM_FRAME_H
#define UN_STREAM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_HLEN	4	/* big-endian frame length */

/* Called with each complete frame; nonzero stops the cutter */
typedef int (*stream_frame_fn)(void *opaque, const uint8_t *frame,
			       size_t len);

int stream_cut(const uint8_t *buf, size_t len, size_t max_frame,
	       stream_frame_fn fn, void *opaque, size_t *consumed);

#endif
