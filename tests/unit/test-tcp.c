/* test-tcp.c - TCP NAT: handshake, data both ways, closing, resets, flow
 * control, retransmission, malformed segments, lossy bulk transfers
 *
 * The test plays the guest: it builds segments by hand and reads the stack's
 * answers from the capture.  The host side is real: a listening socket on
 * 127.0.0.1, reached through the gateway address 10.0.2.2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "frames.h"
#include "stack.h"
#include "tcp_internal.h"

#define GUEST_IP	"10.0.2.15"
#define GW_IP		"10.0.2.2"
#define MSS		1460

/* A segment the stack sent, parsed and checked */
struct seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint16_t sport, dport;
	const uint8_t *opts;
	size_t optlen;
	const uint8_t *data;
	size_t len;
};

/* One test connection: the guest's view plus the host's sockets */
struct tconn {
	struct usernat *un;
	struct capture cap;
	int lfd, afd;		/* host listener, accepted socket */
	uint16_t port;		/* host port (host order) */
	uint16_t gport;		/* guest port (host order) */
	const uint8_t *mac;	/* guest MAC */
	uint32_t gseq;		/* guest's next sequence number */
	uint32_t rnxt;		/* next sequence expected from the stack */
	uint32_t iss;		/* the stack's ISS */
	uint16_t gwin;		/* window field the guest sends */
	uint8_t ws;		/* shift of the stack's windows */
	guint seen;		/* captured frames already looked at */
};

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	g_assert_cmpint(fd, >=, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(fd, 1024), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &al), ==, 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A closed port: bound, never listened on */
static uint16_t closed_port(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(*fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	getsockname(*fd, (struct sockaddr *)&a, &al);
	return ntohs(a.sin_port);
}

/* Build a TCP segment in an IPv4 frame, checksums right */
static size_t tcp_frame(uint8_t *buf, const uint8_t *mac, const char *src,
			const char *dst, uint16_t sport, uint16_t dport,
			uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
			const void *opts, size_t optlen, const void *data,
			size_t dlen)
{
	uint8_t l4[65536];
	size_t hl = 20 + optlen, n;
	uint16_t c;

	g_assert_cmpuint(optlen % 4, ==, 0);
	memset(l4, 0, hl);
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	seq = htonl(seq);
	ack = htonl(ack);
	memcpy(l4 + 4, &seq, 4);
	memcpy(l4 + 8, &ack, 4);
	l4[12] = (uint8_t)(hl / 4 << 4);
	l4[13] = flags;
	l4[14] = (uint8_t)(win >> 8);
	l4[15] = (uint8_t)win;
	if (optlen)
		memcpy(l4 + 20, opts, optlen);
	if (dlen)
		memcpy(l4 + hl, data, dlen);
	n = build_ip4(buf, gw_mac, mac, src, dst, 6, l4, hl + dlen, 0);
	c = csum(buf + 34, hl + dlen,
		 csum_pseudo4(ip(src), ip(dst), 6, (uint16_t)(hl + dlen)));
	memcpy(buf + 34 + 16, &c, 2);
	return n;
}

/* Send a segment from the guest side of @t */
static void gsend(struct tconn *t, uint32_t seq, uint8_t flags,
		  const void *data, size_t len)
{
	static uint8_t buf[70000];
	size_t n = tcp_frame(buf, t->mac, GUEST_IP, GW_IP, t->gport, t->port,
			     seq, (flags & 0x10) ? t->rnxt : 0, flags, t->gwin,
			     NULL, 0, data, len);

	usernat_input(t->un, buf, n);
}

/* Service host-side events: wait up to @ms for the first, then handle
 * all that are ready */
static void pump(struct usernat *un, int ms)
{
	struct pollfd p = { .fd = usernat_fd(un), .events = POLLIN };

	while (poll(&p, 1, ms) > 0) {
		usernat_service(un);
		ms = 0;
	}
}

/* Parse captured frame @f as a TCP segment toward the guest, checking
 * both checksums */
static void parse_seg(GByteArray *f, struct seg *s)
{
	const uint8_t *p = f->data, *th;
	uint16_t tot, l4len;
	uint32_t sa, da;

	g_assert_cmpuint(f->len, >=, 54);
	g_assert_cmphex(p[12] << 8 | p[13], ==, 0x0800);
	g_assert_cmpuint(p[23], ==, 6);
	g_assert_cmphex(csum(p + 14, 20, 0), ==, 0);
	tot = (uint16_t)(p[16] << 8 | p[17]);
	g_assert_cmpuint(tot + 14u, <=, f->len);
	l4len = (uint16_t)(tot - 20);
	memcpy(&sa, p + 26, 4);
	memcpy(&da, p + 30, 4);
	th = p + 34;
	g_assert_cmphex(csum(th, l4len, csum_pseudo4(sa, da, 6, l4len)), ==,
			0);
	s->sport = (uint16_t)(th[0] << 8 | th[1]);
	s->dport = (uint16_t)(th[2] << 8 | th[3]);
	s->seq = (uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
	s->ack = (uint32_t)th[8] << 24 | th[9] << 16 | th[10] << 8 | th[11];
	s->flags = th[13];
	s->win = (uint16_t)(th[14] << 8 | th[15]);
	s->opts = th + 20;
	s->optlen = (size_t)(th[12] >> 4) * 4 - 20;
	s->data = th + 20 + s->optlen;
	s->len = l4len - 20 - s->optlen;
}

/* The next TCP segment from the stack for @t, waiting up to @ms for it */
static bool next_seg(struct tconn *t, struct seg *s, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	for (;;) {
		while (t->seen < t->cap.frames->len) {
			GByteArray *f = capture_nth(&t->cap, t->seen++);

			if (f->len < 34 || f->data[23] != 6)
				continue;
			parse_seg(f, s);
			if (t->gport)	/* 0: any connection */
				g_assert_cmpuint(s->dport, ==, t->gport);
			g_assert_cmpmem(f->data, 6, t->mac, 6);
			return true;
		}
		if (g_get_monotonic_time() >= end)
			return false;
		pump(t->un, 10);
	}
}

/* Free the frames already looked at (frames sent while the test guest
 * answered the last ones stay) */
static void forget_seen(struct tconn *t)
{
	g_ptr_array_remove_range(t->cap.frames, 0, t->seen);
	t->seen = 0;
}

static void expect_seg(struct tconn *t, struct seg *s, int ms)
{
	g_assert_true(next_seg(t, s, ms));
}

/* Skip what the stack sent so far (after @ms of host-side events) */
static void drain(struct tconn *t, int ms)
{
	struct seg s;

	while (next_seg(t, &s, ms))
		;
}

static void expect_nothing(struct tconn *t, int ms)
{
	struct seg s;

	g_assert_false(next_seg(t, &s, ms));
}

static void tconn_init(struct tconn *t, const char *const *opts)
{
	memset(t, 0, sizeof(*t));
	t->un = test_instance(&t->cap, opts);
	t->lfd = listener(&t->port);
	t->afd = -1;
	t->mac = guest_mac;
	t->gport = 40000;
	t->gseq = 1000;
	t->gwin = 65535;
	t->ws = 0;
}

static void tconn_fini(struct tconn *t)
{
	if (t->afd >= 0)
		close(t->afd);
	close(t->lfd);
	usernat_free(t->un);
	g_ptr_array_unref(t->cap.frames);
}

/* Guest SYN with MSS 1460, window scale @ws (none if < 0) and, if @sack,
 * SACK-permitted; returns the SYN-ACK */
static void syn_opts(struct tconn *t, int ws, bool sack, struct seg *sa)
{
	uint8_t opts[12] = { 2, 4, MSS >> 8, MSS & 0xff, 1, 1, 1, 1, 1, 1,
			     1, 1 };
	static uint8_t buf[2000];
	size_t n, len = 4;

	if (ws >= 0) {
		opts[len++] = 1;
		opts[len++] = 3;
		opts[len++] = 3;
		opts[len++] = (uint8_t)ws;
	}
	if (sack) {
		opts[len++] = 1;
		opts[len++] = 1;
		opts[len++] = 4;
		opts[len++] = 2;
	}
	n = tcp_frame(buf, t->mac, GUEST_IP, GW_IP, t->gport, t->port,
		      t->gseq, 0, 0x02, 65535, opts, len, NULL, 0);
	usernat_input(t->un, buf, n);
	expect_seg(t, sa, 2000);
}

static void syn(struct tconn *t, int ws, struct seg *sa)
{
	syn_opts(t, ws, false, sa);
}

/* Parse the stack's SYN-ACK options; returns the MSS, *ws = shift or -1,
 * *sack = SACK permitted */
static int syn_opts_of(const struct seg *s, int *ws, bool *sack)
{
	struct pkt c = pkt_init(s->opts, s->optlen), v;
	uint8_t type;
	int mss = -1;

	*ws = -1;
	*sack = false;
	while (pkt_tlv_next(&c, &type, &v, 1, 0, 1) > 0) {
		if (type == 2 && v.len == 2)
			mss = v.p[0] << 8 | v.p[1];
		if (type == 3 && v.len == 1)
			*ws = v.p[0];
		if (type == 4 && !v.len)
			*sack = true;
	}
	return mss;
}

static int synack_opts(const struct seg *s, int *ws)
{
	bool sack;

	return syn_opts_of(s, ws, &sack);
}

/* The SACK blocks of a segment from the stack; returns how many */
static int sack_blocks(const struct seg *s, uint32_t blk[][2])
{
	struct pkt c = pkt_init(s->opts, s->optlen), v;
	uint8_t type;
	int n = 0;

	while (pkt_tlv_next(&c, &type, &v, 1, 0, 1) > 0) {
		if (type != 5)
			continue;
		g_assert_cmpuint(v.len % 8, ==, 0);
		while (v.len) {
			pkt_be32(&v, &blk[n][0]);
			pkt_be32(&v, &blk[n][1]);
			n++;
		}
	}
	return n;
}

/* Full handshake with window scale @ws (or none if < 0) and SACK if
 * @sack, then accept() */
static void establish_opts(struct tconn *t, int ws, bool sack)
{
	struct pollfd p = { .fd = t->lfd, .events = POLLIN };
	struct seg s;
	bool ssack;
	int sws;

	syn_opts(t, ws, sack, &s);
	g_assert_cmphex(s.flags, ==, 0x12);
	g_assert_cmpuint(s.ack, ==, t->gseq + 1);
	g_assert_cmpint(syn_opts_of(&s, &sws, &ssack), ==, 1460);
	g_assert_true(ssack == sack);
	if (ws >= 0)
		g_assert_cmpint(sws, ==, TCP_RCV_WS);
	else
		g_assert_cmpint(sws, ==, -1);
	t->ws = (uint8_t)(sws < 0 ? 0 : sws);
	t->iss = s.seq;
	t->rnxt = s.seq + 1;
	t->gseq++;
	gsend(t, t->gseq, 0x10, NULL, 0);
	g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
	t->afd = accept(t->lfd, NULL, NULL);
	g_assert_cmpint(t->afd, >=, 0);
	pump(t->un, 0);
	g_assert_cmpuint(usernat_stat(t->un, "tcp_established"), >=, 1);
}

static void establish(struct tconn *t, int ws)
{
	establish_opts(t, ws, false);
}

/* Read exactly @len bytes from the host socket (with a timeout) */
static void host_read(struct tconn *t, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = t->afd, .events = POLLIN };
		ssize_t n;

		pump(t->un, 0);
		g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
		n = recv(t->afd, (uint8_t *)buf + got, len - got,
			 MSG_DONTWAIT);
		g_assert_cmpint(n, >, 0);
		got += (size_t)n;
	}
}

