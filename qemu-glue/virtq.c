// SPDX-License-Identifier: GPL-2.0-or-later
/* virtq.c - virtio 1.x split virtqueues, device side
 *
 * DOC: Theory of operation
 *
 * The guest (the driver) and we (the device) share three rings per queue
 * (virtio 1.2 2.7): a descriptor table, an available ring the guest fills
 * with the heads of descriptor chains, and a used ring where we give chains
 * back.  All of it lives in guest memory, which the guest may change at any
 * moment, so every value is read once into a local, checked, and only then
 * used:
 *
 *  - addresses go through vq_mem_gpa() (guest-physical, for buffers and
 *    indirect tables) or vq_mem_uva() (the front-end's virtual addresses,
 *    for the rings themselves), which return a pointer only for bytes inside
 *    one region of the memory table; a buffer that crosses from one region
 *    into an adjacent one becomes two segments;
 *  - the available index may move ahead of ours by at most the queue size;
 *  - a chain may not be longer than its table (which catches loops without
 *    remembering visited entries), indexes must be inside the table,
 *    device-writable descriptors come after device-readable ones, indirect
 *    tables are a whole number of descriptors, at most VQ_MAX_SIZE of them,
 *    in one region, and contain no indirect descriptor of their own.
 *
 * A violation is a broken ring: the caller gets -EINVAL and a reason and
 * is expected to stop using the queue.  Nothing here loops more than the
 * queue size (or an indirect table's length) per chain, or touches memory
 * outside the regions.
 *
 * Frames (virtio 1.2 5.1.6): a TX chain is the 12-byte (10 for legacy
 * without MRG_RXBUF) virtio-net header then the frame; when the frame sits
 * in one segment its guest memory is handed out as is, otherwise it is
 * gathered into the caller's buffer.  An RX frame goes into one chain, or
 * with VIRTIO_NET_F_MRG_RXBUF into as many as needed, num_buffers telling
 * the guest how many; if the guest has not posted enough, nothing is
 * consumed and the frame is dropped.
 *
 * Used entries are written as chains complete, but used->idx is only
 * written by vq_publish(), once per batch; it also says whether the guest
 * asked to be told (the flags bit, or with EVENT_IDX the used_event index).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "qemu-glue/virtq.h"

/**
 * vq_mem_gpa() - Translate a guest-physical address
 * @m:		memory table
 * @gpa:	guest-physical address
 * @len:	bytes wanted, > 0
 * @got:	set to how many of them are contiguous from the result (<= @len)
 *
 * Return: our pointer to @gpa, or NULL if no region holds it
 */
void *vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len,
		 uint64_t *got)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		const struct vq_mem_region *r = &m->r[i];
		uint64_t off = gpa - r->gpa;

		/* unsigned: gpa below the region wraps to a huge @off */
		if (gpa < r->gpa || off >= r->size)
			continue;
		*got = len < r->size - off ? len : r->size - off;
		return r->host + off;
	}
	return NULL;
}

/**
 * vq_mem_gpa_whole() - Translate a guest-physical range held by one region
 * Return: our pointer to @gpa, or NULL unless all @len bytes are mapped
 * contiguously
 */
void *vq_mem_gpa_whole(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t got;
	void *p = vq_mem_gpa(m, gpa, len, &got);

	return p && got == len ? p : NULL;
}

/**
 * vq_mem_uva() - Translate a range of the front-end's virtual addresses
 * @m:		memory table
 * @uva:	QEMU's virtual address (ring addresses in SET_VRING_ADDR)
 * @len:	length, > 0
 *
 * Return: our pointer to @uva, or NULL unless one region holds all @len
 * bytes
 */
