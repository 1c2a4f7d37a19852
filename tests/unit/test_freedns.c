/* FreeDNS v2 reply classification: exact words, never substrings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "providers/freedns.h"

#define HOST "home.mooo.com"
#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"

struct vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	const char *sent;            /* V4 or V6 */
	enum dw_outcome want;
	long want_retry;             /* checked for RATELIMIT */
	const char *want_in_msg;     /* substring the message must show, or NULL */
};

static const struct vec vecs[] = {
	/* The documented replies. */
	{ "updated", 200, "Updated " HOST " from 192.0.2.1 to " V4, -1, V4, DW_OUT_DONE, -1, NULL },
	{ "updated-crlf", 200, "Updated " HOST " from 192.0.2.1 to " V4 "\r\nmore\n", -1, V4,
	  DW_OUT_DONE, -1, NULL },
	{ "updated-v6", 200, "Updated " HOST " from 2a01:4f8::1 to " V6 "\n", -1, V6, DW_OUT_DONE,
	  -1, NULL },
	{ "updated-v6-long-form", 200,
	  "Updated " HOST " from 2a01:4f8::1 to 2a01:04f8:0001:0002:0000:0000:0000:0003", -1, V6,
	  DW_OUT_DONE, -1, NULL },
	{ "updated-host-case", 200, "Updated HOME.Mooo.com. from 192.0.2.1 to " V4, -1, V4,
	  DW_OUT_DONE, -1, NULL },
	{ "unchanged", 200, "No IP change detected for " HOST " with IP " V4 ", skipping update\n",
	  -1, V4, DW_OUT_UNCHANGED, -1, NULL },
	{ "unchanged-v6", 200, "No IP change detected for " HOST " with IP " V6 ", skipping update",
	  -1, V6, DW_OUT_UNCHANGED, -1, NULL },
	{ "error", 200, "ERROR: Unable to locate this record", -1, V4, DW_OUT_FATAL, -1,
	  "Unable to locate this record" },
	{ "error-bare", 200, "ERROR:", -1, V4, DW_OUT_FATAL, -1, "token-a-file" },
	{ "error-v6-key", 200, "ERROR: Invalid update URL (2)\n", -1, V6, DW_OUT_FATAL, -1,
	  "token-aaaa-file" },
	{ "not-found", 200, "Couldn't find any matching DNS records for the token", -1, V4,
	  DW_OUT_FATAL, -1, "unknown record/token" },
	{ "not-found-dots", 200, "Couldn't find any matching DNS records...", -1, V4, DW_OUT_FATAL,
	  -1, "unknown record/token" },

	/* HTTP status decides before the body. */
	{ "429", 429, "Updated " HOST " from 192.0.2.1 to " V4, 120, V4, DW_OUT_RATELIMIT, 120,
	  "FreeDNS rate limit (HTTP 429)" },
	{ "429-no-hint", 429, "", -1, V4, DW_OUT_RATELIMIT, -1, "no Retry-After" },
	{ "500", 500, "Updated " HOST " from 192.0.2.1 to " V4, -1, V4, DW_OUT_RETRY, -1, "500" },
	{ "503", 503, "", 30, V4, DW_OUT_RETRY, -1, "503" },
	{ "401", 401, "", -1, V4, DW_OUT_FATAL, -1, "token-a-file" },
	{ "403", 403, "", -1, V6, DW_OUT_FATAL, -1, "token-aaaa-file" },
	{ "404", 404, "Updated " HOST " from 192.0.2.1 to " V4, -1, V4, DW_OUT_FATAL, -1, "404" },
	{ "400", 400, "", -1, V4, DW_OUT_FATAL, -1, "400" },
	{ "204", 204, "", -1, V4, DW_OUT_RETRY, -1, "204" },
	{ "302-unfollowed", 302, "", -1, V4, DW_OUT_RETRY, -1, "302" },

	/* Traps: success words inside other text must not count. */
	{ "nogood", 200, "nogood", -1, V4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good", 200, "good " V4, -1, V4, DW_OUT_RETRY, -1, "unparsable" },
	{ "notupdated", 200, "NotUpdated " HOST " from 192.0.2.1 to " V4, -1, V4, DW_OUT_RETRY, -1,
	  "unparsable" },
	{ "updated-lower", 200, "updated " HOST " from 192.0.2.1 to " V4, -1, V4, DW_OUT_RETRY, -1,
	  NULL },
	{ "updated-inside", 200, "Not Updated " HOST " from 192.0.2.1 to " V4, -1, V4, DW_OUT_RETRY,
	  -1, NULL },
	{ "updated-second-line", 200, "Maintenance\nUpdated " HOST " from 192.0.2.1 to " V4, -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "updated-trailing", 200, "Updated " HOST " from 192.0.2.1 to " V4 " in 0.1 seconds", -1,
	  V4, DW_OUT_RETRY, -1, NULL },
	{ "updated-double-space", 200, "Updated  " HOST " from 192.0.2.1 to " V4, -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "updated-leading-space", 200, " Updated " HOST " from 192.0.2.1 to " V4, -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "updated-trailing-space", 200, "Updated " HOST " from 192.0.2.1 to " V4 " ", -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "updated-bad-addr", 200, "Updated " HOST " from 192.0.2.1 to 81.2.69.1600", -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "updated-wrong-family", 200, "Updated " HOST " from 192.0.2.1 to " V4, -1, V6,
	  DW_OUT_RETRY, -1, NULL },
	{ "updated-nul", 200, "Updated " HOST " from 192.0.2.1 to 81.2.69.160\0", -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "error-inside", 200, "NO ERROR: all good", -1, V4, DW_OUT_RETRY, -1, "unparsable" },
	{ "error-no-colon", 200, "ERRORS happen", -1, V4, DW_OUT_RETRY, -1, "unparsable" },
	{ "error-no-space", 200, "ERROR:x", -1, V4, DW_OUT_RETRY, -1, "unparsable" },
	{ "error-lower", 200, "error: nope", -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "not-found-inside", 200, "We Couldn't find any matching DNS records", -1, V4,
	  DW_OUT_RETRY, -1, NULL },
	{ "not-found-glued", 200, "Couldn't find any matching DNS recordsets", -1, V4, DW_OUT_RETRY,
	  -1, NULL },
	{ "unchanged-no-comma", 200, "No IP change detected for " HOST " with IP " V4
	  " skipping update", -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "unchanged-extra", 200, "No IP change detected for " HOST " with IP " V4
	  ", skipping update, maybe", -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "unchanged-prefix", 200, "Yes No IP change detected for " HOST " with IP " V4
	  ", skipping update", -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "empty", 200, "", -1, V4, DW_OUT_RETRY, -1, "empty" },
	{ "newline-only", 200, "\n", -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "html", 200, "<html><body>Updated</body></html>", -1, V4, DW_OUT_RETRY, -1, "unparsable" },

	/* The reply must be about our host and our address. */
	{ "updated-other-addr", 200, "Updated " HOST " from 192.0.2.1 to 203.0.113.9", -1, V4,
	  DW_OUT_FATAL, -1, "another address" },
	{ "unchanged-other-addr", 200, "No IP change detected for " HOST
	  " with IP 203.0.113.9, skipping update", -1, V4, DW_OUT_FATAL, -1, "another address" },
	{ "updated-other-host", 200, "Updated other.mooo.com from 192.0.2.1 to " V4, -1, V4,
	  DW_OUT_FATAL, -1, "another host" },
	{ "updated-host-suffix", 200, "Updated xhome.mooo.com from 192.0.2.1 to " V4, -1, V4,
	  DW_OUT_FATAL, -1, "another host" },
	{ "unchanged-other-host", 200, "No IP change detected for home.mooo.co with IP " V4
	  ", skipping update", -1, V4, DW_OUT_FATAL, -1, "another host" },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct dw_ip sent;
		enum dw_family fam = strchr(v->sent, ':') != NULL ? DW_FAM_V6 : DW_FAM_V4;
		assert_int_equal(dw_ip_parse(v->sent, fam, &sent), 0);
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		size_t len = strlen(v->body);
		if (strcmp(v->name, "updated-nul") == 0)
			len++;   /* the NUL is part of the reply */
		dw_freedns_classify(v->status, v->body, len, v->retry_after, HOST, &sent, &res);
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
		if (v->want == DW_OUT_RATELIMIT && res.retry_after_s != v->want_retry)
			fail_msg("%s: retry_after %ld, want %ld", v->name, res.retry_after_s, v->want_retry);
		if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
		if (res.msg[0] == '\0')
			fail_msg("%s: empty message", v->name);
	}
}

