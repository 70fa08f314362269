/* test-watch.c - an embedder's descriptors in the instance's epoll set
 * (usernat_watch(), usernat_unwatch(), usernat_wait()), as the daemon's
 * loop uses them.  usernat_wait()'s counts may include the instance's own
 * once-a-second tick, so the callbacks' counts are what is checked. */
#include <glib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "frames.h"
#include "stack.h"

/* What a watch callback saw; @then runs once from the callback */
struct seen {
	int calls;
	uint32_t events;
	void (*then)(struct seen *s);
	struct usernat *un;
	int fds[4];
	struct seen *other;
};

static void seen_fn(void *opaque, uint32_t events)
{
	struct seen *s = opaque;

	s->calls++;
	s->events = events;
	if (s->then) {
		void (*then)(struct seen *) = s->then;

		s->then = NULL;
		then(s);
	}
}

static void make_pipe(int p[2])
{
	g_assert_cmpint(pipe(p), ==, 0);
}

/* A watched descriptor's events reach its callback from usernat_wait();
 * none after usernat_unwatch(); nothing ready: the wait times out */
static void test_watch_unwatch(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	struct seen s = { 0 };
	int p[2];

	make_pipe(p);
	g_assert_cmpint(usernat_watch(un, p[0], EPOLLIN, seen_fn, &s), ==, 0);
	g_assert_cmpint(usernat_wait(un, 0), >=, 0);
	g_assert_cmpint(s.calls, ==, 0);
	g_assert_cmpint(write(p[1], "x", 1), ==, 1);
	g_assert_cmpint(usernat_wait(un, 1000), >=, 1);
	g_assert_cmpint(s.calls, ==, 1);
	g_assert_true(s.events & EPOLLIN);
	usernat_unwatch(un, p[0]);
	g_assert_cmpint(usernat_wait(un, 20), >=, 0);
	g_assert_cmpint(s.calls, ==, 1);
	/* usernat_service() dispatches them too */
	g_assert_cmpint(usernat_watch(un, p[0], EPOLLIN, seen_fn, &s), ==, 0);
	usernat_service(un);
	g_assert_cmpint(s.calls, ==, 2);
	usernat_unwatch(un, p[0]);
	close(p[0]);
	close(p[1]);
	usernat_free(un);
	capture_clear(&cap);
}

/* Watching a watched descriptor again replaces its events and callback */
static void test_rewatch(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	struct seen a = { 0 }, b = { 0 };
	int p[2];

	make_pipe(p);
	g_assert_cmpint(usernat_watch(un, p[1], EPOLLIN, seen_fn, &a), ==, 0);
	g_assert_cmpint(usernat_wait(un, 20), >=, 0);	/* never readable */
	g_assert_cmpint(usernat_watch(un, p[1], EPOLLOUT, seen_fn, &b), ==, 0);
	g_assert_cmpint(usernat_wait(un, 1000), >=, 1);
	g_assert_cmpint(a.calls, ==, 0);
	g_assert_cmpint(b.calls, ==, 1);
	g_assert_true(b.events & EPOLLOUT);
	usernat_unwatch(un, p[1]);
	close(p[0]);
	close(p[1]);
	usernat_free(un);
	capture_clear(&cap);
}

/* From the first callback of a batch: stop watching the second descriptor
 * (also ready in this batch) and watch a new one in its slot */
static void swap_second(struct seen *s)
{
	usernat_unwatch(s->un, s->fds[0]);
	g_assert_cmpint(usernat_watch(s->un, s->fds[1], EPOLLOUT, seen_fn,
				      s->other), ==, 0);
}

/* An event for a watch removed earlier in the same batch is dropped, even
 * when its slot was taken by a new watch meanwhile (the generation) */
