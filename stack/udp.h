/* SPDX-License-Identifier: GPL-2.0-or-later
 * udp.h - UDP NAT: counters and module-private declarations
 */
#ifndef UN_UDP_H
#define UN_UDP_H

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_UDP(X)

#endif
