/* plug-cycles.c - open and close usernat:// through libvdeplug N times in
 * one process; each cycle moves a frame both ways (an ARP request for the
 * gateway, answered), and at the end no thread or descriptor is left over.
 * Run under valgrind --leak-check=full by plugin.sh. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvdeplug.h>

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int arp_roundtrip(VDECONN *c)
{
	unsigned char f[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
				0, 1, 8, 0, 6, 4, 0, 1,
				0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
				0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
	unsigned char r[2000];
	struct pollfd p = { .fd = vde_datafd(c), .events = POLLIN };

	if (vde_send(c, f, sizeof(f), 0) != sizeof(f))
		return -1;
	if (poll(&p, 1, 2000) != 1)
		return -1;
	if (vde_recv(c, r, sizeof(r), 0) < 42 || r[21] != 2)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100, i, fds0, fds1, th0, th1;

	fds0 = count_dir("/proc/self/fd");
	th0 = count_dir("/proc/self/task");
	for (i = 0; i < n; i++) {
		char url[] = "usernat:///mtu=1500/dhcp-host=52:54:00:12:34:56,10.0.2.9";
		VDECONN *c = vde_open(url, "cycles", NULL);

		if (!c) {
			fprintf(stderr, "open %d failed: %s\n", i,
				strerror(errno));
			return 1;
		}
		if (arp_roundtrip(c)) {
			fprintf(stderr, "cycle %d: no ARP reply\n", i);
			return 1;
		}
		vde_close(c);
	}
	fds1 = count_dir("/proc/self/fd");
	th1 = count_dir("/proc/self/task");
	printf("cycles=%d fds %d->%d threads %d->%d\n", n, fds0, fds1, th0, th1);
	return fds0 == fds1 && th0 == th1 ? 0 : 1;
}
