/* The protocol between dnsward and its publisher: what a job carries (the
 * sections and only the secrets it needs), round trips of every message,
 * and refusal of every kind of malformed frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/pubproto.h"

static char tmpdir[128], tok_dd[200], tok_fd[200], tok_other[200];
static struct dw_config *cfg;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dw-test-pp-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(tok_dd, sizeof(tok_dd), "%s/dd", tmpdir);
	snprintf(tok_fd, sizeof(tok_fd), "%s/fd", tmpdir);
	snprintf(tok_other, sizeof(tok_other), "%s/other", tmpdir);
	write_file(tok_dd, "duckduckduckduck\n");
	write_file(tok_fd, "freefreefreefree\n");
	write_file(tok_other, "otherotherother1\n");
	char text[2048];
	snprintf(text, sizeof(text),
	         "[dnsward]\nstate-dir = /tmp\nuser = nobody\ncold-start-check = yes\n"
	         "[provider dd]\ntype = duckdns\ntoken-file = %s\nacme-zones = duckdns.org\n"
	         "[provider fd]\ntype = freedns\n"
	         "[provider other]\ntype = duckdns\ntoken-file = %s\n"
	         "[record a.duckdns.org]\nprovider = dd\nipv4 = static:192.0.2.1\n"
	         "[record b.example.org]\nprovider = fd\nipv4 = web\ntoken-a-file = %s\n"
	         "[record c.duckdns.org]\nprovider = dd\nipv6 = static:2001:db8::1\n",
	         tok_dd, tok_other, tok_fd);
	struct dw_diag diag = { "" };
	return dw_config_parse("pp.conf", text, strlen(text), false, &cfg, &diag) == DW_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dw_config_free(cfg);
	unlink(tok_dd);
	unlink(tok_fd);
	unlink(tok_other);
	rmdir(tmpdir);
	return 0;
}

/* Splits buf into its one frame: type and body. */
static void one_frame(const struct dw_pp_buf *b, struct dw_pp_reader *rd)
{
	memset(rd, 0, sizeof(*rd));
	size_t used = 0;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_read_mem(rd, b->p, b->len, &used, &diag), 1);
	assert_int_equal(used, b->len);
}

static bool has_secret(const struct dw_pp_job *pj, const char *path, const char *value)
{
	const struct dw_secret_entry *e = dw_secret_set_find(&pj->secrets, path, DW_SECRET_LINE);
	return e != NULL && strcmp(e->s.data, value) == 0;
}

static const struct dw_section *find_sec(const struct dw_pp_job *pj, const char *kind,
                                         const char *name)
{
	for (size_t i = 0; i < pj->nsecs; i++) {
		if (strcmp(pj->secs[i].kind, kind) == 0 && strcmp(pj->secs[i].name, name) == 0)
			return &pj->secs[i];
	}
	return NULL;
}

static void test_publish_carries_its_sections_and_secrets(void **state)
{
	(void)state;
	struct dw_job j = { .kind = DW_JOB_PUBLISH, .r = cfg->records[0], .cold = true };
	j.plan[DW_FAM_V4] = (struct dw_plan){ .active = true, .have_addr = true, .publish = true };
	assert_int_equal(dw_ip_parse("192.0.2.1", DW_FAM_V4, &j.plan[DW_FAM_V4].addr), 0);
	snprintf(j.plan[DW_FAM_V4].prev, sizeof(j.plan[0].prev), "192.0.2.9");
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_job(42, cfg, &j, &b), 0);
	assert_true(b.locked);   /* may hold secrets: sodium memory */
	struct dw_pp_reader rd;
	one_frame(&b, &rd);
	assert_int_equal(rd.type, DW_PP_JOB);
	struct dw_pp_job pj;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_decode_job(rd.body, rd.body_len, &pj, &diag), 0);
	assert_int_equal(pj.id, 42);
	assert_int_equal(pj.job.kind, DW_JOB_PUBLISH);
	assert_string_equal(pj.file, "pp.conf");
	assert_string_equal(pj.fqdn, "a.duckdns.org");
	assert_true(pj.job.cold);
	assert_true(pj.job.plan[DW_FAM_V4].publish);
	assert_true(dw_ip_equal(&pj.job.plan[DW_FAM_V4].addr, &j.plan[DW_FAM_V4].addr));
	assert_string_equal(pj.job.plan[DW_FAM_V4].prev, "192.0.2.9");
	assert_false(pj.job.plan[DW_FAM_V6].active);
	/* [dnsward] without user, the record and its provider; nothing else. */
	assert_int_equal(pj.nsecs, 3);
	const struct dw_section *g = find_sec(&pj, "dnsward", "");
	assert_non_null(g);
	for (size_t k = 0; k < g->nkv; k++)
		assert_string_not_equal(g->kv[k].key, "user");
	assert_int_equal(g->nkv, 2);
	assert_int_equal(g->kv[1].line, 4);   /* lines travel: messages name them */
	assert_non_null(find_sec(&pj, "provider", "dd"));
	assert_non_null(find_sec(&pj, "record", "a.duckdns.org"));
	assert_int_equal(pj.secrets.n, 1);
	assert_true(has_secret(&pj, tok_dd, "duckduckduckduck"));
	dw_pp_job_free(&pj);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
}