static bool host_readable(struct tconn *t, int ms)
{
	struct pollfd p = { .fd = t->afd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Handshake, options, data both ways with sequence numbers checked */
static void test_handshake_data(void)
{
	struct tconn t;
	struct seg s;
	char buf[64];

	tconn_init(&t, NULL);
	establish(&t, 7);

	gsend(&t, t.gseq, 0x18, "hello", 5);
	t.gseq += 5;
	host_read(&t, buf, 5);
	g_assert_cmpmem(buf, 5, "hello", 5);
	/* the ACK comes with the flush, acknowledging all of it */
	expect_seg(&t, &s, 1000);
	g_assert_cmphex(s.flags, ==, 0x10);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_cmpuint(s.seq, ==, t.rnxt);
	g_assert_cmpuint(s.win, >, 0);

	g_assert_cmpint(send(t.afd, "world!", 6, 0), ==, 6);
	expect_seg(&t, &s, 1000);
	g_assert_cmpuint(s.seq, ==, t.rnxt);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_true(s.flags & 0x10);
	g_assert_cmpmem(s.data, s.len, "world!", 6);
	t.rnxt += 6;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	pump(t.un, 0);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_opened"), ==, 1);
	tconn_fini(&t);
}

/* Without a window scale option from the guest, none is offered back */
static void test_no_wscale(void)
{
	struct tconn t;

	tconn_init(&t, NULL);
	establish(&t, -1);
	tconn_fini(&t);
}

/* Large host writes are cut into MSS segments, in order, within the
 * guest's window */
static void test_segmentation(void)
{
	static uint8_t data[100000], rx[100000];
	struct tconn t;
	size_t got = 0;
	struct seg s;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	tconn_init(&t, NULL);
	t.gwin = 65535;
	establish(&t, 0);	/* shift 0: window 65535 */
	g_assert_cmpint(send(t.afd, data, sizeof(data), 0), ==, sizeof(data));
	while (got < sizeof(data)) {
		expect_seg(&t, &s, 2000);
		g_assert_cmpuint(s.len, <=, MSS);
		g_assert_cmpuint(s.seq, ==, t.rnxt);
		/* never past the window the guest offered */
		g_assert_cmpuint(s.seq + s.len - (t.iss + 1), <=, got + 65535);
		memcpy(rx + got, s.data, s.len);
		got += s.len;
		t.rnxt += (uint32_t)s.len;
		if (got % (4 * MSS) == 0 || got == sizeof(data) ||
		    t.cap.frames->len == t.seen)
			gsend(&t, t.gseq, 0x10, NULL, 0);
	}
	g_assert_cmpmem(rx, sizeof(rx), data, sizeof(data));
	tconn_fini(&t);
}

/* --- offloads (a vhost-user link): TSO toward the guest, GSO super-frames
 * and partial checksums from it ------------------------------------------ */

static GArray *offs;	/* struct usernat_offload of each captured frame */

static void capture_off(void *opaque, const void *frame, size_t len,
			const struct usernat_offload *off)
{
	g_assert_nonnull(off);
	g_array_append_val(offs, *off);
	capture_fn(opaque, frame, len);
}

/* tconn_init() with the offload output and link capabilities @caps */
static void tconn_init_off(struct tconn *t, unsigned int caps)
{
	tconn_init(t, NULL);
	offs = g_array_new(FALSE, TRUE, sizeof(struct usernat_offload));
	usernat_set_output_offload(t->un, capture_off);
	g_assert_cmpint(usernat_set_offload(t->un, caps), ==, 0);
}

static void tconn_fini_off(struct tconn *t)
{
	tconn_fini(t);
	g_array_unref(offs);
	offs = NULL;
}

/* Complete a partial checksum as the guest's NIC driver would: the sum
 * from csum_start to the end of the IPv4 packet, stored at csum_offset */
static void complete_csum(GByteArray *f, const struct usernat_offload *o)
{
	size_t end = 14 + (size_t)(f->data[16] << 8 | f->data[17]);
	uint16_t c;

	g_assert_cmpuint(o->csum_start + o->csum_offset + 2u, <=, end);
	c = csum(f->data + o->csum_start, end - o->csum_start, 0);
	memcpy(f->data + o->csum_start + o->csum_offset, &c, 2);
}

/* next_seg() for a link with offloads: *@o is the frame's information */
static void expect_seg_off(struct tconn *t, struct seg *s,
			   struct usernat_offload *o, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	for (;;) {
		while (t->seen < t->cap.frames->len) {
			GByteArray *f = capture_nth(&t->cap, t->seen);

			g_assert_cmpuint(offs->len, ==, t->cap.frames->len);
			*o = g_array_index(offs, struct usernat_offload,
					   t->seen++);
			if (f->len < 34 || f->data[23] != 6)
				continue;
			if (o->flags & USERNAT_OFFLOAD_F_NEEDS_CSUM)
				complete_csum(f, o);
			parse_seg(f, s);
			return;
		}
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		pump(t->un, 10);
	}
}

/* Receive @n bytes the host sent as the guest, ACKing when the stack has
 * nothing more to say; checks the data, and each frame's offload
 * information against @caps.  Return: TSO frames seen */
static unsigned int tso_receive(struct tconn *t, const uint8_t *data,
				size_t n, unsigned int caps)
{
	uint8_t *rx = g_malloc(n);
	struct usernat_offload o;
	unsigned int tso = 0;
	size_t got = 0;
	struct seg s;

	while (got < n) {
		expect_seg_off(t, &s, &o, 2000);
		g_assert_cmpuint(s.seq, ==, t->rnxt);
		g_assert_cmpuint(got + s.len, <=, n);
		if (s.len > MSS) {
			/* one frame for several MSS-sized segments */
			g_assert_true(caps & USERNAT_LINK_TSO4);
			g_assert_cmpuint(o.gso_type, ==, USERNAT_GSO_TCPV4);
			g_assert_cmpuint(o.gso_size, ==, MSS);
			g_assert_cmpuint(o.hdr_len, ==, 14 + 20 + 20);
			g_assert_cmpuint(o.flags, ==,
					 USERNAT_OFFLOAD_F_NEEDS_CSUM);
			g_assert_cmpuint(o.csum_start, ==, 34);
			g_assert_cmpuint(o.csum_offset, ==, 16);
			g_assert_cmpuint(s.len, <=, 65535 - 40);
			tso++;
		} else {
			g_assert_cmpuint(o.gso_type, ==, USERNAT_GSO_NONE);
			g_assert_cmpuint(o.flags, ==,
					 (caps & USERNAT_LINK_CSUM) ?
					 USERNAT_OFFLOAD_F_DATA_VALID : 0);
		}
		memcpy(rx + got, s.data, s.len);
		got += s.len;
		t->rnxt += (uint32_t)s.len;
		if (t->cap.frames->len == t->seen || got == n)
			gsend(t, t->gseq, 0x10, NULL, 0);
	}
	g_assert_cmpmem(rx, n, data, n);
	g_free(rx);
	return tso;
}

/* With TSO on the link, host data goes to the guest in GSO frames of more
 * than an MSS, with gso_size the MSS and a partial checksum that completes
 * to the right one; the data arrives whole and in order */
static void test_tso(void)
{
	static uint8_t data[100000];
	struct tconn t;
	unsigned int tso;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	tconn_init_off(&t, USERNAT_LINK_CSUM | USERNAT_LINK_TSO4);
	establish(&t, 7);
	/* the SYN-ACK: an ordinary frame, its checksums vouched for */
	g_assert_cmpuint(g_array_index(offs, struct usernat_offload, 0).flags,
			 ==, USERNAT_OFFLOAD_F_DATA_VALID);
	g_assert_cmpint(send(t.afd, data, sizeof(data), 0), ==, sizeof(data));
	tso = tso_receive(&t, data, sizeof(data), USERNAT_LINK_CSUM |
			  USERNAT_LINK_TSO4);
	g_assert_cmpuint(tso, >, 0);
	g_assert_cmpuint(usernat_stat(t.un, "offload_tso_out"), ==, tso);
	tconn_fini_off(&t);
}

/* Without TSO for the family (none at all, checksums only, IPv6 only), or
 * without the offload output at all, no segment is longer than the MSS */
static void test_tso_off(void)
{
	static const unsigned int caps[] = {
		0, USERNAT_LINK_CSUM, USERNAT_LINK_CSUM | USERNAT_LINK_TSO6
	};
	static uint8_t data[60000];
	struct tconn t;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	for (i = 0; i < G_N_ELEMENTS(caps); i++) {
		tconn_init_off(&t, caps[i]);
		establish(&t, 7);
		g_assert_cmpint(send(t.afd, data, sizeof(data), 0), ==,
				sizeof(data));
		g_assert_cmpuint(tso_receive(&t, data, sizeof(data), caps[i]),
				 ==, 0);
		g_assert_cmpuint(usernat_stat(t.un, "offload_tso_out"), ==, 0);
		tconn_fini_off(&t);
	}
	/* TSO needs CSUM, and an output that carries the information */
	tconn_init(&t, NULL);
	g_assert_cmpint(usernat_set_offload(t.un, USERNAT_LINK_CSUM), ==,
			-EINVAL);
	usernat_set_output_offload(t.un, capture_off);
	g_assert_cmpint(usernat_set_offload(t.un, USERNAT_LINK_TSO4), ==,
			-EINVAL);
	g_assert_cmpint(usernat_set_offload(t.un, 1u << 7), ==, -EINVAL);
	tconn_fini(&t);
}

/* The window the stack offers the guest now (after a one-byte segment) */
static uint32_t guest_window(struct tconn *t)
{
	struct seg s;
	char b;

	gsend(t, t->gseq, 0x18, "x", 1);
	t->gseq++;
	host_read(t, &b, 1);
	do			/* ACKs of earlier data may come first */
		expect_seg(t, &s, 1000);
	while (s.ack != t->gseq);
	return (uint32_t)s.win << t->ws;
}

/* A guest's GSO frame: @len bytes of data in one IPv4 segment at SND.NXT,
 * checksum left partial (the pseudo-header sum, as Linux sends it) */
static size_t gso_frame(struct tconn *t, uint8_t *buf, const uint8_t *data,
			size_t len, struct usernat_offload *o)
{
	size_t n = tcp_frame(buf, t->mac, GUEST_IP, GW_IP, t->gport, t->port,
			     t->gseq, t->rnxt, 0x18, t->gwin, NULL, 0, data,
			     len);
	uint16_t c = (uint16_t)~csum_fold(csum_pseudo4(
		ip(GUEST_IP), ip(GW_IP), 6, (uint16_t)(20 + len)));

	memcpy(buf + 34 + 16, &c, 2);
	*o = (struct usernat_offload){
		.flags = USERNAT_OFFLOAD_F_NEEDS_CSUM,
		.gso_type = USERNAT_GSO_TCPV4, .hdr_len = 54,
		.gso_size = MSS, .csum_start = 34, .csum_offset = 16,
	};
	return n;
}

/* A GSO super-frame with a partial checksum is taken whole: its data
 * reaches the host; without its offload information the same frame is
 * too long for the MTU, and a partial checksum is a bad one */
static void test_gso_in(void)
{
	static uint8_t buf[70000], data[30000], rx[30000];
	struct usernat_offload o;
	struct tconn t;
	uint32_t wnd;
	size_t n, len, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3 + i / 101);
	tconn_init(&t, NULL);
	establish(&t, 7);
	wnd = guest_window(&t);
	g_assert_cmpuint(wnd, >, 4 * MSS);
	len = MIN(sizeof(data), wnd);
	n = gso_frame(&t, buf, data, len, &o);
	usernat_input(t.un, buf, n);
	g_assert_cmpuint(usernat_stat(t.un, "drop_oversize"), ==, 1);
	usernat_input_offload(t.un, buf, n, &o);
	host_read(&t, rx, len);
	g_assert_cmpmem(rx, len, data, len);
	t.gseq += (uint32_t)len;
	g_assert_cmpuint(usernat_stat(t.un, "offload_gso_in"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "offload_csum_in"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "drop_tcp_csum"), ==, 0);

	/* a GSO frame past a hole waits in the out-of-order pool (in
	 * MTU-sized pieces), and goes to the host once the hole is filled */
	len = MIN(sizeof(data), guest_window(&t));
	g_assert_cmpuint(len, >, 1000 + 2 * MSS);
	t.gseq += 1000;
	n = gso_frame(&t, buf, data + 1000, len - 1000, &o);
	usernat_input_offload(t.un, buf, n, &o);
	g_assert_false(host_readable(&t, 50));
	t.gseq -= 1000;
	n = gso_frame(&t, buf, data, 1000, &o);
	usernat_input_offload(t.un, buf, n, &o);
	host_read(&t, rx, len);
	g_assert_cmpmem(rx, len, data, len);
	t.gseq += (uint32_t)len;

	/* an ordinary-sized segment with a partial checksum */
	n = gso_frame(&t, buf, (const uint8_t *)"partial", 7, &o);
	o.gso_type = USERNAT_GSO_NONE;
	o.gso_size = 0;
	usernat_input(t.un, buf, n);
	g_assert_cmpuint(usernat_stat(t.un, "drop_tcp_csum"), ==, 1);
	usernat_input_offload(t.un, buf, n, &o);
	host_read(&t, rx, 7);
	g_assert_cmpmem(rx, 7, "partial", 7);
	g_assert_cmpuint(usernat_stat(t.un, "drop_offload"), ==, 0);
	tconn_fini(&t);
}

/* Offload information that doesn't hold for its frame: dropped, counted,
 * and nothing reaches the host */
static void test_offload_bad(void)
{
	static uint8_t buf[70000], data[8000];
	struct usernat_offload o, good;
	struct tconn t;
	size_t n;
	unsigned int i;

	tconn_init(&t, NULL);
	establish(&t, 7);
	n = gso_frame(&t, buf, data, sizeof(data), &good);
	for (i = 0; i < 9; i++) {
		o = good;
		switch (i) {
		case 0: o.flags |= 0x80; break;	/* unknown flag */
		case 1: o.csum_start = 10; break;	/* in the MAC header */
		case 2: o.csum_offset = (uint16_t)(n - 34 - 1); break;
		case 3: o.csum_start = 0xffff; break;
		case 4: o.gso_type = 3; break;		/* UDP (UFO) */
		case 5: o.gso_type = USERNAT_GSO_TCPV4 | 0x80; break; /* ECN */
		case 6: o.gso_type = USERNAT_GSO_TCPV6; break;	/* not v6 */
		case 7: o.gso_size = 0; break;
		case 8: o.hdr_len = (uint16_t)(n + 1); break;
		}
		usernat_input_offload(t.un, buf, n, &o);
		g_assert_cmpuint(usernat_stat(t.un, "drop_offload"), ==, i + 1);
	}
	/* GSO on a frame that is not TCP: the protocol byte says UDP */
	buf[23] = 17;
	usernat_input_offload(t.un, buf, n, &good);
	g_assert_cmpuint(usernat_stat(t.un, "drop_offload"), ==, 10);
	g_assert_false(host_readable(&t, 100));
	g_assert_cmpuint(usernat_stat(t.un, "offload_gso_in"), ==, 0);
	tconn_fini(&t);
}

/* FIN from the guest first: the host sees EOF and may still answer; then
 * the host's FIN; the entry and its socket go away */
static void test_fin_guest_first(void)
{
	struct tconn t;
	struct seg s;
	char buf[16];

	tconn_init(&t, NULL);
	establish(&t, 7);
	gsend(&t, t.gseq, 0x11, NULL, 0);	/* FIN|ACK */
	t.gseq++;
	expect_seg(&t, &s, 1000);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_true(host_readable(&t, 1000));
	g_assert_cmpint(recv(t.afd, buf, sizeof(buf), 0), ==, 0);	/* EOF */

	/* half-closed: data still flows to the guest */
	g_assert_cmpint(send(t.afd, "late", 4, 0), ==, 4);
	expect_seg(&t, &s, 1000);
	g_assert_cmpmem(s.data, s.len, "late", 4);
	t.rnxt += 4;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	shutdown(t.afd, SHUT_WR);
	expect_seg(&t, &s, 1000);
	g_assert_cmphex(s.flags, ==, 0x11);
	g_assert_cmpuint(s.seq, ==, t.rnxt);
	t.rnxt++;
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 1);
	gsend(&t, t.gseq, 0x10, NULL, 0);	/* ACK of its FIN */
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_closed"), ==, 1);
	/* a late retransmission finds no connection: RST */
	gsend(&t, t.gseq, 0x10, NULL, 0);
	expect_seg(&t, &s, 100);
	g_assert_true(s.flags & 0x04);
	tconn_fini(&t);
}

