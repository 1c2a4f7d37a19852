/* Gateway request parsers: query strings, Basic credentials, CIDR lists,
 * X-Forwarded-For, the FRITZ!Box prefix form, names and ACME values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "gateway/gw_parse.h"
#include "lib/error.h"

static void test_query(void **state)
{
	(void)state;
	struct gw_query q;
	const char *s = "hostname=a.example&myip=1.2.3.4&x=%41%2b+b&flag&&";
	assert_int_equal(gw_query_parse(s, strlen(s), &q), DW_OK);
	assert_int_equal(q.n, 4);
	assert_string_equal(gw_query_get(&q, "hostname"), "a.example");
	assert_string_equal(gw_query_get(&q, "x"), "A+ b");
	assert_string_equal(gw_query_get(&q, "flag"), "");
	assert_null(gw_query_get(&q, "HOSTNAME"));
	assert_int_equal(gw_query_parse("", 0, &q), DW_OK);
	assert_int_equal(q.n, 0);

	static const char *const bad[] = {
		"a=%00", "a=%0a", "a=%", "a=%4", "a=%zz", "a=1&a=2", "=x", "a=\x01", "a=%7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_query_parse(bad[i], strlen(bad[i]), &q), DW_EINVAL);

	char big[GW_QUERY_RAW_MAX + 10];
	memset(big, 'a', sizeof(big));
	assert_int_equal(gw_query_parse(big, sizeof(big), &q), DW_EINVAL);
	char many[40 * 5];
	size_t o = 0;
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "k%d&", i);
	assert_int_equal(gw_query_parse(many, o, &q), DW_EINVAL);
}

static void basic(const char *userpass, char *hdr, size_t cap)
{
	char b64[512];
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)userpass, strlen(userpass),
	                  sodium_base64_VARIANT_ORIGINAL);
	snprintf(hdr, cap, "Basic %s", b64);
}

static void test_basic(void **state)
{
	(void)state;
	char user[GW_CRED_MAX], pass[GW_CRED_MAX], hdr[600];
	basic("host.example.test:dwg_secret:with:colons", hdr, sizeof(hdr));
	assert_int_equal(gw_basic_parse(hdr, user, pass), DW_OK);
	assert_string_equal(user, "host.example.test");
	assert_string_equal(pass, "dwg_secret:with:colons");
	/* scheme is case-insensitive; padding optional */
	assert_int_equal(gw_basic_parse("bAsIc YTpi", user, pass), DW_OK);
	assert_string_equal(user, "a");
	assert_string_equal(pass, "b");
	assert_int_equal(gw_basic_parse("Basic YTpiYw", user, pass), DW_OK);
	assert_string_equal(pass, "bc");

	static const char *const bad_pairs[] = { "nocolon", ":pass", "user:", "us er:p", "u:p\tq" };
	for (size_t i = 0; i < sizeof(bad_pairs) / sizeof(bad_pairs[0]); i++) {
		basic(bad_pairs[i], hdr, sizeof(hdr));
		assert_int_equal(gw_basic_parse(hdr, user, pass), DW_EINVAL);
		assert_string_equal(user, "");
		assert_string_equal(pass, "");
	}
	assert_int_equal(gw_basic_parse(NULL, user, pass), DW_EINVAL);
	assert_int_equal(gw_basic_parse("Bearer abc", user, pass), DW_EINVAL);
	assert_int_equal(gw_basic_parse("Basic", user, pass), DW_EINVAL);
	assert_int_equal(gw_basic_parse("Basic !!!!", user, pass), DW_EINVAL);
	assert_int_equal(gw_basic_parse("Basic YTpi YTpi", user, pass), DW_EINVAL);
	char longer[GW_CRED_MAX + 10];
	memset(longer, 'x', sizeof(longer));
	longer[0] = 'u';
	longer[1] = ':';
	longer[sizeof(longer) - 1] = '\0';
	basic(longer, hdr, sizeof(hdr));
	assert_int_equal(gw_basic_parse(hdr, user, pass), DW_EINVAL);
}

