/* The dnsward daemon ("dnsward run"): follows the kernel's addresses and the
 * polled sources, and keeps every configured record published.
 *
 * One thread owns everything: the configuration, the state file, the
 * per-record state machines (lib/sched.h, daemon/record.h) and one epoll
 * loop (lib/loop.h) over
 *   - an rtnetlink socket subscribed to address and link events
 *     (daemon/netwatch.h),
 *   - timers (debounce, the scheduler's next deadline, polling, watchdog,
 *     shutdown grace, hook time limits),
 *   - signals through a signalfd (HUP reload, USR1 force, TERM/INT stop),
 *   - the descriptor on which the publisher pool reports finished jobs
 *     (daemon/pool.h),
 *   - the control socket (daemon/ctl_server.h) and on-change hooks' pidfds
 *     (daemon/hooks.h).
 *
 * The daemon does no network work itself (it is linked without the
 * network library): every publish, and every poll of a web, dns or cmd
 * source, is a job for a publisher process (daemon/pool.h), so network
 * waits never block the loop.  At most one job per record is in flight.
 *
 * Address changes: any address or link event arms a short debounce timer
 * (debounce-ms, default 50 ms, measured from the first event, so a storm of
 * events cannot postpone an update indefinitely); when it fires we take a
 * fresh RTM_GETADDR dump and re-evaluate every record from it.  Tentative
 * addresses are rejected by the policy (addr.c); when DAD completes the
 * kernel sends RTM_NEWADDR again with the new flags, which starts another
 * round.
 *
 * Idle, the loop sleeps in epoll_wait() with no timeout and no publisher
 * runs: the only armed timer is the next re-assertion (max-interval),
 * polling sources' interval, and the systemd watchdog when (and only when)
 * WATCHDOG_USEC asks for it. */
#pragma once

#include "lib/config.h"

/* Runs the daemon on cfg until SIGTERM or SIGINT.  cfg stays owned by the
 * caller and must outlive the call; a reload (SIGHUP) replaces its contents
 * in place.  Sockets are opened, then privileges dropped and the seccomp
 * filter entered (lib/sandbox.h) before the first byte from outside.
 *
 * Returns 0 after a clean stop (publishes still in flight after the stop
 * grace are abandoned with their publisher: finished ones are already in
 * the state file); DW_ECONFIG when the state file (or its path), or the
 * publisher's executable, is unusable; another DW_E* code when the daemon
 * could not start or its loop failed (logged). */
int dmn_run(struct dw_config *cfg);