static void test_verify_and_memo_travel(void **state)
{
	(void)state;
	struct dw_job j = { .kind = DW_JOB_VERIFY, .r = cfg->records[0] };
	j.verify[DW_FAM_V4] = true;
	assert_int_equal(dw_ip_parse("192.0.2.1", DW_FAM_V4, &j.published[DW_FAM_V4]), 0);
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_job(3, cfg, &j, &b), 0);
	struct dw_pp_reader rd;
	one_frame(&b, &rd);
	struct dw_pp_job pj;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_decode_job(rd.body, rd.body_len, &pj, &diag), 0);
	assert_int_equal(pj.job.kind, DW_JOB_VERIFY);
	assert_string_equal(pj.fqdn, "a.duckdns.org");
	assert_true(pj.job.verify[DW_FAM_V4]);
	assert_false(pj.job.verify[DW_FAM_V6]);
	assert_true(dw_ip_equal(&pj.job.published[DW_FAM_V4], &j.published[DW_FAM_V4]));
	assert_int_equal(pj.secrets.n, 1);   /* a read-back may need the provider's key */
	dw_pp_job_free(&pj);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);

	struct dw_job p = { .kind = DW_JOB_PUBLISH, .r = cfg->records[0], .have_memo = true };
	snprintf(p.memo, sizeof(p.memo), "zone=duckdns.org");
	assert_int_equal(dw_pp_encode_job(4, cfg, &p, &b), 0);
	one_frame(&b, &rd);
	assert_int_equal(dw_pp_decode_job(rd.body, rd.body_len, &pj, &diag), 0);
	assert_true(pj.job.have_memo);
	assert_string_equal(pj.job.memo, "zone=duckdns.org");
	dw_pp_job_free(&pj);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
}

static void test_fetch_carries_no_secret(void **state)
{
	(void)state;
	struct dw_job j = { .kind = DW_JOB_FETCH, .r = cfg->records[1] };
	j.fetch[DW_FAM_V4] = true;
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_job(7, cfg, &j, &b), 0);
	struct dw_pp_reader rd;
	one_frame(&b, &rd);
	struct dw_pp_job pj;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_decode_job(rd.body, rd.body_len, &pj, &diag), 0);
	assert_int_equal(pj.nsecs, 2);   /* [dnsward] and the record: its sources */
	assert_null(find_sec(&pj, "provider", "fd"));
	assert_int_equal(pj.secrets.n, 0);
	assert_true(pj.job.fetch[DW_FAM_V4]);
	assert_false(pj.job.fetch[DW_FAM_V6]);
	dw_pp_job_free(&pj);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
}

static void test_txt_carries_provider_and_its_records(void **state)
{
	(void)state;
	struct dw_job j = { .kind = DW_JOB_TXT_ADD, .p = cfg->providers[0], .ttl = 60 };
	snprintf(j.name, sizeof(j.name), "_acme-challenge.a.duckdns.org");
	snprintf(j.value, sizeof(j.value), "0123456789012345678901234567890123456789abc");
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_job(9, cfg, &j, &b), 0);
	struct dw_pp_reader rd;
	one_frame(&b, &rd);
	struct dw_pp_job pj;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_decode_job(rd.body, rd.body_len, &pj, &diag), 0);
	assert_string_equal(pj.provider, "dd");
	assert_string_equal(pj.job.value, j.value);
	assert_int_equal(pj.job.ttl, 60);
	assert_int_equal(pj.nsecs, 4);   /* [dnsward], dd, and both records using dd */
	assert_non_null(find_sec(&pj, "record", "a.duckdns.org"));
	assert_non_null(find_sec(&pj, "record", "c.duckdns.org"));
	assert_null(find_sec(&pj, "provider", "other"));
	assert_int_equal(pj.secrets.n, 1);   /* dd's token once, not the other provider's */
	assert_false(has_secret(&pj, tok_other, "otherotherother1"));
	dw_pp_job_free(&pj);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
}