/* FIN from the host first: the guest can still send, then closes */
static void test_fin_host_first(void)
{
	struct tconn t;
	struct seg s;
	char buf[16];

	tconn_init(&t, NULL);
	establish(&t, 7);
	g_assert_cmpint(send(t.afd, "bye", 3, 0), ==, 3);
	shutdown(t.afd, SHUT_WR);
	expect_seg(&t, &s, 1000);
	g_assert_cmpmem(s.data, s.len, "bye", 3);
	t.rnxt += 3;
	if (!(s.flags & 0x01))
		expect_seg(&t, &s, 1000);
	g_assert_true(s.flags & 0x01);
	g_assert_cmpuint(s.seq + s.len, ==, t.rnxt);
	t.rnxt++;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	/* the guest still talks */
	gsend(&t, t.gseq, 0x18, "more", 4);
	t.gseq += 4;
	host_read(&t, buf, 4);
	g_assert_cmpmem(buf, 4, "more", 4);
	drain(&t, 20);
	gsend(&t, t.gseq, 0x11, NULL, 0);
	t.gseq++;
	expect_seg(&t, &s, 1000);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	g_assert_true(host_readable(&t, 1000));
	g_assert_cmpint(recv(t.afd, buf, sizeof(buf), 0), ==, 0);
	tconn_fini(&t);
}