static void test_stale_event(void)
{
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	struct seen first = { 0 }, second = { 0 }, third = { 0 };
	int p1[2], p2[2], p3[2];

	make_pipe(p1);
	make_pipe(p2);
	make_pipe(p3);
	first.then = swap_second;
	first.un = un;
	first.fds[0] = p2[0];
	first.fds[1] = p3[1];	/* always writable: would fire at once */
	first.other = &third;
	g_assert_cmpint(usernat_watch(un, p1[0], EPOLLIN, seen_fn, &first),
			==, 0);
	g_assert_cmpint(usernat_watch(un, p2[0], EPOLLIN, seen_fn, &second),
			==, 0);
	/* ready in this order: epoll reports them in it */
	g_assert_cmpint(write(p1[1], "x", 1), ==, 1);
	g_assert_cmpint(write(p2[1], "x", 1), ==, 1);
	g_assert_cmpint(usernat_wait(un, 1000), >=, 2);
	g_assert_cmpint(first.calls, ==, 1);
	g_assert_cmpint(second.calls, ==, 0);	/* unwatched before its turn */
	g_assert_cmpint(third.calls, ==, 0);	/* not its event */
	/* the new watch works from the next batch on */
	usernat_unwatch(un, p1[0]);
	g_assert_cmpint(usernat_wait(un, 1000), >=, 1);
	g_assert_cmpint(third.calls, ==, 1);
	usernat_unwatch(un, p3[1]);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(p3[0]);
	close(p3[1]);
	usernat_free(un);
	capture_clear(&cap);
}

/* usernat_wait()'s polling window: grows by doubling while events come
 * within poll-us, stays while they come within it, halves down to 0 when
 * they come later */
static void test_poll_adapt(void)
{
	const int64_t max = 50000;

	g_assert_cmpint(un_poll_adapt(0, max, 20000), ==, UN_POLL_NS_START);
	g_assert_cmpint(un_poll_adapt(4000, max, 20000), ==, 8000);
	g_assert_cmpint(un_poll_adapt(32000, max, 40000), ==, max);
	g_assert_cmpint(un_poll_adapt(max, max, 30000), ==, max);
	g_assert_cmpint(un_poll_adapt(16000, max, 10000), ==, 16000);
	g_assert_cmpint(un_poll_adapt(max, max, 1000000), ==, max / 2);
	g_assert_cmpint(un_poll_adapt(6000, max, 1000000), ==, 0);
	g_assert_cmpint(un_poll_adapt(0, max, 1000000), ==, 0);
	g_assert_cmpint(un_poll_adapt(0, 2000, 1500), ==, 2000);
}

/* An event already there is found by polling (counted in poll_hits),
 * without sleeping; waits that time out shrink the window to nothing;
 * poll-us=0 never polls */
static void test_poll(void)
{
	static const char *const off[] = { "poll-us", "0", NULL };
	struct capture cap;
	struct usernat *un = test_instance(&cap, NULL);
	struct seen s = { 0 };
	int p[2], i;
	char c;

	make_pipe(p);
	g_assert_cmpint(usernat_watch(un, p[0], EPOLLIN, seen_fn, &s), ==, 0);
	un->poll_ns = 40000;
	g_assert_cmpint(write(p[1], "x", 1), ==, 1);
	g_assert_cmpint(usernat_wait(un, 1000), >=, 1);
	g_assert_cmpint(s.calls, ==, 1);
	g_assert_cmpuint(usernat_stat(un, "poll_hits"), ==, 1);
	g_assert_cmpint(un->poll_ns, ==, 40000);	/* found in the window */
	g_assert_cmpint(read(p[0], &c, 1), ==, 1);
	for (i = 0; i < 5 && un->poll_ns; i++)	/* idle: 40, 20, 10, 5, 0 µs */
		g_assert_cmpint(usernat_wait(un, 5), >=, 0);
	g_assert_cmpint(un->poll_ns, ==, 0);
	g_assert_cmpint(i, ==, 4);
	usernat_unwatch(un, p[0]);
	usernat_free(un);
	capture_clear(&cap);

	un = test_instance(&cap, off);
	g_assert_cmpint(usernat_watch(un, p[0], EPOLLIN, seen_fn, &s), ==, 0);
	un->poll_ns = 40000;
	g_assert_cmpint(write(p[1], "x", 1), ==, 1);
	g_assert_cmpint(usernat_wait(un, 1000), >=, 1);
	g_assert_cmpint(s.calls, ==, 2);
	g_assert_cmpuint(usernat_stat(un, "poll_hits"), ==, 0);
	usernat_unwatch(un, p[0]);
	close(p[0]);
	close(p[1]);
	usernat_free(un);
	capture_clear(&cap);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/watch/watch-unwatch", test_watch_unwatch);
	g_test_add_func("/watch/rewatch", test_rewatch);
	g_test_add_func("/watch/stale-event", test_stale_event);
	g_test_add_func("/watch/poll-adapt", test_poll_adapt);
	g_test_add_func("/watch/poll", test_poll);
	return g_test_run();
}
