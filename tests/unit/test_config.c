/* Configuration parsing: every kind of mistake gives FILE:LINE and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/provider.h"

static char tmpdir[256];
static char tok_ok[300];     /* 0600 token file */
static char tok_open[300];   /* 0644 token file: must be refused */

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dw-test-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(tok_ok, sizeof(tok_ok), "%s/token", tmpdir);
	snprintf(tok_open, sizeof(tok_open), "%s/token-open", tmpdir);
	write_file(tok_ok, "0123456789abcdef\n", 0600);
	write_file(tok_open, "0123456789abcdef\n", 0644);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tok_ok);
	unlink(tok_open);
	rmdir(tmpdir);
	return 0;
}

/* Expands "@TOK@" and "@OPEN@" into the token file paths. */
static char *expand(const char *tmpl)
{
	size_t cap = strlen(tmpl) + 4096;
	char *out = calloc(1, cap);
	assert_non_null(out);
	const char *p = tmpl;
	while (*p != '\0') {
		if (strncmp(p, "@TOK@", 5) == 0) {
			strncat(out, tok_ok, cap - strlen(out) - 1);
			p += 5;
		} else if (strncmp(p, "@OPEN@", 6) == 0) {
			strncat(out, tok_open, cap - strlen(out) - 1);
			p += 6;
		} else {
			size_t l = strlen(out);
			out[l] = *p++;
		}
	}
	return out;
}

#define HEAD "[dnsward]\nstate-dir = /tmp\n[provider fd]\ntype = freedns\n"