/* Encodes j's result, decodes it into a fresh job of the same kind. */
static void result_round_trip(const struct dw_job *j, struct dw_job *back)
{
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_result(5, j, &b), 0);
	struct dw_pp_reader rd;
	one_frame(&b, &rd);
	assert_int_equal(rd.type, DW_PP_RESULT);
	uint64_t id;
	enum dw_job_kind kind;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_result_id(rd.body, rd.body_len, &id, &kind, &diag), 0);
	assert_int_equal(id, 5);
	assert_int_equal(kind, j->kind);
	memset(back, 0, sizeof(*back));
	back->kind = kind;
	assert_int_equal(dw_pp_decode_result(rd.body, rd.body_len, back, &diag), 0);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
}

static void test_results_round_trip(void **state)
{
	(void)state;
	struct dw_job *j = calloc(1, sizeof(*j)), *back = calloc(1, sizeof(*back));
	assert_non_null(j);
	assert_non_null(back);

	j->kind = DW_JOB_PUBLISH;
	dw_result_set(&j->res[0], DW_OUT_RATELIMIT, 120, "slow down\n\x1b[31mred");
	dw_result_set(&j->res[1], DW_OUT_DONE, -1, "good 2001:db8::1");
	result_round_trip(j, back);
	assert_int_equal(back->res[0].outcome, DW_OUT_RATELIMIT);
	assert_int_equal(back->res[0].retry_after_s, 120);
	assert_string_equal(back->res[0].msg, "slow down??[31mred");   /* control bytes replaced */
	assert_int_equal(back->res[1].outcome, DW_OUT_DONE);
	assert_string_equal(back->res[1].msg, "good 2001:db8::1");

	memset(j, 0, sizeof(*j));
	j->kind = DW_JOB_FETCH;
	j->fetched[1] = true;
	assert_int_equal(dw_ip_parse("2001:db8::7", DW_FAM_V6, &j->addr[1]), 0);
	snprintf(j->why[0], sizeof(j->why[0]), "no answer");
	result_round_trip(j, back);
	assert_false(back->fetched[0]);
	assert_string_equal(back->why[0], "no answer");
	assert_true(back->fetched[1]);
	assert_true(dw_ip_equal(&back->addr[1], &j->addr[1]));

	memset(j, 0, sizeof(*j));
	j->kind = DW_JOB_FOLLOW;
	j->have_zone = true;
	snprintf(j->target, sizeof(j->target), "x.acme.example.net");
	snprintf(j->zone.apex, sizeof(j->zone.apex), "example.net");
	struct dw_diag diag = { "" };
	assert_int_equal(dw_dns_server_set(&j->zone.ns[0], "192.0.2.53", 5353, 2000, &diag), 0);
	assert_int_equal(dw_dns_server_set(&j->zone.ns[1], "2001:db8::53", 53, 2000, &diag), 0);
	j->zone.nns = 2;
	result_round_trip(j, back);
	assert_int_equal(back->err, 0);
	assert_true(back->have_zone);
	assert_string_equal(back->target, "x.acme.example.net");
	assert_string_equal(back->zone.apex, "example.net");
	assert_int_equal(back->zone.nns, 2);
	assert_string_equal(back->zone.ns[0].text, "192.0.2.53 port 5353");
	assert_string_equal(back->zone.ns[1].text, "2001:db8::53 port 53");
	assert_int_equal(back->zone.ns[1].timeout_ms, 2000);

	memset(j, 0, sizeof(*j));
	j->kind = DW_JOB_PUBLISH;
	j->memo_out = true;
	j->have_memo = true;
	snprintf(j->memo, sizeof(j->memo), "zone=example.org");
	result_round_trip(j, back);
	assert_true(back->memo_out && back->have_memo);
	assert_string_equal(back->memo, "zone=example.org");

	memset(j, 0, sizeof(*j));
	j->kind = DW_JOB_VERIFY;
	dw_verify_set(&j->ver[0], DW_VERIFY_DRIFTED, "ns1 serves A 192.0.2.9, not A 192.0.2.1");
	dw_verify_set(&j->ver[1], DW_VERIFY_UNKNOWN, "no answer\n");
	result_round_trip(j, back);
	assert_int_equal(back->ver[0].status, DW_VERIFY_DRIFTED);
	assert_string_equal(back->ver[0].msg, "ns1 serves A 192.0.2.9, not A 192.0.2.1");
	assert_int_equal(back->ver[1].status, DW_VERIFY_UNKNOWN);
	assert_string_equal(back->ver[1].msg, "no answer?");

	memset(j, 0, sizeof(*j));
	j->kind = DW_JOB_TXT_SERVED;
	j->err = DW_ETIMEOUT;
	snprintf(j->msg, sizeof(j->msg), "no reply");
	result_round_trip(j, back);
	assert_int_equal(back->err, DW_ETIMEOUT);
	assert_string_equal(back->msg, "no reply");
	assert_false(back->has);
	free(j);
	free(back);
}

