// SPDX-License-Identifier: GPL-2.0-or-later
/* vhost_user.c - a vhost-user net device backend: QEMU's guest NIC rings,
 * served from this process
 *
 * DOC: Theory of operation
 *
 * We listen on a unix socket; QEMU (-chardev socket + -netdev vhost-user)
 * connects and drives us with the messages of docs/interop/vhost-user.rst:
 * feature negotiation, the guest's memory table (each region a file
 * descriptor, passed with SCM_RIGHTS, that we mmap()), and for each of the
 * two virtqueues (0 receive, 1 transmit) its size, addresses, base index
 * and kick/call eventfds.  From then on frames move through guest memory
 * without QEMU: the guest kicks the TX eventfd, we read its frames out of
 * the ring (virtq.c); the stack's frames are copied straight into RX
 * buffers, and the call eventfd interrupts the guest.
 *
 * Offloads: we offer VIRTIO_NET_F_CSUM and HOST_TSO4/6 (the guest may send
 * partial checksums and TCP super-frames of up to 64 KiB, which the stack
 * takes as they are: usernat_input_offload()), and GUEST_CSUM and
 * GUEST_TSO4/6 (the stack marks the checksums it computed DATA_VALID and
 * sends TCP data in GSO frames of up to 64 KiB with a partial checksum,
 * spread over as many mergeable RX buffers as it takes; no TSO without
 * mergeable buffers).  A TSO frame that finds too few buffers posted is
 * dropped like any other (tx_drops) and TCP resends by MSS; in practice
 * there are far fewer such drops than with 1500-byte frames (a TCG guest
 * downloading 192 MiB: none, against about 1,600 without offloads), as
 * the guest keeps up with fewer, larger frames.  Under emulation
 * the guest's CPU is what limits throughput, and this spares it almost all
 * per-segment and per-byte checksum work.  The acked features become the
 * stack's link capabilities (vu_link_caps(), @t.set_offload) when the
 * driver sets them, and none again when QEMU goes away.  Every header the
 * guest sends is checked against the acked features (vu_net_hdr_in()) and
 * a frame with a bad one is dropped and counted (n_bad).
 *
 * Messages: each is a 12-byte header and a payload of at most
 * VHOST_USER_MAX_PAYLOAD bytes.  The socket is non-blocking and a message
 * may arrive in pieces, so it is assembled in @vt->msg; reads never ask for
 * more than the rest of the current message, so descriptors that come with
 * a read belong to it.  A complete message is checked (vu_msg_check():
 * size, descriptor count, indexes, values) before anything is done with
 * it.  A malformed message, a memory table we can't map, or a broken ring
 * closes the connection with one log line; the daemon goes on and the next
 * QEMU may connect.  One QEMU at a time: while one is connected another is
 * refused, unless the first has in fact hung up.
 *
 * Memory: each region is mapped whole, from file offset 0 to its
 * mmap_offset + size, after checking that the file is that long (touching
 * a mapping past the end of its file would raise SIGBUS).  Ring addresses
 * are QEMU's virtual addresses, buffer addresses guest-physical; both are
 * translated through the table by virtq.c.  A new table replaces the old
 * one only once all of it is mapped; running rings are then found again.
 *
 * Rings: a ring starts at SET_VRING_KICK and stops at GET_VRING_BASE
 * (which answers with the next available index), as the spec says; with
 * VHOST_USER_F_PROTOCOL_FEATURES it also waits for SET_VRING_ENABLE.  A
 * started but disabled TX ring is drained and its frames discarded; a
 * disabled RX ring gets no frames.
 *
 * Batching: TX is drained on a kick, at most VU_TX_BUDGET frames per
 * wake-up (the rest is picked up on a later loop iteration, so the host
 * side is not starved); each frame goes to the stack from guest memory if
 * it is contiguous there, else gathered once.  Replies the stack produces
 * meanwhile fill RX buffers.  Used entries are pushed as chains complete,
 * but used->idx is written, and the guest interrupted (as EVENT_IDX or the
 * NO_INTERRUPT flag allow), once per batch: at the end of a kick, of a
 * message, or, for frames the stack sends on its own (host data), on the
 * next loop iteration through a private eventfd (@vt->ww).  When the guest
 * has posted no RX buffer a frame is dropped and counted (tx_drops); TCP
 * recovers.
 *
 * A failure while the stack may still be reading a frame in guest memory
 * (a send from inside usernat_input()) must not unmap that memory: it
 * only marks the connection dead and shuts the socket down, and the
 * teardown happens from the loop.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#include "backend/transport.h"
#include "backend/unixsock.h"
#include "qemu-glue/vhost_user.h"
#include "qemu-glue/virtq.h"

#define VU_TX_BUDGET		128	/* TX frames per wake-up */
#define VU_READS_PER_WAKE	64	/* socket reads per wake-up */

/* --- message checks (no I/O: unit-tested and fuzzed) ------------------ */

enum vu_payload { PL_NONE, PL_U64, PL_STATE, PL_ADDR, PL_MEM };
enum vu_fds { FD_NONE, FD_VRING, FD_MEM };

/**
 * struct vu_req_info - What a request carries
 * @name:	for log lines
 * @ok:		we handle it (the others need features we don't offer)
 * @payload:	payload type
 * @fds:	descriptors that come with it
 * @reply:	it has a reply of its own (REPLY_ACK adds none)
 */
struct vu_req_info {
	const char *name;
	bool ok;
	uint8_t payload;
	uint8_t fds;
	bool reply;
};

