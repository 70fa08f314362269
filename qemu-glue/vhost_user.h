/* SPDX-License-Identifier: GPL-2.0-or-later
 * vhost_user.h - vhost-user messages (QEMU docs/interop/vhost-user.rst),
 * and the checks every message passes before it is acted on
 *
 * All numbers are in the host's byte order.  The transport itself is
 * vhost_user_transport_open() in backend/transport.h.
 */
#ifndef UN_VHOST_USER_H
#define UN_VHOST_USER_H

#include <stddef.h>
#include <stdint.h>

#include "qemu-glue/virtq.h"
#include "stack/usernat.h"

/* --- header: request, flags, size ("Message Specification") ----------- */

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;			/* of the payload */
};
#define VHOST_USER_HDR_SIZE	12
#define VHOST_USER_VERSION	0x1
#define VHOST_USER_VERSION_MASK	0x3
#define VHOST_USER_REPLY	(1u << 2)
#define VHOST_USER_NEED_REPLY	(1u << 3)

/* Largest payload we read; anything longer can't be resynchronised */
#define VHOST_USER_MAX_PAYLOAD	4096
#define VHOST_USER_MAX_FDS	8	/* VHOST_MEMORY_BASELINE_NREGIONS */

enum vu_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_REQUEST_MAX = 41,	/* names known up to here */
};

/* --- payloads ---------------------------------------------------------- */

struct vu_state {			/* "A vring state description" */
	uint32_t index;
	uint32_t num;
};

struct vu_addr {			/* "A vring address description" */
	uint32_t index;
	uint32_t flags;
	uint64_t desc;			/* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};
#define VHOST_VRING_F_LOG	0x1

struct vu_region {			/* "Memory regions description" */
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region r[VQ_MEM_MAX_REGIONS];
};
#define VU_MEM_TABLE_HDR	8

/* SET_VRING_KICK/CALL/ERR u64: index in bits 0-7, bit 8 "no fd" */
#define VHOST_USER_VRING_IDX_MASK	0xffull
#define VHOST_USER_VRING_NOFD		(1ull << 8)

/* --- features ---------------------------------------------------------- */

#define VIRTIO_F_ANY_LAYOUT		27
#define VHOST_USER_F_PROTOCOL_FEATURES	30
#define VHOST_USER_PROTOCOL_F_REPLY_ACK	3

/* Offloads (virtio 1.2 5.1.3): partial checksums and TCP segmentation,
 * both ways; no UFO, no ECN, no RSC */
#define VU_OFFLOAD_FEATURES                                                   \
	((1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |    \
	 (1ull << VIRTIO_NET_F_GUEST_TSO4) |                                  \
	 (1ull << VIRTIO_NET_F_GUEST_TSO6) |                                  \
	 (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6))

/* What we offer: one queue pair, offloads, no MQ, no dirty logging */
#define VU_FEATURES                                                           \
	((1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_F_ANY_LAYOUT) |   \
	 (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                              \
	 (1ull << VIRTIO_RING_F_EVENT_IDX) |                                  \
	 (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |                           \
	 (1ull << VIRTIO_F_VERSION_1) | VU_OFFLOAD_FEATURES)

/* Longest frame the guest may send with HOST_TSO4/6: one IPv6 packet of
 * 64 KiB payload, its header, an Ethernet header */
#define VU_GSO_MAX_FRAME	(14 + 40 + 65535)
#define VU_PROTOCOL_FEATURES	(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)

/* virtio 1.2 5.1.2: receiveq1, transmitq1; no MQ, no control queue */
#define VU_QUEUES		2
#define VU_RXQ			0
#define VU_TXQ			1

const char *vu_request_name(uint32_t request);
int vu_hdr_check(const struct vu_hdr *h, const char **why);
int vu_msg_check(const struct vu_hdr *h, const void *payload,
		 unsigned int nfds, const char **why);
int vu_mem_table_check(const struct vu_mem_table *t, const char **why);
int vu_net_hdr_in(const struct virtio_net_hdr *vh, size_t len,
		  uint64_t features, struct usernat_offload *off,
		  const char **why);
void vu_net_hdr_out(const struct usernat_offload *off,
		    struct virtio_net_hdr *vh);
unsigned int vu_link_caps(uint64_t features);

#endif
