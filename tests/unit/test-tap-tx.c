// SPDX-License-Identifier: GPL-2.0-or-later
/* test-tap-tx.c - the batched tap writer (vde/tap_tx.c)
 *
 * The writer works on any descriptor that takes one message per write(): a
 * SOCK_SEQPACKET socket pair stands in for the tap, so every frame can be
 * read back whole and in order.  The file is included to reach the ring's
 * internals for the lock-down tests.
 */
#include "vde/tap_tx.c"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

struct pair {
	int w, r;		/* writer side (the "tap"), reader side */
};

static bool pair_open(struct pair *p)
{
	int sv[2], big = 4 << 20;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
		return false;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	p->w = sv[0];
	p->r = sv[1];
	return true;
}

static void pair_close(struct pair *p)
{
	close(p->w);
	close(p->r);
}

/* A new writer, or NULL (and the test skipped) without io_uring */
static struct tap_tx *tx_or_skip(int fd)
{
	struct tap_tx *tx;
	int err = 0;

	tx = tap_tx_new(fd, &err);
	if (!tx)
		g_test_skip_printf("no io_uring here: %s", g_strerror(err));
	return tx;
}

/* frame number @i: length and contents derived from @i */
static size_t frame_fill(uint8_t *buf, unsigned int i)
{
	size_t len = 14 + (i * 7919) % 9000, k;

	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)(i + k * 31);
	return len;
}

/* Read frames @from..@to-1 back and compare them */
static void expect_frames(int fd, unsigned int from, unsigned int to)
{
	static uint8_t want[9100], got[9100];
	unsigned int i;

	for (i = from; i < to; i++) {
		size_t len = frame_fill(want, i);
		ssize_t n = recv(fd, got, sizeof(got), MSG_DONTWAIT);

		g_assert_cmpint(n, ==, (ssize_t)len);
		g_assert_cmpmem(got, len, want, len);
	}
	g_assert_cmpint(recv(fd, got, sizeof(got), MSG_DONTWAIT), ==, -1);
	g_assert_cmpint(errno, ==, EAGAIN);
}

/* Nothing is written before the flush; then all, whole and in order, in
 * one system call */
static void test_batch(void)
{
	static uint8_t buf[9100];
	struct tap_tx *tx;
	struct pair p;
	unsigned int i;

	g_assert_true(pair_open(&p));
	if (!(tx = tx_or_skip(p.w)))
		goto out;
	for (i = 0; i < 20; i++) {
		size_t len = frame_fill(buf, i);

		g_assert_cmpuint(tap_tx_send(tx, buf, len), ==, 0);
		memset(buf, 0, len);	/* the writer keeps its own copy */
	}
	g_assert_cmpint(recv(p.r, buf, sizeof(buf), MSG_DONTWAIT), ==, -1);
	g_assert_cmpuint(tap_tx_flush(tx), ==, 0);
	g_assert_cmpuint(tap_tx_batches(tx), ==, 1);
	expect_frames(p.r, 0, 20);
	g_assert_cmpuint(tap_tx_flush(tx), ==, 0);	/* empty: no-op */
	g_assert_cmpuint(tap_tx_batches(tx), ==, 1);
	tap_tx_free(tx);
out:
	pair_close(&p);
}

/* More than the queue or the arena holds: earlier flushes, order kept */
static void test_overflow(void)
{
	static uint8_t buf[9100];
	struct tap_tx *tx;
	struct pair p;
	unsigned int i, n = 3 * TAP_TX_ENTRIES + 5;

	g_assert_true(pair_open(&p));
	if (!(tx = tx_or_skip(p.w)))
		goto out;
	for (i = 0; i < n; i++)
		g_assert_cmpuint(tap_tx_send(tx, buf, frame_fill(buf, i)), ==, 0);
	g_assert_cmpuint(tap_tx_flush(tx), ==, 0);
	g_assert_cmpuint(tap_tx_batches(tx), >=, 4);
	expect_frames(p.r, 0, n);
	/* the largest frame the stack builds */
	memset(buf, 0xab, sizeof(buf));
	for (i = 0; i < 8; i++)
		g_assert_cmpuint(tap_tx_send(tx, buf, 9014), ==, 0);
	g_assert_cmpuint(tap_tx_flush(tx), ==, 0);
	for (i = 0; i < 8; i++)
		g_assert_cmpint(recv(p.r, buf, sizeof(buf), MSG_DONTWAIT), ==,
				9014);
	tap_tx_free(tx);
out:
	pair_close(&p);
}

