/* Hurricane Electric replies: dyndns2 words for addresses and TXT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "providers/he.h"

#define HOST "home.example.com"
#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"

struct vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	const char *sent;            /* V4, V6 or NULL for TXT */
	enum dw_outcome want;
	long want_retry;             /* checked when >= 0 */
	const char *want_in_msg;
};

static const struct vec vecs[] = {
	{ "good", 200, "good " V4, -1, V4, DW_OUT_DONE, -1, "Hurricane Electric updated" },
	{ "good-v6", 200, "good " V6 "\n", -1, V6, DW_OUT_DONE, -1, NULL },
	{ "nochg", 200, "nochg " V4, -1, V4, DW_OUT_UNCHANGED, -1, NULL },
	{ "txt-good", 200, "good", -1, NULL, DW_OUT_DONE, -1, NULL },
	{ "txt-good-echo", 200, "good \"xyz\"", -1, NULL, DW_OUT_DONE, -1, NULL },
	{ "txt-nochg", 200, "nochg", -1, NULL, DW_OUT_UNCHANGED, -1, NULL },
	{ "badauth", 200, "badauth", -1, V4, DW_OUT_FATAL, -1, "key-file" },
	{ "badauth-txt", 200, "badauth", -1, NULL, DW_OUT_FATAL, -1, "txt-key-file" },
	{ "nohost", 200, "nohost", -1, V4, DW_OUT_FATAL, -1, "no such hostname" },
	{ "abuse", 200, "abuse", -1, V4, DW_OUT_FATAL, -1, "abuse" },
	{ "interval", 200, "interval", -1, V4, DW_OUT_RATELIMIT, DW_HE_INTERVAL_S, NULL },
	{ "interval-hint", 200, "interval", 100, V4, DW_OUT_RATELIMIT, 100, NULL },
	{ "911", 200, "911", -1, V4, DW_OUT_RETRY, 600, NULL },
	{ "500", 500, "", -1, V4, DW_OUT_RETRY, 600, NULL },
	{ "429", 429, "", 30, V4, DW_OUT_RATELIMIT, 30, NULL },
	{ "other-addr", 200, "good 192.0.2.1", -1, V4, DW_OUT_FATAL, -1, "another address" },
	{ "nogood", 200, "nogood", -1, V4, DW_OUT_RETRY, -1, "unparsable" },
	{ "txt-nogood", 200, "nogood", -1, NULL, DW_OUT_RETRY, -1, "unparsable" },
	{ "goodbye", 200, "goodbye " V4, -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "two-lines", 200, "good " V4 "\ngood " V4, -1, V4, DW_OUT_RETRY, -1, NULL },
	{ "html", 200, "<html>good</html>", -1, V4, DW_OUT_RETRY, -1, NULL },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct dw_ip ip;
		const struct dw_ip *sent = NULL;
		if (v->sent != NULL) {
			enum dw_family fam = strchr(v->sent, ':') != NULL ? DW_FAM_V6 : DW_FAM_V4;
			assert_int_equal(dw_ip_parse(v->sent, fam, &ip), 0);
			sent = &ip;
		}
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		dw_he_classify(v->status, v->body, strlen(v->body), v->retry_after, HOST, sent, &res);
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
		if (v->want_retry >= 0 && res.retry_after_s != v->want_retry)
			fail_msg("%s: retry_after %ld, want %ld", v->name, res.retry_after_s, v->want_retry);
		if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
