/* freemyip replies: the first line is exactly OK or ERROR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "providers/freemyip.h"

struct vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	enum dw_outcome want;
	long want_retry;
	const char *want_in_msg;
};

static const struct vec vecs[] = {
	{ "ok", 200, "OK", -1, DW_OUT_DONE, -1, NULL },
	{ "ok-newline", 200, "OK\n", -1, DW_OUT_DONE, -1, NULL },
	{ "ok-crlf", 200, "OK\r\n", -1, DW_OUT_DONE, -1, NULL },
	{ "ok-more-lines", 200, "OK\nsomething else\n", -1, DW_OUT_DONE, -1, NULL },
	{ "error", 200, "ERROR", -1, DW_OUT_FATAL, -1, "token-file" },
	{ "error-newline", 200, "ERROR\n", -1, DW_OUT_FATAL, -1, NULL },
	{ "429", 429, "OK", 90, DW_OUT_RATELIMIT, 90, "freemyip rate limit (HTTP 429)" },
	{ "429-no-hint", 429, "", -1, DW_OUT_RATELIMIT, 600, NULL },
	{ "500", 500, "OK", -1, DW_OUT_RETRY, 600, "500" },
	{ "403", 403, "OK", -1, DW_OUT_FATAL, -1, "403" },
	{ "204", 204, "", -1, DW_OUT_RETRY, -1, "204" },
	/* Traps: "contains OK" is not OK. */
	{ "not-ok", 200, "NOT OK", -1, DW_OUT_RETRY, -1, "unparsable" },
	{ "okay", 200, "OKAY", -1, DW_OUT_RETRY, -1, NULL },
	{ "ok-lower", 200, "ok", -1, DW_OUT_RETRY, -1, NULL },
	{ "ok-space", 200, "OK ", -1, DW_OUT_RETRY, -1, NULL },
	{ "space-ok", 200, " OK", -1, DW_OUT_RETRY, -1, NULL },
	{ "ok-second-line", 200, "Maintenance\nOK", -1, DW_OUT_RETRY, -1, NULL },
	{ "html-ok", 200, "<html>OK</html>", -1, DW_OUT_RETRY, -1, NULL },
	{ "errors", 200, "ERRORS", -1, DW_OUT_RETRY, -1, NULL },
	{ "error-text", 200, "ERROR: bad token", -1, DW_OUT_RETRY, -1, NULL },
	{ "empty", 200, "", -1, DW_OUT_RETRY, -1, "empty" },
	{ "newline", 200, "\n", -1, DW_OUT_RETRY, -1, "empty" },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		dw_freemyip_classify(v->status, v->body, strlen(v->body), v->retry_after, &res);
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
		if (v->want_retry >= 0 && res.retry_after_s != v->want_retry)
			fail_msg("%s: retry_after %ld, want %ld", v->name, res.retry_after_s, v->want_retry);
		if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
		if (res.msg[0] == '\0')
			fail_msg("%s: empty message", v->name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
