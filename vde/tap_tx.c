// SPDX-License-Identifier: GPL-2.0-or-later
/* tap_tx.c - frames to a tap, many per system call (io_uring)
 *
 * DOC: Theory of operation
 *
 * A tap takes one frame per write(), and a bulk download toward the guest
 * is a write() per 1500-byte frame: the system call's entry and exit are a
 * good part of the cost on a virtual machine.  io_uring takes a batch of
 * writes in one io_uring_enter(); the tap is pollable and always writable,
 * so io_uring runs each write at once, in our context, in order, as
 * write() would (no worker threads).
 *
 * Frames are copied into an arena as they come and written at the end of
 * the daemon's loop iteration (tap_tx_flush()), or earlier when the arena
 * or the submission queue is full.  A batch of one frame is a plain
 * write(): the round trip of an interactive connection costs what it did.
 * io_uring_enter() waits for all of the batch's completions before it
 * returns, so the arena is free again afterwards, whatever the kernel did.
 *
 * The ring is locked down before use: it knows one file, the tap (a fixed
 * file, required by every entry), and one operation, IORING_OP_WRITE, and
 * takes no further io_uring_register() calls.  The sandbox then allows
 * io_uring_enter() only (io_uring_setup() and io_uring_register() happen
 * before it is up), so the ring can't be used to get around the seccomp
 * filter.  Where io_uring is missing or refused (old kernel,
 * kernel.io_uring_disabled, a container's seccomp), tap_tx_new() fails and
 * the caller writes frame by frame.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <glib.h>

#include "vde/tap_tx.h"

#define TAP_TX_ENTRIES	64		/* submission queue entries */
#define TAP_TX_ARENA	(256 * 1024)	/* bytes of frames per batch */

struct tap_tx {
	int fd;			/* the tap */
	int ring;		/* io_uring descriptor */
	/* submission queue */
	void *sq_map;
	size_t sq_len;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	/* completion queue */
	void *cq_map;		/* == sq_map with IORING_FEAT_SINGLE_MMAP */
	size_t cq_len;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	/* the batch being gathered */
	unsigned int n;		/* frames queued */
	size_t used;		/* arena bytes */
	uint64_t batches;	/* io_uring_enter() calls that wrote frames */
	uint8_t arena[TAP_TX_ARENA] __attribute__((aligned(64)));
};

static int uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int uring_register(int ring, unsigned int op, const void *arg,
			  unsigned int n)
{
	return (int)syscall(__NR_io_uring_register, ring, op, arg, n);
}

static int uring_enter(int ring, unsigned int submit, unsigned int wait)
{
	return (int)syscall(__NR_io_uring_enter, ring, submit, wait,
			    wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
}

/**
 * tap_tx_lock() - Restrict the ring to writes to fixed file 0 (the tap),
 * then enable it (it was created disabled)
 * Return: 0 or -1 with errno set
 */
static int tap_tx_lock(struct tap_tx *tx)
{
	struct io_uring_restriction r[3];

	memset(r, 0, sizeof(r));
	r[0].opcode = IORING_RESTRICTION_SQE_OP;
	r[0].sqe_op = IORING_OP_WRITE;
	r[1].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	r[1].sqe_flags = IOSQE_FIXED_FILE;
	r[2].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	r[2].sqe_flags = IOSQE_FIXED_FILE;
	if (uring_register(tx->ring, IORING_REGISTER_FILES, &tx->fd, 1) ||
	    uring_register(tx->ring, IORING_REGISTER_RESTRICTIONS, r, 3) ||
	    uring_register(tx->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0))
		return -1;
	return 0;
}

/* ring_map() - One of the ring's shared areas; NULL (errno set) on failure */
static void *ring_map(int ring, size_t len, off_t off)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, ring, off);

	return m == MAP_FAILED ? NULL : m;
}

/**
 * tap_tx_map() - Map the rings of a new io_uring
 * Return: 0 or -1 with errno set
 */
static int tap_tx_map(struct tap_tx *tx, const struct io_uring_params *p)
{
	uint8_t *sq, *cq;

	tx->sq_len = p->sq_off.array + p->sq_entries * sizeof(unsigned int);
	tx->cq_len = p->cq_off.cqes + p->cq_entries *
					  sizeof(struct io_uring_cqe);
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		tx->sq_len = tx->cq_len = MAX(tx->sq_len, tx->cq_len);
	if (!(tx->sq_map = ring_map(tx->ring, tx->sq_len, IORING_OFF_SQ_RING)))
		return -1;
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		tx->cq_map = tx->sq_map;
	else if (!(tx->cq_map = ring_map(tx->ring, tx->cq_len,
					 IORING_OFF_CQ_RING)))
		return -1;
	tx->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
	if (!(tx->sqes = ring_map(tx->ring, tx->sqes_len, IORING_OFF_SQES)))
		return -1;
	sq = tx->sq_map;
	cq = tx->cq_map;
	tx->sq_tail = (unsigned int *)(sq + p->sq_off.tail);
	tx->sq_mask = (unsigned int *)(sq + p->sq_off.ring_mask);
	tx->sq_array = (unsigned int *)(sq + p->sq_off.array);
	tx->cq_head = (unsigned int *)(cq + p->cq_off.head);
	tx->cq_tail = (unsigned int *)(cq + p->cq_off.tail);
	tx->cq_mask = (unsigned int *)(cq + p->cq_off.ring_mask);
	tx->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
	return 0;
}

