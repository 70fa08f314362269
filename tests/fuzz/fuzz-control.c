/* fuzz-control.c - libFuzzer target: control-socket requests
 *
 * The input is cut at newlines into request lines, as the socket does.
 * Each line goes through json_parse_flat() alone (a parsed object must hold
 * NUL-terminated keys and values within bounds) and then through the whole
 * request handler, control_request(), against a real usernat instance whose
 * output is discarded.  Every reply must be one line of output.
 *
 * "pcap-start" is not handed to the handler: it creates a file at a path
 * the input chooses.  Forwards do open listening sockets: run this target
 * through tests/fuzz/isolated, as "make fuzz" does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "backend/control.h"
#include "backend/json.h"
#include "usernat.h"

static void discard(void *opaque, const void *frame, size_t len)
{
}

static void quiet(const gchar *d, GLogLevelFlags l, const gchar *m, gpointer u)
{
}

static void check_obj(const struct json_obj *o)
{
	int i;

	if (o->n < 0 || o->n > JSON_MAX_KEYS)
		abort();
	for (i = 0; i < o->n; i++)
		if (!memchr(o->kv[i].key, 0, sizeof(o->kv[i].key)) ||
		    !memchr(o->kv[i].val, 0, sizeof(o->kv[i].val)))
			abort();
}

/* Return: true if the handler may run this line */
static bool allowed(const char *line, size_t len)
{
	struct json_obj *o = g_new(struct json_obj, 1);
	const char *err = NULL, *cmd;
	bool ok = true;

	if (!json_parse_flat(line, len, o, &err)) {
		check_obj(o);
		cmd = json_get(o, "cmd");
		ok = !cmd || strcmp(cmd, "pcap-start");
	} else if (!err) {
		abort();	/* a failure always says why */
	}
	g_free(o);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control_ctx ctx;
	struct usernat_config *cfg;
	size_t off = 0;

	if (!ctx.un) {
		g_log_set_default_handler(quiet, NULL);
		cfg = usernat_config_new();
		usernat_config_set(cfg, "dns-upstream", "127.0.0.1:9", NULL);
		usernat_config_set(cfg, "log-level", "error", NULL);
		ctx.un = usernat_new(cfg, discard, NULL, NULL);
		usernat_config_free(cfg);
		if (!ctx.un)
			abort();
	}
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		/* a copy of exactly len bytes, so ASan sees any overread */
		char *line = malloc(len ? len : 1);
		GString *o = g_string_new(NULL);

		memcpy(line, data + off, len);
		if (allowed(line, len)) {
			control_request(&ctx, line, len, o);
			if (!o->len || o->str[o->len - 1] != '\n' ||
			    memchr(o->str, '\n', o->len - 1) ||
			    strlen(o->str) != o->len)
				abort();
		}
		g_string_free(o, TRUE);
		free(line);
		off += len + 1;
	}
	/* forwards added by this input would pile up: start clean */
	usernat_free(ctx.un);
	ctx.un = NULL;
	return 0;
}
