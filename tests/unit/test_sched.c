/* Scheduler state machine with a fake clock: backoff growth and jitter
 * bounds, Retry-After, fatal parking, re-assertion, forcing, drift checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/sched.h"

static struct dw_sched_params P;
static struct dw_ip A1, A2;

static int setup(void **state)
{
	(void)state;
	dw_sched_defaults(&P);
	P.backoff_base_ms = 1000;
	P.backoff_max_ms = 60000;
	P.max_interval_ms = 86400000;
	P.retry_after_max_ms = 3600000;
	P.verify_interval_ms = 10000;
	dw_ip_parse("192.0.2.1", DW_FAM_V4, &A1);
	dw_ip_parse("192.0.2.2", DW_FAM_V4, &A2);
	return 0;
}

static struct dw_result res_of(enum dw_outcome o, long ra)
{
	struct dw_result r = { .outcome = o, .retry_after_s = ra };
	return r;
}

/* A v4-only record wanting A1. */
static void rec_v4(struct dw_sched_rec *r)
{
	dw_sched_init(r);
	r->fam[DW_FAM_V4].active = true;
	dw_sched_set_desired(r, DW_FAM_V4, &A1);
}

/* Begins and completes one attempt at now with outcome o. */
static void attempt(struct dw_sched_rec *r, uint64_t now, enum dw_outcome o, long ra, uint32_t rnd)
{
	bool pub[DW_FAM_COUNT];
	assert_true(dw_sched_begin(r, &P, now, pub));
	assert_true(pub[DW_FAM_V4]);
	assert_false(pub[DW_FAM_V6]);
	struct dw_result res[DW_FAM_COUNT] = { res_of(o, ra), res_of(DW_OUT_RETRY, -1) };
	dw_sched_done(r, &P, now, res, rnd);
}

static void test_backoff_bounds(void **state)
{
	(void)state;
	static const struct { unsigned failures; uint64_t lo, hi; } v[] = {
		{ 1, 500, 1000 }, { 2, 1000, 2000 }, { 3, 2000, 4000 }, { 4, 4000, 8000 },
		{ 6, 16000, 32000 }, { 7, 30000, 60000 }, { 8, 30000, 60000 }, { 60, 30000, 60000 },
		{ 1000, 30000, 60000 },
	};
	static const uint32_t rnds[] = { 0, 1, 499, 500, 12345, 0x7fffffff, 0xffffffff };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (size_t j = 0; j < sizeof(rnds) / sizeof(rnds[0]); j++) {
			uint64_t d = dw_sched_backoff(&P, v[i].failures, rnds[j]);
			assert_in_range(d, v[i].lo, v[i].hi);
		}
		assert_int_equal(dw_sched_backoff(&P, v[i].failures, 0), v[i].lo);
	}
}

static void test_first_publish_and_in_sync(void **state)
{
	(void)state;
	struct dw_sched_rec r;
	rec_v4(&r);
	assert_int_equal(dw_sched_next(&r, &P, 100), 0);
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 100), "pending");
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V6, &P, 100), "off");
	bool pub[DW_FAM_COUNT];
	assert_true(dw_sched_begin(&r, &P, 100, pub));
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 100), "publishing");
	/* One in flight per record. */
	assert_false(dw_sched_begin(&r, &P, 100, pub));
	assert_int_equal(dw_sched_next(&r, &P, 100), DW_SCHED_NEVER);
	/* The address changes meanwhile: picked up after completion. */
	dw_sched_set_desired(&r, DW_FAM_V4, &A2);
	struct dw_result res[DW_FAM_COUNT] = { res_of(DW_OUT_DONE, -1), res_of(DW_OUT_RETRY, -1) };
	dw_sched_done(&r, &P, 200, res, 0);
	assert_true(r.fam[DW_FAM_V4].have_published);
	assert_true(dw_ip_equal(&r.fam[DW_FAM_V4].published, &A1));
	assert_int_equal(dw_sched_next(&r, &P, 200), 0);
	attempt(&r, 300, DW_OUT_UNCHANGED, -1, 0);
	assert_true(dw_ip_equal(&r.fam[DW_FAM_V4].published, &A2));
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 300), "in-sync");
	/* In sync: next is the re-assertion. */
	assert_int_equal(dw_sched_next(&r, &P, 300), 300 + P.max_interval_ms);
}

