// SPDX-License-Identifier: GPL-2.0-or-later
/* plugin.c - libvdeplug_usernat.so: usernat as a vdeplug module
 *
 * DOC: Theory of operation
 *
 * A program that links libvdeplug (QEMU, vde_plug, vdens) and opens
 * "usernat://..." loads this module.  vde_open() creates a usernat
 * instance from the URL's options and a thread that runs it, so the
 * caller's thread only moves frames:
 *
 *   caller (QEMU)                    usernat thread
 *   vde_send() --> [qfd] == dgram socketpair == [sfd] --> usernat_input()
 *   vde_recv() <-- [qfd]                         [sfd] <-- output callback
 *                                                epoll: sfd, usernat_fd(),
 *                                                       stop eventfd
 *
 * The socketpair is SOCK_DGRAM, so each frame stays one message.  qfd is
 * the data descriptor the caller polls.  A frame that finds the socket
 * buffer full is dropped, as a NIC with a full queue drops it; TCP above
 * recovers.  vde_close() wakes the thread through the eventfd, joins it and
 * frees everything: nothing stays behind in the caller's process.
 *
 * Options use vdeplug's own syntax, usernat:///key=value/key=value/flag,
 * parsed with vde_parseparms() over the same option names as the daemon's
 * (usernat_config_keys()).  Two small extensions, because '/' separates
 * options: "net=10.0.2.0/24" is taken whole (a segment of digits after a
 * value is its prefix length), and options that may be repeated take
 * several values joined by '+' (dhcp-host=MAC,IP+MAC,IP).  A bad option
 * makes vde_open() fail with a message on stderr, so QEMU reports it
 * instead of starting a half-configured network.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libvdeplug.h>
#include <libvdeplug_mod.h>

#include "stack/usernat.h"
#include "vde/plugin_url.h"

#define PLUG_SOCKBUF	(4 << 20)
#define PLUG_MAXFRAME	(65536 + 18)
#define PLUG_RX_BATCH	64

struct un_plug {
	void *handle;			/* struct vdeconn header, filled */
	struct vdeplug_module *module;	/* in by libvdeplug */
	int qfd;			/* caller's end */
	int sfd;			/* stack thread's end */
	int evfd;			/* stop request */
	pthread_t thread;
	struct usernat *un;
	uint8_t buf[PLUG_MAXFRAME];	/* used by the stack thread only */
};

static void plug_out(void *opaque, const void *frame, size_t len)
{
	struct un_plug *p = opaque;

	send(p->sfd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void plug_rx(struct un_plug *p)
{
	int i;

	for (i = 0; i < PLUG_RX_BATCH; i++) {
		ssize_t n = recv(p->sfd, p->buf, sizeof(p->buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		usernat_input(p->un, p->buf, (size_t)n);
	}
	usernat_flush(p->un);	/* end of the batch: deferred work at once */
}

static void *plug_thread(void *arg)
{
	struct un_plug *p = arg;
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), n, i;
	bool quit = false;

	if (ep < 0)
		return NULL;
	ev.data.fd = p->sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, p->sfd, &ev);
	ev.data.fd = usernat_fd(p->un);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = p->evfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, p->evfd, &ev);
	while (!quit) {
		n = epoll_wait(ep, evs, 8, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == p->sfd)
				plug_rx(p);
			else if (evs[i].data.fd == p->evfd)
				quit = true;
			else
				usernat_service(p->un);
		}
	}
	close(ep);
	return NULL;
}

static void plug_free(struct un_plug *p)
{
	if (p->qfd >= 0)
		close(p->qfd);
	if (p->sfd >= 0)
		close(p->sfd);
	if (p->evfd >= 0)
		close(p->evfd);
	usernat_free(p->un);
	free(p);
}

static VDECONN *plug_open(char *given_url, char *descr, int interface_version,
			  struct vde_open_args *open_args)
{
	struct usernat_config *cfg;
	struct un_plug *p;
	int sv[2], sz = PLUG_SOCKBUF, ret;
	char *err = NULL;

	if (!(cfg = plugin_url_config(given_url))) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		usernat_config_free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	p->qfd = p->sfd = p->evfd = -1;
	p->un = usernat_new(cfg, plug_out, p, &err);
	usernat_config_free(cfg);
	if (!p->un) {
		fprintf(stderr, "usernat: %s\n", err ? err : "cannot start");
		free(err);
		plug_free(p);
		errno = EINVAL;
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) ||
	    (p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail_errno;
	p->qfd = sv[0];
	p->sfd = sv[1];
	setsockopt(p->qfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(p->qfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(p->sfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(p->sfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if ((ret = pthread_create(&p->thread, NULL, plug_thread, p))) {
		errno = ret;
		goto fail_errno;
	}
	return (VDECONN *)p;
fail_errno:
	ret = errno;
	fprintf(stderr, "usernat: cannot start: %s\n", strerror(ret));
	plug_free(p);
	errno = ret;
	return NULL;
}

static ssize_t plug_recv(VDECONN *conn, void *buf, size_t len, int flags)
{
	struct un_plug *p = (struct un_plug *)conn;

	return recv(p->qfd, buf, len, flags | MSG_DONTWAIT);
}

static ssize_t plug_send(VDECONN *conn, const void *buf, size_t len, int flags)
{
	struct un_plug *p = (struct un_plug *)conn;
	ssize_t n = send(p->qfd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL);

	/* A full queue drops the frame, as a NIC would: report it sent */
	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return (ssize_t)len;
	return n;
}

static int plug_datafd(VDECONN *conn)
{
	return ((struct un_plug *)conn)->qfd;
}

static int plug_ctlfd(VDECONN *conn)
{
	return -1;
}

static int plug_close(VDECONN *conn)
{
	struct un_plug *p = (struct un_plug *)conn;
	uint64_t one = 1;

	if (write(p->evfd, &one, sizeof(one)) == sizeof(one))
		pthread_join(p->thread, NULL);
	plug_free(p);
	return 0;
}

struct vdeplug_module vdeplug_ops = {
	.vde_open_real = plug_open,
	.vde_recv = plug_recv,
	.vde_send = plug_send,
	.vde_datafd = plug_datafd,
	.vde_ctlfd = plug_ctlfd,
	.vde_close = plug_close,
};
