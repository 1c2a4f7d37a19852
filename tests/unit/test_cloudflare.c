/* Cloudflare API v4 reply parsing and decisions: exact envelope fields,
 * never substrings; TXT quoting shared with other providers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "providers/cloudflare.h"
#include "providers/txt.h"

#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"
#define ZID "023e105f4ecef8ad9ca31a8372d0c353"
#define RID "372e67954025e0ba6aaa6d586b9e0b59"
#define RID2 "372e67954025e0ba6aaa6d586b9e0b60"

static struct dw_ip ip_of(const char *s)
{
	struct dw_ip ip;
	assert_int_equal(dw_ip_parse_any(s, &ip), 0);
	return ip;
}

/* ---- Zones ---- */

#define OK(result) "{\"success\":true,\"errors\":[],\"messages\":[],\"result\":" result "}"

static void test_parse_zones(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *body;
		int want;
	} v[] = {
		{ "found", OK("[{\"id\":\"" ZID "\",\"name\":\"example.org\",\"status\":\"active\"}]"), 0 },
		{ "found-case", OK("[{\"id\":\"" ZID "\",\"name\":\"Example.ORG\"}]"), 0 },
		{ "found-second", OK("[{\"id\":\"aa\",\"name\":\"example.net\"},"
		                     "{\"id\":\"" ZID "\",\"name\":\"example.org\"}]"), 0 },
		{ "empty", OK("[]"), DW_ENOTFOUND },
		/* Traps: suffix, prefix and near names are other zones. */
		{ "suffix", OK("[{\"id\":\"" ZID "\",\"name\":\"myexample.org\"}]"), DW_ENOTFOUND },
		{ "longer", OK("[{\"id\":\"" ZID "\",\"name\":\"example.org.uk\"}]"), DW_ENOTFOUND },
		{ "two-same", OK("[{\"id\":\"a1\",\"name\":\"example.org\"},"
		                 "{\"id\":\"a2\",\"name\":\"example.org\"}]"), DW_EPARSE },
		{ "success-false", "{\"success\":false,\"errors\":[{\"code\":9109,\"message\":\"x\"}],"
		  "\"result\":[{\"id\":\"" ZID "\",\"name\":\"example.org\"}]}", DW_EPARSE },
		{ "success-string", "{\"success\":\"true\",\"errors\":[],\"result\":[]}", DW_EPARSE },
		{ "errors-nonempty", "{\"success\":true,\"errors\":[{\"code\":1}],\"result\":[]}",
		  DW_EPARSE },
		{ "no-errors", "{\"success\":true,\"result\":[]}", DW_EPARSE },
		{ "result-object", OK("{\"id\":\"" ZID "\",\"name\":\"example.org\"}"), DW_EPARSE },
		{ "id-number", OK("[{\"id\":5,\"name\":\"example.org\"}]"), DW_EPARSE },
		{ "id-slash", OK("[{\"id\":\"../x\",\"name\":\"example.org\"}]"), DW_EPARSE },
		{ "garbage", "<html>example.org " ZID "</html>", DW_EPARSE },
		{ "empty-body", "", DW_EPARSE },
		{ "dup-key", "{\"success\":true,\"success\":true,\"errors\":[],\"result\":[]}", DW_EPARSE },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char id[DW_CF_ID_MAX];
		int rc = dw_cf_parse_zones(v[i].body, strlen(v[i].body), "example.org", id);
		if (rc != v[i].want)
			fail_msg("%s: %d, want %d", v[i].name, rc, v[i].want);
		if (rc == 0 && strcmp(id, ZID) != 0)
			fail_msg("%s: id %s", v[i].name, id);
	}
}

/* ---- Records ---- */

#define REC(id, type, name, content, ttl, proxied) \
	"{\"id\":\"" id "\",\"type\":\"" type "\",\"name\":\"" name "\",\"content\":\"" content \
	"\",\"ttl\":" ttl ",\"proxied\":" proxied "}"
#define PAGE(result, page, total) \
	"{\"success\":true,\"errors\":[],\"messages\":[],\"result\":[" result "]," \
	"\"result_info\":{\"page\":" page ",\"per_page\":100,\"count\":1,\"total_count\":1," \
	"\"total_pages\":" total "}}"

