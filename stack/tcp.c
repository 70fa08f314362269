// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp.c - TCP from guests: placeholder until Outbound NAT lands */
#include "stack.h"

void tcp_from_guest(struct usernat *un, const struct ip4_in *ip)
{
	UN_COUNT(un, drop_tcp_nat);
}
