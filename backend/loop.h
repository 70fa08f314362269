/* SPDX-License-Identifier: GPL-2.0-or-later
 * loop.h - the daemon's epoll loop: a watch is a callback on a descriptor
 */
#ifndef UN_LOOP_H
#define UN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop_watch;
typedef void (*loop_cb)(struct loop_watch *w, uint32_t events);

/* Embed in the object that owns the descriptor; container_of() back */
struct loop_watch {
	loop_cb cb;
	int fd;
};

/*
 * Another owner's epoll set for the loop to use instead of its own: the
 * daemon gives it the stack instance's (usernat_watch(), usernat_wait()),
 * so one epoll_wait() serves both.  @watch adds or modifies (same @fd).
 */
struct loop_ext {
	int (*watch)(void *ctx, int fd, uint32_t events, struct loop_watch *w);
	void (*unwatch)(void *ctx, int fd);
	int (*wait)(void *ctx, int timeout_ms);
	void *ctx;
};

struct loop {
	int epfd;			/* own set, -1 with ext */
	bool quit;
	const struct loop_ext *ext;	/* NULL: own set */
};

int loop_init(struct loop *l);
void loop_use(struct loop *l, const struct loop_ext *ext);
void loop_fini(struct loop *l);
int loop_add(struct loop *l, struct loop_watch *w, int fd, uint32_t events,
	     loop_cb cb);
int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct loop *l, struct loop_watch *w);
int loop_run_once(struct loop *l, int timeout_ms);

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - __builtin_offsetof(type, member)))
#endif

#endif
