/* Address sources: echo and program output parsing, DNS echo replies,
 * agreement among answers, prefix plus host part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/source.h"

static void test_echo_table(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int fam;
		const char *want;   /* NULL: must fail */
	} v[] = {
		{ "81.2.69.160", DW_FAM_V4, "81.2.69.160" },
		{ "81.2.69.160\n", DW_FAM_V4, "81.2.69.160" },
		{ "81.2.69.160\r\n", DW_FAM_V4, "81.2.69.160" },
		/* blank space and line ends after the address, as the manual says */
		{ "81.2.69.160\n\n", DW_FAM_V4, "81.2.69.160" },
		{ "81.2.69.160 \n", DW_FAM_V4, "81.2.69.160" },
		{ "81.2.69.160\t\r\n\r\n  ", DW_FAM_V4, "81.2.69.160" },
		{ "2a01:4f8::1   ", DW_FAM_V6, "2a01:4f8::1" },
		{ "2a01:4f8:1:2::3\n", DW_FAM_V6, "2a01:4f8:1:2::3" },
		{ "fl=123\nh=1.1.1.1\nip=81.2.69.160\nts=1.5\nvisit_scheme=https\n", DW_FAM_V4,
		  "81.2.69.160" },
		{ "fl=1\r\nip=2a01:4f8::1\r\n", DW_FAM_V6, "2a01:4f8::1" },
		/* refused */
		{ "", DW_FAM_V4, NULL },
		{ "\n", DW_FAM_V4, NULL },
		{ " 81.2.69.160", DW_FAM_V4, NULL },
		{ "\n81.2.69.160", DW_FAM_V4, NULL },
		{ "81.2.69.160\n\nx", DW_FAM_V4, NULL },
		{ "81.2.69.160\v", DW_FAM_V4, NULL },
		{ "81.2.69.160\f", DW_FAM_V4, NULL },
		{ "81.2.69.160 81.2.69.161", DW_FAM_V4, NULL },
		{ "81.2.69.160\n81.2.69.161\n", DW_FAM_V4, NULL },
		{ "2a01:4f8::1", DW_FAM_V4, NULL },                  /* wrong family */
		{ "81.2.69.160", DW_FAM_V6, NULL },
		{ "<html>81.2.69.160</html>", DW_FAM_V4, NULL },
		{ "Your IP is 81.2.69.160", DW_FAM_V4, NULL },
		{ "081.2.69.160", DW_FAM_V4, NULL },
		{ "81.2.69.160/24", DW_FAM_V4, NULL },
		{ "fl=1\nh=x\n", DW_FAM_V4, NULL },                   /* no ip= */
		{ "ip=81.2.69.160\nip=81.2.69.160\n", DW_FAM_V4, NULL },
		{ "ip=81.2.69.160\nnot a pair\n", DW_FAM_V4, NULL },
		{ "ip= 81.2.69.160\n", DW_FAM_V4, NULL },
		{ "=x\nip=81.2.69.160\n", DW_FAM_V4, NULL },
		{ "myip=81.2.69.160\n", DW_FAM_V4, NULL },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_ip ip;
		char why[200] = "";
		int r = dw_source_parse_echo(v[i].body, strlen(v[i].body), (enum dw_family)v[i].fam,
		                             &ip, why, sizeof(why));
		if (v[i].want == NULL) {
			if (r != DW_EPARSE)
				fail_msg("case %zu (%s) was accepted", i, v[i].body);
			assert_true(why[0] != '\0');
			continue;
		}
		if (r != DW_OK)
			fail_msg("case %zu (%s): %s", i, v[i].body, why);
		char a[DW_IP_STRLEN];
		assert_string_equal(dw_ip_format(&ip, a), v[i].want);
	}
}

static void test_echo_nul_and_size(void **state)
{
	(void)state;
	struct dw_ip ip;
	char why[200];
	static const char nul[] = "81.2.69.160\0";
	assert_int_equal(dw_source_parse_echo(nul, sizeof(nul) - 1, DW_FAM_V4, &ip, why, sizeof(why)),
	                 DW_EPARSE);
	static char big[DW_SOURCE_OUTPUT_MAX + 2];
	memset(big, ' ', sizeof(big));
	memcpy(big, "81.2.69.160", 11);
	assert_int_equal(dw_source_parse_echo(big, sizeof(big), DW_FAM_V4, &ip, why, sizeof(why)),
	                 DW_EPARSE);
	assert_non_null(strstr(why, "longer"));
}

