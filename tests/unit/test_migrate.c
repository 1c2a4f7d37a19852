/* The importers' pure parts: how each client's lexer reads values (the
 * secret a provider ends up with), names, INI-safe values, secret file
 * names and provider sharing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/ddclient.h"
#include "migrate/inadyn.h"
#include "migrate/translate.h"

/* The first secret of the first provider (or record) after parsing. */
static const char *first_secret(const struct mg_conf *c)
{
	for (size_t i = 0; i < c->nproviders; i++)
		for (size_t k = 0; k < c->providers[i].nkv; k++)
			if (c->providers[i].kv[k].secret)
				return c->providers[i].kv[k].value;
	for (size_t i = 0; i < c->nrecords; i++)
		for (size_t k = 0; k < c->records[i].nkv; k++)
			if (c->records[i].kv[k].secret)
				return c->records[i].kv[k].value;
	return NULL;
}

struct vec {
	const char *name;
	bool inadyn;
	const char *text;
	const char *want_secret;   /* NULL: no provider expected */
	const char *want_record;
};

static const struct vec vecs[] = {
	/* ddclient: password keys are read before comments: '#' stays */
	{ "dd-hash", false, "protocol=duckdns use=web password=a#b me.duckdns.org\n", "a#b", "me.duckdns.org" },
	/* '...' runs to the last quote of the line */
	{ "dd-quote", false, "protocol=duckdns use=web password='x y' me.duckdns.org\n", "x y", "me.duckdns.org" },
	/* other values: backslash escapes, both quote kinds, commas end them */
	{ "dd-escape", false, "protocol=dyndns2, use=web, login=a\\,b, password=p h.example.org\n", "p", "h.example.org" },
	/* continuation lines keep their password */
	{ "dd-cont", false, "protocol=duckdns \\\n use=web \\\n password=tok \\\n me.duckdns.org\n", "tok", "me.duckdns.org" },
	/* old style: host login password */
	{ "dd-old", false, "protocol=dyndns2 use=web h.example.org user pw\n", "pw", "h.example.org" },
	/* a trailing blank after '\\' is no continuation */
	{ "dd-comment-only", false, "# protocol=duckdns password=x me.duckdns.org\n", NULL, NULL },
	/* inadyn: all comment styles, escapes in double quotes, lists */
	{ "in-comments", true, "/* a */ provider duckdns.org { // b\n username = \"t\\\"k\" # c\n hostname = { x.duckdns.org } }\n", "t\"k", "x.duckdns.org" },
	{ "in-single", true, "provider freemyip.com { password = 'a b' hostname = m.freemyip.com }\n", "a b", "m.freemyip.com" },
	{ "in-name-index", true, "provider default@duckdns.org:2 { username = t hostname = y.duckdns.org }\n", "t", "y.duckdns.org" },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct mg_conf *c = calloc(1, sizeof(*c));
		assert_non_null(c);
		mg_conf_init(c, "t.conf", v->inadyn ? "inadyn" : "ddclient");
		struct dw_diag d = { "" };
		int ret = v->inadyn ? mg_inadyn_parse(v->text, strlen(v->text), c, &d)
		                    : mg_ddclient_parse(v->text, strlen(v->text), c, &d);
		if (ret != 0)
			fail_msg("%s: %d %s", v->name, ret, d.msg);
		const char *s = first_secret(c);
		if (v->want_secret == NULL) {
			if (c->nproviders != 0)
				fail_msg("%s: a provider from nothing", v->name);
		} else {
			if (s == NULL || strcmp(s, v->want_secret) != 0)
				fail_msg("%s: secret '%s', want '%s'", v->name, s ? s : "(none)", v->want_secret);
			if (c->nrecords != 1 || strcmp(c->records[0].name, v->want_record) != 0)
				fail_msg("%s: record %s", v->name, c->nrecords ? c->records[0].name : "(none)");
		}
		mg_conf_free(c);
		free(c);
	}
}

