/* SPDX-License-Identifier: GPL-2.0-or-later
 * tcp.h - TCP NAT: counters and module-private declarations
 */
#ifndef UN_TCP_H
#define UN_TCP_H

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_TCP(X)

#endif
