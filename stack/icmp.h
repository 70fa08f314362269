/* SPDX-License-Identifier: GPL-2.0-or-later
 * icmp.h - ICMP NAT: counters and module-private declarations
 */
#ifndef UN_ICMP_H
#define UN_ICMP_H

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_ICMP(X)

#endif
