/* Gandi LiveDNS reply parsing and classification: exact JSON fields and
 * status codes, never substrings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "providers/gandi.h"

#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"

static struct dw_ip ip_of(const char *s)
{
	struct dw_ip ip;
	assert_int_equal(dw_ip_parse_any(s, &ip), 0);
	return ip;
}

/* ---- GET of the record set ---- */

struct get_vec {
	const char *name;
	long status;
	const char *body;
	const char *sent;
	uint32_t ttl;
	int want_next;               /* 1 = WRITE, 0 = FINAL */
	enum dw_outcome want;        /* when FINAL */
	const char *want_in_msg;
};

#define RRSET(ttl, values) \
	"{\"rrset_name\":\"home\",\"rrset_type\":\"A\",\"rrset_ttl\":" ttl \
	",\"rrset_values\":" values ",\"rrset_href\":\"https://x/y\"}"
#define RRSET6(ttl, values) \
	"{\"rrset_name\":\"home\",\"rrset_type\":\"AAAA\",\"rrset_ttl\":" ttl \
	",\"rrset_values\":" values "}"

static const struct get_vec get_vecs[] = {
	{ "same", 200, RRSET("300", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_UNCHANGED, NULL },
	{ "same-v6", 200, RRSET6("600", "[\"" V6 "\"]"), V6, 600, 0, DW_OUT_UNCHANGED, NULL },
	{ "same-v6-other-text", 200, RRSET6("600", "[\"2a01:04f8:1:2:0:0:0:3\"]"), V6, 600, 0,
	  DW_OUT_UNCHANGED, NULL },
	{ "minimal-fields", 200, "{\"rrset_ttl\":300,\"rrset_values\":[\"" V4 "\"]}", V4, 300, 0,
	  DW_OUT_UNCHANGED, NULL },
	{ "other-addr", 200, RRSET("300", "[\"192.0.2.1\"]"), V4, 300, 1, 0, NULL },
	{ "other-ttl", 200, RRSET("3600", "[\"" V4 "\"]"), V4, 300, 1, 0, NULL },
	{ "two-values", 200, RRSET("300", "[\"" V4 "\",\"192.0.2.1\"]"), V4, 300, 1, 0, NULL },
	{ "same-twice", 200, RRSET("300", "[\"" V4 "\",\"" V4 "\"]"), V4, 300, 1, 0, NULL },
	{ "no-values", 200, RRSET("300", "[]"), V4, 300, 1, 0, NULL },
	{ "absent", 404, "{\"code\":404,\"message\":\"Unknown record\",\"object\":\"HTTPNotFound\","
	  "\"cause\":\"Not Found\"}", V4, 300, 1, 0, NULL },
	/* Traps: the address inside another value, as a prefix, or padded. */
	{ "substring", 200, RRSET("300", "[\"" V4 "0\"]"), V4, 300, 1, 0, NULL },
	{ "padded", 200, RRSET("300", "[\" " V4 "\"]"), V4, 300, 1, 0, NULL },
	/* jansson refuses \u0000 in strings (no JSON_ALLOW_NUL): unparsable. */
	{ "nul-inside", 200, RRSET("300", "[\"" V4 "\\u0000x\"]"), V4, 300, 0, DW_OUT_RETRY,
	  "unparsable" },
	{ "address-in-other-field", 200, "{\"rrset_ttl\":300,\"rrset_values\":[],\"note\":\"" V4
	  "\"}", V4, 300, 1, 0, NULL },
	/* Errors and garbage. */
	{ "garbage", 200, "<html>" V4 "</html>", V4, 300, 0, DW_OUT_RETRY, "unparsable" },
	{ "empty", 200, "", V4, 300, 0, DW_OUT_RETRY, "unparsable" },
	{ "truncated", 200, "{\"rrset_ttl\":300,\"rrset_values\":[\"" V4 "\"", V4, 300, 0,
	  DW_OUT_RETRY, "unparsable" },
	{ "array", 200, "[\"" V4 "\"]", V4, 300, 0, DW_OUT_RETRY, "unparsable" },
	{ "ttl-string", 200, RRSET("\"300\"", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "ttl-float", 200, RRSET("300.0", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "ttl-negative", 200, RRSET("-1", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "no-ttl", 200, "{\"rrset_values\":[\"" V4 "\"]}", V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "values-string", 200, RRSET("300", "\"" V4 "\""), V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "values-number", 200, RRSET("300", "[1]"), V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "wrong-type", 200, RRSET6("300", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "duplicate-key", 200, "{\"rrset_ttl\":300,\"rrset_ttl\":300,\"rrset_values\":[\"" V4
	  "\"]}", V4, 300, 0, DW_OUT_RETRY, NULL },
	{ "401", 401, "{\"code\":401,\"message\":\"Unauthorized\",\"object\":\"HTTPUnauthorized\","
	  "\"cause\":\"Unauthorized\"}", V4, 300, 0, DW_OUT_FATAL, "check token-file" },
	{ "403", 403, "{\"code\":403,\"message\":\"Forbidden\"}", V4, 300, 0, DW_OUT_FATAL,
	  "Manage technical configuration' for zone example.org" },
	{ "429", 429, "", V4, 300, 0, DW_OUT_RATELIMIT, "Gandi rate limit (HTTP 429)" },
	{ "500", 500, RRSET("300", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_RETRY, "500" },
	{ "502-garbage", 502, "<html>bad gateway</html>", V4, 300, 0, DW_OUT_RETRY, "502" },
	{ "400", 400, "{\"code\":400,\"message\":\"Bad name\"}", V4, 300, 0, DW_OUT_FATAL,
	  "Bad name" },
	{ "201-on-get", 201, RRSET("300", "[\"" V4 "\"]"), V4, 300, 0, DW_OUT_RETRY, "201" },
};

static void test_after_get(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(get_vecs) / sizeof(get_vecs[0]); i++) {
		const struct get_vec *v = &get_vecs[i];
		struct dw_ip sent = ip_of(v->sent);
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7, .msg = "" };
		long ra = v->status == 429 ? 42 : -1;
		enum dw_gandi_next n = dw_gandi_after_get(v->status, v->body, strlen(v->body), ra,
		                                          "example.org",
		                                          dw_family_rrtype(sent.family), &sent, v->ttl,
		                                          &res);
		if ((n == DW_GANDI_WRITE) != (v->want_next == 1))
			fail_msg("%s: next %d, want %s (%s)", v->name, (int)n,
			         v->want_next ? "WRITE" : "FINAL", res.msg);
		if (n == DW_GANDI_WRITE)
			continue;
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
		if (v->want == DW_OUT_RATELIMIT && res.retry_after_s != 42)
			fail_msg("%s: retry_after %ld", v->name, res.retry_after_s);
		if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
	}
}

/* ---- Drift check ---- */

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
		{ "same", 200, RRSET("300", "[\"" V4 "\"]"), V4, DW_VERIFY_STANDS, "Gandi holds A" },
		{ "same-other-ttl", 200, RRSET("3600", "[\"" V4 "\"]"), V4, DW_VERIFY_STANDS, NULL },
		{ "same-v6-other-text", 200, RRSET6("600", "[\"2a01:04f8:1:2:0:0:0:3\"]"), V6,
		  DW_VERIFY_STANDS, NULL },
		{ "other-addr", 200, RRSET("300", "[\"192.0.2.1\"]"), V4, DW_VERIFY_DRIFTED,
		  "holds 1 value, not exactly " V4 },
		{ "two-values", 200, RRSET("300", "[\"" V4 "\",\"192.0.2.1\"]"), V4,
		  DW_VERIFY_DRIFTED, "2 values" },
		{ "empty", 200, RRSET("300", "[]"), V4, DW_VERIFY_DRIFTED, NULL },
		{ "substring", 200, RRSET("300", "[\"" V4 "0\"]"), V4, DW_VERIFY_DRIFTED, NULL },
		{ "absent", 404, "{\"code\":404,\"message\":\"Unknown record\"}", V4,
		  DW_VERIFY_DRIFTED, "no A record set" },
		{ "garbage", 200, "<html>" V4 "</html>", V4, DW_VERIFY_UNKNOWN, "unparsable" },
		{ "401", 401, "{\"code\":401,\"message\":\"Unauthorized\"}", V4, DW_VERIFY_UNKNOWN,
		  "check token-file" },
		{ "429", 429, "", V4, DW_VERIFY_UNKNOWN, NULL },
		{ "500", 500, RRSET("300", "[\"" V4 "\"]"), V4, DW_VERIFY_UNKNOWN, "500" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_ip sent = ip_of(v[i].sent);
		struct dw_verify out = { .status = DW_VERIFY_STANDS, .msg = "" };
		dw_gandi_verify_get(v[i].status, v[i].body, strlen(v[i].body), -1, "example.org",
		                    dw_family_rrtype(sent.family), &sent, &out);
		if (out.status != v[i].want)
			fail_msg("%s: %s, want %s (%s)", v[i].name, dw_verify_str(out.status),
			         dw_verify_str(v[i].want), out.msg);
		if (v[i].want_in_msg != NULL && strstr(out.msg, v[i].want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v[i].name, out.msg, v[i].want_in_msg);
	}
}

/* ---- PUT ---- */

static void test_after_put(void **state)
{
	(void)state;
	static const struct {
		long status;
		const char *body;
		enum dw_outcome want;
		const char *want_in_msg;
	} v[] = {
		{ 201, "{\"message\":\"DNS Record Created\"}", DW_OUT_DONE, NULL },
		{ 201, "", DW_OUT_DONE, NULL },   /* the status is the contract */
		{ 200, "{\"message\":\"DNS Record Created\"}", DW_OUT_RETRY, "200" },
		{ 204, "", DW_OUT_RETRY, "204" },
		{ 401, "", DW_OUT_FATAL, "Gandi rejected the token (401): check token-file" },
		{ 403, "", DW_OUT_FATAL, "token expired or lacks permission 'Manage technical "
		  "configuration' for zone example.org" },
		{ 404, "{\"code\":404,\"message\":\"The resource could not be found.\"}",
		  DW_OUT_FATAL, "zone example.org not found / not in this organisation" },
		{ 429, "{\"code\":429}", DW_OUT_RATELIMIT, "Retry-After" },
		{ 500, "", DW_OUT_RETRY, "500" },
		{ 599, "", DW_OUT_RETRY, "599" },
		{ 400, "{\"code\":400,\"message\":\"rrset_ttl: must be >= 300\","
		  "\"object\":\"HTTPBadRequest\"}", DW_OUT_FATAL, "must be >= 300" },
		{ 400, "{\"message\":\"bad\x1b[31m\"}", DW_OUT_FATAL, "no message" },   /* not JSON */
		{ 302, "", DW_OUT_RETRY, "302" },
	};
	struct dw_ip sent = ip_of(V4);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE };
		dw_gandi_after_put(v[i].status, v[i].body, strlen(v[i].body), -1, "example.org", &sent,
		                   &res);
		if (res.outcome != v[i].want)
			fail_msg("PUT %ld #%zu: outcome %s (%s)", v[i].status, i,
			         dw_outcome_str(res.outcome), res.msg);
		if (v[i].want_in_msg != NULL && strstr(res.msg, v[i].want_in_msg) == NULL)
			fail_msg("PUT %ld #%zu: \"%s\" lacks \"%s\"", v[i].status, i, res.msg,
			         v[i].want_in_msg);
		if (v[i].want == DW_OUT_RATELIMIT)
			assert_int_equal(res.retry_after_s, -1);
	}
}

/* ---- Zone probe ---- */

static void test_after_probe(void **state)
{
	(void)state;
	static const struct {
		long status;
		enum dw_gandi_probe want;
		enum dw_outcome out;
	} v[] = {
		{ 200, DW_GANDI_PROBE_FOUND, 0 },
		{ 404, DW_GANDI_PROBE_NEXT, 0 },
		{ 403, DW_GANDI_PROBE_FORBIDDEN, 0 },
		{ 401, DW_GANDI_PROBE_FINAL, DW_OUT_FATAL },
		{ 429, DW_GANDI_PROBE_FINAL, DW_OUT_RATELIMIT },
		{ 500, DW_GANDI_PROBE_FINAL, DW_OUT_RETRY },
		{ 201, DW_GANDI_PROBE_FINAL, DW_OUT_RETRY },
		{ 400, DW_GANDI_PROBE_FINAL, DW_OUT_FATAL },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE };
		enum dw_gandi_probe p = dw_gandi_after_probe(v[i].status, "{}", 2, 5, "example.org",
		                                             &res);
		assert_int_equal(p, v[i].want);
		if (p == DW_GANDI_PROBE_FINAL)
			assert_int_equal(res.outcome, v[i].out);
	}
}

/* ---- Parsers directly ---- */

static void test_error_message(void **state)
{
	(void)state;
	char out[200];
	const char *ok = "{\"code\":403,\"message\":\"Token expired\"}";
	assert_int_equal(dw_gandi_error_message(ok, strlen(ok), out, sizeof(out)), 0);
	assert_string_equal(out, "Token expired");

	const char *ctl = "{\"message\":\"a\\u001bb\\nc\"}";
	assert_int_equal(dw_gandi_error_message(ctl, strlen(ctl), out, sizeof(out)), 0);
	assert_string_equal(out, "a?b?c");

	char big[1024];
	int n = snprintf(big, sizeof(big), "{\"message\":\"%0500d\"}", 7);
	assert_true(n > 0 && (size_t)n < sizeof(big));
	assert_int_equal(dw_gandi_error_message(big, (size_t)n, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 160);

	static const char *const bad[] = { "", "null", "[]", "{\"message\":3}", "{", "\"x\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(out, sizeof(out), "stale");
		assert_int_equal(dw_gandi_error_message(bad[i], strlen(bad[i]), out, sizeof(out)),
		                 DW_EPARSE);
		assert_string_equal(out, "");
	}
}

static void test_parse_rrset_counts(void **state)
{
	(void)state;
	struct dw_ip sent = ip_of(V4);
	struct dw_gandi_rrset_check c;
	const char *b = RRSET("1800", "[\"192.0.2.1\",\"192.0.2.2\",\"" V4 "\"]");
	assert_int_equal(dw_gandi_parse_rrset(b, strlen(b), "A", &sent, &c), 0);
	assert_int_equal(c.ttl, 1800);
	assert_int_equal(c.nvalues, 3);
	assert_false(c.values_match);
	/* Not NUL-terminated input is fine: only len bytes are read. */
	char copy[256];
	const char *one = RRSET("300", "[\"" V4 "\"]");
	size_t ol = strlen(one);
	memcpy(copy, one, ol);
	memset(copy + ol, '}', sizeof(copy) - ol);
	assert_int_equal(dw_gandi_parse_rrset(copy, ol, "A", &sent, &c), 0);
	assert_true(c.values_match);
}

/* ---- Configuration ---- */

static char tmpdir[64];
static char token_path[128];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dw-test-gandi-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(token_path, sizeof(token_path), "%s/token", tmpdir);
	FILE *f = fopen(token_path, "w");
	if (f == NULL)
		return -1;
	fputs("pat-0123456789abcdef\n", f);
	fclose(f);
	return chmod(token_path, 0600);
}

static int teardown_dir(void **state)
{
	(void)state;
	unlink(token_path);
	rmdir(tmpdir);
	return 0;
}

static int load(const char *provider_extra, const char *record_extra, struct dw_diag *diag)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
	                 "[dnsward]\nstate-dir = %s\n"
	                 "[provider g]\ntype = gandi\ntoken-file = %s\n%s"
	                 "[record home.example.org]\nprovider = g\nipv4 = static:" V4 "\n%s",
	                 tmpdir, token_path, provider_extra, record_extra);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	struct dw_config *cfg = NULL;
	int rc = dw_config_parse("test.conf", text, (size_t)n, true, &cfg, diag);
	dw_config_free(cfg);
	return rc;
}