/*
 * Round trips of one byte each way: the guest's ACKs of the answers are
 * discarded from the host socket lazily (tcp_consume_due()), so some are
 * still queued when the connection closes; the close must still be a FIN
 * to the host, not the RST that closing a socket with unread data sends.
 */
static void test_interactive_close(void)
{
	struct tconn t;
	struct seg s;
	char buf[16];
	int i;

	tconn_init(&t, NULL);
	establish(&t, 7);
	for (i = 0; i < 5; i++) {
		g_assert_cmpint(send(t.afd, "a", 1, 0), ==, 1);
		do	/* after the ACK of the last request, if any */
			expect_seg(&t, &s, 1000);
		while (!s.len);
		g_assert_cmpmem(s.data, s.len, "a", 1);
		t.rnxt++;
		gsend(&t, t.gseq, 0x18, "q", 1);	/* request, ACKs "a" */
		t.gseq++;
		host_read(&t, buf, 1);
		g_assert_cmpint(buf[0], ==, 'q');
	}
	drain(&t, 20);
	g_assert_cmpint(send(t.afd, "z", 1, 0), ==, 1);	/* still flows */
	do
		expect_seg(&t, &s, 1000);
	while (!s.len);
	g_assert_cmpmem(s.data, s.len, "z", 1);
	t.rnxt++;
	shutdown(t.afd, SHUT_WR);
	expect_seg(&t, &s, 1000);
	g_assert_true(s.flags & 0x01);
	t.rnxt++;
	gsend(&t, t.gseq, 0x11, NULL, 0);	/* ACKs it all, and FIN */
	t.gseq++;
	expect_seg(&t, &s, 1000);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	g_assert_true(host_readable(&t, 1000));
	g_assert_cmpint(recv(t.afd, buf, sizeof(buf), 0), ==, 0);
	/* a reset would follow the FIN at once on loopback */
	usleep(20000);
	g_assert_cmpint(recv(t.afd, buf, sizeof(buf), MSG_DONTWAIT), ==, 0);
	tconn_fini(&t);
}

/* Our ACK for less than two segments of guest data waits TCP_DELACK (2 ms)
 * for data to ride on; two full segments are ACKed by the flush */
static void test_delayed_ack(void)
{
	static char big[2 * MSS];
	struct tconn t;
	struct seg s;
	char buf[2 * MSS];
	gint64 t0;

	tconn_init(&t, NULL);
	establish(&t, 7);
	drain(&t, 20);
	/* the answer is in the host socket by the flush: it carries the ACK */
	g_assert_cmpint(send(t.afd, "a", 1, 0), ==, 1);
	gsend(&t, t.gseq, 0x18, "q", 1);
	t.gseq++;
	usernat_flush(t.un);
	g_assert_false(next_seg(&t, &s, 0));	/* no pure ACK */
	expect_seg(&t, &s, 1000);
	g_assert_cmpmem(s.data, s.len, "a", 1);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	t.rnxt++;
	host_read(&t, buf, 1);
	g_assert_cmpint(buf[0], ==, 'q');

	/* no answer: the ACK goes alone, after the delay */
	t0 = g_get_monotonic_time();
	gsend(&t, t.gseq, 0x18, "r", 1);
	t.gseq++;
	usernat_flush(t.un);
	g_assert_false(next_seg(&t, &s, 0));
	expect_seg(&t, &s, 1000);
	g_assert_cmpuint(s.len, ==, 0);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 1000);
	host_read(&t, buf, 1);

	/* two full segments: ACKed at once */
	memset(big, 'b', sizeof(big));
	gsend(&t, t.gseq, 0x10, big, MSS);
	gsend(&t, t.gseq + MSS, 0x18, big + MSS, MSS);
	t.gseq += 2 * MSS;
	usernat_flush(t.un);
	g_assert_true(next_seg(&t, &s, 0));
	g_assert_cmpuint(s.len, ==, 0);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	host_read(&t, buf, 2 * MSS);
	tconn_fini(&t);
}

/* A SYN to a port nobody listens on: RST|ACK acknowledging the SYN */
static void test_refused(void)
{
	struct tconn t;
	struct seg s;
	int cfd;

	tconn_init(&t, NULL);
	t.port = closed_port(&cfd);
	syn(&t, 7, &s);
	g_assert_cmphex(s.flags, ==, 0x14);
	g_assert_cmpuint(s.ack, ==, t.gseq + 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_refused"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	close(cfd);
	tconn_fini(&t);
}

/* Segments for no connection get RSTs as RFC 9293 3.10.7.1 says */
static void test_no_flow(void)
{
	struct tconn t;
	struct seg s;

	tconn_init(&t, NULL);
	t.rnxt = 0x12345678;
	gsend(&t, 5000, 0x10, NULL, 0);		/* ACK */
	expect_seg(&t, &s, 100);
	g_assert_cmphex(s.flags, ==, 0x04);
	g_assert_cmphex(s.seq, ==, 0x12345678);
	gsend(&t, 5000, 0x08, "abc", 3);	/* no ACK: RST|ACK */
	expect_seg(&t, &s, 100);
	g_assert_cmphex(s.flags, ==, 0x14);
	g_assert_cmpuint(s.ack, ==, 5003);
	gsend(&t, 5000, 0x04, NULL, 0);		/* RST: nothing */
	expect_nothing(&t, 50);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_rst_no_flow"), ==, 2);
	tconn_fini(&t);
}

/* Malformed headers, bad checksums and option garbage are counted and
 * never crash or create state */
static void test_malformed(void)
{
	static const uint8_t bad_opts[][8] = {
		{ 2, 0, 0, 0, 0, 0, 0, 0 },	/* length 0 */
		{ 2, 1, 0, 0, 0, 0, 0, 0 },	/* length 1 */
		{ 1, 1, 1, 1, 1, 1, 2, 9 },	/* overruns */
		{ 2, 3, 5, 1, 3, 4, 1, 2 },	/* MSS length 3, WS length 4 */
		{ 3, 3, 200, 0, 8, 10, 1, 2 },	/* huge shift, TS overrun */
		{ 1, 1, 1, 1, 1, 1, 1, 255 },	/* kind 255, no length */
	};
	struct tconn t;
	uint8_t buf[200], good[200];
	size_t n, i;
	uint64_t before;

	tconn_init(&t, NULL);
	n = tcp_frame(good, t.mac, GUEST_IP, GW_IP, 40000, t.port, 1, 0, 0x02,
		      1000, NULL, 0, NULL, 0);

	/* truncated at every length below the header */
	before = usernat_stat(t.un, "drop_tcp_short");
	for (i = 34; i < 54; i++) {
		uint16_t c;

		memcpy(buf, good, n);
		buf[16] = 0;
		buf[17] = (uint8_t)(i - 14);
		buf[24] = buf[25] = 0;
		c = csum(buf + 14, 20, 0);
		memcpy(buf + 24, &c, 2);
		usernat_input(t.un, buf, i);
	}
	g_assert_cmpuint(usernat_stat(t.un, "drop_tcp_short"), ==, before + 20);
	/* data offset below 5 words, or past the segment */
	memcpy(buf, good, n);
	buf[34 + 12] = 0x40;
	usernat_input(t.un, buf, n);
	buf[34 + 12] = 0x60;
	usernat_input(t.un, buf, n);
	g_assert_cmpuint(usernat_stat(t.un, "drop_tcp_short"), ==, before + 22);
	/* bad checksum */
	memcpy(buf, good, n);
	buf[34 + 17] ^= 0x40;
	usernat_input(t.un, buf, n);
	g_assert_cmpuint(usernat_stat(t.un, "drop_tcp_csum"), ==, 1);
	expect_nothing(&t, 20);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_opened"), ==, 0);

	/* SYNs with broken options still connect, options ignored */
	for (i = 0; i < G_N_ELEMENTS(bad_opts); i++) {
		n = tcp_frame(buf, t.mac, GUEST_IP, GW_IP, (uint16_t)(41000 + i),
			      t.port, 1, 0, 0x02, 1000, bad_opts[i], 8, NULL,
			      0);
		usernat_input(t.un, buf, n);
	}
	g_assert_cmpuint(usernat_stat(t.un, "tcp_bad_options"), >=, 5);
	pump(t.un, 200);
	capture_clear(&t.cap);
	t.seen = 0;
	g_assert_cmpuint(usernat_stat(t.un, "tcp_opened"), ==,
			 G_N_ELEMENTS(bad_opts));

	/* source port 0, multicast and loopback destinations (ip4.c may
	 * drop some before they reach TCP) */
	before = usernat_stat(t.un, "tcp_drop_addr") +
		 usernat_stat(t.un, "drop_ip_dst");
	n = tcp_frame(buf, t.mac, GUEST_IP, GW_IP, 0, t.port, 1, 0, 0x02,
		      1000, NULL, 0, NULL, 0);
	usernat_input(t.un, buf, n);
	n = tcp_frame(buf, t.mac, GUEST_IP, "127.0.0.1", 1234, t.port, 1, 0,
		      0x02, 1000, NULL, 0, NULL, 0);
	usernat_input(t.un, buf, n);
	n = tcp_frame(buf, t.mac, GUEST_IP, "224.0.0.1", 1234, t.port, 1, 0,
		      0x02, 1000, NULL, 0, NULL, 0);
	usernat_input(t.un, buf, n);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_drop_addr") +
			 usernat_stat(t.un, "drop_ip_dst"), ==, before + 3);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_opened"), ==,
			 G_N_ELEMENTS(bad_opts));
	tconn_fini(&t);
}

