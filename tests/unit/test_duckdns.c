/* DuckDNS replies (OK/KO and the verbose lines) and sub-domain names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "providers/duckdns.h"

#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"

enum sent_kind { S4, S6, S46 };

struct vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	enum sent_kind sent;
	enum dw_outcome want;
	long want_retry;
	const char *want_in_msg;
};

static const struct vec vecs[] = {
	{ "updated-v4", 200, "OK\n" V4 "\n\nUPDATED", -1, S4, DW_OUT_DONE, -1, NULL },
	{ "updated-v4-other-v6", 200, "OK\n" V4 "\n2001:db8::1\nUPDATED", -1, S4, DW_OUT_DONE, -1,
	  NULL },
	{ "updated-v6", 200, "OK\n\n" V6 "\nUPDATED\n", -1, S6, DW_OUT_DONE, -1, NULL },
	{ "updated-both", 200, "OK\n" V4 "\n" V6 "\nUPDATED", -1, S46, DW_OUT_DONE, -1, NULL },
	{ "updated-crlf", 200, "OK\r\n" V4 "\r\n" V6 "\r\nUPDATED\r\n", -1, S46, DW_OUT_DONE, -1,
	  NULL },
	{ "nochange", 200, "OK\n" V4 "\n\nNOCHANGE", -1, S4, DW_OUT_UNCHANGED, -1, "NOCHANGE" },
	{ "nochange-both", 200, "OK\n" V4 "\n" V6 "\nNOCHANGE", -1, S46, DW_OUT_UNCHANGED, -1,
	  NULL },
	{ "ok-terse", 200, "OK", -1, S4, DW_OUT_DONE, -1, NULL },
	{ "ko", 200, "KO", -1, S4, DW_OUT_FATAL, -1, "token-file" },
	{ "ko-newline", 200, "KO\n", -1, S46, DW_OUT_FATAL, -1, NULL },
	{ "429", 429, "", 60, S4, DW_OUT_RATELIMIT, 60, NULL },
	{ "500", 500, "OK", -1, S4, DW_OUT_RETRY, 600, "500" },
	{ "404", 404, "OK", -1, S4, DW_OUT_FATAL, -1, "404" },
	{ "301", 301, "", -1, S4, DW_OUT_RETRY, -1, "301" },

	/* The lines must hold what was sent. */
	{ "other-v4", 200, "OK\n192.0.2.1\n\nUPDATED", -1, S4, DW_OUT_FATAL, -1, "another address" },
	{ "blank-v4", 200, "OK\n\n\nUPDATED", -1, S4, DW_OUT_FATAL, -1, NULL },
	{ "other-v6", 200, "OK\n" V4 "\n2001:db8::9\nUPDATED", -1, S46, DW_OUT_FATAL, -1, NULL },
	{ "swapped", 200, "OK\n" V6 "\n" V4 "\nUPDATED", -1, S46, DW_OUT_RETRY, -1, "unparsable" },

	/* Traps. */
	{ "ok-lower", 200, "ok", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "okay", 200, "OKAY\n" V4 "\n\nUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "not-ok", 200, "NOT OK", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "kok", 200, "KOK", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "updated-lower", 200, "OK\n" V4 "\n\nupdated", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "notupdated", 200, "OK\n" V4 "\n\nNOTUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "short", 200, "OK\n" V4 "\nUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "long", 200, "OK\n" V4 "\n\nUPDATED\nUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "bad-addr", 200, "OK\n81.2.69.1600\n\nUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "spaces", 200, "OK\n " V4 "\n\nUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "html", 200, "<html>OK</html>", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "empty", 200, "", -1, S4, DW_OUT_RETRY, -1, "empty" },
	{ "nul", 200, "OK\0", -1, S4, DW_OUT_RETRY, -1, NULL },
	{ "many-lines", 200, "OK\n\n\n\n\n\n\nUPDATED", -1, S4, DW_OUT_RETRY, -1, NULL },
};

