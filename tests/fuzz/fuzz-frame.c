/* fuzz-frame.c - libFuzzer target: arbitrary frames through a whole stack
 *
 * The input is split into frames: each starts with a 2-byte big-endian
 * length (as vde_plug's stream format), so one input can first bring a guest
 * to a state (a DHCP lease, a TCP connection) and then send the frame that
 * matters.  Host-side events are serviced after each frame.  Frames the
 * stack sends back are checked for a sane length and dropped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "usernat.h"

static void out(void *opaque, const void *frame, size_t len)
{
	size_t *n = opaque;

	if (len < 14 || len > 14 + 65535)
		abort();
	*n += len;
}

static void quiet(const gchar *d, GLogLevelFlags l, const gchar *m, gpointer u)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct usernat *un;
	static size_t sent;
	struct usernat_config *cfg;

	if (!un) {
		g_log_set_default_handler(quiet, NULL);
		cfg = usernat_config_new();
		usernat_config_set(cfg, "mtu", "9000", NULL);
		usernat_config_set(cfg, "dhcp-host",
				   "52:54:00:12:34:99,10.0.2.99,fuzz", NULL);
		usernat_config_set(cfg, "dns-search", "a.example,b.example",
				   NULL);
		/* nothing leaves this machine: upstream DNS is a closed
		 * loopback port, and NAT destinations are whatever the input
		 * says, so keep the fuzzer off the network (run it in an
		 * unshared network namespace in CI) */
		usernat_config_set(cfg, "dns-upstream", "127.0.0.1:9", NULL);
		usernat_config_set(cfg, "log-level", "error", NULL);
		un = usernat_new(cfg, out, &sent, NULL);
		usernat_config_free(cfg);
		if (!un)
			abort();
	}
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		/* a copy of exactly len bytes, so ASan sees any overread */
		uint8_t *frame = malloc(len ? len : 1);

		memcpy(frame, data, len);
		usernat_input(un, frame, len);
		free(frame);
		usernat_service(un);
		data += len;
		size -= len;
	}
	return 0;
}
