/* Secret files: permissions, sizes, trimming, redaction registration. */
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

#include "lib/log.h"
#include "lib/secret.h"

static char dir[64];

static const char *make(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dw-test-secret-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_permissions(void **state)
{
	(void)state;
	static const struct { mode_t mode; int ok; } cases[] = {
		{ 0600, 1 }, { 0400, 1 }, { 0640, 1 },   /* group read is allowed */
		{ 0644, 0 }, { 0604, 0 }, { 0660, 0 }, { 0602, 0 }, { 0601, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = make("perm", "s3cr3t-value\n", 13, cases[i].mode);
		struct dw_secret s;
		struct dw_diag d = { "" };
		int ret = dw_secret_load(p, DW_SECRET_LINE, &s, &d);
		if (cases[i].ok) {
			assert_int_equal(ret, DW_OK);
			assert_string_equal(s.data, "s3cr3t-value");
			assert_int_equal(s.len, 12);
			dw_secret_clear(&s);
			assert_null(s.data);
		} else {
			assert_int_equal(ret, DW_ESECRET);
			assert_non_null(strstr(d.msg, "fix with: chmod 600"));
			assert_null(strstr(d.msg, "s3cr3t"));
		}
	}
}

static void test_contents(void **state)
{
	(void)state;
	static const struct { const char *content; size_t len; int ok; const char *value; } cases[] = {
		{ "abcdefgh", 8, 1, "abcdefgh" },
		{ "abcdefgh\n", 9, 1, "abcdefgh" },
		{ "abcdefgh\r\n", 10, 1, "abcdefgh" },
		{ "abcd\n", 5, 1, "abcd" },       /* short, but masked */
		{ "abc\n", 4, 0, NULL },        /* too short to be a secret */
		{ "abc", 3, 0, NULL },
		{ "", 0, 0, NULL },
		{ "\n", 1, 0, NULL },
		{ "ab\ncd\n", 6, 0, NULL },     /* two lines */
		{ "ab\0cd", 5, 0, NULL },       /* NUL */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = make("content", cases[i].content, cases[i].len, 0600);
		struct dw_secret s;
		int ret = dw_secret_load(p, DW_SECRET_LINE, &s, NULL);
		assert_int_equal(ret == DW_OK, cases[i].ok);
		if (ret == DW_OK) {
			assert_string_equal(s.data, cases[i].value);
			dw_secret_clear(&s);
		}
	}
	/* Multi-line files are fine as whole files (TSIG key files). */
	static const char multi[] = "key {\n secret \"x\";\n};\n";
	const char *p = make("multi", multi, strlen(multi), 0600);
	struct dw_secret s;
	assert_int_equal(dw_secret_load(p, DW_SECRET_FILE, &s, NULL), DW_OK);
	dw_secret_clear(&s);

	/* Too big. */
	char *big = malloc(DW_SECRET_MAX + 10);
	assert_non_null(big);
	memset(big, 'a', DW_SECRET_MAX + 10);
	p = make("big", big, DW_SECRET_MAX + 10, 0600);
	struct dw_diag d;
	assert_int_equal(dw_secret_load(p, DW_SECRET_LINE, &s, &d), DW_ESECRET);
	assert_non_null(strstr(d.msg, "larger than"));
	free(big);

	/* Not a regular file. */
	assert_int_equal(dw_secret_load(dir, DW_SECRET_LINE, &s, &d), DW_ESECRET);
	assert_non_null(strstr(d.msg, "not a regular file"));
}

static void test_loaded_secret_is_redacted(void **state)
{
	(void)state;
	const char *p = make("redact", "tok-9f8e7d6c5b4a\n", 17, 0600);
	struct dw_secret s;
	assert_int_equal(dw_secret_load(p, DW_SECRET_LINE, &s, NULL), DW_OK);
	char line[128];
	snprintf(line, sizeof(line), "GET /u/%s/?address=1.2.3.4", s.data);
	dw_log_redact(line, sizeof(line));
	assert_string_equal(line, "GET /u/[REDACTED]/?address=1.2.3.4");
	dw_secret_clear(&s);
	dw_log_clear_secrets();
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(dw_secret_equal("abc", 3, "abc", 3));
	assert_false(dw_secret_equal("abc", 3, "abd", 3));
	assert_false(dw_secret_equal("abc", 3, "abcd", 4));
}

/* credential:NAME resolves under $CREDENTIALS_DIRECTORY; other values are
 * paths as given. */
static void test_resolve(void **state)
{
	(void)state;
	char out[256];
	struct dw_diag d = { "" };
	assert_int_equal(dw_secret_resolve("/etc/x.key", out, sizeof(out), &d), DW_OK);
	assert_string_equal(out, "/etc/x.key");
	char cdir[] = "/tmp/dw-test-creds-XXXXXX";
	assert_non_null(mkdtemp(cdir));
	char file[300];
	snprintf(file, sizeof(file), "%s/tok.key", cdir);
	FILE *f = fopen(file, "w");
	fclose(f);
	setenv("CREDENTIALS_DIRECTORY", cdir, 1);
	assert_int_equal(dw_secret_resolve("credential:tok.key", out, sizeof(out), &d), DW_OK);
	assert_string_equal(out, file);
	assert_int_equal(dw_secret_resolve("credential:other.key", out, sizeof(out), &d),
	                 DW_ESECRET);
	assert_non_null(strstr(d.msg, "LoadCredential=other.key"));
	static const char *const bad[] = { "credential:", "credential:a/b", "credential:..",
	                                   "credential:." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dw_secret_resolve(bad[i], out, sizeof(out), &d), DW_ESECRET);
	assert_int_equal(dw_secret_resolve("credential:tok.key", out, 8, &d), DW_ETOOBIG);
	unsetenv("CREDENTIALS_DIRECTORY");
	unlink(file);
	rmdir(cdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_contents),
		cmocka_unit_test(test_loaded_secret_is_redacted),
		cmocka_unit_test(test_equal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