/* A segment past RCV.NXT is not delivered before the gap is filled; the
 * guest gets a duplicate ACK; then it goes out right behind the gap */
static void test_out_of_order(void)
{
	struct tconn t;
	struct seg s;
	char buf[32];

	tconn_init(&t, NULL);
	establish(&t, 7);
	gsend(&t, t.gseq + 5, 0x18, "FGHIJ", 5);
	expect_seg(&t, &s, 200);			/* duplicate ACK */
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_cmpuint(s.len, ==, 0);
	g_assert_false(host_readable(&t, 50));
	g_assert_cmpuint(usernat_stat(t.un, "tcp_ooo"), ==, 1);

	gsend(&t, t.gseq, 0x18, "ABCDE", 5);	/* fills the gap */
	host_read(&t, buf, 10);
	g_assert_cmpmem(buf, 10, "ABCDEFGHIJ", 10);
	expect_seg(&t, &s, 200);		/* at once, covering both */
	g_assert_cmpuint(s.ack, ==, t.gseq + 10);
	/* the guest resends, overlapping what we have: nothing new */
	gsend(&t, t.gseq + 2, 0x18, "CDEFGHIJ", 8);
	g_assert_false(host_readable(&t, 50));
	g_assert_cmpuint(usernat_stat(t.un, "tcp_dup"), ==, 1);
	/* partly new: only the new part is written */
	gsend(&t, t.gseq + 8, 0x18, "IJKLM", 5);
	host_read(&t, buf, 3);
	g_assert_cmpmem(buf, 3, "KLM", 3);
	g_assert_false(host_readable(&t, 20));
	t.gseq += 13;
	drain(&t, 20);
	tconn_fini(&t);
}

/* Out-of-order segments that overlap each other and what is queued: every
 * byte reaches the host once, in order */
static void test_reassembly(void)
{
	static const char S[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const struct { int off, len; } order[] = {
		{ 20, 5 }, { 15, 11 }, { 30, 6 }, { 28, 4 }, { 10, 3 },
		{ 12, 9 }, { 2, 3 }, { 1, 30 }, { 0, 1 },
	};
	struct tconn t;
	struct seg s;
	char buf[64];
	size_t i;

	tconn_init(&t, NULL);
	establish(&t, 7);
	for (i = 0; i < G_N_ELEMENTS(order); i++) {
		gsend(&t, t.gseq + (uint32_t)order[i].off, 0x18,
		      S + order[i].off, (size_t)order[i].len);
		if (i < G_N_ELEMENTS(order) - 1)
			g_assert_false(host_readable(&t, 0));
	}
	host_read(&t, buf, 36);
	g_assert_cmpmem(buf, 36, S, 36);
	g_assert_false(host_readable(&t, 20));
	while (next_seg(&t, &s, 20))
		;
	g_assert_cmpuint(s.ack, ==, t.gseq + 36);
	t.gseq += 36;
	tconn_fini(&t);
}

/* A zero guest window stops the host data; probes; a window update
 * resumes */
static void test_zero_window(void)
{
	struct tconn t;
	struct seg s;
	gint64 t0;

	tconn_init(&t, NULL);
	establish(&t, 7);
	t.gwin = 0;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	pump(t.un, 0);
	g_assert_cmpint(send(t.afd, "blocked", 7, 0), ==, 7);
	expect_nothing(&t, 100);
	/* a window probe comes after about an RTO: old sequence, no data */
	t0 = g_get_monotonic_time();
	expect_seg(&t, &s, 3000);
	g_assert_cmpuint(s.len, ==, 0);
	g_assert_cmpuint(s.seq, ==, t.rnxt - 1);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 50000);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_window_probe"), ==, 1);
	/* the guest answers with a window */
	t.gwin = 100;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	expect_seg(&t, &s, 1000);
	g_assert_cmpmem(s.data, s.len, "blocked", 7);
	tconn_fini(&t);
}

/* A small guest window limits what is in flight (resent segments, such
 * as a tail loss probe, don't count) */
static void test_small_window(void)
{
	static uint8_t data[20000];
	struct tconn t;
	struct seg s;
	uint32_t high;

	tconn_init(&t, NULL);
	establish(&t, 0);
	t.gwin = 3000;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	g_assert_cmpint(send(t.afd, data, sizeof(data), 0), ==, sizeof(data));
	high = t.rnxt;
	while (next_seg(&t, &s, 50))
		if (seq_gt(s.seq + (uint32_t)s.len, high))
			high = s.seq + (uint32_t)s.len;
	g_assert_cmpuint(high - t.rnxt, ==, 3000);
	t.rnxt += 3000;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	while (next_seg(&t, &s, 50))
		if (seq_gt(s.seq + (uint32_t)s.len, high))
			high = s.seq + (uint32_t)s.len;
	g_assert_cmpuint(high - t.rnxt, ==, 3000);
	tconn_fini(&t);
}

/* Unacknowledged data is sent again after the RTO, same sequence; three
 * duplicate ACKs resend it at once */
static void test_retransmit(void)
{
	struct tconn t;
	struct seg s, r;
	gint64 t0;

	tconn_init(&t, NULL);
	establish(&t, 7);
	g_assert_cmpint(send(t.afd, "ABCDEFGH", 8, 0), ==, 8);
	expect_seg(&t, &s, 1000);
	t0 = g_get_monotonic_time();
	g_assert_cmpuint(s.len, ==, 8);
	expect_seg(&t, &r, 3000);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 150000);
	g_assert_cmpuint(r.seq, ==, s.seq);
	g_assert_cmpmem(r.data, r.len, "ABCDEFGH", 8);
	/* the first resend is a tail loss probe (one segment in flight: after
	 * a delayed ACK's time), the next ones RTOs */
	g_assert_cmpuint(usernat_stat(t.un, "tcp_tail_probe"), ==, 1);
	/* then the RTO, then again after twice as long (backoff) */
	expect_seg(&t, &r, 3000);
	g_assert_cmpuint(r.seq, ==, s.seq);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 350000);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_retransmit"), ==, 1);
	expect_seg(&t, &r, 3000);
	g_assert_cmpuint(r.seq, ==, s.seq);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 750000);
	t.rnxt += 8;
	gsend(&t, t.gseq, 0x10, NULL, 0);
	expect_nothing(&t, 300);

	/* fast retransmit: the first of several segments is lost */
	g_assert_cmpint(send(t.afd, "1111", 4, 0), ==, 4);
	expect_seg(&t, &s, 1000);
	g_assert_cmpint(send(t.afd, "2222", 4, 0), ==, 4);
	expect_seg(&t, &r, 1000);
	g_assert_cmpint(send(t.afd, "3333", 4, 0), ==, 4);
	expect_seg(&t, &r, 1000);
	gsend(&t, t.gseq, 0x10, NULL, 0);
	gsend(&t, t.gseq, 0x10, NULL, 0);
	expect_nothing(&t, 20);
	gsend(&t, t.gseq, 0x10, NULL, 0);
	expect_seg(&t, &r, 100);
	g_assert_cmpuint(r.seq, ==, s.seq);
	/* one segment, up to the MSS: here all three small ones */
	g_assert_cmpmem(r.data, r.len, "111122223333", 12);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_fast_retransmit"), ==, 1);
	tconn_fini(&t);
}

/* The guest's RST closes the host socket abortively; a stray RST (wrong
 * sequence) gets a challenge ACK and changes nothing; so does a SYN */
static void test_rst_from_guest(void)
{
	struct tconn t;
	struct seg s;
	char buf[4];

	tconn_init(&t, NULL);
	establish(&t, 7);
	gsend(&t, t.gseq + 100, 0x04, NULL, 0);
	expect_seg(&t, &s, 200);
	g_assert_cmphex(s.flags, ==, 0x10);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	gsend(&t, t.gseq + 10000000, 0x04, NULL, 0);	/* outside: ignored */
	expect_nothing(&t, 50);
	gsend(&t, t.gseq - 1, 0x02, NULL, 0);		/* SYN */
	expect_seg(&t, &s, 200);
	g_assert_cmphex(s.flags, ==, 0x10);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_challenge_ack"), ==, 2);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 1);

	gsend(&t, t.gseq, 0x04, NULL, 0);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	g_assert_true(host_readable(&t, 1000));
	g_assert_cmpint(recv(t.afd, buf, sizeof(buf), 0), ==, -1);
	g_assert_cmpint(errno, ==, ECONNRESET);
	tconn_fini(&t);
}

/* The host resets: the guest gets an RST */
static void test_rst_from_host(void)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	struct tconn t;
	struct seg s;

	tconn_init(&t, NULL);
	establish(&t, 7);
	setsockopt(t.afd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(t.afd);
	t.afd = -1;
	expect_seg(&t, &s, 1000);
	g_assert_true(s.flags & 0x04);
	g_assert_cmpuint(s.seq, ==, t.rnxt);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	tconn_fini(&t);
}

