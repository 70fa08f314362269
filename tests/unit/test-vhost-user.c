/* test-vhost-user.c - vhost-user message checks, guest memory translation,
 * the split virtqueue walker and frame paths, with hostile inputs; then a
 * whole session against the transport from a fake QEMU over the socket */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "backend/loop.h"
#include "backend/transport.h"
#include "qemu-glue/vhost_user.h"
#include "qemu-glue/virtq.h"

/* --- fake guest memory: one malloc'd buffer, one or two regions -------- */

#define GPA_BASE	0x100000ull
#define UVA_BASE	0x7f0000000000ull
#define MEM_SIZE	(1024 * 1024)
#define QSIZE		16
#define DESC_OFF	0x0000
#define AVAIL_OFF	0x1000
#define USED_OFF	0x2000
#define BUF_OFF		0x10000		/* buffers from here */

struct fake {
	uint8_t *buf;
	struct vq_mem m;
	struct vq q;
	uint16_t avail_idx;
};

static void fake_init(struct fake *f, uint32_t qsize)
{
	memset(f, 0, sizeof(*f));
	f->buf = g_malloc0(MEM_SIZE);
	f->m.n = 1;
	f->m.r[0] = (struct vq_mem_region){ GPA_BASE, MEM_SIZE, UVA_BASE,
					    f->buf };
	vq_reset(&f->q);
	f->q.size = qsize;
	f->q.desc_uva = UVA_BASE + DESC_OFF;
	f->q.avail_uva = UVA_BASE + AVAIL_OFF;
	f->q.used_uva = UVA_BASE + USED_OFF;
	f->q.indirect = true;
	g_assert_cmpint(vq_map(&f->q, &f->m, &(const char *){ NULL }), ==, 0);
	vq_start(&f->q);
}

static void fake_free(struct fake *f)
{
	g_free(f->buf);
}

/* Descriptor @i of the table at @off in the buffer */
static void set_desc_at(struct fake *f, size_t off, unsigned int i,
			uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	struct vq_desc d = { htole64(addr), htole32(len), htole16(flags),
			     htole16(next) };

	memcpy(f->buf + off + 16 * i, &d, sizeof(d));
}

static void set_desc(struct fake *f, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	set_desc_at(f, DESC_OFF, i, addr, len, flags, next);
}

static void put16(struct fake *f, size_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(f->buf + off, &v, 2);
}

static uint16_t get16(struct fake *f, size_t off)
{
	uint16_t v;

	memcpy(&v, f->buf + off, 2);
	return le16toh(v);
}

static void avail_add(struct fake *f, uint16_t head)
{
	put16(f, AVAIL_OFF + 4 + 2 * (f->avail_idx % f->q.size), head);
	f->avail_idx++;
	put16(f, AVAIL_OFF + 2, f->avail_idx);
}

/* Pop one chain, expecting -EINVAL with a reason containing @what */
static void expect_broken(struct fake *f, const char *what)
{
	struct vq_chain c;
	const char *why = NULL;

	g_assert_cmpint(vq_pop(&f->q, &f->m, &c, &why), ==, -EINVAL);
	g_assert_nonnull(why);
	g_assert_nonnull(strstr(why, what));
}

/* --- message checks ---------------------------------------------------- */

static int check(uint32_t req, const void *p, uint32_t size, unsigned int fds)
{
	struct vu_hdr h = { req, VHOST_USER_VERSION, size };
	uint8_t buf[VHOST_USER_MAX_PAYLOAD] = { 0 };
	const char *why = NULL;
	int r;

	memcpy(buf, p, size < sizeof(buf) ? size : sizeof(buf));
	r = vu_msg_check(&h, buf, fds, &why);
	if (r)
		g_assert_nonnull(why);
	return r;
}

static void test_hdr(void)
{
	struct vu_hdr h = { VHOST_USER_GET_FEATURES, 1, 0 };
	const char *why;

	g_assert_cmpint(vu_hdr_check(&h, &why), ==, 0);
	h.flags = 2;
	g_assert_cmpint(vu_hdr_check(&h, &why), ==, -EINVAL);
	h.flags = 1 | VHOST_USER_NEED_REPLY;
	g_assert_cmpint(vu_hdr_check(&h, &why), ==, 0);
	h.size = VHOST_USER_MAX_PAYLOAD + 1;
	g_assert_cmpint(vu_hdr_check(&h, &why), ==, -EINVAL);
	h.size = UINT32_MAX;
	g_assert_cmpint(vu_hdr_check(&h, &why), ==, -EINVAL);
}

static void test_msg_sizes(void)
{
	uint64_t u = 0;
	struct vu_state s = { 0, 16 };
	struct vu_addr a = { 0 };

	g_assert_cmpint(check(VHOST_USER_GET_FEATURES, &u, 0, 0), ==, 0);
	g_assert_cmpint(check(VHOST_USER_GET_FEATURES, &u, 8, 0), ==, -EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_FEATURES, &u, 8, 0), ==, 0);
	g_assert_cmpint(check(VHOST_USER_SET_FEATURES, &u, 4, 0), ==, -EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_FEATURES, &a, 16, 0), ==, -EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, 0);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 7, 0), ==, -EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_ADDR, &a, 40, 0), ==, 0);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_ADDR, &a, 32, 0), ==,
			-EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_OWNER, &u, 1, 0), ==, -EINVAL);
}

static void test_msg_fds(void)
{
	uint64_t u = 1;

	g_assert_cmpint(check(VHOST_USER_SET_VRING_KICK, &u, 8, 1), ==, 0);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_KICK, &u, 8, 0), ==,
			-EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_KICK, &u, 8, 2), ==,
			-EINVAL);
	u = 1 | VHOST_USER_VRING_NOFD;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_CALL, &u, 8, 0), ==, 0);
	g_assert_cmpint(check(VHOST_USER_SET_VRING_CALL, &u, 8, 1), ==,
			-EINVAL);
	/* polling mode: no kick eventfd */
	g_assert_cmpint(check(VHOST_USER_SET_VRING_KICK, &u, 8, 0), ==,
			-EINVAL);
	u = 0;
	g_assert_cmpint(check(VHOST_USER_SET_OWNER, &u, 0, 1), ==, -EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_FEATURES, &u, 8, 3), ==, -EINVAL);
}

static void test_msg_values(void)
{
	struct vu_state s = { 2, 16 };
	struct vu_addr a = { 0 };
	uint64_t u;

	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, -EINVAL);
	s.index = 1;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, 0);
	s.num = 0;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, -EINVAL);
	s.num = 24;	/* not a power of two */
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, -EINVAL);
	s.num = 65536;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, -EINVAL);
	s.num = 32768;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_NUM, &s, 8, 0), ==, 0);
	s.num = 65536;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_BASE, &s, 8, 0), ==,
			-EINVAL);
	s.num = 2;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_ENABLE, &s, 8, 0), ==,
			-EINVAL);
	s.index = 0xffffffff;
	g_assert_cmpint(check(VHOST_USER_GET_VRING_BASE, &s, 8, 0), ==,
			-EINVAL);
	a.index = 1;
	a.flags = 2;
	g_assert_cmpint(check(VHOST_USER_SET_VRING_ADDR, &a, 40, 0), ==,
			-EINVAL);
	u = 2;		/* queue 2 */
	g_assert_cmpint(check(VHOST_USER_SET_VRING_CALL, &u, 8, 1), ==,
			-EINVAL);
	u = 1ull << 9;	/* unknown bits */
	g_assert_cmpint(check(VHOST_USER_SET_VRING_CALL, &u, 8, 1), ==,
			-EINVAL);
	u = VU_FEATURES | 1ull << 26;	/* F_LOG_ALL: not offered */
	g_assert_cmpint(check(VHOST_USER_SET_FEATURES, &u, 8, 0), ==, -EINVAL);
	u = VU_FEATURES;
	g_assert_cmpint(check(VHOST_USER_SET_FEATURES, &u, 8, 0), ==, 0);
	u = 1;		/* MQ */
	g_assert_cmpint(check(VHOST_USER_SET_PROTOCOL_FEATURES, &u, 8, 0), ==,
			-EINVAL);
}

