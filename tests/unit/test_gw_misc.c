/* Gateway tokens, rate limits and lockout, retry backoff, listen addresses,
 * metrics text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_conf.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_rate.h"
#include "gateway/gw_token.h"
#include "gateway/gw_upstream.h"

static void test_token(void **state)
{
	(void)state;
	struct gw_token a, b;
	gw_token_new(&a);
	gw_token_new(&b);
	assert_int_equal(strlen(a.text), GW_TOKEN_LEN);
	assert_memory_equal(a.text, "dwg_", 4);
	assert_string_not_equal(a.text, b.text);
	char id[GW_TOKEN_ID_LEN + 1];
	assert_int_equal(gw_token_parse(a.text, strlen(a.text), id), DW_OK);
	assert_string_equal(id, a.id);
	assert_true(gw_token_verify(a.text, strlen(a.text), a.hash));
	assert_false(gw_token_verify(b.text, strlen(b.text), a.hash));
	char t[GW_TOKEN_LEN + 1];
	memcpy(t, a.text, sizeof(t));
	t[GW_TOKEN_LEN - 1] ^= 1;
	assert_false(gw_token_verify(t, strlen(t), a.hash));
	static const char *const bad[] = {
		"", "dwg_", "dwg_0123456789abcdef_", "xyz_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dwg_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dwg_0123456789abcdef-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dwg_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"dwg_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_token_parse(bad[i], strlen(bad[i]), id), DW_EINVAL);
	gw_token_wipe(&a);
	assert_int_equal(a.text[0], '\0');
}

static void test_rate(void **state)
{
	(void)state;
	struct gw_rate *r = gw_rate_new(1024);
	assert_non_null(r);
	uint8_t k[16], k2[16];
	struct dw_ip ip;
	long retry = 0;
	assert_int_equal(dw_ip_parse_any("2001:db8:1:2::5", &ip), DW_OK);
	gw_rate_key_ip(&ip, 64, k);
	assert_int_equal(dw_ip_parse_any("2001:db8:1:2:ffff::9", &ip), DW_OK);
	gw_rate_key_ip(&ip, 64, k2);
	assert_memory_equal(k, k2, 16);   /* one /64 */
	gw_rate_key_ip(&ip, 128, k2);
	assert_memory_not_equal(k, k2, 16);
	/* a configurable prefix: one /56, bits cut inside a byte */
	assert_int_equal(dw_ip_parse_any("2001:db8:1:2ff::1", &ip), DW_OK);
	gw_rate_key_ip(&ip, 56, k2);
	assert_int_equal(dw_ip_parse_any("2001:db8:1:200::1", &ip), DW_OK);
	uint8_t k3[16];
	gw_rate_key_ip(&ip, 56, k3);
	assert_memory_equal(k2, k3, 16);
	gw_rate_key_ip(&ip, 55, k3);
	assert_int_equal(dw_ip_parse_any("2001:db8:1:3ff::1", &ip), DW_OK);
	uint8_t k4[16];
	gw_rate_key_ip(&ip, 55, k4);
	assert_memory_equal(k3, k4, 16);   /* 0x02 and 0x03 share 7 bits */
	gw_rate_key_ip(&ip, 56, k4);
	assert_memory_not_equal(k3, k4, 16);
	assert_int_equal(dw_ip_parse_any("2001:db8:1:2::5", &ip), DW_OK);
	int64_t now = 1000000;
	for (int i = 0; i < 6; i++)
		assert_true(gw_rate_take(r, k, 6, now, &retry));
	assert_false(gw_rate_take(r, k, 6, now, &retry));
	assert_true(retry >= 1 && retry <= 11);
	assert_true(gw_rate_take(r, k, 6, now + 10000, &retry));   /* one refilled */
	assert_false(gw_rate_take(r, k, 6, now + 10000, &retry));

	gw_rate_key_host(7, k2);
	assert_false(gw_rate_locked(r, k2, now, &retry));
	gw_rate_fail(r, k2, 3, 60, now);
	gw_rate_fail(r, k2, 3, 60, now + 1);
	assert_false(gw_rate_locked(r, k2, now + 2, &retry));
	gw_rate_fail(r, k2, 3, 60, now + 2);
	assert_true(gw_rate_locked(r, k2, now + 3, &retry));
	assert_true(retry > 0 && retry <= 60);
	assert_false(gw_rate_locked(r, k2, now + 2 + 60001, &retry));
	/* Failures spread over more than the window do not add up. */
	gw_rate_key_host(8, k3);
	gw_rate_fail(r, k3, 2, 10, now);
	gw_rate_fail(r, k3, 2, 10, now + 20000);
	assert_false(gw_rate_locked(r, k3, now + 20001, &retry));

	/* An audit budget counts what it refuses and hands the count to the
	 * next granted take; it is apart from the host's request budget. */
	uint8_t ka[16], kh[16];
	gw_rate_key_audit(9, ka);
	gw_rate_key_host(9, kh);
	assert_memory_not_equal(ka, kh, 16);
	uint64_t skipped = 99;
	assert_true(gw_rate_take_counted(r, ka, 2, now, &skipped));
	assert_int_equal(skipped, 0);
	assert_true(gw_rate_take_counted(r, ka, 2, now, &skipped));
	for (int i = 0; i < 5; i++)
		assert_false(gw_rate_take_counted(r, ka, 2, now + 1, &skipped));
	assert_true(gw_rate_take_counted(r, ka, 2, now + 30001, &skipped));
	assert_int_equal(skipped, 5);
	assert_false(gw_rate_take_counted(r, ka, 2, now + 30002, &skipped));
	assert_true(gw_rate_take_counted(r, ka, 2, now + 60003, &skipped));
	assert_int_equal(skipped, 1);
	gw_rate_free(r);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(gw_backoff_s(1, 5, 3600, 0.5), 5);
	assert_int_equal(gw_backoff_s(2, 5, 3600, 0.5), 10);
	assert_int_equal(gw_backoff_s(5, 5, 3600, 0.5), 80);
	assert_int_equal(gw_backoff_s(30, 5, 3600, 0.5), 3600);
	assert_int_equal(gw_backoff_s(1, 5, 3600, 0.0), 4);
	assert_int_equal(gw_backoff_s(30, 5, 3600, 0.999), 4318);
	assert_int_equal(gw_backoff_s(3, 5, 2, 0.0), 1);
}

