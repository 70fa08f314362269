/* SPDX-License-Identifier: GPL-2.0-or-later
 * transport.h - how guest frames reach the daemon
 *
 * A transport delivers each guest frame to ->to_stack, calls ->flush_stack
 * at the end of each batch of them, and carries frames
 * from the stack with ->send.  The stack never learns which transport is in
 * use.
 */
#ifndef UN_TRANSPORT_H
#define UN_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct usernat_offload;

/* Offloads (vhost-user only): a transport whose link carries per-frame
 * offload information has ->send_off; it passes such frames from guests to
 * ->to_stack_off and says what the guests' side takes with ->set_offload
 * (USERNAT_LINK_* bits), whenever that changes. */
struct transport {
	void (*send)(struct transport *t, const void *frame, size_t len);
	/* or NULL */
	void (*send_off)(struct transport *t, const void *frame, size_t len,
			 const struct usernat_offload *off);
	void (*free)(struct transport *t);
	/* or NULL: called after each loop iteration, to send what ->send
	 * queued */
	void (*batch_end)(struct transport *t);
	/* set by the daemon before any frame flows */
	void (*to_stack)(void *opaque, const void *frame, size_t len);
	void (*to_stack_off)(void *opaque, const void *frame, size_t len,
			     const struct usernat_offload *off);
	void (*set_offload)(void *opaque, unsigned int caps);
	/* called after the last ->to_stack of a batch (usernat_flush()) */
	void (*flush_stack)(void *opaque);
	void *to_stack_opaque;
	char *qemu_args;	/* what to give QEMU to connect, owned */
	char *where;		/* human-readable description, owned */
	uint64_t tx_drops;	/* frames toward guests that didn't fit */
	uint64_t tx_batches;	/* system calls that sent several frames */
};

struct transport *vde_transport_open(struct loop *l, const char *url,
				     size_t max_frame, char **err);
struct transport *stream_transport_open(struct loop *l, const char *path,
					size_t max_frame, char **err);
struct transport *vhost_user_transport_open(struct loop *l, const char *path,
					    size_t max_frame, char **err);

#endif
