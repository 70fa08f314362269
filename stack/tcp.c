// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp.c - TCP from guests: placeholder until Outbound NAT lands */
#include "stack.h"

int tcp_init(struct usernat *un) { return 0; }
void tcp_cleanup(struct usernat *un) { }
void tcp_ready(struct usernat *un, union un_ref ref, uint32_t events) { }
void tcp_tick(struct usernat *un, int64_t now_ms) { }

void tcp_from_guest(struct usernat *un, const struct ip4_in *ip)
{
	UN_COUNT(un, drop_tcp_nat);
}