static const struct {
	const char *name;
	const char *text;
	const char *expect;   /* substring of the diagnostic */
} bad_cases[] = {
	{ "key before section", "a = b\n", "t.conf:1: key 'a' before any [section]" },
	{ "syntax", "[dnsward]\nthis is not a key\n", "t.conf:2: syntax error" },
	{ "unknown section", "[dnsward]\n[zone x]\nk = v\n", "t.conf:2: unknown section [zone x]" },
	{ "unknown global key", "[dnsward]\nstate-dir = /tmp\nfoo = 1\n", "t.conf:3: [dnsward] foo: unknown key" },
	{ "relative state dir", "[dnsward]\nstate-dir = rel\n", "t.conf:2: [dnsward] state-dir: 'rel' must be an absolute path" },
	{ "bad log level", "[dnsward]\nlog-level = loud\n", "t.conf:2: [dnsward] log-level: 'loud' is not one of" },
	{ "duplicate key", "[dnsward]\nstate-dir = /a\nstate-dir = /b\n", "t.conf:3: [dnsward] state-dir: given twice (first on line 2)" },
	{ "provider without type", "[provider x]\nbase-url = https://a\n", "t.conf:1: [provider x] type: missing" },
	{ "unknown provider type", "[provider x]\ntype = nosuch\n", "t.conf:2: [provider x] type: unknown provider type 'nosuch'" },
	{ "http base url", HEAD "base-url = http://example.org\n", "t.conf:5: [provider fd] base-url: 'http://example.org' must be an https:// URL" },
	{ "bad timeout", HEAD "timeout = 0\n", "t.conf:5: [provider fd] timeout: '0' is not a whole number from 1 to 600" },
	{ "timeout not a number", HEAD "timeout = 5s\n", "t.conf:5: [provider fd] timeout: '5s' is not a whole number" },
	{ "provider twice", HEAD "[provider fd]\ntype = freedns\n", "t.conf:5: [provider fd]: provider 'fd' defined twice" },
	{ "unknown provider key", HEAD "colour = red\n", "t.conf:5: [provider fd] colour: unknown key" },
	{ "record without provider", HEAD "[record a.example.org]\nipv4 = static:81.2.69.160\n", "t.conf:5: [record a.example.org] provider: missing" },
	{ "record unknown provider", HEAD "[record a.example.org]\nprovider = other\n", "t.conf:6: [record a.example.org] provider: no [provider other] section" },
	{ "bad fqdn", HEAD "[record bad..name]\nprovider = fd\n", "t.conf:5: [record bad..name]: 'bad..name' is not a valid domain name" },
	{ "bad source", HEAD "[record a.example.org]\nprovider = fd\nipv4 = dhcp\n", "t.conf:7: [record a.example.org] ipv4: 'dhcp' is not iface:NAME, static:ADDRESS, web, dns, cmd:PATH or off" },
	{ "bad static", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:1.2.3\n", "t.conf:7: [record a.example.org] ipv4: '1.2.3' is not an ipv4 address" },
	{ "v6 in v4", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:2001:db8::1\n", "t.conf:7: [record a.example.org] ipv4: '2001:db8::1' is not an ipv4 address" },
	{ "bad iface", HEAD "[record a.example.org]\nprovider = fd\nipv6 = iface:\n", "t.conf:7: [record a.example.org] ipv6: '' is not a valid interface name" },
	{ "nothing to publish", HEAD "[record a.example.org]\nprovider = fd\n", "t.conf:5: [record a.example.org]: neither ipv4 nor ipv6 is set" },
	{ "bad ttl", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\nttl = -5\n", "t.conf:8: [record a.example.org] ttl: '-5' is not a whole number" },
	{ "bad accept", HEAD "[record a.example.org]\nprovider = fd\nipv6 = iface:eth0\nipv6-accept = everything\n", "t.conf:8: [record a.example.org] ipv6-accept: 'everything' is not a comma-separated list" },
	{ "bad match", HEAD "[record a.example.org]\nprovider = fd\nipv6 = iface:eth0\nipv6-match = 2001:db8::1\n", "t.conf:8: [record a.example.org] ipv6-match: '2001:db8::1' is not an ipv6 prefix" },
	{ "bad prefer", HEAD "[record a.example.org]\nprovider = fd\nipv6 = iface:eth0\nipv6-prefer = newest\n", "t.conf:8: [record a.example.org] ipv6-prefer: 'newest' is not stable, lowest or highest" },
	{ "record twice", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\ntoken-a-file = @TOK@\n[record A.example.org.]\nprovider = fd\n", "t.conf:9: [record A.example.org.]: record defined twice" },
	{ "unknown record key", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\ntoken-a-file = @TOK@\nweight = 3\n", "t.conf:9: [record a.example.org] weight: unknown key" },
	{ "secret readable by others", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\ntoken-a-file = @OPEN@\n", "is accessible by others (mode 0644); fix with: chmod 600" },
	{ "secret missing", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\ntoken-a-file = /nonexistent/token\n", "t.conf:8: [record a.example.org] token-a-file: cannot open secret file /nonexistent/token" },
	{ "bad min-publish-gap", HEAD "[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\nmin-publish-gap = 86401\n", "t.conf:8: [record a.example.org] min-publish-gap: '86401' is not a whole number from 0 to 86400" },
	{ "bad global min-publish-gap", "[dnsward]\nmin-publish-gap = 1m\n", "t.conf:2: [dnsward] min-publish-gap: '1m' is not a whole number" },
	{ "no records", HEAD, "t.conf: no [record FQDN] section" },
	{ "NUL byte", "[dnsward]\0\n", "contains NUL bytes" },
	/* A byte order mark does not shift line numbers. */
	{ "BOM", "\xEF\xBB\xBF[provider x]\nbase-url = https://a\n", "t.conf:1: [provider x] type: missing" },
};

static void test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char *text = expand(bad_cases[i].text);
		size_t len = strlen(text);
		if (strcmp(bad_cases[i].name, "NUL byte") == 0)
			len = 11;
		struct dw_config *cfg = (struct dw_config *)0x1;
		struct dw_diag diag = { "" };
		int ret = dw_config_parse("t.conf", text, len, true, &cfg, &diag);
		if (ret == DW_OK || strstr(diag.msg, bad_cases[i].expect) == NULL) {
			print_error("case '%s': ret %d, diag '%s', expected '%s'\n",
			            bad_cases[i].name, ret, diag.msg, bad_cases[i].expect);
			fail();
		}
		assert_null(cfg);
		free(text);
	}
}

static void test_good_config(void **state)
{
	(void)state;
	char *text = expand(
		"; comment\n"
		"[dnsward]\n"
		"state-dir = /var/tmp/dw\n"
		"log-level = debug\n"
		"\n"
		"[provider fd]\n"
		"type = freedns\n"
		"timeout = 7\n"
		"\n"
		"[record Host.Example.org.]\n"
		"provider = fd\n"
		"ipv4 = static:81.2.69.160\n"
		"ipv6 = iface:eth0\n"
		"ttl = 120\n"
		"ipv6-ttl = 60\n"
		"ipv6-accept = ula,temporary\n"
		"ipv6-match = 2a01:4f8::/32\n"
		"ipv6-prefer = lowest\n"
		"token-a-file = @TOK@\n"
		"token-aaaa-file = @TOK@\n");
	struct dw_config *cfg = NULL;
	struct dw_diag diag = { "" };
	int ret = dw_config_parse("t.conf", text, strlen(text), true, &cfg, &diag);
	if (ret != DW_OK)
		print_error("diag: %s\n", diag.msg);
	assert_int_equal(ret, DW_OK);
	assert_string_equal(cfg->state_dir, "/var/tmp/dw");
	assert_true(cfg->has_log_level);
	assert_int_equal(cfg->log_level, DW_LOG_DEBUG);
	assert_int_equal(cfg->nproviders, 1);
	assert_int_equal(cfg->providers[0]->timeout_ms, 7000);
	assert_string_equal(cfg->providers[0]->ops->type, "freedns");
	assert_int_equal(cfg->nrecords, 1);
	struct dw_record *r = cfg->records[0];
	assert_string_equal(r->fqdn, "host.example.org");
	assert_int_equal(r->line, 10);
	assert_ptr_equal(r->provider, cfg->providers[0]);
	assert_int_equal(r->src[DW_FAM_V4].kind, DW_SRC_STATIC);
	assert_int_equal(r->src[DW_FAM_V4].ttl, 120);
	char a[DW_IP_STRLEN];
	assert_string_equal(dw_ip_format(&r->src[DW_FAM_V4].addr, a), "81.2.69.160");
	assert_int_equal(r->src[DW_FAM_V6].kind, DW_SRC_IFACE);
	assert_string_equal(r->src[DW_FAM_V6].ifname, "eth0");
	assert_int_equal(r->src[DW_FAM_V6].ttl, 60);
	assert_int_equal(r->src[DW_FAM_V6].policy.accept, DW_ACCEPT_ULA | DW_ACCEPT_TEMPORARY);
	assert_true(r->src[DW_FAM_V6].policy.has_match);
	assert_int_equal(r->src[DW_FAM_V6].policy.match.len, 32);
	assert_int_equal(r->src[DW_FAM_V6].policy.prefer, DW_PREFER_LOWEST);
	assert_ptr_equal(dw_config_find_record(cfg, "HOST.example.org."), r);
	assert_null(dw_config_find_record(cfg, "other.example.org"));
	assert_int_equal(r->min_publish_gap_s, 30);   /* the default */
	dw_config_free(cfg);
	free(text);
}

/* min-publish-gap: [dnsward] sets every record's default, a record its own. */
static void test_min_publish_gap(void **state)
{
	(void)state;
	char *text = expand(
		"[dnsward]\nstate-dir = /tmp\nmin-publish-gap = 120\n"
		"[provider fd]\ntype = freedns\n"
		"[record a.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\n"
		"token-a-file = @TOK@\n"
		"[record b.example.org]\nprovider = fd\nipv4 = static:81.2.69.160\n"
		"token-a-file = @TOK@\nmin-publish-gap = 0\n");
	struct dw_config *cfg = NULL;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_config_parse("t.conf", text, strlen(text), true, &cfg, &diag), DW_OK);
	assert_int_equal(cfg->min_publish_gap_s, 120);
	assert_int_equal(cfg->records[0]->min_publish_gap_s, 120);
	assert_int_equal(cfg->records[1]->min_publish_gap_s, 0);
	dw_config_free(cfg);
	free(text);
}

/* A name of 253 bytes (four labels of 63, 63, 63 and 61 bytes). */
static void long_fqdn(char *buf, size_t cap)
{
	size_t n = 0;
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 61;
		for (int i = 0; i < len && n + 2 < cap; i++)
			buf[n++] = (char)('a' + (l + i) % 26);
		if (l < 3)
			buf[n++] = '.';
	}
	buf[n] = '\0';
}

/* Lines far longer than inih's default 200 bytes: a custom provider's URL of
 * 2 kB and a record of the longest name (its section title kept whole, not
 * cut at inih's 50-byte section buffer). */
static void test_long_lines(void **state)
{
	(void)state;
	char fqdn[260];
	long_fqdn(fqdn, sizeof(fqdn));
	assert_int_equal(strlen(fqdn), 253);
	size_t cap = 8192;
	char *text = malloc(cap);
	assert_non_null(text);
	int n = snprintf(text, cap,
	                 "[provider c]\n"
	                 "type = custom\n"
	                 "url = https://example.net/u?h={fqdn}&a={ip}&pad=%02000d\n"
	                 "success-status = 200\n"
	                 "[record %s]\n"
	                 "provider = c\n"
	                 "ipv4 = static:81.2.69.160\n", 7, fqdn);
	assert_true(n > 2000 && (size_t)n < cap);
	struct dw_config *cfg = NULL;
	struct dw_diag diag = { "" };
	int ret = dw_config_parse("t.conf", text, (size_t)n, true, &cfg, &diag);
	if (ret != DW_OK)
		print_error("diag: %s\n", diag.msg);
	assert_int_equal(ret, DW_OK);
	assert_int_equal(cfg->nrecords, 1);
	assert_string_equal(cfg->records[0]->fqdn, fqdn);
	assert_int_equal(cfg->records[0]->line, 5);
	dw_config_free(cfg);

	/* An error in such a section names it whole. */
	n = snprintf(text, cap, "[record %s]\nprovider = other\n", fqdn);
	ret = dw_config_parse("t.conf", text, (size_t)n, true, &cfg, &diag);
	assert_int_equal(ret, DW_ECONFIG);
	char want[400];
	snprintf(want, sizeof(want), "t.conf:2: [record %s] provider: no [provider other]", fqdn);
	if (strstr(diag.msg, want) == NULL) {
		print_error("diag '%s', expected '%s'\n", diag.msg, want);
		fail();
	}
	free(text);
}

/* Up to DW_CONF_LINE_MAX bytes a line is read (with or without its line
 * ending, as the last line); one byte more is refused with that limit and
 * the line's number. */
static void test_line_limit(void **state)
{
	(void)state;
	static const char head[] = "[dnsward]\nstate-dir = /tmp\n";
	static const struct dw_config_ext no_records = { .allow_no_records = true };
	size_t cap = sizeof(head) + DW_CONF_LINE_MAX + 64;
	char *text = malloc(cap);
	assert_non_null(text);
	for (int extra = 0; extra <= 1; extra++) {
		for (int last = 0; last <= 1; last++) {
			size_t n = sizeof(head) - 1;
			memcpy(text, head, n);
			text[n++] = ';';
			memset(text + n, 'x', DW_CONF_LINE_MAX - 1 + (size_t)extra);
			n += DW_CONF_LINE_MAX - 1 + (size_t)extra;
			if (!last) {
				static const char tail[] = "\nlog-level = debug\n";
				memcpy(text + n, tail, sizeof(tail) - 1);
				n += sizeof(tail) - 1;
			}
			struct dw_config *cfg = NULL;
			struct dw_diag diag = { "" };
			int ret = dw_config_parse_ext("t.conf", text, n, DW_CONF_OFFLINE, &no_records,
			                              &cfg, &diag);
			if (extra == 0) {
				if (ret != DW_OK || (!last && !cfg->has_log_level)) {
					print_error("last %d: ret %d, diag '%s'\n", last, ret, diag.msg);
					fail();
				}
				dw_config_free(cfg);
				continue;
			}
			char want[80];
			snprintf(want, sizeof(want), "t.conf:3: line longer than %d bytes",
			         DW_CONF_LINE_MAX);
			if (ret != DW_ECONFIG || strcmp(diag.msg, want) != 0) {
				print_error("last %d: ret %d, diag '%s', expected '%s'\n", last, ret,
				            diag.msg, want);
				fail();
			}
			assert_null(cfg);
		}
	}
	free(text);
}

static void test_fqdn_normalize(void **state)
{
	(void)state;
	static const struct { const char *in; const char *out; } ok[] = {
		{ "Example.ORG.", "example.org" },
		{ "*.example.org", "*.example.org" },
		{ "_acme-challenge.h.example.org", "_acme-challenge.h.example.org" },
		{ "localhost", "localhost" },
	};
	static const char *const bad[] = {
		"", ".", "a..b", ".a", "a b", "a/b", "*", "x.*.y",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s", ok[i].in);
		assert_int_equal(dw_fqdn_normalize(buf), DW_OK);
		assert_string_equal(buf, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		if (dw_fqdn_normalize(buf) == DW_OK) {
			print_error("accepted '%s'\n", bad[i]);
			fail();
		}
	}
}

static void test_missing_file(void **state)
{
	(void)state;
	struct dw_config *cfg = NULL;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_config_load("/nonexistent/dnsward.conf", true, &cfg, &diag), DW_ECONFIG);
	assert_non_null(strstr(diag.msg, "cannot open configuration /nonexistent/dnsward.conf"));
}

/* A deep copy of sections, as a publisher rebuilds them from the wire. */
static struct dw_section *sections_copy(const struct dw_section *in, size_t n)
{
	struct dw_section *out = calloc(n, sizeof(*out));
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		out[i].kind = strdup(in[i].kind);
		out[i].name = strdup(in[i].name);
		out[i].line = in[i].line;
		out[i].nkv = in[i].nkv;
		out[i].kv = calloc(in[i].nkv > 0 ? in[i].nkv : 1, sizeof(struct dw_kv));
		for (size_t k = 0; k < in[i].nkv; k++) {
			out[i].kv[k].key = strdup(in[i].kv[k].key);
			out[i].kv[k].value = strdup(in[i].kv[k].value);
			out[i].kv[k].line = in[i].kv[k].line;
		}
	}
	return out;
}

/* The configuration keeps its sections, knows which secrets each provider
 * and record section read, and can be rebuilt from the sections with the
 * secrets handed over instead of read from files. */
static void test_sections_secrets(void **state)
{
	(void)state;
	char tok2[300];
	snprintf(tok2, sizeof(tok2), "%s/token2", tmpdir);
	write_file(tok2, "fedcba9876543210\n", 0600);
	char text[2048];
	snprintf(text, sizeof(text),
	         "[dnsward]\nstate-dir = /tmp\n"
	         "[provider dd]\ntype = duckdns\ntoken-file = %s\n"
	         "[provider fd]\ntype = freedns\n"
	         "[record a.example.org]\nprovider = fd\nipv4 = web\ntoken-a-file = %s\n"
	         "[record b.duckdns.org]\nprovider = dd\nipv4 = static:192.0.2.1\n",
	         tok_ok, tok2);
	struct dw_config *cfg = NULL;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_config_parse("s.conf", text, strlen(text), false, &cfg, &diag), 0);
	assert_int_equal(cfg->nsecs, 5);
	const struct dw_provider *dd = cfg->providers[0];
	assert_string_equal(dd->sec->name, "dd");
	assert_int_equal(dd->secrets.n, 1);
	assert_string_equal(dd->secrets.v[0].path, tok_ok);
	assert_string_equal(dd->secrets.v[0].s.data, "0123456789abcdef");
	assert_int_equal(cfg->providers[1]->secrets.n, 0);   /* freedns tokens are per record */
	const struct dw_record *a = cfg->records[0];
	assert_string_equal(a->sec->name, "a.example.org");
	assert_int_equal(a->secrets.n, 1);
	assert_string_equal(a->secrets.v[0].s.data, "fedcba9876543210");
	assert_int_equal(cfg->records[1]->secrets.n, 0);

	/* Rebuilt with the secrets handed over: no file is opened. */
	struct dw_secret_set handed = { 0 };
	for (size_t i = 0; i < dd->secrets.n; i++)
		assert_int_equal(dw_secret_set_add(&handed, dd->secrets.v[i].path, dd->secrets.v[i].flags,
		                                   dd->secrets.v[i].s.data, dd->secrets.v[i].s.len), 0);
	for (size_t i = 0; i < a->secrets.n; i++)
		assert_int_equal(dw_secret_set_add(&handed, a->secrets.v[i].path, a->secrets.v[i].flags,
		                                   a->secrets.v[i].s.data, a->secrets.v[i].s.len), 0);
	unlink(tok2);
	chmod(tok_ok, 0);   /* unreadable, were it opened (root reads it anyway) */
	dw_secret_serve(&handed);
	struct dw_config *again = NULL;
	int rc = dw_config_from_sections("s.conf", sections_copy(cfg->secs, cfg->nsecs), cfg->nsecs,
	                                 false, NULL, &again, &diag);
	dw_secret_serve(NULL);
	chmod(tok_ok, 0600);
	assert_int_equal(rc, 0);
	assert_int_equal(again->nrecords, 2);
	assert_int_equal(again->records[0]->src[DW_FAM_V4].kind, DW_SRC_WEB);
	assert_string_equal(again->providers[0]->secrets.v[0].s.data, "0123456789abcdef");
	dw_config_free(again);

	/* A secret that was not handed over is an error naming its file. */
	struct dw_secret_set none = { 0 };
	dw_secret_serve(&none);
	rc = dw_config_from_sections("s.conf", sections_copy(cfg->secs, cfg->nsecs), cfg->nsecs,
	                             false, NULL, &again, &diag);
	dw_secret_serve(NULL);
	assert_int_equal(rc, DW_ESECRET);
	assert_non_null(strstr(diag.msg, "was not handed to this process"));
	assert_non_null(strstr(diag.msg, "s.conf:5: [provider dd] token-file"));

	/* Sources only: [dnsward] and the record, without its provider. */
	struct dw_section *two = calloc(2, sizeof(*two));
	assert_non_null(two);
	struct dw_section *g = sections_copy(&cfg->secs[0], 1);
	struct dw_section *rec = sections_copy(&cfg->secs[3], 1);
	two[0] = *g;
	two[1] = *rec;
	free(g);
	free(rec);
	const struct dw_config_ext src_only = { .sources_only = true };
	dw_secret_serve(&none);
	rc = dw_config_from_sections("s.conf", two, 2, false, &src_only, &again, &diag);
	dw_secret_serve(NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(again->nrecords, 1);
	assert_null(again->records[0]->provider);
	assert_int_equal(again->records[0]->src[DW_FAM_V4].kind, DW_SRC_WEB);
	assert_true(again->records[0]->src[DW_FAM_V4].nurls > 0);
	dw_config_free(again);

	dw_secret_set_free(&handed);
	dw_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_good_config),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_min_publish_gap),
		cmocka_unit_test(test_fqdn_normalize),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_sections_secrets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