/* Another MAC can't touch a connection, even with the right addresses */
static void test_other_mac(void)
{
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x66, 0x66, 0x66 };
	struct tconn t;

	tconn_init(&t, NULL);
	establish(&t, 7);
	t.mac = other;
	gsend(&t, t.gseq, 0x04, NULL, 0);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_drop_mac"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 1);
	t.mac = guest_mac;
	tconn_fini(&t);
}

/* When the host socket stops taking data, the window closes; EPOLLOUT
 * reopens it with a window update and duplicate ACKs */
static void test_host_full(void)
{
	static uint8_t chunk[MSS];
	struct tconn t;
	struct seg s;
	uint32_t acked;
	int sndbuf = 16384, i, zero = 0, dups = 0;
	struct tcp_conn *c;
	char buf[65536];

	tconn_init(&t, NULL);
	establish(&t, 7);
	acked = t.gseq;
	/* a small send buffer on our side, a host that doesn't read yet */
	c = tcp_lookup(t.un->tcp, ip(GUEST_IP), htons(t.gport), ip(GW_IP),
		       htons(t.port));
	g_assert_nonnull(c);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/* a guest that respects the window: it closes before any data has
	 * to be refused */
	for (i = 0; i < 20000 && !zero; i++) {
		gsend(&t, t.gseq, 0x10, chunk, sizeof(chunk));
		t.gseq += MSS;
		pump(t.un, 1);
		while (next_seg(&t, &s, 0)) {
			acked = s.ack;
			if (!s.win)
				zero = 1;
		}
		if (seq_gt(t.gseq, acked + 32 * MSS))
			t.gseq = acked;
	}
	g_assert_true(zero);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_host_full"), ==, 0);
	/* one that doesn't: what the socket can't take is refused */
	for (i = 0; i < 20000 && !usernat_stat(t.un, "tcp_host_full"); i++) {
		gsend(&t, acked, 0x10, chunk, sizeof(chunk));
		while (next_seg(&t, &s, 0))
			acked = s.ack;
	}
	g_assert_cmpuint(usernat_stat(t.un, "tcp_host_full"), ==, 1);
	/* once the socket has room (the host reads), a window update
	 * follows, then three duplicate ACKs so the guest resends what was
	 * refused at once */
	for (i = 0; i < 200; i++) {
		while (recv(t.afd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		if (next_seg(&t, &s, 10) && s.win)
			break;
	}
	g_assert_cmpuint(s.win, >, 0);
	g_assert_cmpuint(s.ack, ==, acked);
	while (next_seg(&t, &s, 50)) {
		g_assert_cmpuint(s.ack, ==, acked);
		dups++;
	}
	g_assert_cmpint(dups, ==, 3);
	tconn_fini(&t);
}

/* Idle connections end after tcp-idle-timeout with RSTs both ways */
static void test_idle_timeout(void)
{
	const char *const opts[] = { "tcp-idle-timeout", "1", NULL };
	struct tconn t;
	struct seg s;

	tconn_init(&t, opts);
	establish(&t, 7);
	expect_seg(&t, &s, 3000);
	g_assert_true(s.flags & 0x04);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_idle_timeout"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	tconn_fini(&t);
}

/* Over max-flows: RST, counted */
static void test_limit(void)
{
	const char *const opts[] = { "max-flows", "2", NULL };
	struct tconn t;
	struct seg s;
	int i;

	tconn_init(&t, opts);
	for (i = 0; i < 3; i++) {
		t.gport = (uint16_t)(42000 + i);
		if (i == 2)
			g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
					      "limit reached*");
		syn(&t, 7, &s);
		g_assert_cmphex(s.flags, ==, i < 2 ? 0x12 : 0x14);
	}
	g_test_assert_expected_messages();
	g_assert_cmpuint(usernat_stat(t.un, "tcp_limit"), ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 2);
	tconn_fini(&t);
}

#ifndef TEST_MANY_N
#define TEST_MANY_N 700
#endif

/* Many connections: pool and hash table grow, all are found again */
static void test_many(void)
{
	enum { N = TEST_MANY_N };
	static int fds[N];
	struct tconn t;
	struct seg s;
	int i;

	tconn_init(&t, NULL);
	for (i = 0; i < N; i++) {
		struct pollfd p = { .fd = t.lfd, .events = POLLIN };

		t.gport = (uint16_t)(20000 + i);
		t.gseq = 1000;
		establish(&t, 7);
		fds[i] = t.afd;
		g_assert_cmpint(poll(&p, 1, 0), ==, 0);
	}
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, N);
	for (i = 0; i < N; i++) {
		g_assert_cmpint(send(fds[i], &i, sizeof(i), 0), ==, sizeof(i));
	}
	t.gport = 0;
	for (i = 0; i < N; i++) {
		int v;

		expect_seg(&t, &s, 2000);
		g_assert_cmpuint(s.len, ==, sizeof(v));
		memcpy(&v, s.data, sizeof(v));
		g_assert_cmpint(s.dport - 20000, ==, v);
	}
	for (i = 0; i < N; i++) {
		t.gport = (uint16_t)(20000 + i);
		t.gseq = 1001;
		gsend(&t, t.gseq, 0x04, NULL, 0);
		close(fds[i]);
	}
	t.afd = -1;
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 0);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_rst_from_guest"), ==, N);
	tconn_fini(&t);
}

/* Guest send a segment with SACK blocks (ACK of t->rnxt) */
static void gsend_sack(struct tconn *t, const uint32_t blk[][2], int n)
{
	uint8_t opts[36] = { 1, 1, 5, (uint8_t)(2 + 8 * n) }, frame[200];
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		uint32_t l = htonl(blk[i][0]), r = htonl(blk[i][1]);

		memcpy(opts + 4 + 8 * i, &l, 4);
		memcpy(opts + 8 + 8 * i, &r, 4);
	}
	len = tcp_frame(frame, t->mac, GUEST_IP, GW_IP, t->gport, t->port,
			t->gseq, t->rnxt, 0x10, t->gwin, opts,
			(size_t)(4 + 8 * n), NULL, 0);
	usernat_input(t->un, frame, len);
}

/* SACK, both ways: out-of-order data we hold is reported in SACK blocks,
 * latest first; the guest's SACK blocks make us resend each hole once */
static void test_sack(void)
{
	static uint8_t data[10 * MSS];
	uint32_t blk[4][2], base;
	struct tconn t;
	struct seg s;
	int n, i, got;

	tconn_init(&t, NULL);
	establish_opts(&t, 7, true);
	gsend(&t, t.gseq + 10, 0x18, "KLMNO", 5);
	expect_seg(&t, &s, 200);
	g_assert_cmpint(sack_blocks(&s, blk), ==, 1);
	g_assert_cmpuint(blk[0][0], ==, t.gseq + 10);
	g_assert_cmpuint(blk[0][1], ==, t.gseq + 15);
	gsend(&t, t.gseq + 20, 0x18, "UVWXY", 5);
	expect_seg(&t, &s, 200);
	g_assert_cmpint(sack_blocks(&s, blk), ==, 2);
	g_assert_cmpuint(blk[0][0], ==, t.gseq + 20);	/* latest first */
	g_assert_cmpuint(blk[1][0], ==, t.gseq + 10);
	gsend(&t, t.gseq, 0x18, "ABCDEFGHIJ", 10);	/* fills the first */
	expect_seg(&t, &s, 200);
	g_assert_cmpuint(s.ack, ==, t.gseq + 15);
	g_assert_cmpint(sack_blocks(&s, blk), ==, 1);
	g_assert_cmpuint(blk[0][0], ==, t.gseq + 20);
	gsend(&t, t.gseq + 15, 0x18, "PQRST", 5);	/* and the second */
	expect_seg(&t, &s, 200);
	g_assert_cmpuint(s.ack, ==, t.gseq + 25);
	g_assert_cmpint(sack_blocks(&s, blk), ==, 0);
	t.gseq += 25;

	/* toward the guest: segments 2 and 5 of 10 are lost */
	drain(&t, 20);
	g_assert_cmpint(send(t.afd, data, sizeof(data), 0), ==, sizeof(data));
	base = t.rnxt;
	for (got = 0; got < (int)sizeof(data);) {
		expect_seg(&t, &s, 1000);
		got += (int)s.len;
	}
	t.rnxt = base + MSS;			/* has segment 1 */
	blk[0][0] = base + 2 * MSS;		/* 3, 4 */
	blk[0][1] = base + 4 * MSS;
	gsend_sack(&t, blk, 1);
	blk[1][0] = blk[0][0];
	blk[1][1] = blk[0][1];
	blk[0][0] = base + 5 * MSS;		/* 6..10 */
	blk[0][1] = base + 10 * MSS;
	for (i = 0; i < 3; i++)		/* three duplicates: resend 2 */
		gsend_sack(&t, blk, 2);
	for (n = 0; next_seg(&t, &s, 50);)	/* (maybe a tail probe too) */
		n += s.len && s.seq == base + MSS;
	g_assert_cmpint(n, ==, 1);
	gsend_sack(&t, blk, 2);			/* one more: the next hole */
	for (n = 0; next_seg(&t, &s, 50);)
		n += s.len && s.seq == base + 4 * MSS;
	g_assert_cmpint(n, ==, 1);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_fast_retransmit"), ==, 1);
	tconn_fini(&t);
}

/* TCP to the DNS address, port 53, goes to the upstream server; other
 * ports there have no service */
