/* Gateway tokens, rate limits and lockout (shared out among instances),
 * retry backoff, lease renewal, listen addresses, metrics text, the store's
 * settings and PostgreSQL's failure kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_conf.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_rate.h"
#include "gateway/gw_store.h"
#include "gateway/gw_store_int.h"
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

	/* A lockout (counted in the store) is kept here until it ends, and a
	 * locked slot is not reused for another key. */
	gw_rate_key_host(7, k2);
	assert_false(gw_rate_locked(r, k2, now, &retry));
	gw_rate_lock(r, k2, now, now + 60000);
	assert_true(gw_rate_locked(r, k2, now + 3, &retry));
	assert_true(retry > 0 && retry <= 60);
	assert_false(gw_rate_locked(r, k2, now + 60000, &retry));
	gw_rate_key_host(8, k3);
	gw_rate_lock(r, k3, now, now + 1000);
	gw_rate_lock(r, k3, now, now + 500);   /* never shortened */
	assert_true(gw_rate_locked(r, k3, now + 600, &retry));

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
	gw_metrics_set_backend(m, "postgresql");
	gw_metrics_set_instances(m, 3);
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
	assert_non_null(strstr(text, "dnsward_gateway_store_info{backend=\"postgresql\"} 1\n"));
	assert_non_null(strstr(text, "dnsward_gateway_instances 3\n"));
	assert_non_null(strstr(text, "dnsward_gateway_store_errors_total{kind=\"unavailable\"} 0\n"));
	free(text);
	gw_metrics_free(m);
}

/* Several instances: each allows its share of a per-minute budget (burst
 * and refill), at least one request in a burst. */
static void test_rate_share(void **state)
{
	(void)state;
	struct gw_rate *r = gw_rate_new(1024);
	uint8_t k1[16] = { 'h', 1 }, k2[16] = { 'h', 2 }, k3[16] = { 'h', 3 };
	int64_t now = 1000000;
	long retry;
	gw_rate_set_share(r, 2);
	int ok = 0;
	for (int i = 0; i < 10; i++)
		ok += gw_rate_take(r, k1, 6, now, &retry);
	assert_int_equal(ok, 3);
	assert_int_equal(retry, 21);   /* 3 a minute: one token in 20 s */
	assert_true(gw_rate_take(r, k1, 6, now + 20000, &retry));
	assert_false(gw_rate_take(r, k1, 6, now + 20000, &retry));
	/* 1 a minute among 2: a burst of one, refilled at half a request a minute. */
	assert_true(gw_rate_take(r, k2, 1, now, &retry));
	assert_false(gw_rate_take(r, k2, 1, now + 60000, &retry));
	assert_true(gw_rate_take(r, k2, 1, now + 120000, &retry));
	/* Alone again: the whole budget. */
	gw_rate_set_share(r, 1);
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += gw_rate_take(r, k3, 6, now, &retry);
	assert_int_equal(ok, 6);
	/* A lockout the store reported is kept here until it ends. */
	assert_false(gw_rate_locked(r, k3, now, &retry));
	gw_rate_lock(r, k3, now, now + 30000);
	assert_true(gw_rate_locked(r, k3, now + 1000, &retry));
	assert_int_equal(retry, 29);
	assert_false(gw_rate_locked(r, k3, now + 30000, &retry));
	gw_rate_free(r);
}

static void test_lease_renewal(void **state)
{
	(void)state;
	assert_false(gw_lease_renew_due(0, 60000));
	assert_false(gw_lease_renew_due(19999, 60000));
	assert_true(gw_lease_renew_due(20000, 60000));
	assert_true(gw_lease_renew_due(70000, 60000));
	assert_true(gw_lease_renew_due(2000, 5000));
}

