/* SPDX-License-Identifier: GPL-2.0-or-later
 * dns.h - DNS NAT: counters and module-private declarations
 */
#ifndef UN_DNS_H
#define UN_DNS_H

/* Counters of this module, X(name, description), merged into UN_COUNTERS */
#define UN_COUNTERS_DNS(X)

#endif
