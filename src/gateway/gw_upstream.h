/* The upstream queue: sends desired records from the store to each host's
 * provider, with retries.
 *
 * The store is the queue: a request commits the desired value first, then
 * kicks the host here.  Worker threads take hosts whose work is due, read
 * the host's pending rows that are due (so rapid updates coalesce: the
 * latest committed value is what is sent) and call the provider: update /
 * update_multi for A and AAAA, txt_add / txt_del for TXT.  One host is
 * handled by one worker at a time, and calls to one provider instance are
 * serialised (providers are not documented as thread-safe).
 *
 * Backoff is per record set (the A, the AAAA, the TXT values of a host),
 * kept in the rows (next_retry): a failed set waits 5 s doubling up to
 * retry-max (+-20% jitter), or the provider's Retry-After when longer,
 * while the host's other sets go through; a new value clears its set's
 * backoff.  A refusal for good (FATAL: REFUSED, NOTAUTH, HTTP 4xx, a
 * provider that cannot publish it) ends the row as failed: it is audited,
 * counted and shown by "host list", and retried only when the host sends
 * it again after a cool-down (at least 5 minutes when retry-max allows).
 * At start every host with pending rows is scheduled, so a restart loses
 * nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gw_conf.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_store.h"

struct gw_upstream;

enum gw_up_result {
	GW_UP_DONE = 0,      /* a round ran: the rows say how each value stands */
	GW_UP_STORE,         /* the round failed on the store */
	GW_UP_TIMEOUT,       /* still working when the wait ended */
};

int gw_upstream_new(const struct gw_conf *conf, struct gw_store *st, struct gw_metrics *m,
                    struct gw_upstream **out, struct dw_diag *diag);
/* Starts the worker threads (after the privilege drop: threads inherit the
 * capability bounding set of the thread that creates them). */
int gw_upstream_start(struct gw_upstream *up, struct dw_diag *diag);
/* Stops the workers (a provider call in progress finishes first) and
 * frees up.  NULL is fine. */
void gw_upstream_stop(struct gw_upstream *up);

/* Schedules host_id now and, when wait_ms > 0, waits for a round that starts
 * after this call (so it sees everything committed before it).  The caller
 * then reads its rows back to answer.  msg (cap bytes) gets a short reason
 * when the result is not GW_UP_DONE, else "". */
enum gw_up_result gw_upstream_kick(struct gw_upstream *up, int64_t host_id, unsigned wait_ms,
                                   char *msg, size_t cap);

/* Backoff before attempt number `attempts` + 1: base * 2^(attempts-1),
 * capped, with +-20% jitter from rnd in [0, 1).  Pure, for tests. */
long gw_backoff_s(unsigned attempts, long base_s, long max_s, double rnd);