/* host NULL skips the host check but not the address check. */
static void test_no_host(void **state)
{
	(void)state;
	struct dw_ip sent;
	struct dw_result res;
	assert_int_equal(dw_ip_parse(V4, DW_FAM_V4, &sent), 0);
	const char *b = "Updated anything.example from 192.0.2.1 to " V4;
	dw_freedns_classify(200, b, strlen(b), -1, NULL, &sent, &res);
	assert_int_equal(res.outcome, DW_OUT_DONE);
}

/* Server text is quoted bounded and sanitised, not raw. */
static void test_sample_sanitised(void **state)
{
	(void)state;
	struct dw_ip sent;
	struct dw_result res;
	char body[2048];
	assert_int_equal(dw_ip_parse(V4, DW_FAM_V4, &sent), 0);

	const char esc[] = "ERROR: bad\x1b[31mred\x7f";
	dw_freedns_classify(200, esc, sizeof(esc) - 1, -1, HOST, &sent, &res);
	assert_int_equal(res.outcome, DW_OUT_FATAL);
	assert_null(strchr(res.msg, '\x1b'));
	assert_null(strchr(res.msg, '\x7f'));

	memset(body, 'A', sizeof(body));
	memcpy(body, "ERROR: ", 7);
	dw_freedns_classify(200, body, sizeof(body), -1, HOST, &sent, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);   /* first line over the limit */
	assert_true(strlen(res.msg) < 200);

	memset(body, 'A', 400);
	memcpy(body, "ERROR: ", 7);
	dw_freedns_classify(200, body, 400, -1, HOST, &sent, &res);
	assert_int_equal(res.outcome, DW_OUT_FATAL);
	assert_true(strlen(res.msg) < 220);
	assert_non_null(strstr(res.msg, "..."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_no_host),
		cmocka_unit_test(test_sample_sanitised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
