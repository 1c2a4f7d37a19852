/* The daemon's worker pool: where blocking work runs, off the event loop.
 *
 * Providers are synchronous (HTTP through libcurl's easy interface, DNS
 * through dns.c), and so are the web, dns and cmd address sources.  Instead
 * of driving libcurl's multi interface from the loop, each such piece of
 * work is a job run by one of a few threads.  A job carries what the worker
 * needs in (a record, a plan) and gets its results written into it; workers
 * never touch the state, the scheduler or any other record.  Finished jobs
 * come back through an eventfd that the loop watches.
 *
 * The interface is narrow on purpose (submit a job, take the finished ones,
 * one fd to watch) so that something other than threads, such as a confined
 * publisher process, can stand behind it.
 *
 * Single owner: every function is called from the loop's thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/addr.h"
#include "lib/config.h"
#include "lib/dnsauth.h"
#include "lib/provider.h"
#include "lib/update.h"

#define DMN_POOL_THREADS_MAX 4

enum dmn_job_kind {
	DMN_JOB_PUBLISH,   /* dw_update_publish() for the families in plan */
	DMN_JOB_FETCH,     /* evaluate polling sources (web, dns, cmd) */
	DMN_JOB_VERIFY,    /* dw_update_verify() for the families in verify */
};

struct dmn_job {
	enum dmn_job_kind kind;
	size_t rec;                          /* the submitter's tag; the pool ignores it */
	struct dw_record *r;                 /* read-only for the worker */
	const struct dw_dnsauth_cfg *cold;   /* cold-start check, or NULL */
	struct dw_plan plan[DW_FAM_COUNT];   /* PUBLISH: in */
	struct dw_result res[DW_FAM_COUNT];  /* PUBLISH: out, filled by the worker */
	bool fetch[DW_FAM_COUNT];            /* FETCH: in: families to evaluate ... */
	bool fetched[DW_FAM_COUNT];          /* ... out: which gave an address ... */
	struct dw_ip addr[DW_FAM_COUNT];     /* ... this one */
	char why[DW_FAM_COUNT][512];         /* ... else why not */
	const struct dw_dnsauth_cfg *auth;   /* VERIFY: where the zone's servers are found */
	bool verify[DW_FAM_COUNT];           /* VERIFY: in: families to check ... */
	struct dw_ip published[DW_FAM_COUNT];  /* ... against this address */
	struct dw_verify ver[DW_FAM_COUNT];  /* VERIFY: out */
	struct dmn_job *next;                /* the pool's link while it holds the job */
};

struct dmn_pool;

/* Starts nthreads workers (at least one, at most DMN_POOL_THREADS_MAX).
 * They inherit the caller's signal mask: start the pool after blocking the
 * signals the loop takes through its signalfd.  Returns NULL when not even
 * one thread could start (nothing is left running then). */
struct dmn_pool *dmn_pool_new(size_t nthreads);

/* An eventfd, readable while finished jobs wait in dmn_pool_take().  Owned
 * by the pool. */
int dmn_pool_fd(const struct dmn_pool *p);

/* Queues j (malloc'd; run in submission order).  The pool owns j until
 * dmn_pool_take() hands it back; what j->r and j->cold point to must stay
 * valid and unchanged until then. */
void dmn_pool_submit(struct dmn_pool *p, struct dmn_job *j);

/* Takes every finished job: a list linked by next, in no particular order,
 * NULL when there is none.  The caller owns the jobs (free() each). */
struct dmn_job *dmn_pool_take(struct dmn_pool *p);

/* Lets the workers finish what is queued, joins them, frees the finished
 * jobs not taken and the pool.  Blocks while jobs run.  NULL is fine. */
void dmn_pool_free(struct dmn_pool *p);
