/* Gateway store against a real database: migrations, hosts, tokens,
 * desired records (coalescing, TXT trimming, applied marks that lose to
 * newer values), leases, lockouts, instances, audit, the copy of
 * `migrate`, and every statement's SQL text with the plans of the hot
 * ones (index lookups, no scans).
 *
 * SQLite (a file per test) by default.  With DW_TEST_PG set to a
 * postgresql:// URL (and DW_TEST_PG_PASSWORD), the same tests run against
 * that PostgreSQL database, emptied before each test; the SQLite-only ones
 * (pragmas, file ownership, corruption) are skipped.  The integration suite
 * runs it so against its own PostgreSQL (test_gateway_pg.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_store.h"
#include "gateway/gw_store_int.h"
#include "gateway/gw_token.h"

#if defined(DW_HAVE_POSTGRESQL)
#include <libpq-fe.h>
#endif

static char dir[64], path[128];
static const char *pg_url, *pg_password;   /* DW_TEST_PG, DW_TEST_PG_PASSWORD */

/* PostgreSQL: an empty schema for each test. */
static int pg_reset(void)
{
#if defined(DW_HAVE_POSTGRESQL)
	const char *kw[] = { "dbname", "password", NULL };
	const char *val[] = { pg_url, pg_password, NULL };
	PGconn *c = PQconnectdbParams(kw, val, 1);
	int ret = PQstatus(c) == CONNECTION_OK ? 0 : -1;
	if (ret == 0) {
		PGresult *r = PQexec(c, "SET client_min_messages = warning;"
		                        "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
		if (ret != 0)
			fprintf(stderr, "reset: %s", PQerrorMessage(c));
		PQclear(r);
	} else {
		fprintf(stderr, "reset: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return ret;
#else
	return -1;
#endif
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dw-test-gwstore-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/gw.db", dir);
	return pg_url != NULL ? pg_reset() : 0;
}

/* SQLite only: files, pragmas, ownership, corruption. */
#define SQLITE_ONLY() do { if (pg_url != NULL) { skip(); } } while (0)

static int teardown(void **state)
{
	(void)state;
	char p[192];
	static const char *const base[] = { "gw.db", "src.db", "dst.db" };
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t b = 0; b < 3; b++) {
		for (size_t i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/%s%s", dir, base[b], sfx[i]);
			unlink(p);
		}
	}
	rmdir(dir);
	return 0;
}

static struct gw_store *open_store(void)
{
	struct gw_store *st = NULL;
	struct dw_diag d = { "" };
	struct gw_store_cfg cfg = { .database = pg_url != NULL ? pg_url : path,
	                            .password = pg_password, .pool = 4, .flags = GW_STORE_CREATE };
	int ret = gw_store_open_cfg(&cfg, &st, &d);
	if (ret != DW_OK)
		fprintf(stderr, "open: %s\n", d.msg);
	assert_int_equal(ret, DW_OK);
	assert_string_equal(gw_store_backend(st), pg_url != NULL ? "postgresql" : "sqlite");
	return st;
}

/* A SQLite store in this test's directory, whatever the backend under test. */
static struct gw_store *open_sqlite(const char *name)
{
	char p[192];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	struct gw_store *st = NULL;
	struct dw_diag d;
	assert_int_equal(gw_store_open(p, GW_STORE_CREATE, 2, &st, &d), DW_OK);
	return st;
}

static int64_t add_host(struct gw_db *db, const char *fqdn, struct gw_token *tok)
{
	struct gw_host h;
	memset(&h, 0, sizeof(h));
	snprintf(h.fqdn, sizeof(h.fqdn), "%s", fqdn);
	snprintf(h.provider, sizeof(h.provider), "knot");
	h.acme = true;
	assert_int_equal(gw_db_begin(db), DW_OK);
	assert_int_equal(gw_db_host_add(db, &h), DW_OK);
	gw_token_new(tok);
	assert_int_equal(gw_db_token_add(db, h.id, tok, "host"), DW_OK);
	assert_int_equal(gw_db_commit(db), DW_OK);
	return h.id;
}

/* Runs first: gw_store_prepare is allowed only before any connection of
 * the process opens. */
static void test_prepare_before_open_only(void **state)
{
	(void)state;
	SQLITE_ONLY();
	struct dw_diag d;
	assert_int_equal(gw_store_prepare(path, getuid(), getgid(), &d), DW_OK);
	struct stat sb;
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 0);
	/* An existing file is kept (and a symbolic link refused). */
	assert_int_equal(gw_store_prepare(path, getuid(), getgid(), &d), DW_OK);
	char link[160];
	snprintf(link, sizeof(link), "%s/link.db", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(gw_store_prepare(link, getuid(), getgid(), &d), DW_EIO);
	assert_non_null(strstr(d.msg, "not a regular file"));
	unlink(link);
	/* The 0-byte file is an empty database to SQLite. */
	struct gw_store *st = NULL;
	assert_int_equal(gw_store_open(path, 0, 1, &st, &d), DW_OK);
	assert_int_equal(gw_store_prepare(path, getuid(), getgid(), &d), DW_EINVAL);
	assert_non_null(strstr(d.msg, "before the first connection"));
	gw_store_close(st);
}

static void test_open_and_pragmas(void **state)
{
	(void)state;
	SQLITE_ONLY();
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	int v = -1;
	assert_int_equal(gw_db_schema_version(db, &v), DW_OK);
	assert_int_equal(v, GW_SCHEMA_VERSION);
	struct dw_diag d;
	assert_int_equal(gw_db_check(db, &d), DW_OK);
	gw_store_put(st, db);
	gw_store_close(st);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* An independent connection sees WAL and the schema. */
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(raw);

	/* Reopening does not migrate again. */
	st = open_store();
	gw_store_close(st);
}

static void test_newer_schema_refused(void **state)
{
	(void)state;
	SQLITE_ONLY();
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	struct gw_store *st = NULL;
	struct dw_diag d;
	assert_int_equal(gw_store_open(path, GW_STORE_CREATE, 1, &st, &d), DW_EIO);
	assert_null(st);
	assert_non_null(strstr(d.msg, "newer"));
}

static void test_missing_without_create(void **state)
{
	(void)state;
	SQLITE_ONLY();
	struct gw_store *st = NULL;
	struct dw_diag d;
	assert_int_not_equal(gw_store_open(path, 0, 1, &st, &d), DW_OK);
	assert_null(st);
}

static void test_hosts_and_tokens(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	struct gw_token t1, t2;
	int64_t id = add_host(db, "h.example", &t1);
	(void)add_host(db, "o.example", &t2);

	struct gw_host h;
	assert_int_equal(gw_db_host_get(db, "h.example", &h), DW_OK);
	assert_int_equal(h.id, id);
	assert_true(h.acme);
	assert_int_equal(gw_db_host_get(db, "x.example", &h), DW_ENOTFOUND);

	struct gw_host dup;
	memset(&dup, 0, sizeof(dup));
	snprintf(dup.fqdn, sizeof(dup.fqdn), "h.example");
	snprintf(dup.provider, sizeof(dup.provider), "knot");
	assert_int_equal(gw_db_host_add(db, &dup), DW_EINVAL);

	int64_t hid = 0;
	uint8_t hash[GW_TOKEN_HASH_LEN];
	assert_int_equal(gw_db_token_lookup(db, t1.id, &hid, hash), DW_OK);
	assert_int_equal(hid, id);
	assert_true(gw_token_verify(t1.text, strlen(t1.text), hash));
	assert_false(gw_token_verify(t2.text, strlen(t2.text), hash));
	char tid[GW_TOKEN_ID_LEN + 1];
	assert_int_equal(gw_db_token_of_host(db, id, tid), DW_OK);
	assert_string_equal(tid, t1.id);

	/* Removing a host takes its tokens and records with it. */
	enum gw_want w;
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(gw_db_host_remove(db, id), DW_OK);
	assert_int_equal(gw_db_token_lookup(db, t1.id, &hid, hash), DW_ENOTFOUND);
	int64_t n = -1;
	assert_int_equal(gw_db_pending_count(db, &n), DW_OK);
	assert_int_equal(n, 0);
	struct dw_diag d;
	assert_int_equal(gw_db_check(db, &d), DW_OK);
	gw_token_wipe(&t1);
	gw_token_wipe(&t2);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_addresses(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(db, "h.example", &t);
	enum gw_want w;
	struct gw_rec r;
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_ENOTFOUND);
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(w, GW_WANT_CHANGED);
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(w, GW_WANT_PENDING);

	struct gw_rec rows[8];
	size_t n;
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 1);
	/* A newer value arrives while the old one is being sent: the old
	 * one's success must not mark the new one applied. */
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.2", &w), DW_OK);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_OK, 0, NULL), DW_OK);
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_OK);
	assert_string_equal(r.value, "192.0.2.2");
	assert_false(r.applied);

	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_RETRY, now + 100, "server down"), DW_OK);
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_OK);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.next_retry, now + 100);
	assert_string_equal(r.last_error, "server down");
	/* Backing off: not due now, due later; still counted as queued. */
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 0);
	bool any;
	int64_t next;
	assert_int_equal(gw_db_next_due(db, id, &any, &next), DW_OK);
	assert_true(any);
	assert_int_equal(next, now + 100);
	int64_t count = 0;
	assert_int_equal(gw_db_pending_count(db, &count), DW_OK);
	assert_int_equal(count, 1);
	/* Another set of the same host is not held back by A's backoff. */
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_AAAA, "2001:db8::1", &w), DW_OK);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].rtype, GW_RT_AAAA);
	/* A new value of A clears A's backoff. */
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.3", &w), DW_OK);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gw_db_mark(db, &rows[i], GW_MARK_OK, 0, NULL), DW_OK);
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_OK);
	assert_true(r.applied);
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.3", &w), DW_OK);
	assert_int_equal(w, GW_WANT_SAME);
	assert_int_equal(gw_db_next_due(db, id, &any, &next), DW_OK);
	assert_false(any);
	gw_token_wipe(&t);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_refused_for_good(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(db, "h.example", &t);
	int64_t now = (int64_t)time(NULL);
	enum gw_want w;
	struct gw_rec rows[8], r;
	size_t n;
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_FAILED, now + 300, "REFUSED"), DW_OK);
	/* Ended: not pending, not retried, counted as failed. */
	int64_t pend = -1, failed = -1;
	assert_int_equal(gw_db_pending_count(db, &pend), DW_OK);
	assert_int_equal(gw_db_failed_count(db, &failed), DW_OK);
	assert_int_equal(pend, 0);
	assert_int_equal(failed, 1);
	bool any;
	int64_t next;
	assert_int_equal(gw_db_next_due(db, id, &any, &next), DW_OK);
	assert_false(any);
	/* The same value during the cool-down: refused without a write. */
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(w, GW_WANT_REFUSED);
	/* After it: tried once more, attempts kept (the next cool-down grows). */
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_OK);
	assert_int_equal(gw_db_mark(db, &r, GW_MARK_FAILED, now - 1, "REFUSED"), DW_OK);
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(w, GW_WANT_CHANGED);
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_OK);
	assert_false(r.failed);
	assert_int_equal(r.attempts, 2);
	/* A new value starts afresh. */
	assert_int_equal(gw_db_mark(db, &r, GW_MARK_FAILED, now + 300, "REFUSED"), DW_OK);
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.9", &w), DW_OK);
	assert_int_equal(w, GW_WANT_CHANGED);
	assert_int_equal(gw_db_addr_get(db, id, GW_RT_A, &r), DW_OK);
	assert_false(r.failed);
	assert_int_equal(r.attempts, 0);
	gw_token_wipe(&t);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_txt(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(db, "h.example", &t);
	int64_t now = (int64_t)time(NULL);
	enum gw_want w;
	assert_int_equal(gw_db_txt_set(db, id, "v1", false, 2, &w), DW_OK);
	assert_int_equal(w, GW_WANT_SAME);   /* removing what never was: nothing */
	assert_int_equal(gw_db_txt_set(db, id, "v1", true, 2, &w), DW_OK);
	assert_int_equal(w, GW_WANT_CHANGED);
	assert_int_equal(gw_db_txt_set(db, id, "v1", true, 2, &w), DW_OK);
	assert_int_equal(w, GW_WANT_PENDING);
	struct gw_rec rows[8];
	size_t n;
	/* v1 published, then v2 and v3: v1 (the oldest) goes, by removal
	 * upstream; v2, never published when v4 comes, is simply deleted. */
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_OK, 0, NULL), DW_OK);
	assert_int_equal(gw_db_txt_set(db, id, "v2", true, 2, &w), DW_OK);
	assert_int_equal(gw_db_txt_set(db, id, "v3", true, 2, &w), DW_OK);
	assert_int_equal(gw_db_records(db, id, rows, 8, &n), DW_OK);
	assert_int_equal(n, 3);
	int present = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i].value, "v1") == 0)
			assert_false(rows[i].present);   /* oldest trimmed */
		present += rows[i].present;
	}
	assert_int_equal(present, 2);
	assert_int_equal(gw_db_txt_set(db, id, "v4", true, 2, &w), DW_OK);
	assert_int_equal(gw_db_records(db, id, rows, 8, &n), DW_OK);
	assert_int_equal(n, 3);   /* v1 (to remove), v3, v4 */
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(rows[i].value, "v2");
	/* An applied removal deletes the row. */
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gw_db_mark(db, &rows[i], GW_MARK_OK, 0, NULL), DW_OK);
	assert_int_equal(gw_db_records(db, id, rows, 8, &n), DW_OK);
	assert_int_equal(n, 2);
	gw_token_wipe(&t);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_txt_cleanup_and_backoff(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(db, "h.example", &t);
	int64_t now = (int64_t)time(NULL);
	enum gw_want w;
	struct gw_rec rows[8], r;
	size_t n;
	/* Refused for good, then cleaned up: never published, nothing to send. */
	assert_int_equal(gw_db_txt_set(db, id, "v1", true, 8, &w), DW_OK);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_FAILED, now + 300, "REFUSED"), DW_OK);
	assert_int_equal(gw_db_txt_set(db, id, "v1", true, 8, &w), DW_OK);
	assert_int_equal(w, GW_WANT_REFUSED);
	assert_int_equal(gw_db_txt_set(db, id, "v1", false, 8, &w), DW_OK);
	assert_int_equal(w, GW_WANT_DROPPED);
	assert_int_equal(gw_db_txt_get(db, id, "v1", &r), DW_ENOTFOUND);
	/* Not sent yet: the same. */
	assert_int_equal(gw_db_txt_set(db, id, "v2", true, 8, &w), DW_OK);
	assert_int_equal(gw_db_txt_set(db, id, "v2", false, 8, &w), DW_OK);
	assert_int_equal(w, GW_WANT_DROPPED);
	/* An attempt whose outcome is unknown may have published it: the
	 * removal is sent. */
	assert_int_equal(gw_db_txt_set(db, id, "v3", true, 8, &w), DW_OK);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_RETRY, now + 100, "timeout"), DW_OK);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 0);
	/* A new value clears the backoff of the TXT set. */
	assert_int_equal(gw_db_txt_set(db, id, "v4", true, 8, &w), DW_OK);
	assert_int_equal(w, GW_WANT_CHANGED);
	assert_int_equal(gw_db_pending(db, id, now, rows, 8, &n), DW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(gw_db_txt_set(db, id, "v3", false, 8, &w), DW_OK);
	assert_int_equal(w, GW_WANT_CHANGED);
	assert_int_equal(gw_db_txt_get(db, id, "v3", &r), DW_OK);
	assert_false(r.present);
	gw_token_wipe(&t);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_prune(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(gw_db_begin(db), DW_OK);
	for (int i = 0; i < 700; i++) {
		/* 200 rows 100 days old, then 500 recent ones */
		struct gw_audit a = { .time = i < 200 ? now - 100 * 86400 : now - 10,
		                      .host = "x.example", .action = "a", .source = "cli",
		                      .result = "ok" };
		assert_int_equal(gw_db_audit(db, &a), DW_OK);
	}
	assert_int_equal(gw_db_commit(db), DW_OK);
	gw_store_put(st, db);
	int64_t deleted = 0, n = 0;
	assert_int_equal(gw_store_prune(st, 90 * 86400, 1000, &deleted), DW_OK);
	assert_int_equal(deleted, 200);
	assert_int_equal(gw_store_prune(st, 90 * 86400, 300, &deleted), DW_OK);
	assert_int_equal(deleted, 200);
	db = gw_store_get(st);
	assert_int_equal(gw_db_audit_count(db, &n), DW_OK);
	assert_int_equal(n, 300);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_corrupt_refused_for_serving(void **state)
{
	(void)state;
	SQLITE_ONLY();
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	assert_int_equal(gw_db_begin(db), DW_OK);
	for (int i = 0; i < 2000; i++) {
		struct gw_audit a = { .host = "x.example", .action = "a", .source = "cli",
		                      .result = "ok", .new_value = "some text to fill pages" };
		assert_int_equal(gw_db_audit(db, &a), DW_OK);
	}
	assert_int_equal(gw_db_commit(db), DW_OK);
	gw_store_put(st, db);
	gw_store_close(st);
	/* Garbage over pages 3 to 6 (the audit table's b-tree). */
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, 2 * 4096, SEEK_SET), 0);
	char junk[4 * 4096];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	struct dw_diag d;
	st = NULL;
	assert_int_equal(gw_store_open(path, GW_STORE_SERVE, 1, &st, &d), DW_EIO);
	assert_null(st);
	assert_non_null(strstr(d.msg, "is corrupt"));
	assert_non_null(strstr(d.msg, ".recover"));
}

