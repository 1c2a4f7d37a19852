/* deSEC: dynDNS reply classification (exact first line, status codes) and
 * the TXT RRset read-modify-write decisions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "providers/desec.h"

#define HOST "home.dedyn.io"

static void test_classify_update(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		long status;
		const char *body;
		enum dw_outcome want;
		const char *want_in_msg;
	} v[] = {
		{ "good", 200, "good", DW_OUT_DONE, HOST },
		{ "good-nl", 200, "good\n", DW_OUT_DONE, NULL },
		{ "good-crlf", 200, "good\r\n", DW_OUT_DONE, NULL },
		/* Traps: "good" inside other words or lines is not success. */
		{ "nogood", 200, "nogood", DW_OUT_RETRY, "\"nogood\"" },
		{ "goodbye", 200, "goodbye", DW_OUT_RETRY, "unparsable" },
		{ "good-space", 200, "good ", DW_OUT_RETRY, NULL },
		{ "space-good", 200, " good", DW_OUT_RETRY, NULL },
		{ "GOOD", 200, "GOOD", DW_OUT_RETRY, NULL },
		{ "second-line", 200, "badauth\ngood", DW_OUT_RETRY, "badauth" },
		{ "nul", 200, "good\0", DW_OUT_RETRY, NULL },
		{ "empty", 200, "", DW_OUT_RETRY, "unparsable" },
		{ "html", 200, "<html>good</html>", DW_OUT_RETRY, NULL },
		{ "401", 401, "badauth", DW_OUT_FATAL, "check token-file" },
		{ "400", 400, "{\"detail\":\"ambiguous\"}", DW_OUT_FATAL, "invalid or ambiguous" },
		{ "404", 404, "nohost", DW_OUT_FATAL, "does not know host " HOST },
		{ "403", 403, "", DW_OUT_FATAL, "HTTP 403" },
		{ "429", 429, "", DW_OUT_RATELIMIT, "deSEC rate limit (HTTP 429)" },
		{ "500-good", 500, "good", DW_OUT_RETRY, "server error (HTTP 500)" },
		{ "503", 503, "", DW_OUT_RETRY, "503" },
		{ "204", 204, "", DW_OUT_RETRY, "unexpected HTTP status 204" },
		{ "302", 302, "good", DW_OUT_RETRY, "302" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		size_t len = strcmp(v[i].name, "nul") == 0 ? 5 : strlen(v[i].body);
		long ra = v[i].status == 429 ? 42 : -1;
		dw_desec_classify_update(v[i].status, v[i].body, len, ra, HOST, "token-file", &res);
		if (res.outcome != v[i].want)
			fail_msg("%s: %s (%s)", v[i].name, dw_outcome_str(res.outcome), res.msg);
		if (v[i].want_in_msg != NULL && strstr(res.msg, v[i].want_in_msg) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", v[i].name, res.msg, v[i].want_in_msg);
		if (v[i].want == DW_OUT_RATELIMIT && res.retry_after_s != 42)
			fail_msg("%s: retry %ld", v[i].name, res.retry_after_s);
	}
	/* Without Retry-After, the hint stays absent. */
	struct dw_result res;
	dw_desec_classify_update(429, "", 0, -1, HOST, "token-file", &res);
	assert_int_equal(res.outcome, DW_OUT_RATELIMIT);
	assert_int_equal(res.retry_after_s, -1);
}

#define RRSET(sub, ttl, records) \
	"{\"created\":\"2024-01-01T00:00:00Z\",\"domain\":\"dedyn.io\",\"subname\":\"" sub "\"," \
	"\"name\":\"" sub ".dedyn.io.\",\"type\":\"TXT\",\"records\":" records ",\"ttl\":" ttl "}"

static void test_parse_rrset(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *body;
		int want;
		size_t n;
	} v[] = {
		{ "one", RRSET("_acme-challenge", "3600", "[\"\\\"abc\\\"\"]"), 0, 1 },
		{ "two", RRSET("_acme-challenge", "3600", "[\"\\\"abc\\\"\",\"\\\"def\\\"\"]"), 0, 2 },
		{ "no-subname", "{\"type\":\"TXT\",\"ttl\":3600,\"records\":[]}", 0, 0 },
		{ "other-subname", RRSET("_acme-challengex", "3600", "[]"), DW_EPARSE, 0 },
		{ "other-type", "{\"type\":\"A\",\"ttl\":3600,\"records\":[\"1.2.3.4\"]}", DW_EPARSE, 0 },
		{ "ttl-string", RRSET("_acme-challenge", "\"3600\"", "[]"), DW_EPARSE, 0 },
		{ "record-number", RRSET("_acme-challenge", "3600", "[1]"), DW_EPARSE, 0 },
		{ "records-string", RRSET("_acme-challenge", "3600", "\"abc\""), DW_EPARSE, 0 },
		{ "garbage", "<html>", DW_EPARSE, 0 },
		{ "array", "[]", DW_EPARSE, 0 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_desec_rrset rr;
		int rc = dw_desec_parse_rrset(v[i].body, strlen(v[i].body), "_acme-challenge", &rr);
		if (rc != v[i].want || rr.n != v[i].n)
			fail_msg("%s: %d n %zu", v[i].name, rc, rr.n);
		dw_desec_rrset_free(&rr);
	}
}