static void test_listen(void **state)
{
	(void)state;
	struct gw_listen l;
	char buf[DW_IP_STRLEN];
	assert_int_equal(gw_listen_parse("127.0.0.1:8053", &l), DW_OK);
	assert_int_equal(l.port, 8053);
	assert_int_equal(gw_listen_parse("[::1]:0", &l), DW_OK);
	assert_string_equal(dw_ip_format(&l.ip, buf), "::1");
	assert_int_equal(l.port, 0);
	static const char *const bad[] = { "127.0.0.1", "::1:80", "[::1]80", "localhost:80",
	                                   "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:8x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_listen_parse(bad[i], &l), DW_EINVAL);
	/* loopback decides whether plain HTTP needs allow-plain-http */
	static const struct { const char *s; bool loopback; } lb[] = {
		{ "127.0.0.1:1", true }, { "127.8.9.1:1", true }, { "[::1]:1", true },
		{ "0.0.0.0:1", false }, { "[::]:1", false }, { "192.0.2.1:1", false },
		{ "[::ffff:127.0.0.1]:1", false }, { "[::2]:1", false },
	};
	for (size_t i = 0; i < sizeof(lb) / sizeof(lb[0]); i++) {
		assert_int_equal(gw_listen_parse(lb[i].s, &l), DW_OK);
		assert_int_equal(gw_listen_loopback(&l), lb[i].loopback);
	}
}

static void test_zone_of(void **state)
{
	(void)state;
	struct gw_conf c;
	memset(&c, 0, sizeof(c));
	snprintf(c.zones[0], sizeof(c.zones[0]), "example.org");
	snprintf(c.zones[1], sizeof(c.zones[1]), "lan.example.org");
	c.nzones = 2;
	assert_string_equal(gw_conf_zone_of(&c, "h.example.org"), "example.org");
	assert_string_equal(gw_conf_zone_of(&c, "pc.lan.example.org"), "lan.example.org");
	assert_string_equal(gw_conf_zone_of(&c, "lan.example.org"), "lan.example.org");
	assert_string_equal(gw_conf_zone_of(&c, "example.org"), "example.org");
	assert_null(gw_conf_zone_of(&c, "xexample.org"));
	assert_null(gw_conf_zone_of(&c, "example.org.evil.test"));
	assert_null(gw_conf_zone_of(&c, "org"));
}

static void test_metrics(void **state)
{
	(void)state;
	struct gw_metrics *m = gw_metrics_new();
	gw_metrics_request(m, GW_API_DYNDNS2, GW_R_GOOD);
	gw_metrics_request(m, GW_API_DYNDNS2, GW_R_GOOD);
	gw_metrics_request(m, GW_API_ACMEDNS, GW_R_NOTYOURS);
	gw_metrics_upstream(m, 0.003, 0, 1);
	gw_metrics_upstream(m, 0.2, 2, 0);
	gw_metrics_refused(m);
	gw_metrics_audit_skipped(m, 5);
	struct gw_metrics_store ms = { .queue_depth = 7, .failed_records = 1, .writable = 0 };
	ms.stats.errors[GW_FAULT_FULL] = 3;
	char *text;
	size_t len;
	assert_int_equal(gw_metrics_render(m, &ms, &text, &len), DW_OK);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "dnsward_gateway_requests_total{api=\"dyndns2\",result=\"good\"} 2\n"));
	assert_non_null(strstr(text, "{api=\"acmedns\",result=\"!yours\"} 1\n"));
	assert_non_null(strstr(text, "dnsward_gateway_upstream_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(text, "dnsward_gateway_upstream_seconds_bucket{le=\"0.25\"} 2\n"));
	assert_non_null(strstr(text, "dnsward_gateway_upstream_seconds_bucket{le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(text, "dnsward_gateway_upstream_seconds_count 2\n"));
	assert_non_null(strstr(text, "dnsward_gateway_upstream_failures_total{outcome=\"retry\"} 1\n"));
	assert_non_null(strstr(text, "dnsward_gateway_retry_queue_depth 7\n"));
	assert_non_null(strstr(text, "dnsward_gateway_records_failed 1\n"));
	assert_non_null(strstr(text, "dnsward_gateway_records_refused_total 1\n"));
	assert_non_null(strstr(text, "dnsward_gateway_audit_refusals_skipped_total 5\n"));
	assert_non_null(strstr(text, "dnsward_gateway_store_errors_total{kind=\"disk_full\"} 3\n"));
	assert_non_null(strstr(text, "dnsward_gateway_store_errors_total{kind=\"corrupt\"} 0\n"));
	assert_non_null(strstr(text, "dnsward_gateway_store_writable 0\n"));
	free(text);
	gw_metrics_free(m);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_zone_of),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