static void test_parse_records(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *body;
		int want;
		size_t n;
		long page, total;
	} v[] = {
		{ "one", PAGE(REC(RID, "A", "home.example.org", V4, "300", "false"), "1", "1"), 0, 1, 1,
		  1 },
		{ "two", PAGE(REC(RID, "A", "home.example.org", V4, "300", "false") ","
		              REC(RID2, "A", "home.example.org", "192.0.2.1", "1", "true"), "2", "3"), 0,
		  2, 2, 3 },
		{ "none", PAGE("", "1", "0"), 0, 0, 1, 0 },
		{ "no-proxied", PAGE("{\"id\":\"" RID "\",\"type\":\"A\",\"name\":\"home.example.org\","
		                     "\"content\":\"" V4 "\",\"ttl\":60}", "1", "1"), 0, 1, 1, 1 },
		{ "name-case", PAGE(REC(RID, "A", "Home.Example.org", V4, "300", "false"), "1", "1"), 0, 1,
		  1, 1 },
		/* Traps: another name or type in the listing is not our record. */
		{ "other-name", PAGE(REC(RID, "A", "xhome.example.org", V4, "300", "false"), "1", "1"),
		  DW_EPARSE, 0, 0, 0 },
		{ "other-type", PAGE(REC(RID, "AAAA", "home.example.org", V6, "300", "false"), "1", "1"),
		  DW_EPARSE, 0, 0, 0 },
		{ "ttl-string", PAGE(REC(RID, "A", "home.example.org", V4, "\"300\"", "false"), "1", "1"),
		  DW_EPARSE, 0, 0, 0 },
		{ "ttl-zero", PAGE(REC(RID, "A", "home.example.org", V4, "0", "false"), "1", "1"),
		  DW_EPARSE, 0, 0, 0 },
		{ "proxied-string", PAGE(REC(RID, "A", "home.example.org", V4, "300", "\"no\""), "1",
		                         "1"), DW_EPARSE, 0, 0, 0 },
		{ "no-info", OK("[" REC(RID, "A", "home.example.org", V4, "300", "false") "]"), DW_EPARSE,
		  0, 0, 0 },
		{ "page-zero", PAGE("", "0", "0"), DW_EPARSE, 0, 0, 0 },
		{ "not-success", "{\"success\":false,\"errors\":[],\"result\":[],\"result_info\":"
		  "{\"page\":1,\"total_pages\":1}}", DW_EPARSE, 0, 0, 0 },
		{ "garbage", "<html>" V4 "</html>", DW_EPARSE, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_cf_records l = { 0 };
		long page = -1, total = -1;
		int rc = dw_cf_parse_records(v[i].body, strlen(v[i].body), "A", "home.example.org", &l,
		                             &page, &total);
		if (rc != v[i].want)
			fail_msg("%s: %d, want %d", v[i].name, rc, v[i].want);
		if (rc == 0 && (l.n != v[i].n || page != v[i].page || total != v[i].total))
			fail_msg("%s: n %zu page %ld total %ld", v[i].name, l.n, page, total);
		dw_cf_records_free(&l);
	}
}

static void test_records_accumulate_and_cap(void **state)
{
	(void)state;
	struct dw_cf_records l = { 0 };
	long page, total;
	const char *b = PAGE(REC(RID, "A", "home.example.org", V4, "300", "false"), "1", "2");
	for (int i = 0; i < DW_CF_RECORDS_MAX; i++)
		assert_int_equal(dw_cf_parse_records(b, strlen(b), "A", "home.example.org", &l, &page,
		                                     &total), 0);
	assert_int_equal(l.n, DW_CF_RECORDS_MAX);
	assert_int_equal(dw_cf_parse_records(b, strlen(b), "A", "home.example.org", &l, &page, &total),
	                 DW_ETOOBIG);
	dw_cf_records_free(&l);
}

/* ---- Plan ---- */

static struct dw_cf_record rec(const char *id, const char *content, long ttl, int proxied)
{
	struct dw_cf_record r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.content, sizeof(r.content), "%s", content);
	r.ttl = ttl;
	r.proxied = proxied;
	return r;
}

