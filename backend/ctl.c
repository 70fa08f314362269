// SPDX-License-Identifier: GPL-2.0-or-later
/* ctl.c - usernatctl: a command-line client of usernat's control socket
 *
 * Sends one request and prints the reply line (JSON).  Commands map to
 * requests one to one, so scripts may also speak to the socket directly.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#include "backend/control.h"
#include "backend/json.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: usernatctl [-c PATH] COMMAND [ARGS]\n"
		"commands:\n"
		"  stats                       counters (frames, drops by reason)\n"
		"  leases                      DHCP leases\n"
		"  flows                       active flows\n"
		"  forward-add SPEC            e.g. tcp::2222-:22\n"
		"  forward-remove SPEC\n"
		"  forward-list\n"
		"  log-level LEVEL             error, warning, info, debug\n"
		"  pcap-start FILE [MAXSIZE]   start capturing every frame\n"
		"  pcap-stop\n"
		"  raw JSON                    send JSON as the request\n"
		"PATH defaults to $XDG_RUNTIME_DIR/usernat.ctl "
		"(/tmp/usernat-UID.ctl).\n");
}

/** build_request() - The JSON request for a command line */
static GString *build_request(int argc, char **argv)
{
	static const char *const arg_names[][3] = {
		{ "forward-add", "spec", NULL }, { "forward-remove", "spec", NULL },
		{ "log-level", "level", NULL }, { "pcap-start", "file", "max" },
	};
	GString *r = g_string_new(NULL);
	size_t i;
	int a;

	if (!strcmp(argv[0], "raw")) {
		if (argc != 2)
			goto bad;
		g_string_append(r, argv[1]);
		return r;
	}
	g_string_append(r, "{\"cmd\":");
	json_str(r, argv[0]);
	for (i = 0; i < G_N_ELEMENTS(arg_names); i++) {
		if (strcmp(argv[0], arg_names[i][0]))
			continue;
		for (a = 1; a < argc; a++) {
			if (a > 2 || !arg_names[i][a])
				goto bad;
			g_string_append_printf(r, ",\"%s\":", arg_names[i][a]);
			json_str(r, argv[a]);
		}
		if (argc < 2)
			goto bad;
		break;
	}
	if (i == G_N_ELEMENTS(arg_names) && argc > 1)
		goto bad;
	g_string_append_c(r, '}');
	return r;
bad:
	g_string_free(r, TRUE);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char *path = NULL, buf[65536];
	GString *req, *reply;
	int fd, i = 1;
	ssize_t n;

	if (argc > 2 && (!strcmp(argv[1], "-c") || !strcmp(argv[1], "--control"))) {
		path = g_strdup(argv[2]);
		i = 3;
	}
	if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!(req = build_request(argc - i, argv + i))) {
		fprintf(stderr, "usernatctl: bad arguments for '%s'\n", argv[i]);
		usage(stderr);
		return 2;
	}
	if (!path)
		path = control_default_path();
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usernatctl: path too long\n");
		return 2;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "usernatctl: cannot connect to %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	g_string_append_c(req, '\n');
	if (write(fd, req->str, req->len) != (ssize_t)req->len) {
		fprintf(stderr, "usernatctl: write: %s\n", strerror(errno));
		return 1;
	}
	reply = g_string_new(NULL);
	while (!strchr(reply->str, '\n')) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 10000) != 1) {
			fprintf(stderr, "usernatctl: no reply\n");
			return 1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		g_string_append_len(reply, buf, n);
	}
	fputs(reply->str, stdout);
	close(fd);
	i = strstr(reply->str, "\"ok\":true") ? 0 : 1;
	/* freed, so that sanitizer builds report no leak at exit */
	g_string_free(reply, TRUE);
	g_string_free(req, TRUE);
	g_free(path);
	return i;
}