static void test_msg_unsupported(void)
{
	uint64_t u = 0;

	g_assert_cmpint(check(VHOST_USER_SET_LOG_BASE, &u, 8, 1), ==, -EINVAL);
	g_assert_cmpint(check(VHOST_USER_SET_LOG_FD, &u, 0, 1), ==, -EINVAL);
	g_assert_cmpint(check(0, &u, 0, 0), ==, -EINVAL);
	g_assert_cmpint(check(41, &u, 0, 0), ==, -EINVAL);
	g_assert_cmpint(check(0xffffffff, &u, 0, 0), ==, -EINVAL);
	g_assert_cmpstr(vu_request_name(0xffffffff), ==, "unknown request");
	g_assert_cmpstr(vu_request_name(5), ==, "SET_MEM_TABLE");
}

/* --- memory table ------------------------------------------------------ */

static int table_check(struct vu_mem_table *t, unsigned int fds)
{
	return check(VHOST_USER_SET_MEM_TABLE, t,
		     VU_MEM_TABLE_HDR + t->nregions * 32, fds);
}

static void test_mem_table(void)
{
	struct vu_mem_table t = { 2, 0, {
		{ 0, 0xa0000, 0x7f0000000000, 0 },
		{ 0x100000, 0xff00000, 0x7f0000100000, 0x100000 } } };
	uint32_t nine[(8 + 9 * 32) / 4];

	g_assert_cmpint(table_check(&t, 2), ==, 0);
	g_assert_cmpint(table_check(&t, 1), ==, -EINVAL);	/* fd count */
	g_assert_cmpint(check(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, 2), ==,
			-EINVAL);			/* size vs count */
	t.nregions = 0;
	g_assert_cmpint(table_check(&t, 0), ==, -EINVAL);
	memset(nine, 0, sizeof(nine));
	nine[0] = 9;
	g_assert_cmpint(check(VHOST_USER_SET_MEM_TABLE, nine, sizeof(nine), 8),
			==, -EINVAL);
	t.nregions = 2;
	t.r[1].size = 0;				/* empty */
	g_assert_cmpint(table_check(&t, 2), ==, -EINVAL);
	t.r[1].size = 0xff00000;
	t.r[1].gpa = UINT64_MAX - 0x1000;		/* wraps */
	g_assert_cmpint(table_check(&t, 2), ==, -EINVAL);
	t.r[1].gpa = 0x100000;
	t.r[1].uva = UINT64_MAX - 0x1000;
	g_assert_cmpint(table_check(&t, 2), ==, -EINVAL);
	t.r[1].uva = 0x7f0000100000;
	t.r[1].mmap_offset = UINT64_MAX - 0x1000;
	g_assert_cmpint(table_check(&t, 2), ==, -EINVAL);
	t.r[1].mmap_offset = 0x100000;
	t.r[1].gpa = 0x9f000;				/* gpa overlap */
	g_assert_cmpint(table_check(&t, 2), ==, -EINVAL);
	t.r[1].gpa = 0x100000;
	t.r[1].uva = 0x7f0000000000 + 0x9ffff;		/* uva overlap */
	g_assert_cmpint(table_check(&t, 2), ==, -EINVAL);
	t.r[1].uva = 0x7f00000a0000;			/* adjacent: fine */
	g_assert_cmpint(table_check(&t, 2), ==, 0);
}

static void test_translate(void)
{
	uint8_t buf[256];
	struct vq_mem m = { .n = 2 };
	uint64_t got = 0;

	m.r[0] = (struct vq_mem_region){ 0x1000, 128, 0x9000, buf };
	m.r[1] = (struct vq_mem_region){ 0x1080, 128, 0x5000, buf + 128 };
	g_assert_true(vq_mem_gpa(&m, 0x1000, 16, &got) == buf);
	g_assert_cmpuint(got, ==, 16);
	g_assert_true(vq_mem_gpa(&m, 0x1070, 64, &got) == buf + 0x70);
	g_assert_cmpuint(got, ==, 16);	/* up to the region's end */
	g_assert_true(vq_mem_gpa(&m, 0x1080, 64, &got) == buf + 128);
	g_assert_null(vq_mem_gpa(&m, 0xfff, 1, &got));
	g_assert_null(vq_mem_gpa(&m, 0x1100, 1, &got));
	g_assert_null(vq_mem_gpa(&m, UINT64_MAX, UINT64_MAX, &got));
	g_assert_null(vq_mem_gpa_whole(&m, 0x1070, 64));
	g_assert_true(vq_mem_gpa_whole(&m, 0x1070, 16) == buf + 0x70);
	g_assert_true(vq_mem_uva(&m, 0x9000, 128) == buf);
	g_assert_null(vq_mem_uva(&m, 0x9000, 129));
	g_assert_null(vq_mem_uva(&m, 0x9001, UINT64_MAX));
	g_assert_null(vq_mem_uva(&m, 0x8fff, 2));
	g_assert_null(vq_mem_uva(&m, 0x907f, 2));
}

/* --- rings ------------------------------------------------------------- */

static void test_map(void)
{
	struct fake f;
	const char *why;

	fake_init(&f, QSIZE);
	f.q.used_uva = UVA_BASE + MEM_SIZE - 8;	/* runs off the end */
	g_assert_cmpint(vq_map(&f.q, &f.m, &why), ==, -EINVAL);
	g_assert_null(f.q.desc);
	f.q.used_uva = UVA_BASE + USED_OFF + 2;		/* misaligned */
	g_assert_cmpint(vq_map(&f.q, &f.m, &why), ==, -EINVAL);
	f.q.used_uva = UVA_BASE + USED_OFF;
	f.q.desc_uva = UVA_BASE - 16;		/* before the region */
	g_assert_cmpint(vq_map(&f.q, &f.m, &why), ==, -EINVAL);
	f.q.desc_uva = UVA_BASE;
	f.q.size = 0;
	g_assert_cmpint(vq_map(&f.q, &f.m, &why), ==, -EINVAL);
	f.q.size = VQ_MAX_SIZE;		/* the largest rings still fit */
	g_assert_cmpint(vq_map(&f.q, &f.m, &why), ==, 0);
	f.q.used_uva = UVA_BASE + MEM_SIZE - 0x10000;	/* but not here */
	g_assert_cmpint(vq_map(&f.q, &f.m, &why), ==, -EINVAL);
	fake_free(&f);
}

static void test_pop_ok(void)
{
	struct fake f;
	struct vq_chain c;
	const char *why;

	fake_init(&f, QSIZE);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 0);	/* empty */
	set_desc(&f, 3, GPA_BASE + BUF_OFF, 100, VQ_DESC_F_NEXT, 7);
	set_desc(&f, 7, GPA_BASE + BUF_OFF + 200, 50, VQ_DESC_F_WRITE, 0);
	avail_add(&f, 3);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_cmpuint(c.head, ==, 3);
	g_assert_cmpuint(c.n_out, ==, 1);
	g_assert_cmpuint(c.n_in, ==, 1);
	g_assert_cmpuint(c.out_len, ==, 100);
	g_assert_cmpuint(c.in_len, ==, 50);
	g_assert_true(c.iov[0].iov_base == f.buf + BUF_OFF);
	g_assert_true(c.iov[1].iov_base == f.buf + BUF_OFF + 200);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 0);
	fake_free(&f);
}

/* A chain as long as the table is fine; one step more is a loop */
static void test_pop_full_length(void)
{
	struct fake f;
	struct vq_chain c;
	const char *why;
	unsigned int i;

	fake_init(&f, QSIZE);
	for (i = 0; i < QSIZE; i++)
		set_desc(&f, i, GPA_BASE + BUF_OFF + i, 1,
			 i + 1 < QSIZE ? VQ_DESC_F_NEXT : 0, i + 1);
	avail_add(&f, 0);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_cmpuint(c.out_len, ==, QSIZE);
	set_desc(&f, QSIZE - 1, GPA_BASE + BUF_OFF, 1, VQ_DESC_F_NEXT, 0);
	avail_add(&f, 0);
	expect_broken(&f, "loop");
	fake_free(&f);
}