static const struct vu_req_info vu_reqs[VHOST_USER_REQUEST_MAX] = {
	[1] = { "GET_FEATURES", true, PL_NONE, FD_NONE, true },
	[2] = { "SET_FEATURES", true, PL_U64, FD_NONE, false },
	[3] = { "SET_OWNER", true, PL_NONE, FD_NONE, false },
	[4] = { "RESET_OWNER", true, PL_NONE, FD_NONE, false },
	[5] = { "SET_MEM_TABLE", true, PL_MEM, FD_MEM, false },
	[6] = { .name = "SET_LOG_BASE" },
	[7] = { .name = "SET_LOG_FD" },
	[8] = { "SET_VRING_NUM", true, PL_STATE, FD_NONE, false },
	[9] = { "SET_VRING_ADDR", true, PL_ADDR, FD_NONE, false },
	[10] = { "SET_VRING_BASE", true, PL_STATE, FD_NONE, false },
	[11] = { "GET_VRING_BASE", true, PL_STATE, FD_NONE, true },
	[12] = { "SET_VRING_KICK", true, PL_U64, FD_VRING, false },
	[13] = { "SET_VRING_CALL", true, PL_U64, FD_VRING, false },
	[14] = { "SET_VRING_ERR", true, PL_U64, FD_VRING, false },
	[15] = { "GET_PROTOCOL_FEATURES", true, PL_NONE, FD_NONE, true },
	[16] = { "SET_PROTOCOL_FEATURES", true, PL_U64, FD_NONE, false },
	[17] = { "GET_QUEUE_NUM", true, PL_NONE, FD_NONE, true },
	[18] = { "SET_VRING_ENABLE", true, PL_STATE, FD_NONE, false },
	[19] = { .name = "SEND_RARP" },
	[20] = { .name = "NET_SET_MTU" },
	[21] = { .name = "SET_SLAVE_REQ_FD" },
	[22] = { .name = "IOTLB_MSG" },
	[23] = { .name = "SET_VRING_ENDIAN" },
	[24] = { .name = "GET_CONFIG" },
	[25] = { .name = "SET_CONFIG" },
	[28] = { .name = "POSTCOPY_ADVISE" },
	[29] = { .name = "POSTCOPY_LISTEN" },
	[30] = { .name = "POSTCOPY_END" },
	[31] = { .name = "GET_INFLIGHT_FD" },
	[32] = { .name = "SET_INFLIGHT_FD" },
	[34] = { .name = "RESET_DEVICE" },
	[35] = { .name = "VRING_KICK" },
	[36] = { .name = "GET_MAX_MEM_SLOTS" },
	[37] = { .name = "ADD_MEM_REG" },
	[38] = { .name = "REM_MEM_REG" },
	[39] = { .name = "SET_STATUS" },
	[40] = { .name = "GET_STATUS" },
};

static const size_t vu_payload_size[] = {
	[PL_NONE] = 0,
	[PL_U64] = sizeof(uint64_t),
	[PL_STATE] = sizeof(struct vu_state),
	[PL_ADDR] = sizeof(struct vu_addr),
};

/** vu_request_name() - Name of @request for log lines (static string) */
const char *vu_request_name(uint32_t request)
{
	if (request < VHOST_USER_REQUEST_MAX && vu_reqs[request].name)
		return vu_reqs[request].name;
	return "unknown request";
}

/**
 * vu_hdr_check() - Check a message header before reading its payload
 * Return: 0, or -EINVAL with *@why set
 */
int vu_hdr_check(const struct vu_hdr *h, const char **why)
{
	if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		*why = "unknown protocol version";
		return -EINVAL;
	}
	if (h->size > VHOST_USER_MAX_PAYLOAD) {
		*why = "payload too long";
		return -EINVAL;
	}
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			   uint64_t blen)
{
	/* no wrap: the caller checked the ends */
	return a < b + blen && b < a + alen;
}

/**
 * vu_mem_table_check() - Check a SET_MEM_TABLE payload
 *
 * 1 to 8 regions, none empty, none wrapping around the end of guest-
 * physical, virtual or file offset space, none overlapping another in
 * guest-physical or virtual addresses.  Whether the files are that long
 * is checked when they are mapped.
 * Return: 0, or -EINVAL with *@why set
 */
int vu_mem_table_check(const struct vu_mem_table *t, const char **why)
{
	unsigned int i, j;

	if (!t->nregions || t->nregions > VQ_MEM_MAX_REGIONS) {
		*why = t->nregions ? "too many memory regions" :
			"no memory regions (guest memory needs share=on)";
		return -EINVAL;
	}
	for (i = 0; i < t->nregions; i++) {
		const struct vu_region *r = &t->r[i];

		if (!r->size || r->size > UINT64_MAX - r->gpa ||
		    r->size > UINT64_MAX - r->uva ||
		    r->size > UINT64_MAX - r->mmap_offset ||
		    r->size + r->mmap_offset > SIZE_MAX) {
			*why = r->size ? "memory region wraps around" :
				"empty memory region";
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			const struct vu_region *o = &t->r[j];

			if (ranges_overlap(r->gpa, r->size, o->gpa, o->size) ||
			    ranges_overlap(r->uva, r->size, o->uva, o->size)) {
				*why = "overlapping memory regions";
				return -EINVAL;
			}
		}
	}
	return 0;
}

/** vu_check_payload() - Payload length and descriptor count of @h */
static int vu_check_payload(const struct vu_hdr *h, const void *payload,
			    unsigned int nfds, const char **why)
{
	const struct vu_req_info *ri = &vu_reqs[h->request];
	struct vu_mem_table t;
	uint64_t u64 = 0;
	unsigned int want_fds = 0;

	if (ri->payload == PL_MEM) {
		memset(&t, 0, sizeof(t));
		memcpy(&t, payload, h->size < sizeof(t) ? h->size : sizeof(t));
		if (h->size < VU_MEM_TABLE_HDR ||
		    t.nregions > VQ_MEM_MAX_REGIONS ||
		    h->size != VU_MEM_TABLE_HDR +
				       t.nregions * sizeof(struct vu_region)) {
			*why = "bad payload size";
			return -EINVAL;
		}
		want_fds = t.nregions;
	} else if (h->size != vu_payload_size[ri->payload]) {
		*why = "bad payload size";
		return -EINVAL;
	}
	if (ri->fds == FD_VRING) {
		memcpy(&u64, payload, sizeof(u64));
		want_fds = !(u64 & VHOST_USER_VRING_NOFD);
	}
	if (nfds != want_fds) {
		*why = "wrong number of file descriptors";
		return -EINVAL;
	}
	return ri->payload == PL_MEM ? vu_mem_table_check(&t, why) : 0;
}