static void test_retry_backoff_growth(void **state)
{
	(void)state;
	struct dw_sched_rec r;
	rec_v4(&r);
	uint64_t now = 1000;
	uint64_t prev_lo = 0;
	for (unsigned i = 1; i <= 10; i++) {
		attempt(&r, now, DW_OUT_RETRY, -1, 0xdeadbeefu * i);
		uint64_t next = dw_sched_next(&r, &P, now);
		uint64_t d = next - now;
		uint64_t full = P.backoff_base_ms << (i - 1);
		if (full > P.backoff_max_ms)
			full = P.backoff_max_ms;
		assert_in_range(d, full / 2, full);
		assert_true(full / 2 >= prev_lo);
		prev_lo = full / 2;
		assert_int_equal(r.fam[DW_FAM_V4].failures, i);
		assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, now), "backoff");
		/* Not a millisecond early. */
		bool pub[DW_FAM_COUNT];
		assert_false(dw_sched_begin(&r, &P, next - 1, pub));
		now = next;
	}
	/* Success resets the count. */
	attempt(&r, now, DW_OUT_DONE, -1, 0);
	assert_int_equal(r.fam[DW_FAM_V4].failures, 0);
	assert_int_equal(r.fam[DW_FAM_V4].retry_at, 0);
}

static void test_retry_after(void **state)
{
	(void)state;
	static const struct { enum dw_outcome o; long ra; uint64_t lo, hi; } v[] = {
		{ DW_OUT_RATELIMIT, 120, 120000, 120000 },     /* hint above backoff: exact */
		{ DW_OUT_RATELIMIT, 0, 500, 1000 },            /* hint below backoff: backoff */
		{ DW_OUT_RATELIMIT, -1, 500, 1000 },           /* no hint: backoff */
		{ DW_OUT_RETRY, 30, 30000, 30000 },            /* 503 + Retry-After */
		{ DW_OUT_RATELIMIT, 10000000, 3600000, 3600000 },  /* capped */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_sched_rec r;
		rec_v4(&r);
		attempt(&r, 5000, v[i].o, v[i].ra, 0);
		uint64_t d = dw_sched_next(&r, &P, 5000) - 5000;
		assert_in_range(d, v[i].lo, v[i].hi);
		assert_false(r.fam[DW_FAM_V4].parked);
	}
}

static void test_fatal_parks(void **state)
{
	(void)state;
	struct dw_sched_rec r;
	rec_v4(&r);
	attempt(&r, 10, DW_OUT_FATAL, -1, 0);
	assert_true(r.fam[DW_FAM_V4].parked);
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 10), "parked");
	assert_int_equal(dw_sched_next(&r, &P, 10), DW_SCHED_NEVER);
	/* A new address does not unpark: a bad token stays bad. */
	dw_sched_set_desired(&r, DW_FAM_V4, &A2);
	bool pub[DW_FAM_COUNT];
	assert_false(dw_sched_begin(&r, &P, 1000000000, pub));
	/* A configuration change does. */
	dw_sched_unpark(&r);
	assert_int_equal(dw_sched_next(&r, &P, 20), 0);
	attempt(&r, 20, DW_OUT_FATAL, -1, 0);
	/* So does forcing. */
	dw_sched_force(&r);
	attempt(&r, 30, DW_OUT_DONE, -1, 0);
	assert_false(r.fam[DW_FAM_V4].parked);
}