struct tap_tx *tap_tx_new(int fd, int *err)
{
	struct io_uring_params p;
	struct tap_tx *tx;

	tx = g_try_malloc0(sizeof(*tx));
	if (!tx) {
		*err = ENOMEM;
		return NULL;
	}
	tx->fd = fd;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED;
	tx->ring = uring_setup(TAP_TX_ENTRIES, &p);
	if (tx->ring < 0 || tap_tx_map(tx, &p) || tap_tx_lock(tx)) {
		*err = errno;
		tap_tx_free(tx);
		return NULL;
	}
	return tx;
}

void tap_tx_free(struct tap_tx *tx)
{
	if (!tx)
		return;
	if (tx->sqes)
		munmap(tx->sqes, tx->sqes_len);
	if (tx->cq_map && tx->cq_map != tx->sq_map)
		munmap(tx->cq_map, tx->cq_len);
	if (tx->sq_map)
		munmap(tx->sq_map, tx->sq_len);
	if (tx->ring >= 0)
		close(tx->ring);
	g_free(tx);
}

/**
 * tap_tx_reap() - Count the completions of the batch just submitted
 * Return: frames the tap did not take whole
 */
static unsigned int tap_tx_reap(struct tap_tx *tx, unsigned int *seen)
{
	unsigned int head = *tx->cq_head, drops = 0;
	unsigned int tail = __atomic_load_n(tx->cq_tail, __ATOMIC_ACQUIRE);

	for (; head != tail; head++) {
		const struct io_uring_cqe *cqe = &tx->cqes[head & *tx->cq_mask];

		if (cqe->res < 0 || (uint64_t)cqe->res != cqe->user_data)
			drops++;
		(*seen)++;
	}
	__atomic_store_n(tx->cq_head, head, __ATOMIC_RELEASE);
	return drops;
}

unsigned int tap_tx_flush(struct tap_tx *tx)
{
	unsigned int n = tx->n, seen = 0, drops = 0, submitted = 0;
	int r;

	if (!n)
		return 0;
	tx->n = 0;
	tx->used = 0;
	if (n == 1) {
		/* one frame: write() it, no need for the ring */
		unsigned int tail = *tx->sq_tail - 1;
		const struct io_uring_sqe *sqe = &tx->sqes[tail & *tx->sq_mask];
		ssize_t w = write(tx->fd, (const void *)(uintptr_t)sqe->addr,
				  sqe->len);

		/* take the entry back: the kernel hasn't seen it */
		__atomic_store_n(tx->sq_tail, tail, __ATOMIC_RELEASE);
		return w == (ssize_t)sqe->len ? 0 : 1;
	}
	/* io_uring_enter() returns once all n are complete: the arena is
	 * ours again.  It may submit fewer than asked (out of memory). */
	while (submitted < n || seen < n) {
		r = uring_enter(tx->ring, n - submitted, n - seen);
		if (r < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EBUSY)
			break;
		if (r > 0)
			submitted += (unsigned int)r;
		drops += tap_tx_reap(tx, &seen);
	}
	tx->batches++;
	if (submitted < n) {
		/* the ring is unusable: drop what it didn't take */
		drops += n - submitted;
		__atomic_store_n(tx->sq_tail, *tx->sq_tail - (n - submitted),
				 __ATOMIC_RELEASE);
	}
	return drops;
}

unsigned int tap_tx_send(struct tap_tx *tx, const void *frame, size_t len)
{
	unsigned int drops = 0, tail, idx;
	struct io_uring_sqe *sqe;
	uint8_t *p;

	if (len > TAP_TX_ARENA)
		return 1;
	if (tx->n == TAP_TX_ENTRIES || tx->used + len > TAP_TX_ARENA)
		drops = tap_tx_flush(tx);
	p = tx->arena + tx->used;
	memcpy(p, frame, len);
	tx->used += (len + 63) & ~(size_t)63;
	if (tx->used > TAP_TX_ARENA)
		tx->used = TAP_TX_ARENA;
	tail = *tx->sq_tail;
	idx = tail & *tx->sq_mask;
	sqe = &tx->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_WRITE;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0;			/* fixed file 0: the tap */
	sqe->addr = (uint64_t)(uintptr_t)p;
	sqe->len = (uint32_t)len;
	sqe->off = 0;			/* a character device: no position */
	sqe->user_data = len;		/* what a whole write returns */
	tx->sq_array[idx] = idx;
	__atomic_store_n(tx->sq_tail, tail + 1, __ATOMIC_RELEASE);
	tx->n++;
	return drops;
}

uint64_t tap_tx_batches(const struct tap_tx *tx)
{
	return tx->batches;
}
