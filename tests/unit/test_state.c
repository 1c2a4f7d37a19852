/* State file: round trip, atomic replacement, corrupt files reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/state.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dw-test-state-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static void test_missing_is_empty(void **state)
{
	(void)state;
	struct dw_state st;
	assert_int_equal(dw_state_load(path, &st, NULL), DW_OK);
	assert_int_equal(st.n, 0);
	dw_state_free(&st);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct dw_state st = { 0 };
	assert_int_equal(dw_state_set(&st, "a.example.org", DW_FAM_V4, "p1", "81.2.69.160", 100), 0);
	assert_int_equal(dw_state_set(&st, "a.example.org", DW_FAM_V6, "p1", "2a01:4f8::1", 101), 0);
	assert_int_equal(dw_state_set(&st, "a.example.org", DW_FAM_V4, "p2", "81.2.69.161", 102), 0);
	/* replace */
	assert_int_equal(dw_state_set(&st, "a.example.org", DW_FAM_V4, "p1", "81.2.69.162", 103), 0);
	assert_int_equal(st.n, 3);
	assert_int_equal(dw_state_set(&st, "x", DW_FAM_V4, "p", "this address is far far too long to be any ip address", 1), DW_EINVAL);
	assert_int_equal(dw_state_save(&st, path, NULL), 0);
	dw_state_free(&st);

	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* No temporary file is left behind. */
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);

	struct dw_state st2;
	assert_int_equal(dw_state_load(path, &st2, NULL), 0);
	assert_int_equal(st2.n, 3);
	const struct dw_state_entry *en = dw_state_get(&st2, "a.example.org", DW_FAM_V4, "p1");
	assert_non_null(en);
	assert_string_equal(en->address, "81.2.69.162");
	assert_int_equal(en->updated, 103);
	en = dw_state_get(&st2, "a.example.org", DW_FAM_V6, "p1");
	assert_non_null(en);
	assert_string_equal(en->address, "2a01:4f8::1");
	assert_null(dw_state_get(&st2, "a.example.org", DW_FAM_V6, "p2"));
	dw_state_free(&st2);
}

static void test_corrupt(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{",                                            /* truncated */
		"[]",                                           /* wrong layout */
		"{\"version\":2,\"records\":[]}",               /* future version */
		"{\"version\":1,\"records\":[{\"fqdn\":\"a\"}]}", /* missing fields */
		"{\"version\":1,\"records\":[{\"fqdn\":\"a\",\"family\":\"ipv4\",\"provider\":\"p\",\"address\":\"2a01::1\",\"updated\":1}]}",
		"{\"version\":1,\"version\":1,\"records\":[]}",  /* duplicate key */
		"{\"version\":1,\"records\":[],\"results\":{}}",
		"{\"version\":1,\"records\":[],\"results\":[{\"fqdn\":\"a\"}]}",
		"{\"version\":1,\"records\":[],\"results\":[{\"fqdn\":\"a\",\"family\":\"ipv4\","
		"\"provider\":\"p\",\"outcome\":\"fatal\",\"address\":\"2a01::1\",\"message\":\"m\","
		"\"since\":1}]}",
		"{\"version\":1,\"records\":[],\"memos\":[{\"fqdn\":\"a\",\"provider\":\"p\","
		"\"memo\":\"line\\nbreak\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		struct dw_state st;
		struct dw_diag d = { "" };
		assert_int_equal(dw_state_load(path, &st, &d), DW_EPARSE);
		assert_non_null(strstr(d.msg, path));
		assert_int_equal(st.n, 0);
	}
}

/* Last results and memos: kept across a save and a load, a steady result
 * changes nothing (no rewrite on every run), messages are made printable. */
static void test_results_and_memos(void **state)
{
	(void)state;
	struct dw_state st = { 0 };
	bool changed = false;
	assert_int_equal(dw_state_set_result(&st, "a.example.org", DW_FAM_V4, "p1", "fatal",
	                                     "81.2.69.160", "bad token: check token-file", 100,
	                                     &changed), 0);
	assert_true(changed);
	/* The same again: nothing changes, "since" stays. */
	assert_int_equal(dw_state_set_result(&st, "a.example.org", DW_FAM_V4, "p1", "fatal",
	                                     "81.2.69.160", "bad token: check token-file", 200,
	                                     &changed), 0);
	assert_false(changed);
	assert_int_equal(dw_state_get_result(&st, "a.example.org", DW_FAM_V4, "p1")->since, 100);
	assert_int_equal(dw_state_set_result(&st, "a.example.org", DW_FAM_V6, "p1", "no-address",
	                                     NULL, "no usable ipv6 address on eth0\x1b[31m", 150,
	                                     &changed), 0);
	assert_true(changed);
	assert_int_equal(dw_state_set_result(&st, "a.example.org", DW_FAM_V4, "p1", "x", "not an ip "
	                                     "address but far longer than any address can be", "", 1,
	                                     NULL), DW_EINVAL);
	assert_int_equal(dw_state_set_memo(&st, "a.example.org", "p1", "zone=example.org", &changed), 0);
	assert_true(changed);
	assert_int_equal(dw_state_set_memo(&st, "a.example.org", "p1", "zone=example.org", &changed), 0);
	assert_false(changed);
	assert_int_equal(dw_state_set_memo(&st, "a.example.org", "p1", "bad\nmemo", NULL), DW_EINVAL);
	assert_int_equal(dw_state_set_memo(&st, "b.example.org", "p1", "x", NULL), 0);
	assert_int_equal(dw_state_set_memo(&st, "b.example.org", "p1", NULL, &changed), 0);
	assert_true(changed);
	assert_null(dw_state_get_memo(&st, "b.example.org", "p1"));
	assert_int_equal(dw_state_save(&st, path, NULL), 0);
	dw_state_free(&st);

	struct dw_state st2;
	assert_int_equal(dw_state_load(path, &st2, NULL), 0);
	assert_int_equal(st2.n, 0);   /* nothing published */
	const struct dw_state_result *r = dw_state_get_result(&st2, "a.example.org", DW_FAM_V4, "p1");
	assert_non_null(r);
	assert_string_equal(r->outcome, "fatal");
	assert_string_equal(r->address, "81.2.69.160");
	assert_string_equal(r->message, "bad token: check token-file");
	assert_int_equal(r->since, 100);
	r = dw_state_get_result(&st2, "a.example.org", DW_FAM_V6, "p1");
	assert_non_null(r);
	assert_string_equal(r->address, "");
	assert_string_equal(r->message, "no usable ipv6 address on eth0?[31m");
	assert_null(dw_state_get_result(&st2, "a.example.org", DW_FAM_V6, "p2"));
	assert_string_equal(dw_state_get_memo(&st2, "a.example.org", "p1"), "zone=example.org");
	dw_state_free(&st2);

	/* A file of the earlier layout (records only) still loads. */
	FILE *f = fopen(path, "w");
	fputs("{\"version\":1,\"records\":[{\"fqdn\":\"a\",\"family\":\"ipv4\",\"provider\":\"p\","
	      "\"address\":\"81.2.69.1\",\"updated\":1}]}", f);
	fclose(f);
	assert_int_equal(dw_state_load(path, &st2, NULL), 0);
	assert_int_equal(st2.n, 1);
	assert_int_equal(st2.nres, 0);
	dw_state_free(&st2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_is_empty),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_results_and_memos),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
