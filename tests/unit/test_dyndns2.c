/* dyndns2 reply classification: first word of each line, never substrings;
 * one line per hostname in request order; the preset table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "providers/dyndns2.h"

#define V4 "81.2.69.160"
#define V6 "2a01:4f8:1:2::3"

enum sent_kind { S4, S6, S46, STXT };

struct vec {
	const char *name;
	long status;
	const char *body;
	long retry_after;
	int nhosts;                  /* 1..3: h1.example.com, h2..., h3... */
	enum sent_kind sent;
	enum dw_outcome want;
	long want_retry;             /* checked when >= 0 (exact) or -2 (>= 600) */
	const char *want_in_msg;     /* substring the message must show, or NULL */
};

#define ANY -1
#define BACKOFF -2

static const struct vec vecs[] = {
	/* The documented success replies. */
	{ "good", 200, "good " V4, -1, 1, S4, DW_OUT_DONE, ANY, NULL },
	{ "good-newline", 200, "good " V4 "\n", -1, 1, S4, DW_OUT_DONE, ANY, NULL },
	{ "good-crlf", 200, "good " V4 "\r\n", -1, 1, S4, DW_OUT_DONE, ANY, NULL },
	{ "good-bare", 200, "good", -1, 1, S4, DW_OUT_DONE, ANY, NULL },
	{ "good-v6", 200, "good " V6, -1, 1, S6, DW_OUT_DONE, ANY, NULL },
	{ "good-v6-long", 200, "good 2a01:04f8:0001:0002:0000:0000:0000:0003", -1, 1, S6,
	  DW_OUT_DONE, ANY, NULL },
	{ "good-dual", 200, "good " V4 "," V6, -1, 1, S46, DW_OUT_DONE, ANY, NULL },
	{ "good-dual-swapped", 200, "good " V6 "," V4, -1, 1, S46, DW_OUT_DONE, ANY, NULL },
	{ "nochg", 200, "nochg " V4 "\n", -1, 1, S4, DW_OUT_UNCHANGED, ANY, "nochg" },
	{ "nochg-dual", 200, "nochg " V4 "," V6, -1, 1, S46, DW_OUT_UNCHANGED, ANY, NULL },
	{ "txt-good-any-echo", 200, "good \"abc\"", -1, 1, STXT, DW_OUT_DONE, ANY, NULL },
	{ "txt-nochg", 200, "nochg", -1, 1, STXT, DW_OUT_UNCHANGED, ANY, NULL },
	{ "three-hosts", 200, "good " V4 "\nnochg " V4 "\ngood " V4 "\n", -1, 3, S4, DW_OUT_DONE,
	  ANY, NULL },
	{ "three-hosts-all-nochg", 200, "nochg " V4 "\nnochg " V4 "\nnochg " V4, -1, 3, S4,
	  DW_OUT_UNCHANGED, ANY, NULL },

	/* Codes that need a human. */
	{ "badauth", 200, "badauth", -1, 1, S4, DW_OUT_FATAL, ANY, "check username" },
	{ "badauth-text", 200, "badauth Bad authorization", -1, 1, S4, DW_OUT_FATAL, ANY,
	  "credentials refused" },
	{ "donator", 200, "!donator", -1, 1, S4, DW_OUT_FATAL, ANY, "!donator" },
	{ "notfqdn", 200, "notfqdn", -1, 1, S4, DW_OUT_FATAL, ANY, "[record] name" },
	{ "nohost", 200, "nohost\n", -1, 1, S4, DW_OUT_FATAL, ANY, "no such hostname" },
	{ "numhost", 200, "numhost", -1, 1, S4, DW_OUT_FATAL, ANY, "too many hostnames" },
	{ "abuse", 200, "abuse", -1, 1, S4, DW_OUT_FATAL, ANY, "blocked for abuse" },
	{ "badagent", 200, "badagent", -1, 1, S4, DW_OUT_FATAL, ANY, "refuses this client" },
	{ "yours", 200, "!yours", -1, 1, S4, DW_OUT_FATAL, ANY, "another account" },
	{ "active", 200, "!active", -1, 1, S4, DW_OUT_FATAL, ANY, "not active" },
	{ "badsys", 200, "badsys", -1, 1, S4, DW_OUT_FATAL, ANY, "system parameter" },

	/* Back off for at least 10 minutes. */
	{ "dnserr", 200, "dnserr", -1, 1, S4, DW_OUT_RETRY, BACKOFF, "dnserr" },
	{ "911", 200, "911", -1, 1, S4, DW_OUT_RETRY, BACKOFF, "911" },
	{ "911-retry-after-longer", 200, "911", 7200, 1, S4, DW_OUT_RETRY, 7200, NULL },
	{ "911-retry-after-shorter", 200, "911", 5, 1, S4, DW_OUT_RETRY, 600, NULL },
	{ "servererror", 200, "servererror", -1, 1, S4, DW_OUT_RETRY, BACKOFF, NULL },
	{ "500", 500, "good " V4, -1, 1, S4, DW_OUT_RETRY, BACKOFF, "HTTP 500" },
	{ "503", 503, "", 30, 1, S4, DW_OUT_RETRY, 600, "503" },

	/* Rate limits. */
	{ "interval", 200, "interval", -1, 1, S4, DW_OUT_RATELIMIT, 300, "too frequent" },
	{ "interval-retry-after", 200, "interval", 45, 1, S4, DW_OUT_RATELIMIT, 45, NULL },
	{ "429", 429, "good " V4, 120, 1, S4, DW_OUT_RATELIMIT, 120, "rate limit (HTTP 429)" },
	{ "429-no-hint", 429, "", -1, 1, S4, DW_OUT_RATELIMIT, 300, "no Retry-After" },

	/* Other statuses: codes sent with 4xx count, successes do not. */
	{ "401-badauth", 401, "badauth\n", -1, 1, S4, DW_OUT_FATAL, ANY, "credentials refused" },
	{ "401-empty", 401, "", -1, 1, S4, DW_OUT_FATAL, ANY, "HTTP 401" },
	{ "401-good", 401, "good " V4, -1, 1, S4, DW_OUT_FATAL, ANY, "HTTP 401" },
	{ "404-nohost", 404, "nohost", -1, 1, S4, DW_OUT_FATAL, ANY, "no such hostname" },
	{ "404-html", 404, "<html>not found</html>", -1, 1, S4, DW_OUT_FATAL, ANY, "HTTP 404" },
	{ "400-911", 400, "911", -1, 1, S4, DW_OUT_RETRY, BACKOFF, NULL },
	{ "204", 204, "", -1, 1, S4, DW_OUT_RETRY, ANY, "204" },
	{ "302", 302, "good " V4, -1, 1, S4, DW_OUT_RETRY, ANY, "302" },

	/* Traps: success words inside other text must not count. */
	{ "nogood", 200, "nogood", -1, 1, S4, DW_OUT_RETRY, ANY, "unparsable" },
	{ "goodbye", 200, "goodbye", -1, 1, S4, DW_OUT_RETRY, ANY, "unparsable" },
	{ "good-upper", 200, "GOOD " V4, -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-leading-space", 200, " good " V4, -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-trailing-space", 200, "good " V4 " ", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-space-only", 200, "good ", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-two-words", 200, "good " V4 " now", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-bad-addr", 200, "good 81.2.69.1600", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-comma-empty", 200, "good " V4 ",", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-three-addrs", 200, "good " V4 "," V6 "," V4, -1, 1, S46, DW_OUT_RETRY, ANY, NULL },
	{ "good-html", 200, "<html><body>good</body></html>", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-second-line", 200, "Maintenance\ngood " V4, -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "good-nul", 200, "good 81.2.69.160\0", -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "badauthx", 200, "badauthx", -1, 1, S4, DW_OUT_RETRY, ANY, "unparsable" },
	{ "9110", 200, "9110", -1, 1, S4, DW_OUT_RETRY, ANY, "unparsable" },
	{ "intervals", 200, "intervals", -1, 1, S4, DW_OUT_RETRY, ANY, "unparsable" },
	{ "nochg-glued", 200, "nochg" V4, -1, 1, S4, DW_OUT_RETRY, ANY, NULL },
	{ "empty", 200, "", -1, 1, S4, DW_OUT_RETRY, ANY, "empty" },
	{ "newlines-only", 200, "\n\n", -1, 1, S4, DW_OUT_RETRY, ANY, "empty" },

	/* The address echoed must be the one sent. */
	{ "good-other-addr", 200, "good 203.0.113.9", -1, 1, S4, DW_OUT_FATAL, ANY,
	  "another address" },
	{ "good-127", 200, "good 127.0.0.1", -1, 1, S4, DW_OUT_FATAL, ANY, "another address" },
	{ "nochg-other-addr", 200, "nochg 203.0.113.9", -1, 1, S4, DW_OUT_FATAL, ANY, NULL },
	{ "good-v6-for-v4", 200, "good " V6, -1, 1, S4, DW_OUT_FATAL, ANY, NULL },
	{ "good-dual-half", 200, "good " V4, -1, 1, S46, DW_OUT_FATAL, ANY, NULL },
	{ "good-dual-twice-v4", 200, "good " V4 "," V4, -1, 1, S46, DW_OUT_FATAL, ANY, NULL },

	/* Several hostnames: one line each, in order; account-level once. */
	{ "multi-account-badauth", 200, "badauth\n", -1, 3, S4, DW_OUT_FATAL, ANY,
	  "credentials refused" },
	{ "multi-account-911", 200, "911", -1, 2, S4, DW_OUT_RETRY, BACKOFF, NULL },
	{ "multi-short-success", 200, "good " V4 "\n", -1, 3, S4, DW_OUT_RETRY, ANY,
	  "1 line for 3 hostnames" },
	{ "multi-short-two", 200, "good " V4 "\ngood " V4 "\n", -1, 3, S4, DW_OUT_RETRY, ANY,
	  "2 lines for 3 hostnames" },
	{ "multi-too-many", 200, "good " V4 "\ngood " V4 "\ngood " V4 "\n", -1, 2, S4,
	  DW_OUT_RETRY, ANY, "3 lines for 2 hostnames" },
	{ "single-two-lines", 200, "good " V4 "\ngood " V4, -1, 1, S4, DW_OUT_RETRY, ANY,
	  "2 lines for 1 hostname" },
	{ "multi-second-nohost", 200, "good " V4 "\nnohost\ngood " V4, -1, 3, S4, DW_OUT_FATAL,
	  ANY, "h2.example.com: " },
	{ "multi-third-abuse", 200, "nochg " V4 "\nnochg " V4 "\nabuse", -1, 3, S4,
	  DW_OUT_FATAL, ANY, "h3.example.com" },
	{ "multi-empty-middle", 200, "good " V4 "\n\ngood " V4, -1, 3, S4, DW_OUT_RETRY, ANY,
	  "empty line" },
	{ "multi-fatal-beats-ratelimit", 200, "interval\nbadauth", -1, 2, S4, DW_OUT_FATAL, ANY,
	  NULL },
	{ "multi-ratelimit-beats-retry", 200, "911\ninterval", -1, 2, S4, DW_OUT_RATELIMIT, 300,
	  NULL },
	{ "multi-garbage-line", 200, "good " V4 "\nnogood " V4, -1, 2, S4, DW_OUT_RETRY, ANY,
	  "h2.example.com: unparsable" },
	/* Out of order: the address lines of a dual request cannot be split
	 * across hosts' lines. */
	{ "multi-out-of-order", 200, "good " V6 "\ngood " V4, -1, 2, S4, DW_OUT_FATAL, ANY,
	  "h1.example.com" },
};

static void check(const struct vec *v, size_t len, const struct dw_result *res)
{
	if (res->outcome != v->want)
		fail_msg("%s: outcome %s, want %s (%s)", v->name, dw_outcome_str(res->outcome),
		         dw_outcome_str(v->want), res->msg);
	if (v->want_retry >= 0 && res->retry_after_s != v->want_retry)
		fail_msg("%s: retry_after %ld, want %ld", v->name, res->retry_after_s, v->want_retry);
	if (v->want_retry == BACKOFF && res->retry_after_s < DW_DYNDNS2_RETRY_MIN)
		fail_msg("%s: retry_after %ld < %d", v->name, res->retry_after_s, DW_DYNDNS2_RETRY_MIN);
	if (v->want_in_msg != NULL && strstr(res->msg, v->want_in_msg) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", v->name, res->msg, v->want_in_msg);
	if (res->msg[0] == '\0')
		fail_msg("%s: empty message", v->name);
	(void)len;
}

static void test_vectors(void **state)
{
	(void)state;
	static const char *const hosts[] = { "h1.example.com", "h2.example.com", "h3.example.com" };
	struct dw_ip v4, v6;
	assert_int_equal(dw_ip_parse(V4, DW_FAM_V4, &v4), 0);
	assert_int_equal(dw_ip_parse(V6, DW_FAM_V6, &v6), 0);
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct dw_dyndns2_expect ex = {
			.who = "Test",
			.hosts = hosts,
			.nhosts = (size_t)v->nhosts,
			.sent = { v->sent == S4 || v->sent == S46 ? &v4 : NULL,
			          v->sent == S6 || v->sent == S46 ? &v6 : NULL },
			.txt = v->sent == STXT,
			.retry_s = 0,
			.interval_s = 300,
			.cred_hint = "username and password-file",
		};
		struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -7 };
		size_t len = strlen(v->body);
		if (strcmp(v->name, "good-nul") == 0)
			len++;   /* the NUL is part of the reply */
		dw_dyndns2_classify(v->status, v->body, len, v->retry_after, &ex, &res);
		check(v, len, &res);
	}
}

/* A preset's retry delay (No-IP: 30 minutes) is used for 911. */
static void test_retry_delay_from_preset(void **state)
{
	(void)state;
	static const char *const hosts[] = { "h1.example.com" };
	struct dw_ip v4;
	assert_int_equal(dw_ip_parse(V4, DW_FAM_V4, &v4), 0);
	const struct dw_dyndns2_preset *noip = dw_dyndns2_preset_find("noip");
	assert_non_null(noip);
	struct dw_dyndns2_expect ex = { .who = noip->title, .hosts = hosts, .nhosts = 1,
	                                .sent = { &v4, NULL }, .retry_s = noip->retry_s,
	                                .interval_s = noip->interval_s };
	struct dw_result res;
	dw_dyndns2_classify(200, "911", 3, -1, &ex, &res);
	assert_int_equal(res.outcome, DW_OUT_RETRY);
	assert_int_equal(res.retry_after_s, 1800);
	assert_non_null(strstr(res.msg, "No-IP"));
}

/* Every preset row is complete and sane; names are unique. */
static void test_presets(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct dw_dyndns2_preset *p = dw_dyndns2_presets; p->name != NULL; p++, n++) {
		if (strncmp(p->base_url, "https://", 8) != 0)
			fail_msg("%s: base_url %s is not https", p->name, p->base_url);
		if (p->base_url[strlen(p->base_url) - 1] == '/')
			fail_msg("%s: base_url ends with '/'", p->name);
		if (p->path[0] != '/' || strchr(p->path, '?') != NULL)
			fail_msg("%s: bad path %s", p->name, p->path);
		if (p->retry_s < DW_DYNDNS2_RETRY_MIN)
			fail_msg("%s: retry %u < 600", p->name, p->retry_s);
		if (p->interval_s == 0 || p->title == NULL || p->doc == NULL ||
		    strncmp(p->doc, "https://", 8) != 0)
			fail_msg("%s: incomplete row", p->name);
		if (dw_dyndns2_preset_find(p->name) != p)
			fail_msg("%s: name not unique", p->name);
	}
	assert_true(n >= 20);
	const struct dw_dyndns2_preset *ovh = dw_dyndns2_preset_find("ovh");
	assert_non_null(ovh);
	assert_string_equal(ovh->extra_query, "system=dyndns");
	assert_int_equal(dw_dyndns2_preset_find("noip")->v6, DW_DYNDNS2_V6_PARAM);
	assert_int_equal(dw_dyndns2_preset_find("strato")->v6, DW_DYNDNS2_V6_COMMA);
	assert_null(dw_dyndns2_preset_find("google"));
	assert_null(dw_dyndns2_preset_find(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_retry_delay_from_preset),
		cmocka_unit_test(test_presets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
