/* SPDX-License-Identifier: GPL-2.0-or-later
 * json.h - the small JSON the control socket speaks
 *
 * Requests are one flat object per line: string, number, true/false/null
 * values only ({"cmd": "forward-add", "spec": "tcp::2222-:22"}).  Replies
 * are built with GString and json_str().
 */
#ifndef UN_JSON_H
#define UN_JSON_H

#include <stddef.h>
#include <glib.h>

#define JSON_MAX_KEYS	16
#define JSON_MAX_STR	1024

struct json_kv {
	char key[64];
	char val[JSON_MAX_STR];	/* strings unescaped; numbers and literals
				 * as written */
	int is_string;
};

struct json_obj {
	struct json_kv kv[JSON_MAX_KEYS];
	int n;
};

int json_parse_flat(const char *s, size_t len, struct json_obj *o,
		    const char **err);
const char *json_get(const struct json_obj *o, const char *key);
void json_str(GString *out, const char *s);

#endif