static void test_pop_hostile(void)
{
	struct fake f;

	/* descriptor pointing outside guest memory */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + MEM_SIZE, 16, 0, 0);
	avail_add(&f, 0);
	expect_broken(&f, "outside");
	fake_free(&f);

	/* descriptor running past the end of the region */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + MEM_SIZE - 8, 16, 0, 0);
	avail_add(&f, 0);
	expect_broken(&f, "outside");
	fake_free(&f);

	/* address + length wrapping around 2^64 */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, UINT64_MAX - 4, 0xffffffff, 0, 0);
	avail_add(&f, 0);
	expect_broken(&f, "outside");
	fake_free(&f);

	/* self loop and two-descriptor loop */
	fake_init(&f, QSIZE);
	set_desc(&f, 5, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 5);
	avail_add(&f, 5);
	expect_broken(&f, "loop");
	fake_free(&f);
	fake_init(&f, QSIZE);
	set_desc(&f, 1, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 2);
	set_desc(&f, 2, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 1);
	avail_add(&f, 1);
	expect_broken(&f, "loop");
	fake_free(&f);

	/* next beyond the table */
	fake_init(&f, QSIZE);
	set_desc(&f, 1, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, QSIZE);
	avail_add(&f, 1);
	expect_broken(&f, "out of range");
	fake_free(&f);

	/* head beyond the table */
	fake_init(&f, QSIZE);
	avail_add(&f, 0xffff);
	expect_broken(&f, "out of range");
	fake_free(&f);

	/* readable after writable */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 16,
		 VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
	set_desc(&f, 1, GPA_BASE + BUF_OFF, 16, 0, 0);
	avail_add(&f, 0);
	expect_broken(&f, "readable");
	fake_free(&f);
}

static void test_avail_idx(void)
{
	struct fake f;
	struct vq_chain c;
	const char *why;

	/* more than a ring's worth ahead */
	fake_init(&f, QSIZE);
	put16(&f, AVAIL_OFF + 2, QSIZE + 1);
	expect_broken(&f, "jumped");
	fake_free(&f);

	/* exactly a ring's worth is fine */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 16, 0, 0);
	put16(&f, AVAIL_OFF + 2, QSIZE);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	fake_free(&f);

	/* moving backwards */
	fake_init(&f, QSIZE);
	f.q.last_avail = f.q.shadow_avail = 10;
	put16(&f, AVAIL_OFF + 2, 9);
	expect_broken(&f, "jumped");
	fake_free(&f);

	/* wrapping past 65535 is normal */
	fake_init(&f, QSIZE);
	f.q.last_avail = f.q.shadow_avail = 65535;
	set_desc(&f, 2, GPA_BASE + BUF_OFF, 16, 0, 0);
	put16(&f, AVAIL_OFF + 4 + 2 * (65535 % QSIZE), 2);
	put16(&f, AVAIL_OFF + 2, 1);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 0);
	fake_free(&f);
}

#define IND_OFF 0x8000	/* indirect tables here */

static void test_indirect_ok(void)
{
	struct fake f;
	struct vq_chain c;
	const char *why;

	/* 2.7.5.3.2: direct descriptors, then one indirect */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 12, VQ_DESC_F_NEXT, 4);
	set_desc(&f, 4, GPA_BASE + IND_OFF, 3 * 16,
		 VQ_DESC_F_INDIRECT | VQ_DESC_F_WRITE, 0);
	set_desc_at(&f, IND_OFF, 0, GPA_BASE + BUF_OFF + 100, 10,
		    VQ_DESC_F_NEXT, 2);
	set_desc_at(&f, IND_OFF, 2, GPA_BASE + BUF_OFF + 200, 20,
		    VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	set_desc_at(&f, IND_OFF, 1, GPA_BASE + BUF_OFF + 300, 30,
		    VQ_DESC_F_WRITE, 0);
	avail_add(&f, 0);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_cmpuint(c.n_out, ==, 2);
	g_assert_cmpuint(c.out_len, ==, 22);
	g_assert_cmpuint(c.n_in, ==, 2);
	g_assert_cmpuint(c.in_len, ==, 50);
	fake_free(&f);
}

static void indirect_case(uint64_t addr, uint32_t len, uint16_t flags,
			  bool negotiated, const char *what)
{
	struct fake f;

	fake_init(&f, QSIZE);
	f.q.indirect = negotiated;
	set_desc(&f, 0, addr, len, flags, 1);
	set_desc(&f, 1, GPA_BASE + BUF_OFF, 16, 0, 0);
	set_desc_at(&f, IND_OFF, 0, GPA_BASE + BUF_OFF, 16, 0, 0);
	avail_add(&f, 0);
	expect_broken(&f, what);
	fake_free(&f);
}

static void test_indirect_hostile(void)
{
	uint64_t t = GPA_BASE + IND_OFF;
	struct fake f;

	indirect_case(t, 32, VQ_DESC_F_INDIRECT, false, "not negotiated");
	indirect_case(t, 33, VQ_DESC_F_INDIRECT, true, "length");
	indirect_case(t, 0, VQ_DESC_F_INDIRECT, true, "length");
	indirect_case(t, (VQ_MAX_SIZE + 1) * 16, VQ_DESC_F_INDIRECT, true,
		      "length");
	indirect_case(t, 32, VQ_DESC_F_INDIRECT | VQ_DESC_F_NEXT, true,
		      "NEXT");
	indirect_case(GPA_BASE + MEM_SIZE - 16, 32, VQ_DESC_F_INDIRECT, true,
		      "outside");
	indirect_case(GPA_BASE - 16, 32, VQ_DESC_F_INDIRECT, true, "outside");

	/* nested table */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + IND_OFF, 32, VQ_DESC_F_INDIRECT, 0);
	set_desc_at(&f, IND_OFF, 0, GPA_BASE + IND_OFF, 32,
		    VQ_DESC_F_INDIRECT, 0);
	avail_add(&f, 0);
	expect_broken(&f, "nested");
	fake_free(&f);

	/* loop inside the table */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + IND_OFF, 48, VQ_DESC_F_INDIRECT, 0);
	set_desc_at(&f, IND_OFF, 0, GPA_BASE + BUF_OFF, 4, VQ_DESC_F_NEXT, 1);
	set_desc_at(&f, IND_OFF, 1, GPA_BASE + BUF_OFF, 4, VQ_DESC_F_NEXT, 2);
	set_desc_at(&f, IND_OFF, 2, GPA_BASE + BUF_OFF, 4, VQ_DESC_F_NEXT, 0);
	avail_add(&f, 0);
	expect_broken(&f, "loop");
	fake_free(&f);

	/* next beyond the table's end (within the queue size) */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + IND_OFF, 32, VQ_DESC_F_INDIRECT, 0);
	set_desc_at(&f, IND_OFF, 0, GPA_BASE + BUF_OFF, 4, VQ_DESC_F_NEXT, 2);
	avail_add(&f, 0);
	expect_broken(&f, "out of range");
	fake_free(&f);

	/* a buffer in the table pointing outside */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + IND_OFF, 16, VQ_DESC_F_INDIRECT, 0);
	set_desc_at(&f, IND_OFF, 0, 0, 4, 0, 0);
	avail_add(&f, 0);
	expect_broken(&f, "outside");
	fake_free(&f);
}

/* Two regions adjacent in guest-physical space but not in our memory: a
 * buffer across the boundary becomes two segments; with a gap, broken */
static void test_cross_region(void)
{
	struct fake f;
	struct vq_chain c;
	uint8_t *other = g_malloc0(4096);
	const char *why;

	fake_init(&f, QSIZE);
	f.m.n = 2;
	f.m.r[1] = (struct vq_mem_region){ GPA_BASE + MEM_SIZE, 4096,
					   UVA_BASE + 2 * MEM_SIZE, other };
	set_desc(&f, 0, GPA_BASE + MEM_SIZE - 10, 30, 0, 0);
	avail_add(&f, 0);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_cmpuint(c.n_out, ==, 2);
	g_assert_true(c.iov[0].iov_base == f.buf + MEM_SIZE - 10);
	g_assert_cmpuint(c.iov[0].iov_len, ==, 10);
	g_assert_true(c.iov[1].iov_base == other);
	g_assert_cmpuint(c.iov[1].iov_len, ==, 20);
	f.m.r[1].gpa += 4096;	/* now a hole in between */
	avail_add(&f, 0);
	expect_broken(&f, "outside");
	fake_free(&f);
	g_free(other);
}

