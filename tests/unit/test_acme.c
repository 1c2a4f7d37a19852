/* ACME dns-01: hook argument parsing for every client convention, values,
 * key authorizations, acme-zones lists and matching; the pure parts of the
 * providers' TXT support (Gandi set edit, acme-dns reply classifier) and
 * of the authoritative-server helpers (server lists, resolv.conf). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/acme.h"
#include "lib/dnsauth.h"
#include "providers/acmedns.h"
#include "providers/gandi.h"

#define V1 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"
#define V2 "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBQ"
/* RFC 8555 8.1-style key authorization; value from an independent
 * implementation (Python hashlib + base64). */
#define TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEYAUTH TOKEN ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"

/* ---- environment for the certbot convention ---- */

static const char *env_domain, *env_value;

static const char *fake_env(const char *name)
{
	if (strcmp(name, "CERTBOT_DOMAIN") == 0)
		return env_domain;
	if (strcmp(name, "CERTBOT_VALIDATION") == 0)
		return env_value;
	return NULL;
}

struct parse_vec {
	const char *name;
	const char *argv[12];
	const char *env_domain, *env_value;
	int want;                          /* 0 or DW_EINVAL */
	enum dw_acme_action action;
	size_t n;
	const char *name0, *value0, *name1, *value1;
	const char *want_in_msg;
};

