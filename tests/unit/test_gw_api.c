/* Gateway API request parsing: dyndns2 parameters, acme-dns and httpreq
 * JSON bodies (keys case-insensitive, duplicates refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "gateway/gw_api.h"
#include "lib/error.h"

static enum gw_dd_err dd(const char *qs, struct gw_dd_req *out)
{
	struct gw_query q;
	assert_int_equal(gw_query_parse(qs, strlen(qs), &q), DW_OK);
	return gw_dd_parse(&q, out);
}

static void test_dyndns2(void **state)
{
	(void)state;
	struct gw_dd_req r;
	char buf[DW_IP_STRLEN];
	assert_int_equal(dd("hostname=A.example.,b.example&myip=192.0.2.1", &r), GW_DD_OK);
	assert_int_equal(r.nnames, 2);
	assert_string_equal(r.names[0].name, "a.example");
	assert_true(r.names[0].valid && r.names[1].valid);
	assert_true(r.has_ip[DW_FAM_V4]);
	assert_false(r.has_ip[DW_FAM_V6]);
	assert_string_equal(dw_ip_format(&r.ip[DW_FAM_V4], buf), "192.0.2.1");

	assert_int_equal(dd("hostname=h&myip=2001:db8::1,192.0.2.1", &r), GW_DD_OK);
	assert_true(r.has_ip[DW_FAM_V4] && r.has_ip[DW_FAM_V6]);
	assert_int_equal(dd("hostname=h&myipv6=2001:db8::1&myip=2001:db8::1", &r), GW_DD_OK);
	assert_int_equal(dd("hostname=h&myipv4=192.0.2.1&myipv6=2001:db8::1", &r), GW_DD_OK);
	assert_true(r.has_ip[DW_FAM_V4] && r.has_ip[DW_FAM_V6]);
	assert_int_equal(dd("hostname=h&ip6lanprefix=2001:db8:1:2::/64&myip=192.0.2.1", &r), GW_DD_OK);
	assert_true(r.has_prefix);
	assert_string_equal(r.prefix, "2001:db8:1:2::/64");
	assert_false(r.has_ip[DW_FAM_V6]);
	assert_int_equal(dd("hostname=h&myipv6=2001:db8:1:2::/64", &r), GW_DD_OK);
	assert_true(r.has_prefix);
	assert_int_equal(dd("hostname=h&wildcard=NOCHG&mx=x&backmx=NO&system=dyndns", &r), GW_DD_OK);
	assert_false(r.has_ip[0] || r.has_ip[1] || r.has_prefix);
	/* offline: read (the server refuses yes), anything unclear is an error */
	assert_int_equal(dd("hostname=h&offline=YES", &r), GW_DD_OK);
	assert_true(r.offline);
	assert_int_equal(dd("hostname=h&offline=1", &r), GW_DD_OK);
	assert_true(r.offline);
	assert_int_equal(dd("hostname=h&offline=no", &r), GW_DD_OK);
	assert_false(r.offline);
	assert_int_equal(dd("hostname=h&offline=0", &r), GW_DD_OK);
	assert_false(r.offline);
	assert_int_equal(dd("hostname=h&offline=maybe", &r), GW_DD_BADIP);
	assert_int_equal(dd("hostname=h&offline=", &r), GW_DD_BADIP);

	/* invalid names are flagged, not fatal: each gets its own reply line */
	assert_int_equal(dd("hostname=ok.example,*.x.example,,b%20c", &r), GW_DD_OK);
	assert_int_equal(r.nnames, 4);
	assert_true(r.names[0].valid);
	assert_false(r.names[1].valid || r.names[2].valid || r.names[3].valid);

	assert_int_equal(dd("myip=192.0.2.1", &r), GW_DD_NOHOST);
	assert_int_equal(dd("hostname=", &r), GW_DD_NOHOST);
	static const char *const badip[] = {
		"hostname=h&myip=192.0.2.300", "hostname=h&myip=192.0.2.1,192.0.2.2",
		"hostname=h&myip=192.0.2.1,2001:db8::1,2001:db8::2", "hostname=h&myipv4=2001:db8::1",
		"hostname=h&myipv6=192.0.2.1", "hostname=h&myip=2001:db8::1&myipv6=2001:db8::2",
		"hostname=h&myipv6=2001:db8::1&ip6lanprefix=2001:db8::/64",
		"hostname=h&myipv6=2001:db8::/64&ip6lanprefix=2001:db8::/64",
		"hostname=h&myip=x",
	};
	for (size_t i = 0; i < sizeof(badip) / sizeof(badip[0]); i++)
		assert_int_equal(dd(badip[i], &r), GW_DD_BADIP);

	char many[1024] = "hostname=h.example";
	size_t ml = strlen(many);
	for (int i = 1; i < 21; i++) {
		memcpy(many + ml, ",h.example", 11);
		ml += 10;
	}
	assert_int_equal(dd(many, &r), GW_DD_TOOMANY);
}

#define TXT "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno-_"