/* More segments than VQ_MAX_IOV: validated, kept truncated */
static void test_many_segments(void)
{
	struct fake f;
	struct vq_chain c;
	struct vq_frame fr;
	uint8_t gather[2048];
	const char *why;
	unsigned int i, n = VQ_MAX_IOV + 8;

	fake_init(&f, 128);
	for (i = 0; i < n; i++)
		set_desc(&f, i, GPA_BASE + BUF_OFF + 16 * i, 16,
			 i + 1 < n ? VQ_DESC_F_NEXT : 0, i + 1);
	avail_add(&f, 0);
	g_assert_cmpint(vq_pop(&f.q, &f.m, &c, &why), ==, 1);
	g_assert_true(c.truncated);
	g_assert_cmpuint(c.n_out, ==, VQ_MAX_IOV);
	avail_add(&f, 0);	/* as a TX frame: taken, but unusable */
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 1);
	g_assert_null(fr.data);
	fake_free(&f);
}

/* --- frames ------------------------------------------------------------ */

static void test_tx(void)
{
	struct fake f;
	struct vq_frame fr;
	uint8_t gather[1514];
	const char *why;
	unsigned int i;

	fake_init(&f, QSIZE);
	for (i = 0; i < 200; i++)
		f.buf[BUF_OFF + i] = (uint8_t)i;
	/* header and frame in one descriptor: no copy */
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 12 + 60, 0, 0);
	avail_add(&f, 0);
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 1);
	g_assert_true(fr.data == f.buf + BUF_OFF + 12);
	g_assert_cmpuint(fr.len, ==, 60);
	/* header alone, frame in three pieces: gathered */
	set_desc(&f, 1, GPA_BASE + BUF_OFF, 12, VQ_DESC_F_NEXT, 2);
	set_desc(&f, 2, GPA_BASE + BUF_OFF + 12, 20, VQ_DESC_F_NEXT, 3);
	set_desc(&f, 3, GPA_BASE + BUF_OFF + 32, 20, VQ_DESC_F_NEXT, 4);
	set_desc(&f, 4, GPA_BASE + BUF_OFF + 52, 20, 0, 0);
	avail_add(&f, 1);
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 1);
	g_assert_true(fr.data == gather);
	g_assert_cmpuint(fr.len, ==, 60);
	g_assert_cmpmem(fr.data, 60, f.buf + BUF_OFF + 12, 60);
	/* too long, or only a header: taken, not usable */
	set_desc(&f, 5, GPA_BASE + BUF_OFF, 12 + 1515, 0, 0);
	avail_add(&f, 5);
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 1);
	g_assert_null(fr.data);
	g_assert_cmpuint(fr.head, ==, 5);
	set_desc(&f, 6, GPA_BASE + BUF_OFF, 12, 0, 0);
	avail_add(&f, 6);
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 1);
	g_assert_null(fr.data);
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 0);
	fake_free(&f);
}

static uint32_t used_len(struct fake *f, unsigned int i)
{
	uint32_t v;

	memcpy(&v, f->buf + USED_OFF + 4 + 8 * i + 4, 4);
	return le32toh(v);
}

static void test_rx_mergeable(void)
{
	struct fake f;
	uint8_t frame[1000];
	const char *why;
	unsigned int i;

	fake_init(&f, QSIZE);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	for (i = 0; i < 3; i++) {
		set_desc(&f, i, GPA_BASE + BUF_OFF + 0x1000 * i, 400,
			 VQ_DESC_F_WRITE, 0);
		avail_add(&f, i);
	}
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, true, NULL, frame, sizeof(frame),
				    &why), ==, 1);
	g_assert_cmpuint(f.q.last_avail, ==, 3);
	g_assert_cmpuint(used_len(&f, 0), ==, 400);
	g_assert_cmpuint(used_len(&f, 1), ==, 400);
	g_assert_cmpuint(used_len(&f, 2), ==, 212);
	/* num_buffers */
	g_assert_cmpuint(get16(&f, BUF_OFF + 10), ==, 3);
	g_assert_cmpmem(f.buf + BUF_OFF + 12, 388, frame, 388);
	g_assert_cmpmem(f.buf + BUF_OFF + 0x1000, 400, frame + 388, 400);
	g_assert_cmpmem(f.buf + BUF_OFF + 0x2000, 212, frame + 788, 212);
	/* not published yet */
	g_assert_cmpuint(get16(&f, USED_OFF + 2), ==, 0);
	g_assert_true(vq_publish(&f.q));
	g_assert_cmpuint(get16(&f, USED_OFF + 2), ==, 3);
	g_assert_false(vq_publish(&f.q));	/* nothing new */
	fake_free(&f);
}

static void test_rx_no_room(void)
{
	struct fake f;
	uint8_t frame[1000] = { 0 };
	const char *why;

	fake_init(&f, QSIZE);
	/* nothing posted */
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, true, NULL, frame, 60, &why), ==,
			0);
	/* not enough posted: nothing consumed */
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 400, VQ_DESC_F_WRITE, 0);
	avail_add(&f, 0);
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, true, NULL, frame, 1000, &why),
			==, 0);
	g_assert_cmpuint(f.q.last_avail, ==, 0);
	g_assert_cmpuint(f.q.used_idx, ==, 0);
	/* without MRG_RXBUF the frame must fit one chain */
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, false, NULL, frame, 1000, &why),
			==, 0);
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, false, NULL, frame, 300, &why),
			==, 1);
	g_assert_cmpuint(get16(&f, BUF_OFF + 10), ==, 1);
	/* a buffer smaller than the header breaks the ring (MRG_RXBUF) */
	set_desc(&f, 1, GPA_BASE + BUF_OFF, 8, VQ_DESC_F_WRITE, 0);
	avail_add(&f, 1);
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, true, NULL, frame, 60, &why), ==,
			-EINVAL);
	fake_free(&f);

	/* a chain with nothing writable */
	fake_init(&f, QSIZE);
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 400, 0, 0);
	avail_add(&f, 0);
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, true, NULL, frame, 60, &why), ==,
			-EINVAL);
	fake_free(&f);
}

static void test_notify(void)
{
	struct fake f;

	/* without EVENT_IDX: the NO_INTERRUPT flag */
	fake_init(&f, QSIZE);
	vq_push(&f.q, 0, 0);
	g_assert_true(vq_publish(&f.q));
	put16(&f, AVAIL_OFF, VQ_AVAIL_F_NO_INTERRUPT);
	vq_push(&f.q, 0, 0);
	g_assert_false(vq_publish(&f.q));
	g_assert_cmpuint(get16(&f, USED_OFF + 2), ==, 2);
	fake_free(&f);

	/* EVENT_IDX: notify when used_event is among the new entries */
	fake_init(&f, QSIZE);
	f.q.event_idx = true;
	put16(&f, AVAIL_OFF + 4 + 2 * QSIZE, 2);	/* used_event */
	vq_push(&f.q, 0, 0);
	g_assert_true(vq_publish(&f.q));	/* first one always */
	vq_push(&f.q, 0, 0);
	g_assert_false(vq_publish(&f.q));	/* idx 1: not 2 yet */
	vq_push(&f.q, 0, 0);
	vq_push(&f.q, 0, 0);
	g_assert_true(vq_publish(&f.q));	/* 2 and 3: crossed */
	vq_push(&f.q, 0, 0);
	g_assert_false(vq_publish(&f.q));
	fake_free(&f);
}

