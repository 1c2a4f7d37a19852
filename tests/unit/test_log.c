/* Redaction of registered secrets from log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/text.h"

static void test_redact_table(void **state)
{
	(void)state;
	assert_int_equal(dw_log_add_secret("hunter22", 8), 0);
	assert_int_equal(dw_log_add_secret("Zm9vYmFy==", 10), 0);
	assert_int_equal(dw_log_add_secret("abc", 3), DW_EINVAL);   /* too short: refused */
	assert_int_equal(dw_log_add_secret("ab", 2), DW_EINVAL);

	static const struct { const char *in; const char *out; } cases[] = {
		{ "nothing here", "nothing here" },
		{ "token=hunter22", "token=[REDACTED]" },
		{ "hunter22hunter22", "[REDACTED][REDACTED]" },
		{ "a hunter22 b Zm9vYmFy== c", "a [REDACTED] b [REDACTED] c" },
		{ "hunter2 is not it", "hunter2 is not it" },
		{ "abc stays", "abc stays" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		dw_log_redact(buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}

	/* No room to expand: the line is cut at the secret, never leaked. */
	char small[16];
	snprintf(small, sizeof(small), "x=hunter22 tail");
	dw_log_redact(small, sizeof(small));
	assert_null(strstr(small, "hunter"));
	dw_log_clear_secrets();

	char buf[64];
	snprintf(buf, sizeof(buf), "token=hunter22");
	dw_log_redact(buf, sizeof(buf));
	assert_string_equal(buf, "token=hunter22");   /* forgotten after clear */
}

/* Every form a secret is sent in is masked too. */
static void test_encoded_forms(void **state)
{
	(void)state;
	const char *sec = "tok+en/with=chars \"q\" \\ &x";
	assert_int_equal(dw_log_add_secret(sec, strlen(sec)), 0);
	assert_int_equal(dw_log_add_secret_basic("someone@example.net", "pw-0123456789"), 0);
	static const char *const cases[] = {
		"raw tok+en/with=chars \"q\" \\ &x end",
		"url tok%2Ben%2Fwith%3Dchars%20%22q%22%20%5C%20%26x end",
		"lower tok%2ben%2fwith%3dchars%20%22q%22%20%5c%20%26x end",
		"form tok%2Ben%2Fwith%3Dchars+%22q%22+%5C+%26x end",
		"json tok+en/with=chars \\\"q\\\" \\\\ &x end",
		"json tok+en\\/with=chars \\\"q\\\" \\\\ &x end",
		"basic Authorization: Basic c29tZW9uZUBleGFtcGxlLm5ldDpwdy0wMTIzNDU2Nzg5 end",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", cases[i]);
		dw_log_redact(buf, sizeof(buf));
		assert_non_null(strstr(buf, "[REDACTED] end"));
		assert_null(strstr(buf, "tok"));
		assert_null(strstr(buf, "c29tZW9u"));
	}
	dw_log_clear_secrets();
}

/* A sample of a reply is redacted before it is cut: a secret straddling
 * the cut shows no prefix. */
static void test_sample_redacts_before_cutting(void **state)
{
	(void)state;
	assert_int_equal(dw_log_add_secret("s3cretTOKEN-xyz", 15), 0);
	char out[64];
	const char *reply = "error for k=s3cretTOKEN-xyz please";
	dw_text_sample(reply, strlen(reply), 16, out, sizeof(out));
	assert_null(strstr(out, "s3c"));
	assert_string_equal(out, "error for k=[...");
	dw_text_sample(reply, strlen(reply), 60, out, sizeof(out));
	assert_string_equal(out, "error for k=[REDACTED] please");
	/* NUL and control bytes in a reply are no obstacle */
	const char bin[] = "a\0b s3cretTOKEN-xyz\n";
	dw_text_sample(bin, sizeof(bin) - 1, 60, out, sizeof(out));
	assert_string_equal(out, "a?b [REDACTED]?");
	dw_log_clear_secrets();
}

/* A line longer than the limit is redacted before it is cut. */
static void test_long_line_redacted_before_cut(void **state)
{
	(void)state;
	assert_int_equal(dw_log_add_secret("s3cretTOKEN-xyz", 15), 0);
	char tmpl[] = "/tmp/dw-test-log-XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	int saved = dup(2);
	dup2(fd, 2);
	dw_log_set_level(DW_LOG_DEBUG);
	char pad[2040];
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	log_error("%s s3cretTOKEN-xyz", pad);   /* the secret straddles 2048 */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char text[8192] = "";
	FILE *f = fopen(tmpl, "r");
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	unlink(tmpl);
	close(fd);
	assert_null(strstr(text, "s3c"));
	assert_non_null(strstr(text, "..."));
	dw_log_clear_secrets();
}

static void test_log_output_redacted(void **state)
{
	(void)state;
	char path[] = "/tmp/dw-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	assert_int_equal(dup2(fd, 2), 2);

	dw_log_init("test");
	dw_log_set_level(DW_LOG_DEBUG);
	assert_int_equal(dw_log_add_secret("s3cretTOKEN", 11), 0);
	log_debug("url https://x/u/%s/ done", "s3cretTOKEN");
	log_error("bad \x1b[31m control \n chars");
	dw_log_set_level(DW_LOG_ERR);
	log_info("filtered out");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	char text[512] = "";
	FILE *f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	dw_log_clear_secrets();

	assert_null(strstr(text, "s3cretTOKEN"));
	assert_non_null(strstr(text, "test: debug: url https://x/u/[REDACTED]/ done\n"));
	assert_non_null(strstr(text, "test: error: bad ?[31m control ? chars\n"));
	assert_null(strstr(text, "filtered out"));
}

static void test_level_parse(void **state)
{
	(void)state;
	enum dw_log_level l;
	assert_int_equal(dw_log_level_parse("debug", &l), 0);
	assert_int_equal(l, DW_LOG_DEBUG);
	assert_int_equal(dw_log_level_parse("warning", &l), 0);
	assert_int_equal(l, DW_LOG_WARNING);
	assert_int_not_equal(dw_log_level_parse("verbose", &l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_table),
		cmocka_unit_test(test_encoded_forms),
		cmocka_unit_test(test_sample_redacts_before_cutting),
		cmocka_unit_test(test_long_line_redacted_before_cut),
		cmocka_unit_test(test_log_output_redacted),
		cmocka_unit_test(test_level_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
