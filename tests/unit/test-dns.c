/* test-dns.c - DNS forwarder: relay with the guest's ID, SERVFAIL on refusal
 * and silence, fail-over, malformed queries and replies, truncation,
 * resolv.conf reading and reloading */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "frames.h"
#include "stack.h"

#define GPORT	34567	/* the guest resolver's source port */

static void pump(struct usernat *un, struct capture *cap, guint n, int ms)
{
	int64_t end = g_get_monotonic_time() + (int64_t)ms * 1000;
	struct pollfd p = { .fd = usernat_fd(un), .events = POLLIN };

	while (cap->frames->len < n && g_get_monotonic_time() < end) {
		if (poll(&p, 1, 20) > 0)
			usernat_service(un);
	}
}

/* A UDP socket on 127.0.0.1 playing the upstream; its "ADDR:PORT" */
static int fake_server(char addr[32])
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(addr, 32, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

static struct usernat *dns_instance(struct capture *cap, const char *up1,
				    const char *up2, const char *mtu)
{
	const char *opts[9] = { "dns-upstream", up1 };
	int n = 2;

	if (up2) {
		opts[n++] = "dns-upstream";
		opts[n++] = up2;
	}
	if (mtu) {
		opts[n++] = "mtu";
		opts[n++] = mtu;
	}
	return test_instance(cap, opts);
}

/* A query for NAME, type A, class IN, with @id and RD; returns its length */
static size_t make_query(uint8_t *q, uint16_t id, const char *name)
{
	size_t n = 12;
	char **labels = g_strsplit(name, ".", -1), **l;

	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01;		/* RD */
	q[5] = 1;		/* QDCOUNT */
	for (l = labels; *l; l++) {
		q[n++] = (uint8_t)strlen(*l);
		memcpy(q + n, *l, strlen(*l));
		n += strlen(*l);
	}
	g_strfreev(labels);
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 1;		/* A */
	q[n++] = 0;
	q[n++] = 1;		/* IN */
	return n;
}

static void guest_query(struct usernat *un, const void *q, size_t len)
{
	uint8_t l4[2048], frame[2100];
	uint16_t sport = htons(GPORT), dport = htons(53);
	size_t n;

	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	memcpy(l4 + 8, q, len);
	n = build_ip4(frame, gw_mac, guest_mac, "10.0.2.15", "10.0.2.3", 17,
		      l4, 8 + len, 1);
	usernat_input(un, frame, n);
}

/* Upstream side: receive a query; returns its length */
static ssize_t server_recv(int fd, uint8_t *buf, size_t size,
			   struct sockaddr_in *from)
{
	socklen_t fl = sizeof(*from);

	return recvfrom(fd, buf, size, 0, (struct sockaddr *)from, &fl);
}

/* Answer query @q (@len bytes) with one A record, 192.0.2.1 (only data,
 * never contacted) */
static size_t make_answer(uint8_t *r, const uint8_t *q, size_t len)
{
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60,
				      0, 4, 192, 0, 2, 1 };

	memcpy(r, q, len);
	r[2] |= 0x80;		/* QR */
	r[3] = 0x80;		/* RA, NOERROR */
	r[7] = 1;		/* ANCOUNT */
	memcpy(r + len, rr, sizeof(rr));
	return len + sizeof(rr);
}

