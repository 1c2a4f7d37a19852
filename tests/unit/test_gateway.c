/* The gateway provider: dyndns2 and httpreq reply classification (exact
 * words, never substrings), the _acme-challenge name rule, configuration. */
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
#include "providers/gateway.h"

#define HOST "h.example.org"
#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"
#define TOKEN "dwg_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

enum sent { S4, S6, S46 };

struct nic_vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	enum sent sent;
	enum dw_outcome want;
	long want_retry;             /* checked unless -2 */
	const char *want_in_msg;     /* or NULL */
};

static const struct nic_vec nic_vecs[] = {
	/* What the gateway answers. */
	{ "good", 200, "good " V4 "\n", -1, S4, DW_OUT_DONE, -1, NULL },
	{ "good-v6", 200, "good " V6 "\n", -1, S6, DW_OUT_DONE, -1, NULL },
	{ "good-dual", 200, "good " V4 "," V6 "\n", -1, S46, DW_OUT_DONE, -1, NULL },
	{ "good-dual-reversed", 200, "good " V6 "," V4, -1, S46, DW_OUT_DONE, -1, NULL },
	{ "good-crlf", 200, "good " V4 "\r\n", -1, S4, DW_OUT_DONE, -1, NULL },
	{ "good-long-v6", 200, "good 2a01:04f8:0001:0002:0000:0000:0000:0003\n", -1, S6,
	  DW_OUT_DONE, -1, NULL },
	{ "nochg", 200, "nochg " V4 "\n", -1, S4, DW_OUT_UNCHANGED, -1, "nochg" },
	{ "nochg-dual", 200, "nochg " V4 "," V6 "\n", -1, S46, DW_OUT_UNCHANGED, -1, NULL },
	{ "badauth", 200, "badauth\n", -1, S4, DW_OUT_FATAL, -1, "token-file" },
	{ "badauth-401", 401, "badauth\n", -1, S4, DW_OUT_FATAL, -1, "token-file" },
	{ "nohost", 200, "nohost\n", -1, S4, DW_OUT_FATAL, -1, "host add" },
	{ "notyours", 200, "!yours\n", -1, S4, DW_OUT_FATAL, -1, "another host" },
	{ "notfqdn", 200, "notfqdn\n", -1, S4, DW_OUT_FATAL, -1, "notfqdn" },
	{ "numhost", 200, "numhost\n", -1, S4, DW_OUT_FATAL, -1, "numhost" },
	{ "911", 200, "911\n", -1, S4, DW_OUT_RETRY, 600, "keeps retrying" },
	{ "911-after", 200, "911\n", 1200, S4, DW_OUT_RETRY, 1200, NULL },
	{ "911-500", 500, "911\n", -1, S4, DW_OUT_RETRY, 600, "HTTP 500" },
	{ "911-503", 503, "911\n", 30, S4, DW_OUT_RETRY, 600, "its database" },
	{ "abuse-429", 429, "abuse\n", 900, S4, DW_OUT_RATELIMIT, 900, "locked" },
	{ "rate-429", 429, "911\n", 12, S4, DW_OUT_RATELIMIT, 12, "rate limit" },
	{ "rate-429-no-hint", 429, "911\n", -1, S4, DW_OUT_RATELIMIT, DW_GATEWAY_RATE_WAIT,
	  "no Retry-After" },
	{ "badrequest", 400, "badrequest\n", -1, S4, DW_OUT_FATAL, -1, "malformed" },
	/* The rest of section 3. */
	{ "dnserr", 200, "dnserr", -1, S4, DW_OUT_RETRY, 600, "dnserr" },
	{ "servererror", 200, "servererror", -1, S4, DW_OUT_RETRY, 600, NULL },
	{ "interval", 200, "interval", 45, S4, DW_OUT_RATELIMIT, 45, NULL },
	{ "interval-no-hint", 200, "interval", -1, S4, DW_OUT_RATELIMIT, DW_GATEWAY_RATE_WAIT, NULL },
	{ "donator", 200, "!donator", -1, S4, DW_OUT_FATAL, -1, NULL },
	{ "abuse-200", 200, "abuse", -1, S4, DW_OUT_FATAL, -1, "abuse" },
	{ "badagent", 200, "badagent", -1, S4, DW_OUT_FATAL, -1, NULL },
	{ "active", 200, "!active", -1, S4, DW_OUT_FATAL, -1, "gateway's operator" },
	{ "badsys", 200, "badsys", -1, S4, DW_OUT_FATAL, -1, NULL },
	/* Statuses. */
	{ "404", 404, "not found\n", -1, S4, DW_OUT_FATAL, -1, "base-url" },
	{ "405", 405, "", -1, S4, DW_OUT_FATAL, -1, "base-url" },
	{ "403", 403, "", -1, S4, DW_OUT_FATAL, -1, "token-file" },
	{ "413", 413, "", -1, S4, DW_OUT_FATAL, -1, "413" },
	{ "204", 204, "", -1, S4, DW_OUT_RETRY, -1, "204" },
	{ "302", 302, "good " V4, -1, S4, DW_OUT_RETRY, -1, "302" },
	{ "good-on-500", 500, "good " V4, -1, S4, DW_OUT_RETRY, 600, NULL },
	/* Traps. */
	{ "empty", 200, "", -1, S4, DW_OUT_RETRY, -1, "empty" },
	{ "newline", 200, "\n", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "nogood", 200, "nogood " V4, -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "Good", 200, "Good " V4, -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-bare", 200, "good", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-space", 200, "good ", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-two-spaces", 200, "good  " V4, -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-trailing", 200, "good " V4 " ok", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-two-lines", 200, "good " V4 "\ngood " V4 "\n", -1, S4, DW_OUT_RETRY, -1,
	  "one line" },
	{ "good-then-junk", 200, "good " V4 "\nx", -1, S4, DW_OUT_RETRY, -1, "one line" },
	{ "good-extra-newline", 200, "good " V4 "\n\n", -1, S4, DW_OUT_RETRY, -1, "one line" },
	{ "good-bad-addr", 200, "good 81.2.69.1600", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-empty-item", 200, "good " V4 ",", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-three", 200, "good " V4 "," V6 "," V4, -1, S46, DW_OUT_RETRY, -1, "unparsable" },
	{ "good-other-addr", 200, "good 203.0.113.9", -1, S4, DW_OUT_FATAL, -1, "another address" },
	{ "nochg-other-addr", 200, "nochg 203.0.113.9", -1, S4, DW_OUT_FATAL, -1, "another address" },
	{ "good-one-of-two", 200, "good " V4, -1, S46, DW_OUT_FATAL, -1, "another address" },
	{ "good-extra-family", 200, "good " V4 "," V6, -1, S4, DW_OUT_FATAL, -1, "another address" },
	{ "good-twice-v4", 200, "good " V4 "," V4, -1, S4, DW_OUT_FATAL, -1, "another address" },
	{ "911-trailing", 200, "911 maintenance", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "badauth-trailing", 200, "badauth please", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "badauthx", 200, "badauthx", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "leading-space", 200, " good " V4, -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "html", 200, "<html>good</html>", -1, S4, DW_OUT_RETRY, -1, "unparsable" },
	{ "nul", 200, "good " V4 "\0", -1, S4, DW_OUT_RETRY, -1, NULL },
};