/* A batch of one is a plain write(), not a ring submission */
static void test_single(void)
{
	uint8_t buf[64] = { 1, 2, 3 };
	struct tap_tx *tx;
	struct pair p;

	g_assert_true(pair_open(&p));
	if (!(tx = tx_or_skip(p.w)))
		goto out;
	g_assert_cmpuint(tap_tx_send(tx, buf, 60), ==, 0);
	g_assert_cmpuint(tap_tx_flush(tx), ==, 0);
	g_assert_cmpuint(tap_tx_batches(tx), ==, 0);
	g_assert_cmpint(recv(p.r, buf, sizeof(buf), MSG_DONTWAIT), ==, 60);
	g_assert_cmpuint(buf[2], ==, 3);
	tap_tx_free(tx);
out:
	pair_close(&p);
}

/* Frames the descriptor refuses are counted, the rest still go */
static void test_drops(void)
{
	uint8_t buf[64] = { 0 };
	struct tap_tx *tx;
	struct pair p;
	unsigned int i;

	g_assert_true(pair_open(&p));
	if (!(tx = tx_or_skip(p.w)))
		goto out;
	close(p.r);		/* writes now fail: EPIPE */
	p.r = -1;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 5; i++)
		tap_tx_send(tx, buf, sizeof(buf));
	g_assert_cmpuint(tap_tx_flush(tx), ==, 5);
	tap_tx_send(tx, buf, sizeof(buf));
	g_assert_cmpuint(tap_tx_flush(tx), ==, 1);
	tap_tx_free(tx);
out:
	pair_close(&p);
}

/* submit one entry built by @fill straight through the ring; its result */
static int submit_raw(struct tap_tx *tx, void (*fill)(struct io_uring_sqe *,
						      void *), void *arg)
{
	unsigned int tail = *tx->sq_tail, idx = tail & *tx->sq_mask;
	struct io_uring_sqe *sqe = &tx->sqes[idx];
	const struct io_uring_cqe *cqe;
	unsigned int head;
	int res;

	memset(sqe, 0, sizeof(*sqe));
	fill(sqe, arg);
	tx->sq_array[idx] = idx;
	__atomic_store_n(tx->sq_tail, tail + 1, __ATOMIC_RELEASE);
	g_assert_cmpint(uring_enter(tx->ring, 1, 1), ==, 1);
	head = *tx->cq_head;
	g_assert_cmpuint(__atomic_load_n(tx->cq_tail, __ATOMIC_ACQUIRE), ==,
			 head + 1);
	cqe = &tx->cqes[head & *tx->cq_mask];
	res = cqe->res;
	__atomic_store_n(tx->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static void fill_nop(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	sqe->opcode = IORING_OP_NOP;
	sqe->flags = IOSQE_FIXED_FILE;
}

static void fill_plain_write(struct io_uring_sqe *sqe, void *arg)
{
	static const char x[4] = "abc";

	sqe->opcode = IORING_OP_WRITE;
	sqe->fd = *(int *)arg;		/* a descriptor, not fixed file 0 */
	sqe->addr = (uint64_t)(uintptr_t)x;
	sqe->len = sizeof(x);
}

static void fill_openat(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	sqe->opcode = IORING_OP_OPENAT;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = AT_FDCWD;
	sqe->addr = (uint64_t)(uintptr_t)"/etc/passwd";
}

/* The ring does writes to the tap and nothing else, and takes no new
 * registrations: it can't be used to get around the seccomp filter */
static void test_locked(void)
{
	struct tap_tx *tx;
	struct pair p;
	int other = -1, fds[1];

	g_assert_true(pair_open(&p));
	if (!(tx = tx_or_skip(p.w)))
		goto out;
	other = dup(p.w);
	g_assert_cmpint(submit_raw(tx, fill_nop, NULL), ==, -EACCES);
	g_assert_cmpint(submit_raw(tx, fill_plain_write, &other), ==, -EACCES);
	g_assert_cmpint(submit_raw(tx, fill_openat, NULL), ==, -EACCES);
	fds[0] = other;
	g_assert_cmpint(uring_register(tx->ring, IORING_REGISTER_FILES_UPDATE,
				       fds, 1), <, 0);
	g_assert_cmpint(uring_register(tx->ring, IORING_REGISTER_FILES, fds,
				       1), <, 0);
	/* and still writes to the tap */
	g_assert_cmpuint(tap_tx_send(tx, "abcd", 4), ==, 0);
	g_assert_cmpuint(tap_tx_send(tx, "efgh", 4), ==, 0);
	g_assert_cmpuint(tap_tx_flush(tx), ==, 0);
	tap_tx_free(tx);
	close(other);
out:
	pair_close(&p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tap-tx/batch", test_batch);
	g_test_add_func("/tap-tx/overflow", test_overflow);
	g_test_add_func("/tap-tx/single", test_single);
	g_test_add_func("/tap-tx/drops", test_drops);
	g_test_add_func("/tap-tx/locked", test_locked);
	return g_test_run();
}