/** vu_check_values() - The values in a payload of the right size */
static int vu_check_values(const struct vu_hdr *h, const void *payload,
			   const char **why)
{
	const struct vu_req_info *ri = &vu_reqs[h->request];
	struct vu_state s = { 0 };
	struct vu_addr a = { 0 };
	uint64_t u64 = 0;

	if (ri->payload == PL_U64)
		memcpy(&u64, payload, sizeof(u64));
	if (ri->payload == PL_STATE)
		memcpy(&s, payload, sizeof(s));
	if (ri->payload == PL_ADDR)
		memcpy(&a, payload, sizeof(a));

	*why = "bad vring index";
	switch (h->request) {
	case VHOST_USER_SET_FEATURES:
		*why = "feature not offered";
		return u64 & ~VU_FEATURES ? -EINVAL : 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		*why = "protocol feature not offered";
		return u64 & ~VU_PROTOCOL_FEATURES ? -EINVAL : 0;
	case VHOST_USER_SET_VRING_NUM:
		if (s.index >= VU_QUEUES)
			return -EINVAL;
		/* virtio 1.2 2.7: a power of 2, at most 32768 */
		*why = "bad ring size";
		return !s.num || s.num > VQ_MAX_SIZE || (s.num & (s.num - 1)) ?
			-EINVAL : 0;
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		if (s.index >= VU_QUEUES)
			return -EINVAL;
		*why = "bad ring index value";
		return s.num > (h->request == VHOST_USER_SET_VRING_BASE ?
					UINT16_MAX : 1) ? -EINVAL : 0;
	case VHOST_USER_GET_VRING_BASE:
		return s.index >= VU_QUEUES ? -EINVAL : 0;
	case VHOST_USER_SET_VRING_ADDR:
		if (a.index >= VU_QUEUES)
			return -EINVAL;
		*why = "unknown ring address flags";
		return a.flags & ~VHOST_VRING_F_LOG ? -EINVAL : 0;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		if ((u64 & VHOST_USER_VRING_IDX_MASK) >= VU_QUEUES ||
		    u64 & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD))
			return -EINVAL;
		*why = "polling mode (kick without eventfd) not supported";
		return h->request == VHOST_USER_SET_VRING_KICK &&
			(u64 & VHOST_USER_VRING_NOFD) ? -EINVAL : 0;
	}
	return 0;
}

/**
 * vu_msg_check() - Check a whole message before acting on it
 * @h:		header, already through vu_hdr_check()
 * @payload:	@h->size bytes
 * @nfds:	descriptors received with it
 * @why:	reason on failure
 *
 * Return: 0, or -EINVAL
 */
int vu_msg_check(const struct vu_hdr *h, const void *payload,
		 unsigned int nfds, const char **why)
{
	if (h->request >= VHOST_USER_REQUEST_MAX ||
	    !vu_reqs[h->request].ok) {
		*why = "unsupported request";
		return -EINVAL;
	}
	if (vu_check_payload(h, payload, nfds, why))
		return -EINVAL;
	return vu_check_values(h, payload, why);
}

/* --- virtio-net header <-> offload information (no I/O either) -------- */

/**
 * vu_net_hdr_in() - The offload information of a frame the guest sends
 * @vh:		its virtio-net header (little-endian, untrusted)
 * @len:	the frame's length, without the header
 * @features:	features the driver acked
 * @off:	filled in
 * @why:	reason on failure
 *
 * Virtio 1.2 5.1.6.2: NEEDS_CSUM only with VIRTIO_NET_F_CSUM, its checksum
 * field inside the frame; GSO only of the TCP kinds acked (HOST_TSO4/6),
 * with a segment size; no ECN (HOST_ECN is not offered), no UFO, and no
 * DATA_VALID or RSC_INFO, which the driver must not set.  The stack checks
 * the frame against it again (eth_offload_ok()).
 * Return: 0, or -EINVAL: the frame must be dropped
 */
int vu_net_hdr_in(const struct virtio_net_hdr *vh, size_t len,
		  uint64_t features, struct usernat_offload *off,
		  const char **why)
{
	uint16_t start = le16toh(vh->csum_start);
	uint16_t offset = le16toh(vh->csum_offset);

	memset(off, 0, sizeof(*off));
	if (vh->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		*why = "unknown or device-only header flags";
		return -EINVAL;
	}
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(features & (1ull << VIRTIO_NET_F_CSUM))) {
			*why = "partial checksum without VIRTIO_NET_F_CSUM";
			return -EINVAL;
		}
		if ((size_t)start + offset + 2 > len) {
			*why = "checksum position outside the frame";
			return -EINVAL;
		}
		off->flags = USERNAT_OFFLOAD_F_NEEDS_CSUM;
		off->csum_start = start;
		off->csum_offset = offset;
	}
	switch (vh->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		off->gso_type = USERNAT_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		off->gso_type = USERNAT_GSO_TCPV6;
		break;
	default:
		*why = "unsupported GSO type";
		return -EINVAL;
	}
	if (!(features & (1ull << (off->gso_type == USERNAT_GSO_TCPV4 ?
				   VIRTIO_NET_F_HOST_TSO4 :
				   VIRTIO_NET_F_HOST_TSO6)))) {
		*why = "GSO type not negotiated";
		return -EINVAL;
	}
	off->gso_size = le16toh(vh->gso_size);
	off->hdr_len = le16toh(vh->hdr_len);
	if (!off->gso_size || off->hdr_len > len || len > VU_GSO_MAX_FRAME) {
		*why = "bad GSO sizes";
		return -EINVAL;
	}
	return 0;
}

/**
 * vu_net_hdr_out() - The virtio-net header for a frame toward the guest
 * @off:	the stack's offload information for it
 * @vh:		filled in, little-endian (num_buffers is virtq.c's)
 */
void vu_net_hdr_out(const struct usernat_offload *off,
		    struct virtio_net_hdr *vh)
{
	vh->flags = off->flags & (USERNAT_OFFLOAD_F_NEEDS_CSUM |
				  USERNAT_OFFLOAD_F_DATA_VALID);
	vh->gso_type = off->gso_type == USERNAT_GSO_TCPV4 ?
		VIRTIO_NET_HDR_GSO_TCPV4 : off->gso_type == USERNAT_GSO_TCPV6 ?
		VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_NONE;
	vh->hdr_len = htole16(off->hdr_len);
	vh->gso_size = htole16(off->gso_size);
	vh->csum_start = htole16(off->csum_start);
	vh->csum_offset = htole16(off->csum_offset);
}

/**
 * vu_link_caps() - What the stack may send the guest, from the features
 * its driver acked: checksum flags with GUEST_CSUM (5.1.6.4: DATA_VALID
 * and NEEDS_CSUM need it), TSO of a family with GUEST_TSO4/6 as well, and
 * only with mergeable RX buffers: without them a driver only SHOULD post
 * 64 KiB buffers (5.1.6.3.1), and a TSO frame that fits none would be
 * dropped again and again
 * Return: USERNAT_LINK_* bits
 */