void *vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		const struct vq_mem_region *r = &m->r[i];
		uint64_t off = uva - r->uva;

		if (uva < r->uva || off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

/** vq_reset() - Forget everything about @q: no size, no rings, index 0 */
void vq_reset(struct vq *q)
{
	memset(q, 0, sizeof(*q));
}

/**
 * vq_map() - Find the three rings of @q in guest memory
 * @q:		queue with size and addresses set
 * @m:		memory table
 * @why:	reason on failure
 *
 * Called whenever the size, addresses, features or memory table change.
 * Indexes are left alone.
 * Return: 0, or -EINVAL (the rings are then unmapped)
 */
int vq_map(struct vq *q, const struct vq_mem *m, const char **why)
{
	uint8_t *d, *a, *u;

	q->desc = q->avail = q->used = NULL;
	if (!q->size) {
		*why = "ring size not set";
		return -EINVAL;
	}
	/* 2.7: the sizes include used_event and avail_event, which every
	 * driver allocates whether or not EVENT_IDX is negotiated */
	d = vq_mem_uva(m, q->desc_uva, (uint64_t)q->size * VQ_DESC_SIZE);
	a = vq_mem_uva(m, q->avail_uva, VQ_AVAIL_SIZE(q->size));
	u = vq_mem_uva(m, q->used_uva, VQ_USED_SIZE(q->size));
	if (!d || !a || !u) {
		*why = "ring outside guest memory";
		return -EINVAL;
	}
	/* 2.7.1: alignment 16, 2 and 4; our 16-bit atomics need it too */
	if ((uintptr_t)d % 16 || (uintptr_t)a % 2 || (uintptr_t)u % 4) {
		*why = "misaligned ring";
		return -EINVAL;
	}
	q->desc = d;
	q->avail = a;
	q->used = u;
	return 0;
}

static uint16_t load16(const uint8_t *p, int order)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p,
				       order));
}

static void store16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), order);
}

/** vq_avail_idx() - The guest's available index, ordered before the
 * ring entries and descriptors it covers */
static uint16_t vq_avail_idx(const struct vq *q)
{
	return load16(q->avail + VQ_AVAIL_IDX_OFF, __ATOMIC_ACQUIRE);
}

/**
 * vq_start() - Take the used index from the ring as the queue starts
 *
 * The available index comes from SET_VRING_BASE (@q->last_avail); the used
 * index is whatever the guest's ring says.
 */
void vq_start(struct vq *q)
{
	q->used_idx = load16(q->used + VQ_USED_IDX_OFF, __ATOMIC_RELAXED);
	q->published = q->used_idx;
	q->shadow_avail = q->last_avail;
	q->signalled_valid = false;
}

/**
 * chain_add() - Append the buffer of descriptor @d to chain @c
 * @m:		memory table
 * @d:		descriptor, already copied out of guest memory
 * @c:		chain being built
 * @why:	reason on failure
 *
 * A buffer crossing into an adjacent region becomes several segments.
 * Return: 0, or -EINVAL
 */
static int chain_add(const struct vq_mem *m, const struct vq_desc *d,
		     struct vq_chain *c, const char **why)
{
	bool wr = d->flags & VQ_DESC_F_WRITE;
	uint64_t addr = d->addr, len = d->len, got;
	void *p;

	/* 2.7.4.2: device-writable descriptors follow readable ones */
	if (!wr && c->n_in) {
		*why = "device-readable descriptor after a writable one";
		return -EINVAL;
	}
	while (len) {
		p = vq_mem_gpa(m, addr, len, &got);
		if (!p) {
			*why = "descriptor outside guest memory";
			return -EINVAL;
		}
		if (c->n_out + c->n_in < VQ_MAX_IOV) {
			c->iov[c->n_out + c->n_in].iov_base = p;
			c->iov[c->n_out + c->n_in].iov_len = got;
			if (wr) {
				c->n_in++;
				c->in_len += got;
			} else {
				c->n_out++;
				c->out_len += got;
			}
		} else {
			c->truncated = true;
		}
		/* no wrap: the region holds [addr, addr + got) */
		addr += got;
		len -= got;
	}
	return 0;
}

