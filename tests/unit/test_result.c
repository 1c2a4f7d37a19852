/* lib/result: outcome names, the shared classification of HTTP transport
 * failures (certificate problems need the user, naming the key to change),
 * rate limits and server errors (the wait is in retry_after_s, never in the
 * message), and zone discovery by suffix probing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/http.h"
#include "lib/provider.h"

static void test_outcome_names(void **state)
{
	(void)state;
	for (int a = 0; a < DW_OUT_COUNT; a++) {
		const char *n = dw_outcome_str((enum dw_outcome)a);
		assert_string_not_equal(n, "unknown");
		assert_null(strchr(n, ' '));
		for (int b = 0; b < a; b++)
			assert_string_not_equal(n, dw_outcome_str((enum dw_outcome)b));
	}
	assert_string_equal(dw_outcome_str(DW_OUT_ACTION), "needs-action");
	assert_true(dw_outcome_needs_user(DW_OUT_ACTION));
	assert_true(dw_outcome_needs_user(DW_OUT_FATAL));
	assert_false(dw_outcome_needs_user(DW_OUT_RETRY));
	assert_false(dw_outcome_ok(DW_OUT_ACTION));
}

static void test_http_wait(void **state)
{
	(void)state;
	static const struct {
		long status, retry_after, fallback;
		const char *detail;
		enum dw_outcome want;
		long want_wait;
		const char *msg;
	} v[] = {
		{ 429, 42, -1, NULL, DW_OUT_RATELIMIT, 42, "X rate limit (HTTP 429)" },
		{ 429, 42, 600, NULL, DW_OUT_RATELIMIT, 42, "X rate limit (HTTP 429)" },
		{ 429, 0, 600, NULL, DW_OUT_RATELIMIT, 0, "X rate limit (HTTP 429)" },
		{ 429, -1, 600, NULL, DW_OUT_RATELIMIT, 600, "X rate limit (HTTP 429) (no Retry-After given)" },
		{ 429, -1, -1, "slow down", DW_OUT_RATELIMIT, -1,
		  "X rate limit (HTTP 429) (no Retry-After given): slow down" },
		{ 503, -1, -1, NULL, DW_OUT_RETRY, -1, "X server error (HTTP 503)" },
		{ 503, 5, 60, NULL, DW_OUT_RETRY, 60, "X server error (HTTP 503)" },
		{ 500, 120, 60, "", DW_OUT_RETRY, 120, "X server error (HTTP 500)" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		dw_result_http_wait(&res, "X", v[i].status, v[i].retry_after, v[i].fallback, v[i].detail);
		if (res.outcome != v[i].want || res.retry_after_s != v[i].want_wait ||
		    strcmp(res.msg, v[i].msg) != 0)
			fail_msg("case %zu: %s %ld \"%s\"", i, dw_outcome_str(res.outcome),
			         res.retry_after_s, res.msg);
		/* The delay is the reporter's to say, once. */
		assert_null(strstr(res.msg, "retry after"));
	}
}

