/* The daemon's per-record, per-family state machine.  Pure logic: no I/O,
 * no clock, no randomness of its own; the caller passes "now" (milliseconds
 * of any monotonic clock) and a random number, so tests drive it with a fake
 * clock.
 *
 * For each family of a record it keeps the desired address (what the source
 * says now), the published one (what the provider last accepted) and the last
 * result.  A family needs publishing when it has a desired address and
 *   - nothing is known to be published, or a different address is, or
 *   - the published one is older than max_interval (re-assert before a
 *     long-lived record could expire at the provider), or
 *   - the user forced it;
 * and may be published when it is not parked and its backoff has passed.
 *
 * Results: done/unchanged -> published; retry -> exponential backoff with
 * jitter; rate-limited -> the same, but never sooner than Retry-After;
 * fatal -> parked until dw_sched_unpark() (configuration reloaded) or
 * dw_sched_force() (the user asked).  One publish per record is in flight at
 * a time; changes seen meanwhile are picked up when it completes.
 *
 * Drift repair (verify_interval): every so often (jittered) the families
 * that are in sync are checked against what the provider or the zone's
 * servers hold (dw_update_verify(), run by the caller between
 * dw_sched_verify_begin() and dw_sched_verify_done(); it counts as the
 * record's one job in flight).  A family found drifted needs publishing
 * again; a successful publish restarts the record's verification clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/provider.h"

#define DW_SCHED_NEVER UINT64_MAX

struct dw_sched_params {
	uint64_t backoff_base_ms;     /* first retry after about this long */
	uint64_t backoff_max_ms;      /* retries never further apart */
	uint64_t max_interval_ms;     /* re-assert after this long; 0 = never */
	uint64_t retry_after_max_ms;  /* a provider's Retry-After is capped here */
	uint64_t verify_interval_ms;  /* check published values this often; 0 = never */
};

struct dw_sched_fam {
	bool active;              /* the family's source is not "off" */
	bool have_desired;
	struct dw_ip desired;
	bool have_published;
	struct dw_ip published;
	uint64_t published_at;    /* when it was accepted (or learnt from state) */
	bool sending;             /* part of the publish in flight ... */
	struct dw_ip sent;        /* ... with this address */
	unsigned failures;        /* consecutive failed attempts */
	uint64_t retry_at;        /* no attempt before this (0 = any time) */
	bool parked;              /* fatal result: waits for the user */
	bool verifying;           /* part of the check in flight */
	bool drifted;             /* a check found something else published */
	bool has_result;          /* an attempt was made since start */
	enum dw_outcome last;     /* its outcome ... */
	uint64_t last_at;         /* ... and when */
	long retry_after_s;       /* its Retry-After hint, -1 none */
};

struct dw_sched_rec {
	struct dw_sched_fam fam[DW_FAM_COUNT];
	bool inflight;
	bool force;               /* next attempt ignores state and backoff */
	uint64_t verify_at;       /* next drift check (0: not armed yet) */
};

/* Fills p with the defaults: base 5 s, max 1 h, max_interval 24 h,
 * Retry-After cap 24 h, verify_interval 4 h. */
void dw_sched_defaults(struct dw_sched_params *p);

/* Zeroes rec: nothing active, nothing known. */
void dw_sched_init(struct dw_sched_rec *rec);

/* Sets what the source says now (ip NULL: nothing usable). */
void dw_sched_set_desired(struct dw_sched_rec *rec, enum dw_family fam, const struct dw_ip *ip);
/* Records ip as published at time at (from the state file or a DNS check). */
void dw_sched_set_published(struct dw_sched_rec *rec, enum dw_family fam, const struct dw_ip *ip,
                            uint64_t at);

/* True when fam needs publishing (ignoring backoff; false when parked). */
bool dw_sched_needs(const struct dw_sched_rec *rec, enum dw_family fam,
                    const struct dw_sched_params *p, uint64_t now);

/* The earliest time at which dw_sched_begin() would start something, now
 * or earlier when something may start at once, DW_SCHED_NEVER when nothing
 * will without a new event (in flight, parked, in sync without re-assert). */
uint64_t dw_sched_next(const struct dw_sched_rec *rec, const struct dw_sched_params *p,
                       uint64_t now);

/* Starts a publish when one may start now: sets pub[f] for each family to
 * send, marks the record in flight and returns true.  Returns false (pub
 * all false) when in flight or nothing is due. */
bool dw_sched_begin(struct dw_sched_rec *rec, const struct dw_sched_params *p, uint64_t now,
                    bool pub[DW_FAM_COUNT]);

/* Applies the results of the publish in flight: res[f] for each family that
 * was sending.  rnd is a uniformly random number for the jitter.  Clears the
 * in-flight mark. */
void dw_sched_done(struct dw_sched_rec *rec, const struct dw_sched_params *p, uint64_t now,
                   const struct dw_result res[DW_FAM_COUNT], uint32_t rnd);

/* Abandons the publish in flight without a result (shutdown, lost worker). */
void dw_sched_abort(struct dw_sched_rec *rec);

/* The delay before retry number `failures` (1 = after the first failure):
 * d = min(max, base * 2^(failures-1)), then a uniform pick in [d/2, d]
 * from rnd ("equal jitter": never sooner than half, never later than d). */
uint64_t dw_sched_backoff(const struct dw_sched_params *p, unsigned failures, uint32_t rnd);

/* The time from one drift check to the next: verify_interval less up to a
 * fifth of it, picked from rnd (records and daemons started together do not
 * all ask at once; never later than the interval).  DW_SCHED_NEVER when
 * checks are off. */
uint64_t dw_sched_verify_delay(const struct dw_sched_params *p, uint32_t rnd);

/* Arms the next check at now + dw_sched_verify_delay() (start, reload). */
void dw_sched_verify_arm(struct dw_sched_rec *rec, const struct dw_sched_params *p,
                         uint64_t now, uint32_t rnd);

/* When the next check is due, or DW_SCHED_NEVER (off, not armed, in flight). */
uint64_t dw_sched_verify_next(const struct dw_sched_rec *rec, const struct dw_sched_params *p);

/* Starts a check when one is due and nothing is in flight: ver[f] says which
 * families to check (active, published, in sync, not parked or backing off:
 * the published address is in rec->fam[f].published); marks the record in
 * flight and returns true.  When one is due but no family can be checked,
 * re-arms it (from rnd) and returns false, as it does when none is due. */
bool dw_sched_verify_begin(struct dw_sched_rec *rec, const struct dw_sched_params *p,
                           uint64_t now, uint32_t rnd, bool ver[DW_FAM_COUNT]);

/* Applies the check in flight: drifted[f] for each family that was being
 * checked marks it as needing a publish (see dw_sched_needs()).  Clears the
 * in-flight mark and arms the next check. */
void dw_sched_verify_done(struct dw_sched_rec *rec, const struct dw_sched_params *p,
                          uint64_t now, const bool drifted[DW_FAM_COUNT], uint32_t rnd);

/* Clears parking and backoff of every family (the configuration changed). */
void dw_sched_unpark(struct dw_sched_rec *rec);
/* dw_sched_unpark() and the next attempt publishes every family that has a
 * desired address, even when in sync. */
void dw_sched_force(struct dw_sched_rec *rec);

/* One word for status output: "off", "no-address", "in-sync", "pending",
 * "backoff", "publishing", "parked". */
const char *dw_sched_state_name(const struct dw_sched_rec *rec, enum dw_family fam,
                                const struct dw_sched_params *p, uint64_t now);