/* The DNS payload of a frame to the guest, checked: from 10.0.2.3:53 */
static const uint8_t *dns_payload(GByteArray *f, size_t *len)
{
	const uint8_t *u = f->data + 34;
	uint16_t ulen = ntohs(*(const uint16_t *)(u + 4));
	uint32_t a;

	g_assert_cmpmem(f->data, 6, guest_mac, 6);
	g_assert_cmpint(f->data[23], ==, 17);
	memcpy(&a, f->data + 26, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.3"));
	memcpy(&a, f->data + 30, 4);
	g_assert_cmphex(a, ==, ip("10.0.2.15"));
	g_assert_cmpuint(ntohs(*(const uint16_t *)u), ==, 53);
	g_assert_cmpuint(ntohs(*(const uint16_t *)(u + 2)), ==, GPORT);
	g_assert_cmphex(csum(u, ulen, csum_pseudo4(ip("10.0.2.3"),
						   ip("10.0.2.15"), 17, ulen)),
			==, 0);
	*len = ulen - 8u;
	return u + 8;
}

/* Query, upstream answer, reply to the guest with its own ID */
static void test_forward(void)
{
	struct capture cap;
	char addr[32];
	int srv = fake_server(addr);
	struct usernat *un = dns_instance(&cap, addr, NULL, NULL);
	uint8_t q[512], up[2048], r[2048];
	struct sockaddr_in from;
	const uint8_t *p;
	size_t qlen = make_query(q, 0xbeef, "www.example.test"), rlen, len;
	ssize_t n;

	guest_query(un, q, qlen);
	n = server_recv(srv, up, sizeof(up), &from);
	g_assert_cmpint(n, ==, (ssize_t)qlen);
	/* unmodified but for the ID */
	g_assert_cmpmem(up + 2, qlen - 2, q + 2, qlen - 2);
	rlen = make_answer(r, up, qlen);
	sendto(srv, r, rlen, 0, (struct sockaddr *)&from, sizeof(from));
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	p = dns_payload(capture_nth(&cap, 0), &len);
	g_assert_cmpuint(len, ==, rlen);
	g_assert_cmpint(p[0], ==, 0xbe);
	g_assert_cmpint(p[1], ==, 0xef);
	g_assert_cmpmem(p + 2, len - 2, r + 2, rlen - 2);

	/* a second identical query gets a fresh upstream ID */
	guest_query(un, q, qlen);
	n = server_recv(srv, r, sizeof(r), &from);
	g_assert_cmpint(n, ==, (ssize_t)qlen);
	g_assert_cmpuint(usernat_stat(un, "dns_queries"), ==, 2);
	g_assert_cmpuint(usernat_stat(un, "dns_replies"), ==, 1);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Check a SERVFAIL for @q: guest's ID, QR, RCODE 2, question, no records */
static void check_servfail(GByteArray *f, const uint8_t *q, size_t qlen)
{
	const uint8_t *p;
	size_t len;

	p = dns_payload(f, &len);
	g_assert_cmpuint(len, ==, qlen);
	g_assert_cmpmem(p, 2, q, 2);
	g_assert_cmphex(p[2] & 0x80, ==, 0x80);		/* QR */
	g_assert_cmphex(p[2] & 0x01, ==, q[2] & 0x01);	/* RD kept */
	g_assert_cmpint(p[3] & 0x0f, ==, 2);		/* SERVFAIL */
	g_assert_cmpmem(p + 4, 2, q + 4, 2);		/* QDCOUNT */
	g_assert_cmpint(p[6] | p[7] | p[8] | p[9] | p[10] | p[11], ==, 0);
	g_assert_cmpmem(p + 12, len - 12, q + 12, qlen - 12);
}

/* An upstream that refuses (closed port): SERVFAIL at once */
static void test_refused(void)
{
	struct capture cap;
	char addr[32];
	int srv = fake_server(addr);
	struct usernat *un;
	uint8_t q[512];
	size_t qlen = make_query(q, 0x1234, "refused.example.test");
	int64_t t0;

	close(srv);
	un = dns_instance(&cap, addr, NULL, NULL);
	t0 = g_get_monotonic_time();
	guest_query(un, q, qlen);
	pump(un, &cap, 1, 3000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 500000);
	check_servfail(capture_nth(&cap, 0), q, qlen);
	g_assert_cmpuint(usernat_stat(un, "dns_servfail"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "dns_upstream_errors"), >=, 1);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* A silent upstream: SERVFAIL after about two seconds */
static void test_silent(void)
{
	struct capture cap;
	char addr[32];
	int srv = fake_server(addr);
	struct usernat *un = dns_instance(&cap, addr, NULL, NULL);
	uint8_t q[512];
	size_t qlen = make_query(q, 0x4321, "silent.example.test");
	int64_t t;

	t = g_get_monotonic_time();
	guest_query(un, q, qlen);
	pump(un, &cap, 1, 5000);
	t = g_get_monotonic_time() - t;
	g_assert_cmpuint(cap.frames->len, ==, 1);
	g_assert_cmpint(t, >=, 1900000);
	g_assert_cmpint(t, <, 3500000);
	check_servfail(capture_nth(&cap, 0), q, qlen);
	g_assert_cmpuint(usernat_stat(un, "dns_timeouts"), ==, 1);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* First upstream refuses, second answers: the answer reaches the guest;
 * later queries go to the second one first */
static void test_failover(void)
{
	struct capture cap;
	char dead[32], addr[32];
	int d = fake_server(dead), srv = fake_server(addr);
	struct usernat *un;
	uint8_t q[512], up[2048], r[2048];
	struct sockaddr_in from;
	size_t qlen = make_query(q, 0x0101, "two.example.test"), rlen, len;
	const uint8_t *p;
	ssize_t n;
	int i;

	close(d);
	un = dns_instance(&cap, dead, addr, NULL);
	for (i = 0; i < 2; i++) {
		capture_clear(&cap);
		guest_query(un, q, qlen);
		pump(un, &cap, 1, 300);		/* the refusal comes back */
		n = server_recv(srv, up, sizeof(up), &from);
		g_assert_cmpint(n, ==, (ssize_t)qlen);
		rlen = make_answer(r, up, qlen);
		sendto(srv, r, rlen, 0, (struct sockaddr *)&from,
		       sizeof(from));
		pump(un, &cap, 1, 2000);
		g_assert_cmpuint(cap.frames->len, ==, 1);
		p = dns_payload(capture_nth(&cap, 0), &len);
		g_assert_cmpuint(len, ==, rlen);
		g_assert_cmpmem(p, 2, q, 2);
	}
	g_assert_cmpuint(usernat_stat(un, "dns_retries"), ==, 1);
	g_assert_cmpuint(usernat_stat(un, "dns_replies"), ==, 2);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Malformed queries are dropped and counted; nothing goes upstream */
static void test_malformed(void)
{
	struct capture cap;
	char addr[32];
	int srv = fake_server(addr);
	struct usernat *un = dns_instance(&cap, addr, NULL, NULL);
	uint8_t q[512], b[512];
	size_t qlen = make_query(q, 0x7777, "ok.example.test"), i;
	struct timeval tv = { .tv_usec = 100000 };
	uint64_t drops = 0;

	/* every truncation of a good query */
	for (i = 0; i < qlen; i++)
		guest_query(un, q, i);
	drops += qlen;
	/* a response (QR set) */
	memcpy(b, q, qlen);
	b[2] |= 0x80;
	guest_query(un, b, qlen);
	drops++;
	/* a label running past the end */
	memcpy(b, q, qlen);
	b[12] = 60;
	guest_query(un, b, qlen);
	drops++;
	/* reserved label type (01xxxxxx) */
	memcpy(b, q, qlen);
	b[12] = 0x41;
	guest_query(un, b, qlen);
	drops++;
	/* more questions than there are */
	memcpy(b, q, qlen);
	b[5] = 2;
	guest_query(un, b, qlen);
	drops++;
	/* garbage */
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 37 + 11);
	b[2] = 0;
	b[4] = 0xff;
	guest_query(un, b, 300);
	drops++;
	/* a name longer than 255 bytes */
	memset(b, 0, sizeof(b));
	b[5] = 1;
	for (i = 12; i < 12 + 5 * 64; i += 64)
		b[i] = 63;
	guest_query(un, b, 12 + 5 * 64 + 5);
	drops++;
	g_assert_cmpuint(usernat_stat(un, "drop_dns_malformed"), ==, drops);
	g_assert_cmpuint(usernat_stat(un, "dns_queries"), ==, 0);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	g_assert_cmpint(recv(srv, b, sizeof(b), 0), <, 0);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Replies with an unknown ID, no QR, a wrong question or too short are
 * dropped; the right one still gets through */
static void test_bad_replies(void)
{
	struct capture cap;
	char addr[32];
	int srv = fake_server(addr);
	struct usernat *un = dns_instance(&cap, addr, NULL, NULL);
	uint8_t q[512], up[2048], r[2048], b[2048];
	struct sockaddr_in from;
	size_t qlen = make_query(q, 0x2222, "bad.example.test"), rlen, len;
	const uint8_t *p;

	guest_query(un, q, qlen);
	g_assert_cmpint(server_recv(srv, up, sizeof(up), &from), ==,
			(ssize_t)qlen);
	rlen = make_answer(r, up, qlen);
#define SEND_BAD(stmt, l)						\
	do {								\
		memcpy(b, r, rlen);					\
		stmt;							\
		sendto(srv, b, l, 0, (struct sockaddr *)&from,		\
		       sizeof(from));					\
	} while (0)
	SEND_BAD(b[0] ^= 0x55, rlen);		/* unknown ID */
	SEND_BAD(b[2] &= 0x7f, rlen);		/* not a response */
	SEND_BAD(b[14] ^= 0x20, rlen);		/* another question */
	SEND_BAD((void)0, 11);			/* shorter than a header */
	SEND_BAD((void)0, 0);			/* empty */
	pump(un, &cap, 1, 500);
	g_assert_cmpuint(cap.frames->len, ==, 0);
	g_assert_cmpuint(usernat_stat(un, "drop_dns_reply"), ==, 5);
	sendto(srv, r, rlen, 0, (struct sockaddr *)&from, sizeof(from));
	sendto(srv, r, rlen, 0, (struct sockaddr *)&from, sizeof(from));
	pump(un, &cap, 1, 2000);
	pump(un, &cap, 2, 300);
	g_assert_cmpuint(cap.frames->len, ==, 1);	/* one answer only */
	p = dns_payload(capture_nth(&cap, 0), &len);
	g_assert_cmpmem(p, 2, q, 2);
	g_assert_cmpuint(usernat_stat(un, "drop_dns_reply"), ==, 6);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* A reply bigger than the guest MTU allows: header and question, TC set */
static void test_truncated(void)
{
	struct capture cap;
	char addr[32];
	int srv = fake_server(addr);
	struct usernat *un = dns_instance(&cap, addr, NULL, "576");
	uint8_t q[512], up[2048], r[2048];
	struct sockaddr_in from;
	size_t qlen = make_query(q, 0x3333, "big.example.test"), rlen, len;
	const uint8_t *p;

	guest_query(un, q, qlen);
	g_assert_cmpint(server_recv(srv, up, sizeof(up), &from), ==,
			(ssize_t)qlen);
	rlen = make_answer(r, up, qlen);
	memset(r + rlen, 0, 700);	/* stands for more records */
	rlen += 700;
	sendto(srv, r, rlen, 0, (struct sockaddr *)&from, sizeof(from));
	pump(un, &cap, 1, 2000);
	g_assert_cmpuint(cap.frames->len, ==, 1);
	p = dns_payload(capture_nth(&cap, 0), &len);
	g_assert_cmpuint(len, ==, qlen);
	g_assert_cmpmem(p, 2, q, 2);
	g_assert_cmphex(p[2] & 0x82, ==, 0x82);		/* QR, TC */
	g_assert_cmpint(p[3] & 0x0f, ==, 0);
	g_assert_cmpint(p[7] | p[9] | p[11], ==, 0);
	g_assert_cmpuint(usernat_stat(un, "dns_truncated"), ==, 1);
	close(srv);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

/* Upstreams come from resolv.conf, which is re-read when it changes; with
 * no nameserver, 127.0.0.1.  Only addresses are looked at: nothing is sent */
static void test_resolv_conf(void)
{
	char *dir = g_dir_make_tmp("test-dns-XXXXXX", NULL);
	char *path = g_build_filename(dir, "resolv.conf", NULL);
	const char *opts[] = { "resolv-conf", path, NULL };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct capture cap;
	struct usernat *un;
	socklen_t len;
	char a[64];

	g_assert_true(g_file_set_contents(path, "# test\nsearch x.test\n"
					  "nameserver 192.0.2.53\n"
					  "nameserver 2001:db8::53\n", -1,
					  NULL));
	un = test_instance(&cap, opts);
	g_assert_cmpint(dns_tcp_upstream(un, &ss, &len), ==, 0);
	g_assert_cmpint(ss.ss_family, ==, AF_INET);
	g_assert_cmpuint(len, ==, sizeof(*sin));
	g_assert_cmphex(sin->sin_addr.s_addr, ==, ip("192.0.2.53"));
	g_assert_cmpuint(ntohs(sin->sin_port), ==, 53);

	/* replaced (new inode): picked up within a tick or two */
	g_assert_true(g_file_set_contents(path, "nameserver 2001:db8::54\n",
					  -1, NULL));
	pump(un, &cap, 1, 2500);
	g_assert_cmpint(dns_tcp_upstream(un, &ss, &len), ==, 0);
	g_assert_cmpint(ss.ss_family, ==, AF_INET6);
	inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
	g_assert_cmpstr(a, ==, "2001:db8::54");

	/* gone: the C library's default, 127.0.0.1 */
	g_assert_cmpint(g_unlink(path), ==, 0);
	pump(un, &cap, 1, 2500);
	g_assert_cmpint(dns_tcp_upstream(un, &ss, &len), ==, 0);
	g_assert_cmpint(ss.ss_family, ==, AF_INET);
	g_assert_cmphex(sin->sin_addr.s_addr, ==, htonl(INADDR_LOOPBACK));
	g_assert_cmpuint(cap.frames->len, ==, 0);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

/* The configured upstreams win over resolv.conf, first one for TCP */
static void test_tcp_upstream(void)
{
	const char *opts[] = { "dns-upstream", "127.0.0.1:5353",
			       "dns-upstream", "[::1]:5354", NULL };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct capture cap;
	struct usernat *un = test_instance(&cap, opts);
	socklen_t len;

	g_assert_cmpint(dns_tcp_upstream(un, &ss, &len), ==, 0);
	g_assert_cmpint(ss.ss_family, ==, AF_INET);
	g_assert_cmpuint(ntohs(sin->sin_port), ==, 5353);
	usernat_free(un);
	g_ptr_array_unref(cap.frames);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dns/forward", test_forward);
	g_test_add_func("/dns/refused", test_refused);
	g_test_add_func("/dns/silent", test_silent);
	g_test_add_func("/dns/failover", test_failover);
	g_test_add_func("/dns/malformed", test_malformed);
	g_test_add_func("/dns/bad-replies", test_bad_replies);
	g_test_add_func("/dns/truncated", test_truncated);
	g_test_add_func("/dns/resolv-conf", test_resolv_conf);
	g_test_add_func("/dns/tcp-upstream", test_tcp_upstream);
	return g_test_run();
}