static void test_cidrs(void **state)
{
	(void)state;
	struct gw_cidrs c;
	struct dw_ip ip;
	assert_int_equal(gw_cidrs_parse("192.0.2.0/24, 2001:db8::/32 10.0.0.1", &c), DW_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(dw_ip_parse_any("192.0.2.77", &ip), DW_OK);
	assert_true(gw_cidrs_contain(&c, &ip));
	assert_int_equal(dw_ip_parse_any("10.0.0.1", &ip), DW_OK);
	assert_true(gw_cidrs_contain(&c, &ip));
	assert_int_equal(dw_ip_parse_any("10.0.0.2", &ip), DW_OK);
	assert_false(gw_cidrs_contain(&c, &ip));
	assert_int_equal(dw_ip_parse_any("2001:db8:5::1", &ip), DW_OK);
	assert_true(gw_cidrs_contain(&c, &ip));
	assert_int_equal(gw_cidrs_parse("", &c), DW_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(gw_cidrs_parse("192.0.2.1/24", &c), DW_EINVAL);   /* host bits */
	assert_int_equal(gw_cidrs_parse("192.0.2.0/33", &c), DW_EINVAL);
	assert_int_equal(gw_cidrs_parse("example.org", &c), DW_EINVAL);
}

static void test_unmapped(void **state)
{
	(void)state;
	struct dw_ip ip;
	char buf[DW_IP_STRLEN];
	assert_int_equal(gw_ip_parse_unmapped("::ffff:192.0.2.9", &ip), DW_OK);
	assert_int_equal(ip.family, DW_FAM_V4);
	assert_string_equal(dw_ip_format(&ip, buf), "192.0.2.9");
	assert_int_equal(gw_ip_parse_unmapped("2001:db8::1", &ip), DW_OK);
	assert_int_equal(ip.family, DW_FAM_V6);
}

static void test_xff(void **state)
{
	(void)state;
	struct gw_cidrs trusted;
	struct dw_ip peer, out;
	char buf[DW_IP_STRLEN];
	assert_int_equal(gw_cidrs_parse("127.0.0.1, 10.0.0.0/8", &trusted), DW_OK);

	/* untrusted peer: the header is ignored */
	assert_int_equal(dw_ip_parse_any("198.51.100.1", &peer), DW_OK);
	assert_int_equal(gw_client_addr(&peer, "203.0.113.5", &trusted, &out), DW_OK);
	assert_string_equal(dw_ip_format(&out, buf), "198.51.100.1");

	assert_int_equal(dw_ip_parse_any("127.0.0.1", &peer), DW_OK);
	static const struct { const char *xff; int ret; const char *client; } v[] = {
		{ "203.0.113.5", DW_OK, "203.0.113.5" },
		{ "203.0.113.5, 10.1.2.3", DW_OK, "203.0.113.5" },
		{ "1.1.1.1, 203.0.113.5, 10.1.2.3", DW_OK, "203.0.113.5" },  /* spoofed left part */
		{ " 2001:db8::5 ", DW_OK, "2001:db8::5" },
		{ "::ffff:203.0.113.5", DW_OK, "203.0.113.5" },
		{ "10.1.2.3", DW_EINVAL, NULL },
		{ "", DW_EINVAL, NULL },
		{ "garbage", DW_EINVAL, NULL },
		{ "203.0.113.5,", DW_EINVAL, NULL },
		{ NULL, DW_EINVAL, NULL },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int ret = gw_client_addr(&peer, v[i].xff, &trusted, &out);
		assert_int_equal(ret, v[i].ret);
		if (ret == DW_OK)
			assert_string_equal(dw_ip_format(&out, buf), v[i].client);
	}
}

static void test_prefix_combine(void **state)
{
	(void)state;
	struct dw_ip iid, out;
	char buf[DW_IP_STRLEN];
	assert_int_equal(dw_ip_parse("::1234", DW_FAM_V6, &iid), DW_OK);
	static const struct { const char *prefix; const char *want; } ok[] = {
		{ "2001:db8:1:2::/64", "2001:db8:1:2::1234" },
		{ "2001:db8:1:2::99/64", "2001:db8:1:2::1234" },   /* host bits ignored */
		{ "2001:db8:1::/48", "2001:db8:1::1234" },
		{ "2001:db8:1:2:3:4:5:6/128", "2001:db8:1:2:3:4:5:6" },
		{ "2001:db8:1:2f:aaaa::/60", "2001:db8:1:20::1234" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(gw_prefix_combine(ok[i].prefix, &iid, &out), DW_OK);
		assert_string_equal(dw_ip_format(&out, buf), ok[i].want);
	}
	assert_int_equal(dw_ip_parse("::a:b:c:d", DW_FAM_V6, &iid), DW_OK);
	assert_int_equal(gw_prefix_combine("2001:db8::/56", &iid, &out), DW_OK);
	assert_string_equal(dw_ip_format(&out, buf), "2001:db8::a:b:c:d");
	static const char *const bad[] = {
		"2001:db8::", "2001:db8::/", "2001:db8::/0", "2001:db8::/129", "2001:db8::/6x",
		"192.0.2.0/24", "/64", "2001:db8::/0064",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_prefix_combine(bad[i], &iid, &out), DW_EINVAL);
}

static void test_names(void **state)
{
	(void)state;
	static const struct { const char *in; const char *out; } ok[] = {
		{ "Host.Example.TEST.", "host.example.test" },
		{ "_acme-challenge.h.example", "_acme-challenge.h.example" },
		{ "xn--hst-8ma.example", "xn--hst-8ma.example" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char n[300];
		snprintf(n, sizeof(n), "%s", ok[i].in);
		assert_int_equal(gw_name_normalize(n), DW_OK);
		assert_string_equal(n, ok[i].out);
	}
	static const char *const bad[] = {
		"", ".", "a..b", ".a", "*.a.b", "a b", "h\xc3\xb3st.example", "a%2eb", "a.b..", "a/b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char n[300];
		snprintf(n, sizeof(n), "%s", bad[i]);
		assert_int_equal(gw_name_normalize(n), DW_EINVAL);
	}
	char n[300];
	memset(n, 'a', 64);
	snprintf(n + 64, sizeof(n) - 64, ".example");
	assert_int_equal(gw_name_normalize(n), DW_EINVAL);   /* label of 64 */
}

static void test_acme_value(void **state)
{
	(void)state;
	char v[44];
	assert_true(gw_acme_value_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno-_"));
	assert_false(gw_acme_value_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno-"));
	assert_false(gw_acme_value_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno-_A"));
	assert_false(gw_acme_value_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno+/"));
	assert_false(gw_acme_value_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn\"o="));
	/* RFC 8555 section 8.4: SHA-256 of the key authorization, base64url */
	gw_acme_value_from_keyauth("abc", v);
	assert_string_equal(v, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	assert_true(gw_acme_value_ok(v));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_xff),
		cmocka_unit_test(test_prefix_combine),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_acme_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
