/* fuzz-vhost-user.c - libFuzzer target: vhost-user messages and split
 * virtqueues under hostile control
 *
 * The first byte picks what the rest is:
 *
 *  even: a stream of vhost-user messages, each one byte of descriptor
 *	count then a 12-byte header then its payload, through the checks the
 *	transport applies (vu_hdr_check(), vu_msg_check(), which includes
 *	vu_mem_table_check()).  Each payload is copied to a buffer of exactly
 *	its size, so ASan sees any overread.
 *
 *  odd: guest memory.  Byte 1 gives the queue size (2^(b % 9)), byte 2
 *	the features and memory layout, bytes 3-4 the starting available
 *	index; the rest is copied over two 12 KiB regions of fake guest
 *	memory (guest-physical 0x1000 and 0x4000, adjacent, or 0x20000 with
 *	bit 4 of byte 2), which hold the descriptor table (offset 0), the
 *	available ring (0x1000), the used ring (0x1400) and any buffers or
 *	indirect tables the input points at.  Then frames are taken from and
 *	put into the ring (vq_tx_frame(), vq_rx_frame()) with used entries
 *	published as the transport does, until the ring is empty or broken.
 *	The last byte gives the virtio-net offload features acked (bit 0
 *	CSUM, 1 HOST_TSO4, 2 HOST_TSO6, 3 GUEST_CSUM and GUEST_TSO4/6): the
 *	header of each frame taken goes through vu_net_hdr_in() and, if
 *	accepted, the frame and its offload information into a whole stack
 *	(usernat_input_offload(), one instance for the process with TSO on,
 *	whose output is checked for sane lengths and offload information);
 *	frames put carry GSO headers in turn.
 *	The memory is one malloc'd block, so ASan sees any access outside it;
 *	the operation count is bounded, so a loop that the walker misses
 *	shows up as a timeout.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "qemu-glue/vhost_user.h"
#include "qemu-glue/virtq.h"
#include "stack/usernat.h"

#define REGION		0x3000
#define GPA0		0x1000
#define UVA0		0x7f0000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_messages(const uint8_t *data, size_t size)
{
	struct vu_hdr h;
	const char *why;
	unsigned int nfds;
	uint8_t *p;

	while (size >= 1 + VHOST_USER_HDR_SIZE) {
		nfds = data[0] % 16;
		memcpy(&h, data + 1, sizeof(h));
		data += 1 + VHOST_USER_HDR_SIZE;
		size -= 1 + VHOST_USER_HDR_SIZE;
		if (vu_hdr_check(&h, &why))
			return;
		if (h.size > size)
			return;
		p = malloc(h.size ? h.size : 1);
		memcpy(p, data, h.size);
		if (vu_msg_check(&h, p, nfds, &why) && !why)
			abort();	/* every failure has a reason */
		vu_request_name(h.request);
		free(p);
		data += h.size;
		size -= h.size;
	}
}

/* fuzz_features() - The offload features acked, from bits of @b */
static uint64_t fuzz_features(uint8_t b)
{
	uint64_t f = 0;

	if (b & 1)
		f |= 1ull << VIRTIO_NET_F_CSUM;
	if (b & 2)
		f |= 1ull << VIRTIO_NET_F_HOST_TSO4;
	if (b & 4)
		f |= 1ull << VIRTIO_NET_F_HOST_TSO6;
	if (b & 8)
		f |= (1ull << VIRTIO_NET_F_GUEST_CSUM) |
		     (1ull << VIRTIO_NET_F_GUEST_TSO4) |
		     (1ull << VIRTIO_NET_F_GUEST_TSO6);
	return f;
}

static void stack_out(void *opaque, const void *frame, size_t len,
		      const struct usernat_offload *off)
{
	if (len < 14 || len > VU_GSO_MAX_FRAME || !off ||
	    (off->gso_type != USERNAT_GSO_NONE && off->gso_size == 0) ||
	    ((off->flags & USERNAT_OFFLOAD_F_NEEDS_CSUM) &&
	     (size_t)off->csum_start + off->csum_offset + 2 > len))
		abort();
}

static void stack_out_plain(void *opaque, const void *frame, size_t len)
{
	abort();	/* the offload output is set */
}

/* fuzz_stack() - The process's stack instance: offloads on, nothing leaves
 * this machine (upstream DNS a closed loopback port; run it in an
 * unshared network namespace, as tests/fuzz/isolated does) */
static struct usernat *fuzz_stack(void)
{
	static struct usernat *un;
	struct usernat_config *cfg;