static void test_hello(void **state)
{
	(void)state;
	struct dw_pp_hello h = { .version = DW_PP_VERSION, .log_level = 7,
	                         .flags = DW_PP_SECCOMP | DW_PP_SPAWN }, back;
	struct dw_pp_buf b;
	struct dw_pp_reader rd;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_pp_encode_hello(&h, true, &b), 0);
	one_frame(&b, &rd);
	assert_int_equal(dw_pp_decode_hello(rd.body, rd.body_len, true, &back, &diag), 0);
	assert_int_equal(back.log_level, 7);
	assert_int_equal(back.flags, DW_PP_SECCOMP | DW_PP_SPAWN);
	dw_pp_reader_reset(&rd);
	/* The same bytes read as the publisher's HELLO: wrong length. */
	one_frame(&b, &rd);
	assert_int_equal(dw_pp_decode_hello(rd.body, rd.body_len, false, &back, &diag), DW_EPARSE);
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
	h.flags = 0x80;
	assert_int_equal(dw_pp_encode_hello(&h, true, &b), 0);
	one_frame(&b, &rd);
	assert_int_equal(dw_pp_decode_hello(rd.body, rd.body_len, true, &back, &diag), DW_EPARSE);
	assert_non_null(strstr(diag.msg, "flags"));
	dw_pp_reader_reset(&rd);
	dw_pp_buf_free(&b);
}

/* Every strict prefix of a good body, and one byte more, is refused. */
static void test_truncations_and_trailing_bytes(void **state)
{
	(void)state;
	struct dw_job j = { .kind = DW_JOB_PUBLISH, .r = cfg->records[0] };
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_job(1, cfg, &j, &b), 0);
	const uint8_t *body = b.p + 5;
	size_t len = b.len - 5;
	struct dw_diag diag = { "" };
	for (size_t n = 0; n < len; n++) {
		struct dw_pp_job pj;
		assert_int_equal(dw_pp_decode_job(body, n, &pj, &diag), DW_EPARSE);
	}
	uint8_t *more = malloc(len + 1);
	assert_non_null(more);
	memcpy(more, body, len);
	more[len] = 0;
	struct dw_pp_job pj;
	assert_int_equal(dw_pp_decode_job(more, len + 1, &pj, &diag), DW_EPARSE);
	assert_non_null(strstr(diag.msg, "trailing bytes"));
	free(more);
	dw_pp_buf_free(&b);

	struct dw_job r = { .kind = DW_JOB_PUBLISH };
	assert_int_equal(dw_pp_encode_result(1, &r, &b), 0);
	body = b.p + 5;
	len = b.len - 5;
	for (size_t n = 0; n < len; n++) {
		struct dw_job back = { .kind = DW_JOB_PUBLISH };
		assert_int_equal(dw_pp_decode_result(body, n, &back, &diag), DW_EPARSE);
	}
	dw_pp_buf_free(&b);
}