struct count_ctx {
	int n;
	char last_action[32];
};

static int count_cb(void *arg, const struct gw_audit *a)
{
	struct count_ctx *c = arg;
	if (c->n++ == 0)
		snprintf(c->last_action, sizeof(c->last_action), "%s", a->action);
	return DW_OK;
}

static int pending_cb(void *arg, int64_t host_id, int64_t next, int64_t lease)
{
	int *n = arg;
	(void)host_id;
	assert_int_equal(next, 0);
	assert_int_equal(lease, 0);
	(*n)++;
	return DW_OK;
}

static void test_audit_and_pending_hosts(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	for (int i = 0; i < 5; i++) {
		char action[16];
		snprintf(action, sizeof(action), "a%d", i);
		struct gw_audit a = { .host = i % 2 ? "x.example" : "y.example", .action = action,
		                      .source = "cli", .result = "ok" };
		assert_int_equal(gw_db_audit(db, &a), DW_OK);
	}
	struct count_ctx c = { 0, "" };
	assert_int_equal(gw_db_audit_list(db, NULL, 100, count_cb, &c), DW_OK);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.last_action, "a4");   /* newest first */
	c.n = 0;
	assert_int_equal(gw_db_audit_list(db, "x.example", 100, count_cb, &c), DW_OK);
	assert_int_equal(c.n, 2);
	c.n = 0;
	assert_int_equal(gw_db_audit_list(db, NULL, 3, count_cb, &c), DW_OK);
	assert_int_equal(c.n, 3);

	struct gw_token t1, t2;
	int64_t a = add_host(db, "a.example", &t1), b = add_host(db, "b.example", &t2);
	enum gw_want w;
	assert_int_equal(gw_db_addr_set(db, a, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(gw_db_addr_set(db, a, GW_RT_AAAA, "2001:db8::1", &w), DW_OK);
	assert_int_equal(gw_db_txt_set(db, b, "v", true, 2, &w), DW_OK);
	int rows = 0;
	assert_int_equal(gw_db_due_hosts(db, time(NULL), 100, pending_cb, &rows), DW_OK);
	assert_int_equal(rows, 3);   /* a row each: a's A and AAAA, b's TXT */
	gw_token_wipe(&t1);
	gw_token_wipe(&t2);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_rollback_and_pool(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *d1 = gw_store_get(st), *d2 = gw_store_get(st);
	assert_non_null(d1);
	assert_non_null(d2);
	assert_ptr_not_equal(d1, d2);
	struct gw_host h;
	memset(&h, 0, sizeof(h));
	snprintf(h.fqdn, sizeof(h.fqdn), "r.example");
	snprintf(h.provider, sizeof(h.provider), "knot");
	assert_int_equal(gw_db_begin(d1), DW_OK);
	assert_int_equal(gw_db_host_add(d1, &h), DW_OK);
	gw_db_rollback(d1);
	assert_int_equal(gw_db_host_get(d2, "r.example", &h), DW_ENOTFOUND);
	/* A connection returned inside a transaction is rolled back. */
	assert_int_equal(gw_db_begin(d1), DW_OK);
	assert_int_equal(gw_db_host_add(d1, &h), DW_OK);
	gw_store_put(st, d1);
	assert_int_equal(gw_db_host_get(d2, "r.example", &h), DW_ENOTFOUND);
	gw_store_put(st, d2);
	gw_store_close(st);
}

/* ---- several instances on one database ------------------------------------------ */

static void test_leases(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *a = gw_store_get(st), *b = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(a, "h.example", &t);
	int64_t now = (int64_t)time(NULL), held = 0;
	bool taken = false, ok = false;
	/* a takes it; b cannot while it lasts, and learns until when. */
	assert_int_equal(gw_db_lease_claim(a, id, "inst-a", now + 60, now, &taken, &held), DW_OK);
	assert_true(taken);
	assert_int_equal(gw_db_lease_claim(b, id, "inst-b", now + 60, now, &taken, &held), DW_OK);
	assert_false(taken);
	assert_int_equal(held, now + 60);
	assert_int_equal(gw_db_lease_renew(b, id, "inst-b", now + 90, &ok), DW_OK);
	assert_false(ok);
	assert_int_equal(gw_db_lease_renew(a, id, "inst-a", now + 90, &ok), DW_OK);
	assert_true(ok);
	/* a claims again what it holds (a round after a store failure). */
	assert_int_equal(gw_db_lease_claim(a, id, "inst-a", now + 60, now, &taken, &held), DW_OK);
	assert_true(taken);
	/* Expired: anyone takes it over (a died mid-round). */
	assert_int_equal(gw_db_lease_claim(b, id, "inst-b", now + 200, now + 100, &taken, &held),
	                 DW_OK);
	assert_true(taken);
	assert_int_equal(gw_db_lease_renew(a, id, "inst-a", now + 300, &ok), DW_OK);
	assert_false(ok);   /* a, back from a pause, finds it lost */
	/* Released: taken at once. */
	assert_int_equal(gw_db_lease_release(a, id, "inst-a"), DW_OK);   /* not a's: no-op */
	assert_int_equal(gw_db_lease_claim(a, id, "inst-a", now + 60, now, &taken, &held), DW_OK);
	assert_false(taken);
	assert_int_equal(gw_db_lease_release(b, id, "inst-b"), DW_OK);
	assert_int_equal(gw_db_lease_claim(a, id, "inst-a", now + 60, now, &taken, &held), DW_OK);
	assert_true(taken);
	assert_int_equal(gw_db_lease_release(a, id, "inst-a"), DW_OK);
	if (pg_url != NULL) {
		/* A claim in progress (its row locked, not committed) is skipped,
		 * not waited for: the other instance goes on with other hosts. */
		assert_int_equal(gw_db_begin(a), DW_OK);
		assert_int_equal(gw_db_lease_claim(a, id, "inst-a", now + 60, now, &taken, &held),
		                 DW_OK);
		assert_true(taken);
		assert_int_equal(gw_db_lease_claim(b, id, "inst-b", now + 60, now, &taken, &held),
		                 DW_OK);
		assert_false(taken);
		gw_db_rollback(a);
		assert_int_equal(gw_db_lease_claim(b, id, "inst-b", now + 60, now, &taken, &held),
		                 DW_OK);
		assert_true(taken);
	}
	/* A host without its lease row (added by hand) gets one. */
	gw_token_wipe(&t);
	gw_store_put(st, a);
	gw_store_put(st, b);
	gw_store_close(st);
}

static int due_collect(void *arg, int64_t host_id, int64_t next, int64_t lease)
{
	int64_t *v = arg;
	v[0]++;
	v[1] = host_id;
	v[2] = next;
	v[3] = lease;
	return DW_OK;
}

static void test_due_hosts_and_leases(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(db, "h.example", &t);
	int64_t now = (int64_t)time(NULL), held;
	enum gw_want w;
	assert_int_equal(gw_db_addr_set(db, id, GW_RT_A, "192.0.2.1", &w), DW_OK);
	int64_t v[4] = { 0, 0, 0, 0 };
	assert_int_equal(gw_db_due_hosts(db, now, 10, due_collect, v), DW_OK);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], id);
	assert_int_equal(v[3], 0);   /* nobody holds it */
	bool taken;
	assert_int_equal(gw_db_lease_claim(db, id, "x", now + 30, now, &taken, &held), DW_OK);
	memset(v, 0, sizeof(v));
	assert_int_equal(gw_db_due_hosts(db, now, 10, due_collect, v), DW_OK);
	assert_int_equal(v[3], now + 30);   /* due when the lease ends */
	/* Backing off beyond the horizon: not listed. */
	struct gw_rec rows[4];
	size_t n;
	assert_int_equal(gw_db_pending(db, id, now, rows, 4, &n), DW_OK);
	assert_int_equal(gw_db_mark(db, &rows[0], GW_MARK_RETRY, now + 100, "down"), DW_OK);
	memset(v, 0, sizeof(v));
	assert_int_equal(gw_db_due_hosts(db, now + 10, 10, due_collect, v), DW_OK);
	assert_int_equal(v[0], 0);
	assert_int_equal(gw_db_due_hosts(db, now + 100, 10, due_collect, v), DW_OK);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[2], now + 100);
	gw_token_wipe(&t);
	gw_store_put(st, db);
	gw_store_close(st);
}

