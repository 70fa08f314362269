// SPDX-License-Identifier: GPL-2.0-or-later
/* loop.c - the daemon's epoll loop
 *
 * Every descriptor the daemon watches (transport sockets, the control
 * socket, the signalfd) is a struct loop_watch whose pointer is the epoll
 * cookie, so dispatch costs one indirect call per ready descriptor.
 *
 * The loop has an epoll set of its own, or uses another owner's
 * (loop_use()): the daemon puts its watches in the stack instance's set
 * and waits there, which saves the second epoll_wait() per wake-up that
 * nesting the instance's set in the loop's costs (one for the loop, one
 * in usernat_service()).  Tests of the transports keep a set of their own.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

int loop_init(struct loop *l)
{
	l->quit = false;
	l->ext = NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

/**
 * loop_use() - Put watches in @ext's epoll set from now on, and wait there
 * (before any loop_add(): the loop's own set is closed)
 */
void loop_use(struct loop *l, const struct loop_ext *ext)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	l->ext = ext;
}

void loop_fini(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_add(struct loop *l, struct loop_watch *w, int fd, uint32_t events,
	     loop_cb cb)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->cb = cb;
	if (l->ext)
		return l->ext->watch(l->ext->ctx, fd, events, w);
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (l->ext)
		return l->ext->watch(l->ext->ctx, w->fd, events, w);
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -errno : 0;
}

void loop_del(struct loop *l, struct loop_watch *w)
{
	if (w->fd < 0)
		return;
	if (l->ext)
		l->ext->unwatch(l->ext->ctx, w->fd);
	else
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/**
 * loop_run_once() - Wait for events and dispatch them
 * Return: number of events handled, or negative errno
 */
int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[64];
	int n, i;

	if (l->ext)
		return l->ext->wait(l->ext->ctx, timeout_ms);
	n = epoll_wait(l->epfd, ev, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = ev[i].data.ptr;

		w->cb(w, ev[i].events);
	}
	return n;
}
