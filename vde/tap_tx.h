/* SPDX-License-Identifier: GPL-2.0-or-later
 * tap_tx.h - frames to a tap, many per system call (see tap_tx.c)
 */
#ifndef UN_TAP_TX_H
#define UN_TAP_TX_H

#include <stddef.h>
#include <stdint.h>

struct tap_tx;

/* A batch writer for tap descriptor @fd (kept open by the caller), or NULL
 * with *@err set to an errno value if io_uring is unavailable */
struct tap_tx *tap_tx_new(int fd, int *err);
void tap_tx_free(struct tap_tx *tx);
/* Queue a copy of @frame; returns frames dropped (a flush that had to
 * happen first may drop some) */
unsigned int tap_tx_send(struct tap_tx *tx, const void *frame, size_t len);
/* Write what is queued; returns frames the tap did not take */
unsigned int tap_tx_flush(struct tap_tx *tx);
/* io_uring_enter() calls that wrote a batch, so far */
uint64_t tap_tx_batches(const struct tap_tx *tx);

#endif