static void test_auth_and_lockout(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *a = gw_store_get(st), *b = gw_store_get(st);
	struct gw_token t;
	int64_t id = add_host(a, "h.example", &t);
	uint8_t key[16] = { 4, 192, 0, 2, 7 }, other[16] = { 4, 192, 0, 2, 8 };
	struct gw_auth au;
	assert_int_equal(gw_db_auth(a, t.id, key, &au), DW_OK);
	assert_true(au.token_found && au.host_found);
	assert_int_equal(au.host_id, id);
	assert_string_equal(au.host.fqdn, "h.example");
	assert_true(au.host.acme);
	assert_true(gw_token_verify(t.text, strlen(t.text), au.hash));
	assert_int_equal(au.locked_until, 0);
	assert_int_equal(gw_db_auth(a, "", key, &au), DW_OK);   /* no token: still one row */
	assert_false(au.token_found || au.host_found);
	assert_int_equal(gw_db_auth(a, "0123456789abcdef", key, &au), DW_OK);
	assert_false(au.token_found);

	/* Failures from one source count together whichever connection (or
	 * instance) sees them: 3 of them lock it, not 3 per connection. */
	int64_t now = (int64_t)time(NULL), until = -1;
	assert_int_equal(gw_db_lockout_fail(a, key, now, 60, 3, &until), DW_OK);
	assert_int_equal(until, 0);
	assert_int_equal(gw_db_lockout_fail(b, key, now, 60, 3, &until), DW_OK);
	assert_int_equal(until, 0);
	assert_int_equal(gw_db_lockout_fail(b, other, now, 60, 3, &until), DW_OK);
	assert_int_equal(until, 0);
	assert_int_equal(gw_db_lockout_fail(a, key, now + 1, 60, 3, &until), DW_OK);
	assert_int_equal(until, now + 61);
	assert_int_equal(gw_db_auth(b, t.id, key, &au), DW_OK);
	assert_int_equal(au.locked_until, now + 61);
	assert_int_equal(gw_db_auth(b, t.id, other, &au), DW_OK);
	assert_int_equal(au.locked_until, 0);
	/* Failures further apart than the window start the count again. */
	assert_int_equal(gw_db_lockout_fail(a, other, now + 61, 60, 3, &until), DW_OK);
	assert_int_equal(gw_db_lockout_fail(a, other, now + 62, 60, 3, &until), DW_OK);
	assert_int_equal(until, 0);
	/* After a lockout the count starts from zero. */
	assert_int_equal(gw_db_lockout_fail(a, key, now + 100, 60, 3, &until), DW_OK);
	assert_int_equal(until, 0);
	/* Retention removes lockouts that ended (and their window). */
	gw_store_put(st, a);
	gw_store_put(st, b);
	int64_t deleted;
	assert_int_equal(gw_store_prune(st, 0, 0, &deleted), DW_OK);
	gw_token_wipe(&t);
	gw_store_close(st);
}

