/* fuzz-stream.c - libFuzzer target: QEMU stream framing (stream_cut())
 *
 * The input is a byte stream preceded by a control part: byte 0 picks the
 * maximum frame size, then up to 8 bytes give the sizes of successive
 * reads.  The stream is fed to a receive buffer read by read, cut after
 * each read as stream.c does, and the frames must come out exactly as a
 * straightforward reference parser of the whole stream finds them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-glue/stream_frame.h"

#define RXBUF	8192

struct sink {
	const uint8_t *ref;	/* the whole stream */
	size_t ref_len, ref_off;	/* next expected header in ref */
	size_t max_frame;
	unsigned stop_every, n;
};

/* Each frame must be the next one the reference parse finds */
static int frame(void *opaque, const uint8_t *f, size_t len)
{
	struct sink *s = opaque;
	const uint8_t *p = s->ref + s->ref_off;
	size_t flen;

	if (s->ref_len - s->ref_off < STREAM_HLEN)
		abort();
	flen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	       p[3];
	if (flen != len || flen > s->max_frame ||
	    s->ref_len - s->ref_off - STREAM_HLEN < flen ||
	    memcmp(p + STREAM_HLEN, f, len))
		abort();
	s->ref_off += STREAM_HLEN + flen;
	/* sometimes stop early, as stream.c does on a write error */
	return s->stop_every && !(++s->n % s->stop_every);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 0, 13, 14, 64, 1518, RXBUF - 4 };
	uint8_t reads[8], *rx;
	size_t nreads, in = 0, rx_len = 0, used, i = 0;
	struct sink s = { 0 };
	int ret = 0;

	if (size < 2)
		return 0;
	s.max_frame = maxes[data[0] % 6];
	s.stop_every = data[0] / 6 % 4;
	nreads = 1 + data[1] % 8;
	if (size < 2 + nreads)
		return 0;
	memcpy(reads, data + 2, nreads);
	data += 2 + nreads;
	size -= 2 + nreads;
	s.ref = data;
	s.ref_len = size;
	rx = malloc(RXBUF);
	while (in < size && !ret) {
		size_t n = reads[i++ % nreads] * 8 + 1;

		n = n < size - in ? n : size - in;
		n = n < RXBUF - rx_len ? n : RXBUF - rx_len;
		if (!n)
			abort();	/* a full buffer always holds a frame */
		memcpy(rx + rx_len, data + in, n);
		in += n;
		rx_len += n;
		/* a stopped cut resumes from where it left off */
		do {
			size_t before = rx_len;

			ret = stream_cut(rx, rx_len, s.max_frame, frame, &s,
					 &used);
			if (used > rx_len)
				abort();
			memmove(rx, rx + used, rx_len - used);
			rx_len -= used;
			if (rx_len == before)
				break;
		} while (!ret);
	}
	/* everything not yet consumed is what the reference has left */
	if (!ret && s.ref_off + rx_len != size)
		abort();
	if (ret) {
		const uint8_t *p = s.ref + s.ref_off;

		if (rx_len < STREAM_HLEN || s.ref_len - s.ref_off < STREAM_HLEN ||
		    memcmp(rx, p, STREAM_HLEN) ||
		    ((size_t)p[0] << 24 | (size_t)p[1] << 16 |
		     (size_t)p[2] << 8 | p[3]) <= s.max_frame)
			abort();
	}
	free(rx);
	return 0;
}
