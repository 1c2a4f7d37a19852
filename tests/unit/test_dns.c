/* DNS module: TSIG key files (table-driven), HMAC vectors, reply parsing and
 * TSIG verification cross-checked against ldns's own signer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/dns.h"
#include "lib/log.h"

#define S256 "4orY654sOAITD+TnpAQ2xwlU3WVFZrZ/1vwjCzMymIQ="
#define S384 "K3h5iNarUvxrJAiAd1dk1pUKE2O6+RN589I9M9Xa5LYflpTpJL8soFkL3sLFb3Pc"
#define S2   "R4DehbFQ2sfCrLtzKtNAM8QCHDX0m0W96aTBvzZrvRU="

struct key_case {
	const char *what;
	const char *text;
	const char *want;       /* key-name, or NULL */
	int ret;
	const char *name;       /* expected on success */
	const char *alg;
	const char *secret;
	const char *err;        /* expected substring of the diag on failure */
};

static const struct key_case key_cases[] = {
	{ "bind basic",
	  "key \"host-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"" S256 "\";\n};\n",
	  NULL, DW_OK, "host-key", "hmac-sha256", S256, NULL },
	{ "bind unquoted name, upper-case algorithm with dot, trailing dot on name",
	  "key Host-Key. { algorithm HMAC-SHA512.; secret \"" S256 "\"; };",
	  NULL, DW_OK, "host-key", "hmac-sha512", S256, NULL },
	{ "bind comments and whitespace everywhere",
	  "# generated\n// by hand\n/* multi\n line */ key\n\"k\"/*x*/{ # c\n"
	  "algorithm\nhmac-sha384 ; // c\n secret\n\"" S384 "\"\n;\n}\n;\n",
	  NULL, DW_OK, "k", "hmac-sha384", S384, NULL },
	{ "bind no whitespace at all",
	  "key\"k\"{algorithm hmac-sha256;secret\"" S256 "\";};",
	  NULL, DW_OK, "k", "hmac-sha256", S256, NULL },
	{ "bind algorithm missing -> hmac-sha256",
	  "key \"k\" { secret \"" S256 "\"; };", NULL, DW_OK, "k", "hmac-sha256", S256, NULL },
	{ "bind unquoted secret",
	  "key k { algorithm hmac-sha256; secret " S256 "; };", NULL, DW_OK, "k", "hmac-sha256", S256, NULL },
	{ "bind secret with blanks inside the quotes",
	  "key k { secret \"4orY654sOAITD+TnpAQ2xwlU3WVF ZrZ/1vwjCzMymIQ=\"; };",
	  NULL, DW_OK, "k", "hmac-sha256", S256, NULL },
	{ "bind hmac-sha1 accepted (legacy)",
	  "key k { algorithm hmac-sha1; secret \"" S256 "\"; };", NULL, DW_OK, "k", "hmac-sha1", S256, NULL },
	{ "bind hmac-sha224 accepted",
	  "key k { algorithm hmac-sha224; secret \"" S256 "\"; };", NULL, DW_OK, "k", "hmac-sha224", S256, NULL },
	{ "bind two keys, chosen by name",
	  "key \"a\" { algorithm hmac-sha256; secret \"" S256 "\"; };\n"
	  "key \"b\" { algorithm hmac-sha512; secret \"" S2 "\"; };\n",
	  "B.", DW_OK, "b", "hmac-sha512", S2, NULL },
	{ "bind two keys, none chosen",
	  "key \"a\" { secret \"" S256 "\"; };\nkey \"b\" { secret \"" S2 "\"; };\n",
	  NULL, DW_ENOTFOUND, NULL, NULL, NULL, "t.key: holds 2 keys ('a', 'b'): set key-name" },
	{ "bind chosen key absent",
	  "key \"a\" { secret \"" S256 "\"; };\n", "zz", DW_ENOTFOUND, NULL, NULL, NULL,
	  "no key named 'zz' (found 'a')" },
	{ "bind unused md5 key is not an error",
	  "key \"old\" { algorithm hmac-md5; secret \"" S2 "\"; };\n"
	  "key \"new\" { algorithm hmac-sha256; secret \"" S256 "\"; };\n",
	  "new", DW_OK, "new", "hmac-sha256", S256, NULL },
	{ "bind md5 refused",
	  "key \"old\" {\n algorithm hmac-md5;\n secret \"" S2 "\";\n};\n",
	  NULL, DW_EUNSUPP, NULL, NULL, NULL, "t.key:2: key 'old' uses hmac-md5, which is broken" },
	{ "bind md5 long name refused",
	  "key o { algorithm hmac-md5.sig-alg.reg.int; secret \"" S2 "\"; };",
	  NULL, DW_EUNSUPP, NULL, NULL, NULL, "hmac-md5" },
	{ "bind unknown algorithm",
	  "key o { algorithm hmac-sha3; secret \"" S2 "\"; };",
	  NULL, DW_EUNSUPP, NULL, NULL, NULL, "t.key:1: unknown TSIG algorithm 'hmac-sha3'" },
	{ "bind bad base64",
	  "key \"k\" {\n algorithm hmac-sha256;\n secret \"not*base64!\";\n};\n",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:3: secret of key 'k' is not valid base64" },
	{ "bind base64 with bad padding",
	  "key \"k\" { secret \"4orY654sOAITD+TnpAQ2xwlU3WVFZrZ/1vwjCzMymIQ\"; };",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "not valid base64" },
	{ "bind empty secret",
	  "key \"k\" { secret \"\"; };", NULL, DW_EPARSE, NULL, NULL, NULL, "not valid base64" },
	{ "bind missing secret",
	  "\n\nkey \"k\" {\n algorithm hmac-sha256;\n};\n",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:3: key 'k' has no secret" },
	{ "bind missing semicolon after value",
	  "key \"k\" {\n algorithm hmac-sha256\n secret \"" S256 "\";\n};\n",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:3: expected ';' after the value" },
	{ "bind missing semicolon after brace",
	  "key \"k\" { secret \"" S256 "\"; }\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:2: expected ';' after '}'" },
	{ "bind unclosed clause",
	  "key \"k\" {\n secret \"" S256 "\";\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:1: key clause is not closed" },
	{ "bind unterminated comment",
	  "key \"k\" { secret \"" S256 "\"; };\n/* oops\n\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:2: unterminated /* comment" },
	{ "bind unterminated string",
	  "key \"k\" {\n secret \"abc\n\";};", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:2: unterminated quoted string" },
	{ "bind unknown statement",
	  "key \"k\" {\n algorithm hmac-sha256;\n secrets \"" S256 "\";\n};",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:3: unknown statement 'secrets'" },
	{ "bind duplicate secret",
	  "key \"k\" { secret \"" S256 "\";\n secret \"" S2 "\"; };",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:2: 'secret' given twice" },
	{ "bind other clause",
	  "options { directory \"/x\"; };", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:1: expected a key clause" },
	{ "bind bad key name",
	  "key \"bad name!\" { secret \"" S256 "\"; };", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:1: invalid key name" },
	{ "bare secret is not a key file",
	  S256 "\n", NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:1: expected a key clause" },
	{ "empty", "", NULL, DW_EPARSE, NULL, NULL, NULL, "t.key: no TSIG key found" },
	{ "comments only", "# nothing\n// here\n", NULL, DW_EPARSE, NULL, NULL, NULL, "no TSIG key found" },

	{ "keymgr output",
	  "# hmac-sha256:host-key:" S256 "\nkey:\n  - id: host-key\n    algorithm: hmac-sha256\n"
	  "    secret: " S256 "\n",
	  NULL, DW_OK, "host-key", "hmac-sha256", S256, NULL },
	{ "keymgr output, CRLF and no final newline",
	  "key:\r\n  - id: k\r\n    algorithm: hmac-sha384\r\n    secret: " S384,
	  NULL, DW_OK, "k", "hmac-sha384", S384, NULL },
	{ "keymgr quoted values and comments",
	  "key:\n  # the updater\n  - id: \"k\"   # comment\n    algorithm: 'hmac-sha512'\n"
	  "    secret: \"" S256 "\"\n",
	  NULL, DW_OK, "k", "hmac-sha512", S256, NULL },
	{ "keymgr without algorithm",
	  "key:\n  - id: k\n    secret: " S256 "\n", NULL, DW_OK, "k", "hmac-sha256", S256, NULL },
	{ "keymgr several keys, chosen",
	  "key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: " S256 "\n"
	  "  - id: b\n    algorithm: hmac-sha256\n    secret: " S2 "\n",
	  "b", DW_OK, "b", "hmac-sha256", S2, NULL },
	{ "keymgr several keys, two key sections",
	  "key:\n  - id: a\n    secret: " S256 "\nkey:\n  - id: b\n    secret: " S2 "\n",
	  NULL, DW_ENOTFOUND, NULL, NULL, NULL, "holds 2 keys ('a', 'b')" },
	{ "keymgr md5 refused",
	  "key:\n  - id: k\n    algorithm: hmac-md5\n    secret: " S256 "\n",
	  NULL, DW_EUNSUPP, NULL, NULL, NULL, "t.key:3: key 'k' uses hmac-md5" },
	{ "keymgr bad base64",
	  "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: abc$\n",
	  NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:4: secret of key 'k' is not valid base64" },
	{ "keymgr missing secret",
	  "key:\n  - id: k\n    algorithm: hmac-sha256\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:2: key 'k' has no secret" },
	{ "keymgr missing id",
	  "key:\n  - algorithm: hmac-sha256\n    secret: " S256 "\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:2: key has no id" },
	{ "keymgr unknown field",
	  "key:\n  - id: k\n    algoritm: hmac-sha256\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:3: unknown field 'algoritm'" },
	{ "keymgr empty value",
	  "key:\n  - id: k\n    secret:\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:3: 'secret' needs a value" },
	{ "keymgr other section",
	  "key:\n  - id: k\n    secret: " S256 "\nacl:\n  - id: x\n", NULL, DW_EPARSE, NULL, NULL, NULL,
	  "t.key:4: expected 'key:'" },
	{ "keymgr tab indentation",
	  "key:\n\t- id: k\n", NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:2: tab in indentation" },
	{ "keymgr field without item",
	  "key:\n    id: k\n", NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:2: expected '- id: NAME'" },
	{ "keymgr no colon",
	  "key:\n  - id k\n", NULL, DW_EPARSE, NULL, NULL, NULL, "t.key:2: expected 'FIELD: VALUE'" },
};

static void test_key_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		struct dw_tsig_key k;
		struct dw_diag d = { "" };
		int ret = dw_tsig_key_parse(c->text, strlen(c->text), "t.key", c->want, &k, &d);
		if (ret != c->ret)
			fail_msg("case '%s': returned %d (%s), expected %d", c->what, ret, d.msg, c->ret);
		if (ret == DW_OK) {
			assert_string_equal(k.name, c->name);
			assert_string_equal(k.algorithm, c->alg);
			assert_non_null(k.secret.data);
			assert_string_equal(k.secret.data, c->secret);
			assert_int_equal(k.secret.len, strlen(c->secret));
			dw_tsig_key_clear(&k);
			assert_null(k.secret.data);
		} else {
			assert_null(k.secret.data);
			if (strstr(d.msg, c->err) == NULL)
				fail_msg("case '%s': diag '%s' lacks '%s'", c->what, d.msg, c->err);
			/* never show a secret in a message */
			assert_null(strstr(d.msg, S256));
			assert_null(strstr(d.msg, S2));
			assert_null(strstr(d.msg, "abc$"));
		}
	}
}

/* The parser takes a length, not a NUL: text past len must not be read. */
static void test_key_not_nul_terminated(void **state)
{
	(void)state;
	const char text[] = "key k { secret \"" S256 "\"; };XXXX";
	struct dw_tsig_key k;
	struct dw_diag d;
	char *copy = malloc(sizeof(text) - 5);
	assert_non_null(copy);
	memcpy(copy, text, sizeof(text) - 5);
	assert_int_equal(dw_tsig_key_parse(copy, sizeof(text) - 5, NULL, NULL, &k, &d), DW_OK);
	dw_tsig_key_clear(&k);
	assert_int_equal(dw_tsig_key_parse(copy, 10, NULL, NULL, &k, &d), DW_EPARSE);
	assert_non_null(strstr(d.msg, "<key>:1:"));
	free(copy);
}

static void test_key_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/dw-test-dns-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/k.key", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("key:\n  - id: host-key\n    algorithm: hmac-sha256\n    secret: " S256 "\n", f);
	fclose(f);

	struct dw_tsig_key k;
	struct dw_diag d = { "" };
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(dw_tsig_key_load(path, NULL, &k, &d), DW_ESECRET);
	assert_non_null(strstr(d.msg, "chmod 600"));

	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(dw_tsig_key_load(path, NULL, &k, &d), DW_OK);
	assert_string_equal(k.name, "host-key");
	/* the secret is now redacted from every log line */
	char line[128];
	snprintf(line, sizeof(line), "secret is %s here", S256);
	dw_log_redact(line, sizeof(line));
	assert_null(strstr(line, S256));
	assert_non_null(strstr(line, "[REDACTED]"));
	dw_tsig_key_clear(&k);

	assert_int_equal(dw_tsig_key_load(path, "nope", &k, &d), DW_ENOTFOUND);
	assert_non_null(strstr(d.msg, path));
	unlink(path);
	rmdir(dir);
}

static void test_alg_parse(void **state)
{
	(void)state;
	static const struct { const char *in; int ret; enum dw_tsig_alg alg; } v[] = {
		{ "hmac-sha256", DW_OK, DW_TSIG_HMAC_SHA256 },
		{ "HMAC-SHA384.", DW_OK, DW_TSIG_HMAC_SHA384 },
		{ "hmac-sha512", DW_OK, DW_TSIG_HMAC_SHA512 },
		{ "hmac-sha224", DW_OK, DW_TSIG_HMAC_SHA224 },
		{ "hmac-sha1", DW_OK, DW_TSIG_HMAC_SHA1 },
		{ "hmac-md5", DW_EUNSUPP, 0 },
		{ "hmac-md5.sig-alg.reg.int.", DW_EUNSUPP, 0 },
		{ "hmac-sha25", DW_EINVAL, 0 },
		{ "", DW_EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enum dw_tsig_alg a = DW_TSIG_ALG_COUNT;
		assert_int_equal(dw_tsig_alg_parse(v[i].in, &a), v[i].ret);
		if (v[i].ret == DW_OK)
			assert_int_equal(a, v[i].alg);
	}
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* RFC 4231 test cases 2 and 6 (SHA-1 with the same inputs, as RFC 2202 has them for case 2). */
static void test_hmac_vectors(void **state)
{
	(void)state;
	static const struct { enum dw_tsig_alg alg; int tc; const char *mac; } v[] = {
		{ DW_TSIG_HMAC_SHA1, 2, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
		{ DW_TSIG_HMAC_SHA224, 2, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44" },
		{ DW_TSIG_HMAC_SHA256, 2, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ DW_TSIG_HMAC_SHA384, 2, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
		                          "8e2240ca5e69e2c78b3239ecfab21649" },
		{ DW_TSIG_HMAC_SHA512, 2, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		                          "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
		{ DW_TSIG_HMAC_SHA1, 6, "90d0dace1c1bdc957339307803160335bde6df2b" },
		{ DW_TSIG_HMAC_SHA224, 6, "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e" },
		{ DW_TSIG_HMAC_SHA256, 6, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ DW_TSIG_HMAC_SHA384, 6, "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
		                          "0c2ef6ab4030fe8296248df163f44952" },
		{ DW_TSIG_HMAC_SHA512, 6, "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
		                          "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
	};
	uint8_t bigkey[131];
	memset(bigkey, 0xaa, sizeof(bigkey));
	const char *m2 = "what do ya want for nothing?";
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t mac[DW_TSIG_MAC_MAX];
		size_t maclen = 0;
		char out[2 * DW_TSIG_MAC_MAX + 1];
		if (v[i].tc == 2)
			assert_int_equal(dw_hmac(v[i].alg, (const uint8_t *)"Jefe", 4,
			                         (const uint8_t *)m2, strlen(m2), mac, &maclen), DW_OK);
		else
			assert_int_equal(dw_hmac(v[i].alg, bigkey, sizeof(bigkey),
			                         (const uint8_t *)m6, strlen(m6), mac, &maclen), DW_OK);
		assert_int_equal(maclen * 2, strlen(v[i].mac));
		hex(mac, maclen, out);
		assert_string_equal(out, v[i].mac);
	}
}

static void test_rcode_str(void **state)
{
	(void)state;
	char b[16];
	assert_string_equal(dw_rcode_str(0, b), "NOERROR");
	assert_string_equal(dw_rcode_str(9, b), "NOTAUTH");
	assert_string_equal(dw_rcode_str(10, b), "NOTZONE");
	assert_string_equal(dw_rcode_str(17, b), "BADKEY");
	assert_string_equal(dw_rcode_str(18, b), "BADTIME");
	assert_string_equal(dw_rcode_str(12, b), "RCODE12");
}

/* Builds a reply with ldns: NXDOMAIN for host.example.test with the SOA of
 * example.test in the authority section. */
static ldns_pkt *make_reply(void)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, "host.example.test.", LDNS_RR_TYPE_SOA,
	                                            LDNS_RR_CLASS_IN, 0), LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_id(p, 0x1234);
	ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
	ldns_rr *soa = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&soa, "Example.Test. 300 IN SOA ns.example.test. "
	                                     "h.example.test. 1 3600 900 604800 300", 0, NULL, NULL),
	                 LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
	return p;
}

static void test_parse_reply(void **state)
{
	(void)state;
	ldns_pkt *p = make_reply();
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
	struct dw_dns_reply r;
	struct dw_diag d;
	assert_int_equal(dw_dns_parse_reply(w, wl, &r, &d), DW_OK);
	assert_int_equal(r.id, 0x1234);
	assert_true(r.qr);
	assert_true(r.aa);
	assert_int_equal(r.rcode, DW_RCODE_NXDOMAIN);
	assert_true(r.has_soa);
	assert_string_equal(r.soa_owner, "example.test");
	assert_false(r.has_tsig);

	/* every truncation is an error, never a crash */
	for (size_t n = 0; n < wl; n++)
		assert_int_equal(dw_dns_parse_reply(w, n, &r, &d), DW_EPARSE);
	/* trailing garbage */
	uint8_t *w2 = malloc(wl + 1);
	assert_non_null(w2);
	memcpy(w2, w, wl);
	w2[wl] = 0;
	assert_int_equal(dw_dns_parse_reply(w2, wl + 1, &r, &d), DW_EPARSE);
	assert_non_null(strstr(d.msg, "trailing"));
	free(w2);
	free(w);
	ldns_pkt_free(p);

	/* a compression pointer to itself, and one pointing forward */
	static const uint8_t loop[] = { 0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1 };
	assert_int_equal(dw_dns_parse_reply(loop, sizeof(loop), &r, &d), DW_EPARSE);
	static const uint8_t fwd[] = { 0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 6, 0, 1 };
	assert_int_equal(dw_dns_parse_reply(fwd, sizeof(fwd), &r, &d), DW_EPARSE);
	/* a valid backward pointer: question name "a", answer owner -> it */
	static const uint8_t ok[] = { 0, 1, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0,
	                              1, 'A', 0, 0, 6, 0, 1,
	                              0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 1, 0, 0 };
	assert_int_equal(dw_dns_parse_reply(ok, sizeof(ok), &r, &d), DW_OK);
	assert_true(r.has_soa);
	assert_string_equal(r.soa_owner, "a");
}

/* ldns signs a reply with hmac-sha256 (the one algorithm both implement
 * identically in 1.8.3); our verifier must accept it, and reject any change. */
static void test_tsig_verify_against_ldns(void **state)
{
	(void)state;
	const char *text = "key \"host-key\" { algorithm hmac-sha256; secret \"" S256 "\"; };";
	struct dw_tsig_key key;
	struct dw_diag d = { "" };
	assert_int_equal(dw_tsig_key_parse(text, strlen(text), NULL, NULL, &key, &d), DW_OK);

	uint8_t req_mac[32];
	for (size_t i = 0; i < sizeof(req_mac); i++)
		req_mac[i] = (uint8_t)i;
	uint8_t rm[34];
	rm[0] = 0;
	rm[1] = 32;
	memcpy(rm + 2, req_mac, 32);
	ldns_rdf *req_mac_rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, sizeof(rm), rm);

	ldns_pkt *p = make_reply();
	assert_int_equal(ldns_pkt_tsig_sign(p, "host-key.", S256, 300, "hmac-sha256.", req_mac_rdf),
	                 LDNS_STATUS_OK);
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);

	struct dw_dns_reply r;
	assert_int_equal(dw_dns_parse_reply(w, wl, &r, &d), DW_OK);
	assert_true(r.has_tsig);
	assert_string_equal(r.tsig_name, "host-key");
	assert_string_equal(r.tsig_alg, "hmac-sha256");
	assert_int_equal(r.tsig_mac_len, 32);
	assert_int_equal(r.tsig_error, 0);
	uint64_t now = (uint64_t)time(NULL);
	assert_int_equal(dw_tsig_verify_reply(w, wl, &r, &key, req_mac, 32, now, &d), DW_OK);

	/* another request MAC, a clock too far away, a flipped byte */
	uint8_t other[32] = { 0 };
	assert_int_equal(dw_tsig_verify_reply(w, wl, &r, &key, other, 32, now, &d), DW_ETSIG);
	assert_int_equal(dw_tsig_verify_reply(w, wl, &r, &key, req_mac, 32, now + 1000, &d), DW_ETSIG);
	assert_non_null(strstr(d.msg, "clock"));
	w[20] ^= 1;
	assert_int_equal(dw_dns_parse_reply(w, wl, &r, &d), DW_OK);
	assert_int_equal(dw_tsig_verify_reply(w, wl, &r, &key, req_mac, 32, now, &d), DW_ETSIG);
	w[20] ^= 1;

	/* another key of the same name */
	struct dw_tsig_key k2;
	const char *t2 = "key \"host-key\" { secret \"" S2 "\"; };";
	assert_int_equal(dw_tsig_key_parse(t2, strlen(t2), NULL, NULL, &k2, &d), DW_OK);
	assert_int_equal(dw_dns_parse_reply(w, wl, &r, &d), DW_OK);
	assert_int_equal(dw_tsig_verify_reply(w, wl, &r, &k2, req_mac, 32, now, &d), DW_ETSIG);
	dw_tsig_key_clear(&k2);

	free(w);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(req_mac_rdf);
	dw_tsig_key_clear(&key);
}

/* A reply to "name type?" holding the answer RRs given as zone-file lines
 * (NULL-terminated), with rcode; into *w and *wl (caller frees). */
static void reply_wire(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode,
                       const char *const *answer, uint8_t **w, size_t *wl)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, 0),
	                 LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, rcode);
	for (size_t i = 0; answer != NULL && answer[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, answer[i], 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	assert_int_equal(ldns_pkt2wire(w, p, wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
}

struct seen_case {
	const char *what;
	uint16_t type;
	ldns_pkt_rcode rcode;
	const char *answer[5];
	const char *want[3];       /* expected rdata, NULL-terminated */
	size_t held, others;
	bool ttl_differs;
	const char *text;          /* expected seen.text */
};

static const struct seen_case seen_cases[] = {
	{ "exactly the address", 1, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN A 192.0.2.1" }, { "192.0.2.1" }, 1, 0, false,
	  "A 192.0.2.1 TTL 60" },
	{ "owner compared without case", 1, LDNS_RCODE_NOERROR,
	  { "HOST.Example.test. 60 IN A 192.0.2.1" }, { "192.0.2.1" }, 1, 0, false,
	  "A 192.0.2.1 TTL 60" },
	{ "another address", 1, LDNS_RCODE_NOERROR,
	  { "host.example.test. 300 IN A 192.0.2.99" }, { "192.0.2.1" }, 0, 1, false,
	  "A 192.0.2.99 TTL 300" },
	{ "the address and another", 1, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN A 192.0.2.99", "host.example.test. 60 IN A 192.0.2.1" },
	  { "192.0.2.1" }, 1, 1, false, "A 192.0.2.99 TTL 60, A 192.0.2.1 TTL 60" },
	{ "the address with another TTL", 1, LDNS_RCODE_NOERROR,
	  { "host.example.test. 3600 IN A 192.0.2.1" }, { "192.0.2.1" }, 1, 0, true,
	  "A 192.0.2.1 TTL 3600" },
	{ "nothing: NODATA", 1, LDNS_RCODE_NOERROR, { NULL }, { "192.0.2.1" }, 0, 0, false,
	  "no A record" },
	{ "nothing: NXDOMAIN", 1, LDNS_RCODE_NXDOMAIN, { NULL }, { "192.0.2.1" }, 0, 0, false,
	  "NXDOMAIN" },
	{ "other owners and types do not count", 1, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN CNAME www.example.test.",
	    "www.example.test. 60 IN A 192.0.2.1", "xhost.example.test. 60 IN A 192.0.2.1" },
	  { "192.0.2.1" }, 0, 0, false, "no A record" },
	{ "AAAA in another spelling", 28, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN AAAA 2001:db8:0:0::1" }, { "2001:db8::1" }, 1, 0, false,
	  "AAAA 2001:db8::1 TTL 60" },
	{ "TXT values among others", 16, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN TXT \"foreign\"", "host.example.test. 60 IN TXT \"v1\"",
	    "host.example.test. 60 IN TXT \"v2\"" },
	  { "\"v1\"", "\"v2\"" }, 2, 1, false,
	  "TXT \"foreign\" TTL 60, TXT \"v1\" TTL 60, TXT \"v2\" TTL 60" },
	{ "TXT is compared with case", 16, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN TXT \"V1\"" }, { "\"v1\"" }, 0, 1, false,
	  "TXT \"V1\" TTL 60" },
	{ "TXT of two strings is not their join", 16, LDNS_RCODE_NOERROR,
	  { "host.example.test. 60 IN TXT \"v\" \"1\"" }, { "\"v1\"" }, 0, 1, false,
	  "TXT \"v\" \"1\" TTL 60" },
};

static void test_rrset_compare(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(seen_cases) / sizeof(seen_cases[0]); i++) {
		const struct seen_case *c = &seen_cases[i];
		uint8_t *w = NULL;
		size_t wl = 0, n = 0;
		while (n < 3 && c->want[n] != NULL)
			n++;
		reply_wire("host.example.test.", (ldns_rr_type)c->type, c->rcode, c->answer, &w, &wl);
		struct dw_dns_seen seen;
		struct dw_diag d = { "" };
		int ret = dw_dns_rrset_compare(w, wl, "host.example.test", c->type, 60, c->want, n,
		                               &seen, &d);
		if (ret != DW_OK || seen.held != c->held || seen.others != c->others ||
		    seen.ttl_differs != c->ttl_differs || strcmp(seen.text, c->text) != 0)
			fail_msg("%s: ret %d held %zu others %zu ttl_differs %d text '%s'", c->what, ret,
			         seen.held, seen.others, seen.ttl_differs, seen.text);
		assert_int_equal(seen.rcode, (int)c->rcode);
		/* every truncation is an error, never a crash */
		for (size_t k = 0; k < wl; k++)
			assert_int_equal(dw_dns_rrset_compare(w, k, "host.example.test", c->type, 60,
			                                      c->want, n, &seen, &d), DW_EPARSE);
		free(w);
	}
}

static void test_rrset_compare_long_text(void **state)
{
	(void)state;
	/* twenty values: the description ends in "...", the counts stay right */
	char lines[20][96];
	const char *answer[21] = { NULL };
	for (int i = 0; i < 20; i++) {
		snprintf(lines[i], sizeof(lines[i]),
		         "host.example.test. 60 IN TXT \"value-%02d-AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", i);
		answer[i] = lines[i];
	}
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, "host.example.test.", LDNS_RR_TYPE_TXT,
	                                            LDNS_RR_CLASS_IN, 0), LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	for (int i = 0; i < 20; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, answer[i], 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	const char *want[1] = { "\"value-19-AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"" };
	struct dw_dns_seen seen;
	struct dw_diag d;
	assert_int_equal(dw_dns_rrset_compare(w, wl, "host.example.test", 16, 60, want, 1, &seen, &d),
	                 DW_OK);
	assert_int_equal(seen.held, 1);
	assert_int_equal(seen.others, 19);
	size_t len = strlen(seen.text);
	assert_true(len < sizeof(seen.text));
	assert_string_equal(seen.text + len - 3, "...");
	assert_memory_equal(seen.text, "TXT \"value-00-", 14);
	/* bad expectations are the caller's error */
	const char *bad[1] = { "not-an-address" };
	assert_int_equal(dw_dns_rrset_compare(w, wl, "host.example.test", 1, 60, bad, 1, &seen, &d),
	                 DW_EINVAL);
	free(w);
}

static void test_server_set(void **state)
{
	(void)state;
	struct dw_dns_server s;
	struct dw_diag d;
	assert_int_equal(dw_dns_server_set(&s, "127.0.0.1", 5353, 1000, &d), DW_OK);
	assert_string_equal(s.text, "127.0.0.1 port 5353");
	assert_int_equal(dw_dns_server_set(&s, "2001:db8::1", 53, 0, &d), DW_OK);
	assert_int_equal(s.timeout_ms, 20000);
	assert_int_equal(dw_dns_server_set(&s, "ns.example.org", 53, 1000, &d), DW_EINVAL);
	assert_int_equal(dw_dns_server_set(&s, "127.0.0.1", 0, 1000, &d), DW_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_key_not_nul_terminated),
		cmocka_unit_test(test_key_load),
		cmocka_unit_test(test_alg_parse),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_rcode_str),
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_tsig_verify_against_ldns),
		cmocka_unit_test(test_server_set),
		cmocka_unit_test(test_rrset_compare),
		cmocka_unit_test(test_rrset_compare_long_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