static void test_instances(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	int64_t now = (int64_t)time(NULL), live = 0;
	assert_int_equal(gw_db_instance_beat(db, "a", "h1:1", now - 20, now - 35, &live), DW_OK);
	assert_int_equal(live, 1);
	assert_int_equal(gw_db_instance_beat(db, "b", "h2:2", now, now - 15, &live), DW_OK);
	assert_int_equal(live, 1);   /* a's last beat is too old */
	assert_int_equal(gw_db_instance_beat(db, "a", "h1:1", now, now - 15, &live), DW_OK);
	assert_int_equal(live, 2);
	assert_int_equal(gw_db_instance_leave(db, "a"), DW_OK);
	assert_int_equal(gw_db_instance_beat(db, "b", "h2:2", now + 1, now - 15, &live), DW_OK);
	assert_int_equal(live, 1);
	gw_store_put(st, db);
	gw_store_close(st);
}

static int list_cb(void *arg, const struct gw_host *h)
{
	char *prev = arg;
	assert_true(strcmp(prev, h->fqdn) < 0);   /* sorted, each once */
	snprintf(prev, GW_FQDN_MAX, "%s", h->fqdn);
	return DW_OK;
}

static int count_hosts(void *arg, const struct gw_host *h)
{
	(void)h;
	(*(int *)arg)++;
	return DW_OK;
}

