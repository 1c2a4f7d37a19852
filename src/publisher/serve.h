/* The publisher's work: jobs read from dnsward, each run with its own
 * configuration on a worker thread, results written back (lib/pubproto.h).
 *
 * The main thread reads frames, builds each job's configuration from the
 * sections and secrets in it (dw_config_from_sections with the secrets
 * served from the frame: no file is opened), queues it for up to
 * PUB_THREADS_MAX workers, writes each result as it comes and then frees
 * that configuration, wiping its secrets.  It returns when dnsward has
 * closed its end and every job is answered. */
#pragma once

#include "lib/config.h"
#include "lib/dnsauth.h"
#include "lib/pubproto.h"

#define PUB_THREADS_MAX 4

/* One job and what it runs with. */
struct pub_task {
	struct dw_pp_job pj;             /* the job as received */
	struct dw_config *cfg;           /* its configuration, or NULL */
	struct dw_record *r;             /* PUBLISH, FETCH: in cfg */
	struct dw_provider *p;           /* TXT_ADD, TXT_DEL: in cfg */
	struct dw_dnsauth_setup dnsauth; /* PUBLISH (cold-start check), FOLLOW */
	char failed[400];                /* set: the job fails with this, nothing runs */
	struct pub_task *next;
};

/* Serves dnsward on fd (non-blocking) until it closes.  Returns the exit
 * status: 0, or 1 when dnsward went away or spoke garbage (logged). */
int pub_serve(int fd);

/* Runs t's job (run.c): the library call its kind names. */
void pub_run(struct pub_task *t);
