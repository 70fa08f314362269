// SPDX-License-Identifier: GPL-2.0-or-later
/* dns.c - DNS forwarder: placeholder until Outbound NAT lands */
#include "stack.h"

int dns_init(struct usernat *un) { return 0; }
void dns_cleanup(struct usernat *un) { }
void dns_ready(struct usernat *un, union un_ref ref, uint32_t events) { }
void dns_tick(struct usernat *un, int64_t now_ms) { }