#define ARRSET(type, ttl, records) \
	"{\"domain\":\"dedyn.io\",\"subname\":\"home\",\"name\":\"home.dedyn.io.\"," \
	"\"type\":\"" type "\",\"records\":" records ",\"ttl\":" ttl "}"

static void test_verify_get(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		long status;
		const char *body;
		const char *sent;
		enum dw_verify_status want;
		const char *want_in_msg;
	} v[] = {
		{ "same", 200, ARRSET("A", "60", "[\"81.2.69.160\"]"), "81.2.69.160", DW_VERIFY_STANDS,
		  "deSEC holds A 81.2.69.160" },
		{ "same-v6-other-text", 200, ARRSET("AAAA", "3600", "[\"2a01:04f8::3\"]"), "2a01:4f8::3",
		  DW_VERIFY_STANDS, NULL },
		{ "other", 200, ARRSET("A", "60", "[\"192.0.2.1\"]"), "81.2.69.160", DW_VERIFY_DRIFTED,
		  "holds 1 record (192.0.2.1), not exactly 81.2.69.160" },
		{ "two", 200, ARRSET("A", "60", "[\"81.2.69.160\",\"192.0.2.1\"]"), "81.2.69.160",
		  DW_VERIFY_DRIFTED, "2 records" },
		{ "absent", 404, "{\"detail\":\"Not found.\"}", "81.2.69.160", DW_VERIFY_DRIFTED,
		  "no A RRset" },
		{ "wrong-type", 200, ARRSET("TXT", "60", "[\"81.2.69.160\"]"), "81.2.69.160",
		  DW_VERIFY_UNKNOWN, "unparsable" },
		{ "garbage", 200, "<html>", "81.2.69.160", DW_VERIFY_UNKNOWN, "unparsable" },
		{ "401", 401, "{\"detail\":\"Invalid token.\"}", "81.2.69.160", DW_VERIFY_UNKNOWN,
		  NULL },
		{ "429", 429, "{\"detail\":\"Request was throttled.\"}", "81.2.69.160",
		  DW_VERIFY_UNKNOWN, NULL },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_ip sent;
		assert_int_equal(dw_ip_parse_any(v[i].sent, &sent), 0);
		struct dw_verify out = { .status = DW_VERIFY_STANDS, .msg = "" };
		dw_desec_verify_get(v[i].status, v[i].body, strlen(v[i].body), -1, "dedyn.io", "home",
		                    &sent, &out);
		if (out.status != v[i].want)
			fail_msg("%s: %s (%s)", v[i].name, dw_verify_str(out.status), out.msg);
		if (v[i].want_in_msg != NULL && strstr(out.msg, v[i].want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v[i].name, out.msg, v[i].want_in_msg);
	}
}

static struct dw_desec_rrset rrset_of(const char *const *recs)
{
	struct dw_desec_rrset rr;
	memset(&rr, 0, sizeof(rr));
	rr.ttl = 3600;
	for (size_t i = 0; recs[i] != NULL; i++)
		rr.records[rr.n++] = strdup(recs[i]);
	return rr;
}