static void test_reassert_and_force(void **state)
{
	(void)state;
	struct dw_sched_rec r;
	rec_v4(&r);
	dw_sched_set_published(&r, DW_FAM_V4, &A1, 1000);
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 1000), "in-sync");
	assert_int_equal(dw_sched_next(&r, &P, 1000), 1000 + P.max_interval_ms);
	bool pub[DW_FAM_COUNT];
	assert_false(dw_sched_begin(&r, &P, 1000 + P.max_interval_ms - 1, pub));
	attempt(&r, 1000 + P.max_interval_ms, DW_OUT_UNCHANGED, -1, 0);
	assert_int_equal(r.fam[DW_FAM_V4].published_at, 1000 + P.max_interval_ms);

	/* max-interval 0: never re-asserted. */
	struct dw_sched_params q = P;
	q.max_interval_ms = 0;
	assert_int_equal(dw_sched_next(&r, &q, 5), DW_SCHED_NEVER);

	/* Forcing publishes in sync records and skips backoff. */
	dw_sched_force(&r);
	assert_int_equal(dw_sched_next(&r, &q, 5), 0);
	assert_true(dw_sched_begin(&r, &q, 5, pub));
	assert_false(r.force);
	struct dw_result res[DW_FAM_COUNT] = { res_of(DW_OUT_RETRY, -1), res_of(DW_OUT_RETRY, -1) };
	dw_sched_done(&r, &q, 5, res, 0);
	assert_true(r.fam[DW_FAM_V4].retry_at > 5);
	dw_sched_force(&r);
	assert_true(dw_sched_begin(&r, &q, 6, pub));
	dw_sched_abort(&r);
	assert_false(r.inflight);
}

static void test_dual_stack_independent(void **state)
{
	(void)state;
	struct dw_ip B;
	dw_ip_parse("2001:db8::1", DW_FAM_V6, &B);
	struct dw_sched_rec r;
	rec_v4(&r);
	r.fam[DW_FAM_V6].active = true;
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V6, &P, 0), "no-address");
	dw_sched_set_desired(&r, DW_FAM_V6, &B);
	bool pub[DW_FAM_COUNT];
	assert_true(dw_sched_begin(&r, &P, 0, pub));
	assert_true(pub[DW_FAM_V4] && pub[DW_FAM_V6]);
	struct dw_result res[DW_FAM_COUNT] = { res_of(DW_OUT_DONE, -1), res_of(DW_OUT_RETRY, -1) };
	dw_sched_done(&r, &P, 0, res, 0);
	/* Only v6 retries, after its backoff. */
	uint64_t next = dw_sched_next(&r, &P, 0);
	assert_in_range(next, 500, 1000);
	assert_true(dw_sched_begin(&r, &P, next, pub));
	assert_false(pub[DW_FAM_V4]);
	assert_true(pub[DW_FAM_V6]);
}

static void test_verify_delay_bounds(void **state)
{
	(void)state;
	static const uint32_t rnds[] = { 0, 1, 1999, 2000, 2001, 12345, 0x7fffffff, 0xffffffff };
	for (size_t j = 0; j < sizeof(rnds) / sizeof(rnds[0]); j++)
		assert_in_range(dw_sched_verify_delay(&P, rnds[j]), 8000, 10000);
	assert_int_equal(dw_sched_verify_delay(&P, 0), 10000);
	assert_int_equal(dw_sched_verify_delay(&P, 2000), 8000);
	struct dw_sched_params off = P;
	off.verify_interval_ms = 0;
	assert_int_equal(dw_sched_verify_delay(&off, 5), DW_SCHED_NEVER);
	struct dw_sched_rec r;
	rec_v4(&r);
	dw_sched_verify_arm(&r, &off, 100, 0);
	assert_int_equal(dw_sched_verify_next(&r, &off), DW_SCHED_NEVER);
	/* far in the future, no overflow */
	struct dw_sched_params big = P;
	big.verify_interval_ms = UINT64_MAX - 5;
	dw_sched_verify_arm(&r, &big, 1000, 0);
	assert_int_equal(r.verify_at, DW_SCHED_NEVER);
}

