/* SPDX-License-Identifier: GPL-2.0-or-later
 * control.h - the daemon's control socket (newline-delimited JSON)
 */
#ifndef UN_CONTROL_H
#define UN_CONTROL_H

#include <unistd.h>
#include <glib.h>

#include "backend/loop.h"
#include "stack/usernat.h"

struct control;

/* What a control request may act on, provided by the daemon */
struct control_ctx {
	struct usernat *un;
	void (*set_log_level)(int level);
	/* the transport's counters, each given to @fn with its name */
	void (*transport_stats)(void *opaque,
				void (*fn)(void *fn_opaque, const char *name,
					   uint64_t v),
				void *fn_opaque);
	void *opaque;
};

struct control *control_open(struct loop *l, const char *path,
			     const struct control_ctx *ctx, char **err);
void control_close(struct control *c);
void control_request(const struct control_ctx *ctx, const char *line,
		     size_t len, GString *o);
/** control_default_path() - Per-user default socket path (g_free it) */
static inline char *control_default_path(void)
{
	const char *rt = g_getenv("XDG_RUNTIME_DIR");

	if (rt && *rt)
		return g_strdup_printf("%s/usernat.ctl", rt);
	return g_strdup_printf("/tmp/usernat-%u.ctl", (unsigned)getuid());
}

#endif