static void test_host_list_pages(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	assert_int_equal(gw_db_begin(db), DW_OK);
	for (int i = 0; i < 600; i++) {
		struct gw_host h;
		memset(&h, 0, sizeof(h));
		snprintf(h.fqdn, sizeof(h.fqdn), "h%04d.example", (i * 7) % 600);
		snprintf(h.provider, sizeof(h.provider), "knot");
		assert_int_equal(gw_db_host_add(db, &h), DW_OK);
	}
	assert_int_equal(gw_db_commit(db), DW_OK);
	/* A host below another: NAME.fqdn, LIKE's own characters as themselves. */
	static const char *const more[] = { "x.h0001.example", "xh0002.example", "x.b_c.example",
	                                    "x.bzz.example" };
	for (size_t i = 0; i < 4; i++) {
		struct gw_host h;
		memset(&h, 0, sizeof(h));
		snprintf(h.fqdn, sizeof(h.fqdn), "%s", more[i]);
		snprintf(h.provider, sizeof(h.provider), "knot");
		assert_int_equal(gw_db_host_add(db, &h), DW_OK);
	}
	char below[GW_FQDN_MAX];
	assert_int_equal(gw_db_host_below(db, "h0001.example", below), DW_OK);
	assert_string_equal(below, "x.h0001.example");
	assert_int_equal(gw_db_host_below(db, "h0002.example", below), DW_ENOTFOUND);
	assert_string_equal(below, "");
	assert_int_equal(gw_db_host_below(db, "b_c.example", below), DW_OK);
	assert_string_equal(below, "x.b_c.example");
	assert_int_equal(gw_db_host_below(db, "b%c.example", below), DW_ENOTFOUND);
	assert_int_equal(gw_db_host_below(db, "b_z.example", below), DW_ENOTFOUND);   /* not "b?z" */
	assert_int_equal(gw_db_host_below(db, "x.h0001.example", below), DW_ENOTFOUND);
	char prev[GW_FQDN_MAX] = "";
	int n = 0;
	assert_int_equal(gw_db_host_list(db, list_cb, prev), DW_OK);
	assert_int_equal(gw_db_host_list(db, count_hosts, &n), DW_OK);
	assert_int_equal(n, 604);
	assert_string_equal(prev, "xh0002.example");
	struct dw_diag d;
	assert_int_equal(gw_db_check(db, &d), DW_OK);
	gw_store_put(st, db);
	gw_store_close(st);
}

