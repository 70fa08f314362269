// SPDX-License-Identifier: GPL-2.0-or-later
/* stream_frame.c - cutting QEMU's length-prefixed stream into frames
 *
 * Pure: no I/O, no state, so the fuzzer can drive it over any byte stream
 * split at any read boundaries (tests/fuzz/fuzz-stream.c).
 */
#include "qemu-glue/stream_frame.h"

/**
 * stream_cut() - Hand every complete frame in @buf to @fn
 * @buf:	received bytes, starting at a length header
 * @len:	bytes in @buf
 * @max_frame:	largest acceptable frame length
 * @fn:		called with each complete frame (pointing into @buf; runts
 *		included); returning nonzero stops the cutter after that frame
 * @opaque:	passed to @fn
 * @consumed:	set to the bytes used up: whole frames handed to @fn.  On
 *		error, the offset of the offending length header.
 *
 * A trailing partial frame is left for the caller to complete.  The caller
 * keeps ownership of @buf.
 *
 * Return: 0, or -1 if a length header says more than @max_frame (the
 * stream can't be resynchronised after that)
 */
int stream_cut(const uint8_t *buf, size_t len, size_t max_frame,
	       stream_frame_fn fn, void *opaque, size_t *consumed)
{
	size_t off = 0;

	while (len - off >= STREAM_HLEN) {
		const uint8_t *p = buf + off;
		size_t flen = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
			      (size_t)p[2] << 8 | p[3];

		if (flen > max_frame) {
			*consumed = off;
			return -1;
		}
		if (len - off - STREAM_HLEN < flen)
			break;
		off += STREAM_HLEN + flen;
		if (fn(opaque, p + STREAM_HLEN, flen))
			break;
	}
	*consumed = off;
	return 0;
}
