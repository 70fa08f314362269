// SPDX-License-Identifier: GPL-2.0-or-later
/* plugin_url.c - usernat:///key=value/... URL options to a configuration
 *
 * Split out of plugin.c so the fuzzer (tests/fuzz/fuzz-config.c) can parse
 * URLs without loading the module.  The syntax is described in plugin.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvdeplug_mod.h>

#include "stack/usernat.h"
#include "vde/plugin_url.h"

#define PLUG_MAXKEYS	64

/**
 * plug_join_prefixes() - Protect the '/' of "net=ADDR/PREFIX" from the
 * option splitter: a segment of digits right after a key=value segment is
 * that value's prefix length.  The '/' becomes '\x01', undone by
 * plug_restore().
 */
static void plug_join_prefixes(char *s)
{
	char *p;

	for (p = strchr(s, '/'); p; p = strchr(p + 1, '/')) {
		char *q = p + 1;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 1 && (!*q || strchr("/:]+", *q)) && p > s &&
		    memchr(s, '=', (size_t)(p - s)))
			*p = '\x01';
	}
}

static char *plug_restore(char *v)
{
	char *c;

	for (c = v; c && *c; c++)
		if (*c == '\x01')
			*c = '/';
	return v;
}

/**
 * plugin_url_config() - Build a configuration from the options part of @url
 * Return: configuration, or NULL after printing the reason on stderr
 */
struct usernat_config *plugin_url_config(char *url)
{
	const char *const *keys = usernat_config_keys();
	struct vdeparms parms[PLUG_MAXKEYS + 1] = { { 0 } };
	char *vals[PLUG_MAXKEYS] = { 0 };
	struct usernat_config *cfg;
	size_t nk, i;

	for (nk = 0; keys[nk] && nk < PLUG_MAXKEYS; nk++) {
		parms[nk].tag = (char *)keys[nk];
		parms[nk].value = &vals[nk];
	}
	plug_join_prefixes(url);
	if (vde_parseparms(url, parms)) {
		fprintf(stderr, "usernat: bad option in URL (known options: "
			"see libvdeplug_usernat(1))\n");
		return NULL;
	}
	if (*url) {
		fprintf(stderr, "usernat: unexpected '%s' in URL: options go "
			"after a slash, usernat:///key=value/...\n", url);
		return NULL;
	}
	cfg = usernat_config_new();
	for (i = 0; i < nk; i++) {
		char *v = plug_restore(vals[i]), *save = NULL, *one, *err = NULL;

		if (!v)
			continue;
		if (usernat_config_key_is_flag(keys[i])) {
			if (*v) {
				fprintf(stderr, "usernat: %s takes no value\n",
					keys[i]);
				goto fail;
			}
			v = NULL;
		}
		/* repeatable options: several values joined by '+' */
		for (one = v && usernat_config_key_repeats(keys[i]) ?
				   strtok_r(v, "+", &save) : v;
		     !v || one;
		     one = v && usernat_config_key_repeats(keys[i]) ?
				   strtok_r(NULL, "+", &save) : NULL) {
			if (usernat_config_set(cfg, keys[i], one, &err)) {
				fprintf(stderr, "usernat: %s\n",
					err ? err : keys[i]);
				free(err);
				goto fail;
			}
			if (!v)
				break;
		}
	}
	return cfg;
fail:
	usernat_config_free(cfg);
	return NULL;
}