static void test_plan(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *contents[3];
		long ttl[3];
		int proxied[3];
		uint32_t want_ttl_cfg;
		int setting;
		enum dw_cf_action want;
		size_t keep;
		uint32_t sent_ttl;
	} v[] = {
		{ "none", { NULL }, { 0 }, { 0 }, 300, -1, DW_CF_CREATE, 0, 300 },
		{ "none-proxied", { NULL }, { 0 }, { 0 }, 300, 1, DW_CF_CREATE, 0, 1 },
		{ "same", { V4 }, { 300 }, { 0 }, 300, -1, DW_CF_KEEP, 0, 300 },
		{ "same-auto-ttl", { V4 }, { 1 }, { 0 }, 1, -1, DW_CF_KEEP, 0, 1 },
		{ "other-ttl", { V4 }, { 3600 }, { 0 }, 300, -1, DW_CF_PATCH, 0, 300 },
		{ "other-addr", { "192.0.2.1" }, { 300 }, { 0 }, 300, -1, DW_CF_PATCH, 0, 300 },
		/* proxied: unset keeps the record's; a proxied record's TTL is 1. */
		{ "proxied-kept", { V4 }, { 1 }, { 1 }, 300, -1, DW_CF_KEEP, 0, 1 },
		{ "proxied-wanted", { V4 }, { 300 }, { 0 }, 300, 1, DW_CF_PATCH, 0, 1 },
		{ "unproxy", { V4 }, { 1 }, { 1 }, 300, 0, DW_CF_PATCH, 0, 300 },
		{ "proxied-same", { V4 }, { 1 }, { 1 }, 300, 1, DW_CF_KEEP, 0, 1 },
		/* Several records: keep the matching one (the rest is deleted). */
		{ "match-second", { "192.0.2.1", V4, "192.0.2.2" }, { 300, 300, 300 }, { 0, 0, 0 }, 300,
		  -1, DW_CF_KEEP, 1, 300 },
		{ "match-none", { "192.0.2.1", "192.0.2.2" }, { 300, 300 }, { 0, 0 }, 300, -1,
		  DW_CF_PATCH, 0, 300 },
		/* Traps: text that merely contains the address. */
		{ "substring", { V4 "0" }, { 300 }, { 0 }, 300, -1, DW_CF_PATCH, 0, 300 },
		{ "padded", { " " V4 }, { 300 }, { 0 }, 300, -1, DW_CF_PATCH, 0, 300 },
	};
	struct dw_ip a = ip_of(V4);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_cf_record rs[3];
		struct dw_cf_records l = { rs, 0, 3 };
		for (size_t k = 0; k < 3 && v[i].contents[k] != NULL; k++)
			rs[l.n++] = rec(k == 0 ? RID : RID2, v[i].contents[k], v[i].ttl[k], v[i].proxied[k]);
		struct dw_cf_plan plan;
		dw_cf_plan_address(&l, &a, v[i].want_ttl_cfg, v[i].setting, &plan);
		if (plan.action != v[i].want || plan.keep != v[i].keep || plan.ttl != v[i].sent_ttl ||
		    plan.proxied != v[i].setting)
			fail_msg("%s: action %d keep %zu ttl %u proxied %d", v[i].name, (int)plan.action,
			         plan.keep, (unsigned)plan.ttl, plan.proxied);
	}
	/* Any textual form of an IPv6 address matches. */
	struct dw_ip a6 = ip_of(V6);
	struct dw_cf_record r6 = rec(RID, "2a01:04f8:0001:0002:0000:0000:0000:0003", 300, 0);
	struct dw_cf_records l6 = { &r6, 1, 1 };
	struct dw_cf_plan plan;
	dw_cf_plan_address(&l6, &a6, 300, -1, &plan);
	assert_int_equal(plan.action, DW_CF_KEEP);
}

