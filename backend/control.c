// SPDX-License-Identifier: GPL-2.0-or-later
/* control.c - the control socket: newline-delimited JSON requests
 *
 * DOC: Theory of operation
 *
 * A unix stream socket (mode 0600: only the user who runs usernat) takes
 * requests, one JSON object per line, and answers each with one JSON object
 * per line, {"ok": true, ...} or {"ok": false, "error": "..."}.  Requests
 * are handled in the daemon's loop, between frames, so they see a
 * consistent instance and need no locking.
 *
 * Clients can't hurt the packet path: sockets are non-blocking; a request
 * line is at most CTL_MAX_LINE bytes (longer: an error reply, then close);
 * a half-sent request just waits in its buffer; replies queue in a buffer
 * capped at CTL_MAX_OUT (a client that doesn't read is disconnected when it
 * fills); at most CTL_MAX_CLIENTS connections at once.
 *
 * Commands: see ctl_help below and usernat(1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <glib.h>

#include "backend/control.h"
#include "backend/json.h"
#include "backend/unixsock.h"

#define CTL_MAX_LINE	4096
#define CTL_MAX_OUT	(16 << 20)
#define CTL_MAX_CLIENTS	16

struct ctl_client {
	struct control *ctl;
	struct loop_watch w;
	bool used;
	bool closing;		/* close once the output is flushed */
	char in[CTL_MAX_LINE];
	size_t in_len;
	GString *out;
	size_t out_off;
};

struct control {
	struct loop *loop;
	struct loop_watch lw;
	char *path;
	struct control_ctx ctx;
	struct ctl_client clients[CTL_MAX_CLIENTS];
};

static const char ctl_help[] =
	"commands: help, version, stats, leases, flows, forward-add {spec}, "
	"forward-remove {spec}, forward-list, log-level {level}, "
	"pcap-start {file, max}, pcap-stop";

static void client_free(struct ctl_client *cl)
{
	loop_del(cl->ctl->loop, &cl->w);
	close(cl->w.fd);
	if (cl->out)
		g_string_free(cl->out, TRUE);
	memset(cl, 0, sizeof(*cl));
}

static void reply_error(GString *o, const char *msg)
{
	g_string_append(o, "{\"ok\":false,\"error\":");
	json_str(o, msg);
	g_string_append(o, "}\n");
}

static void stat_cb(void *opaque, const char *name, uint64_t v)
{
	GString *o = opaque;

	/* the first member of "counters" follows "{" */
	g_string_append_printf(o, "%s\"%s\":%" G_GUINT64_FORMAT,
			       o->str[o->len - 1] == '{' ? "" : ",", name, v);
}

static void cmd_stats(const struct control_ctx *ctx, GString *o)
{
	g_string_append(o, "{\"ok\":true,\"counters\":{");
	if (ctx->transport_stats)
		ctx->transport_stats(ctx->opaque, stat_cb, o);
	usernat_stats_foreach(ctx->un, stat_cb, o);
	g_string_append(o, "}}\n");
}

static void cmd_leases(const struct control_ctx *ctx, GString *o)
{
	size_t n = usernat_leases(ctx->un, NULL, 0), i;
	struct usernat_lease *l = g_new0(struct usernat_lease, n ? n : 1);
	char ip[INET_ADDRSTRLEN];

	n = MIN(n, usernat_leases(ctx->un, l, n));
	g_string_append(o, "{\"ok\":true,\"leases\":[");
	for (i = 0; i < n; i++) {
		struct in_addr a = { .s_addr = l[i].ip };

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		g_string_append_printf(o, "%s{\"mac\":\"%02x:%02x:%02x:%02x:"
				       "%02x:%02x\",\"ip\":\"%s\",\"expires_in\""
				       ":%u,\"static\":%s,\"name\":",
				       i ? "," : "", l[i].mac[0], l[i].mac[1],
				       l[i].mac[2], l[i].mac[3], l[i].mac[4],
				       l[i].mac[5], ip, l[i].expires_in,
				       l[i].is_static ? "true" : "false");
		json_str(o, l[i].name);
		g_string_append_c(o, '}');
	}
	g_string_append(o, "]}\n");
	g_free(l);
}

static int parse_level(const char *v)
{
	if (!v)
		return -1;
	if (!strcmp(v, "error"))
		return USERNAT_LOG_ERROR;
	if (!strcmp(v, "warning") || !strcmp(v, "warn"))
		return USERNAT_LOG_WARNING;
	if (!strcmp(v, "info"))
		return USERNAT_LOG_INFO;
	if (!strcmp(v, "debug"))
		return USERNAT_LOG_DEBUG;
	return -1;
}

