/* The daemon's side of the publisher: where network work goes.
 *
 * Every publish, and every poll of a web, dns or cmd source, is a job
 * (lib/job.h) for a publisher process (src/publisher) reached through the
 * client in lib/pubclient.h: started when the debounce timer is armed so
 * that its start-up overlaps the wait, fed jobs with the configuration
 * sections and secrets they need, closed when idle (publisher-idle).  The
 * daemon itself never touches the network: it is linked without libcurl,
 * ldns and libcrypto.  A publisher that dies, hangs or speaks garbage
 * gives back its jobs failed, and the scheduler retries them like any
 * failed attempt.
 *
 * The interface is narrow on purpose (submit a job, take the finished
 * ones, one fd to watch).  Single owner: every function is called from the
 * loop's thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/config.h"
#include "lib/job.h"

struct dmn_job {
	struct dw_job job;    /* first: the client hands back &job */
	size_t rec;           /* the submitter's tag; the pool ignores it */
};

struct dmn_pool;

/* Opens the publisher's executable for cfg's options (before the daemon
 * drops privileges).  NULL with diag when it cannot. */
struct dmn_pool *dmn_pool_new(const struct dw_config *cfg, struct dw_diag *diag);

/* The executable's descriptor, for dw_sandbox_enter_parent(). */
int dmn_pool_exec_fd(const struct dmn_pool *p);

/* Readable while the pool has work to do: then call dmn_pool_take(). */
int dmn_pool_fd(const struct dmn_pool *p);

/* Starts a publisher ahead of the jobs that are about to come. */
void dmn_pool_prestart(struct dmn_pool *p);

/* Hands j (malloc'd) to a publisher, with what it needs from cfg.  The
 * pool owns j until dmn_pool_take() hands it back; what j->job.r points
 * to must stay valid and unchanged until then. */
void dmn_pool_submit(struct dmn_pool *p, const struct dw_config *cfg, struct dmn_job *j);

/* Does the pool's pending work, then takes every finished job: a list
 * linked by job.next, in no particular order, NULL when there is none.
 * The caller owns the jobs (free() each). */
struct dmn_job *dmn_pool_take(struct dmn_pool *p);

/* The configuration changed (a reload): publisher-idle, seccomp, cmd:
 * sources. */
void dmn_pool_reconfigure(struct dmn_pool *p, const struct dw_config *cfg);

/* Ends the publisher (killed when it still holds jobs) and frees the pool
 * and every job it still holds.  NULL is fine. */
void dmn_pool_free(struct dmn_pool *p);