static void test_config(void **state)
{
	(void)state;
	struct dw_diag diag = { { 0 } };
	assert_int_equal(load("", "", &diag), 0);
	assert_int_equal(load("zone = example.org\n", "", &diag), 0);
	assert_int_equal(load("zone = Example.ORG.\n", "", &diag), 0);
	assert_int_equal(load("", "zone = home.example.org\n", &diag), 0);   /* apex */
	assert_int_equal(load("sharing-id = abc\n", "", &diag), 0);

	assert_int_not_equal(load("zone = example.net\n", "", &diag), 0);
	assert_non_null(strstr(diag.msg, "not inside zone example.net"));
	assert_int_not_equal(load("", "zone = ample.org\n", &diag), 0);   /* label boundary */
	assert_non_null(strstr(diag.msg, "not inside zone"));
	assert_int_not_equal(load("zone = exa mple.org\n", "", &diag), 0);
	assert_int_not_equal(load("sharing-id =\n", "", &diag), 0);
	assert_int_not_equal(load("base-url = http://127.0.0.1:1\n", "", &diag), 0);
	assert_int_not_equal(load("tokenfile = x\n", "", &diag), 0);   /* typo: unknown key */
	assert_null(strstr(diag.msg, "pat-0123456789abcdef"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_get),
		cmocka_unit_test(test_verify_get),
		cmocka_unit_test(test_after_put),
		cmocka_unit_test(test_after_probe),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_parse_rrset_counts),
		cmocka_unit_test_setup_teardown(test_config, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
