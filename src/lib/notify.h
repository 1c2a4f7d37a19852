/* systemd's service notification without libsystemd: the protocol is one
 * datagram of "KEY=VALUE" lines sent to the AF_UNIX socket named in
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), as
 * sd_notify(3) documents for programs that do not link libsystemd.
 *
 * Used for Type=notify (READY=1, RELOADING=1, STOPPING=1, STATUS=...) and
 * the watchdog (WATCHDOG=1 every half of WATCHDOG_USEC).  Without
 * $NOTIFY_SOCKET every call does nothing. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Sends msg (one or more "KEY=VALUE" lines).  Returns 1 when sent, 0 when
 * $NOTIFY_SOCKET is unset, -1 on failure (errno set). */
int dw_notify(const char *msg);

/* The same with a printf format; the message is cut at 4 kB. */
int dw_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True, with the interval in *usec, when the service manager asks this
 * process for watchdog keep-alives: WATCHDOG_USEC is a positive number and
 * WATCHDOG_PID, when set, is our own pid. */
bool dw_notify_watchdog(uint64_t *usec);

/* The rule above on given values (usec and pid may be NULL, as unset
 * variables).  Pure; exposed for tests. */
bool dw_notify_watchdog_parse(const char *usec, const char *pid, pid_t self, uint64_t *out);
