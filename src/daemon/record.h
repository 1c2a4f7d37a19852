/* The daemon's view of one configured record: its per-family state machine
 * (lib/sched.h) and what the daemon last learnt about it, for the logs and
 * the status document.  Plain data owned by the daemon's loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/config.h"
#include "lib/sched.h"
#include "lib/state.h"

struct dmn_rec {
	struct dw_record *r;                  /* in the current configuration; not owned */
	struct dw_sched_rec s;
	bool busy;                            /* a job for it is queued or running */
	bool polls;                           /* a family's source must be polled */
	char why[DW_FAM_COUNT][512];          /* why there is no desired address */
	char msg[DW_FAM_COUNT][384];          /* last result's message */
	char problem[DW_FAM_COUNT][400];      /* failure last logged as an error, "" none */
	int64_t last_wall[DW_FAM_COUNT];      /* unix time of the last result */
	int64_t pub_wall[DW_FAM_COUNT];       /* unix time of the last success */
	bool verified[DW_FAM_COUNT];          /* a drift check has run ... */
	enum dw_verify_status vstatus[DW_FAM_COUNT];   /* ... with this result, */
	int64_t verify_wall[DW_FAM_COUNT];    /* ... at this unix time, */
	char vmsg[DW_FAM_COUNT][384];         /* ... finding this */
	char vproblem[DW_FAM_COUNT][384];     /* "unknown" last logged at info level */
};

/* Sets rc up for r: families active as configured, nothing desired yet,
 * published as the state file st says (its age carried into the loop's
 * clock, so the next re-assertion counts from the real last success), and
 * the provider's memo for r handed back (provider.h memo_set). */
void dmn_rec_init(struct dmn_rec *rc, struct dw_record *r, const struct dw_state *st);

/* After a reload, rc (fresh from dmn_rec_init) is the same name and provider
 * as old: it keeps old's results, backoff, publication and drift checks
 * (the next one's time included); a desired
 * address only while the family's source keeps its kind (polled or not).
 * A reload is the user acting, so a parked record gets another try. */
void dmn_rec_carry(struct dmn_rec *rc, const struct dmn_rec *old);