static enum gw_json_err acmedns(const char *body, struct gw_acmedns_req *out)
{
	return gw_acmedns_parse(body, strlen(body), out);
}

static void test_acmedns(void **state)
{
	(void)state;
	struct gw_acmedns_req r;
	assert_int_equal(acmedns("{\"subdomain\":\"H.Example.\",\"txt\":\"" TXT "\"}", &r), GW_JSON_OK);
	assert_string_equal(r.subdomain, "h.example");
	assert_string_equal(r.txt, TXT);
	/* lego 4.9.1 capitalises the keys */
	assert_int_equal(acmedns("{\"SubDomain\":\"h.example\",\"Txt\":\"" TXT "\"}", &r), GW_JSON_OK);
	static const struct { const char *body; enum gw_json_err want; } v[] = {
		{ "{\"subdomain\":\"h\",\"txt\":\"short\"}", GW_JSON_BAD_TXT },
		{ "{\"subdomain\":\"h\"}", GW_JSON_BAD_TXT },
		{ "{\"subdomain\":\"h\",\"txt\":5}", GW_JSON_BAD_TXT },
		{ "{\"txt\":\"" TXT "\"}", GW_JSON_BAD_NAME },
		{ "{\"subdomain\":\"*.h\",\"txt\":\"" TXT "\"}", GW_JSON_BAD_NAME },
		{ "{\"subdomain\":\"h\\u0000x\",\"txt\":\"" TXT "\"}", GW_JSON_BAD },
		{ "{\"subdomain\":\"h\",\"SubDomain\":\"x\",\"txt\":\"" TXT "\"}", GW_JSON_BAD },
		{ "{\"subdomain\":\"h\",\"subdomain\":\"x\",\"txt\":\"" TXT "\"}", GW_JSON_BAD },
		{ "[\"h\"]", GW_JSON_BAD },
		{ "{\"subdomain\":\"h\",", GW_JSON_BAD },
		{ "", GW_JSON_BAD },
		{ "{\"subdomain\":\"h\",\"txt\":\"" TXT "\"} trailing", GW_JSON_BAD },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(acmedns(v[i].body, &r), v[i].want);
}

static enum gw_json_err httpreq(const char *body, struct gw_httpreq_req *out)
{
	return gw_httpreq_parse(body, strlen(body), out);
}

static void test_httpreq(void **state)
{
	(void)state;
	struct gw_httpreq_req r;
	assert_int_equal(httpreq("{\"fqdn\":\"_acme-challenge.H.example.\",\"value\":\"" TXT "\"}", &r),
	                 GW_JSON_OK);
	assert_string_equal(r.fqdn, "_acme-challenge.h.example");
	assert_string_equal(r.value, TXT);
	assert_false(r.raw);
	assert_int_equal(httpreq("{\"FQDN\":\"_acme-challenge.h.\",\"Value\":\"" TXT "\"}", &r),
	                 GW_JSON_OK);
	assert_int_equal(httpreq("{\"domain\":\"*.h.example\",\"token\":\"t\",\"keyAuth\":\"abc\"}", &r),
	                 GW_JSON_OK);
	assert_true(r.raw);
	assert_string_equal(r.fqdn, "_acme-challenge.h.example");
	assert_string_equal(r.value, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	static const struct { const char *body; enum gw_json_err want; } v[] = {
		{ "{\"fqdn\":\"a b\",\"value\":\"" TXT "\"}", GW_JSON_BAD_NAME },
		{ "{\"fqdn\":\"h.\",\"value\":\"x\"}", GW_JSON_BAD_TXT },
		{ "{\"fqdn\":\"h.\"}", GW_JSON_BAD },
		{ "{\"fqdn\":\"h.\",\"value\":\"" TXT "\",\"domain\":\"h\"}", GW_JSON_BAD },
		{ "{\"domain\":\"h\",\"keyAuth\":\"\"}", GW_JSON_BAD_TXT },
		{ "{\"domain\":\"*.*.h\",\"keyAuth\":\"a\"}", GW_JSON_BAD_NAME },
		{ "{\"fqdn\":1,\"value\":\"" TXT "\"}", GW_JSON_BAD },
		{ "{\"fqdn\":\"h.\",\"value\":\"" TXT "\",\"Fqdn\":\"x.\"}", GW_JSON_BAD },
		{ "null", GW_JSON_BAD },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(httpreq(v[i].body, &r), v[i].want);
}

static void test_acme_name(void **state)
{
	(void)state;
	char out[300];
	assert_true(gw_acme_name("h.example", out, sizeof(out)));
	assert_string_equal(out, "_acme-challenge.h.example");
	char longname[260];
	memset(longname, 'a', 245);
	longname[245] = '\0';
	assert_false(gw_acme_name(longname, out, sizeof(out)));   /* over 253 */
	assert_false(gw_acme_name("h", out, 10));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dyndns2),
		cmocka_unit_test(test_acmedns),
		cmocka_unit_test(test_httpreq),
		cmocka_unit_test(test_acme_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