static void test_dns_tcp(void)
{
	struct pollfd p;
	struct tconn t;
	struct seg s;
	char up[32], buf[8];
	uint16_t port;
	int lfd = listener(&port), afd;
	const char *opts[] = { "dns-upstream", up, NULL };
	uint8_t frame[200];
	size_t n;

	snprintf(up, sizeof(up), "127.0.0.1:%u", port);
	tconn_init(&t, opts);
	close(t.lfd);
	t.lfd = lfd;
	n = tcp_frame(frame, t.mac, GUEST_IP, "10.0.2.3", 41000, 53, 1000, 0,
		      0x02, 65535, NULL, 0, NULL, 0);
	usernat_input(t.un, frame, n);
	pump(t.un, 500);
	g_assert_cmpuint(t.cap.frames->len, >=, 1);
	parse_seg(capture_nth(&t.cap, 0), &s);
	g_assert_cmphex(s.flags, ==, 0x12);
	n = tcp_frame(frame, t.mac, GUEST_IP, "10.0.2.3", 41000, 53, 1001,
		      s.seq + 1, 0x18, 65535, NULL, 0, "\0\2ab", 4);
	usernat_input(t.un, frame, n);
	p.fd = lfd;
	p.events = POLLIN;
	g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
	afd = accept(lfd, NULL, NULL);
	g_assert_cmpint(afd, >=, 0);
	pump(t.un, 0);
	p.fd = afd;
	g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
	g_assert_cmpint(recv(afd, buf, sizeof(buf), 0), ==, 4);
	g_assert_cmpmem(buf, 4, "\0\2ab", 4);
	close(afd);
	capture_clear(&t.cap);
	n = tcp_frame(frame, t.mac, GUEST_IP, "10.0.2.3", 41001, 80, 1000, 0,
		      0x02, 65535, NULL, 0, NULL, 0);
	usernat_input(t.un, frame, n);
	g_assert_cmpuint(t.cap.frames->len, ==, 1);
	parse_seg(capture_nth(&t.cap, 0), &s);
	g_assert_cmphex(s.flags, ==, 0x14);
	tconn_fini(&t);
}

/* Out of descriptors: new connections get an RST (counted, logged once),
 * established ones go on */
static void test_fd_exhausted(void)
{
	struct rlimit old, low;
	struct tconn t;
	struct seg s;
	char buf[8];
	int n = 0, fd;

	tconn_init(&t, NULL);
	establish(&t, 7);
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
	fd = dup(0);		/* the next free descriptor: all below are used */
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
	g_test_expect_message("usernat", G_LOG_LEVEL_WARNING,
			      "tcp: cannot open a host socket*");
	for (n = 0; n < 3; n++) {
		t.gport = (uint16_t)(43000 + n);
		syn(&t, 7, &s);
		g_assert_cmphex(s.flags, ==, 0x14);
	}
	g_test_assert_expected_messages();
	setrlimit(RLIMIT_NOFILE, &old);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_fd_exhausted"), ==, 3);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_active"), ==, 1);
	t.gport = 40000;
	gsend(&t, t.gseq, 0x18, "still", 5);
	host_read(&t, buf, 5);
	g_assert_cmpmem(buf, 5, "still", 5);
	t.gseq += 5;
	tconn_fini(&t);
}

/* Collect the TCP flows the listing reports */
static void flow_cb(void *opaque, const struct usernat_flow *f)
{
	if (!strcmp(f->proto, "tcp"))
		g_ptr_array_add(opaque, g_memdup2(f, sizeof(*f)));
}

/* A port forward: a host client's connection is opened toward the guest
 * (SYN from the gateway), data flows both ways, the listing shows it; a
 * guest that refuses (RST) resets the next client */