static void test_kick_rearm(void)
{
	struct fake f;

	fake_init(&f, QSIZE);
	g_assert_false(vq_kick_rearm(&f.q));	/* no EVENT_IDX: no-op */
	f.q.event_idx = true;
	f.q.last_avail = f.q.shadow_avail = 5;
	put16(&f, AVAIL_OFF + 2, 5);
	g_assert_false(vq_kick_rearm(&f.q));
	g_assert_cmpuint(get16(&f, USED_OFF + 4 + 8 * QSIZE), ==, 5);
	put16(&f, AVAIL_OFF + 2, 6);
	g_assert_true(vq_kick_rearm(&f.q));
	fake_free(&f);
}

/* --- virtio-net headers: offloads ------------------------------------- */

static struct virtio_net_hdr net_hdr(uint8_t flags, uint8_t gso_type,
				     uint16_t hdr_len, uint16_t gso_size,
				     uint16_t start, uint16_t offset)
{
	return (struct virtio_net_hdr){ flags, gso_type, htole16(hdr_len),
					htole16(gso_size), htole16(start),
					htole16(offset) };
}

/* Headers the guest sends: taken when the features acked allow them and
 * they fit the frame, refused with a reason otherwise */
static void test_net_hdr_in(void)
{
	const uint64_t all = VU_FEATURES, csum = 1ull << VIRTIO_NET_F_CSUM;
	struct usernat_offload off;
	struct virtio_net_hdr h;
	const char *why;
	unsigned int i;
	static const struct {
		uint8_t flags, gso;
		uint16_t hdr_len, gso_size, start, offset;
		size_t len;
		bool csum_only;		/* with VIRTIO_NET_F_CSUM alone */
		int ok;
	} cases[] = {
		{ 0, 0, 0, 0, 0, 0, 60, false, 0 },
		{ 1, 0, 0, 0, 34, 16, 60, false, 0 },	/* TCP csum */
		{ 1, 0, 0, 0, 34, 6, 42, false, 0 },	/* UDP, last byte */
		{ 1, 0, 0, 0, 34, 7, 42, false, -EINVAL },	/* past end */
		{ 1, 0, 0, 0, 0xffff, 0xffff, 60, false, -EINVAL },
		{ 2, 0, 0, 0, 0, 0, 60, false, -EINVAL },	/* DATA_VALID */
		{ 4, 0, 0, 0, 0, 0, 60, false, -EINVAL },	/* RSC_INFO */
		{ 0x81, 0, 0, 0, 34, 16, 60, false, -EINVAL },
		{ 1, 1, 54, 1460, 34, 16, 20000, false, 0 },	/* TSO4 */
		{ 1, 4, 74, 1440, 54, 16, 20000, false, 0 },	/* TSO6 */
		{ 1, 1, 54, 1460, 34, 16, VU_GSO_MAX_FRAME, false, 0 },
		{ 1, 1, 54, 1460, 34, 16, VU_GSO_MAX_FRAME + 1, false,
		  -EINVAL },
		{ 1, 1, 54, 0, 34, 16, 20000, false, -EINVAL },	/* gso_size */
		{ 1, 1, 20001, 1460, 34, 16, 20000, false, -EINVAL },
		{ 1, 3, 42, 1472, 34, 6, 20000, false, -EINVAL },	/* UFO */
		{ 1, 5, 42, 1472, 34, 6, 20000, false, -EINVAL },	/* USO */
		{ 1, 0x81, 54, 1460, 34, 16, 20000, false, -EINVAL },	/* ECN */
		{ 1, 0, 0, 0, 34, 16, 60, true, 0 },
		{ 1, 1, 54, 1460, 34, 16, 20000, true, -EINVAL },	/* no TSO */
	};

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		why = NULL;
		h = net_hdr(cases[i].flags, cases[i].gso, cases[i].hdr_len,
			    cases[i].gso_size, cases[i].start, cases[i].offset);
		g_test_message("case %u", i);
		g_assert_cmpint(vu_net_hdr_in(&h, cases[i].len,
					      cases[i].csum_only ? csum : all,
					      &off, &why), ==, cases[i].ok);
		if (cases[i].ok) {
			g_assert_nonnull(why);
			continue;
		}
		g_assert_cmpuint(off.flags, ==, cases[i].flags);
		g_assert_cmpuint(off.gso_type, ==, cases[i].gso);
		if (cases[i].flags) {
			g_assert_cmpuint(off.csum_start, ==, cases[i].start);
			g_assert_cmpuint(off.csum_offset, ==, cases[i].offset);
		}
		if (cases[i].gso) {
			g_assert_cmpuint(off.gso_size, ==, cases[i].gso_size);
			g_assert_cmpuint(off.hdr_len, ==, cases[i].hdr_len);
		}
	}
	/* without the features, no offload at all */
	h = net_hdr(1, 0, 0, 0, 34, 16);
	g_assert_cmpint(vu_net_hdr_in(&h, 60, 0, &off, &why), ==, -EINVAL);
	h = net_hdr(0, 1, 54, 1460, 0, 0);
	g_assert_cmpint(vu_net_hdr_in(&h, 20000, 0, &off, &why), ==, -EINVAL);
}

/* Headers toward the guest, and what the acked features let the stack do */
static void test_net_hdr_out(void)
{
	struct usernat_offload off = {
		USERNAT_OFFLOAD_F_NEEDS_CSUM, USERNAT_GSO_TCPV6, 74, 1440, 54,
		16
	};
	struct virtio_net_hdr h, want = net_hdr(1, 4, 74, 1440, 54, 16);
	const uint64_t gcsum = 1ull << VIRTIO_NET_F_GUEST_CSUM;
	const uint64_t mrg = 1ull << VIRTIO_NET_F_MRG_RXBUF;

	vu_net_hdr_out(&off, &h);
	g_assert_cmpmem(&h, sizeof(h), &want, sizeof(want));
	off = (struct usernat_offload){ .flags = USERNAT_OFFLOAD_F_DATA_VALID };
	want = net_hdr(2, 0, 0, 0, 0, 0);
	vu_net_hdr_out(&off, &h);
	g_assert_cmpmem(&h, sizeof(h), &want, sizeof(want));

	g_assert_cmpuint(vu_link_caps(0), ==, 0);
	g_assert_cmpuint(vu_link_caps(VU_FEATURES), ==,
			 USERNAT_LINK_CSUM | USERNAT_LINK_TSO4 |
			 USERNAT_LINK_TSO6);
	g_assert_cmpuint(vu_link_caps(gcsum), ==, USERNAT_LINK_CSUM);
	g_assert_cmpuint(vu_link_caps(mrg | gcsum |
				      (1ull << VIRTIO_NET_F_GUEST_TSO4)),
			 ==, USERNAT_LINK_CSUM | USERNAT_LINK_TSO4);
	/* without mergeable RX buffers, no TSO */
	g_assert_cmpuint(vu_link_caps(gcsum | (1ull << VIRTIO_NET_F_GUEST_TSO4)),
			 ==, USERNAT_LINK_CSUM);
	/* TSO without GUEST_CSUM: nothing (the driver can't take it) */
	g_assert_cmpuint(vu_link_caps(1ull << VIRTIO_NET_F_GUEST_TSO4), ==, 0);
}

/* The ring keeps a frame's header (TX), and writes ours (RX), with a GSO
 * frame spread over several mergeable buffers */
