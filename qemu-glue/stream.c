// SPDX-License-Identifier: GPL-2.0-or-later
/* stream.c - QEMU's -netdev stream (and -netdev socket) framing on a unix
 * socket
 *
 * DOC: Theory of operation
 *
 * QEMU connects to our listening socket and sends each Ethernet frame
 * preceded by its length as a 4-byte big-endian number; we answer in the
 * same framing.  Several QEMUs may be connected at once: the connections form
 * a small learning hub (each connection's source MACs are remembered, unicast
 * goes to the connection that owns the destination, broadcast and unknown
 * destinations go everywhere), so guests reach each other as on a switch.
 *
 * Receive: one buffer per connection, filled by large read()s and cut into
 * frames in place; a partial frame waits for the rest.  A length over the
 * maximum frame size can't be resynchronised, so that connection is closed
 * with a log line; the daemon and other connections go on.
 *
 * Send: frames are written with writev() (length and frame, no copy).  When
 * the socket is full, the rest of the frame and any later frames wait in a
 * bounded per-connection buffer, flushed on EPOLLOUT; a frame that does not
 * fit there is dropped whole (never cut, so the framing stays intact) and
 * counted, as a full NIC queue would drop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#include "backend/transport.h"
#include "backend/unixsock.h"
#include "qemu-glue/stream_frame.h"

#define STREAM_MAX_CONNS	16
#define STREAM_RXBUF		(256 * 1024)
#define STREAM_TXBUF		(1024 * 1024)
#define STREAM_RX_READS		16	/* reads per wake-up, then yield */

struct stream_transport;

struct stream_conn {
	struct stream_transport *st;
	struct loop_watch w;
	bool used;
	bool mac_known;
	bool dead;		/* write failed: closed from conn_ready() */
	uint8_t mac[6];		/* last source MAC seen from this guest */
	uint8_t *rx;
	size_t rx_len;
	uint8_t *tx;
	size_t tx_off, tx_len;	/* pending bytes: tx[tx_off, tx_off+tx_len) */
};

struct stream_transport {
	struct transport t;
	struct loop *loop;
	struct loop_watch lw;
	char *path;
	size_t max_frame;
	struct stream_conn conns[STREAM_MAX_CONNS];
};

static void conn_close(struct stream_conn *c, const char *why)
{
	struct stream_transport *st = c->st;

	g_info("stream: connection %d closed: %s", (int)(c - st->conns), why);
	loop_del(st->loop, &c->w);
	close(c->w.fd);
	g_free(c->rx);
	g_free(c->tx);
	memset(c, 0, sizeof(*c));
}

/** conn_flush() - Write pending bytes; Return: 0, or -1 if closed */
static int conn_flush(struct stream_conn *c)
{
	while (c->tx_len) {
		ssize_t n = write(c->w.fd, c->tx + c->tx_off, c->tx_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			conn_close(c, n < 0 ? strerror(errno) : "write failed");
			return -1;
		}
		c->tx_off += (size_t)n;
		c->tx_len -= (size_t)n;
	}
	c->tx_off = 0;
	loop_mod(c->st->loop, &c->w, EPOLLIN | EPOLLRDHUP);
	return 0;
}

/** conn_queue() - Keep @len bytes for later; Return: false if no room */
static bool conn_queue(struct stream_conn *c, const void *p, size_t len)
{
	if (c->tx_off + c->tx_len + len > STREAM_TXBUF) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len);
		c->tx_off = 0;
	}
	if (c->tx_len + len > STREAM_TXBUF)
		return false;
	memcpy(c->tx + c->tx_off + c->tx_len, p, len);
	c->tx_len += len;
	return true;
}

/**
 * conn_fail() - Mark @c dead after a write error
 *
 * A send may happen while the stack is still reading a frame that lives in
 * this connection's receive buffer, so the connection is not freed here:
 * shutdown() makes its descriptor report a hang-up, and conn_ready() closes
 * it from the loop.
 */