/* `migrate`: a SQLite store copied into the store under test; the tokens
 * still verify, every row keeps its state, new rows get new ids. */
static void test_copy(void **state)
{
	(void)state;
	struct gw_store *src = open_sqlite("src.db");
	struct gw_db *s = gw_store_get(src);
	struct gw_token t1, t2;
	int64_t h1 = add_host(s, "a.example", &t1), h2 = add_host(s, "b.example", &t2);
	enum gw_want w;
	int64_t now = (int64_t)time(NULL);
	struct gw_rec rows[8];
	size_t n;
	assert_int_equal(gw_db_addr_set(s, h1, GW_RT_A, "192.0.2.1", &w), DW_OK);
	assert_int_equal(gw_db_pending(s, h1, now, rows, 8, &n), DW_OK);
	assert_int_equal(gw_db_mark(s, &rows[0], GW_MARK_OK, 0, NULL), DW_OK);
	assert_int_equal(gw_db_addr_set(s, h1, GW_RT_AAAA, "2001:db8::1", &w), DW_OK);
	assert_int_equal(gw_db_txt_set(s, h2, "v1", true, 2, &w), DW_OK);
	assert_int_equal(gw_db_pending(s, h2, now, rows, 8, &n), DW_OK);
	assert_int_equal(gw_db_mark(s, &rows[0], GW_MARK_FAILED, now + 300, "REFUSED"), DW_OK);
	for (int i = 0; i < 2500; i++) {   /* more than a page */
		struct gw_audit a = { .host = "a.example", .action = "update-A", .source = "192.0.2.9",
		                      .result = "accepted", .new_value = i % 2 ? "x" : NULL };
		assert_int_equal(gw_db_audit(s, &a), DW_OK);
	}
	gw_store_put(src, s);

	struct gw_store *dst = open_store();
	int64_t counts[4];
	struct dw_diag d = { "" };
	assert_int_equal(gw_store_copy(src, dst, counts, &d), DW_OK);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[2], 3);
	assert_int_equal(counts[3], 2500);
	struct gw_db *db = gw_store_get(dst);
	struct gw_auth au;
	uint8_t key[16] = { 0 };
	assert_int_equal(gw_db_auth(db, t1.id, key, &au), DW_OK);
	assert_true(au.token_found && au.host_found);
	assert_true(gw_token_verify(t1.text, strlen(t1.text), au.hash));
	assert_string_equal(au.host.fqdn, "a.example");
	struct gw_rec r;
	assert_int_equal(gw_db_addr_get(db, h1, GW_RT_A, &r), DW_OK);
	assert_true(r.applied);
	assert_int_equal(gw_db_addr_get(db, h1, GW_RT_AAAA, &r), DW_OK);
	assert_false(r.applied);
	assert_int_equal(gw_db_txt_get(db, h2, "v1", &r), DW_OK);
	assert_true(r.failed);
	assert_int_equal(r.next_retry, now + 300);
	/* The same value during the cool-down: still refused after the move. */
	assert_int_equal(gw_db_txt_set(db, h2, "v1", true, 2, &w), DW_OK);
	assert_int_equal(w, GW_WANT_REFUSED);
	/* New rows get ids after the copied ones; leases exist for the hosts. */
	struct gw_token t3;
	int64_t h3 = add_host(db, "c.example", &t3);
	assert_true(h3 > h2);
	bool taken;
	int64_t held;
	assert_int_equal(gw_db_lease_claim(db, h1, "me", now + 60, now, &taken, &held), DW_OK);
	assert_true(taken);
	assert_int_equal(gw_db_check(db, &d), DW_OK);
	gw_store_put(dst, db);
	/* Into a database that holds hosts: refused, nothing written. */
	assert_int_equal(gw_store_copy(src, dst, counts, &d), DW_EINVAL);
	assert_non_null(strstr(d.msg, "empty database only"));
	gw_token_wipe(&t1);
	gw_token_wipe(&t2);
	gw_token_wipe(&t3);
	gw_store_close(dst);
	gw_store_close(src);
}

