/* A small epoll event loop: file descriptors, timers and signals.
 *
 * Everything the daemon waits for is a file descriptor in one epoll set:
 * sockets and eventfds directly, each timer as its own timerfd
 * (CLOCK_BOOTTIME, so time asleep in suspend counts), and signals through
 * one signalfd (the signals are blocked for the whole process, so they are
 * only ever delivered there).  The loop sleeps in epoll_wait() with no
 * timeout: when nothing is armed and nothing arrives it never wakes.
 *
 * Single-threaded: every function here must be called from the thread that
 * runs the loop, except that other threads may make a registered fd readable
 * (an eventfd) to wake it.  Callbacks may add and remove fds and timers,
 * including their own. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct dw_loop;
struct dw_timer;

/* events: EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP as returned by epoll. */
typedef void (*dw_loop_fd_fn)(struct dw_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*dw_loop_timer_fn)(struct dw_loop *loop, struct dw_timer *t, void *arg);
typedef void (*dw_loop_signal_fn)(struct dw_loop *loop, int signo, void *arg);

/* A new loop; NULL on failure (errno set). */
struct dw_loop *dw_loop_new(void);
/* Frees the loop, its timers and its signalfd (restoring the signal mask it
 * changed).  Registered fds other than those are not closed.  NULL is fine. */
void dw_loop_free(struct dw_loop *loop);

/* Watches fd for events (EPOLLIN, EPOLLOUT); fn runs when one is ready.
 * Returns 0 or -1 (errno set, e.g. EEXIST). */
int dw_loop_add_fd(struct dw_loop *loop, int fd, uint32_t events, dw_loop_fd_fn fn, void *arg);
/* Stops watching fd (does not close it).  Safe from fn itself. */
void dw_loop_del_fd(struct dw_loop *loop, int fd);

/* A disarmed timer; NULL on failure.  Freed by dw_timer_free or with the loop. */
struct dw_timer *dw_loop_timer_new(struct dw_loop *loop, dw_loop_timer_fn fn, void *arg);
/* Fires once, delay_ms from now (0 = as soon as possible); re-arming
 * replaces the previous deadline.  Returns 0 or -1. */
int dw_timer_arm(struct dw_timer *t, uint64_t delay_ms);
/* Fires at the absolute time at_ms of dw_loop_now_ms()'s clock. */
int dw_timer_arm_at(struct dw_timer *t, uint64_t at_ms);
void dw_timer_disarm(struct dw_timer *t);
bool dw_timer_armed(const struct dw_timer *t);
/* Safe from the timer's own callback. */
void dw_timer_free(struct dw_timer *t);

/* Blocks sigs[0..n) in the calling thread (call before starting other
 * threads, so they inherit the mask) and delivers them to fn through a
 * signalfd.  Once per loop.  Returns 0 or -1. */
int dw_loop_signals(struct dw_loop *loop, const int *sigs, size_t n, dw_loop_signal_fn fn,
                    void *arg);

/* Runs until dw_loop_stop().  Returns 0, or -1 when epoll fails. */
int dw_loop_run(struct dw_loop *loop);
/* Makes dw_loop_run() return after the current callback. */
void dw_loop_stop(struct dw_loop *loop);
/* Runs at most one round of ready callbacks, waiting up to timeout_ms
 * (-1 = forever).  Returns the number of events handled, or -1.  For tests. */
int dw_loop_once(struct dw_loop *loop, int timeout_ms);

/* Milliseconds of CLOCK_BOOTTIME: the clock every timer uses. */
uint64_t dw_loop_now_ms(void);