static const struct parse_vec parse_vecs[] = {
	{ "lego present", { "acme", "present", "_acme-challenge.Host.Example.org.", V1 }, NULL, NULL,
	  0, DW_ACME_PRESENT, 1, "_acme-challenge.host.example.org", V1, NULL, NULL, NULL },
	{ "lego cleanup, no dot", { "acme", "cleanup", "_acme-challenge.host.example.org", V2 }, NULL,
	  NULL, 0, DW_ACME_CLEANUP, 1, "_acme-challenge.host.example.org", V2, NULL, NULL, NULL },
	{ "lego upper case", { "acme", "present", "_ACME-Challenge.host.example.org", V1 }, NULL,
	  NULL, 0, DW_ACME_PRESENT, 1, "_acme-challenge.host.example.org", V1, NULL, NULL, NULL },
	{ "lego RAW", { "acme", "present", "--", "host.example.org", TOKEN, KEYAUTH }, NULL, NULL,
	  0, DW_ACME_PRESENT, 1, "_acme-challenge.host.example.org",
	  "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0", NULL, NULL, NULL },
	{ "lego RAW wildcard", { "acme", "cleanup", "--", "*.host.example.org", TOKEN, KEYAUTH }, NULL,
	  NULL, 0, DW_ACME_CLEANUP, 1, "_acme-challenge.host.example.org",
	  "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0", NULL, NULL, NULL },
	{ "certbot auth", { "acme", "certbot-auth" }, "*.host.example.org", V1,
	  0, DW_ACME_PRESENT, 1, "_acme-challenge.host.example.org", V1, NULL, NULL, NULL },
	{ "certbot cleanup", { "acme", "certbot-cleanup" }, "host.example.org", V2,
	  0, DW_ACME_CLEANUP, 1, "_acme-challenge.host.example.org", V2, NULL, NULL, NULL },
	{ "dehydrated chain", { "acme", "dehydrated", "deploy_challenge", "host.example.org", "t1", V1,
	  "*.host.example.org", "t2", V2 }, NULL, NULL, 0, DW_ACME_PRESENT, 2,
	  "_acme-challenge.host.example.org", V1, "_acme-challenge.host.example.org", V2, NULL },
	{ "dehydrated clean", { "acme", "dehydrated", "clean_challenge", "a.example.org", "t", V2 },
	  NULL, NULL, 0, DW_ACME_CLEANUP, 1, "_acme-challenge.a.example.org", V2, NULL, NULL, NULL },
	{ "dehydrated other hook", { "acme", "dehydrated", "deploy_cert", "a", "b", "c", "d" }, NULL,
	  NULL, 0, DW_ACME_NOTHING, 0, NULL, NULL, NULL, NULL, NULL },
	{ "dehydrated new hook", { "acme", "dehydrated", "some_future_hook" }, NULL, NULL,
	  0, DW_ACME_NOTHING, 0, NULL, NULL, NULL, NULL, NULL },
	/* errors */
	{ "no action", { "acme" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "usage" },
	{ "unknown action", { "acme", "publish", "a.example.org", V1 }, NULL, NULL, DW_EINVAL, 0, 0,
	  NULL, NULL, NULL, NULL, "unknown acme action 'publish'" },
	{ "missing value", { "acme", "present", "a.example.org" }, NULL, NULL, DW_EINVAL, 0, 0, NULL,
	  NULL, NULL, NULL, "usage: acme present FQDN VALUE" },
	{ "extra argument", { "acme", "present", "a.example.org", V1, "x" }, NULL, NULL, DW_EINVAL, 0,
	  0, NULL, NULL, NULL, NULL, "usage" },
	{ "short value", { "acme", "present", "_acme-challenge.a.example.org", "abc" }, NULL, NULL, DW_EINVAL, 0, 0,
	  NULL, NULL, NULL, NULL, "not a dns-01 value" },
	{ "padded value", { "acme", "present", "_acme-challenge.a.example.org",
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL,
	  NULL, NULL, "not a dns-01 value" },
	{ "plain base64 value", { "acme", "present", "_acme-challenge.a.example.org",
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/AAE" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL,
	  NULL, NULL, "not a dns-01 value" },
	{ "stray bits", { "acme", "present", "_acme-challenge.a.example.org",
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL,
	  NULL, NULL, "not a dns-01 value" },
	{ "value with newline", { "acme", "present", "_acme-challenge.a.example.org",
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL,
	  NULL, NULL, "not a dns-01 value" },
	/* the lego form names challenge records only */
	{ "lego CNAME target", { "acme", "present", "x1.auth.example.net.", V1 }, NULL, NULL,
	  DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "not an _acme-challenge name" },
	{ "lego apex", { "acme", "cleanup", "example.org", V1 }, NULL, NULL, DW_EINVAL, 0, 0, NULL,
	  NULL, NULL, NULL, "LEGO_DISABLE_CNAME_SUPPORT=true" },
	{ "lego deeper label", { "acme", "present", "x._acme-challenge.example.org", V1 }, NULL, NULL,
	  DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "not an _acme-challenge name" },
	{ "bad name", { "acme", "present", "a..example.org", V1 }, NULL, NULL, DW_EINVAL, 0, 0, NULL,
	  NULL, NULL, NULL, "not a valid record name" },
	{ "wildcard record", { "acme", "present", "*.example.org", V1 }, NULL, NULL, DW_EINVAL, 0, 0,
	  NULL, NULL, NULL, NULL, "not a valid record name" },
	{ "space in name", { "acme", "present", "a b.example.org", V1 }, NULL, NULL, DW_EINVAL, 0, 0,
	  NULL, NULL, NULL, NULL, "not a valid record name" },
	{ "RAW: wrong token", { "acme", "present", "--", "a.example.org", "tok",
	  "other.thumbprint" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL,
	  "key authorization" },
	{ "RAW: no thumbprint", { "acme", "present", "--", "a.example.org", "tok", "tok." }, NULL,
	  NULL, DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "key authorization" },
	{ "RAW: two dots", { "acme", "present", "--", "a.example.org", "tok", "tok.a.b" }, NULL,
	  NULL, DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "key authorization" },
	{ "RAW: missing", { "acme", "present", "--", "a.example.org", "tok" }, NULL, NULL,
	  DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "usage: acme present -- DOMAIN TOKEN KEYAUTH" },
	{ "RAW: bad domain", { "acme", "present", "--", "a.*.org", TOKEN, KEYAUTH }, NULL, NULL,
	  DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "not a valid domain name" },
	{ "certbot: no env", { "acme", "certbot-auth" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL,
	  NULL, NULL, "CERTBOT_DOMAIN and CERTBOT_VALIDATION" },
	{ "certbot: args", { "acme", "certbot-auth", "x" }, "a.example.org", V1, DW_EINVAL, 0, 0,
	  NULL, NULL, NULL, NULL, "usage" },
	{ "certbot: bad value", { "acme", "certbot-cleanup" }, "a.example.org", "x", DW_EINVAL, 0, 0,
	  NULL, NULL, NULL, NULL, "not a dns-01 value" },
	{ "dehydrated: no hook", { "acme", "dehydrated" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL,
	  NULL, NULL, "usage" },
	{ "dehydrated: partial triplet", { "acme", "dehydrated", "deploy_challenge", "a.example.org",
	  "t", V1, "b.example.org", "t" }, NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL,
	  "DOMAIN TOKEN_FILENAME VALUE" },
	{ "dehydrated: bad value in chain", { "acme", "dehydrated", "clean_challenge",
	  "a.example.org", "t", V1, "b.example.org", "t", "zz" }, NULL, NULL, DW_EINVAL, 0, 0, NULL,
	  NULL, NULL, NULL, "not a dns-01 value" },
	{ "long name", { "acme", "present", "_acme-challenge.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", V1 },
	  NULL, NULL, DW_EINVAL, 0, 0, NULL, NULL, NULL, NULL, "not a valid record name" },
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_vecs) / sizeof(parse_vecs[0]); i++) {
		const struct parse_vec *v = &parse_vecs[i];
		int argc = 0;
		while (argc < 12 && v->argv[argc] != NULL)
			argc++;
		env_domain = v->env_domain;
		env_value = v->env_value;
		static struct dw_acme_req req;
		struct dw_diag diag = { "" };
		int ret = dw_acme_parse(argc, (char *const *)(uintptr_t)v->argv, fake_env, &req, &diag);
		if (ret != v->want || (v->want_in_msg && strstr(diag.msg, v->want_in_msg) == NULL)) {
			print_error("case '%s': ret %d diag '%s'\n", v->name, ret, diag.msg);
			fail();
		}
		if (ret != DW_OK) {
			assert_int_equal(req.n, 0);
			continue;
		}
		if (req.action != v->action || req.n != v->n) {
			print_error("case '%s': action %d n %zu\n", v->name, req.action, req.n);
			fail();
		}
		if (v->n > 0) {
			assert_string_equal(req.items[0].name, v->name0);
			assert_string_equal(req.items[0].value, v->value0);
		}
		if (v->n > 1) {
			assert_string_equal(req.items[1].name, v->name1);
			assert_string_equal(req.items[1].value, v->value1);
		}
	}
}

static void test_values(void **state)
{
	(void)state;
	assert_true(dw_acme_value_valid(V1));
	assert_true(dw_acme_value_valid("-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_w"));
	assert_false(dw_acme_value_valid(NULL));
	assert_false(dw_acme_value_valid(""));
	assert_false(dw_acme_value_valid(V1 "A"));
	assert_false(dw_acme_value_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(dw_acme_value_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF"));

	char out[DW_ACME_VALUE_LEN + 1];
	assert_int_equal(dw_acme_keyauth_value(KEYAUTH, out), 0);
	assert_string_equal(out, "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0");
	assert_true(dw_acme_value_valid(out));
	assert_int_equal(dw_acme_keyauth_value("a.b", out), 0);
	assert_int_equal(strlen(out), 43);
	assert_int_equal(dw_acme_keyauth_value("nodot", out), DW_EINVAL);
	assert_int_equal(dw_acme_keyauth_value(".b", out), DW_EINVAL);
	assert_int_equal(dw_acme_keyauth_value("a.", out), DW_EINVAL);
	assert_int_equal(dw_acme_keyauth_value("a+b.c", out), DW_EINVAL);

	char name[DW_DNS_NAME_MAX];
	assert_int_equal(dw_acme_challenge_name("*.Example.ORG.", name), 0);
	assert_string_equal(name, "_acme-challenge.example.org");
	assert_int_equal(dw_acme_challenge_name("*.*.example.org", name), DW_EINVAL);
	assert_int_equal(dw_acme_challenge_name("", name), DW_EINVAL);
}

static void test_zones(void **state)
{
	(void)state;
	char **z = NULL;
	size_t n = 0;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_acme_zones_parse("example.org, Sub.Example.ORG.  example.net", &z, &n,
	                                     &diag), 0);
	assert_int_equal(n, 3);
	assert_string_equal(z[1], "sub.example.org");
	assert_null(z[3]);
	assert_int_equal(dw_acme_zone_match("_acme-challenge.a.sub.example.org", z, n),
	                 (int)strlen("sub.example.org"));
	assert_int_equal(dw_acme_zone_match("_acme-challenge.example.org", z, n),
	                 (int)strlen("example.org"));
	assert_int_equal(dw_acme_zone_match("example.net", z, n), (int)strlen("example.net"));
	assert_int_equal(dw_acme_zone_match("badexample.org", z, n), -1);   /* label boundary */
	assert_int_equal(dw_acme_zone_match("example.com", z, n), -1);
	dw_acme_zones_free(z);

	assert_int_equal(dw_acme_zones_parse("", &z, &n, &diag), DW_EINVAL);
	assert_non_null(strstr(diag.msg, "empty"));
	assert_int_equal(dw_acme_zones_parse(" , ", &z, &n, &diag), DW_EINVAL);
	assert_int_equal(dw_acme_zones_parse("*.example.org", &z, &n, &diag), DW_EINVAL);
	assert_int_equal(dw_acme_zones_parse("a.org, A.org.", &z, &n, &diag), DW_EINVAL);
	assert_non_null(strstr(diag.msg, "twice"));
	assert_int_equal(dw_acme_zones_parse("a..org", &z, &n, &diag), DW_EINVAL);
	assert_null(z);
}

static void test_servers(void **state)
{
	(void)state;
	struct dw_dns_server s[4];
	size_t n = 0;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_dnsauth_list_parse("127.0.0.1:5353, [::1]:53 192.0.2.1,2001:db8::1", 53,
	                                       1000, s, 4, &n, &diag), 0);
	assert_int_equal(n, 4);
	assert_string_equal(s[0].text, "127.0.0.1 port 5353");
	assert_string_equal(s[1].text, "::1 port 53");
	assert_string_equal(s[2].text, "192.0.2.1 port 53");
	assert_string_equal(s[3].text, "2001:db8::1 port 53");
	assert_int_equal(dw_dnsauth_list_parse("a,b,c,d,e", 53, 1000, s, 4, &n, &diag), DW_EINVAL);
	assert_int_equal(dw_dnsauth_list_parse("", 53, 1000, s, 4, &n, &diag), DW_EINVAL);
	assert_int_equal(dw_dnsauth_server_parse("ns.example.org", 53, 1000, s, &diag), DW_EINVAL);
	assert_int_equal(dw_dnsauth_server_parse("127.0.0.1:0", 53, 1000, s, &diag), DW_EINVAL);
	assert_int_equal(dw_dnsauth_server_parse("127.0.0.1:65536", 53, 1000, s, &diag), DW_EINVAL);
	assert_int_equal(dw_dnsauth_server_parse("127.0.0.1:x", 53, 1000, s, &diag), DW_EINVAL);
	assert_int_equal(dw_dnsauth_server_parse("[::1", 53, 1000, s, &diag), DW_EINVAL);

	static const char rc[] = "# comment\nsearch example.org\nnameserver 192.0.2.53\n"
	                         "nameserver fe80::1%eth0\n  nameserver\t2001:db8::53 # x\n"
	                         "nameserver bogus\nnameserverx 192.0.2.9\n";
	n = dw_dnsauth_resolv_conf(rc, sizeof(rc) - 1, 1000, s, 4);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].text, "192.0.2.53 port 53");
	assert_string_equal(s[1].text, "2001:db8::53 port 53");
	assert_int_equal(dw_dnsauth_resolv_conf(rc, sizeof(rc) - 1, 1000, s, 1), 1);
}

/* ---- Gandi: one TXT value added to or removed from a set ---- */

static void test_gandi_txt_edit(void **state)
{
	(void)state;
	char *body = NULL;
	size_t n = 0;
	bool changed = false;

	/* no set yet: a new one with the value quoted, TTL at least 300 */
	assert_int_equal(dw_gandi_txt_edit(NULL, 0, V1, true, 60, &body, &n, &changed), 0);
	assert_true(changed);
	assert_int_equal(n, 1);
	assert_string_equal(body, "{\"rrset_ttl\":300,\"rrset_values\":[\"\\\"" V1 "\\\"\"]}");
	free(body);

	/* add to a set holding another value, bare and quoted forms kept */
	static const char set[] = "{\"rrset_name\":\"_acme-challenge\",\"rrset_type\":\"TXT\","
	                          "\"rrset_ttl\":600,\"rrset_values\":[\"\\\"" V2 "\\\"\",\"v=x\"]}";
	assert_int_equal(dw_gandi_txt_edit(set, sizeof(set) - 1, V1, true, 60, &body, &n, &changed),
	                 0);
	assert_true(changed);
	assert_int_equal(n, 3);
	assert_string_equal(body, "{\"rrset_ttl\":600,\"rrset_values\":[\"\\\"" V2 "\\\"\",\"v=x\","
	                          "\"\\\"" V1 "\\\"\"]}");
	free(body);

	/* already there (quoted): nothing to do */
	assert_int_equal(dw_gandi_txt_edit(set, sizeof(set) - 1, V2, true, 60, &body, &n, &changed),
	                 0);
	assert_false(changed);
	free(body);

	/* remove: only that value goes */
	assert_int_equal(dw_gandi_txt_edit(set, sizeof(set) - 1, V2, false, 60, &body, &n, &changed),
	                 0);
	assert_true(changed);
	assert_int_equal(n, 1);
	assert_string_equal(body, "{\"rrset_ttl\":600,\"rrset_values\":[\"v=x\"]}");
	free(body);

	/* remove the last one: empty, DELETE (no body) */
	static const char one[] = "{\"rrset_ttl\":300,\"rrset_values\":[\"" V1 "\"]}";
	assert_int_equal(dw_gandi_txt_edit(one, sizeof(one) - 1, V1, false, 60, &body, &n, &changed),
	                 0);
	assert_true(changed);
	assert_int_equal(n, 0);
	assert_null(body);

	/* remove an absent value: unchanged */
	assert_int_equal(dw_gandi_txt_edit(one, sizeof(one) - 1, V2, false, 60, &body, &n, &changed),
	                 0);
	assert_false(changed);
	free(body);
	assert_int_equal(dw_gandi_txt_edit(NULL, 0, V2, false, 60, &body, &n, &changed), 0);
	assert_false(changed);
	assert_null(body);

	/* not a TXT set */
	static const char *const bad[] = {
		"", "[]", "{\"rrset_values\":\"x\"}", "{\"rrset_type\":\"A\",\"rrset_values\":[]}",
		"{\"rrset_values\":[1]}", "{\"rrset_ttl\":\"300\",\"rrset_values\":[]}",
		"{\"rrset_values\":[\"a\"],\"rrset_values\":[\"b\"]}", "<html>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = (char *)1;
		assert_int_equal(dw_gandi_txt_edit(bad[i], strlen(bad[i]), V1, true, 60, &body, &n,
		                                   &changed), DW_EPARSE);
		assert_null(body);
	}
}

/* ---- acme-dns replies ---- */

struct adns_vec {
	long status;
	const char *body;
	enum dw_outcome want;
	const char *want_in_msg;
};

static void test_acmedns_classify(void **state)
{
	(void)state;
	static const struct adns_vec v[] = {
		{ 200, "{\"txt\":\"" V1 "\"}", DW_OUT_DONE, "serves" },
		{ 200, "{\"Txt\":\"" V1 "\"}", DW_OUT_DONE, NULL },
		{ 200, "{\"txt\":\"" V2 "\"}", DW_OUT_RETRY, "without the value" },
		{ 200, "{\"txt\":\"" V1 "\",\"txt\":\"x\"}", DW_OUT_RETRY, NULL },
		{ 200, "ok", DW_OUT_RETRY, NULL },
		{ 200, "", DW_OUT_RETRY, NULL },
		{ 401, "{\"error\":\"forbidden\"}", DW_OUT_FATAL, "forbidden" },
		{ 400, "{\"error\":\"bad_subdomain\"}", DW_OUT_FATAL, "subdomain" },
		{ 400, "{\"error\":\"bad_txt\"}", DW_OUT_FATAL, "bad_txt" },
		{ 404, "", DW_OUT_FATAL, "404" },
		{ 429, "", DW_OUT_RATELIMIT, NULL },
		{ 500, "{\"txt\":\"" V1 "\"}", DW_OUT_RETRY, "500" },
		{ 302, "", DW_OUT_RETRY, NULL },
		{ 401, "{\"error\":\"\\u0007\\nforged\"}", DW_OUT_FATAL, NULL },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
		dw_acmedns_classify(v[i].status, v[i].body, strlen(v[i].body), 30, V1, &res);
		if (res.outcome != v[i].want ||
		    (v[i].want_in_msg && strstr(res.msg, v[i].want_in_msg) == NULL)) {
			print_error("case %zu: outcome %d msg '%s'\n", i, res.outcome, res.msg);
			fail();
		}
		for (const char *c = res.msg; *c; c++)
			assert_true(*c >= 0x20 && *c < 0x7f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_servers),
		cmocka_unit_test(test_gandi_txt_edit),
		cmocka_unit_test(test_acmedns_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