	if (un)
		return un;
	cfg = usernat_config_new();
	usernat_config_set(cfg, "dns-upstream", "127.0.0.1:9", NULL);
	usernat_config_set(cfg, "log-level", "error", NULL);
	un = usernat_new(cfg, stack_out_plain, NULL, NULL);
	usernat_config_free(cfg);
	if (!un)
		abort();
	usernat_set_output_offload(un, stack_out);
	if (usernat_set_offload(un, USERNAT_LINK_CSUM | USERNAT_LINK_TSO4 |
				USERNAT_LINK_TSO6))
		abort();
	return un;
}

/* fuzz_hdr_in() - Check the header of a frame taken, as the transport
 * does, and give the stack what it accepts */
static void fuzz_hdr_in(const struct vq_frame *f, uint64_t features)
{
	struct usernat_offload off;
	const char *why = NULL;

	if (vu_net_hdr_in(&f->hdr, f->len, features, &off, &why)) {
		if (!why)
			abort();	/* every refusal has a reason */
		return;
	}
	if ((off.flags & USERNAT_OFFLOAD_F_NEEDS_CSUM) &&
	    (size_t)off.csum_start + off.csum_offset + 2 > f->len)
		abort();	/* accepted a checksum outside the frame */
	usernat_input_offload(fuzz_stack(), f->data, f->len, &off);
	usernat_flush(fuzz_stack());
}

static void fuzz_ring(const uint8_t *data, size_t size)
{
	static uint8_t gather[VU_GSO_MAX_FRAME], sink[VU_GSO_MAX_FRAME];
	uint8_t *mem = calloc(1, 2 * REGION);
	uint64_t features = fuzz_features(data[size - 1]);
	size_t tx_max = features & (3ull << VIRTIO_NET_F_HOST_TSO4) ?
			sizeof(gather) : 1518;
	struct usernat_offload gso = { USERNAT_OFFLOAD_F_NEEDS_CSUM,
				       USERNAT_GSO_TCPV4, 54, 1460, 34, 16 };
	struct virtio_net_hdr vh;
	uint8_t frame[3000];
	struct vq_mem m = { .n = 2 };
	struct vq q;
	struct vq_frame f;
	const char *why;
	uint8_t opt;
	size_t hdr_len;
	int i, r;

	opt = data[2];
	vq_reset(&q);
	q.size = 1u << (data[1] % 9);
	q.indirect = opt & 1;
	q.event_idx = opt & 2;
	hdr_len = opt & 4 ? VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEN_LEGACY;
	m.r[0] = (struct vq_mem_region){ GPA0, REGION, UVA0, mem };
	m.r[1] = (struct vq_mem_region){ opt & 16 ? 0x20000 : GPA0 + REGION,
					 REGION, UVA0 + 0x100000,
					 mem + REGION };
	q.desc_uva = UVA0;
	q.avail_uva = UVA0 + 0x1000;
	q.used_uva = UVA0 + 0x1400;
	memcpy(mem, data + 5, size - 5 < 2 * REGION ? size - 5 : 2 * REGION);
	if (vq_map(&q, &m, &why))
		abort();	/* this layout always fits */
	q.last_avail = (uint16_t)(data[3] | data[4] << 8);
	vq_start(&q);
	for (i = 0; i < (int)sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	for (i = 0; i < 64; i++) {
		if ((opt >> 5) & 1 || i % 2) {
			r = vq_tx_frame(&q, &m, hdr_len, gather, tx_max, &f,
					&why);
			if (r == 1) {
				if (f.data && f.len > sizeof(gather))
					abort();
				/* read it all, as the stack would */
				if (f.data) {
					memcpy(sink, f.data, f.len);
					fuzz_hdr_in(&f, features);
				}
				vq_push(&q, f.head, 0);
			}
		} else {
			vu_net_hdr_out(&gso, &vh);
			r = vq_rx_frame(&q, &m, hdr_len, opt & 8,
					i % 4 == 2 ? &vh : NULL, frame,
					60 + (size_t)i * 40, &why);
		}
		if (r < 0 && !why)
			abort();
		if (r < 0)
			break;
		vq_publish(&q);
		if (r == 0 && !vq_kick_rearm(&q) && (opt >> 6))
			break;
	}
	free(mem);
}

static void quiet(const gchar *d, GLogLevelFlags l, const gchar *msg,
		  gpointer u)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_log_set_default_handler(quiet, NULL);
	if (size < 5)
		return 0;
	if (data[0] & 1)
		fuzz_ring(data, size);
	else
		fuzz_messages(data + 1, size - 1);
	return 0;
}