static void sent_of(enum sent s, struct dw_ip *v4, struct dw_ip *v6,
                    const struct dw_ip *out[DW_FAM_COUNT])
{
	assert_int_equal(dw_ip_parse(V4, DW_FAM_V4, v4), 0);
	assert_int_equal(dw_ip_parse(V6, DW_FAM_V6, v6), 0);
	out[DW_FAM_V4] = s != S6 ? v4 : NULL;
	out[DW_FAM_V6] = s != S4 ? v6 : NULL;
}

static void test_nic_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(nic_vecs) / sizeof(nic_vecs[0]); i++) {
		const struct nic_vec *v = &nic_vecs[i];
		struct dw_ip v4, v6;
		const struct dw_ip *sent[DW_FAM_COUNT];
		sent_of(v->sent, &v4, &v6, sent);
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		size_t len = strlen(v->body);
		if (strcmp(v->name, "nul") == 0)
			len++;
		dw_gateway_classify_nic(v->status, v->body, len, v->retry_after, HOST, sent, &res);
		if (res.outcome != v->want)
			fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res.outcome),
			         dw_outcome_str(v->want), res.msg);
		if ((v->want == DW_OUT_RATELIMIT || v->want_retry >= 0) &&
		    res.retry_after_s != v->want_retry)
			fail_msg("%s: retry_after %ld, want %ld", v->name, res.retry_after_s,
			         v->want_retry);
		if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
		if (strncmp(res.msg, HOST ": ", strlen(HOST) + 2) != 0)
			fail_msg("%s: message \"%s\" does not name the host", v->name, res.msg);
	}
}

struct txt_vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	enum dw_outcome want;
	const char *want_in_msg;
};