/**
 * chain_walk() - Follow a chain through a descriptor table
 * @q:		queue (for the negotiated features)
 * @m:		memory table
 * @table:	descriptor table, @n entries, all inside guest memory
 * @n:		entries in @table
 * @i:		first descriptor
 * @nested:	@table is an indirect table
 * @c:		chain being built
 * @why:	reason on failure
 *
 * Return: 0, or -EINVAL
 */
static int chain_walk(const struct vq *q, const struct vq_mem *m,
		      const uint8_t *table, uint32_t n, uint32_t i,
		      bool nested, struct vq_chain *c, const char **why)
{
	uint32_t steps = 0;
	struct vq_desc d;
	const uint8_t *ind;

	for (;;) {
		if (i >= n) {
			*why = "descriptor index out of range";
			return -EINVAL;
		}
		/* 2.7.5.3.1: no chain longer than its table; longer means
		 * some entry came twice, a loop */
		if (++steps > n) {
			*why = "descriptor chain loops";
			return -EINVAL;
		}
		memcpy(&d, table + (size_t)i * VQ_DESC_SIZE, sizeof(d));
		d.addr = le64toh(d.addr);
		d.len = le32toh(d.len);
		d.flags = le16toh(d.flags);
		d.next = le16toh(d.next);
		if (!(d.flags & VQ_DESC_F_INDIRECT)) {
			if (chain_add(m, &d, c, why))
				return -EINVAL;
			if (!(d.flags & VQ_DESC_F_NEXT))
				return 0;
			i = d.next;
			continue;
		}
		/* 2.7.5.3.1: only with the feature, one level, not with NEXT;
		 * 2.7.5.3.2: it may end a chain of direct descriptors */
		if (!q->indirect || nested || (d.flags & VQ_DESC_F_NEXT)) {
			*why = !q->indirect ? "indirect descriptor not "
					      "negotiated" :
			       nested ? "nested indirect descriptor" :
					"indirect descriptor with NEXT";
			return -EINVAL;
		}
		if (!d.len || d.len % VQ_DESC_SIZE ||
		    d.len / VQ_DESC_SIZE > VQ_MAX_SIZE) {
			*why = "bad indirect table length";
			return -EINVAL;
		}
		ind = vq_mem_gpa_whole(m, d.addr, d.len);
		if (!ind) {
			*why = "indirect table outside guest memory";
			return -EINVAL;
		}
		return chain_walk(q, m, ind, d.len / VQ_DESC_SIZE, 0, true, c,
				  why);
	}
}

/**
 * vq_pop() - Take the next chain the guest made available
 * @q:		mapped queue
 * @m:		memory table
 * @c:		filled with the chain's segments
 * @why:	reason on failure
 *
 * Return: 1 with @c filled, 0 if the ring is empty, -EINVAL if broken
 */
int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c,
	   const char **why)
{
	uint16_t head;

	if (q->shadow_avail == q->last_avail) {
		q->shadow_avail = vq_avail_idx(q);
		/* 2.7.13: the 16-bit index can't be more than a ring ahead */
		if ((uint16_t)(q->shadow_avail - q->last_avail) > q->size) {
			*why = "available index jumped by more than the "
			       "queue size";
			return -EINVAL;
		}
		if (q->shadow_avail == q->last_avail)
			return 0;
	}
	head = load16(q->avail + VQ_AVAIL_RING_OFF +
		      2 * (size_t)(q->last_avail & (q->size - 1)),
		      __ATOMIC_RELAXED);
	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	c->truncated = false;
	if (chain_walk(q, m, q->desc, q->size, head, false, c, why))
		return -EINVAL;
	q->last_avail++;
	return 1;
}

/**
 * vq_push() - Give chain @head back, @len bytes written into it
 *
 * The entry is not visible to the guest before vq_publish().
 */
