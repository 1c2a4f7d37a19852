/* custom provider: template parsing and escaping per context, JSON pointer,
 * success rule; and the escaping helpers it relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/escape.h"
#include "providers/custom.h"

static void test_escape(void **state)
{
	(void)state;
	static const struct {
		const char *in, *json, *form;
	} v[] = {
		{ "abc", "abc", "abc" },
		{ "a b", "a b", "a+b" },
		{ "a\"b\\c", "a\\\"b\\\\c", "a%22b%5Cc" },
		{ "x\ny\t\x01\x7f", "x\\u000Ay\\u0009\\u0001\\u007F", "x%0Ay%09%01%7F" },
		{ "a&b=c+d", "a&b=c+d", "a%26b%3Dc%2Bd" },
		{ "2a01:4f8::3", "2a01:4f8::3", "2a01%3A4f8%3A%3A3" },
		{ "*-._~", "*-._~", "*-._%7E" },
		{ "caf\xc3\xa9", "caf\xc3\xa9", "caf%C3%A9" },
		{ "", "", "" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char out[64];
		assert_int_equal(dw_escape_json(v[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, v[i].json);
		assert_int_equal(dw_escape_form(v[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, v[i].form);
	}
	char small[4];
	assert_int_equal(dw_escape_json("abcd", small, sizeof(small)), DW_ETOOBIG);
	assert_string_equal(small, "");
	assert_int_equal(dw_escape_json("abc", small, sizeof(small)), 0);
	assert_int_equal(dw_escape_form("a b", small, sizeof(small)), 0);
	assert_string_equal(small, "a+b");
	assert_int_equal(dw_escape_form("\"", small, sizeof(small)), 0);
	assert_int_equal(dw_escape_form("a\"", small, sizeof(small)), DW_ETOOBIG);
	assert_int_equal(dw_escape_json("\n", small, sizeof(small)), DW_ETOOBIG);
}

/* ---- Parsing ---- */

static void test_parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want_err;   /* NULL: parses */
		unsigned uses;
	} v[] = {
		{ "https://h/u?host={fqdn}&ip={ip}", NULL, (1u << DW_TPL_FQDN) | (1u << DW_TPL_IP) },
		{ "{ipv4},{ipv6},{ttl},{type}", NULL,
		  (1u << DW_TPL_IPV4) | (1u << DW_TPL_IPV6) | (1u << DW_TPL_TTL) | (1u << DW_TPL_TYPE) },
		{ "Bearer {secret:api-key}", NULL, 1u << DW_TPL_SECRET },
		{ "{\"ip\":\"{ip}\",\"n\":{}}", NULL, 1u << DW_TPL_IP },
		{ "{{fqdn}", NULL, 0 },
		{ "{", NULL, 0 },
		{ "}", NULL, 0 },
		{ "{1}", NULL, 0 },
		{ "", NULL, 0 },
		{ "{foo}", "unknown placeholder {foo}", 0 },
		{ "{ip4}", "unknown placeholder {ip4}", 0 },
		{ "{IP}", NULL, 0 },                       /* upper case: literal */
		{ "{fqdn", "unterminated placeholder", 0 },
		{ "{fqdn }", "unknown placeholder", 0 },
		{ "{secret:}", "unknown placeholder {secret:}", 0 },
		{ "{secret:A}", "unknown placeholder", 0 },
		{ "{secret:a_b}", "unknown placeholder", 0 },
		{ "{secret:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}", "unterminated placeholder", 0 },
		{ "{secret}", "unknown placeholder", 0 },
		{ "a\nb", "control character", 0 },
		{ "a\x1b", "control character", 0 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_tpl t;
		char err[200];
		int rc = dw_tpl_parse(v[i].text, &t, err, sizeof(err));
		if (v[i].want_err == NULL) {
			if (rc != 0)
				fail_msg("%s: %s", v[i].text, err);
			if (t.uses != v[i].uses)
				fail_msg("%s: uses %x", v[i].text, t.uses);
		} else if (rc != DW_EINVAL || strstr(err, v[i].want_err) == NULL) {
			fail_msg("%s: rc %d \"%s\", want \"%s\"", v[i].text, rc, err, v[i].want_err);
		}
		dw_tpl_free(&t);
	}
}

/* ---- Expansion ---- */

static const struct dw_tpl_secret secrets[] = {
	{ "key", "s3cr&t \"x\"" },
	{ "tok", "abc" },
};

static const struct dw_tpl_values vals = {
	.v = { "home.example.org", "2a01:4f8::3", "", "2a01:4f8::3", "300", "AAAA" },
	.secrets = secrets,
	.nsecrets = 2,
};

