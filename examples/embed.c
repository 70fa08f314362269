/* embed.c - the smallest embedding of libusernat
 *
 * Build:  cc embed.c $(pkg-config --cflags --libs usernat) -o embed
 *
 * Feeds the stack one frame (an ARP request for the gateway, as a guest
 * would send) and prints the reply the stack sends back.  A real embedder
 * gets frames from its guest NIC, passes them to usernat_input(), adds
 * usernat_fd() to its event loop and calls usernat_service() when it is
 * readable.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <usernat.h>

static int replies;

static void to_guest(void *opaque, const void *frame, size_t len)
{
	const unsigned char *f = frame;

	printf("frame to guest: %zu bytes, ethertype %02x%02x, ARP op %d\n",
	       len, f[12], f[13], f[21]);
	replies++;
}

int main(void)
{
	const unsigned char arp[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12,
		0x34, 0x56, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54,
		0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0,
		2, 2 };
	struct usernat_config *cfg = usernat_config_new();
	struct usernat *un;
	struct pollfd p;
	char *err = NULL;

	if (usernat_config_set(cfg, "mtu", "1500", &err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	un = usernat_new(cfg, to_guest, NULL, &err);
	usernat_config_free(cfg);
	if (!un) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 1;
	}
	usernat_input(un, arp, sizeof(arp));

	/* what an event loop would do: service the instance when ready */
	p.fd = usernat_fd(un);
	p.events = POLLIN;
	if (poll(&p, 1, 0) > 0)
		usernat_service(un);

	printf("frames_in %llu frames_out %llu\n",
	       (unsigned long long)usernat_stat(un, "frames_in"),
	       (unsigned long long)usernat_stat(un, "frames_out"));
	usernat_free(un);
	return replies == 1 ? 0 : 1;
}
