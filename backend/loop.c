// SPDX-License-Identifier: GPL-2.0-or-later
/* loop.c - the daemon's epoll loop
 *
 * Every descriptor the daemon watches (transport sockets, the stack's own
 * epoll fd, the signalfd) is a struct loop_watch whose pointer is the epoll
 * cookie, so dispatch costs one indirect call per ready descriptor.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

int loop_init(struct loop *l)
{
	l->quit = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
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
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -errno : 0;
}

void loop_del(struct loop *l, struct loop_watch *w)
{
	if (w->fd >= 0)
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

	n = epoll_wait(l->epfd, ev, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = ev[i].data.ptr;

		w->cb(w, ev[i].events);
	}
	return n;
}