static void conn_fail(struct stream_conn *c, int err)
{
	if (!c->dead)
		g_info("stream: connection %d write error: %s",
		       (int)(c - c->st->conns), strerror(err));
	c->dead = true;
	shutdown(c->w.fd, SHUT_RDWR);
}

/**
 * conn_send() - Send one frame on @c, or queue it, or drop it whole
 */
static void conn_send(struct stream_conn *c, const void *frame, size_t len)
{
	uint32_t hdr = htonl((uint32_t)len);
	struct iovec iov[2] = { { &hdr, 4 }, { (void *)frame, len } };
	size_t done = 0;
	ssize_t n;

	if (c->dead)
		return;
	if (c->tx_len) {
		if (4 + len > STREAM_TXBUF - c->tx_len) {
			c->st->t.tx_drops++;
			return;
		}
		conn_queue(c, &hdr, 4);
		conn_queue(c, frame, len);
		return;
	}
	do {
		n = writev(c->w.fd, iov, 2);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN) {
		conn_fail(c, errno);
		return;
	}
	if (n > 0)
		done = (size_t)n;
	if (done == 4 + len)
		return;
	/* Partial: the rest must follow before anything else */
	if (done < 4)
		conn_queue(c, (uint8_t *)&hdr + done, 4 - done);
	conn_queue(c, (const uint8_t *)frame + (done > 4 ? done - 4 : 0),
		   len - (done > 4 ? done - 4 : 0));
	loop_mod(c->st->loop, &c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
}

static struct stream_conn *conn_by_mac(struct stream_transport *st,
				       const uint8_t *mac)
{
	int i;

	for (i = 0; i < STREAM_MAX_CONNS; i++) {
		struct stream_conn *c = &st->conns[i];

		if (c->used && c->mac_known && !memcmp(c->mac, mac, 6))
			return c;
	}
	return NULL;
}

/**
 * hub_forward() - Give a frame to the other connections that should see it
 * @from:	connection it came from, or NULL for the stack
 * Return: true if the frame was unicast to another connection only
 */
static bool hub_forward(struct stream_transport *st, struct stream_conn *from,
			const uint8_t *frame, size_t len)
{
	struct stream_conn *to;
	int i;

	if (len < 14)
		return false;
	if (!(frame[0] & 1) && (to = conn_by_mac(st, frame))) {
		if (to != from)
			conn_send(to, frame, len);
		return true;
	}
	for (i = 0; i < STREAM_MAX_CONNS; i++)
		if (st->conns[i].used && &st->conns[i] != from)
			conn_send(&st->conns[i], frame, len);
	return false;
}

static void stream_t_send(struct transport *t, const void *frame, size_t len)
{
	struct stream_transport *st = container_of(t, struct stream_transport, t);

	hub_forward(st, NULL, frame, len);
}

/** conn_frame() - Deliver one frame a guest sent; Return: 1 to stop */
static int conn_frame(void *opaque, const uint8_t *p, size_t flen)
{
	struct stream_conn *c = opaque;
	struct stream_transport *st = c->st;

	if (flen < 14)
		return 0;	/* runt: nothing to learn or deliver */
	if (!(p[6] & 1)) {
		memcpy(c->mac, p + 6, 6);
		c->mac_known = true;
	}
	if (!hub_forward(st, c, p, flen))
		st->t.to_stack(st->t.to_stack_opaque, p, flen);
	return c->dead;		/* write error while answering: stop */
}

/** conn_frames() - Cut complete frames out of the receive buffer */
static int conn_frames(struct stream_conn *c)
{
	struct stream_transport *st = c->st;
	size_t off = 0;

	if (stream_cut(c->rx, c->rx_len, st->max_frame, conn_frame, c, &off)) {
		const uint8_t *p = c->rx + off;
		size_t flen = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
			      (size_t)p[2] << 8 | p[3];
		char why[64];

		snprintf(why, sizeof(why), "frame length %zu over "
			 "maximum %zu", flen, st->max_frame);
		conn_close(c, why);
		return -1;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return 0;
}

/** conn_read() - Read and deliver what the connection has */
static void conn_read(struct stream_conn *c, struct loop_watch *w,
		      uint32_t events)
{
	int i;

	if (c->dead) {
		conn_close(c, "write error");
		return;
	}
	if ((events & EPOLLOUT) && conn_flush(c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
		return;
	for (i = 0; i < STREAM_RX_READS; i++) {
		ssize_t n = read(w->fd, c->rx + c->rx_len,
				 STREAM_RXBUF - c->rx_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c, n ? strerror(errno) : "peer closed");
			return;
		}
		c->rx_len += (size_t)n;
		if (conn_frames(c))
			return;
	}
}

static void conn_ready(struct loop_watch *w, uint32_t events)
{
	struct stream_conn *c = container_of(w, struct stream_conn, w);
	struct stream_transport *st = c->st;	/* conn_close() clears c */

	conn_read(c, w, events);
	/* end of the batch: the stack's deferred work, at once */
	if (st->t.flush_stack)
		st->t.flush_stack(st->t.to_stack_opaque);
}

static void listener_ready(struct loop_watch *w, uint32_t events)
{
	struct stream_transport *st = container_of(w, struct stream_transport, lw);
	struct stream_conn *c = NULL;
	int fd, i;

	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < STREAM_MAX_CONNS && !c; i++)
		if (!st->conns[i].used)
			c = &st->conns[i];
	if (!c) {
		g_warning("stream: %d connections already, refusing another",
			  STREAM_MAX_CONNS);
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->st = st;
	c->rx = g_malloc(STREAM_RXBUF);
	c->tx = g_malloc(STREAM_TXBUF);
	c->used = true;
	if (loop_add(st->loop, &c->w, fd, EPOLLIN | EPOLLRDHUP, conn_ready)) {
		c->w.fd = fd;
		conn_close(c, "cannot watch");
		return;
	}
	g_info("stream: connection %d from QEMU on %s", (int)(c - st->conns),
	       st->path);
}

static void stream_t_free(struct transport *t)
{
	struct stream_transport *st = container_of(t, struct stream_transport, t);
	int i;

	for (i = 0; i < STREAM_MAX_CONNS; i++)
		if (st->conns[i].used)
			conn_close(&st->conns[i], "shutting down");
	if (st->lw.fd >= 0) {
		loop_del(st->loop, &st->lw);
		close(st->lw.fd);
		unlink(st->path);
	}
	g_free(st->path);
	g_free(t->qemu_args);
	g_free(t->where);
	g_free(st);
}


/**
 * stream_transport_open() - Listen for QEMU -netdev stream at @path
 * Return: transport, or NULL with *@err set (g_free it)
 */
struct transport *stream_transport_open(struct loop *l, const char *path,
					size_t max_frame, char **err)
{
	struct stream_transport *st = g_malloc0(sizeof(*st));
	int fd;

	st->loop = l;
	st->lw.fd = -1;
	st->path = g_strdup(path);
	st->max_frame = max_frame;
	st->t.send = stream_t_send;
	st->t.free = stream_t_free;
	fd = unix_listen(path, 0, 16, err);
	if (fd < 0 || loop_add(l, &st->lw, fd, EPOLLIN, listener_ready)) {
		if (fd >= 0)
			close(fd);
		g_free(st->path);
		g_free(st);
		return NULL;
	}
	st->t.where = g_strdup_printf("stream socket %s", path);
	st->t.qemu_args = g_strdup_printf(
		"-netdev stream,id=n0,server=off,addr.type=unix,addr.path=%s "
		"-device virtio-net-pci,netdev=n0", path);
	return &st->t;
}