static void cmd_pcap_start(const struct control_ctx *ctx,
			   const struct json_obj *req, GString *o)
{
	const char *file = json_get(req, "file"), *max = json_get(req, "max");
	struct usernat_config *tmp;
	uint64_t cap = 1ULL << 30;
	char *err = NULL;

	if (!file) {
		reply_error(o, "pcap-start needs \"file\"");
		return;
	}
	if (max) {
		/* the size syntax is the option's: parse it there */
		tmp = usernat_config_new();
		if (usernat_config_set(tmp, "pcap-max", max, &err)) {
			reply_error(o, err ? err : "bad max");
			free(err);
			usernat_config_free(tmp);
			return;
		}
		cap = usernat_config_pcap_max(tmp);
		usernat_config_free(tmp);
	}
	if (usernat_pcap_start(ctx->un, file, cap, &err)) {
		reply_error(o, err ? err : "cannot start capture");
		free(err);
		return;
	}
	g_string_append(o, "{\"ok\":true}\n");
}

static void flow_cb(void *opaque, const struct usernat_flow *f)
{
	GString *o = opaque;
	char ip[INET_ADDRSTRLEN], guest[80];
	struct in_addr a = { .s_addr = f->guest_addr };

	if (f->guest[0]) {	/* IPv6 flows say it themselves */
		g_strlcpy(guest, f->guest, sizeof(guest));
	} else {
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(guest, sizeof(guest), "%s:%u", ip, f->guest_port);
	}
	if (o->str[o->len - 1] != '[')
		g_string_append_c(o, ',');
	g_string_append_printf(o, "{\"proto\":\"%s\",\"state\":", f->proto);
	json_str(o, f->state ? f->state : "");
	g_string_append_printf(o, ",\"inbound\":%s,\"guest\":",
			       f->inbound ? "true" : "false");
	json_str(o, guest);
	g_string_append(o, ",\"host\":");
	json_str(o, f->host);
	g_string_append_printf(o, ",\"bytes_from_guest\":%" G_GUINT64_FORMAT
			       ",\"bytes_to_guest\":%" G_GUINT64_FORMAT
			       ",\"age_s\":%" G_GUINT64_FORMAT "}",
			       f->bytes_from_guest, f->bytes_to_guest,
			       f->age_ms / 1000);
}

static void fwd_cb(void *opaque, const char *spec, uint64_t accepted)
{
	GString *o = opaque;

	if (o->str[o->len - 1] != '[')
		g_string_append_c(o, ',');
	g_string_append(o, "{\"spec\":");
	json_str(o, spec);
	g_string_append_printf(o, ",\"connections\":%" G_GUINT64_FORMAT "}",
			       accepted);
}

static void cmd_forward(const struct control_ctx *ctx,
			const struct json_obj *req, const char *cmd,
			GString *o)
{
	const char *spec = json_get(req, "spec");
	char *err = NULL;
	int ret;

	if (!strcmp(cmd, "forward-list")) {
		g_string_append(o, "{\"ok\":true,\"forwards\":[");
		usernat_forward_foreach(ctx->un, fwd_cb, o);
		g_string_append(o, "]}\n");
		return;
	}
	if (!spec) {
		reply_error(o, "needs \"spec\"");
		return;
	}
	if (!strcmp(cmd, "forward-add"))
		ret = usernat_forward_add(ctx->un, spec, &err);
	else
		ret = usernat_forward_remove(ctx->un, spec, &err);
	if (ret) {
		reply_error(o, err ? err : "failed");
		free(err);
		return;
	}
	g_string_append(o, "{\"ok\":true}\n");
}

/**
 * control_request() - Handle one request line, append the reply to @o
 * @ctx:	what the request may act on
 * @line:	the request, without its newline (need not be NUL-terminated)
 * @len:	bytes in @line
 * @o:		reply buffer, owned by the caller
 *
 * No I/O of its own besides what the command asks of @ctx->un, so the
 * fuzzer can call it (tests/fuzz/fuzz-control.c).
 */
void control_request(const struct control_ctx *ctx, const char *line,
		     size_t len, GString *o)
{
	struct json_obj *req = g_new(struct json_obj, 1);
	const char *err = NULL, *cmd;
	int level;

	if (json_parse_flat(line, len, req, &err)) {
		reply_error(o, err);
		goto out;
	}
	if (!(cmd = json_get(req, "cmd"))) {
		reply_error(o, "missing \"cmd\"");
		goto out;
	}
	if (!strcmp(cmd, "help")) {
		g_string_append(o, "{\"ok\":true,\"help\":");
		json_str(o, ctl_help);
		g_string_append(o, "}\n");
	} else if (!strcmp(cmd, "version")) {
		g_string_append(o, "{\"ok\":true,\"version\":\"" PACKAGE_VERSION
				   "\"}\n");
	} else if (!strcmp(cmd, "stats")) {
		cmd_stats(ctx, o);
	} else if (!strcmp(cmd, "leases")) {
		cmd_leases(ctx, o);
	} else if (!strcmp(cmd, "flows")) {
		g_string_append(o, "{\"ok\":true,\"flows\":[");
		usernat_flows_foreach(ctx->un, flow_cb, o);
		g_string_append(o, "]}\n");
	} else if (!strcmp(cmd, "log-level")) {
		if ((level = parse_level(json_get(req, "level"))) < 0) {
			reply_error(o, "log-level needs \"level\": error, "
				       "warning, info or debug");
			goto out;
		}
		usernat_set_log_level(ctx->un, level);
		if (ctx->set_log_level)
			ctx->set_log_level(level);
		g_string_append(o, "{\"ok\":true}\n");
	} else if (!strcmp(cmd, "pcap-start")) {
		cmd_pcap_start(ctx, req, o);
	} else if (!strncmp(cmd, "forward-", 8) &&
		   (!strcmp(cmd + 8, "add") || !strcmp(cmd + 8, "remove") ||
		    !strcmp(cmd + 8, "list"))) {
		cmd_forward(ctx, req, cmd, o);
	} else if (!strcmp(cmd, "pcap-stop")) {
		usernat_pcap_stop(ctx->un);
		g_string_append(o, "{\"ok\":true}\n");
	} else {
		GString *m = g_string_new("unknown command; ");

		g_string_append(m, ctl_help);
		reply_error(o, m->str);
		g_string_free(m, TRUE);
	}
out:
	g_free(req);
}

