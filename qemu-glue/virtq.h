/* SPDX-License-Identifier: GPL-2.0-or-later
 * virtq.h - virtio 1.x split virtqueues, device side, over guest memory
 * described by a vhost-user memory table
 *
 * Nothing here does I/O: the memory table is filled in by the vhost-user
 * transport (vhost_user.c) from its mmap()s, or by a test from a malloc'd
 * buffer.  Every address, length and index read from guest memory is
 * checked before use; a violation returns -EINVAL with a static reason.
 */
#ifndef UN_VIRTQ_H
#define UN_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* --- wire formats (virtio 1.2 2.7, all fields little-endian) ----------- */

#define VQ_MAX_SIZE		32768	/* 2.7: largest Queue Size */

struct vq_desc {			/* 2.7.5 */
	uint64_t addr;			/* guest-physical */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));
#define VQ_DESC_F_NEXT		1
#define VQ_DESC_F_WRITE		2
#define VQ_DESC_F_INDIRECT	4
#define VQ_DESC_SIZE		16

/* Available ring (2.7.6): flags, idx, ring[size], used_event */
#define VQ_AVAIL_F_NO_INTERRUPT	1
#define VQ_AVAIL_IDX_OFF	2
#define VQ_AVAIL_RING_OFF	4
#define VQ_AVAIL_SIZE(n)	(4 + 2 * (size_t)(n) + 2)

/* Used ring (2.7.8): flags, idx, ring[size] of {le32 id, le32 len},
 * avail_event */
#define VQ_USED_IDX_OFF		2
#define VQ_USED_RING_OFF	4
#define VQ_USED_ELEM_SIZE	8
#define VQ_USED_SIZE(n)		(4 + 8 * (size_t)(n) + 2)

/* Feature bits that change how the rings are read (virtio 1.2 6) */
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* virtio-net (virtio 1.2 5.1.3, 5.1.6) */
/* CSUM, HOST_TSO*: the driver sends partial checksums, TSO frames;
 * GUEST_CSUM, GUEST_TSO*: it takes them */
#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_HDR_LEN		12	/* with num_buffers */
#define VIRTIO_NET_HDR_LEN_LEGACY	10	/* legacy, no MRG_RXBUF */
#define VIRTIO_NET_HDR_NUM_BUFFERS_OFF	10

/* 5.1.6: struct virtio_net_hdr, little-endian; num_buffers follows */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
} __attribute__((packed));
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_F_DATA_VALID	2
#define VIRTIO_NET_HDR_F_RSC_INFO	4
#define VIRTIO_NET_HDR_GSO_NONE		0
#define VIRTIO_NET_HDR_GSO_TCPV4	1
#define VIRTIO_NET_HDR_GSO_UDP		3
#define VIRTIO_NET_HDR_GSO_TCPV6	4
#define VIRTIO_NET_HDR_GSO_UDP_L4	5
#define VIRTIO_NET_HDR_GSO_ECN		0x80

/* --- guest memory ------------------------------------------------------ */

#define VQ_MEM_MAX_REGIONS	8	/* SET_MEM_TABLE's limit */

/**
 * struct vq_mem_region - One piece of guest memory, as we can reach it
 * @gpa:	guest-physical address of the first byte
 * @size:	length in bytes, > 0; @gpa + @size and @uva + @size don't wrap
 * @uva:	the front-end's (QEMU's) virtual address of the first byte
 * @host:	our pointer to the first byte
 */
struct vq_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint8_t *host;
};

struct vq_mem {
	struct vq_mem_region r[VQ_MEM_MAX_REGIONS];
	unsigned int n;
};

void *vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len,
		 uint64_t *got);
void *vq_mem_gpa_whole(const struct vq_mem *m, uint64_t gpa, uint64_t len);
void *vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len);

/* --- virtqueues -------------------------------------------------------- */

#define VQ_MAX_IOV		64	/* segments kept per chain */
#define VQ_RX_MAX_BUFS		128	/* buffers per RX frame */

/**
 * struct vq - One split virtqueue, device side
 * @size:	Queue Size (power of two, <= VQ_MAX_SIZE), 0 until set
 * @desc_uva, @avail_uva, @used_uva: ring addresses, front-end virtual
 * @indirect:	VIRTIO_RING_F_INDIRECT_DESC negotiated
 * @event_idx:	VIRTIO_RING_F_EVENT_IDX negotiated
 * @desc, @avail, @used: our pointers to the rings, NULL until vq_map()
 * @last_avail:	next available ring entry to take
 * @shadow_avail: avail->idx as last read
 * @used_idx:	next used ring entry to fill
 * @published:	used->idx as last written (entries up to @used_idx wait)
 * @signalled_valid: @published is a valid "old" for the EVENT_IDX test
 */
struct vq {
	uint32_t size;
	uint64_t desc_uva, avail_uva, used_uva;
	bool indirect;
	bool event_idx;
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;
	uint16_t shadow_avail;
	uint16_t used_idx;
	uint16_t published;
	bool signalled_valid;
};

/**
 * struct vq_chain - One descriptor chain taken from the available ring
 * @head:	descriptor index to give back in the used ring
 * @n_out:	device-readable segments, iov[0 .. n_out)
 * @n_in:	device-writable segments, iov[n_out .. n_out + n_in)
 * @out_len:	bytes in the readable segments kept
 * @in_len:	bytes in the writable segments kept
 * @truncated:	the chain had more than VQ_MAX_IOV segments; only the
 *		first ones are in @iov (all were validated)
 * @iov:	segments, pointing into guest memory
 */
struct vq_chain {
	uint16_t head;
	unsigned int n_out, n_in;
	size_t out_len, in_len;
	bool truncated;
	struct iovec iov[VQ_MAX_IOV];
};

/**
 * struct vq_frame - A frame the guest transmits (TX queue)
 * @head:	chain to return with vq_push(), length 0
 * @data:	the frame: in guest memory if it was contiguous there, else
 *		in the gather buffer; NULL if the chain held no usable frame
 * @len:	frame length without the virtio-net header
 * @hdr:	a copy of its virtio-net header (all of it, whatever
 *		hdr_len; num_buffers left zero), valid if @data is
 */
struct vq_frame {
	uint16_t head;
	const void *data;
	size_t len;
	struct virtio_net_hdr hdr;
};

void vq_reset(struct vq *q);
int vq_map(struct vq *q, const struct vq_mem *m, const char **why);
void vq_start(struct vq *q);
int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c,
	   const char **why);
void vq_push(struct vq *q, uint16_t head, uint32_t len);
bool vq_publish(struct vq *q);
bool vq_kick_rearm(struct vq *q);

int vq_tx_frame(struct vq *q, const struct vq_mem *m, size_t hdr_len,
		uint8_t *buf, size_t buf_size, struct vq_frame *f,
		const char **why);
int vq_rx_frame(struct vq *q, const struct vq_mem *m, size_t hdr_len,
		bool mrg_rxbuf, const struct virtio_net_hdr *vh,
		const void *frame, size_t len, const char **why);

size_t vq_iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		     void *buf, size_t len);
size_t vq_iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		       const void *buf, size_t len);

#endif