void vq_push(struct vq *q, uint16_t head, uint32_t len)
{
	uint8_t *e = q->used + VQ_USED_RING_OFF +
		     (size_t)(q->used_idx & (q->size - 1)) * VQ_USED_ELEM_SIZE;
	uint32_t v[2] = { htole32(head), htole32(len) };

	memcpy(e, v, sizeof(v));
	q->used_idx++;
}

/**
 * vq_publish() - Make the pushed entries visible, decide on a notification
 *
 * Return: true if the guest wants a used buffer notification now
 */
bool vq_publish(struct vq *q)
{
	uint16_t old = q->published, event;
	bool valid = q->signalled_valid;

	if (q->used_idx == q->published)
		return false;
	/* 2.7.8.2: entries before the index */
	store16(q->used + VQ_USED_IDX_OFF, q->used_idx, __ATOMIC_RELEASE);
	q->published = q->used_idx;
	q->signalled_valid = true;
	/* the index must be visible before we look at the guest's wishes,
	 * or we could miss a notification it wants */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)	/* 2.7.7.2 */
		return !(load16(q->avail, __ATOMIC_RELAXED) &
			 VQ_AVAIL_F_NO_INTERRUPT);
	/* 2.7.7.2: notify if used_event is among the entries just
	 * published, i.e. in [old, new) modulo 2^16 */
	event = load16(q->avail + VQ_AVAIL_RING_OFF + 2 * (size_t)q->size,
		       __ATOMIC_RELAXED);
	return !valid ||
	       (uint16_t)(q->used_idx - event - 1) <
		       (uint16_t)(q->used_idx - old);
}

/**
 * vq_kick_rearm() - Ask for a kick at the next available entry (EVENT_IDX)
 *
 * 2.7.10: the device sets avail_event; the guest then kicks when it makes
 * entry @q->last_avail available.  Entries it added before seeing the new
 * value brought no kick, so look again.
 * Return: true if entries are already waiting
 */
bool vq_kick_rearm(struct vq *q)
{
	if (!q->event_idx)
		return false;
	store16(q->used + VQ_USED_RING_OFF + VQ_USED_ELEM_SIZE *
		(size_t)q->size, q->last_avail, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_avail_idx(q) != q->last_avail;
}

/**
 * vq_iov_to_buf() - Copy @len bytes from @off into the segments to @buf
 * Return: bytes copied (less than @len if the segments end first)
 */
size_t vq_iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		     void *buf, size_t len)
{
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off,
		       k);
		done += k;
		off = 0;
	}
	return done;
}

/**
 * vq_iov_from_buf() - Copy @len bytes of @buf into the segments at @off
 * Return: bytes copied (less than @len if the segments end first)
 */
size_t vq_iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		       const void *buf, size_t len)
{
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off,
		       (const uint8_t *)buf + done, k);
		done += k;
		off = 0;
	}
	return done;
}

/**
 * vq_tx_frame() - Take the next frame the guest sends
 * @q:		TX queue, mapped
 * @m:		memory table
 * @hdr_len:	virtio-net header length
 * @buf:	gather buffer for frames split over several segments
 * @buf_size:	its size: the largest frame accepted
 * @f:		filled in: chain head, frame (NULL if unusable), length
 * @why:	reason on failure
 *
 * 5.1.6.2: the header, then the frame, in device-readable buffers;
 * writable ones are ignored.  A chain without a frame, with a frame over
 * @buf_size, or with too many segments, is still taken (and must be given
 * back with vq_push()) but @f->data is NULL.  @f->data is valid until the
 * next call or until guest memory is unmapped.
 * Return: 1, 0 if the ring is empty, -EINVAL if broken
 */
