/* epoll event loop; see loop.h.
 *
 * Each registered fd has a watch record whose address is the epoll data.
 * A watch removed while callbacks of the same round may still refer to it
 * (its event can be later in the array epoll_wait returned) is only marked
 * dead and freed after the round, so no callback ever sees freed memory. */
#include "lib/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 32

enum watch_kind { W_FD, W_TIMER, W_SIGNAL };

struct watch {
	enum watch_kind kind;
	int fd;
	bool dead;
	dw_loop_fd_fn fn;
	void *arg;
	struct dw_timer *timer;   /* W_TIMER */
	struct watch *next;       /* all watches, or the dead list */
};

struct dw_timer {
	struct dw_loop *loop;
	struct watch *w;
	dw_loop_timer_fn fn;
	void *arg;
	bool armed;
};

struct dw_loop {
	int epfd;
	bool stop;
	struct watch *watches;
	struct watch *dead;
	/* signals */
	int sigfd;
	sigset_t sigs, oldmask;
	dw_loop_signal_fn sigfn;
	void *sigarg;
};

uint64_t dw_loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct dw_loop *dw_loop_new(void)
{
	struct dw_loop *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static struct watch *watch_add(struct dw_loop *l, enum watch_kind kind, int fd,
                               uint32_t events, dw_loop_fd_fn fn, void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->kind = kind;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	w->next = l->watches;
	l->watches = w;
	return w;
}

/* Unlinks w from the live list, removes it from epoll, and queues it for
 * freeing after the current round. */
static void watch_kill(struct dw_loop *l, struct watch *w)
{
	for (struct watch **pp = &l->watches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	w->next = l->dead;
	l->dead = w;
}

static void reap(struct dw_loop *l)
{
	while (l->dead != NULL) {
		struct watch *w = l->dead;
		l->dead = w->next;
		free(w);
	}
}

int dw_loop_add_fd(struct dw_loop *loop, int fd, uint32_t events, dw_loop_fd_fn fn, void *arg)
{
	return watch_add(loop, W_FD, fd, events, fn, arg) != NULL ? 0 : -1;
}

void dw_loop_del_fd(struct dw_loop *loop, int fd)
{
	for (struct watch *w = loop->watches; w != NULL; w = w->next) {
		if (w->kind == W_FD && w->fd == fd) {
			watch_kill(loop, w);
			return;
		}
	}
}

struct dw_timer *dw_loop_timer_new(struct dw_loop *loop, dw_loop_timer_fn fn, void *arg)
{
	struct dw_timer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	int fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		free(t);
		return NULL;
	}
	t->loop = loop;
	t->fn = fn;
	t->arg = arg;
	t->w = watch_add(loop, W_TIMER, fd, EPOLLIN, NULL, NULL);
	if (t->w == NULL) {
		close(fd);
		free(t);
		return NULL;
	}
	t->w->timer = t;
	return t;
}

int dw_timer_arm_at(struct dw_timer *t, uint64_t at_ms)
{
	/* it_value zero would disarm: the earliest deadline is 1 ns. */
	struct itimerspec its = { { 0, 0 }, { (time_t)(at_ms / 1000u), (long)(at_ms % 1000u) * 1000000L } };
	if (at_ms == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(t->w->fd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		return -1;
	t->armed = true;
	return 0;
}

int dw_timer_arm(struct dw_timer *t, uint64_t delay_ms)
{
	struct itimerspec its = { { 0, 0 }, { (time_t)(delay_ms / 1000u), (long)(delay_ms % 1000u) * 1000000L } };
	if (delay_ms == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(t->w->fd, 0, &its, NULL) != 0)
		return -1;
	t->armed = true;
	return 0;
}

void dw_timer_disarm(struct dw_timer *t)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	(void)timerfd_settime(t->w->fd, 0, &its, NULL);
	/* An expiry already counted is discarded with the read. */
	uint64_t n;
	(void)!read(t->w->fd, &n, sizeof(n));
	t->armed = false;
}

bool dw_timer_armed(const struct dw_timer *t)
{
	return t->armed;
}

void dw_timer_free(struct dw_timer *t)
{
	if (t == NULL)
		return;
	int fd = t->w->fd;
	t->w->timer = NULL;
	watch_kill(t->loop, t->w);   /* before close: the number may be reused */
	close(fd);
	free(t);
}

int dw_loop_signals(struct dw_loop *loop, const int *sigs, size_t n, dw_loop_signal_fn fn,
                    void *arg)
{
	if (loop->sigfd >= 0) {
		errno = EBUSY;
		return -1;
	}
	sigemptyset(&loop->sigs);
	for (size_t i = 0; i < n; i++)
		sigaddset(&loop->sigs, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &loop->sigs, &loop->oldmask) != 0)
		return -1;
	loop->sigfd = signalfd(-1, &loop->sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (loop->sigfd < 0 ||
	    watch_add(loop, W_SIGNAL, loop->sigfd, EPOLLIN, NULL, NULL) == NULL) {
		int e = errno;
		if (loop->sigfd >= 0)
			close(loop->sigfd);
		loop->sigfd = -1;
		(void)sigprocmask(SIG_SETMASK, &loop->oldmask, NULL);
		errno = e;
		return -1;
	}
	loop->sigfn = fn;
	loop->sigarg = arg;
	return 0;
}

static void dispatch(struct dw_loop *l, struct watch *w, uint32_t events)
{
	switch (w->kind) {
	case W_FD:
		w->fn(l, w->fd, events, w->arg);
		break;
	case W_TIMER: {
		uint64_t n;
		if (read(w->fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			break;   /* disarmed or re-armed since: not an expiry */
		struct dw_timer *t = w->timer;
		t->armed = false;
		t->fn(l, t, t->arg);
		break;
	}
	case W_SIGNAL:
		for (;;) {
			struct signalfd_siginfo si;
			ssize_t r = read(w->fd, &si, sizeof(si));
			if (r != (ssize_t)sizeof(si))
				break;
			l->sigfn(l, (int)si.ssi_signo, l->sigarg);
			if (w->dead)
				break;
		}
		break;
	}
}

int dw_loop_once(struct dw_loop *loop, int timeout_ms)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	int n = epoll_wait(loop->epfd, ev, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		if (!w->dead)
			dispatch(loop, w, ev[i].events);
	}
	reap(loop);
	return n;
}

int dw_loop_run(struct dw_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		if (dw_loop_once(loop, -1) < 0)
			return -1;
	}
	return 0;
}

void dw_loop_stop(struct dw_loop *loop)
{
	loop->stop = true;
}

void dw_loop_free(struct dw_loop *loop)
{
	if (loop == NULL)
		return;
	while (loop->watches != NULL) {
		struct watch *w = loop->watches;
		loop->watches = w->next;
		if (w->kind == W_TIMER) {
			close(w->fd);
			free(w->timer);
		}
		free(w);
	}
	reap(loop);
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		(void)sigprocmask(SIG_SETMASK, &loop->oldmask, NULL);
	}
	close(loop->epfd);
	free(loop);
}