/* Hand-made bodies with one field wrong each. */
static void test_bad_fields(void **state)
{
	(void)state;
	struct dw_diag diag = { "" };
	static const struct {
		const char *what;
		uint8_t body[64];
		size_t len;
		enum dw_job_kind kind;
		const char *expect;
	} cases[] = {
		{ "unknown kind", { 0, 0, 0, 0, 0, 0, 0, 1, 99 }, 9, DW_JOB_PUBLISH, "kind" },
		{ "kind of another job", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_FETCH }, 9, DW_JOB_PUBLISH,
		  "kind differs" },
		{ "outcome out of range", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_TXT_ADD, 9,
		                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0 },
		  20, DW_JOB_TXT_ADD, "result" },
		{ "retry-after below -1", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_TXT_ADD, 2,
		                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0 },
		  20, DW_JOB_TXT_ADD, "result" },
		{ "boolean 2", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_TXT_SERVED, 0, 0, 0, 0, 0, 0, 2 },
		  16, DW_JOB_TXT_SERVED, "has" },
		{ "positive error", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_TXT_SERVED, 0, 0, 0, 5, 0, 0, 0 },
		  16, DW_JOB_TXT_SERVED, "err" },
		{ "NUL in a string", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_TXT_SERVED, 0, 0, 0, 0, 0, 2,
		                       'a', 0, 1 }, 18, DW_JOB_TXT_SERVED, "message" },
		{ "string longer than its field", { 0, 0, 0, 0, 0, 0, 0, 1, DW_JOB_TXT_SERVED, 0, 0, 0,
		                                    0, 0xff, 0xff }, 15, DW_JOB_TXT_SERVED,
		  "message" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dw_job *j = calloc(1, sizeof(*j));
		assert_non_null(j);
		j->kind = cases[i].kind;
		int r = dw_pp_decode_result(cases[i].body, cases[i].len, j, &diag);
		if (r != DW_EPARSE || strstr(diag.msg, cases[i].expect) == NULL)
			fail_msg("%s: %d %s", cases[i].what, r, diag.msg);
		free(j);
	}

	/* A fetched address of the other family. */
	struct dw_job *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->kind = DW_JOB_FETCH;
	j->fetched[0] = true;
	assert_int_equal(dw_ip_parse("2001:db8::1", DW_FAM_V6, &j->addr[0]), 0);
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_result(1, j, &b), 0);
	assert_int_equal(dw_pp_decode_result(b.p + 5, b.len - 5, j, &diag), DW_EPARSE);
	assert_non_null(strstr(diag.msg, "address family"));
	dw_pp_buf_free(&b);
	free(j);
}

/* Frame headers: a length of 0 or past the maximum, a stream ending inside
 * a frame, and frames read in pieces over a real socket. */
static void test_framing(void **state)
{
	(void)state;
	struct dw_pp_reader rd = { 0 };
	struct dw_diag diag = { "" };
	size_t used;
	static const uint8_t zero[] = { 0, 0, 0, 0, 1 };
	assert_int_equal(dw_pp_read_mem(&rd, zero, sizeof(zero), &used, &diag), DW_EPARSE);
	dw_pp_reader_reset(&rd);
	static const uint8_t huge[] = { 0, 0x10, 0, 1, 3 };
	assert_int_equal(dw_pp_read_mem(&rd, huge, sizeof(huge), &used, &diag), DW_EPARSE);
	dw_pp_reader_reset(&rd);

	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct dw_pp_hello h = { .version = DW_PP_VERSION, .pid = 77 };
	struct dw_pp_buf b;
	assert_int_equal(dw_pp_encode_hello(&h, false, &b), 0);
	/* Two frames, written a byte at a time and then a half. */
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(write(sv[0], b.p + i, 1), 1);
	assert_int_equal(write(sv[0], b.p, 3), 3);
	assert_int_equal(dw_pp_read(&rd, sv[1], &diag), 1);
	struct dw_pp_hello back;
	assert_int_equal(dw_pp_decode_hello(rd.body, rd.body_len, false, &back, &diag), 0);
	assert_int_equal(back.pid, 77);
	dw_pp_reader_reset(&rd);
	close(sv[0]);   /* the stream ends inside the second header */
	assert_int_equal(dw_pp_read(&rd, sv[1], &diag), DW_EPARSE);
	dw_pp_reader_reset(&rd);
	close(sv[1]);
	dw_pp_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_carries_its_sections_and_secrets),
		cmocka_unit_test(test_fetch_carries_no_secret),
		cmocka_unit_test(test_verify_and_memo_travel),
		cmocka_unit_test(test_txt_carries_provider_and_its_records),
		cmocka_unit_test(test_results_round_trip),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_truncations_and_trailing_bytes),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_framing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