static void test_forward(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	GPtrArray *flows = g_ptr_array_new_with_free_func(g_free);
	uint8_t opts[8] = { 2, 4, MSS >> 8, MSS & 0xff, 1, 3, 3, 7 };
	uint8_t frame[200];
	struct usernat_flow *f;
	struct tconn t;
	struct seg s;
	char spec[64], buf[16], *err = NULL;
	uint16_t fport;
	int cfd, ws;
	size_t n;

	tconn_init(&t, NULL);
	/* the guest must have been seen: one ARP request */
	n = build_arp(frame, 1, bcast_mac, guest_mac, GUEST_IP, bcast_mac,
		      GW_IP);
	usernat_input(t.un, frame, n);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	close(t.lfd);
	t.lfd = listener(&fport);	/* a free port, given to the forward */
	close(t.lfd);
	t.lfd = cfd;
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u-%s:8080", fport,
		 GUEST_IP);
	g_assert_cmpint(usernat_forward_add(t.un, spec, &err), ==, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(fport);
	g_assert_cmpint(connect(cfd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	capture_clear(&t.cap);
	t.seen = 0;
	t.gport = 8080;
	expect_seg(&t, &s, 2000);
	g_assert_cmphex(s.flags, ==, 0x02);
	g_assert_cmpint(synack_opts(&s, &ws), ==, 1460);
	g_assert_cmpint(ws, ==, TCP_RCV_WS);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_inbound"), ==, 1);
	t.port = s.sport;		/* the gateway's side of it */
	t.iss = s.seq;
	t.rnxt = s.seq + 1;
	n = tcp_frame(frame, t.mac, GUEST_IP, GW_IP, t.gport, t.port, t.gseq,
		      t.rnxt, 0x12, 65535, opts, 8, NULL, 0);
	usernat_input(t.un, frame, n);
	t.gseq++;
	expect_seg(&t, &s, 500);
	g_assert_cmphex(s.flags, ==, 0x10);
	g_assert_cmpuint(s.ack, ==, t.gseq);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_established"), ==, 1);

	g_assert_cmpint(send(cfd, "hello", 5, 0), ==, 5);
	expect_seg(&t, &s, 1000);
	g_assert_cmpmem(s.data, s.len, "hello", 5);
	t.rnxt += 5;
	gsend(&t, t.gseq, 0x18, "world", 5);
	t.gseq += 5;
	t.afd = cfd;
	host_read(&t, buf, 5);
	g_assert_cmpmem(buf, 5, "world", 5);
	t.afd = -1;

	usernat_flows_foreach(t.un, flow_cb, flows);
	g_assert_cmpuint(flows->len, ==, 1);
	f = g_ptr_array_index(flows, 0);
	g_assert_cmpint(f->inbound, ==, 1);
	g_assert_cmpstr(f->state, ==, "established");
	g_assert_cmpuint(f->guest_port, ==, 8080);
	g_assert_cmpuint(f->bytes_from_guest, ==, 5);
	g_assert_true(g_str_has_prefix(f->host, "127.0.0.1:"));
	close(cfd);

	/* a second client; the guest has no service: RST */
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(connect(cfd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	for (;;) {
		expect_seg(&t, &s, 2000);
		if (s.flags == 0x02)
			break;
	}
	t.port = s.sport;
	t.rnxt = s.seq + 1;
	gsend(&t, 0, 0x14, NULL, 0);
	g_assert_cmpuint(usernat_stat(t.un, "tcp_inbound_refused"), ==, 1);
	t.afd = cfd;
	g_assert_true(host_readable(&t, 1000));
	g_assert_cmpint(recv(cfd, buf, sizeof(buf), 0), ==, -1);
	g_assert_cmpint(errno, ==, ECONNRESET);
	close(cfd);
	t.afd = -1;
	t.lfd = socket(AF_INET, SOCK_STREAM, 0);	/* for tconn_fini */
	g_ptr_array_unref(flows);
	tconn_fini(&t);
}

/*
 * Bulk transfers through a lossy, reordering "link", both directions:
 * every byte arrives once, in order.
 */

struct lossy {
	GRand *rnd;
	int loss;		/* percent */
	int reorder;		/* percent */
};

/* Host -> guest: the test guest keeps out-of-order data as Linux does,
 * ACKs what is in order, answers out-of-order segments with duplicate
 * ACKs, and loses some frames.  Every byte must match what the host sent,
 * however often it arrives. */
static void bulk_download(struct tconn *t, size_t total, struct lossy *l)
{
	uint8_t *data = g_malloc(total), *rx = g_malloc(total);
	uint8_t *have = g_malloc0(total);
	uint32_t base = t->rnxt;
	size_t sent = 0, got = 0, i;
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	struct seg s;

	for (i = 0; i < total; i++)
		data[i] = (uint8_t)g_rand_int(l->rnd);
	fcntl(t->afd, F_SETFL, O_NONBLOCK);
	t->gwin = 65535;
	while (got < total) {
		bool progress = false;

		g_assert_cmpint(g_get_monotonic_time(), <, end);
		if (sent < total) {
			ssize_t n = send(t->afd, data + sent, total - sent, 0);

			if (n > 0)
				sent += (size_t)n;
		}
		pump(t->un, 1);
		while (next_seg(t, &s, 0)) {
			size_t off = s.seq - base;

			if (!s.len || (int)g_rand_int_range(l->rnd, 0, 100) <
				      l->loss)
				continue;
			g_assert_cmpuint(off + s.len, <=, total);
			for (i = 0; i < s.len; i++) {
				if (have[off + i])
					g_assert_cmpuint(rx[off + i], ==,
							 s.data[i]);
				rx[off + i] = s.data[i];
				have[off + i] = 1;
			}
			if (seq_gt(s.seq, t->rnxt)) {
				gsend(t, t->gseq, 0x10, NULL, 0);
				continue;
			}
			while (got < total && have[got])
				got++;
			t->rnxt = base + (uint32_t)got;
			progress = true;
		}
		if (progress)
			gsend(t, t->gseq, 0x10, NULL, 0);
		forget_seen(t);
	}
	g_assert_true(memcmp(rx, data, total) == 0);
	g_free(data);
	g_free(rx);
	g_free(have);
}

/* Guest -> host: the test guest sends within the stack's window, loses
 * and swaps some segments, resends from the last ACK after 3 duplicate
 * ACKs or a quiet spell */
static void bulk_upload(struct tconn *t, size_t total, struct lossy *l)
{
	uint8_t *data = g_malloc(total), *rx = g_malloc(total);
	uint32_t base = t->gseq, una = t->gseq, nxt = t->gseq, wnd = 65535;
	size_t got = 0, i;
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	gint64 last_progress = g_get_monotonic_time();
	int dups = 0;
	struct seg s;

	for (i = 0; i < total; i++)
		data[i] = (uint8_t)g_rand_int(l->rnd);
	while (got < total) {
		uint32_t limit = una + MIN(wnd, 64 * MSS);
		int held = -1;

		g_assert_cmpint(g_get_monotonic_time(), <, end);
		while (seq_lt(nxt, limit) && nxt - base < total) {
			size_t len = MIN(MSS, total - (nxt - base));

			len = MIN(len, limit - nxt);
			if ((int)g_rand_int_range(l->rnd, 0, 100) < l->loss) {
				/* lost */
			} else if (held < 0 &&
				   (int)g_rand_int_range(l->rnd, 0, 100) <
				   l->reorder) {
				held = (int)(nxt - base);
			} else {
				gsend(t, nxt, 0x18, data + (nxt - base), len);
				if (held >= 0) {
					size_t hl = MIN(MSS, total - held);

					gsend(t, base + (uint32_t)held, 0x18,
					      data + held, hl);
					held = -1;
				}
			}
			nxt += (uint32_t)len;
		}
		pump(t->un, 1);
		while (next_seg(t, &s, 0)) {
			if (!(s.flags & 0x10))
				continue;
			wnd = (uint32_t)s.win << t->ws;
			if (seq_gt(s.ack, una)) {
				una = s.ack;
				dups = 0;
				last_progress = g_get_monotonic_time();
			} else if (s.ack == una && una != nxt && ++dups == 3) {
				nxt = una;	/* fast retransmit, go back */
			}
		}
		if (una != nxt &&
		    g_get_monotonic_time() - last_progress > 20000) {
			nxt = una;	/* "RTO" */
			last_progress = g_get_monotonic_time();
		}
		if (seq_lt(nxt, una))
			nxt = una;
		for (;;) {
			ssize_t n = recv(t->afd, rx + got, total - got,
					 MSG_DONTWAIT);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		forget_seen(t);
	}
	g_assert_true(memcmp(rx, data, total) == 0);
	t->gseq = base + (uint32_t)total;
	g_free(data);
	g_free(rx);
}

static void bulk(bool peek_off, int loss, int reorder)
{
	struct lossy l = { .rnd = g_rand_new_with_seed(42), .loss = loss,
			   .reorder = reorder };
	struct tconn t;

	tconn_init(&t, NULL);
	if (!peek_off)
		t.un->tcp->peek_off = false;
	establish(&t, 7);
	bulk_download(&t, 3 << 20, &l);
	g_test_message("download: retransmits %" G_GUINT64_FORMAT " fast %"
		       G_GUINT64_FORMAT, usernat_stat(t.un, "tcp_retransmit"),
		       usernat_stat(t.un, "tcp_fast_retransmit"));
	bulk_upload(&t, 3 << 20, &l);
	if (loss)
		g_assert_cmpuint(usernat_stat(t.un, "tcp_ooo"), >, 0);
	g_test_message("retransmits %" G_GUINT64_FORMAT " fast %"
		       G_GUINT64_FORMAT " ooo %" G_GUINT64_FORMAT,
		       usernat_stat(t.un, "tcp_retransmit"),
		       usernat_stat(t.un, "tcp_fast_retransmit"),
		       usernat_stat(t.un, "tcp_ooo"));
	g_rand_free(l.rnd);
	tconn_fini(&t);
}

static void test_bulk_clean(void)
{
	bulk(true, 0, 0);
}

static void test_bulk_lossy(void)
{
	bulk(true, 3, 5);
}

static void test_bulk_lossy_no_peek_off(void)
{
	bulk(false, 3, 5);
}

/* A listener on 127.0.0.1 whose accept queue is full (backlog 0, filled
 * by connections of its own, in @fill): SYNs to it are dropped, so
 * connects to it stay in progress */
static int full_listener4(uint16_t *port, int fill[4])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), i;

	g_assert_cmpint(fd, >=, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(fd, 0), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &al), ==, 0);
	*port = ntohs(a.sin_port);
	for (i = 0; i < 4; i++) {
		struct pollfd p = { .events = POLLOUT };

		fill[i] = p.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
					0);
		g_assert_cmpint(p.fd, >=, 0);
		connect(p.fd, (struct sockaddr *)&a, sizeof(a));
		if (poll(&p, 1, 300) == 0)
			break;
	}
	g_assert_cmpint(i, <, 4);
	while (++i < 4)
		fill[i] = -1;
	return fd;
}

/* @n SYNs from @mac/@src, ports @sport.., to GW_IP:@port; returns how
 * many got an RST at once */
static guint syn_burst(struct usernat *un, struct capture *cap,
		       const uint8_t *mac, const char *src, uint16_t sport,
		       uint16_t port, guint n)
{
	static uint8_t buf[200];
	struct seg s;
	guint i, rst = 0;

	capture_clear(cap);
	for (i = 0; i < n; i++) {
		size_t len = tcp_frame(buf, mac, src, GW_IP,
				       (uint16_t)(sport + i), port, 1000, 0,
				       0x02, 65535, NULL, 0, NULL, 0);

		usernat_input(un, buf, len);
	}
	for (i = 0; i < cap->frames->len; i++) {
		parse_seg(capture_nth(cap, i), &s);
		g_assert_cmphex(s.flags, ==, 0x14);
		rst++;
	}
	return rst;
}

/* Half-open caps over IPv4: max-half-open per guest address, then
 * max-half-open-total for the instance; RSTs past them, counted; the
 * counts go back to zero as the connects fail */
static void test_half_open(void)
{
	static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
	const char *const opts[] = { "max-half-open", "3",
				     "max-half-open-total", "5",
				     "log-level", "error", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	int lfd, fill[4], i;
	uint16_t port;

	lfd = full_listener4(&port, fill);
	g_assert_cmpuint(syn_burst(un, &cap, guest_mac, GUEST_IP, 41000, port,
				   5), ==, 2);
	g_assert_cmpuint(un->half_open, ==, 3);
	g_assert_cmpuint(usernat_stat(un, "tcp_limit"), ==, 2);
	/* another guest is not starved by the first one's cap... */
	g_assert_cmpuint(syn_burst(un, &cap, mac_b, "10.0.2.16", 42000, port,
				   3), ==, 1);
	/* ...but the instance's cap holds for everyone */
	g_assert_cmpuint(un->half_open, ==, 5);
	g_assert_cmpuint(usernat_stat(un, "tcp_limit"), ==, 3);
	g_assert_cmpuint(usernat_stat(un, "drop_flow_limit"), ==, 3);
	close(lfd);
	for (i = 0; i < 4; i++)
		if (fill[i] >= 0)
			close(fill[i]);
	for (i = 0; i < 100 && un->half_open; i++)
		pump(un, 100);
	g_assert_cmpuint(un->half_open, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "tcp_active"), ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tcp/handshake-data", test_handshake_data);
	g_test_add_func("/tcp/no-wscale", test_no_wscale);
	g_test_add_func("/tcp/segmentation", test_segmentation);
	g_test_add_func("/tcp/tso", test_tso);
	g_test_add_func("/tcp/tso-off", test_tso_off);
	g_test_add_func("/tcp/gso-in", test_gso_in);
	g_test_add_func("/tcp/offload-bad", test_offload_bad);
	g_test_add_func("/tcp/fin-guest-first", test_fin_guest_first);
	g_test_add_func("/tcp/fin-host-first", test_fin_host_first);
	g_test_add_func("/tcp/interactive-close", test_interactive_close);
	g_test_add_func("/tcp/delayed-ack", test_delayed_ack);
	g_test_add_func("/tcp/refused", test_refused);
	g_test_add_func("/tcp/no-flow", test_no_flow);
	g_test_add_func("/tcp/malformed", test_malformed);
	g_test_add_func("/tcp/out-of-order", test_out_of_order);
	g_test_add_func("/tcp/reassembly", test_reassembly);
	g_test_add_func("/tcp/sack", test_sack);
	g_test_add_func("/tcp/zero-window", test_zero_window);
	g_test_add_func("/tcp/small-window", test_small_window);
	g_test_add_func("/tcp/retransmit", test_retransmit);
	g_test_add_func("/tcp/rst-from-guest", test_rst_from_guest);
	g_test_add_func("/tcp/rst-from-host", test_rst_from_host);
	g_test_add_func("/tcp/other-mac", test_other_mac);
	g_test_add_func("/tcp/host-full", test_host_full);
	g_test_add_func("/tcp/idle-timeout", test_idle_timeout);
	g_test_add_func("/tcp/limit", test_limit);
	g_test_add_func("/tcp/half-open", test_half_open);
	g_test_add_func("/tcp/many", test_many);
	g_test_add_func("/tcp/forward", test_forward);
	g_test_add_func("/tcp/dns", test_dns_tcp);
	g_test_add_func("/tcp/fd-exhausted", test_fd_exhausted);
	g_test_add_func("/tcp/bulk-clean", test_bulk_clean);
	g_test_add_func("/tcp/bulk-lossy", test_bulk_lossy);
	g_test_add_func("/tcp/bulk-lossy-no-peek-off",
			test_bulk_lossy_no_peek_off);
	return g_test_run();
}
