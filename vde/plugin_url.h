/* SPDX-License-Identifier: GPL-2.0-or-later
 * plugin_url.h - usernat:// URL options to a configuration
 */
#ifndef UN_PLUGIN_URL_H
#define UN_PLUGIN_URL_H

#include "stack/usernat.h"

/* @url is modified in place; Return: configuration, or NULL (reason on
 * stderr) */
struct usernat_config *plugin_url_config(char *url);

#endif
