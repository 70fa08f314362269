// SPDX-License-Identifier: GPL-2.0-or-later
/* unixsock.c - one way to listen on a unix socket path
 *
 * Used by the stream and vhost-user transports and the control socket, so
 * they all treat an existing path the same way: a socket file left by a
 * dead process (nobody answers: ECONNREFUSED) is replaced, a live one is an
 * error, so two daemons never share a path.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#include "backend/unixsock.h"

/**
 * unix_listen() - Bind and listen on a non-blocking unix socket at @path
 * @mode:	permissions of the socket file, or 0 for the umask's
 * @backlog:	listen() backlog
 * @err:	on failure, a message naming the path (g_free it)
 * Return: descriptor, or -1
 */
int unix_listen(const char *path, mode_t mode, int backlog, char **err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old = 0;
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path)) {
		*err = g_strdup_printf("socket path too long: %s", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		close(fd);
		*err = g_strdup_printf("%s is in use by another process", path);
		return -1;
	}
	if (errno == ECONNREFUSED)
		unlink(path);	/* stale socket of a dead process */
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (mode)	/* created with @mode: no window with wider rights */
		old = umask(~mode & 0777);
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (mode)
		umask(old);
	if (ret || listen(fd, backlog))
		goto fail;
	return fd;
fail:
	*err = g_strdup_printf("cannot listen on %s: %s", path,
			       strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}