unsigned int vu_link_caps(uint64_t features)
{
	unsigned int caps = 0;

	if (!(features & (1ull << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	caps |= USERNAT_LINK_CSUM;
	if (!(features & (1ull << VIRTIO_NET_F_MRG_RXBUF)))
		return caps;
	if (features & (1ull << VIRTIO_NET_F_GUEST_TSO4))
		caps |= USERNAT_LINK_TSO4;
	if (features & (1ull << VIRTIO_NET_F_GUEST_TSO6))
		caps |= USERNAT_LINK_TSO6;
	return caps;
}

/* --- the transport ----------------------------------------------------- */

struct vu_transport;

/**
 * struct vu_queue - One virtqueue and its eventfds
 * @vq:		ring state (virtq.c)
 * @vt:		owner
 * @kick_w:	kick eventfd, fd -1 if none; watched for the TX queue
 * @call_fd:	call eventfd, -1 if none
 * @err_fd:	error eventfd, -1 if none
 * @started:	SET_VRING_KICK seen, no GET_VRING_BASE since
 * @enabled:	SET_VRING_ENABLE 1 (matters with PROTOCOL_FEATURES)
 */
struct vu_queue {
	struct vq vq;
	struct vu_transport *vt;
	struct loop_watch kick_w;
	int call_fd;
	int err_fd;
	bool started;
	bool enabled;
};

struct vu_map {
	void *base;
	size_t len;
};

/**
 * struct vu_transport - The listening socket and the connected QEMU
 * @t:		what the daemon sees
 * @loop:	the daemon's loop
 * @path:	socket path
 * @max_frame:	largest frame either way
 * @lw:		listening socket
 * @cw:		connection, fd -1 when none
 * @ww:		eventfd: work to do on the next loop iteration
 * @work_armed:	@ww has been written and not read yet
 * @tx_more:	TX budget ran out with frames left
 * @in_batch:	inside one of our handlers: flush at its end
 * @dead:	connection failed, teardown pending
 * @refused:	connections refused while this one is up
 * @features:	acked virtio/vhost features
 * @protocol_features: acked protocol features
 * @hdr_len:	virtio-net header length for @features
 * @mem:	guest memory table
 * @maps:	the mappings behind @mem
 * @q:		receive and transmit queues
 * @msg:	message being received: header, then payload
 * @got:	bytes of @msg received
 * @fds:	descriptors received with @msg
 * @nfds:	how many
 * @gather:	frames from several TX segments are put together here
 *		(VU_GSO_MAX_FRAME bytes, or @max_frame if larger)
 * @n_in, @n_out, @n_bad: frames from and to the guest, TX chains unusable
 *		(bad virtio-net headers included)
 * @n_gso_in, @n_gso_out: of which GSO super-frames
 */
struct vu_transport {
	struct transport t;
	struct loop *loop;
	char *path;
	size_t max_frame;
	struct loop_watch lw;
	struct loop_watch cw;
	struct loop_watch ww;
	bool work_armed, tx_more, in_batch, dead;
	unsigned int refused;
	uint64_t features, protocol_features;
	size_t hdr_len;
	struct vq_mem mem;
	struct vu_map maps[VQ_MEM_MAX_REGIONS];
	struct vu_queue q[VU_QUEUES];
	struct {
		struct vu_hdr hdr;
		uint8_t payload[VHOST_USER_MAX_PAYLOAD];
	} msg;
	size_t got;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
	uint8_t *gather;
	uint64_t n_in, n_out, n_bad;
	uint64_t n_gso_in, n_gso_out;
};

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/**
 * vu_fail() - The connection is unusable: log why, once, and shut it down
 *
 * Teardown waits for the loop (see the theory of operation).
 */
static void G_GNUC_PRINTF(2, 3) vu_fail(struct vu_transport *vt,
					const char *fmt, ...)
{
	va_list ap;
	char *why;

	if (vt->dead || vt->cw.fd < 0)
		return;
	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_warning("vhost-user: closing the connection: %s", why);
	g_free(why);
	vt->dead = true;
	shutdown(vt->cw.fd, SHUT_RDWR);
}

/** vu_ring_fail() - A ring is broken: tell QEMU on its error eventfd too */
static void vu_ring_fail(struct vu_transport *vt, unsigned int qi,
			 const char *why)
{
	if (vt->q[qi].err_fd >= 0)
		eventfd_write(vt->q[qi].err_fd, 1);
	vu_fail(vt, "%s queue: %s", qi == VU_RXQ ? "receive" : "transmit",
		why);
}

/** vu_ring_ready() - The ring is started and found in guest memory */
static bool vu_ring_ready(const struct vu_queue *q)
{
	return q->started && q->vq.desc;
}

/* vhost-user.rst "Ring states": enabled from the start without
 * PROTOCOL_FEATURES, else by SET_VRING_ENABLE */
static bool vu_ring_enabled(const struct vu_queue *q)
{
	return q->enabled || !(q->vt->features &
			       (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
}

/** vu_arm_work() - Have vu_work_ready() run on the next loop iteration */
static void vu_arm_work(struct vu_transport *vt)
{
	if (vt->work_armed)
		return;
	vt->work_armed = true;
	eventfd_write(vt->ww.fd, 1);
}

/**
 * vu_flush() - Publish the used entries of both queues, interrupt the
 * guest where it asked for it
 */
static void vu_flush(struct vu_transport *vt)
{
	unsigned int i;

	for (i = 0; i < VU_QUEUES; i++) {
		struct vu_queue *q = &vt->q[i];

		if (vu_ring_ready(q) && vq_publish(&q->vq) && q->call_fd >= 0)
			eventfd_write(q->call_fd, 1);
	}
}

/**
 * vu_to_stack() - Hand a frame the guest sent, with its checked offload
 * information @off, to the stack
 */
static void vu_to_stack(struct vu_transport *vt, const struct vq_frame *f,
			const struct usernat_offload *off)
{
	if (!off->flags && off->gso_type == USERNAT_GSO_NONE) {
		vt->t.to_stack(vt->t.to_stack_opaque, f->data, f->len);
		return;
	}
	if (off->gso_type != USERNAT_GSO_NONE)
		vt->n_gso_in++;
	if (vt->t.to_stack_off)
		vt->t.to_stack_off(vt->t.to_stack_opaque, f->data, f->len,
				   off);
	else
		vt->n_bad++;	/* an embedder that can't take them */
}

/**
 * vu_tx_frames() - Give the guest's frames to the stack, up to the budget
 *
 * Frames of a disabled ring are discarded ("started but disabled").
 */
static void vu_tx_frames(struct vu_transport *vt)
{
	struct vu_queue *q = &vt->q[VU_TXQ];
	size_t max = vt->max_frame;
	struct usernat_offload off;
	struct vq_frame f;
	const char *why;
	unsigned int n;
	int r;

	if (!vu_ring_ready(q))
		return;
	if (vt->features & ((1ull << VIRTIO_NET_F_HOST_TSO4) |
			    (1ull << VIRTIO_NET_F_HOST_TSO6)))
		max = MAX(max, VU_GSO_MAX_FRAME);
	for (n = 0; n < VU_TX_BUDGET; n++) {
		r = vq_tx_frame(&q->vq, &vt->mem, vt->hdr_len, vt->gather,
				max, &f, &why);
		if (r < 0) {
			vu_ring_fail(vt, VU_TXQ, why);
			return;
		}
		if (r == 0) {
			if (vq_kick_rearm(&q->vq))
				continue;
			return;
		}
		if (!f.data ||
		    vu_net_hdr_in(&f.hdr, f.len, vt->features, &off, &why)) {
			vt->n_bad++;
		} else if (vu_ring_enabled(q)) {
			vt->n_in++;
			vu_to_stack(vt, &f, &off);
		}
		vq_push(&q->vq, f.head, 0);	/* after the stack is done */
		if (vt->dead)
			return;
	}
	vt->tx_more = true;
	vu_arm_work(vt);
}

/**
 * vu_tx_drain() - Drain the TX queue, then let the stack do the batch's
 * deferred work at once (its frames toward the guest join the batch that
 * vu_batch_end() publishes)
 */
static void vu_tx_drain(struct vu_transport *vt)
{
	vu_tx_frames(vt);
	if (vt->t.flush_stack)
		vt->t.flush_stack(vt->t.to_stack_opaque);
}

/**
 * vu_t_send_off() - A frame from the stack, with offload information @off
 * (NULL: none): into the guest's RX buffers
 *
 * The stack sends offloaded frames only while the link capabilities we
 * gave it allow; one that the acked features don't cover (a race with a
 * renegotiation) is dropped rather than confuse the driver.
 */
static void vu_t_send_off(struct transport *t, const void *frame, size_t len,
			  const struct usernat_offload *off)
{
	struct vu_transport *vt = container_of(t, struct vu_transport, t);
	struct vu_queue *q = &vt->q[VU_RXQ];
	struct virtio_net_hdr vh, *vhp = NULL;
	unsigned int caps = vu_link_caps(vt->features);
	const char *why;
	int r;

	if (vt->dead || !vu_ring_ready(q) || !vu_ring_enabled(q)) {
		t->tx_drops++;
		return;
	}
	if (off && (off->flags || off->gso_type != USERNAT_GSO_NONE)) {
		if (!(caps & USERNAT_LINK_CSUM) ||
		    (off->gso_type == USERNAT_GSO_TCPV4 &&
		     !(caps & USERNAT_LINK_TSO4)) ||
		    (off->gso_type == USERNAT_GSO_TCPV6 &&
		     !(caps & USERNAT_LINK_TSO6))) {
			t->tx_drops++;
			return;
		}
		vu_net_hdr_out(off, &vh);
		vhp = &vh;
	}
	r = vq_rx_frame(&q->vq, &vt->mem, vt->hdr_len,
			vt->features & (1ull << VIRTIO_NET_F_MRG_RXBUF), vhp,
			frame, len, &why);
	if (r < 0) {
		vu_ring_fail(vt, VU_RXQ, why);
		return;
	}
	if (r == 0) {
		t->tx_drops++;
		return;
	}
	vt->n_out++;
	if (vhp && vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		vt->n_gso_out++;
	if (!vt->in_batch)
		vu_arm_work(vt);
}

/** vu_t_send() - A frame from the stack without offload information */
static void vu_t_send(struct transport *t, const void *frame, size_t len)
{
	vu_t_send_off(t, frame, len, NULL);
}

/** vu_set_link_caps() - Tell the daemon what the guest's driver takes */
static void vu_set_link_caps(struct vu_transport *vt)
{
	if (vt->t.set_offload)
		vt->t.set_offload(vt->t.to_stack_opaque,
				  vu_link_caps(vt->features));
}

/** vu_unmap() - Unmap the regions of a memory table */
static void vu_unmap(struct vu_map *maps, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (maps[i].base)
			munmap(maps[i].base, maps[i].len);
	memset(maps, 0, n * sizeof(*maps));
}

/**
 * vu_queue_stop() - Stop a ring: no more processing until the next kick
 */
static void vu_queue_stop(struct vu_queue *q)
{
	if (q->kick_w.fd >= 0) {
		loop_del(q->vt->loop, &q->kick_w);
		closep(&q->kick_w.fd);
	}
	q->started = false;
	q->vq.desc = q->vq.avail = q->vq.used = NULL;
}

/**
 * vu_conn_close() - Tear the connection down, ready for the next one
 * @why:	logged if not NULL (a failure was logged by vu_fail() already)
 */
static void vu_conn_close(struct vu_transport *vt, const char *why)
{
	unsigned int i;

	if (vt->cw.fd < 0)
		return;
	if (why)
		g_info("vhost-user: %s", why);
	g_debug("vhost-user: connection had %" G_GUINT64_FORMAT " frames "
		"from the guest (%" G_GUINT64_FORMAT " GSO), %"
		G_GUINT64_FORMAT " to it (%" G_GUINT64_FORMAT " GSO), %"
		G_GUINT64_FORMAT " unusable", vt->n_in, vt->n_gso_in,
		vt->n_out, vt->n_gso_out, vt->n_bad);
	loop_del(vt->loop, &vt->cw);
	closep(&vt->cw.fd);
	for (i = 0; i < VU_QUEUES; i++) {
		struct vu_queue *q = &vt->q[i];

		vu_queue_stop(q);
		closep(&q->call_fd);
		closep(&q->err_fd);
		vq_reset(&q->vq);
		q->enabled = false;
	}
	vu_unmap(vt->maps, vt->mem.n);
	memset(&vt->mem, 0, sizeof(vt->mem));
	for (i = 0; i < vt->nfds; i++)
		close(vt->fds[i]);
	vt->nfds = 0;
	vt->got = 0;
	vt->features = vt->protocol_features = 0;
	vu_set_link_caps(vt);
	vt->hdr_len = VIRTIO_NET_HDR_LEN_LEGACY;
	vt->dead = vt->tx_more = false;
	vt->refused = 0;
	vt->n_in = vt->n_out = vt->n_bad = 0;
	vt->n_gso_in = vt->n_gso_out = 0;
}

/* --- message handlers -------------------------------------------------- */

/**
 * vu_reply() - Send a reply to the message being handled
 * Return: 0, or -1 (connection failed)
 */
static int vu_reply(struct vu_transport *vt, const void *payload,
		    uint32_t size)
{
	struct vu_hdr h = { vt->msg.hdr.request,
			    VHOST_USER_VERSION | VHOST_USER_REPLY, size };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do {
		n = sendmsg(vt->cw.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(sizeof(h) + size)) {
		vu_fail(vt, "cannot reply to %s: %s",
			vu_request_name(h.request),
			n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/** vu_reply_u64() - Reply with a u64 payload (also REPLY_ACK's status) */
static int vu_reply_u64(struct vu_transport *vt, uint64_t v)
{
	return vu_reply(vt, &v, sizeof(v));
}

/**
 * vu_remap() - Find the rings of started queues in guest memory again
 * Return: 0, or -1 after vu_ring_fail()
 */
static int vu_remap(struct vu_transport *vt)
{
	const char *why;
	unsigned int i;

	for (i = 0; i < VU_QUEUES; i++) {
		struct vu_queue *q = &vt->q[i];

		if (q->started && vq_map(&q->vq, &vt->mem, &why)) {
			vu_ring_fail(vt, i, why);
			return -1;
		}
	}
	return 0;
}

/**
 * vu_set_features() - SET_FEATURES: header length and ring options follow
 * Return: 0, or -1 if a started ring no longer fits (connection failed)
 */
static int vu_set_features(struct vu_transport *vt, uint64_t f)
{
	unsigned int i;

	vt->features = f;
	/* virtio 1.2 5.1.6: num_buffers is there with VERSION_1 or
	 * MRG_RXBUF */
	vt->hdr_len = f & ((1ull << VIRTIO_F_VERSION_1) |
			   (1ull << VIRTIO_NET_F_MRG_RXBUF)) ?
		VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEN_LEGACY;
	for (i = 0; i < VU_QUEUES; i++) {
		vt->q[i].vq.indirect =
			f & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
		vt->q[i].vq.event_idx = f & (1ull << VIRTIO_RING_F_EVENT_IDX);
	}
	vu_set_link_caps(vt);
	g_debug("vhost-user: features 0x%" G_GINT64_MODIFIER "x", f);
	return vu_remap(vt);
}

/**
 * vu_map_region() - mmap() one region of a new memory table
 * @r:		region, through vu_mem_table_check()
 * @fd:		its file
 * @out:	our view of it
 * @map:	the mapping, for munmap()
 * Return: 0, or -1 after vu_fail()
 */
static int vu_map_region(struct vu_transport *vt, const struct vu_region *r,
			 int fd, struct vq_mem_region *out, struct vu_map *map)
{
	size_t len = (size_t)(r->mmap_offset + r->size);
	struct stat st;
	void *p;

	if (fstat(fd, &st) || st.st_size < 0 ||
	    (uint64_t)st.st_size < r->mmap_offset + r->size) {
		vu_fail(vt, "memory region beyond the end of its file");
		return -1;
	}
	if (!(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK))
		g_debug("vhost-user: region file not sealed against shrinking");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, 0);
	if (p == MAP_FAILED) {
		vu_fail(vt, "cannot map guest memory: %s", strerror(errno));
		return -1;
	}
	map->base = p;
	map->len = len;
	out->gpa = r->gpa;
	out->size = r->size;
	out->uva = r->uva;
	out->host = (uint8_t *)p + r->mmap_offset;
	g_debug("vhost-user: region guest 0x%" G_GINT64_MODIFIER "x size 0x%"
		G_GINT64_MODIFIER "x qemu 0x%" G_GINT64_MODIFIER "x offset 0x%"
		G_GINT64_MODIFIER "x", r->gpa, r->size, r->uva,
		r->mmap_offset);
	return 0;
}

/**
 * vu_set_mem_table() - Map a new memory table, then drop the old one
 */
static int vu_set_mem_table(struct vu_transport *vt,
			    const struct vu_mem_table *t)
{
	struct vu_map maps[VQ_MEM_MAX_REGIONS] = { { 0 } };
	struct vq_mem mem = { .n = t->nregions };
	unsigned int i;

	g_debug("vhost-user: memory table: %u regions", t->nregions);
	for (i = 0; i < t->nregions; i++) {
		if (vu_map_region(vt, &t->r[i], vt->fds[i], &mem.r[i],
				  &maps[i])) {
			vu_unmap(maps, i);
			return -1;
		}
	}
	vu_unmap(vt->maps, vt->mem.n);
	vt->mem = mem;
	memcpy(vt->maps, maps, sizeof(maps));
	return vu_remap(vt);
}

/** vu_take_fd() - Keep the one descriptor of a vring message in *@slot */
static void vu_take_fd(struct vu_transport *vt, int *slot)
{
	closep(slot);
	if (vt->nfds) {
		*slot = vt->fds[0];
		vt->fds[0] = -1;
	}
}

/**
 * vu_set_vring_kick() - New kick eventfd: the ring starts
 *
 * vhost-user.rst "Ring states" starts a ring on the first kick; like other
 * back-ends we start it when the kick eventfd arrives (QEMU sends it last),
 * and look for TX frames at once in case the kick came first.
 */
static int vu_set_vring_kick(struct vu_transport *vt, struct vu_queue *q)
{
	unsigned int qi = (unsigned int)(q - vt->q);
	const char *why;
	int fd = -1;

	vu_queue_stop(q);
	vu_take_fd(vt, &fd);
	if (!vt->mem.n || vq_map(&q->vq, &vt->mem, &why)) {
		close(fd);
		vu_ring_fail(vt, qi, vt->mem.n ? why :
			     "ring started before the memory table");
		return -1;
	}
	vq_start(&q->vq);
	q->started = true;
	q->kick_w.fd = fd;
	if (qi == VU_TXQ) {
		if (loop_add(vt->loop, &q->kick_w, fd, EPOLLIN,
			     q->kick_w.cb)) {
			vu_fail(vt, "cannot watch the kick eventfd");
			return -1;
		}
		vt->tx_more = true;	/* frames may be waiting already */
		vu_arm_work(vt);
	}
	g_debug("vhost-user: %s queue started, size %u, base %u",
		qi == VU_RXQ ? "receive" : "transmit", q->vq.size,
		q->vq.last_avail);
	return 0;
}

/**
 * vu_get_vring_base() - Stop a ring and report where it stopped
 *
 * vhost-user.rst "Ring states": GET_VRING_BASE stops the ring.  Every chain
 * taken is already in the used ring (we hold none), so the next available
 * index is all QEMU needs to restart it.
 */
static int vu_get_vring_base(struct vu_transport *vt, struct vu_state s)
{
	struct vu_queue *q = &vt->q[s.index];

	vu_flush(vt);
	s.num = q->vq.last_avail;
	vu_queue_stop(q);
	return vu_reply(vt, &s, sizeof(s));
}

/**
 * vu_vring_msg() - The per-ring requests (SET_VRING_* and GET_VRING_BASE)
 * @vt:		transport
 * @req:	request, through vu_msg_check() (index valid)
 * @payload:	its payload
 *
 * Return: 0, or -1 if the connection failed
 */
static int vu_vring_msg(struct vu_transport *vt, uint32_t req,
			const void *payload)
{
	struct vu_state s;
	struct vu_addr a;
	uint64_t u64;
	struct vu_queue *q;

	/* every payload here is at least 8 bytes */
	memcpy(&s, payload, sizeof(s));
	memcpy(&u64, payload, sizeof(u64));
	q = &vt->q[req >= VHOST_USER_SET_VRING_KICK &&
			   req <= VHOST_USER_SET_VRING_ERR ?
		   (u64 & VHOST_USER_VRING_IDX_MASK) : s.index];
	switch (req) {
	case VHOST_USER_SET_VRING_NUM:
		q->vq.size = s.num;
		return vu_remap(vt);
	case VHOST_USER_SET_VRING_ADDR:
		memcpy(&a, payload, sizeof(a));
		q->vq.desc_uva = a.desc;
		q->vq.avail_uva = a.avail;
		q->vq.used_uva = a.used;
		return vu_remap(vt);
	case VHOST_USER_SET_VRING_BASE:	/* the next available entry */
		q->vq.last_avail = q->vq.shadow_avail = (uint16_t)s.num;
		return 0;
	case VHOST_USER_GET_VRING_BASE:
		return vu_get_vring_base(vt, s);
	case VHOST_USER_SET_VRING_KICK:
		return vu_set_vring_kick(vt, q);
	case VHOST_USER_SET_VRING_CALL:	/* kept across ring stops */
		vu_take_fd(vt, &q->call_fd);
		return 0;
	case VHOST_USER_SET_VRING_ERR:
		vu_take_fd(vt, &q->err_fd);
		return 0;
	case VHOST_USER_SET_VRING_ENABLE:
		q->enabled = s.num;
		return 0;
	}
	return 0;
}

/**
 * vu_handle() - Act on a message that passed vu_msg_check()
 * Return: 0, or -1 if the connection failed
 */
static int vu_handle(struct vu_transport *vt)
{
	uint32_t req = vt->msg.hdr.request;
	const void *p = vt->msg.payload;
	struct vu_mem_table t;
	uint64_t u64;
	unsigned int i;

	memcpy(&u64, p, sizeof(u64));
	switch (req) {
	case VHOST_USER_GET_FEATURES:
		return vu_reply_u64(vt, VU_FEATURES);
	case VHOST_USER_SET_FEATURES:
		return vu_set_features(vt, u64);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		return vu_reply_u64(vt, VU_PROTOCOL_FEATURES);
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		vt->protocol_features = u64;
		return 0;
	case VHOST_USER_GET_QUEUE_NUM:
		return vu_reply_u64(vt, 1);
	case VHOST_USER_SET_OWNER:
		return 0;
	case VHOST_USER_RESET_OWNER:
		/* deprecated; the spec suggests disabling all rings */
		for (i = 0; i < VU_QUEUES; i++)
			vu_queue_stop(&vt->q[i]);
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
		memset(&t, 0, sizeof(t));
		memcpy(&t, p, vt->msg.hdr.size);
		return vu_set_mem_table(vt, &t);
	}
	return vu_vring_msg(vt, req, p);
}

/**
 * vu_dispatch() - Check and act on the message just received
 * Return: 0, or -1 if the connection failed
 */
static int vu_dispatch(struct vu_transport *vt)
{
	const struct vu_hdr *h = &vt->msg.hdr;
	uint32_t req = h->request;
	const char *why;
	unsigned int i;
	int r = -1;

	if (vu_msg_check(h, vt->msg.payload, vt->nfds, &why)) {
		vu_fail(vt, "%s (%u): %s", vu_request_name(req), req, why);
	} else {
		g_debug("vhost-user: %s", vu_request_name(req));
		r = vu_handle(vt);
		/* vhost-user.rst "REPLY_ACK": 0 for success, for requests
		 * without a reply of their own; failures close instead */
		if (!r && (h->flags & VHOST_USER_NEED_REPLY) &&
		    !vu_reqs[req].reply)
			r = vu_reply_u64(vt, 0);
	}
	for (i = 0; i < vt->nfds; i++)
		if (vt->fds[i] >= 0)
			close(vt->fds[i]);
	vt->nfds = 0;
	vt->got = 0;
	return r;
}

/**
 * vu_take_fds() - Keep the descriptors that came with a read
 * Return: 0, or -1 if there were too many (all are closed)
 */
static int vu_take_fds(struct vu_transport *vt, struct msghdr *mh)
{
	struct cmsghdr *cm;
	bool over = mh->msg_flags & MSG_CTRUNC;
	unsigned int i, n;
	int fd;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (vt->nfds < VHOST_USER_MAX_FDS) {
				vt->fds[vt->nfds++] = fd;
			} else {
				close(fd);
				over = true;
			}
		}
	}
	if (over)
		vu_fail(vt, "too many file descriptors with one message");
	return over ? -1 : 0;
}

/**
 * vu_recv() - Read (part of) a message, act on it once complete
 * Return: 1 if something was read, 0 if nothing is waiting, -1 if the
 * connection failed, -2 if QEMU hung up
 */
static int vu_recv(struct vu_transport *vt)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	size_t want = vt->got < VHOST_USER_HDR_SIZE ?
		VHOST_USER_HDR_SIZE - vt->got :
		VHOST_USER_HDR_SIZE + vt->msg.hdr.size - vt->got;
	struct iovec iov = { (uint8_t *)&vt->msg + vt->got, want };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf) };
	const char *why;
	ssize_t n;

	n = recvmsg(vt->cw.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		vu_fail(vt, "%s", strerror(errno));
		return -1;
	}
	if (vu_take_fds(vt, &mh))
		return -1;
	if (n == 0)
		return -2;
	vt->got += (size_t)n;
	if (vt->got == VHOST_USER_HDR_SIZE &&
	    vu_hdr_check(&vt->msg.hdr, &why)) {
		vu_fail(vt, "bad message header: %s", why);
		return -1;
	}
	if (vt->got == VHOST_USER_HDR_SIZE + vt->msg.hdr.size)
		return vu_dispatch(vt) ? -1 : 1;
	return 1;
}

/* --- loop callbacks ---------------------------------------------------- */

/** vu_batch_end() - Flush what a handler did; tear down if it failed */
static void vu_batch_end(struct vu_transport *vt)
{
	if (!vt->dead)
		vu_flush(vt);
	vt->in_batch = false;
	if (vt->dead)
		vu_conn_close(vt, NULL);
}

/**
 * vu_conn_ready() - Messages from QEMU: read, check and act on them, a
 * bounded number of reads per wake-up
 */
static void vu_conn_ready(struct loop_watch *w, uint32_t events)
{
	struct vu_transport *vt = container_of(w, struct vu_transport, cw);
	int i, r = 0;

	if (vt->dead) {
		vu_conn_close(vt, NULL);
		return;
	}
	vt->in_batch = true;
	for (i = 0; i < VU_READS_PER_WAKE; i++) {
		r = vu_recv(vt);
		if (r <= 0)
			break;
	}
	if (r == -2) {
		vt->in_batch = false;
		vu_conn_close(vt, "QEMU disconnected");
		return;
	}
	vu_batch_end(vt);
}

/** vu_kick_ready() - The guest kicked the TX queue: drain it */
static void vu_kick_ready(struct loop_watch *w, uint32_t events)
{
	struct vu_queue *q = container_of(w, struct vu_queue, kick_w);
	struct vu_transport *vt = q->vt;
	eventfd_t v;

	eventfd_read(w->fd, &v);
	if (vt->dead) {
		vu_conn_close(vt, NULL);
		return;
	}
	vt->in_batch = true;
	vt->tx_more = false;
	vu_tx_drain(vt);
	vu_batch_end(vt);
}

/**
 * vu_work_ready() - Deferred work: the rest of a TX drain, and publishing
 * RX frames the stack sent from outside our handlers
 */
static void vu_work_ready(struct loop_watch *w, uint32_t events)
{
	struct vu_transport *vt = container_of(w, struct vu_transport, ww);
	eventfd_t v;

	eventfd_read(w->fd, &v);
	vt->work_armed = false;
	if (vt->cw.fd < 0)
		return;
	if (vt->dead) {
		vu_conn_close(vt, NULL);
		return;
	}
	vt->in_batch = true;
	if (vt->tx_more) {
		vt->tx_more = false;
		vu_tx_drain(vt);
	}
	vu_batch_end(vt);
}

/** vu_peer_gone() - True if the connection on @fd has been hung up */
static bool vu_peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/**
 * vu_listener_ready() - A QEMU connects: take it, unless one is being
 * served (a connection that has in fact hung up is closed first)
 */
static void vu_listener_ready(struct loop_watch *w, uint32_t events)
{
	struct vu_transport *vt = container_of(w, struct vu_transport, lw);
	int fd;

	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (vt->cw.fd >= 0 && (vt->dead || vu_peer_gone(vt->cw.fd)))
		vu_conn_close(vt, vt->dead ? NULL : "QEMU disconnected");
	if (vt->cw.fd >= 0) {
		/* once per connection: a refused QEMU may retry in a loop */
		if (!vt->refused++)
			g_warning("vhost-user: a QEMU is connected already, "
				  "refusing others");
		close(fd);
		return;
	}
	if (loop_add(vt->loop, &vt->cw, fd, EPOLLIN | EPOLLRDHUP,
		     vu_conn_ready)) {
		vt->cw.fd = -1;
		close(fd);
		return;
	}
	g_info("vhost-user: QEMU connected on %s", vt->path);
}

/* --- setup ------------------------------------------------------------- */

/** vu_t_free() - Close the connection and the socket, remove its path */
static void vu_t_free(struct transport *t)
{
	struct vu_transport *vt = container_of(t, struct vu_transport, t);

	vu_conn_close(vt, "shutting down");
	if (vt->lw.fd >= 0) {
		loop_del(vt->loop, &vt->lw);
		close(vt->lw.fd);
		unlink(vt->path);
	}
	if (vt->ww.fd >= 0) {
		loop_del(vt->loop, &vt->ww);
		close(vt->ww.fd);
	}
	g_free(vt->gather);
	g_free(vt->path);
	g_free(t->qemu_args);
	g_free(t->where);
	g_free(vt);
}


/**
 * vhost_user_transport_open() - Serve a vhost-user net device at @path
 * @l:		the daemon's loop
 * @path:	unix socket to listen on (QEMU connects as client)
 * @max_frame:	largest Ethernet frame either way
 * @err:	on failure, a message (g_free it)
 *
 * Return: transport, or NULL
 */
struct transport *vhost_user_transport_open(struct loop *l, const char *path,
					    size_t max_frame, char **err)
{
	struct vu_transport *vt = g_malloc0(sizeof(*vt));
	unsigned int i;
	int fd, efd;

	vt->loop = l;
	vt->path = g_strdup(path);
	vt->max_frame = max_frame;
	vt->cw.fd = -1;
	vt->hdr_len = VIRTIO_NET_HDR_LEN_LEGACY;
	vt->gather = g_malloc(MAX(max_frame, VU_GSO_MAX_FRAME));
	for (i = 0; i < VU_QUEUES; i++) {
		vt->q[i].vt = vt;
		vt->q[i].kick_w.fd = vt->q[i].call_fd = vt->q[i].err_fd = -1;
		vt->q[i].kick_w.cb = vu_kick_ready;
	}
	vt->t.send = vu_t_send;
	vt->t.send_off = vu_t_send_off;
	vt->t.free = vu_t_free;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		*err = g_strdup_printf("eventfd: %s", strerror(errno));
		goto fail;
	}
	fd = unix_listen(path, 0, 4, err);
	if (fd < 0)
		goto fail;
	if (loop_add(l, &vt->ww, efd, EPOLLIN, vu_work_ready) ||
	    loop_add(l, &vt->lw, fd, EPOLLIN, vu_listener_ready)) {
		*err = g_strdup_printf("cannot watch %s: %s", path,
				       strerror(errno));
		loop_del(l, &vt->ww);
		close(fd);
		unlink(path);
		goto fail;
	}
	vt->t.where = g_strdup_printf("vhost-user socket %s", path);
	vt->t.qemu_args = g_strdup_printf(
		"-object memory-backend-memfd,id=mem,size=RAM,share=on "
		"-numa node,memdev=mem -chardev socket,id=c0,path=%s "
		"-netdev vhost-user,id=n0,chardev=c0 "
		"-device virtio-net-pci,netdev=n0\n"
		"  (RAM is the guest's memory size and must match -m, "
		"e.g. -m 1G ... size=1G)", path);
	return &vt->t;

fail:
	if (efd >= 0)
		close(efd);
	g_free(vt->gather);
	g_free(vt->path);
	g_free(vt);
	return NULL;
}