static void test_http_failure(void **state)
{
	(void)state;
	struct dw_provider p = { .name = (char *)"home" };
	static const struct {
		int rc;
		enum dw_tls_problem tls;
		enum dw_outcome want;
		const char *has;
	} v[] = {
		{ DW_EREDIRECT, DW_TLS_NONE, DW_OUT_FATAL, "moved" },
		{ DW_EHTTP, DW_TLS_NONE, DW_OUT_RETRY, "moved" },
		{ DW_ETIMEOUT, DW_TLS_NONE, DW_OUT_RETRY, "moved" },
		{ DW_ETLS, DW_TLS_HANDSHAKE, DW_OUT_RETRY, "moved" },
		{ DW_ETLS, DW_TLS_UNTRUSTED, DW_OUT_ACTION, "set ca-file in [provider home] to a PEM file" },
		{ DW_ETLS, DW_TLS_NAME, DW_OUT_ACTION, "check the host in base-url in [provider home]" },
		{ DW_ETLS, DW_TLS_EXPIRED, DW_OUT_ACTION, "must renew it" },
		{ DW_ETLS, DW_TLS_NOT_YET_VALID, DW_OUT_ACTION, "clock" },
		{ DW_ETLS, DW_TLS_CERT_OTHER, DW_OUT_ACTION, "moved" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_http_resp resp = { .tls = v[i].tls };
		struct dw_diag diag = { "https://x.test/api: it moved" };
		struct dw_result res = { .outcome = DW_OUT_DONE };
		dw_result_http_failure(&res, &p, "Who", v[i].rc, &resp, &diag);
		if (res.outcome != v[i].want || strstr(res.msg, v[i].has) == NULL ||
		    strncmp(res.msg, "Who request failed: https://x.test/api: it moved", 48) != 0)
			fail_msg("case %zu: %s \"%s\"", i, dw_outcome_str(res.outcome), res.msg);
		assert_int_equal(res.retry_after_s, -1);
	}
	/* Without a provider the key is still named. */
	struct dw_http_resp resp = { .tls = DW_TLS_UNTRUSTED };
	struct dw_diag diag = { "d" };
	struct dw_result res;
	dw_result_http_failure(&res, NULL, "Who", DW_ETLS, &resp, &diag);
	assert_int_equal(res.outcome, DW_OUT_ACTION);
	assert_non_null(strstr(res.msg, "set ca-file to"));
}

/* A provider that knows some zones, one of which it may not see. */
struct fake {
	const char *zones[4];
	const char *forbidden;
	const char *fail_at;
	char asked[8][64];
	size_t nasked;
};

static enum dw_zone_probe fake_probe(void *arg, const char *zone, struct dw_result *res)
{
	struct fake *f = arg;
	snprintf(f->asked[f->nasked++], sizeof(f->asked[0]), "%s", zone);
	if (f->fail_at != NULL && strcmp(zone, f->fail_at) == 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "probe of %s failed", zone);
		return DW_ZONE_FAILED;
	}
	if (f->forbidden != NULL && strcmp(zone, f->forbidden) == 0)
		return DW_ZONE_FORBIDDEN;
	for (size_t i = 0; i < 4 && f->zones[i] != NULL; i++)
		if (strcmp(zone, f->zones[i]) == 0)
			return DW_ZONE_FOUND;
	return DW_ZONE_ABSENT;
}

static void test_zone_find(void **state)
{
	(void)state;
	struct dw_result res = { .outcome = DW_OUT_DONE };
	const char *forbidden = "x";

	/* Longest suffix of two labels or more first; never a bare TLD. */
	struct fake f = { .zones = { "example.org", "b.example.org" } };
	const char *z = NULL;
	assert_int_equal(dw_zone_find("a.b.example.org", fake_probe, &f, &z, &forbidden, &res), 1);
	assert_string_equal(z, "b.example.org");
	assert_null(forbidden);
	assert_int_equal(f.nasked, 1);

	struct fake g = { .zones = { "example.org" } };
	assert_int_equal(dw_zone_find("a.b.example.org", fake_probe, &g, &z, NULL, &res), 1);
	assert_string_equal(z, "example.org");
	assert_int_equal(g.nasked, 2);
	assert_string_equal(g.asked[0], "b.example.org");

	/* The name itself last (a record at a zone apex). */
	struct fake h = { .zones = { "example.org" } };
	assert_int_equal(dw_zone_find("example.org", fake_probe, &h, &z, NULL, &res), 1);
	assert_string_equal(z, "example.org");
	assert_int_equal(h.nasked, 1);
	struct fake k = { .zones = { "a.b.example.org" } };
	assert_int_equal(dw_zone_find("a.b.example.org", fake_probe, &k, &z, NULL, &res), 1);
	assert_string_equal(z, "a.b.example.org");
	assert_int_equal(k.nasked, 3);
	assert_string_equal(k.asked[2], "a.b.example.org");

	/* Nothing found: the first forbidden candidate is reported. */
	struct fake m = { .forbidden = "example.org" };
	assert_int_equal(dw_zone_find("a.b.example.org", fake_probe, &m, &z, &forbidden, &res), 0);
	assert_null(z);
	assert_string_equal(forbidden, "example.org");
	assert_int_equal(m.nasked, 3);

	/* A failed probe stops the search with its result. */
	struct fake n = { .zones = { "example.org" }, .fail_at = "b.example.org" };
	assert_int_equal(dw_zone_find("a.b.example.org", fake_probe, &n, &z, NULL, &res), -1);
	assert_null(z);
	assert_int_equal(n.nasked, 1);
	assert_string_equal(res.msg, "probe of b.example.org failed");

	/* A single label is asked as it is. */
	struct fake o = { .zones = { "localhost" } };
	assert_int_equal(dw_zone_find("localhost", fake_probe, &o, &z, NULL, &res), 1);
	assert_string_equal(z, "localhost");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_names),
		cmocka_unit_test(test_http_wait),
		cmocka_unit_test(test_http_failure),
		cmocka_unit_test(test_zone_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