static const struct txt_vec txt_vecs[] = {
	{ "ok", 200, "ok\n", -1, DW_OUT_DONE, NULL },
	{ "ok-bare", 200, "ok", -1, DW_OUT_DONE, NULL },
	{ "ok-crlf", 200, "ok\r\n", -1, DW_OUT_DONE, NULL },
	{ "400", 400, "bad request\n", -1, DW_OUT_FATAL, "400" },
	{ "401", 401, "unauthorized\n", -1, DW_OUT_FATAL, "token-file" },
	{ "403", 403, "forbidden\n", -1, DW_OUT_FATAL, "--acme" },
	{ "404", 404, "not found\n", -1, DW_OUT_FATAL, "base-url" },
	{ "405", 405, "method not allowed\n", -1, DW_OUT_FATAL, "base-url" },
	{ "413", 413, "body too large\n", -1, DW_OUT_FATAL, "413" },
	{ "429-lockout", 429, "too many failures\n", 600, DW_OUT_RATELIMIT, "too many failures" },
	{ "429-rate", 429, "rate limited\n", 7, DW_OUT_RATELIMIT, "asks to wait" },
	{ "429-no-hint", 429, "rate limited\n", -1, DW_OUT_RATELIMIT, "asks to wait" },
	{ "424", 424, "upstream refused: ...\n", -1, DW_OUT_FATAL, "gateway's operator" },
	{ "502", 502, "upstream failed\n", -1, DW_OUT_RETRY, "keeps retrying" },
	{ "500", 500, "", -1, DW_OUT_RETRY, "500" },
	{ "503", 503, "store unavailable\n", -1, DW_OUT_RETRY, "its database" },
	{ "204", 204, "", -1, DW_OUT_RETRY, "204" },
	{ "201", 201, "ok\n", -1, DW_OUT_RETRY, "201" },
	{ "empty-200", 200, "", -1, DW_OUT_RETRY, "without" },
	{ "okay", 200, "okay\n", -1, DW_OUT_RETRY, "without" },
	{ "ok-two-lines", 200, "ok\nok\n", -1, DW_OUT_RETRY, "without" },
	{ "ok-space", 200, "ok \n", -1, DW_OUT_RETRY, "without" },
	{ "html", 200, "<html>ok</html>", -1, DW_OUT_RETRY, "without" },
	{ "json", 200, "{\"txt\":\"x\"}", -1, DW_OUT_RETRY, "without" },
};

static void test_txt_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(txt_vecs) / sizeof(txt_vecs[0]); i++) {
		const struct txt_vec *v = &txt_vecs[i];
		for (int present = 0; present < 2; present++) {
			struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
			dw_gateway_classify_txt(v->status, v->body, strlen(v->body), v->retry_after,
			                        present != 0, "_acme-challenge." HOST, &res);
			if (res.outcome != v->want)
				fail_msg("%s: outcome %s, want %s (%s)", v->name,
				         dw_outcome_str(res.outcome), dw_outcome_str(v->want), res.msg);
			if (v->want_in_msg != NULL && strstr(res.msg, v->want_in_msg) == NULL)
				fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res.msg, v->want_in_msg);
			if (v->want == DW_OUT_RATELIMIT &&
			    res.retry_after_s != (v->retry_after >= 0 ? v->retry_after : 60))
				fail_msg("%s: retry_after %ld", v->name, res.retry_after_s);
			if (strstr(res.msg, present ? "/present" : "/cleanup") == NULL &&
			    v->want != DW_OUT_DONE)
				fail_msg("%s: message \"%s\" does not name the endpoint", v->name, res.msg);
		}
	}
}

/* Server text is quoted bounded and sanitised. */
static void test_sample_sanitised(void **state)
{
	(void)state;
	struct dw_ip v4, v6;
	const struct dw_ip *sent[DW_FAM_COUNT];
	sent_of(S4, &v4, &v6, sent);
	struct dw_result res;
	const char esc[] = "good \x1b[31m" V4 "\x7f";
	dw_gateway_classify_nic(200, esc, sizeof(esc) - 1, -1, NULL, sent, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);
	assert_null(strchr(res.msg, '\x1b'));
	assert_null(strchr(res.msg, '\x7f'));

	char body[4096];
	memset(body, 'g', sizeof(body));
	dw_gateway_classify_nic(200, body, sizeof(body), -1, NULL, sent, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);
	assert_true(strlen(res.msg) < 200);
	dw_gateway_classify_txt(200, body, sizeof(body), -1, true, NULL, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);
	assert_true(strlen(res.msg) < 250);
	/* NULL body (no reply text at all). */
	dw_gateway_classify_nic(200, NULL, 0, -1, NULL, sent, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);
	dw_gateway_classify_txt(200, NULL, 0, -1, false, NULL, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);
}

