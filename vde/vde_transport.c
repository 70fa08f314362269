// SPDX-License-Identifier: GPL-2.0-or-later
/* vde_transport.c - guests on any libvdeplug network
 *
 * DOC: Theory of operation
 *
 * vde_open() takes any vdeplug URL: switch:// (libvdeplug hosts a switch in
 * this process and usernat is one of its ports), vde:// (an existing
 * vde_switch), ptp://, tap://, vxvde://, or a plugin of any other scheme.
 * The data descriptor is polled by the daemon's loop; each readiness event
 * runs vde_recv(), which for the in-process switch also runs the switch
 * itself (new ports, forwarding between guests), so it may return without a
 * frame for us.  We read at most VDE_RX_BATCH frames per wake-up, checking
 * readiness between them, so one busy guest can't starve the host side.
 *
 * Frames toward guests are sent at once with vde_send(); a frame the plug
 * can't take right now is dropped and counted, as a NIC would, and TCP
 * above recovers.  tap:// is the exception: its frames are gathered during
 * a loop iteration and written at its end (->batch_end) in one system call
 * through io_uring (tap_tx.c), which saves the guest kernel wake-ups too:
 * frames that arrive together are coalesced by its TCP and read together.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libvdeplug.h>
#include <glib.h>

#include "backend/transport.h"
#include "vde/tap_tx.h"

#define VDE_RX_BATCH 64

struct vde_transport {
	struct transport t;
	struct loop *loop;
	struct loop_watch w;
	VDECONN *conn;
	bool nonblock;		/* datafd is a plain non-blocking descriptor */
	size_t max_frame;
	struct tap_tx *tx;	/* tap:// with io_uring, or NULL */
	uint8_t buf[VDE_ETHBUFSIZE + 65536];
};

static void vde_t_send(struct transport *t, const void *frame, size_t len)
{
	struct vde_transport *v = container_of(t, struct vde_transport, t);

	if (vde_send(v->conn, frame, len, 0) != (ssize_t)len)
		t->tx_drops++;
}

static void vde_t_send_batched(struct transport *t, const void *frame,
			       size_t len)
{
	struct vde_transport *v = container_of(t, struct vde_transport, t);

	t->tx_drops += tap_tx_send(v->tx, frame, len);
}

static void vde_t_batch_end(struct transport *t)
{
	struct vde_transport *v = container_of(t, struct vde_transport, t);

	t->tx_drops += tap_tx_flush(v->tx);
	t->tx_batches = tap_tx_batches(v->tx);
}

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void vde_t_ready(struct loop_watch *w, uint32_t events)
{
	struct vde_transport *v = container_of(w, struct vde_transport, w);
	int i;

	for (i = 0; i < VDE_RX_BATCH; i++) {
		ssize_t n = vde_recv(v->conn, v->buf, sizeof(v->buf), 0);

		if (n < 0 && v->nonblock)
			break;		/* EAGAIN: drained */
		/* The stack checks the size: oversized frames are counted */
		if (n > 0)
			v->t.to_stack(v->t.to_stack_opaque, v->buf, (size_t)n);
		if (!v->nonblock && !fd_readable(v->w.fd))
			break;
	}
	if (v->t.flush_stack)
		v->t.flush_stack(v->t.to_stack_opaque);
}

static void vde_t_free(struct transport *t)
{
	struct vde_transport *v = container_of(t, struct vde_transport, t);

	loop_del(v->loop, &v->w);
	if (v->tx) {
		tap_tx_flush(v->tx);
		tap_tx_free(v->tx);
	}
	if (v->conn)
		vde_close(v->conn);
	g_free(t->qemu_args);
	g_free(t->where);
	g_free(v);
}

/**
 * vde_transport_open() - Plug into the VDE network at @url
 * @max_frame:	largest frame the stack accepts (larger ones it drops)
 * Return: transport, or NULL with *@err set (g_free it)
 */
struct transport *vde_transport_open(struct loop *l, const char *url,
				     size_t max_frame, char **err)
{
	struct vde_transport *v = g_malloc0(sizeof(*v));
	char *u = g_strdup(url);
	int fd, e = 0;

	v->loop = l;
	v->max_frame = max_frame;
	v->w.fd = -1;
	v->conn = vde_open(u, "usernat", NULL);
	g_free(u);
	if (!v->conn) {
		*err = g_strdup_printf("cannot open VDE network '%s': %s", url,
				       strerror(errno));
		goto fail;
	}
	fd = vde_datafd(v->conn);
	if (fd < 0 || loop_add(l, &v->w, fd, EPOLLIN, vde_t_ready)) {
		*err = g_strdup_printf("VDE network '%s' gives no descriptor "
				       "to poll", url);
		goto fail;
	}
	/* tap://'s data descriptor is the tap itself, read by vde_recv() with
	 * a plain read(): make it non-blocking and read until EAGAIN, instead
	 * of a poll() after every frame.  Other plugins (the in-process
	 * switch) may do more in vde_recv(), so they keep the poll(). */
	if (!strncmp(url, "tap://", 6)) {
		int fl = fcntl(fd, F_GETFL);

		v->nonblock = fl >= 0 && !fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		/* batches of writes (tap_tx.c); USERNAT_NO_URING=1 in the
		 * environment keeps one write() per frame */
		if (v->nonblock && !getenv("USERNAT_NO_URING")) {
			v->tx = tap_tx_new(fd, &e);
			if (!v->tx)
				g_message("tap: io_uring unavailable (%s): one "
					  "write() per frame", strerror(e));
		}
	}
	v->t.send = v->tx ? vde_t_send_batched : vde_t_send;
	if (v->tx)
		v->t.batch_end = vde_t_batch_end;
	v->t.free = vde_t_free;
	v->t.where = g_strdup_printf("VDE %s", url);
	if (!strncmp(url, "switch://", 9))
		v->t.qemu_args = g_strdup_printf(
			"-netdev vde,id=n0,sock=vde://%s -device "
			"virtio-net-pci,netdev=n0", url + 9);
	else if (!strncmp(url, "ptp://", 6) || !strncmp(url, "vde://", 6))
		v->t.qemu_args = g_strdup_printf(
			"-netdev vde,id=n0,sock=%s -device "
			"virtio-net-pci,netdev=n0", url);
	return &v->t;
fail:
	vde_t_free(&v->t);
	return NULL;
}
