/* HTTP helpers: Retry-After parsing, percent-encoding, and the failures that
 * need no server (refused schemes, unreachable ports) never quoting secrets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/http.h"

/* 2015-10-21 07:28:00 UTC */
#define NOW 1445412480L

static void test_retry_after(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		long want;
	} v[] = {
		{ "0", 0 },
		{ "120", 120 },
		{ "  30 ", 30 },
		{ "\t7\t", 7 },
		{ "000", 0 },
		{ "99999999999999999999", 2147483647L },       /* saturates, never wraps */
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 0 },        /* now */
		{ "Wed, 21 Oct 2015 07:30:00 GMT", 120 },      /* IMF-fixdate */
		{ "Wednesday, 21-Oct-15 07:29:00 GMT", 60 },   /* obsolete RFC 850 */
		{ "Wed Oct 21 07:28:30 2015", 30 },            /* asctime */
		{ "Tue, 20 Oct 2015 07:28:00 GMT", 0 },        /* past: no wait */
		{ "", -1 },
		{ "   ", -1 },
		{ "-5", -1 },
		{ "+5", -1 },
		{ "5s", -1 },
		{ "1.5", -1 },
		{ "0x10", -1 },
		{ "soon", -1 },
		{ "Jan", -1 },
		{ "Wed, 21 Oct 2015 25:28:00 GMT", -1 },
		{ "Mon, 99 Foo 2015 07:28:00 GMT", -1 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		long got = dw_http_parse_retry_after(v[i].value, NOW);
		if (got != v[i].want)
			fail_msg("Retry-After \"%s\": got %ld, want %ld", v[i].value, got, v[i].want);
	}
	assert_int_equal(dw_http_parse_retry_after(NULL, NOW), -1);
}

static void test_escape(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} v[] = {
		{ "", "" },
		{ "abcXYZ019", "abcXYZ019" },
		{ "-._~", "-._~" },
		{ "a b", "a%20b" },
		{ "a+b", "a%2Bb" },
		{ "a/b?c=d&e#f", "a%2Fb%3Fc%3Dd%26e%23f" },
		{ "@", "%40" },
		{ "2a01:4f8::3", "2a01%3A4f8%3A%3A3" },
		{ "%", "%25" },
		{ "\xc3\xa9", "%C3%A9" },        /* UTF-8 bytes, upper-case hex */
		{ "\x01\x7f", "%01%7F" },
	};
	char out[64];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(dw_http_escape(v[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, v[i].want);
	}
}

static void test_escape_bounds(void **state)
{
	(void)state;
	char out[8];
	/* Exactly fits: 7 characters and the NUL. */
	assert_int_equal(dw_http_escape("abcdefg", out, sizeof(out)), 0);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(dw_http_escape("abcdefgh", out, sizeof(out)), DW_ETOOBIG);
	assert_string_equal(out, "");
	/* An escape never gets cut in half. */
	assert_int_equal(dw_http_escape("abcde/", out, sizeof(out)), DW_ETOOBIG);
	assert_int_equal(dw_http_escape("abcd/", out, sizeof(out)), 0);
	assert_string_equal(out, "abcd%2F");
	assert_int_equal(dw_http_escape("a", out, 0), DW_ETOOBIG);
	assert_int_equal(dw_http_escape("", out, 1), 0);
	assert_string_equal(out, "");
}

/* Plain http is refused before any connection, and the diag names log_url. */
static void test_plain_http_refused(void **state)
{
	(void)state;
	struct dw_http_req req = {
		.url = "http://127.0.0.1:9/u/S3cretT0ken/",
		.log_url = "http://127.0.0.1:9/u/[token]/",
		.timeout_ms = 2000,
	};
	struct dw_http_resp resp;
	struct dw_diag diag = { { 0 } };
	int rc = dw_http_request(&req, &resp, &diag);
	assert_int_equal(rc, DW_EHTTP);
	assert_non_null(strstr(diag.msg, "https"));
	assert_non_null(strstr(diag.msg, "[token]"));
	assert_null(strstr(diag.msg, "S3cretT0ken"));
	assert_null(resp.body);
	dw_http_resp_free(&resp);
}

/* A closed port: transport failure, diag without the secret. */
static void test_unreachable(void **state)
{
	(void)state;
	struct dw_http_req req = {
		.url = "https://127.0.0.1:9/u/S3cretT0ken/?address=81.2.69.160",
		.log_url = "https://127.0.0.1:9/u/[token]/?address=81.2.69.160",
		.bearer = "BearerS3cret",
		.timeout_ms = 2000,
	};
	struct dw_http_resp resp;
	struct dw_diag diag = { { 0 } };
	int rc = dw_http_request(&req, &resp, &diag);
	assert_true(rc == DW_EHTTP || rc == DW_ETIMEOUT);
	assert_non_null(strstr(diag.msg, "[token]"));
	assert_null(strstr(diag.msg, "S3cretT0ken"));
	assert_null(strstr(diag.msg, "BearerS3cret"));
	dw_http_resp_free(&resp);
	dw_http_resp_free(&resp);   /* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_bounds),
		cmocka_unit_test(test_plain_http_refused),
		cmocka_unit_test(test_unreachable),
	};
	if (dw_http_global_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dw_http_global_cleanup();
	return rc;
}