static void test_expand(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum dw_tpl_ctx ctx;
		bool redact;
		const char *want;
	} v[] = {
		{ "https://h/u?h={fqdn}&ip={ip}&k={secret:key}", DW_TPL_CTX_URL, false,
		  "https://h/u?h=home.example.org&ip=2a01%3A4f8%3A%3A3&k=s3cr%26t%20%22x%22" },
		{ "https://h/u?h={fqdn}&k={secret:key}", DW_TPL_CTX_URL, true,
		  "https://h/u?h=home.example.org&k=[secret:key]" },
		{ "https://h/{fqdn}/{type}", DW_TPL_CTX_URL, false, "https://h/home.example.org/AAAA" },
		{ "hostname={fqdn}&myip={ip}&pw={secret:key}", DW_TPL_CTX_FORM, false,
		  "hostname=home.example.org&myip=2a01%3A4f8%3A%3A3&pw=s3cr%26t+%22x%22" },
		{ "{\"name\":\"{fqdn}\",\"ttl\":{ttl},\"k\":\"{secret:key}\"}", DW_TPL_CTX_JSON, false,
		  "{\"name\":\"home.example.org\",\"ttl\":300,\"k\":\"s3cr&t \\\"x\\\"\"}" },
		{ "v4=[{ipv4}] v6=[{ipv6}]", DW_TPL_CTX_RAW, false, "v4=[] v6=[2a01:4f8::3]" },
		{ "{{ip}} {{{ip}", DW_TPL_CTX_RAW, false, "{ip}} {2a01:4f8::3" },
		{ "Bearer {secret:tok}", DW_TPL_CTX_RAW, false, "Bearer abc" },
		{ "Bearer {secret:tok}", DW_TPL_CTX_RAW, true, "Bearer [secret:tok]" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_tpl t;
		char err[200], out[512];
		assert_int_equal(dw_tpl_parse(v[i].text, &t, err, sizeof(err)), 0);
		int rc = dw_tpl_expand(&t, v[i].ctx, &vals, v[i].redact, out, sizeof(out));
		if (rc != 0 || strcmp(out, v[i].want) != 0)
			fail_msg("%s: rc %d \"%s\", want \"%s\"", v[i].text, rc, out, v[i].want);
		dw_tpl_free(&t);
	}
}

static void test_expand_errors(void **state)
{
	(void)state;
	struct dw_tpl t;
	char err[200], out[16];
	assert_int_equal(dw_tpl_parse("{secret:nope}", &t, err, sizeof(err)), 0);
	assert_int_equal(dw_tpl_expand(&t, DW_TPL_CTX_URL, &vals, false, out, sizeof(out)),
	                 DW_ENOTFOUND);
	assert_string_equal(out, "");
	dw_tpl_free(&t);

	assert_int_equal(dw_tpl_parse("{fqdn}", &t, err, sizeof(err)), 0);
	assert_int_equal(dw_tpl_expand(&t, DW_TPL_CTX_URL, &vals, false, out, sizeof(out)),
	                 DW_ETOOBIG);
	assert_string_equal(out, "");
	dw_tpl_free(&t);

	/* A raw (header) value with a line break would inject a header. */
	static const struct dw_tpl_secret bad[] = { { "x", "a\r\nX-Evil: 1" } };
	struct dw_tpl_values bv = { .secrets = bad, .nsecrets = 1 };
	char big[64];
	assert_int_equal(dw_tpl_parse("v {secret:x}", &t, err, sizeof(err)), 0);
	assert_int_equal(dw_tpl_expand(&t, DW_TPL_CTX_RAW, &bv, false, big, sizeof(big)), DW_EINVAL);
	assert_int_equal(dw_tpl_expand(&t, DW_TPL_CTX_URL, &bv, false, big, sizeof(big)), 0);
	assert_string_equal(big, "v a%0D%0AX-Evil%3A%201");
	dw_tpl_free(&t);
}

/* ---- JSON pointer and success rule ---- */

static void test_json_pointer(void **state)
{
	(void)state;
	json_error_t e;
	json_t *doc = json_loads("{\"a\":{\"b\":[10,{\"c\":\"x\"}]},\"a/b\":1,\"m~n\":2,\"\":3}", 0,
	                         &e);
	assert_non_null(doc);
	static const struct {
		const char *ptr;
		const char *want;   /* JSON text, NULL = not found */
	} v[] = {
		{ "/a/b/0", "10" },
		{ "/a/b/1/c", "\"x\"" },
		{ "/a~1b", "1" },
		{ "/m~0n", "2" },
		{ "/", "3" },
		{ "/a/b/2", NULL },
		{ "/a/b/01", NULL },
		{ "/a/b/-1", NULL },
		{ "/a/b/x", NULL },
		{ "/a/c", NULL },
		{ "a", NULL },
		{ "/m~2n", NULL },
		{ "/a/b/0/x", NULL },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		json_t *got = dw_json_pointer(doc, v[i].ptr);
		if (v[i].want == NULL) {
			if (got != NULL)
				fail_msg("%s: found", v[i].ptr);
			continue;
		}
		json_t *want = json_loads(v[i].want, JSON_DECODE_ANY, &e);
		if (got == NULL || !json_equal(got, want))
			fail_msg("%s: not %s", v[i].ptr, v[i].want);
		json_decref(want);
	}
	assert_ptr_equal(dw_json_pointer(doc, ""), doc);
	json_decref(doc);
}