static void test_cmd_output(void **state)
{
	(void)state;
	struct dw_ip ip;
	char why[200];
	assert_int_equal(dw_source_parse_cmd("81.2.69.160\n", 12, DW_FAM_V4, &ip, why, sizeof(why)),
	                 DW_OK);
	assert_int_equal(dw_source_parse_cmd("", 0, DW_FAM_V4, &ip, why, sizeof(why)), DW_EPARSE);
	assert_int_equal(dw_source_parse_cmd("81.2.69.160\n81.2.69.161\n", 24, DW_FAM_V4, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
	assert_non_null(strstr(why, "more than one line"));
	assert_int_equal(dw_source_parse_cmd("2a01:4f8::1\n", 12, DW_FAM_V4, &ip, why, sizeof(why)),
	                 DW_EPARSE);
	assert_non_null(strstr(why, "IPv6 address where IPv4"));
	/* Untrusted bytes are quoted printable and bounded. */
	assert_int_equal(dw_source_parse_cmd("\x1b[31mevil\x07", 11, DW_FAM_V4, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
	for (const char *p = why; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

static struct dw_ip ip4(const char *s)
{
	struct dw_ip ip;
	assert_int_equal(dw_ip_parse(s, DW_FAM_V4, &ip), DW_OK);
	return ip;
}

static void test_agree_table(void **state)
{
	(void)state;
	/* Answers as letters: '.' = no answer; each row also says how many
	 * services are configured, the expected winner and whether done. */
	static const struct {
		const char *answers;
		size_t configured;
		char winner;     /* 0: none */
		bool done;
	} v[] = {
		{ "a", 1, 'a', true },           /* one service: its answer */
		{ ".", 1, 0, true },
		{ "a", 3, 0, false },            /* one of three: ask on */
		{ "aa", 3, 'a', true },          /* two agree: stop early */
		{ ".a", 3, 0, false },
		{ ".aa", 3, 'a', true },
		{ "ab", 3, 0, false },           /* disagreement: ask all */
		{ "aba", 3, 'a', true },         /* 2 of 3 answers */
		{ "abc", 3, 0, true },
		{ "ab", 2, 0, true },            /* two services disagree: nothing */
		{ "a.", 2, 0, true },            /* only one answer of two */
		{ "..", 2, 0, true },
		{ "abab", 4, 0, true },          /* tie */
		{ "abaa", 4, 'a', true },
		{ "ab.a", 4, 'a', true },        /* 2 of 3 answers, a strict majority */
		{ "..", 4, 0, false },           /* still reachable */
		{ "...", 4, 0, true },           /* one left cannot reach two */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_ip votes[8];
		bool ok[8];
		size_t n = strlen(v[i].answers);
		for (size_t k = 0; k < n; k++) {
			char c = v[i].answers[k];
			ok[k] = c != '.';
			char a[32];
			snprintf(a, sizeof(a), "81.2.69.%d", c == '.' ? 1 : c);
			votes[k] = ip4(a);
		}
		bool done = false;
		int w = dw_source_agree(votes, ok, n, v[i].configured, &done);
		if (v[i].winner == 0) {
			if (w != -1)
				fail_msg("case %zu (%s of %zu): winner %d", i, v[i].answers, v[i].configured, w);
		} else {
			if (w < 0 || v[i].answers[w] != v[i].winner)
				fail_msg("case %zu (%s of %zu): got %d", i, v[i].answers, v[i].configured, w);
		}
		if (done != v[i].done)
			fail_msg("case %zu (%s of %zu): done %d", i, v[i].answers, v[i].configured, done);
	}
}

static void test_suffix(void **state)
{
	(void)state;
	static const struct {
		const char *addr;
		unsigned plen;
		const char *suffix;
		const char *want;   /* NULL: refused */
	} v[] = {
		{ "2a01:4f8:1:2::10", 64, "::1234:5678:9abc:def0", "2a01:4f8:1:2:1234:5678:9abc:def0" },
		{ "2a01:4f8:1:2:aaaa:bbbb:cccc:dddd", 64, "::1", "2a01:4f8:1:2::1" },
		{ "2a01:4f8:1:2::10", 128, "::1", "2a01:4f8:1:2::1" },    /* /128 means /64 */
		{ "2a01:4f8:1:2::10", 0, "::1", "2a01:4f8:1:2::1" },
		{ "2a01:4f8:1:2ff::10", 56, "::ab:0:0:0:1", "2a01:4f8:1:2ab::1" },
		{ "2a01:4f8:1:2::10", 80, "::1234:5678:9abc:def0", NULL }, /* overlaps prefix */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dw_ip a, s, out;
		assert_int_equal(dw_ip_parse(v[i].addr, DW_FAM_V6, &a), DW_OK);
		assert_int_equal(dw_ip_parse(v[i].suffix, DW_FAM_V6, &s), DW_OK);
		char why[200] = "";
		int r = dw_source_apply_suffix(&a, v[i].plen, &s, &out, why, sizeof(why));
		if (v[i].want == NULL) {
			assert_int_equal(r, DW_EINVAL);
			assert_non_null(strstr(why, "inside the /80 prefix"));
			continue;
		}
		assert_int_equal(r, DW_OK);
		char t[DW_IP_STRLEN];
		assert_string_equal(dw_ip_format(&out, t), v[i].want);
	}
}

/* Builds a reply to a query made by dw_source_dns_query: QR set, the
 * question kept, then answers appended as raw RRs (owner = the question's
 * name through a compression pointer). */
static size_t make_reply(uint8_t *w, size_t qlen, uint16_t type, uint16_t klass,
                         const char *const *rdata, const size_t *rdlen, size_t n, int rcode)
{
	w[2] |= 0x80;
	w[3] = (uint8_t)((w[3] & 0xf0) | (rcode & 0x0f));
	w[6] = 0;
	w[7] = (uint8_t)n;
	size_t len = qlen;
	for (size_t i = 0; i < n; i++) {
		uint8_t rr[10] = { 0xc0, 0x0c, (uint8_t)(type >> 8), (uint8_t)type,
		                   (uint8_t)(klass >> 8), (uint8_t)klass, 0, 0, 0, 60 };
		memcpy(w + len, rr, 10);
		len += 10;
		w[len++] = (uint8_t)(rdlen[i] >> 8);
		w[len++] = (uint8_t)rdlen[i];
		memcpy(w + len, rdata[i], rdlen[i]);
		len += rdlen[i];
	}
	return len;
}

static void test_dns_replies(void **state)
{
	(void)state;
	uint8_t w[1024];
	size_t qlen = 0;
	struct dw_ip ip;
	char why[200], a[DW_IP_STRLEN];

	/* OpenDNS: one A record at myip.opendns.com. */
	assert_int_equal(dw_source_dns_query(DW_ECHO_OPENDNS, DW_FAM_V4, 0x1234, w, sizeof(w), &qlen),
	                 DW_OK);
	const char *rd[] = { "\x51\x02\x45\xa0", "\x51\x02\x45\xa1" };
	size_t rl[] = { 4, 4 };
	size_t len = make_reply(w, qlen, 1, 1, rd, rl, 1, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 0x1234, w, len, &ip, why,
	                                     sizeof(why)), DW_OK);
	assert_string_equal(dw_ip_format(&ip, a), "81.2.69.160");
	/* wrong ID */
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 0x1235, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
	/* two different addresses */
	assert_int_equal(dw_source_dns_query(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, sizeof(w), &qlen), DW_OK);
	len = make_reply(w, qlen, 1, 1, rd, rl, 2, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
	assert_non_null(strstr(why, "two addresses"));
	/* NXDOMAIN, and no answer */
	assert_int_equal(dw_source_dns_query(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, sizeof(w), &qlen), DW_OK);
	len = make_reply(w, qlen, 1, 1, rd, rl, 0, 3);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
	assert_int_equal(dw_source_dns_query(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, sizeof(w), &qlen), DW_OK);
	len = make_reply(w, qlen, 1, 1, rd, rl, 0, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
	/* A truncated reply is never believed. */
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 7, w, 11, &ip, why,
	                                     sizeof(why)), DW_EPARSE);

	/* Cloudflare: TXT CH whoami.cloudflare, one string. */
	assert_int_equal(dw_source_dns_query(DW_ECHO_CLOUDFLARE, DW_FAM_V6, 99, w, sizeof(w), &qlen),
	                 DW_OK);
	const char *txt[] = { "\x0b" "2a01:4f8::1" };
	size_t tl[] = { 12 };
	len = make_reply(w, qlen, 16, 3, txt, tl, 1, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_CLOUDFLARE, DW_FAM_V6, 99, w, len, &ip, why,
	                                     sizeof(why)), DW_OK);
	assert_string_equal(dw_ip_format(&ip, a), "2a01:4f8::1");
	/* Answer in class IN to a CH question: not our answer. */
	assert_int_equal(dw_source_dns_query(DW_ECHO_CLOUDFLARE, DW_FAM_V6, 99, w, sizeof(w), &qlen),
	                 DW_OK);
	len = make_reply(w, qlen, 16, 1, txt, tl, 1, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_CLOUDFLARE, DW_FAM_V6, 99, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);

	/* Google: the address, plus the client-subnet note resolvers add. */
	assert_int_equal(dw_source_dns_query(DW_ECHO_GOOGLE, DW_FAM_V4, 5, w, sizeof(w), &qlen), DW_OK);
	const char *g[] = { "\x0b" "81.2.69.160", "\x1f" "edns0-client-subnet 81.2.69.0/24" };
	size_t gl[] = { 12, 32 };
	len = make_reply(w, qlen, 16, 1, g, gl, 2, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_GOOGLE, DW_FAM_V4, 5, w, len, &ip, why,
	                                     sizeof(why)), DW_OK);
	assert_string_equal(dw_ip_format(&ip, a), "81.2.69.160");
	/* A TXT that is not an address */
	assert_int_equal(dw_source_dns_query(DW_ECHO_GOOGLE, DW_FAM_V4, 5, w, sizeof(w), &qlen), DW_OK);
	const char *bad[] = { "\x05" "hello" };
	size_t bl[] = { 6 };
	len = make_reply(w, qlen, 16, 1, bad, bl, 1, 0);
	assert_int_equal(dw_source_parse_dns(DW_ECHO_GOOGLE, DW_FAM_V4, 5, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
}

/* Answers a lenient decoder would take: a NUL inside a TXT string ends a C
 * string early, and an A record's RDLENGTH says 5 where 4 bytes are the
 * address (the fifth then rides along unread). */
static void test_dns_reply_exact_lengths(void **state)
{
	(void)state;
	uint8_t w[1024];
	size_t qlen = 0, len;
	struct dw_ip ip;
	char why[200], a[DW_IP_STRLEN];
	static const struct {
		enum dw_echo_kind kind;
		int fam;
		uint16_t type, klass;
		const char *rdata;
		size_t rdlen;
		const char *want;   /* NULL: refused */
	} v[] = {
		/* TXT "9.9.9.9\0": the string holds a NUL */
		{ DW_ECHO_CLOUDFLARE, DW_FAM_V4, 16, 3, "\x08" "9.9.9.9\0", 9, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x08" "9.9.9.9\0", 9, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x08" "\0" "9.9.9.9", 9, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x08" "9.9.9.9\n", 9, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x08" "9.9.9.9 ", 9, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x07" "9.9.9.9", 8, "9.9.9.9" },
		/* TXT RDLENGTH longer than its strings, or a string longer than the RDATA */
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x07" "9.9.9.9" "\0", 9, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "\x09" "9.9.9.9", 8, NULL },
		{ DW_ECHO_GOOGLE, DW_FAM_V4, 16, 1, "", 0, NULL },
		/* A with RDLENGTH 5 or 3, AAAA with 17 or 15 */
		{ DW_ECHO_OPENDNS, DW_FAM_V4, 1, 1, "\x09\x09\x09\x09\x00", 5, NULL },
		{ DW_ECHO_OPENDNS, DW_FAM_V4, 1, 1, "\x09\x09\x09", 3, NULL },
		{ DW_ECHO_OPENDNS, DW_FAM_V4, 1, 1, "\x09\x09\x09\x09", 4, "9.9.9.9" },
		{ DW_ECHO_OPENDNS, DW_FAM_V6, 28, 1,
		  "\x2a\x01\x04\xf8\0\0\0\0\0\0\0\0\0\0\0\x01\x00", 17, NULL },
		{ DW_ECHO_OPENDNS, DW_FAM_V6, 28, 1,
		  "\x2a\x01\x04\xf8\0\0\0\0\0\0\0\0\0\0\0", 15, NULL },
		{ DW_ECHO_OPENDNS, DW_FAM_V6, 28, 1,
		  "\x2a\x01\x04\xf8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, "2a01:4f8::1" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enum dw_family fam = (enum dw_family)v[i].fam;
		assert_int_equal(dw_source_dns_query(v[i].kind, fam, 77, w, sizeof(w), &qlen), DW_OK);
		const char *rd[] = { v[i].rdata };
		size_t rl[] = { v[i].rdlen };
		len = make_reply(w, qlen, v[i].type, v[i].klass, rd, rl, 1, 0);
		why[0] = '\0';
		int r = dw_source_parse_dns(v[i].kind, fam, 77, w, len, &ip, why, sizeof(why));
		if (v[i].want == NULL) {
			if (r == DW_OK)
				fail_msg("case %zu accepted as %s", i, dw_ip_format(&ip, a));
			assert_true(why[0] != '\0');
			continue;
		}
		if (r != DW_OK)
			fail_msg("case %zu: %s", i, why);
		assert_string_equal(dw_ip_format(&ip, a), v[i].want);
	}
	/* A trailing byte after the last record is not a reply either. */
	assert_int_equal(dw_source_dns_query(DW_ECHO_OPENDNS, DW_FAM_V4, 9, w, sizeof(w), &qlen), DW_OK);
	const char *rd[] = { "\x09\x09\x09\x09" };
	size_t rl[] = { 4 };
	len = make_reply(w, qlen, 1, 1, rd, rl, 1, 0);
	w[len++] = 0;
	assert_int_equal(dw_source_parse_dns(DW_ECHO_OPENDNS, DW_FAM_V4, 9, w, len, &ip, why,
	                                     sizeof(why)), DW_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_table),
		cmocka_unit_test(test_echo_nul_and_size),
		cmocka_unit_test(test_cmd_output),
		cmocka_unit_test(test_agree_table),
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_dns_replies),
		cmocka_unit_test(test_dns_reply_exact_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