int vq_tx_frame(struct vq *q, const struct vq_mem *m, size_t hdr_len,
		uint8_t *buf, size_t buf_size, struct vq_frame *f,
		const char **why)
{
	struct vq_chain c;
	size_t off = hdr_len, len;
	unsigned int i = 0;
	int r;

	r = vq_pop(q, m, &c, why);
	if (r <= 0)
		return r;
	f->head = c.head;
	f->data = NULL;
	f->len = 0;
	if (c.truncated || c.out_len <= hdr_len ||
	    c.out_len - hdr_len > buf_size)
		return 1;
	memset(&f->hdr, 0, sizeof(f->hdr));
	vq_iov_to_buf(c.iov, c.n_out, 0, &f->hdr,
		      hdr_len < sizeof(f->hdr) ? hdr_len : sizeof(f->hdr));
	len = c.out_len - hdr_len;
	/* stays below n_out, as out_len > hdr_len */
	while (off >= c.iov[i].iov_len)
		off -= c.iov[i++].iov_len;
	if (c.iov[i].iov_len - off >= len) {
		f->data = (const uint8_t *)c.iov[i].iov_base + off;
	} else {
		vq_iov_to_buf(c.iov, c.n_out, hdr_len, buf, len);
		f->data = buf;
	}
	f->len = len;
	return 1;
}

/**
 * vq_rx_frame() - Copy a frame into the guest's receive buffers
 * @q:		RX queue, mapped
 * @m:		memory table
 * @hdr_len:	virtio-net header length
 * @mrg_rxbuf:	VIRTIO_NET_F_MRG_RXBUF negotiated
 * @vh:		its virtio-net header (offloads), NULL for all zero
 * @frame:	the frame (not kept)
 * @len:	its length
 * @why:	reason on failure
 *
 * The used entries are pushed but not published.
 * Return: 1 if delivered, 0 if the guest has no room for it (nothing is
 * consumed), -EINVAL if the ring is broken
 */
int vq_rx_frame(struct vq *q, const struct vq_mem *m, size_t hdr_len,
		bool mrg_rxbuf, const struct virtio_net_hdr *vh,
		const void *frame, size_t len, const char **why)
{
	uint16_t start = q->last_avail, heads[VQ_RX_MAX_BUFS];
	uint32_t lens[VQ_RX_MAX_BUFS];
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 };
	struct vq_chain first, more, *c;
	size_t done = 0, off, k;
	unsigned int nbuf = 0, i;
	int r;

	while (nbuf == 0 || done < len) {
		c = nbuf ? &more : &first;
		if (nbuf == VQ_RX_MAX_BUFS)
			goto no_room;
		r = vq_pop(q, m, c, why);
		if (r < 0)
			return r;
		if (r == 0)
			goto no_room;
		off = nbuf ? 0 : hdr_len;
		if (c->in_len < off || !c->in_len) {
			/* 5.1.6.3.1: with MRG_RXBUF each buffer holds at
			 * least a header */
			if (!mrg_rxbuf && c->in_len)
				goto no_room;
			*why = "receive buffer smaller than the virtio-net "
			       "header";
			return -EINVAL;
		}
		if (!mrg_rxbuf && c->in_len - off < len)
			goto no_room;	/* it can't hold the frame */
		k = c->in_len - off < len - done ? c->in_len - off : len - done;
		vq_iov_from_buf(c->iov + c->n_out, c->n_in, off,
				(const uint8_t *)frame + done, k);
		done += k;
		heads[nbuf] = c->head;
		lens[nbuf] = (uint32_t)(off + k);
		nbuf++;
	}
	if (vh)
		memcpy(hdr, vh, sizeof(*vh));
	/* 5.1.6.4.1: num_buffers, 1 without MRG_RXBUF */
	if (hdr_len == VIRTIO_NET_HDR_LEN) {
		uint16_t nb = htole16((uint16_t)nbuf);

		memcpy(hdr + VIRTIO_NET_HDR_NUM_BUFFERS_OFF, &nb, sizeof(nb));
	}
	vq_iov_from_buf(first.iov + first.n_out, first.n_in, 0, hdr, hdr_len);
	for (i = 0; i < nbuf; i++)
		vq_push(q, heads[i], lens[i]);
	return 1;

no_room:
	q->last_avail = start;
	return 0;
}
