/* fuzz-config.c - libFuzzer target: option parsing
 *
 * Byte 0 picks the mode; the rest is text:
 * - even: key=value options (or bare flags), one per line or NUL-separated,
 *   given to usernat_config_set() on a fresh configuration; if every one
 *   was accepted, usernat_new() must accept the result or say why, and the
 *   instance is freed again.  An instance is not started when "pcap" was
 *   given: it would create a file at a path the input chooses.
 * - odd: the options part of a usernat:// URL for the vdeplug module,
 *   through plugin_url_config() (vde_parseparms() and the module's own
 *   prefix and '+' extensions).
 * Forwards open listening sockets: run this through tests/fuzz/isolated.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "usernat.h"
#include "vde/plugin_url.h"

static void discard(void *opaque, const void *frame, size_t len)
{
}

static void quiet(const gchar *d, GLogLevelFlags l, const gchar *m, gpointer u)
{
}

static void fuzz_options(char *text, size_t len)
{
	struct usernat_config *cfg = usernat_config_new();
	bool ok = true, pcap = false;
	size_t off = 0;
	char *err;

	while (off < len && ok) {
		char *line = text + off, *eq;
		size_t n = strcspn(line, "\n");	/* stops at NUL, too */

		line[n] = '\0';
		off += n + 1;
		if (!n)
			continue;
		if ((eq = strchr(line, '=')))
			*eq++ = '\0';
		pcap |= !strcmp(line, "pcap");
		err = NULL;
		ok = !usernat_config_set(cfg, line, eq, &err);
		if (!ok && !err)
			abort();	/* a refusal always says why */
		free(err);
	}
	if (ok && !pcap) {
		struct usernat *un;

		err = NULL;
		un = usernat_new(cfg, discard, NULL, &err);
		if (!un && !err)
			abort();
		free(err);
		usernat_free(un);
	}
	usernat_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	char *text;

	if (!init) {
		g_log_set_default_handler(quiet, NULL);
		init = true;
	}
	if (size < 1)
		return 0;
	/* NUL-terminated copy of exactly the input, so ASan sees overreads */
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		usernat_config_free(plugin_url_config(text));
	else
		fuzz_options(text, size - 1);
	free(text);
	return 0;
}
