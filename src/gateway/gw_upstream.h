/* The upstream queue: sends desired records from the store to each host's
 * provider, with retries.
 *
 * The store is the queue: a request commits the desired value first, then
 * kicks the host here.  Worker threads take hosts whose work is due, read
 * every unapplied row of that host (so rapid updates coalesce: the latest
 * committed value is what is sent) and call the provider: update /
 * update_multi for A and AAAA, txt_add / txt_del for TXT.  One host is
 * handled by one worker at a time, and calls to one provider instance are
 * serialised (providers are not documented as thread-safe).  A failure is
 * retried with exponential backoff (5 s doubling up to retry-max, +-20%
 * jitter), or after the provider's Retry-After when it is longer; a new
 * value for the host resets the wait.  At start every host with unapplied
 * rows is scheduled, so a restart loses nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gw_conf.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_store.h"

struct gw_upstream;

enum gw_up_result {
	GW_UP_OK = 0,        /* every pending row of the host is applied */
	GW_UP_FAILED,        /* the round failed; retries continue in the background */
	GW_UP_TIMEOUT,       /* still working when the wait ended */
};

/* Builds the queue and loads every host with unapplied rows from the
 * store; no thread runs yet.  Kicks before gw_upstream_start wait. */
int gw_upstream_new(const struct gw_conf *conf, struct gw_store *st, struct gw_metrics *m,
                    struct gw_upstream **out, struct dw_diag *diag);
/* Starts the worker threads (after the privilege drop: threads inherit the
 * capability bounding set of the thread that creates them). */
int gw_upstream_start(struct gw_upstream *up, struct dw_diag *diag);
/* Stops the workers (a provider call in progress finishes first) and
 * frees up.  NULL is fine. */
void gw_upstream_stop(struct gw_upstream *up);

/* Schedules host_id now and, when wait_ms > 0, waits for a round that starts
 * after this call (so it sees everything committed before it).  msg gets the
 * provider's message on failure. */
enum gw_up_result gw_upstream_kick(struct gw_upstream *up, int64_t host_id, unsigned wait_ms,
                                   char *msg, size_t cap);

/* Backoff before attempt number `attempts` + 1: base * 2^(attempts-1),
 * capped, with +-20% jitter from rnd in [0, 1).  Pure, for tests. */
long gw_backoff_s(unsigned attempts, long base_s, long max_s, double rnd);
