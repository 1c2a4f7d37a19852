/* Event loop basics: fds, timers (order, re-arm, disarm, free from the
 * callback), signals through signalfd, and no wake-up when idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/loop.h"

static char order[16];
static size_t norder;

static void on_timer(struct dw_loop *l, struct dw_timer *t, void *arg)
{
	(void)t;
	order[norder++] = *(const char *)arg;
	if (*(const char *)arg == 'c')
		dw_loop_stop(l);
}

static void test_timers_fire_in_order(void **state)
{
	(void)state;
	struct dw_loop *l = dw_loop_new();
	assert_non_null(l);
	norder = 0;
	static char a = 'a', b = 'b', c = 'c', d = 'd';
	struct dw_timer *ta = dw_loop_timer_new(l, on_timer, &a);
	struct dw_timer *tb = dw_loop_timer_new(l, on_timer, &b);
	struct dw_timer *tc = dw_loop_timer_new(l, on_timer, &c);
	struct dw_timer *td = dw_loop_timer_new(l, on_timer, &d);
	assert_int_equal(dw_timer_arm(tc, 60), 0);
	assert_int_equal(dw_timer_arm(ta, 0), 0);
	assert_int_equal(dw_timer_arm(tb, 30), 0);
	assert_int_equal(dw_timer_arm(td, 20), 0);
	dw_timer_disarm(td);              /* never fires */
	assert_false(dw_timer_armed(td));
	assert_true(dw_timer_armed(tc));
	uint64_t t0 = dw_loop_now_ms();
	assert_int_equal(dw_loop_run(l), 0);
	assert_true(dw_loop_now_ms() - t0 >= 60);
	assert_int_equal(norder, 3);
	assert_memory_equal(order, "abc", 3);
	assert_false(dw_timer_armed(tc));
	/* Re-arming replaces the deadline. */
	norder = 0;
	assert_int_equal(dw_timer_arm(tc, 100000), 0);
	assert_int_equal(dw_timer_arm_at(tc, dw_loop_now_ms() + 10), 0);
	assert_int_equal(dw_loop_run(l), 0);
	assert_int_equal(norder, 1);
	dw_timer_free(tb);
	dw_loop_free(l);   /* frees the other timers */
}

static int fd_hits;

static void on_fd(struct dw_loop *l, int fd, uint32_t ev, void *arg)
{
	(void)arg;
	assert_true(ev & EPOLLIN);
	uint64_t v;
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	fd_hits++;
	dw_loop_del_fd(l, fd);   /* removing itself is safe */
}

static void test_fd_and_idle(void **state)
{
	(void)state;
	struct dw_loop *l = dw_loop_new();
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	assert_int_equal(dw_loop_add_fd(l, efd, EPOLLIN, on_fd, NULL), 0);
	/* Nothing ready, nothing armed: no event within the wait. */
	assert_int_equal(dw_loop_once(l, 50), 0);
	uint64_t one = 1;
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	fd_hits = 0;
	assert_int_equal(dw_loop_once(l, 1000), 1);
	assert_int_equal(fd_hits, 1);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(dw_loop_once(l, 50), 0);   /* no longer watched */
	close(efd);
	dw_loop_free(l);
}

static int got_sig;

static void on_sig(struct dw_loop *l, int signo, void *arg)
{
	(void)arg;
	got_sig = signo;
	dw_loop_stop(l);
}

static void test_signals(void **state)
{
	(void)state;
	struct dw_loop *l = dw_loop_new();
	static const int sigs[] = { SIGUSR1, SIGHUP };
	assert_int_equal(dw_loop_signals(l, sigs, 2, on_sig, NULL), 0);
	assert_int_equal(dw_loop_signals(l, sigs, 2, on_sig, NULL), -1);
	got_sig = 0;
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	assert_int_equal(dw_loop_run(l), 0);
	assert_int_equal(got_sig, SIGHUP);
	dw_loop_free(l);
	/* The mask is restored. */
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGHUP));
}

static struct dw_timer *self_free;

static void on_self_free(struct dw_loop *l, struct dw_timer *t, void *arg)
{
	(void)arg;
	assert_ptr_equal(t, self_free);
	dw_timer_free(t);
	dw_loop_stop(l);
}

static void test_timer_frees_itself(void **state)
{
	(void)state;
	struct dw_loop *l = dw_loop_new();
	self_free = dw_loop_timer_new(l, on_self_free, NULL);
	assert_int_equal(dw_timer_arm(self_free, 1), 0);
	assert_int_equal(dw_loop_run(l), 0);
	dw_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order),
		cmocka_unit_test(test_fd_and_idle),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_timer_frees_itself),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
