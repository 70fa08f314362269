/* SPDX-License-Identifier: GPL-2.0-or-later
 * unixsock.h - listening unix sockets for the daemon's transports and
 * control socket
 */
#ifndef UN_UNIXSOCK_H
#define UN_UNIXSOCK_H

#include <sys/types.h>

int unix_listen(const char *path, mode_t mode, int backlog, char **err);

#endif