static void test_txt_host(void **state)
{
	(void)state;
	char out[256];
	assert_true(dw_gateway_txt_host("_acme-challenge.h.example.org", out, sizeof(out)));
	assert_string_equal(out, "h.example.org");
	assert_true(dw_gateway_txt_host("_ACME-Challenge.H.Example.ORG.", out, sizeof(out)));
	assert_string_equal(out, "h.example.org");
	assert_false(dw_gateway_txt_host("h.example.org", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(dw_gateway_txt_host("_acme-challenge.", out, sizeof(out)));
	assert_false(dw_gateway_txt_host("_acme-challenge", out, sizeof(out)));
	assert_false(dw_gateway_txt_host("x._acme-challenge.h.example.org", out, sizeof(out)));
	assert_false(dw_gateway_txt_host("_acme-challenge.bad name.org", out, sizeof(out)));
	assert_false(dw_gateway_txt_host("_acme-challenge.h.example.org", out, 5));
}

/* ---- Configuration ---- */

static char tmpdir[64];
static char token_path[128];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dw-test-gateway-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(token_path, sizeof(token_path), "%s/token", tmpdir);
	FILE *f = fopen(token_path, "w");
	if (f == NULL)
		return -1;
	fputs(TOKEN "\n", f);
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

static int load(const char *provider, const char *records, struct dw_diag *diag)
{
	char text[4096];
	int n = snprintf(text, sizeof(text),
	                 "[dnsward]\nstate-dir = %s\n"
	                 "[provider gw]\ntype = gateway\n%s\n%s",
	                 tmpdir, provider, records);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	struct dw_config *cfg = NULL;
	int rc = dw_config_parse("test.conf", text, (size_t)n, true, &cfg, diag);
	dw_config_free(cfg);
	assert_null(strstr(diag->msg, TOKEN));
	return rc;
}

static void test_config(void **state)
{
	(void)state;
	struct dw_diag diag = { { 0 } };
	char prov[512];
	snprintf(prov, sizeof(prov), "base-url = https://127.0.0.1:8053/\ntoken-file = %s\n",
	         token_path);
	const char *rec = "[record h.example.org]\nprovider = gw\nipv4 = static:" V4 "\n"
	                  "ipv6 = static:" V6 "\n";
	assert_int_equal(load(prov, rec, &diag), 0);
	/* ACME only, no record. */
	char acme[1024];
	snprintf(acme, sizeof(acme), "%sacme-zones = _acme-challenge.h.example.org\n", prov);
	assert_int_equal(load(acme, "", &diag), 0);
	assert_int_equal(load(acme, rec, &diag), 0);
	/* Two records of one provider: a token has one host. */
	char two[1024];
	snprintf(two, sizeof(two), "%s[record h2.example.org]\nprovider = gw\nipv4 = static:" V4
	         "\n", rec);
	assert_int_not_equal(load(prov, two, &diag), 0);
	assert_non_null(strstr(diag.msg, "one host"));

	char bad[1024];
	snprintf(bad, sizeof(bad), "token-file = %s\n", token_path);
	assert_int_not_equal(load(bad, rec, &diag), 0);   /* no base-url */
	assert_non_null(strstr(diag.msg, "base-url"));
	snprintf(bad, sizeof(bad), "base-url = http://127.0.0.1:8053\ntoken-file = %s\n",
	         token_path);
	assert_int_not_equal(load(bad, rec, &diag), 0);
	assert_non_null(strstr(diag.msg, "https"));
	snprintf(bad, sizeof(bad), "base-url = https://127.0.0.1:8053/?x=1\ntoken-file = %s\n",
	         token_path);
	assert_int_not_equal(load(bad, rec, &diag), 0);
	assert_int_not_equal(load("base-url = https://127.0.0.1:8053\n", rec, &diag), 0);
	assert_non_null(strstr(diag.msg, "token-file"));
	snprintf(bad, sizeof(bad), "%stoken = x\n", prov);
	assert_int_not_equal(load(bad, rec, &diag), 0);   /* unknown key */
}

static void test_registered(void **state)
{
	(void)state;
	const struct dw_provider_ops *ops = dw_provider_find("gateway");
	assert_non_null(ops);
	assert_true(ops->caps & DW_CAP_A);
	assert_true(ops->caps & DW_CAP_AAAA);
	assert_true(ops->caps & DW_CAP_TXT);
	assert_false(ops->caps & DW_CAP_TXT_SINGLE);
	assert_non_null(ops->update_multi);
	assert_non_null(ops->txt_add);
	assert_non_null(ops->txt_del);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nic_vectors),
		cmocka_unit_test(test_txt_vectors),
		cmocka_unit_test(test_sample_sanitised),
		cmocka_unit_test(test_txt_host),
		cmocka_unit_test_setup_teardown(test_config, setup_dir, teardown_dir),
		cmocka_unit_test(test_registered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
