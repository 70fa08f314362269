// SPDX-License-Identifier: GPL-2.0-or-later
/* pcap.c - packet capture of every frame, both directions
 *
 * Writes the classic libpcap format (microsecond timestamps, link type
 * Ethernet) that tshark, tcpdump and Wireshark read.  Frames are written
 * through stdio's buffer, so capturing costs a memcpy per frame and a write
 * per few frames; the buffer is flushed once a second by the instance's
 * tick, so a capture can be read while it grows.  Past the size cap
 * (pcap-max) capture stops, with one log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "stack.h"

#define PCAP_MAGIC	0xa1b2c3d4
#define PCAP_LINKTYPE_ETHERNET 1

struct un_pcap {
	FILE *f;
	uint64_t written;
	uint64_t max;
	bool full;
	char path[256];
};

#define PCAP_SNAPLEN	65535	/* the classic maximum tools expect */

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_usec;
	uint32_t incl_len, orig_len;
};

/**
 * usernat_pcap_start() - Capture every frame to @path, at most @max bytes
 * @max:	size cap in bytes, 0 for none
 * Return: 0, or negative errno with *@err set; a capture already running
 *	   is stopped first
 */
int usernat_pcap_start(struct usernat *un, const char *path, uint64_t max,
		       char **err)
{
	struct pcap_file_hdr h = { .magic = PCAP_MAGIC, .major = 2, .minor = 4,
				   .snaplen = PCAP_SNAPLEN,
				   .linktype = PCAP_LINKTYPE_ETHERNET };
	struct un_pcap *p;
	int ret;

	if (err)
		*err = NULL;
	if (!path || strlen(path) >= sizeof(p->path)) {
		if (err)
			*err = g_strdup("pcap: bad file name");
		return -EINVAL;
	}
	usernat_pcap_stop(un);
	p = g_new0(struct un_pcap, 1);
	strcpy(p->path, path);
	p->max = max;
	p->f = fopen(path, "we");
	if (!p->f || fwrite(&h, sizeof(h), 1, p->f) != 1) {
		ret = -errno;
		if (err)
			*err = g_strdup_printf("pcap: cannot write %s: %s",
					       path, strerror(errno));
		if (p->f)
			fclose(p->f);
		g_free(p);
		return ret ? ret : -EIO;
	}
	p->written = sizeof(h);
	un->pcap = p;
	un_info(un, "pcap: capturing to %s", path);
	return 0;
}

void usernat_pcap_stop(struct usernat *un)
{
	struct un_pcap *p = un->pcap;

	if (!p)
		return;
	fclose(p->f);
	un_info(un, "pcap: stopped, %" G_GUINT64_FORMAT " bytes in %s",
		p->written, p->path);
	g_free(p);
	un->pcap = NULL;
}

/**
 * pcap_frame() - Record one frame (either direction) if capturing
 *
 * Frames are recorded whole up to the snap length: only a TSO or GSO frame
 * of a vhost-user link (up to 64 KiB of IP packet behind its Ethernet
 * header) can be longer, and it loses its last bytes, as in tcpdump -s.
 */
void pcap_frame(struct usernat *un, const void *frame, size_t len)
{
	struct un_pcap *p = un->pcap;
	struct pcap_rec_hdr r;
	struct timeval tv;

	if (p->full)
		return;
	if (p->max && p->written + sizeof(r) + len > p->max) {
		p->full = true;
		fflush(p->f);
		un_warn(un, "pcap: size cap of %" G_GUINT64_FORMAT " bytes "
			"reached, capture stopped", p->max);
		return;
	}
	gettimeofday(&tv, NULL);
	r.ts_sec = (uint32_t)tv.tv_sec;
	r.ts_usec = (uint32_t)tv.tv_usec;
	r.orig_len = (uint32_t)len;
	if (len > PCAP_SNAPLEN)
		len = PCAP_SNAPLEN;
	r.incl_len = (uint32_t)len;
	if (fwrite(&r, sizeof(r), 1, p->f) != 1 ||
	    fwrite(frame, len, 1, p->f) != 1) {
		p->full = true;
		un_warn(un, "pcap: write to %s failed, capture stopped",
			p->path);
		return;
	}
	p->written += sizeof(r) + len;
}

/** pcap_flush() - Push buffered records to the file (once a second) */
void pcap_flush(struct usernat *un)
{
	if (un->pcap)
		fflush(un->pcap->f);
}
