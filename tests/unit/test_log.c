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

#include "lib/log.h"

static void test_redact_table(void **state)
{
	(void)state;
	assert_int_equal(dw_log_add_secret("hunter22", 8), 0);
	assert_int_equal(dw_log_add_secret("Zm9vYmFy==", 10), 0);
	assert_int_equal(dw_log_add_secret("abc", 3), 0);   /* too short: ignored */

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
		cmocka_unit_test(test_log_output_redacted),
		cmocka_unit_test(test_level_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
