/* The upstream queue: sends desired records from the store to each host's
 * provider, with retries, shared by every instance serving from the same
 * database.
 *
 * The store is the queue: a request commits the desired value first, then
 * kicks the host here.  Worker threads take hosts whose work is due and
 * run a round for each: claim the host's lease in the store (one instance
 * sends a host's records at a time; the claim skips a lease another
 * instance holds until it expires), read the host's pending rows that are
 * due (so rapid updates coalesce: the latest committed value is what is
 * sent) and call the provider: update / update_multi for A and AAAA,
 * txt_add / txt_del for TXT.  The results, the audit rows and the lease's
 * release are committed together.  Values of one record set are so applied
 * in order, each by one instance; an instance that dies mid-round leaves
 * its lease to expire (lease-time), and then any instance takes the host
 * over and sends what is still pending (at most the value that was in
 * flight is sent twice; a value recorded applied never is).  The lease is
 * renewed before a provider call once a third of it has passed; a round
 * that finds it lost stops sending.  Calls to one provider instance are
 * serialised (providers are not documented as thread-safe).
 *
 * Work is found two ways: kicks (this instance's requests), and a sweep of
 * the store every 2 s for rows due within 10 s (retries, work of other
 * instances, of instances that died, and of a restart).  Only hosts with
 * work due soon are held in memory, so memory does not grow with the
 * number of hosts or of pending rows (the sweep takes the 1,000 earliest).
 *
 * Backoff is per record set (the A, the AAAA, the TXT values of a host),
 * kept in the rows (next_retry): a failed set waits 5 s doubling up to
 * retry-max (+-20% jitter), or the provider's Retry-After when longer,
 * while the host's other sets go through; a new value clears its set's
 * backoff.  A refusal for good (FATAL: REFUSED, NOTAUTH, HTTP 4xx, a
 * provider that cannot publish it) ends the row as failed: it is audited,
 * counted and shown by "host list", and retried only when the host sends
 * it again after a cool-down (at least 5 minutes when retry-max allows). */
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
	GW_UP_TIMEOUT,       /* still working (or another instance is) when the wait ended */
};

/* owner: this instance's id (gw_cluster_id), the owner of its leases;
 * copied. */
int gw_upstream_new(const struct gw_conf *conf, struct gw_store *st, struct gw_metrics *m,
                    const char *owner, struct gw_upstream **out, struct dw_diag *diag);
/* Starts the worker threads (after the privilege drop: threads inherit the
 * capability bounding set of the thread that creates them). */
int gw_upstream_start(struct gw_upstream *up, struct dw_diag *diag);
/* Stops the workers (a provider call in progress finishes first) and
 * frees up.  NULL is fine. */
void gw_upstream_stop(struct gw_upstream *up);

/* Schedules host_id now and, when wait_ms > 0, waits for a round of this
 * instance that starts after this call (so it sees everything committed
 * before it); while another instance holds the host's lease, the claim is
 * tried again every 100 ms.  The caller then reads its rows back to
 * answer.  msg (cap bytes) gets a short reason when the result is not
 * GW_UP_DONE, else "". */
enum gw_up_result gw_upstream_kick(struct gw_upstream *up, int64_t host_id, unsigned wait_ms,
                                   char *msg, size_t cap);

/* Hosts held in memory now (scheduled, running or waited for). */
size_t gw_upstream_jobs(struct gw_upstream *up);

/* Backoff before attempt number `attempts` + 1: base * 2^(attempts-1),
 * capped, with +-20% jitter from rnd in [0, 1).  Pure, for tests. */
long gw_backoff_s(unsigned attempts, long base_s, long max_s, double rnd);
/* Whether a lease taken (or renewed) elapsed_ms ago for lease_ms is to be
 * renewed before the next provider call: once a third of it has passed.
 * Pure, for tests. */
bool gw_lease_renew_due(int64_t elapsed_ms, int64_t lease_ms);