/* The `database` setting, checked without touching any database. */
static void test_store_settings(void **state)
{
	(void)state;
	static const struct { const char *setting; int ret; const char *words; } v[] = {
		{ "/var/lib/dnsward/gateway.db", DW_OK, NULL },
		{ "gateway.db", DW_ECONFIG, "absolute path" },
		{ "", DW_ECONFIG, "no database" },
		{ "mysql://db/gw", DW_ECONFIG, "postgresql://" },
#if defined(DW_HAVE_POSTGRESQL)
		{ "postgresql://gw@db.example.net/gw", DW_OK, NULL },
		{ "postgres://gw@db.example.net/gw?sslmode=verify-full", DW_OK, NULL },
		{ "postgresql://gw@127.0.0.1/gw?sslmode=disable", DW_OK, NULL },
		{ "postgresql://gw@[::1]:5433/gw?sslmode=prefer", DW_OK, NULL },
		{ "postgresql://gw@localhost/gw?sslmode=require", DW_OK, NULL },
		{ "postgresql:///gw?host=/run/postgresql", DW_OK, NULL },
		{ "postgresql://a.example,b.example/gw?target_session_attrs=read-write", DW_OK, NULL },
		{ "postgresql://gw@db.example.net/gw?sslmode=require", DW_ECONFIG, "verify-full" },
		{ "postgresql://gw@db.example.net/gw?sslmode=verify-ca", DW_ECONFIG, "verify-full" },
		{ "postgresql://gw@192.0.2.1/gw?sslmode=disable", DW_ECONFIG, "verify-full" },
		{ "postgresql://127.0.0.1,db.example.net/gw?sslmode=allow", DW_ECONFIG, "verify-full" },
		{ "postgresql://db.example.net/gw?hostaddr=127.0.0.1&sslmode=disable", DW_OK, NULL },
		{ "postgresql://gw:hunter2@db.example.net/gw", DW_ECONFIG, "database-password-file" },
		{ "postgresql://gw@db.example.net/gw?password=hunter2", DW_ECONFIG, "database-password-file" },
		{ "postgresql://gw@db.example.net/gw?bogus=1", DW_ECONFIG, "not a valid" },
#endif
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_diag d = { "" };
		int ret = gw_store_check_setting(v[i].setting, &d);
		if (ret != v[i].ret)
			fprintf(stderr, "%s: %d (%s)\n", v[i].setting, ret, d.msg);
		assert_int_equal(ret, v[i].ret);
		if (v[i].words != NULL)
			assert_non_null(strstr(d.msg, v[i].words));
		assert_null(strstr(d.msg, "hunter2"));
	}
	assert_true(gw_store_is_file("/x/y.db"));
	assert_false(gw_store_is_file("postgresql://x/y"));
}

#if defined(DW_HAVE_POSTGRESQL)
static void test_pg_classify(void **state)
{
	(void)state;
	static const struct { const char *state; enum gw_fault f; } v[] = {
		{ NULL, GW_FAULT_UNAVAILABLE }, { "", GW_FAULT_UNAVAILABLE },
		{ "08006", GW_FAULT_UNAVAILABLE }, { "08001", GW_FAULT_UNAVAILABLE },
		{ "57P01", GW_FAULT_UNAVAILABLE }, { "57P03", GW_FAULT_UNAVAILABLE },
		{ "53300", GW_FAULT_UNAVAILABLE }, { "53100", GW_FAULT_FULL },
		{ "25006", GW_FAULT_READONLY }, { "42501", GW_FAULT_READONLY },
		{ "40001", GW_FAULT_BUSY }, { "40P01", GW_FAULT_BUSY }, { "55P03", GW_FAULT_BUSY },
		{ "57014", GW_FAULT_BUSY }, { "XX001", GW_FAULT_CORRUPT }, { "XX002", GW_FAULT_CORRUPT },
		{ "58030", GW_FAULT_IO }, { "42P01", GW_FAULT_OTHER }, { "28P01", GW_FAULT_OTHER },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(gw_pg_classify(v[i].state), v[i].f);
	assert_string_equal(gw_fault_name(GW_FAULT_UNAVAILABLE), "unavailable");
}
#endif

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
		cmocka_unit_test(test_rate_share),
		cmocka_unit_test(test_lease_renewal),
		cmocka_unit_test(test_store_settings),
#if defined(DW_HAVE_POSTGRESQL)
		cmocka_unit_test(test_pg_classify),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