/* Every statement of the backend is valid SQL for its engine (planned
 * without running), and the hot ones are index lookups, not scans of a
 * table, whatever its size. */
static void test_statements_and_plans(void **state)
{
	(void)state;
	struct gw_store *st = open_store();
	struct gw_db *db = gw_store_get(st);
	char plan[4096];
	for (int q = Q_LOCK_HOST; q < Q_COUNT; q++) {
		int ret = st->ops->explain(db, (enum gw_q)q, plan, sizeof(plan));
		if (ret != DW_OK)
			fprintf(stderr, "statement %d: %s\n", q, gw_db_errmsg(db));
		assert_int_equal(ret, DW_OK);
	}
	static const char *const hot[] = { "auth", "addr", "host", "txt", "pending", "due", "claim",
	                                   "pending_count", "failed_count", "lockout" };
	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
		assert_int_equal(gw_db_explain(db, hot[i], plan, sizeof(plan)), DW_OK);
		if (getenv("DW_TEST_SHOW_PLANS") != NULL)
			fprintf(stderr, "-- %s\n%s", hot[i], plan);
		/* PostgreSQL (sequential scans off, so any index that can serve is
		 * used): no "Seq Scan".  SQLite: every "SCAN" is of the constant
		 * row or through an index (a partial one: only the rows counted). */
		for (char *line = plan; *line != '\0';) {
			char *end = strchr(line, '\n');
			size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
			char l[512];
			snprintf(l, sizeof(l), "%.*s", (int)(len < 511 ? len : 511), line);
			bool bad = pg_url != NULL ? strstr(l, "Seq Scan") != NULL
			           : strstr(l, "SCAN ") != NULL && strstr(l, "CONSTANT ROW") == NULL &&
			             strcmp(l, "SCAN one") != 0 && strstr(l, " INDEX ") == NULL;
			if (bad)
				fprintf(stderr, "%s scans: %s\n%s", hot[i], l, plan);
			assert_false(bad);
			line += len + (end != NULL);
		}
	}
	gw_store_put(st, db);
	gw_store_close(st);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	pg_url = getenv("DW_TEST_PG");
	pg_password = getenv("DW_TEST_PG_PASSWORD");
#if !defined(DW_HAVE_POSTGRESQL)
	if (pg_url != NULL) {
		fprintf(stderr, "DW_TEST_PG: built without PostgreSQL\n");
		return 1;
	}
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prepare_before_open_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_and_pragmas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_without_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts_and_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_for_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txt_cleanup_and_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_refused_for_serving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_and_pending_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_and_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due_hosts_and_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_and_lockout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_list_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements_and_plans, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