/** client_flush() - Write queued output; Return: -1 if the client is gone */
static int client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out->len) {
		ssize_t n = write(cl->w.fd, cl->out->str + cl->out_off,
				  cl->out->len - cl->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_free(cl);
			return -1;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out->len) {
		g_string_truncate(cl->out, 0);
		cl->out_off = 0;
		if (cl->closing) {
			client_free(cl);
			return -1;
		}
		loop_mod(cl->ctl->loop, &cl->w, EPOLLIN);
	} else {
		loop_mod(cl->ctl->loop, &cl->w, EPOLLIN | EPOLLOUT);
	}
	return 0;
}

/** client_lines() - Handle every complete line in the input buffer */
static void client_lines(struct ctl_client *cl)
{
	char *nl;
	size_t off = 0;

	while ((nl = memchr(cl->in + off, '\n', cl->in_len - off))) {
		size_t len = (size_t)(nl - (cl->in + off));

		if (len)
			control_request(&cl->ctl->ctx, cl->in + off, len,
					cl->out);
		off += len + 1;
	}
	memmove(cl->in, cl->in + off, cl->in_len - off);
	cl->in_len -= off;
	if (cl->in_len == sizeof(cl->in)) {
		reply_error(cl->out, "request too long");
		cl->closing = true;
		cl->in_len = 0;
	}
}

static void client_ready(struct loop_watch *w, uint32_t events)
{
	struct ctl_client *cl = container_of(w, struct ctl_client, w);
	ssize_t n;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (cl->closing) {
			char sink[512];

			n = read(w->fd, sink, sizeof(sink));
		} else {
			n = read(w->fd, cl->in + cl->in_len,
				 sizeof(cl->in) - cl->in_len);
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_free(cl);
			return;
		}
		if (n > 0 && !cl->closing) {
			cl->in_len += (size_t)n;
			client_lines(cl);
		}
	}
	if (cl->out->len > CTL_MAX_OUT) {
		g_info("control: client not reading its replies, closed");
		client_free(cl);
		return;
	}
	client_flush(cl);
}

static void listener_ready(struct loop_watch *w, uint32_t events)
{
	struct control *c = container_of(w, struct control, lw);
	struct ctl_client *cl = NULL;
	int fd, i;

	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < CTL_MAX_CLIENTS && !cl; i++)
		if (!c->clients[i].used)
			cl = &c->clients[i];
	if (!cl) {
		static const char busy[] =
			"{\"ok\":false,\"error\":\"too many clients\"}\n";

		if (write(fd, busy, sizeof(busy) - 1) < 0)
			g_debug("control: busy reply failed");
		close(fd);
		return;
	}
	memset(cl, 0, sizeof(*cl));
	cl->ctl = c;
	cl->used = true;
	cl->out = g_string_sized_new(256);
	if (loop_add(c->loop, &cl->w, fd, EPOLLIN, client_ready)) {
		cl->w.fd = fd;
		client_free(cl);
	}
}

/**
 * control_open() - Listen for control clients at @path (mode 0600)
 * Return: control, or NULL with *@err set (g_free it)
 */
struct control *control_open(struct loop *l, const char *path,
			     const struct control_ctx *ctx, char **err)
{
	struct control *c;
	int fd;

	if ((fd = unix_listen(path, 0600, 8, err)) < 0)
		return NULL;
	c = g_new0(struct control, 1);
	c->loop = l;
	c->path = g_strdup(path);
	c->ctx = *ctx;
	if (loop_add(l, &c->lw, fd, EPOLLIN, listener_ready)) {
		*err = g_strdup_printf("cannot watch control socket %s: %s",
				       path, strerror(errno));
		close(fd);
		unlink(path);
		g_free(c->path);
		g_free(c);
		return NULL;
	}
	return c;
}

void control_close(struct control *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].used)
			client_free(&c->clients[i]);
	loop_del(c->loop, &c->lw);
	close(c->lw.fd);
	unlink(c->path);
	g_free(c->path);
	g_free(c);
}