static void test_txt_plan(void **state)
{
	(void)state;
	static const char *const none[] = { NULL };
	static const char *const one_a[] = { "\"aaa\"", NULL };
	static const char *const two[] = { "\"aaa\"", "\"bbb\"", NULL };
	static const char *const bare[] = { "aaa", NULL };
	static const char *const near[] = { "\"aaaa\"", NULL };
	static const struct {
		const char *name;
		const char *const *cur;     /* NULL = no RRset */
		bool add;
		const char *value;
		uint32_t ttl;
		enum dw_desec_write want;
		const char *want_body;
	} v[] = {
		{ "create", NULL, true, "aaa", 60, DW_DESEC_POST,
		  "{\"subname\":\"_acme-challenge\",\"type\":\"TXT\",\"ttl\":3600,"
		  "\"records\":[\"\\\"aaa\\\"\"]}" },
		{ "create-ttl", NULL, true, "aaa", 7200, DW_DESEC_POST,
		  "{\"subname\":\"_acme-challenge\",\"type\":\"TXT\",\"ttl\":7200,"
		  "\"records\":[\"\\\"aaa\\\"\"]}" },
		{ "append", one_a, true, "bbb", 60, DW_DESEC_PATCH,
		  "{\"records\":[\"\\\"aaa\\\"\",\"\\\"bbb\\\"\"]}" },
		{ "empty-rrset", none, true, "bbb", 60, DW_DESEC_PATCH,
		  "{\"records\":[\"\\\"bbb\\\"\"]}" },
		{ "present", one_a, true, "aaa", 60, DW_DESEC_NONE, NULL },
		{ "present-bare", bare, true, "aaa", 60, DW_DESEC_NONE, NULL },
		{ "near-is-not-present", near, true, "aaa", 60, DW_DESEC_PATCH,
		  "{\"records\":[\"\\\"aaaa\\\"\",\"\\\"aaa\\\"\"]}" },
		{ "del-one", two, false, "aaa", 0, DW_DESEC_PATCH, "{\"records\":[\"\\\"bbb\\\"\"]}" },
		{ "del-last", one_a, false, "aaa", 0, DW_DESEC_DELETE, NULL },
		{ "del-absent", one_a, false, "bbb", 0, DW_DESEC_NONE, NULL },
		{ "del-near", near, false, "aaa", 0, DW_DESEC_NONE, NULL },
		{ "del-no-rrset", NULL, false, "aaa", 0, DW_DESEC_NONE, NULL },
		{ "quote-escape", NULL, true, "a\"b", 3600, DW_DESEC_POST,
		  "{\"subname\":\"_acme-challenge\",\"type\":\"TXT\",\"ttl\":3600,"
		  "\"records\":[\"\\\"a\\\\\\\"b\\\"\"]}" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_desec_rrset rr;
		if (v[i].cur != NULL)
			rr = rrset_of(v[i].cur);
		enum dw_desec_write how;
		char *body;
		int rc = dw_desec_txt_plan(v[i].cur != NULL ? &rr : NULL, "_acme-challenge", v[i].value,
		                           v[i].add, v[i].ttl, &how, &body);
		if (rc != 0 || how != v[i].want)
			fail_msg("%s: rc %d how %d", v[i].name, rc, (int)how);
		if ((body == NULL) != (v[i].want_body == NULL) ||
		    (body != NULL && strcmp(body, v[i].want_body) != 0))
			fail_msg("%s: body %s, want %s", v[i].name, body ? body : "NULL",
			         v[i].want_body ? v[i].want_body : "NULL");
		free(body);
		if (v[i].cur != NULL)
			dw_desec_rrset_free(&rr);
	}
	enum dw_desec_write how;
	char *body;
	assert_int_equal(dw_desec_txt_plan(NULL, "x", "", true, 0, &how, &body), DW_EINVAL);
	assert_int_equal(dw_desec_txt_plan(NULL, "x", "a\nb", true, 0, &how, &body), DW_EINVAL);
	assert_null(body);
	/* A full RRset cannot take one more value. */
	struct dw_desec_rrset full;
	memset(&full, 0, sizeof(full));
	for (size_t i = 0; i < DW_DESEC_RECORDS_MAX; i++) {
		char b[16];
		snprintf(b, sizeof(b), "\"v%zu\"", i);
		full.records[full.n++] = strdup(b);
	}
	assert_int_equal(dw_desec_txt_plan(&full, "x", "new", true, 0, &how, &body), DW_ETOOBIG);
	dw_desec_rrset_free(&full);
}

static void test_classify_rest(void **state)
{
	(void)state;
	static const struct {
		long status;
		const char *body;
		enum dw_outcome want;
		const char *want_in_msg;
	} v[] = {
		{ 401, "{\"detail\":\"Invalid token.\"}", DW_OUT_FATAL, "check token-file" },
		{ 403, "{\"detail\":\"Insufficient token permissions.\"}", DW_OUT_FATAL,
		  "Insufficient token permissions." },
		{ 404, "{\"detail\":\"Not found.\"}", DW_OUT_FATAL, "domain dedyn.io not found" },
		{ 400, "{\"detail\":\"TTL too low\"}", DW_OUT_FATAL, "TTL too low" },
		{ 400, "{\"ttl\":[\"too low\"]}", DW_OUT_FATAL, "no detail" },
		{ 429, "{\"detail\":\"Request was throttled.\"}", DW_OUT_RATELIMIT, "deSEC rate limit (HTTP 429)" },
		{ 500, "", DW_OUT_RETRY, "server error" },
		{ 200, "garbage", DW_OUT_RETRY, "unparsable" },
		{ 301, "", DW_OUT_RETRY, "unexpected HTTP status 301" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE };
		dw_desec_classify_rest(v[i].status, v[i].body, strlen(v[i].body),
		                       v[i].status == 429 ? 42 : -1, "dedyn.io", &res);
		if (res.outcome != v[i].want || strstr(res.msg, v[i].want_in_msg) == NULL)
			fail_msg("%ld: %s \"%s\"", v[i].status, dw_outcome_str(res.outcome), res.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_update),
		cmocka_unit_test(test_parse_rrset),
		cmocka_unit_test(test_verify_get),
		cmocka_unit_test(test_txt_plan),
		cmocka_unit_test(test_classify_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