static void test_verify_list(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *contents[3];
		enum dw_verify_status want;
		const char *want_in_msg;
	} v[] = {
		{ "same", { V4 }, DW_VERIFY_STANDS, "Cloudflare holds A " V4 },
		{ "none", { NULL }, DW_VERIFY_DRIFTED, "no A record" },
		{ "other", { "192.0.2.1" }, DW_VERIFY_DRIFTED, "1 A record (192.0.2.1), not exactly" },
		{ "same-and-other", { V4, "192.0.2.1" }, DW_VERIFY_DRIFTED, "2 A records" },
		{ "substring", { V4 "0" }, DW_VERIFY_DRIFTED, NULL },
	};
	struct dw_ip a = ip_of(V4);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_cf_record rs[3];
		struct dw_cf_records l = { rs, 0, 3 };
		for (size_t k = 0; k < 3 && v[i].contents[k] != NULL; k++)
			rs[l.n++] = rec(k == 0 ? RID : RID2, v[i].contents[k], 300, 0);
		struct dw_verify out;
		dw_cf_verify_list(&l, "A", &a, &out);
		if (out.status != v[i].want)
			fail_msg("%s: %s (%s)", v[i].name, dw_verify_str(out.status), out.msg);
		if (v[i].want_in_msg != NULL && strstr(out.msg, v[i].want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v[i].name, out.msg, v[i].want_in_msg);
	}
	/* proxied, another TTL, another spelling of the address: still stands */
	struct dw_ip a6 = ip_of(V6);
	struct dw_cf_record r6 = rec(RID, "2a01:04f8:0001:0002:0000:0000:0000:0003", 1, 1);
	struct dw_cf_records l6 = { &r6, 1, 1 };
	struct dw_verify out;
	dw_cf_verify_list(&l6, "AAAA", &a6, &out);
	assert_int_equal(out.status, DW_VERIFY_STANDS);
}

/* ---- Errors and writes ---- */

struct err_vec {
	const char *name;
	long status;
	const char *body;
	enum dw_outcome want;
	const char *want_in_msg;
};