static void test_syntax_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"provider x {\n", "provider x { hostname = { a, }\n", "x = \"open\n", "/* never", "}\n",
		"provider x { custom y { } }\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mg_conf *c = calloc(1, sizeof(*c));
		mg_conf_init(c, "t.conf", "inadyn");
		struct dw_diag d = { "" };
		if (mg_inadyn_parse(bad[i], strlen(bad[i]), c, &d) != DW_EPARSE)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(d.msg, "t.conf:"));
		mg_conf_free(c);
		free(c);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_true(mg_fqdn_ok("a.example.org"));
	assert_true(mg_fqdn_ok("*.example.org"));
	assert_true(mg_fqdn_ok("a.example.org."));
	assert_false(mg_fqdn_ok("www"));
	assert_false(mg_fqdn_ok("@"));
	assert_false(mg_fqdn_ok("a..b"));
	assert_false(mg_fqdn_ok("a b.c"));
	assert_false(mg_fqdn_ok("y\".example"));
	assert_true(mg_iface_ok("eth0"));
	assert_false(mg_iface_ok("eth0:1"));
	assert_false(mg_iface_ok("a-very-long-name0"));
	assert_true(mg_cmd_ok("/usr/local/bin/myip"));
	assert_false(mg_cmd_ok("myip"));
	assert_false(mg_cmd_ok("/bin/ip -4 addr"));
	assert_false(mg_cmd_ok("/bin/x;rm"));
	assert_int_equal(mg_addr_family("192.0.2.1"), 4);
	assert_int_equal(mg_addr_family("2001:db8::1"), 6);
	assert_int_equal(mg_addr_family("eth0"), 0);
	assert_true(mg_value_ok("https://x/a;b"));
	assert_false(mg_value_ok("a ;b"));
	assert_false(mg_value_ok(" a"));
	assert_false(mg_value_ok("a\tb\n"));
}

static void test_secret_filename(void **state)
{
	(void)state;
	struct mg_section s = { .name = (char *)"*.Ex/am..ple" };
	struct mg_kv kv = { .key = (char *)"token-a-file" };
	char buf[64];
	assert_int_equal(mg_secret_filename(&s, &kv, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "_.Ex_am..ple.token-a");
	struct mg_section dot = { .name = (char *)".hidden" };
	assert_int_equal(mg_secret_filename(&dot, &kv, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], '_');
	assert_int_equal(mg_secret_filename(&s, &kv, buf, 8), DW_ETOOBIG);
}

static void test_provider_sharing(void **state)
{
	(void)state;
	struct mg_conf *c = calloc(1, sizeof(*c));
	mg_conf_init(c, "t.conf", "ddclient");
	const char *n1, *n2, *n3;
	struct mg_section a = { 0 }, b = { 0 }, d = { 0 };
	assert_int_equal(mg_set(&a, "type", "dyndns2", false), 0);
	assert_int_equal(mg_set(&a, "password-file", "one", true), 0);
	assert_int_equal(mg_set(&b, "password-file", "one", true), 0);   /* other order */
	assert_int_equal(mg_set(&b, "type", "dyndns2", false), 0);
	assert_int_equal(mg_set(&d, "type", "dyndns2", false), 0);
	assert_int_equal(mg_set(&d, "password-file", "two", true), 0);
	assert_int_equal(mg_provider_add(c, "noip", &a, &n1), 0);
	assert_int_equal(mg_provider_add(c, "noip", &b, &n2), 0);
	assert_int_equal(mg_provider_add(c, "noip", &d, &n3), 0);
	assert_string_equal(n1, "noip");
	assert_ptr_equal(n1, n2);
	assert_string_equal(n3, "noip-2");
	assert_int_equal(c->nproviders, 2);
	const char *bad = NULL;
	bool created;
	struct mg_section *r = mg_record(c, "h.example.org", 1, &created);
	assert_non_null(r);
	assert_int_equal(mg_set(r, "provider", "noip", false), 0);
	char *text = mg_render(c, "/etc/dnsward", &bad);
	assert_non_null(text);
	assert_null(strstr(text, "one"));
	assert_null(strstr(text, "two"));
	assert_non_null(strstr(text, "password-file = /etc/dnsward/noip-2.password\n"));
	free(text);
	mg_conf_free(c);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_secret_filename),
		cmocka_unit_test(test_provider_sharing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
