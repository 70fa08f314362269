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

struct loop {
	int epfd;
	bool quit;
};

int loop_init(struct loop *l);
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