static void test_hdr_ring(void)
{
	struct virtio_net_hdr h = net_hdr(1, 1, 54, 1460, 34, 16), got;
	static uint8_t frame[5000], gather[VU_GSO_MAX_FRAME];
	struct vq_frame fr;
	struct fake f;
	const char *why;
	unsigned int i;

	fake_init(&f, QSIZE);
	/* TX: header split over two descriptors, a 5000-byte frame */
	memcpy(f.buf + BUF_OFF, &h, 6);
	memcpy(f.buf + BUF_OFF + 0x100, (uint8_t *)&h + 6, 4);
	set_desc(&f, 0, GPA_BASE + BUF_OFF, 6, VQ_DESC_F_NEXT, 1);
	set_desc(&f, 1, GPA_BASE + BUF_OFF + 0x100, 6 + sizeof(frame), 0, 0);
	avail_add(&f, 0);
	g_assert_cmpint(vq_tx_frame(&f.q, &f.m, 12, gather, sizeof(gather),
				    &fr, &why), ==, 1);
	g_assert_nonnull(fr.data);
	g_assert_cmpuint(fr.len, ==, sizeof(frame));
	g_assert_cmpmem(&fr.hdr, sizeof(fr.hdr), &h, sizeof(h));
	fake_free(&f);

	/* RX: our header, num_buffers, the frame across 3 buffers */
	fake_init(&f, QSIZE);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 5);
	for (i = 0; i < 3; i++) {
		set_desc(&f, i, GPA_BASE + BUF_OFF + 0x2000 * i, 2048,
			 VQ_DESC_F_WRITE, 0);
		avail_add(&f, i);
	}
	g_assert_cmpint(vq_rx_frame(&f.q, &f.m, 12, true, &h, frame,
				    sizeof(frame), &why), ==, 1);
	memcpy(&got, f.buf + BUF_OFF, sizeof(got));
	g_assert_cmpmem(&got, sizeof(got), &h, sizeof(h));
	g_assert_cmpuint(get16(&f, BUF_OFF + 10), ==, 3);
	g_assert_cmpmem(f.buf + BUF_OFF + 12, 2036, frame, 2036);
	g_assert_cmpmem(f.buf + BUF_OFF + 0x4000, 5000 - 4084, frame + 4084,
			5000 - 4084);
	fake_free(&f);
}

/* --- a whole session, a fake QEMU on the socket ------------------------ */

static GString *log_warnings;

static void log_capture(const gchar *domain, GLogLevelFlags level,
			const gchar *msg, gpointer data)
{
	if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL))
		g_string_append_printf(log_warnings, "%s\n", msg);
	if (g_test_verbose())
		g_printerr("# %s\n", msg);
}

struct session {
	char *dir, *path;
	struct loop loop;
	struct transport *t;
	GPtrArray *got;		/* frames given to the stack */
	GArray *got_off;	/* their offload information, if any */
	GArray *caps;		/* each set_offload() */
	int sock;
	int memfd;
	uint8_t *mem;		/* our view of "guest memory" */
	int kick[2], call[2];
};

static void to_stack(void *opaque, const void *frame, size_t len)
{
	struct session *s = opaque;

	g_ptr_array_add(s->got, g_bytes_new(frame, len));
}

static void to_stack_off(void *opaque, const void *frame, size_t len,
			 const struct usernat_offload *off)
{
	struct session *s = opaque;

	g_array_append_val(s->got_off, *off);
	to_stack(opaque, frame, len);
}

static void set_offload(void *opaque, unsigned int caps)
{
	struct session *s = opaque;

	g_array_append_val(s->caps, caps);
}

static void pump(struct session *s, int ms)
{
	int64_t end = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < end)
		loop_run_once(&s->loop, 10);
}

static int fe_connect(struct session *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(a.sun_path, s->path, sizeof(a.sun_path));
	g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pump(s, 20);
	return fd;
}

static void fe_send(struct session *s, uint32_t req, uint32_t flags,
		    const void *p, uint32_t size, const int *fds, int nfds)
{
	struct vu_hdr h = { req, VHOST_USER_VERSION | flags, size };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, size } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 9)];
		struct cmsghdr align;
	} c;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	struct cmsghdr *cm;

	memset(&c, 0, sizeof(c));
	if (nfds) {
		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	g_assert_cmpint(sendmsg(s->sock, &mh, MSG_NOSIGNAL), ==,
			(ssize_t)(sizeof(h) + size));
	pump(s, 20);
}

static void fe_u64(struct session *s, uint32_t req, uint64_t v, int fd)
{
	fe_send(s, req, 0, &v, 8, &fd, fd >= 0);
}

static void fe_state(struct session *s, uint32_t req, uint32_t i,
		     uint32_t num)
{
	struct vu_state st = { i, num };

	fe_send(s, req, 0, &st, sizeof(st), NULL, 0);
}

/* Read a reply; Return: its u64 (or state.num) payload */
static uint64_t fe_reply(struct session *s, uint32_t req)
{
	uint8_t buf[VHOST_USER_HDR_SIZE + 8];
	struct vu_hdr h;
	uint64_t v;

	g_assert_cmpint(recv(s->sock, buf, sizeof(buf), 0), ==, sizeof(buf));
	memcpy(&h, buf, sizeof(h));
	memcpy(&v, buf + VHOST_USER_HDR_SIZE, sizeof(v));
	g_assert_cmpuint(h.request, ==, req);
	g_assert_cmpuint(h.flags, ==, VHOST_USER_VERSION | VHOST_USER_REPLY);
	g_assert_cmpuint(h.size, ==, 8);
	return req == VHOST_USER_GET_VRING_BASE ? v >> 32 : v;
}

/* Expect the transport to have closed the connection */
static void fe_expect_closed(struct session *s)
{
	char c;

	pump(s, 30);
	g_assert_cmpint(recv(s->sock, &c, 1, 0), ==, 0);
	close(s->sock);
	s->sock = -1;
}

#define S_MEM		(256 * 1024)
#define S_GPA		0x40000000ull
/* queue q: descriptors here, available ring +0x1000, used ring +0x2000 */
#define S_RING(q)	(0x1000 + 0x4000 * (q))
#define S_BUF		0x20000