static void test_verify_cycle(void **state)
{
	(void)state;
	struct dw_sched_rec r;
	bool ver[DW_FAM_COUNT];
	rec_v4(&r);
	/* Not armed, nothing published: no check. */
	assert_false(dw_sched_verify_begin(&r, &P, 0, 0, ver));
	attempt(&r, 1000, DW_OUT_DONE, -1, 0);
	/* A success arms the check one interval later. */
	assert_int_equal(dw_sched_verify_next(&r, &P), 11000);
	assert_false(dw_sched_verify_begin(&r, &P, 10999, 0, ver));
	assert_true(dw_sched_verify_begin(&r, &P, 11000, 0, ver));
	assert_true(ver[DW_FAM_V4]);
	assert_false(ver[DW_FAM_V6]);
	/* The check is the record's one job: no publish, no second check. */
	bool pub[DW_FAM_COUNT];
	dw_sched_force(&r);
	assert_false(dw_sched_begin(&r, &P, 11000, pub));
	r.force = false;
	assert_int_equal(dw_sched_verify_next(&r, &P), DW_SCHED_NEVER);
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 11000), "in-sync");
	/* It stands: nothing to publish, next check later. */
	bool drift[DW_FAM_COUNT] = { false, false };
	dw_sched_verify_done(&r, &P, 11500, drift, 0);
	assert_false(dw_sched_needs(&r, DW_FAM_V4, &P, 11500));
	assert_int_equal(dw_sched_verify_next(&r, &P), 21500);
	assert_int_equal(dw_sched_next(&r, &P, 11500), 1000 + P.max_interval_ms);
	/* It drifted: the family is due at once, and its publish clears it. */
	assert_true(dw_sched_verify_begin(&r, &P, 21500, 0, ver));
	drift[DW_FAM_V4] = true;
	dw_sched_verify_done(&r, &P, 21600, drift, 0);
	assert_true(r.fam[DW_FAM_V4].drifted);
	assert_true(dw_sched_needs(&r, DW_FAM_V4, &P, 21600));
	assert_string_equal(dw_sched_state_name(&r, DW_FAM_V4, &P, 21600), "pending");
	assert_int_equal(dw_sched_next(&r, &P, 21600), 0);
	/* no check of a drifted family while its repair is due */
	r.verify_at = 0 + 1;
	assert_false(dw_sched_verify_begin(&r, &P, 21600, 0, ver));
	assert_int_equal(r.verify_at, 31600);   /* re-armed instead */
	attempt(&r, 21700, DW_OUT_DONE, -1, 2000);
	assert_false(r.fam[DW_FAM_V4].drifted);
	assert_false(dw_sched_needs(&r, DW_FAM_V4, &P, 21700));
	assert_int_equal(dw_sched_verify_next(&r, &P), 21700 + 8000);
}

static void test_verify_skips_what_is_not_in_sync(void **state)
{
	(void)state;
	struct dw_sched_rec r;
	bool ver[DW_FAM_COUNT];
	rec_v4(&r);
	attempt(&r, 1000, DW_OUT_DONE, -1, 0);
	/* a new address waits to be published: the check leaves it alone */
	dw_sched_set_desired(&r, DW_FAM_V4, &A2);
	assert_false(dw_sched_verify_begin(&r, &P, 11000, 0, ver));
	assert_false(ver[DW_FAM_V4]);
	/* failing and parked families are not checked either */
	attempt(&r, 11000, DW_OUT_RETRY, -1, 0);
	r.verify_at = 11001;
	assert_false(dw_sched_verify_begin(&r, &P, 11001, 0, ver));
	dw_sched_set_desired(&r, DW_FAM_V4, &A1);   /* back to what is published */
	r.fam[DW_FAM_V4].failures = 0;
	r.fam[DW_FAM_V4].retry_at = 0;
	r.fam[DW_FAM_V4].parked = true;
	r.verify_at = 11002;
	assert_false(dw_sched_verify_begin(&r, &P, 11002, 0, ver));
	/* a check abandoned (shutdown) leaves nothing in flight */
	r.fam[DW_FAM_V4].parked = false;
	r.verify_at = 11003;
	assert_true(dw_sched_verify_begin(&r, &P, 11003, 0, ver));
	dw_sched_abort(&r);
	assert_false(r.inflight);
	assert_false(r.fam[DW_FAM_V4].verifying);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_first_publish_and_in_sync),
		cmocka_unit_test(test_retry_backoff_growth),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_fatal_parks),
		cmocka_unit_test(test_reassert_and_force),
		cmocka_unit_test(test_dual_stack_independent),
		cmocka_unit_test(test_verify_delay_bounds),
		cmocka_unit_test(test_verify_cycle),
		cmocka_unit_test(test_verify_skips_what_is_not_in_sync),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
