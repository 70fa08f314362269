// SPDX-License-Identifier: GPL-2.0-or-later
/* json.c - a bounded parser for flat JSON objects, and string escaping
 *
 * The control socket's requests come from any local process of the user,
 * so the parser is written like the packet parsers: every step checks the
 * remaining length, every string and key has a fixed maximum, and anything
 * outside the small grammar (nested values, arrays, trailing garbage) is an
 * error with a message, never a crash.
 */
#include <string.h>

#include "backend/json.h"

struct cur {
	const char *p;
	const char *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end &&
	       (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

static int hexval(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

/** parse_string() - A JSON string into @out (at most @size - 1 bytes) */
static int parse_string(struct cur *c, char *out, size_t size)
{
	size_t n = 0;

	if (c->p >= c->end || *c->p != '"')
		return -1;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;

		if ((unsigned char)ch < 0x20)
			return -1;
		if (ch == '\\') {
			if (c->p >= c->end)
				return -1;
			ch = *c->p++;
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case '"': case '\\': case '/': break;
			case 'u': {
				int i, v = 0;

				if (c->end - c->p < 4)
					return -1;
				for (i = 0; i < 4; i++) {
					int h = hexval(c->p[i]);

					if (h < 0)
						return -1;
					v = v << 4 | h;
				}
				c->p += 4;
				if (v == 0 || v > 0x7f)
					return -1;	/* ASCII only */
				ch = (char)v;
				break;
			}
			default:
				return -1;
			}
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = ch;
	}
	if (c->p >= c->end)
		return -1;
	c->p++;
	out[n] = 0;
	return 0;
}

/** parse_literal() - A number or true/false/null, kept as text */
static int parse_literal(struct cur *c, char *out, size_t size)
{
	size_t n = 0;

	while (c->p < c->end && (g_ascii_isalnum(*c->p) || *c->p == '-' ||
				 *c->p == '+' || *c->p == '.')) {
		if (n + 1 >= size)
			return -1;
		out[n++] = *c->p++;
	}
	out[n] = 0;
	if (!n)
		return -1;
	if (g_ascii_isalpha(out[0]) && strcmp(out, "true") &&
	    strcmp(out, "false") && strcmp(out, "null"))
		return -1;
	return 0;
}

/**
 * json_parse_flat() - Parse one flat object from @s (@len bytes)
 * @err:	on failure, a static description
 * Return: 0, or -1
 */
int json_parse_flat(const char *s, size_t len, struct json_obj *o,
		    const char **err)
{
	struct cur c = { s, s + len };

	o->n = 0;
	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		goto bad;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto end;
	}
	for (;;) {
		struct json_kv *kv;

		if (o->n >= JSON_MAX_KEYS) {
			*err = "too many keys";
			return -1;
		}
		kv = &o->kv[o->n];
		skip_ws(&c);
		if (parse_string(&c, kv->key, sizeof(kv->key)))
			goto bad;
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			goto bad;
		skip_ws(&c);
		if (c.p < c.end && *c.p == '"') {
			if (parse_string(&c, kv->val, sizeof(kv->val)))
				goto bad;
			kv->is_string = 1;
		} else {
			if (parse_literal(&c, kv->val, sizeof(kv->val)))
				goto bad;
			kv->is_string = 0;
		}
		o->n++;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		goto bad;
	}
end:
	skip_ws(&c);
	if (c.p != c.end)
		goto bad;
	return 0;
bad:
	*err = "malformed request: expected one flat JSON object";
	return -1;
}

const char *json_get(const struct json_obj *o, const char *key)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->kv[i].key, key))
			return o->kv[i].val;
	return NULL;
}

/** json_str() - Append @s as a quoted, escaped JSON string */
void json_str(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			g_string_append_printf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			g_string_append_printf(out, "\\u%04x", ch);
		else
			g_string_append_c(out, (char)ch);
	}
	g_string_append_c(out, '"');
}