static void session_start(struct session *s)
{
	char *err = NULL;

	memset(s, 0, sizeof(*s));
	log_warnings = g_string_new(NULL);
	g_log_set_default_handler(log_capture, NULL);
	/* a closed connection is a warning, not a test failure */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	s->dir = g_dir_make_tmp("test-vhost-user.XXXXXX", NULL);
	s->path = g_build_filename(s->dir, "vu.sock", NULL);
	g_assert_cmpint(loop_init(&s->loop), ==, 0);
	s->t = vhost_user_transport_open(&s->loop, s->path, 1518, &err);
	g_assert_nonnull(s->t);
	s->t->to_stack = to_stack;
	s->t->to_stack_opaque = s;
	s->got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	s->got_off = g_array_new(FALSE, TRUE, sizeof(struct usernat_offload));
	s->caps = g_array_new(FALSE, TRUE, sizeof(unsigned int));
	s->memfd = memfd_create("guest", MFD_CLOEXEC);
	g_assert_cmpint(ftruncate(s->memfd, S_MEM), ==, 0);
	s->mem = mmap(NULL, S_MEM, PROT_READ | PROT_WRITE, MAP_SHARED,
		      s->memfd, 0);
	g_assert_true(s->mem != MAP_FAILED);
	s->kick[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->kick[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->call[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->call[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->sock = fe_connect(s);
}

static void session_end(struct session *s)
{
	int i;

	if (s->sock >= 0)
		close(s->sock);
	s->t->free(s->t);
	loop_fini(&s->loop);
	g_assert_false(g_file_test(s->path, G_FILE_TEST_EXISTS));
	g_rmdir(s->dir);
	for (i = 0; i < 2; i++) {
		close(s->kick[i]);
		close(s->call[i]);
	}
	munmap(s->mem, S_MEM);
	close(s->memfd);
	g_ptr_array_unref(s->got);
	g_array_unref(s->got_off);
	g_array_unref(s->caps);
	g_free(s->path);
	g_free(s->dir);
	g_string_free(log_warnings, TRUE);
	g_log_set_default_handler(g_log_default_handler, NULL);
}

/* SET_MEM_TABLE of the one memfd, with REPLY_ACK */
static void fe_mem_table(struct session *s)
{
	uint64_t uva = (uint64_t)(uintptr_t)s->mem;
	struct vu_mem_table t = { 1, 0, { { S_GPA, S_MEM, uva, 0 } } };

	fe_send(s, VHOST_USER_SET_MEM_TABLE, VHOST_USER_NEED_REPLY, &t,
		VU_MEM_TABLE_HDR + 32, &s->memfd, 1);
	g_assert_cmpuint(fe_reply(s, VHOST_USER_SET_MEM_TABLE), ==, 0);
}

/* The handshake QEMU does: features, memory, both rings */
static void session_handshake(struct session *s)
{
	uint64_t uva = (uint64_t)(uintptr_t)s->mem;
	struct vu_addr a;
	uint64_t f;
	int q;

	fe_send(s, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0);
	f = fe_reply(s, VHOST_USER_GET_FEATURES);
	g_assert_cmpuint(f, ==, VU_FEATURES);
	fe_send(s, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0);
	g_assert_cmpuint(fe_reply(s, VHOST_USER_GET_PROTOCOL_FEATURES), ==,
			 VU_PROTOCOL_FEATURES);
	fe_u64(s, VHOST_USER_SET_PROTOCOL_FEATURES, VU_PROTOCOL_FEATURES, -1);
	fe_send(s, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
	fe_u64(s, VHOST_USER_SET_FEATURES, f, -1);
	fe_mem_table(s);
	for (q = 0; q < 2; q++) {
		fe_state(s, VHOST_USER_SET_VRING_NUM, q, 16);
		fe_state(s, VHOST_USER_SET_VRING_BASE, q, 0);
		a = (struct vu_addr){ q, 0, uva + S_RING(q),
				      uva + S_RING(q) + 0x2000,
				      uva + S_RING(q) + 0x1000, 0 };
		fe_send(s, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), NULL,
			0);
		fe_u64(s, VHOST_USER_SET_VRING_KICK, q, s->kick[q]);
		fe_u64(s, VHOST_USER_SET_VRING_CALL, q, s->call[q]);
		fe_state(s, VHOST_USER_SET_VRING_ENABLE, q, 1);
	}
	g_assert_cmpstr(log_warnings->str, ==, "");
}

static void s_put16(struct session *s, size_t off, uint16_t v)
{
	memcpy(s->mem + off, &v, 2);
}

static uint16_t s_get16(struct session *s, size_t off)
{
	uint16_t v;

	memcpy(&v, s->mem + off, 2);
	return v;
}

static void s_desc(struct session *s, int q, unsigned int i, uint64_t off,
		   uint32_t len, uint16_t flags)
{
	struct vq_desc d = { S_GPA + off, len, flags, 0 };

	memcpy(s->mem + S_RING(q) + 16 * i, &d, sizeof(d));
}

static bool eventfd_fired(int fd)
{
	eventfd_t v;

	return eventfd_read(fd, &v) == 0;
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Descriptors open in this process */
static unsigned int count_fds(void)
{
	GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
	unsigned int n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	return n;
}

static void test_session(void)
{
	unsigned int fds = count_fds();
	struct session s;
	char *maps;
	uint8_t frame[60];
	GBytes *b;
	unsigned int i;

	session_start(&s);
	session_handshake(&s);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i + 1);

	/* TX: the guest sends a frame; it reaches the stack, the chain comes
	 * back in the used ring and the guest is interrupted */
	memset(s.mem + S_BUF, 0, 12);
	memcpy(s.mem + S_BUF + 12, frame, sizeof(frame));
	s_desc(&s, VU_TXQ, 0, S_BUF, 12 + sizeof(frame), 0);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 4, 0);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 2, 1);
	eventfd_write(s.kick[VU_TXQ], 1);
	pump(&s, 30);
	g_assert_cmpuint(s.got->len, ==, 1);
	b = g_ptr_array_index(s.got, 0);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), frame,
			sizeof(frame));
	g_assert_cmpuint(s_get16(&s, S_RING(VU_TXQ) + 0x2000 + 2), ==, 1);
	g_assert_true(eventfd_fired(s.call[VU_TXQ]));

	/* RX with no buffer posted: dropped and counted */
	s.t->send(s.t, frame, sizeof(frame));
	g_assert_cmpuint(s.t->tx_drops, ==, 1);

	/* RX: one buffer posted, the frame lands in it behind the header */
	s_desc(&s, VU_RXQ, 0, S_BUF + 0x1000, 2048, VQ_DESC_F_WRITE);
	s_put16(&s, S_RING(VU_RXQ) + 0x1000 + 4, 0);
	s_put16(&s, S_RING(VU_RXQ) + 0x1000 + 2, 1);
	s.t->send(s.t, frame, sizeof(frame));
	pump(&s, 30);		/* published on the next loop iteration */
	g_assert_cmpuint(s_get16(&s, S_RING(VU_RXQ) + 0x2000 + 2), ==, 1);
	g_assert_cmpuint(s_get16(&s, S_BUF + 0x1000 + 10), ==, 1);
	g_assert_cmpmem(s.mem + S_BUF + 0x1000 + 12, sizeof(frame), frame,
			sizeof(frame));
	g_assert_true(eventfd_fired(s.call[VU_RXQ]));

	/* a new memory table while the rings run (memory hot-plug): the
	 * rings are found in it again and TX goes on */
	fe_mem_table(&s);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 6, 0);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 2, 2);
	eventfd_write(s.kick[VU_TXQ], 1);
	pump(&s, 30);
	g_assert_cmpuint(s.got->len, ==, 2);
	g_assert_cmpuint(s_get16(&s, S_RING(VU_TXQ) + 0x2000 + 2), ==, 2);

	/* GET_VRING_BASE stops the ring and says where it is */
	fe_state(&s, VHOST_USER_GET_VRING_BASE, VU_TXQ, 0);
	g_assert_cmpuint(fe_reply(&s, VHOST_USER_GET_VRING_BASE), ==, 2);

	/* a hostile message closes the connection, with one log line */
	fe_state(&s, VHOST_USER_SET_VRING_NUM, VU_RXQ, 1000);
	fe_expect_closed(&s);
	g_assert_nonnull(strstr(log_warnings->str, "bad ring size"));
	g_assert_cmpuint(count_lines(log_warnings->str), ==, 1);

	/* and the next QEMU is served from scratch */
	s.sock = fe_connect(&s);
	g_string_truncate(log_warnings, 0);
	session_handshake(&s);
	session_end(&s);
	/* nothing left open or mapped: eventfds, sockets, guest memory */
	g_assert_cmpuint(count_fds(), ==, fds);
	g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL,
					  NULL));
	g_assert_null(strstr(maps, "memfd:guest"));
	g_free(maps);
}

/* Offloads over a whole session: the acked features reach the daemon as
 * link capabilities (and none once QEMU is gone); a GSO frame longer than
 * the MTU is taken with its information, one with a bad header is not (its
 * chain still comes back); an offloaded frame toward the guest carries its
 * header */