static void test_rule_json(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		bool ok;
	} v[] = {
		{ "/status = \"ok\"", true },
		{ "/success = true", true },
		{ "/result/0/n = 3", true },
		{ " = true", true },                 /* the root itself */
		{ "/status = ok", false },           /* strings need quotes */
		{ "/status=\"ok\"", false },
		{ "status = \"ok\"", false },
		{ "/a~2 = 1", false },
		{ "/a = ", false },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_custom_rule r = { .status = 200 };
		char err[200];
		int rc = dw_custom_rule_json(v[i].spec, &r, err, sizeof(err));
		if ((rc == 0) != v[i].ok)
			fail_msg("%s: rc %d (%s)", v[i].spec, rc, err);
		dw_custom_rule_free(&r);
	}
}

static void test_classify(void **state)
{
	(void)state;
	struct dw_custom_rule line = { .status = 200, .line = strdup("good") };
	struct dw_custom_rule json = { .status = 201 };
	struct dw_custom_rule status_only = { .status = 204 };
	char err[200];
	assert_int_equal(dw_custom_rule_json("/result/status = \"ok\"", &json, err, sizeof(err)), 0);
	static const struct {
		int rule;   /* 0 line, 1 json, 2 status only */
		long status;
		const char *body;
		enum dw_outcome want;
	} v[] = {
		{ 0, 200, "good", DW_OUT_DONE },
		{ 0, 200, "good\r\nmore", DW_OUT_DONE },
		{ 0, 200, "nogood", DW_OUT_RETRY },
		{ 0, 200, "good ", DW_OUT_RETRY },
		{ 0, 200, "goodbye", DW_OUT_RETRY },
		{ 0, 200, "", DW_OUT_RETRY },
		{ 0, 201, "good", DW_OUT_RETRY },
		{ 0, 401, "good", DW_OUT_FATAL },
		{ 0, 404, "", DW_OUT_FATAL },
		{ 0, 429, "", DW_OUT_RATELIMIT },
		{ 0, 500, "good", DW_OUT_RETRY },
		{ 1, 201, "{\"result\":{\"status\":\"ok\"}}", DW_OUT_DONE },
		{ 1, 201, "{\"result\":{\"status\":\"OK\"}}", DW_OUT_RETRY },
		{ 1, 201, "{\"result\":{\"status\":\"ok \"}}", DW_OUT_RETRY },
		{ 1, 201, "{\"result\":{\"status\":[\"ok\"]}}", DW_OUT_RETRY },
		{ 1, 201, "{\"status\":\"ok\"}", DW_OUT_RETRY },
		{ 1, 201, "{\"note\":{\"result\":{\"status\":\"ok\"}}}", DW_OUT_RETRY },
		{ 1, 201, "<html>\"ok\"</html>", DW_OUT_RETRY },
		{ 1, 201, "{\"result\":{\"status\":\"ok\"},\"result\":{}}", DW_OUT_RETRY },
		{ 1, 200, "{\"result\":{\"status\":\"ok\"}}", DW_OUT_RETRY },
		{ 2, 204, "", DW_OUT_DONE },
		{ 2, 204, "anything", DW_OUT_DONE },
		{ 2, 200, "", DW_OUT_RETRY },
		{ 2, 302, "", DW_OUT_RETRY },
		{ 2, 403, "denied", DW_OUT_FATAL },
	};
	const struct dw_custom_rule *rules[] = { &line, &json, &status_only };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		dw_custom_classify(rules[v[i].rule], v[i].status, v[i].body, strlen(v[i].body),
		                   v[i].status == 429 ? 42 : -1, &res);
		if (res.outcome != v[i].want)
			fail_msg("%zu (%ld %s): %s \"%s\"", i, v[i].status, v[i].body,
			         dw_outcome_str(res.outcome), res.msg);
		if (res.outcome == DW_OUT_RATELIMIT && res.retry_after_s != 42)
			fail_msg("%zu: retry %ld", i, res.retry_after_s);
	}
	dw_custom_rule_free(&line);
	dw_custom_rule_free(&json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_json_pointer),
		cmocka_unit_test(test_rule_json),
		cmocka_unit_test(test_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