static void test_vectors(void **state)
{
	(void)state;
	struct dw_ip v4, v6;
	assert_int_equal(dw_ip_parse(V4, DW_FAM_V4, &v4), 0);
	assert_int_equal(dw_ip_parse(V6, DW_FAM_V6, &v6), 0);
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		const struct dw_ip *sent[DW_FAM_COUNT] = {
			v->sent == S4 || v->sent == S46 ? &v4 : NULL,
			v->sent == S6 || v->sent == S46 ? &v6 : NULL,
		};
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		size_t len = strlen(v->body);
		if (strcmp(v->name, "nul") == 0)
			len++;
		dw_duckdns_classify(v->status, v->body, len, v->retry_after, sent, &res);
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
		if (v->want_retry >= 0 && res.retry_after_s != v->want_retry)
			fail_msg("%s: retry_after %ld, want %ld", v->name, res.retry_after_s, v->want_retry);
		if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
	}
}

struct txt_vec {
	const char *name;
	const char *body;
	const char *value;
	enum dw_outcome want;
};

static const struct txt_vec txt_vecs[] = {
	{ "set", "OK\nabc\nUPDATED", "abc", DW_OUT_DONE },
	{ "same", "OK\nabc\nNOCHANGE\n", "abc", DW_OUT_UNCHANGED },
	{ "cleared", "OK\n\nUPDATED", "", DW_OUT_DONE },
	{ "terse", "OK", "abc", DW_OUT_DONE },
	{ "ko", "KO", "abc", DW_OUT_FATAL },
	{ "other-value", "OK\nabd\nUPDATED", "abc", DW_OUT_FATAL },
	{ "value-prefix", "OK\nabcd\nUPDATED", "abc", DW_OUT_FATAL },
	{ "not-cleared", "OK\nabc\nUPDATED", "", DW_OUT_FATAL },
	{ "ip-form", "OK\n" V4 "\n\nUPDATED", "abc", DW_OUT_RETRY },
	{ "garbage", "nogood", "abc", DW_OUT_RETRY },
};

static void test_txt(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(txt_vecs) / sizeof(txt_vecs[0]); i++) {
		const struct txt_vec *v = &txt_vecs[i];
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		dw_duckdns_classify_txt(200, v->body, strlen(v->body), -1, v->value, &res);
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
	}
}

static void test_subdomain(void **state)
{
	(void)state;
	char sub[64];
	assert_int_equal(dw_duckdns_subdomain("home.duckdns.org", false, sub, sizeof(sub)), 0);
	assert_string_equal(sub, "home");
	assert_int_equal(dw_duckdns_subdomain("Home.DuckDNS.org.", false, sub, sizeof(sub)), 0);
	assert_string_equal(sub, "home");
	assert_int_equal(dw_duckdns_subdomain("_acme-challenge.home.duckdns.org", false, sub,
	                                      sizeof(sub)), -1);
	assert_int_equal(dw_duckdns_subdomain("_acme-challenge.home.duckdns.org", true, sub,
	                                      sizeof(sub)), 0);
	assert_string_equal(sub, "home");
	assert_int_equal(dw_duckdns_subdomain("duckdns.org", true, sub, sizeof(sub)), -1);
	assert_int_equal(dw_duckdns_subdomain(".duckdns.org", true, sub, sizeof(sub)), -1);
	assert_int_equal(dw_duckdns_subdomain("home.notduckdns.org", false, sub, sizeof(sub)), -1);
	assert_int_equal(dw_duckdns_subdomain("home.duckdns.org.evil", false, sub, sizeof(sub)), -1);
	assert_int_equal(dw_duckdns_subdomain("home.example.com", false, sub, sizeof(sub)), -1);
	assert_int_equal(dw_duckdns_subdomain("home.duckdns.org", false, sub, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_subdomain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