static void test_session_offload(void)
{
	struct virtio_net_hdr h = net_hdr(1, 1, 54, 1460, 34, 16), got;
	static uint8_t frame[3000];
	struct usernat_offload o;
	struct session s;
	unsigned int i;

	session_start(&s);
	s.t->to_stack_off = to_stack_off;
	s.t->set_offload = set_offload;
	session_handshake(&s);
	g_assert_cmpuint(s.caps->len, >=, 1);
	g_assert_cmpuint(g_array_index(s.caps, unsigned int,
				       s.caps->len - 1), ==,
			 USERNAT_LINK_CSUM | USERNAT_LINK_TSO4 |
			 USERNAT_LINK_TSO6);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i + 3);

	/* TX: a 3000-byte GSO frame (MTU 1500), then a bad header (UFO) */
	memcpy(s.mem + S_BUF, &h, sizeof(h));
	memset(s.mem + S_BUF + 10, 0, 2);
	memcpy(s.mem + S_BUF + 12, frame, sizeof(frame));
	s_desc(&s, VU_TXQ, 0, S_BUF, 12 + sizeof(frame), 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	memcpy(s.mem + S_BUF + 0x2000, &h, sizeof(h));
	memcpy(s.mem + S_BUF + 0x2000 + 12, frame, sizeof(frame));
	s_desc(&s, VU_TXQ, 1, S_BUF + 0x2000, 12 + sizeof(frame), 0);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 4, 0);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 6, 1);
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 2, 2);
	eventfd_write(s.kick[VU_TXQ], 1);
	pump(&s, 30);
	g_assert_cmpuint(s.got->len, ==, 1);
	g_assert_cmpuint(s.got_off->len, ==, 1);
	o = g_array_index(s.got_off, struct usernat_offload, 0);
	g_assert_cmpuint(o.flags, ==, USERNAT_OFFLOAD_F_NEEDS_CSUM);
	g_assert_cmpuint(o.gso_type, ==, USERNAT_GSO_TCPV4);
	g_assert_cmpuint(o.gso_size, ==, 1460);
	g_assert_cmpuint(o.csum_start, ==, 34);
	g_assert_cmpuint(o.csum_offset, ==, 16);
	g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(s.got, 0)), ==,
			 sizeof(frame));
	g_assert_cmpuint(s_get16(&s, S_RING(VU_TXQ) + 0x2000 + 2), ==, 2);

	/* RX: a TSO frame over mergeable buffers, its header in the first */
	for (i = 0; i < 2; i++) {
		s_desc(&s, VU_RXQ, i, S_BUF + 0x4000 + 0x1000 * i, 2048,
		       VQ_DESC_F_WRITE);
		s_put16(&s, S_RING(VU_RXQ) + 0x1000 + 4 + 2 * i,
			(uint16_t)i);
	}
	s_put16(&s, S_RING(VU_RXQ) + 0x1000 + 2, 2);
	o = (struct usernat_offload){ USERNAT_OFFLOAD_F_NEEDS_CSUM,
				      USERNAT_GSO_TCPV4, 54, 1460, 34, 16 };
	s.t->send_off(s.t, frame, sizeof(frame), &o);
	pump(&s, 30);
	g_assert_cmpuint(s_get16(&s, S_RING(VU_RXQ) + 0x2000 + 2), ==, 2);
	memcpy(&got, s.mem + S_BUF + 0x4000, sizeof(got));
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	g_assert_cmpmem(&got, sizeof(got), &h, sizeof(h));
	g_assert_cmpuint(s_get16(&s, S_BUF + 0x4000 + 10), ==, 2);
	g_assert_cmpmem(s.mem + S_BUF + 0x4000 + 12, 2036, frame, 2036);
	g_assert_cmpuint(s.t->tx_drops, ==, 0);

	/* QEMU goes: no offloads any more */
	close(s.sock);
	s.sock = -1;
	pump(&s, 30);
	g_assert_cmpuint(g_array_index(s.caps, unsigned int,
				       s.caps->len - 1), ==, 0);
	session_end(&s);
}

/* A broken ring found while draining TX closes the connection */
static void test_session_broken_ring(void)
{
	struct session s;

	session_start(&s);
	session_handshake(&s);
	s_desc(&s, VU_TXQ, 0, S_MEM + 4096, 64, 0);	/* outside */
	s_put16(&s, S_RING(VU_TXQ) + 0x1000 + 2, 1);
	eventfd_write(s.kick[VU_TXQ], 1);
	fe_expect_closed(&s);
	g_assert_nonnull(strstr(log_warnings->str, "transmit queue: "
						   "descriptor outside"));
	g_assert_cmpuint(s.got->len, ==, 0);
	session_end(&s);
}

/* Messages that must close the connection before touching anything */
static void test_session_hostile_messages(void)
{
	unsigned int nfd = count_fds();
	struct session s;
	uint64_t uva;
	struct vu_mem_table t;
	struct vu_hdr h = { VHOST_USER_GET_FEATURES, 1, 100000 };
	int fds[9];
	int i;


	session_start(&s);
	uva = (uint64_t)(uintptr_t)s.mem;
	/* a region longer than its file (would SIGBUS) */
	t = (struct vu_mem_table){ 1, 0, { { 0, S_MEM * 2, uva, 0 } } };
	fe_send(&s, VHOST_USER_SET_MEM_TABLE, 0, &t, VU_MEM_TABLE_HDR + 32,
		&s.memfd, 1);
	fe_expect_closed(&s);
	g_assert_nonnull(strstr(log_warnings->str, "end of its file"));

	/* an oversized payload */
	s.sock = fe_connect(&s);
	g_assert_cmpint(send(s.sock, &h, sizeof(h), 0), ==, sizeof(h));
	fe_expect_closed(&s);

	/* more descriptors than any message carries */
	s.sock = fe_connect(&s);
	for (i = 0; i < 9; i++)
		fds[i] = s.memfd;
	fe_send(&s, VHOST_USER_SET_OWNER, 0, NULL, 0, fds, 9);
	fe_expect_closed(&s);
	g_assert_nonnull(strstr(log_warnings->str, "too many file"));

	/* eight regions are fine; a ring started outside them is not */
	s.sock = fe_connect(&s);
	t = (struct vu_mem_table){ .nregions = 8 };
	for (i = 0; i < 8; i++)
		t.r[i] = (struct vu_region){ 0x10000 * i, 0x1000,
					     uva + 0x10000 * i, 0 };
	fe_send(&s, VHOST_USER_SET_MEM_TABLE, VHOST_USER_NEED_REPLY, &t,
		VU_MEM_TABLE_HDR + 8 * 32, fds, 8);
	g_assert_cmpuint(fe_reply(&s, VHOST_USER_SET_MEM_TABLE), ==, 0);
	fe_state(&s, VHOST_USER_SET_VRING_NUM, 0, 256);
	fe_u64(&s, VHOST_USER_SET_VRING_KICK, 0, s.kick[0]);
	fe_expect_closed(&s);
	g_assert_nonnull(strstr(log_warnings->str, "ring outside guest "
						   "memory"));

	/* a kick before any memory table */
	s.sock = fe_connect(&s);
	fe_state(&s, VHOST_USER_SET_VRING_NUM, 0, 256);
	fe_u64(&s, VHOST_USER_SET_VRING_KICK, 0, s.kick[0]);
	fe_expect_closed(&s);

	/* a second QEMU while one is connected is refused */
	s.sock = fe_connect(&s);
	{
		struct session s2 = s;

		s2.sock = fe_connect(&s);
		fe_expect_closed(&s2);
		g_assert_nonnull(strstr(log_warnings->str, "refusing"));
	}
	session_end(&s);
	g_assert_cmpuint(count_fds(), ==, nfd);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vhost-user/hdr", test_hdr);
	g_test_add_func("/vhost-user/msg/sizes", test_msg_sizes);
	g_test_add_func("/vhost-user/msg/fds", test_msg_fds);
	g_test_add_func("/vhost-user/msg/values", test_msg_values);
	g_test_add_func("/vhost-user/msg/unsupported", test_msg_unsupported);
	g_test_add_func("/vhost-user/mem-table", test_mem_table);
	g_test_add_func("/virtq/translate", test_translate);
	g_test_add_func("/virtq/map", test_map);
	g_test_add_func("/virtq/pop/ok", test_pop_ok);
	g_test_add_func("/virtq/pop/full-length", test_pop_full_length);
	g_test_add_func("/virtq/pop/hostile", test_pop_hostile);
	g_test_add_func("/virtq/pop/avail-idx", test_avail_idx);
	g_test_add_func("/virtq/indirect/ok", test_indirect_ok);
	g_test_add_func("/virtq/indirect/hostile", test_indirect_hostile);
	g_test_add_func("/virtq/cross-region", test_cross_region);
	g_test_add_func("/virtq/many-segments", test_many_segments);
	g_test_add_func("/virtq/tx", test_tx);
	g_test_add_func("/virtq/rx/mergeable", test_rx_mergeable);
	g_test_add_func("/virtq/rx/no-room", test_rx_no_room);
	g_test_add_func("/virtq/notify", test_notify);
	g_test_add_func("/virtq/kick-rearm", test_kick_rearm);
	g_test_add_func("/virtio-net/hdr-in", test_net_hdr_in);
	g_test_add_func("/virtio-net/hdr-out", test_net_hdr_out);
	g_test_add_func("/virtio-net/hdr-ring", test_hdr_ring);
	g_test_add_func("/vhost-user/session", test_session);
	g_test_add_func("/vhost-user/session/offload", test_session_offload);
	g_test_add_func("/vhost-user/session/broken-ring",
			test_session_broken_ring);
	g_test_add_func("/vhost-user/session/hostile-messages",
			test_session_hostile_messages);
	return g_test_run();
}