static void test_classify_error(void **state)
{
	(void)state;
	static const struct err_vec v[] = {
		{ "401", 401, "{\"success\":false,\"errors\":[{\"code\":10000,\"message\":"
		  "\"Authentication error\"}]}", DW_OUT_FATAL, "10000: Authentication error" },
		{ "403", 403, "{\"success\":false,\"errors\":[{\"code\":9109,\"message\":"
		  "\"Invalid access token\"}]}", DW_OUT_FATAL, "check token-file" },
		{ "403-zone", 403, "", DW_OUT_FATAL, "Zone:DNS:Edit on zone example.org" },
		{ "429", 429, "", DW_OUT_RATELIMIT, "Cloudflare rate limit (HTTP 429)" },
		{ "500", 500, "<html>", DW_OUT_RETRY, "server error (HTTP 500)" },
		{ "400", 400, "{\"success\":false,\"errors\":[{\"code\":81057,\"message\":"
		  "\"Record already exists.\"}]}", DW_OUT_FATAL, "81057: Record already exists." },
		{ "400-no-json", 400, "bad", DW_OUT_FATAL, "no error message" },
		{ "404", 404, "{\"success\":false,\"errors\":[{\"code\":7003,\"message\":"
		  "\"Could not route\"}]}", DW_OUT_FATAL, "7003" },
		{ "200-false", 200, "{\"success\":false,\"errors\":[]}", DW_OUT_RETRY, "unparsable" },
		{ "302", 302, "", DW_OUT_RETRY, "unexpected HTTP status 302" },
		{ "msg-control", 400, "{\"success\":false,\"errors\":[{\"code\":1,\"message\":"
		  "\"a\\u001bb\"}]}", DW_OUT_FATAL, "1: a?b" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		long ra = v[i].status == 429 ? 42 : -1;
		dw_cf_classify_error(v[i].status, v[i].body, strlen(v[i].body), ra, "token-file",
		                     "example.org", &res);
		if (res.outcome != v[i].want)
			fail_msg("%s: %s (%s)", v[i].name, dw_outcome_str(res.outcome), res.msg);
		if (strstr(res.msg, v[i].want_in_msg) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", v[i].name, res.msg, v[i].want_in_msg);
		if (v[i].want == DW_OUT_RATELIMIT && res.retry_after_s != 42)
			fail_msg("%s: retry %ld", v[i].name, res.retry_after_s);
	}
}

static void test_after_write(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		long status;
		const char *body;
		const char *want_id, *want_content;
		bool ok;
		enum dw_outcome want;
	} v[] = {
		{ "ok", 200, OK("{\"id\":\"" RID "\",\"content\":\"" V4 "\"}"), RID, V4, true, 0 },
		{ "ok-any-id", 200, OK("{\"id\":\"" RID "\",\"content\":\"" V4 "\"}"), NULL, V4, true, 0 },
		{ "delete", 200, OK("{\"id\":\"" RID "\"}"), RID, NULL, true, 0 },
		{ "other-id", 200, OK("{\"id\":\"" RID2 "\"}"), RID, NULL, false, DW_OUT_RETRY },
		{ "other-content", 200, OK("{\"id\":\"" RID "\",\"content\":\"" V4 "0\"}"), RID, V4,
		  false, DW_OUT_RETRY },
		{ "no-result", 200, "{\"success\":true,\"errors\":[]}", RID, NULL, false, DW_OUT_RETRY },
		{ "false", 200, "{\"success\":false,\"errors\":[],\"result\":{\"id\":\"" RID "\"}}", RID,
		  NULL, false, DW_OUT_RETRY },
		{ "201", 201, OK("{\"id\":\"" RID "\"}"), RID, NULL, false, DW_OUT_RETRY },
		{ "403", 403, "", RID, NULL, false, DW_OUT_FATAL },
		{ "429", 429, "", RID, NULL, false, DW_OUT_RATELIMIT },
		{ "503", 503, "", RID, NULL, false, DW_OUT_RETRY },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
		bool ok = dw_cf_after_write(v[i].status, v[i].body, strlen(v[i].body), -1, "token-file",
		                            "example.org", v[i].want_id, v[i].want_content, &res);
		if (ok != v[i].ok || (!ok && res.outcome != v[i].want))
			fail_msg("%s: ok %d outcome %s (%s)", v[i].name, ok, dw_outcome_str(res.outcome),
			         res.msg);
	}
}

/* ---- TXT values ---- */

static void test_txt_quote(void **state)
{
	(void)state;
	char out[DW_TXT_QUOTED_MAX];
	assert_int_equal(dw_txt_quote("abc-_DEF123", out, sizeof(out)), 0);
	assert_string_equal(out, "\"abc-_DEF123\"");
	assert_int_equal(dw_txt_quote("a\"b\\c d", out, sizeof(out)), 0);
	assert_string_equal(out, "\"a\\\"b\\\\c d\"");
	assert_int_equal(dw_txt_quote("", out, sizeof(out)), DW_EINVAL);
	assert_int_equal(dw_txt_quote("a\nb", out, sizeof(out)), DW_EINVAL);
	assert_int_equal(dw_txt_quote("caf\xc3\xa9", out, sizeof(out)), DW_EINVAL);
	char big[300];
	memset(big, 'x', 256);
	big[256] = '\0';
	assert_int_equal(dw_txt_quote(big, out, sizeof(out)), DW_EINVAL);
	big[255] = '\0';
	assert_int_equal(dw_txt_quote(big, out, sizeof(out)), 0);
	memset(big, '"', 255);
	assert_int_equal(dw_txt_quote(big, out, sizeof(out)), 0);   /* worst case fits */
	assert_int_equal(strlen(out), 2 * 255 + 2);
	assert_int_equal(dw_txt_quote("abc", out, 5), DW_ETOOBIG);
	assert_string_equal(out, "");
}

static void test_txt_matches(void **state)
{
	(void)state;
	static const struct {
		const char *content;
		const char *value;
		bool want;
	} v[] = {
		{ "\"abc\"", "abc", true },
		{ "abc", "abc", true },
		{ "\"a\\\"b\"", "a\"b", true },
		{ "\"a\\\\b\"", "a\\b", true },
		/* Traps. */
		{ "\"abcd\"", "abc", false },
		{ "\"abc\" \"d\"", "abc", false },
		{ "\"abc\" \"\"", "abc", false },
		{ "\"ab\"", "abc", false },
		{ "abc ", "abc", false },
		{ "\"abc", "abc", false },
		{ "\"abc\\\"", "abc", false },
		{ "\"\"", "", true },
		{ "x\"abc\"", "abc", false },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (dw_txt_matches(v[i].content, strlen(v[i].content), v[i].value) != v[i].want)
			fail_msg("%s vs %s: want %d", v[i].content, v[i].value, v[i].want);
	}
	assert_false(dw_txt_matches("\"ab\0c\"", 7, "ab"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_zones),
		cmocka_unit_test(test_parse_records),
		cmocka_unit_test(test_records_accumulate_and_cap),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_verify_list),
		cmocka_unit_test(test_classify_error),
		cmocka_unit_test(test_after_write),
		cmocka_unit_test(test_txt_quote),
		cmocka_unit_test(test_txt_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
