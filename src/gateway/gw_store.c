/* SQLite store: connection pool, migrations, prepared statements, failure
 * classification (see gw_store.h). */
#include "gateway/gw_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

#define BUSY_TIMEOUT_MS 10000
#define POOL_MAX 64
#define PROBE_EVERY_MS 2000
#define FREE_MIN_BYTES (1024 * 1024)
#define PRUNE_BATCH 5000
#define TRIM_MAX 64

/* Forward-only migrations: entry i brings user_version from i to i + 1.
 * Never edit a released entry; append a new one. */
static const char *const migrations[GW_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  fqdn TEXT NOT NULL UNIQUE,"
	"  provider TEXT NOT NULL,"
	"  acme INTEGER NOT NULL DEFAULT 0 CHECK (acme IN (0, 1)),"
	"  allow TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  iid TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32),"
	"  scope TEXT NOT NULL DEFAULT 'host',"
	"  created INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX tokens_host ON tokens(host_id);"
	"CREATE TABLE records ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  rtype TEXT NOT NULL CHECK (rtype IN ('A', 'AAAA', 'TXT')),"
	"  value TEXT NOT NULL,"
	"  present INTEGER NOT NULL DEFAULT 1,"
	"  applied INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_retry INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  seq INTEGER NOT NULL DEFAULT 0,"
	"  updated INTEGER NOT NULL"
	") STRICT;"
	"CREATE UNIQUE INDEX records_addr ON records(host_id, rtype) WHERE rtype <> 'TXT';"
	"CREATE UNIQUE INDEX records_txt ON records(host_id, value) WHERE rtype = 'TXT';"
	"CREATE INDEX records_pending ON records(applied, host_id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  token_id TEXT,"
	"  action TEXT NOT NULL,"
	"  old TEXT,"
	"  new TEXT,"
	"  source TEXT,"
	"  result TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX audit_host ON audit(host, id);",
	/* 1 -> 2: rows refused for good (failed) and rows whose last attempt may
	 * have reached the provider (uncertain); audit rows standing for several
	 * refusals (count) and pruned by age (audit_time); a one-row table for
	 * write probes. */
	"ALTER TABLE records ADD COLUMN failed INTEGER NOT NULL DEFAULT 0 CHECK (failed IN (0, 1));"
	"ALTER TABLE records ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0 "
	"  CHECK (uncertain IN (0, 1));"
	"UPDATE records SET uncertain = 1 WHERE attempts > 0;"
	"ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;"
	"CREATE INDEX audit_time ON audit(time);"
	"CREATE TABLE probe ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  time INTEGER NOT NULL"
	") STRICT;",
};

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_HOST_ADD, S_HOST_GET, S_HOST_BY_ID, S_HOST_REMOVE, S_HOST_LIST,
	S_TOKEN_ADD, S_TOKEN_REVOKE, S_TOKEN_LOOKUP, S_TOKEN_OF_HOST,
	S_ADDR_GET, S_ADDR_SET, S_REARM,
	S_TXT_GET, S_TXT_INSERT, S_TXT_UPDATE, S_TXT_DELETE, S_TXT_CLEAR_BACKOFF, S_TXT_TRIM_LIST,
	S_PENDING, S_NEXT_DUE, S_PENDING_HOSTS, S_PENDING_COUNT, S_FAILED_COUNT,
	S_MARK_OK, S_MARK_DEL, S_MARK_RETRY, S_MARK_FAILED, S_RECORDS,
	S_AUDIT, S_AUDIT_ALL, S_AUDIT_HOST, S_AUDIT_COUNT, S_PRUNE_AGE, S_PRUNE_ROWS,
	S_PROBE,
	S_COUNT
};

#define HOST_COLS "id, fqdn, provider, acme, allow, expires, iid, created"
#define REC_COLS "id, host_id, rtype, value, present, applied, attempts, next_retry, " \
                 "last_error, seq, updated, failed, uncertain"
#define AUDIT_COLS "time, host, token_id, action, old, new, source, result, count"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_HOST_ADD] = "INSERT INTO hosts (fqdn, provider, acme, allow, expires, iid, created) "
	               "VALUES (?, ?, ?, ?, ?, ?, ?)",
	[S_HOST_GET] = "SELECT " HOST_COLS " FROM hosts WHERE fqdn = ?",
	[S_HOST_BY_ID] = "SELECT " HOST_COLS " FROM hosts WHERE id = ?",
	[S_HOST_REMOVE] = "DELETE FROM hosts WHERE id = ?",
	[S_HOST_LIST] = "SELECT " HOST_COLS " FROM hosts ORDER BY fqdn",
	[S_TOKEN_ADD] = "INSERT INTO tokens (id, host_id, hash, scope, created) VALUES (?, ?, ?, ?, ?)",
	[S_TOKEN_REVOKE] = "DELETE FROM tokens WHERE host_id = ?",
	[S_TOKEN_LOOKUP] = "SELECT host_id, hash FROM tokens WHERE id = ?",
	[S_TOKEN_OF_HOST] = "SELECT id FROM tokens WHERE host_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
	[S_ADDR_GET] = "SELECT " REC_COLS " FROM records WHERE host_id = ? AND rtype = ?",
	[S_ADDR_SET] = "INSERT INTO records (host_id, rtype, value, present, applied, attempts, "
	               "next_retry, last_error, seq, updated) VALUES (?1, ?2, ?3, 1, 0, 0, 0, '', 1, ?4) "
	               "ON CONFLICT (host_id, rtype) WHERE rtype <> 'TXT' DO UPDATE SET "
	               "value = excluded.value, applied = 0, failed = 0, uncertain = 0, attempts = 0, "
	               "next_retry = 0, last_error = '', seq = seq + 1, updated = excluded.updated",
	/* A failed row asked for again: once more, its attempts (and so its
	 * cool-down after another refusal) kept. */
	[S_REARM] = "UPDATE records SET failed = 0, next_retry = 0, seq = seq + 1, updated = ?2 "
	            "WHERE id = ?1",
	[S_TXT_GET] = "SELECT " REC_COLS " FROM records WHERE host_id = ? AND rtype = 'TXT' AND value = ?",
	[S_TXT_INSERT] = "INSERT INTO records (host_id, rtype, value, present, updated) "
	                 "VALUES (?, 'TXT', ?, 1, ?)",
	[S_TXT_UPDATE] = "UPDATE records SET present = ?, applied = 0, failed = 0, attempts = 0, "
	                 "next_retry = 0, last_error = '', seq = seq + 1, updated = ? WHERE id = ?",
	[S_TXT_DELETE] = "DELETE FROM records WHERE id = ?",
	[S_TXT_CLEAR_BACKOFF] = "UPDATE records SET next_retry = 0 WHERE host_id = ? AND rtype = 'TXT' "
	                        "AND applied = 0 AND failed = 0 AND next_retry > 0",
	[S_TXT_TRIM_LIST] = "SELECT id, applied, uncertain FROM records WHERE host_id = ?1 AND "
	                    "rtype = 'TXT' AND present = 1 ORDER BY updated DESC, id DESC "
	                    "LIMIT " "64" " OFFSET ?2",
	[S_PENDING] = "SELECT " REC_COLS " FROM records WHERE host_id = ?1 AND applied = 0 AND "
	              "failed = 0 AND next_retry <= ?2 ORDER BY id",
	[S_NEXT_DUE] = "SELECT count(*), coalesce(min(next_retry), 0) FROM records WHERE "
	               "host_id = ? AND applied = 0 AND failed = 0",
	[S_PENDING_HOSTS] = "SELECT host_id, min(next_retry) FROM records WHERE applied = 0 AND "
	                    "failed = 0 GROUP BY host_id",
	[S_PENDING_COUNT] = "SELECT count(*) FROM records WHERE applied = 0 AND failed = 0",
	[S_FAILED_COUNT] = "SELECT count(*) FROM records WHERE failed = 1",
	[S_MARK_OK] = "UPDATE records SET applied = 1, failed = 0, attempts = 0, last_error = '' "
	              "WHERE id = ? AND seq = ?",
	[S_MARK_DEL] = "DELETE FROM records WHERE id = ? AND seq = ? AND present = 0",
	[S_MARK_RETRY] = "UPDATE records SET attempts = attempts + 1, next_retry = ?, last_error = ?, "
	                 "uncertain = 1 WHERE id = ? AND seq = ?",
	[S_MARK_FAILED] = "UPDATE records SET attempts = attempts + 1, next_retry = ?, last_error = ?, "
	                  "failed = 1 WHERE id = ? AND seq = ?",
	[S_RECORDS] = "SELECT " REC_COLS " FROM records WHERE host_id = ? ORDER BY rtype, id",
	[S_AUDIT] = "INSERT INTO audit (time, host, token_id, action, old, new, source, result, count) "
	            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_AUDIT_ALL] = "SELECT " AUDIT_COLS " FROM audit ORDER BY id DESC LIMIT ?",
	[S_AUDIT_HOST] = "SELECT " AUDIT_COLS " FROM audit WHERE host = ? ORDER BY id DESC LIMIT ?",
	[S_AUDIT_COUNT] = "SELECT count(*) FROM audit",
	[S_PRUNE_AGE] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ?1 "
	                "ORDER BY id LIMIT ?2)",
	[S_PRUNE_ROWS] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id LIMIT ?1)",
	/* Always a new value: SQLite skips writing a row rewritten as it was. */
	[S_PROBE] = "INSERT INTO probe (id, time) VALUES (1, ?1) "
	            "ON CONFLICT (id) DO UPDATE SET time = max(excluded.time, probe.time + 1)",
};

struct gw_db {
	sqlite3 *db;
	struct gw_store *st;
	int64_t changes_at_begin;   /* sqlite3_total_changes64 at BEGIN */
	sqlite3_stmt *stmt[S_COUNT];
	struct gw_db *next;
};

struct gw_store {
	char *path;                 /* directory resolved (see resolve_dir) */
	pthread_mutex_t lock;       /* the pool */
	struct gw_db *idle;
	unsigned nidle, pool;
	/* Failure episodes: fault is read without the lock on hot paths and
	 * changed under fault_lock, which also orders the log lines. */
	pthread_mutex_t fault_lock;
	atomic_int fault;
	atomic_ullong errors[GW_FAULT_COUNT];
	pthread_mutex_t probe_lock;
	int64_t probed_ms;
	bool opening;               /* gw_store_open reports through its diag */
	enum gw_fault last_kind;    /* the last failure, for that diag */
	char last_what[320];
};

/* Set once any connection was opened in this process: from then on only
 * SQLite may open or close the database files (closing any descriptor of
 * a file drops every POSIX lock the process holds on it). */
static atomic_bool opened_any;

const char *gw_rtype_str(enum gw_rtype t)
{
	switch (t) {
	case GW_RT_A: return "A";
	case GW_RT_AAAA: return "AAAA";
	case GW_RT_TXT: return "TXT";
	}
	return "?";
}

static int rtype_parse(const char *s, enum gw_rtype *out)
{
	if (strcmp(s, "A") == 0)
		*out = GW_RT_A;
	else if (strcmp(s, "AAAA") == 0)
		*out = GW_RT_AAAA;
	else if (strcmp(s, "TXT") == 0)
		*out = GW_RT_TXT;
	else
		return DW_EINVAL;
	return DW_OK;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- failures ------------------------------------------------------------- */

static const char *const fault_names[GW_FAULT_COUNT] = {
	"none", "disk_full", "read_only", "corrupt", "io", "busy", "other",
};

const char *gw_fault_name(enum gw_fault f)
{
	return (unsigned)f < GW_FAULT_COUNT ? fault_names[f] : "?";
}

/* The kind of an SQLite result code (extended codes are on) with the
 * system errno of the failing call. */
static enum gw_fault classify(int rc, int sys_errno)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return GW_FAULT_FULL;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return GW_FAULT_READONLY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return GW_FAULT_CORRUPT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return GW_FAULT_BUSY;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		if (sys_errno == ENOSPC || sys_errno == EDQUOT)
			return GW_FAULT_FULL;
		if (sys_errno == EROFS || sys_errno == EACCES || sys_errno == EPERM)
			return GW_FAULT_READONLY;
		return GW_FAULT_IO;
	default:
		return GW_FAULT_OTHER;
	}
}

/* What the operator should do, for the log and for refusals at start. */
static void advice(enum gw_fault f, const char *path, const char *what, char *out, size_t cap)
{
	switch (f) {
	case GW_FAULT_FULL:
		snprintf(out, cap, "database %s: the disk is full (%s): free space on its filesystem; "
		         "until then requests that change records are refused (dyndns2 911, HTTP 503, "
		         "/health 503) and nothing already stored is lost", path, what);
		break;
	case GW_FAULT_READONLY:
		snprintf(out, cap, "database %s cannot be written (%s): the file, its -wal or -shm file "
		         "or its directory is not writable by uid %u, or its filesystem is read-only; "
		         "fix the owner and modes (or remount) and restart the gateway; until then "
		         "changes are refused (dyndns2 911, HTTP 503, /health 503)", path, what,
		         (unsigned)geteuid());
		break;
	case GW_FAULT_CORRUPT:
		snprintf(out, cap, "database %s is corrupt (%s): stop the gateway, keep a copy of the "
		         "file with its -wal and -shm, then restore a backup or recover it (sqlite3 "
		         "FILE .recover); until then the gateway refuses changes (HTTP 503)", path, what);
		break;
	case GW_FAULT_IO:
		snprintf(out, cap, "database %s: I/O error (%s): check the disk and the kernel log (a "
		         "filesystem that went read-only after an error shows there); changes are "
		         "refused (dyndns2 911, HTTP 503) until a write succeeds", path, what);
		break;
	case GW_FAULT_BUSY:
		snprintf(out, cap, "database %s: locked by another process for over %d s (%s): is an "
		         "admin command, backup or sqlite3 shell holding a write transaction?", path,
		         BUSY_TIMEOUT_MS / 1000, what);
		break;
	default:
		snprintf(out, cap, "database %s: %s", path, what);
		break;
	}
}

/* Records a failure of kind f: counted (when count), and logged at error
 * level when it starts an episode.  A corrupt database's episode lasts
 * until restart; other kinds replace each other. */
static void note_fault(struct gw_store *st, enum gw_fault f, const char *what, bool count)
{
	if (count)
		atomic_fetch_add_explicit(&st->errors[f], 1, memory_order_relaxed);
	pthread_mutex_lock(&st->fault_lock);
	st->last_kind = f;
	snprintf(st->last_what, sizeof(st->last_what), "%s", what);
	int cur = atomic_load(&st->fault);
	if (st->opening) {
		/* reported by gw_store_open */
	} else if (cur == (int)f || cur == GW_FAULT_CORRUPT) {
		log_debug("database %s: %s (%s again)", st->path, what, gw_fault_name(f));
	} else {
		char msg[768];
		advice(f, st->path, what, msg, sizeof(msg));
		log_error("%s", msg);
		atomic_store(&st->fault, (int)f);
	}
	pthread_mutex_unlock(&st->fault_lock);
}

/* A write committed: an episode (other than corruption) is over. */
static void note_write_ok(struct gw_store *st)
{
	int cur = atomic_load_explicit(&st->fault, memory_order_relaxed);
	if (cur == GW_FAULT_NONE || cur == GW_FAULT_CORRUPT)
		return;
	pthread_mutex_lock(&st->fault_lock);
	cur = atomic_load(&st->fault);
	if (cur != GW_FAULT_NONE && cur != GW_FAULT_CORRUPT) {
		log_notice("database %s: writes succeed again (after: %s)", st->path,
		           gw_fault_name((enum gw_fault)cur));
		atomic_store(&st->fault, GW_FAULT_NONE);
	}
	pthread_mutex_unlock(&st->fault_lock);
}

/* Every failing SQLite call of a connection ends here: constraint
 * violations are the caller's (DW_EINVAL), the rest a store failure. */
static int db_fail(struct gw_db *db, int rc)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DW_EINVAL;
	char what[320];
	int e = sqlite3_system_errno(db->db);
	if (e != 0)
		snprintf(what, sizeof(what), "%s; %s", sqlite3_errstr(rc), strerror(e));
	else
		snprintf(what, sizeof(what), "%s", sqlite3_errmsg(db->db));
	note_fault(db->st, classify(rc, e), what, true);
	return DW_EIO;
}

void gw_store_stats(struct gw_store *st, struct gw_store_stats *out)
{
	out->fault = (enum gw_fault)atomic_load(&st->fault);
	for (int i = 0; i < GW_FAULT_COUNT; i++)
		out->errors[i] = atomic_load_explicit(&st->errors[i], memory_order_relaxed);
}

/* ---- connections ---------------------------------------------------------- */

static void db_free(struct gw_db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->db);
	free(db);
}

/* Runs sql on a connection being set up (no gw_store yet): diag gets the
 * advice for its failure kind. */
static int exec_sql(sqlite3 *db, const char *path, enum gw_fault *kind, const char *sql,
                    struct dw_diag *diag)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		char msg[768];
		enum gw_fault k = classify(sqlite3_extended_errcode(db), sqlite3_system_errno(db));
		if (kind != NULL)
			*kind = k;
		advice(k, path, err != NULL ? err : sqlite3_errmsg(db), msg, sizeof(msg));
		dw_diag_set(diag, DW_EIO, "%s", msg);
		sqlite3_free(err);
		return DW_EIO;
	}
	return DW_OK;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *s = NULL;
	int ret = DW_EIO;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		ret = DW_OK;
	}
	sqlite3_finalize(s);
	return ret;
}

/* Opens one connection; on failure *kind (may be NULL) gets its kind. */
static int db_open(const char *path, bool create, struct gw_db **out, enum gw_fault *kind,
                   struct dw_diag *diag)
{
	*out = NULL;
	enum gw_fault dummy;
	if (kind == NULL)
		kind = &dummy;
	*kind = GW_FAULT_OTHER;
	atomic_store(&opened_any, true);
	struct gw_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
	            (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &db->db, flags, NULL);
	if (rc != SQLITE_OK) {
		char msg[768];
		if (db->db != NULL) {
			*kind = classify(sqlite3_extended_errcode(db->db), sqlite3_system_errno(db->db));
			advice(*kind, path, sqlite3_errmsg(db->db), msg, sizeof(msg));
		} else {
			snprintf(msg, sizeof(msg), "database %s: out of memory", path);
		}
		dw_diag_set(diag, DW_EIO, "cannot open %s", msg);
		db_free(db);
		return DW_EIO;
	}
	/* Asked read-write, given read-only by SQLite (no write access to the
	 * file or a read-only filesystem). */
	if (sqlite3_db_readonly(db->db, "main") == 1) {
		char msg[768];
		*kind = GW_FAULT_READONLY;
		advice(GW_FAULT_READONLY, path, "SQLite could open it read-only only", msg,
		       sizeof(msg));
		dw_diag_set(diag, DW_EIO, "%s", msg);
		db_free(db);
		return DW_EIO;
	}
	int on = 0;
	sqlite3_extended_result_codes(db->db, 1);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &on);
	sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
	/* journal_size_limit: the -wal file is cut back to 16 MiB after a
	 * checkpoint, whatever a burst made it grow to. */
	int ret = exec_sql(db->db, path, kind,
	                   "PRAGMA journal_mode = WAL;"
	                   "PRAGMA synchronous = FULL;"
	                   "PRAGMA foreign_keys = ON;"
	                   "PRAGMA secure_delete = ON;"
	                   "PRAGMA trusted_schema = OFF;"
	                   "PRAGMA journal_size_limit = 16777216;", diag);
	if (ret != DW_OK) {
		db_free(db);
		return ret;
	}
	int fk = 0;
	if (pragma_int(db->db, "PRAGMA foreign_keys", &fk) != DW_OK || fk != 1) {
		db_free(db);
		return dw_diag_set(diag, DW_EIO, "database %s: foreign keys unavailable", path);
	}
	*out = db;
	return DW_OK;
}

static int migrate(struct gw_db *db, const char *path, struct dw_diag *diag)
{
	int ver = 0;
	if (pragma_int(db->db, "PRAGMA user_version", &ver) != DW_OK)
		return exec_sql(db->db, path, NULL, "PRAGMA user_version", diag);
	if (ver > GW_SCHEMA_VERSION)
		return dw_diag_set(diag, DW_EIO,
		                   "database %s has schema version %d, newer than this program's %d",
		                   path, ver, GW_SCHEMA_VERSION);
	for (int v = ver; v < GW_SCHEMA_VERSION; v++) {
		int ret = exec_sql(db->db, path, NULL, "BEGIN IMMEDIATE", diag);
		if (ret != DW_OK)
			return ret;
		/* Re-read inside the write lock: another process may have migrated. */
		int cur = 0;
		if (pragma_int(db->db, "PRAGMA user_version", &cur) != DW_OK) {
			ret = exec_sql(db->db, path, NULL, "PRAGMA user_version", diag);
			exec_sql(db->db, path, NULL, "ROLLBACK", NULL);
			return ret != DW_OK ? ret : DW_EIO;
		}
		if (cur > v) {
			exec_sql(db->db, path, NULL, "COMMIT", NULL);
			v = cur - 1;
			continue;
		}
		char setv[64];
		snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", v + 1);
		if ((ret = exec_sql(db->db, path, NULL, migrations[v], diag)) != DW_OK ||
		    (ret = exec_sql(db->db, path, NULL, setv, diag)) != DW_OK ||
		    (ret = exec_sql(db->db, path, NULL, "COMMIT", diag)) != DW_OK) {
			exec_sql(db->db, path, NULL, "ROLLBACK", NULL);
			return ret;
		}
		if (ver > 0)   /* an existing database, not a new one */
			log_notice("database %s: schema brought from version %d to %d", path, v, v + 1);
	}
	return DW_OK;
}

/* PRAGMA quick_check: "ok", or the first problem into diag. */
static int quick_check(struct gw_db *db, const char *path, struct dw_diag *diag)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	int ret = DW_OK;
	char msg[768];
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		if (t == NULL || strcmp(t, "ok") != 0) {
			char what[320];
			snprintf(what, sizeof(what), "quick_check: %s", t != NULL ? t : "?");
			advice(GW_FAULT_CORRUPT, path, what, msg, sizeof(msg));
			ret = dw_diag_set(diag, DW_EIO, "%s", msg);
		}
	} else {
		advice(classify(sqlite3_extended_errcode(db->db), sqlite3_system_errno(db->db)), path,
		       sqlite3_errmsg(db->db), msg, sizeof(msg));
		ret = dw_diag_set(diag, DW_EIO, "%s", msg);
	}
	sqlite3_finalize(s);
	return ret;
}

/* path with its directory resolved (realpath) and its last component kept:
 * SQLITE_OPEN_NOFOLLOW refuses a symbolic link anywhere in the name, and
 * systemd's StateDirectory= of a DynamicUser service is one, seen from the
 * host (/var/lib/NAME -> private/NAME).  The file itself is still never
 * followed.  malloc'ed, or NULL with diag. */
static char *resolve_dir(const char *path, struct dw_diag *diag)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL || slash[1] == '\0') {
		dw_diag_set(diag, DW_EINVAL, "database %s: not a path to a file", path);
		return NULL;
	}
	char dir[4096];
	size_t dl = slash == path ? 1 : (size_t)(slash - path);
	if (dl >= sizeof(dir)) {
		dw_diag_set(diag, DW_EINVAL, "database %s: path too long", path);
		return NULL;
	}
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	char *real = realpath(dir, NULL);
	if (real == NULL) {
		dw_diag_set(diag, DW_EIO, "cannot open database %s: directory %s: %s", path, dir,
		            strerror(errno));
		return NULL;
	}
	size_t rl = strcmp(real, "/") == 0 ? 0 : strlen(real), sl = strlen(slash);
	char *out = malloc(rl + sl + 1);
	if (out != NULL) {
		memcpy(out, real, rl);
		memcpy(out + rl, slash, sl + 1);
	} else {
		dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	free(real);
	return out;
}

static sqlite3_stmt *stmt(struct gw_db *db, enum stmt_id id);
static int step_done(struct gw_db *db, sqlite3_stmt *s);

/* One small write transaction: can the store take writes? */
static int probe_write(struct gw_db *db)
{
	int ret = gw_db_begin(db);
	sqlite3_stmt *s = ret == DW_OK ? stmt(db, S_PROBE) : NULL;
	if (ret == DW_OK && s == NULL)
		ret = DW_EIO;
	if (ret == DW_OK) {
		sqlite3_bind_int64(s, 1, now_s());
		ret = step_done(db, s);
	}
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	gw_db_rollback(db);
	return ret;
}

int gw_store_open(const char *path, unsigned flags, unsigned pool, struct gw_store **out,
                  struct dw_diag *diag)
{
	*out = NULL;
	if (sqlite3_threadsafe() == 0)
		return dw_diag_set(diag, DW_EUNSUPP, "SQLite was built without thread support");
	struct gw_store *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	if ((st->path = resolve_dir(path, diag)) == NULL) {
		free(st);
		return DW_EIO;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->fault_lock, NULL);
	pthread_mutex_init(&st->probe_lock, NULL);
	st->pool = pool < 1 ? 1 : pool > POOL_MAX ? POOL_MAX : pool;
	/* The file holds token hashes and the audit log: owner only. */
	mode_t old = umask(077);
	struct gw_db *db = NULL;
	int ret = db_open(st->path, (flags & GW_STORE_CREATE) != 0, &db, NULL, diag);
	umask(old);
	if (ret == DW_OK && (flags & GW_STORE_SERVE))
		ret = quick_check(db, st->path, diag);
	if (ret == DW_OK)
		ret = migrate(db, st->path, diag);
	if (ret == DW_OK && (flags & GW_STORE_SERVE)) {
		/* Serving needs writes: a probe now rather than a 911 later. */
		db->st = st;
		st->opening = true;
		if (probe_write(db) != DW_OK) {
			char msg[768];
			advice(st->last_kind, st->path, st->last_what, msg, sizeof(msg));
			ret = dw_diag_set(diag, DW_EIO, "%s", msg);
		}
		st->opening = false;
		atomic_store(&st->fault, GW_FAULT_NONE);
	}
	if (ret != DW_OK) {
		db_free(db);
		gw_store_close(st);
		return ret;
	}
	db->st = st;
	st->idle = db;
	st->nidle = 1;
	*out = st;
	return DW_OK;
}

void gw_store_close(struct gw_store *st)
{
	if (st == NULL)
		return;
	while (st->idle != NULL) {
		struct gw_db *n = st->idle->next;
		db_free(st->idle);
		st->idle = n;
	}
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->fault_lock);
	pthread_mutex_destroy(&st->probe_lock);
	free(st->path);
	free(st);
}

int gw_store_prepare(const char *path, uid_t uid, gid_t gid, struct dw_diag *diag)
{
	if (atomic_load(&opened_any))
		return dw_diag_set(diag, DW_EINVAL, "database %s: ownership can only change before "
		                   "the first connection opens", path);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char p[4096];
		int n = snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		if (n < 0 || (size_t)n >= sizeof(p))
			return dw_diag_set(diag, DW_EIO, "database path too long");
		if (i == 0) {
			/* Created empty (SQLite takes a 0-byte file as a new
			 * database), owner only, already the user's. */
			int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			              0600);
			if (fd >= 0) {
				int r = fchown(fd, uid, gid);
				int e = errno;
				close(fd);
				if (r != 0)
					return dw_diag_set(diag, DW_EIO, "cannot give %s to uid %u: %s", p,
					                   (unsigned)uid, strerror(e));
				continue;
			}
			if (errno != EEXIST)
				return dw_diag_set(diag, DW_EIO, "cannot create database %s: %s", p,
				                   strerror(errno));
		}
		struct stat sb;
		if (fstatat(AT_FDCWD, p, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT && i > 0)
				continue;
			return dw_diag_set(diag, DW_EIO, "database file %s: %s", p, strerror(errno));
		}
		if (!S_ISREG(sb.st_mode))
			return dw_diag_set(diag, DW_EIO, "database file %s is not a regular file", p);
		if ((sb.st_uid != uid || sb.st_gid != gid) &&
		    fchownat(AT_FDCWD, p, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
			return dw_diag_set(diag, DW_EIO, "cannot give %s to uid %u: %s", p, (unsigned)uid,
			                   strerror(errno));
	}
	return DW_OK;
}

struct gw_db *gw_store_get(struct gw_store *st)
{
	pthread_mutex_lock(&st->lock);
	struct gw_db *db = st->idle;
	if (db != NULL) {
		st->idle = db->next;
		st->nidle--;
	}
	pthread_mutex_unlock(&st->lock);
	if (db == NULL) {
		struct dw_diag d = { "" };
		enum gw_fault kind;
		if (db_open(st->path, false, &db, &kind, &d) != DW_OK) {
			note_fault(st, kind, d.msg, true);
			return NULL;
		}
		db->st = st;
	}
	db->next = NULL;
	return db;
}

void gw_store_put(struct gw_store *st, struct gw_db *db)
{
	if (db == NULL)
		return;
	if (!sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);   /* never keep a lock */
	pthread_mutex_lock(&st->lock);
	if (st->nidle < st->pool) {
		db->next = st->idle;
		st->idle = db;
		st->nidle++;
		db = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	db_free(db);
}

bool gw_store_healthy(struct gw_store *st, char *reason, size_t cap)
{
	/* The filesystem first: cheap, and true even when nothing writes. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", st->path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	struct statvfs vfs;
	if (statvfs(dir, &vfs) == 0) {
		unsigned long long avail = (unsigned long long)(geteuid() == 0 ? vfs.f_bfree
		                                                               : vfs.f_bavail) *
		                           (unsigned long long)vfs.f_frsize;
		if (vfs.f_flag & ST_RDONLY) {
			note_fault(st, GW_FAULT_READONLY, "its filesystem is mounted read-only", false);
			snprintf(reason, cap, "database cannot be written: read-only filesystem");
			return false;
		}
		if (avail < FREE_MIN_BYTES) {
			char what[96];
			snprintf(what, sizeof(what), "%llu KiB left on its filesystem", avail / 1024);
			note_fault(st, GW_FAULT_FULL, what, false);
			snprintf(reason, cap, "database cannot be written: disk full (%llu KiB left)",
			         avail / 1024);
			return false;
		}
	}
	int f = atomic_load(&st->fault);
	if (f != GW_FAULT_NONE && f != GW_FAULT_CORRUPT &&
	    pthread_mutex_trylock(&st->probe_lock) == 0) {
		int64_t now = mono_ms();
		if (now - st->probed_ms >= PROBE_EVERY_MS) {
			st->probed_ms = now;
			struct gw_db *db = gw_store_get(st);
			if (db != NULL)
				(void)probe_write(db);   /* success ends the episode */
			gw_store_put(st, db);
		}
		pthread_mutex_unlock(&st->probe_lock);
		f = atomic_load(&st->fault);
	}
	if (f == GW_FAULT_NONE)
		return true;
	static const char *const why[GW_FAULT_COUNT] = {
		"", "disk full", "read-only", "corrupt", "I/O error", "locked by another process",
		"error",
	};
	snprintf(reason, cap, "database cannot be written: %s", why[f]);
	return false;
}

const char *gw_db_errmsg(struct gw_db *db)
{
	return sqlite3_errmsg(db->db);
}

static sqlite3_stmt *stmt(struct gw_db *db, enum stmt_id id)
{
	if (db->stmt[id] == NULL) {
		int rc = sqlite3_prepare_v3(db->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                            &db->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			(void)db_fail(db, rc);
			return NULL;
		}
	}
	sqlite3_reset(db->stmt[id]);
	sqlite3_clear_bindings(db->stmt[id]);
	return db->stmt[id];
}

/* Runs a statement that returns no rows. */
static int step_done(struct gw_db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int ret = rc == SQLITE_DONE ? DW_OK : db_fail(db, rc);
	sqlite3_reset(s);
	return ret;
}

static int simple(struct gw_db *db, enum stmt_id id)
{
	sqlite3_stmt *s = stmt(db, id);
	return s == NULL ? DW_EIO : step_done(db, s);
}

int gw_db_begin(struct gw_db *db)
{
	db->changes_at_begin = sqlite3_total_changes64(db->db);
	return simple(db, S_BEGIN);
}

int gw_db_commit(struct gw_db *db)
{
	int ret = simple(db, S_COMMIT);
	if (ret != DW_OK)
		gw_db_rollback(db);
	else if (sqlite3_total_changes64(db->db) != db->changes_at_begin)
		note_write_ok(db->st);   /* something was written: the disk took it */
	return ret;
}

void gw_db_rollback(struct gw_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		(void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

int gw_db_schema_version(struct gw_db *db, int *out)
{
	return pragma_int(db->db, "PRAGMA user_version", out);
}

int gw_db_check(struct gw_db *db, struct dw_diag *diag)
{
	sqlite3_stmt *s = NULL;
	int ret = DW_OK;
	if (sqlite3_prepare_v2(db->db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK)
		return dw_diag_set(diag, DW_EIO, "integrity_check: %s", sqlite3_errmsg(db->db));
	if (sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
		ret = dw_diag_set(diag, DW_EIO, "integrity_check failed");
	sqlite3_finalize(s);
	if (ret != DW_OK)
		return ret;
	if (sqlite3_prepare_v2(db->db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
		return dw_diag_set(diag, DW_EIO, "foreign_key_check: %s", sqlite3_errmsg(db->db));
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = dw_diag_set(diag, DW_EIO, "foreign_key_check found dangling rows");
	sqlite3_finalize(s);
	return ret;
}

/* ---- binding and reading helpers ----------------------------------------- */

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void col_copy(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
}

static void read_host(sqlite3_stmt *s, struct gw_host *h)
{
	memset(h, 0, sizeof(*h));
	h->id = sqlite3_column_int64(s, 0);
	col_copy(s, 1, h->fqdn, sizeof(h->fqdn));
	col_copy(s, 2, h->provider, sizeof(h->provider));
	h->acme = sqlite3_column_int(s, 3) != 0;
	col_copy(s, 4, h->allow, sizeof(h->allow));
	h->expires = sqlite3_column_int64(s, 5);
	col_copy(s, 6, h->iid, sizeof(h->iid));
	h->created = sqlite3_column_int64(s, 7);
}

/* Also gives whether the row's last attempt may have reached the provider. */
static void read_rec(sqlite3_stmt *s, struct gw_rec *r, bool *uncertain)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->host_id = sqlite3_column_int64(s, 1);
	const unsigned char *t = sqlite3_column_text(s, 2);
	if (t == NULL || rtype_parse((const char *)t, &r->rtype) != DW_OK)
		r->rtype = GW_RT_TXT;   /* the CHECK constraint makes this unreachable */
	col_copy(s, 3, r->value, sizeof(r->value));
	r->present = sqlite3_column_int(s, 4) != 0;
	r->applied = sqlite3_column_int(s, 5) != 0;
	r->attempts = sqlite3_column_int64(s, 6);
	r->next_retry = sqlite3_column_int64(s, 7);
	col_copy(s, 8, r->last_error, sizeof(r->last_error));
	r->seq = sqlite3_column_int64(s, 9);
	r->updated = sqlite3_column_int64(s, 10);
	r->failed = sqlite3_column_int(s, 11) != 0;
	if (uncertain != NULL)
		*uncertain = sqlite3_column_int(s, 12) != 0;
}

/* One-row lookup: DW_OK with the row current, DW_ENOTFOUND, or DW_EIO. */
static int step_row(struct gw_db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return DW_OK;
	int ret = rc == SQLITE_DONE ? DW_ENOTFOUND : db_fail(db, rc);
	sqlite3_reset(s);
	return ret;
}

/* A single integer from a one-row query with up to two int64 parameters. */
static int query_int(struct gw_db *db, enum stmt_id id, int nparams, int64_t a, int64_t b,
                     int64_t *out)
{
	sqlite3_stmt *s = stmt(db, id);
	if (s == NULL)
		return DW_EIO;
	if (nparams > 0)
		sqlite3_bind_int64(s, 1, a);
	if (nparams > 1)
		sqlite3_bind_int64(s, 2, b);
	int ret = step_row(db, s);
	if (ret == DW_OK) {
		*out = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return ret;
}

/* ---- hosts ---------------------------------------------------------------- */

int gw_db_host_add(struct gw_db *db, struct gw_host *h)
{
	sqlite3_stmt *s = stmt(db, S_HOST_ADD);
	if (s == NULL)
		return DW_EIO;
	if (h->created == 0)
		h->created = now_s();
	bind_text(s, 1, h->fqdn);
	bind_text(s, 2, h->provider);
	sqlite3_bind_int(s, 3, h->acme ? 1 : 0);
	bind_text(s, 4, h->allow);
	sqlite3_bind_int64(s, 5, h->expires);
	bind_text(s, 6, h->iid);
	sqlite3_bind_int64(s, 7, h->created);
	int ret = step_done(db, s);
	if (ret == DW_OK)
		h->id = sqlite3_last_insert_rowid(db->db);
	return ret;
}

static int host_one(struct gw_db *db, enum stmt_id id, const char *fqdn, int64_t hid,
                    struct gw_host *out)
{
	sqlite3_stmt *s = stmt(db, id);
	if (s == NULL)
		return DW_EIO;
	if (fqdn != NULL)
		bind_text(s, 1, fqdn);
	else
		sqlite3_bind_int64(s, 1, hid);
	int ret = step_row(db, s);
	if (ret == DW_OK) {
		read_host(s, out);
		sqlite3_reset(s);
	}
	return ret;
}

int gw_db_host_get(struct gw_db *db, const char *fqdn, struct gw_host *out)
{
	return host_one(db, S_HOST_GET, fqdn, 0, out);
}

int gw_db_host_by_id(struct gw_db *db, int64_t id, struct gw_host *out)
{
	return host_one(db, S_HOST_BY_ID, NULL, id, out);
}

int gw_db_host_remove(struct gw_db *db, int64_t id)
{
	sqlite3_stmt *s = stmt(db, S_HOST_REMOVE);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, id);
	return step_done(db, s);
}

int gw_db_host_list(struct gw_db *db, int (*cb)(void *arg, const struct gw_host *h), void *arg)
{
	/* Rows are copied out first: the callback may run other statements. */
	sqlite3_stmt *s = stmt(db, S_HOST_LIST);
	if (s == NULL)
		return DW_EIO;
	struct gw_host *v = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = DW_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct gw_host *nv = realloc(v, nc * sizeof(*nv));
			if (nv == NULL) {
				ret = DW_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		read_host(s, &v[n++]);
	}
	if (ret == DW_OK && rc != SQLITE_DONE)
		ret = db_fail(db, rc);
	sqlite3_reset(s);
	for (size_t i = 0; ret == DW_OK && i < n; i++)
		ret = cb(arg, &v[i]);
	free(v);
	return ret;
}

/* ---- tokens --------------------------------------------------------------- */

int gw_db_token_add(struct gw_db *db, int64_t host_id, const struct gw_token *t,
                    const char *scope)
{
	sqlite3_stmt *s = stmt(db, S_TOKEN_ADD);
	if (s == NULL)
		return DW_EIO;
	bind_text(s, 1, t->id);
	sqlite3_bind_int64(s, 2, host_id);
	sqlite3_bind_blob(s, 3, t->hash, GW_TOKEN_HASH_LEN, SQLITE_STATIC);
	bind_text(s, 4, scope);
	sqlite3_bind_int64(s, 5, now_s());
	return step_done(db, s);
}

int gw_db_token_revoke_all(struct gw_db *db, int64_t host_id)
{
	sqlite3_stmt *s = stmt(db, S_TOKEN_REVOKE);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	return step_done(db, s);
}

int gw_db_token_lookup(struct gw_db *db, const char *id, int64_t *host_id,
                       uint8_t hash[GW_TOKEN_HASH_LEN])
{
	sqlite3_stmt *s = stmt(db, S_TOKEN_LOOKUP);
	if (s == NULL)
		return DW_EIO;
	bind_text(s, 1, id);
	int ret = step_row(db, s);
	if (ret != DW_OK)
		return ret;
	*host_id = sqlite3_column_int64(s, 0);
	if (sqlite3_column_bytes(s, 1) == GW_TOKEN_HASH_LEN) {
		memcpy(hash, sqlite3_column_blob(s, 1), GW_TOKEN_HASH_LEN);
	} else {
		note_fault(db->st, GW_FAULT_CORRUPT, "a token hash of the wrong length", true);
		ret = DW_EIO;
	}
	sqlite3_reset(s);
	return ret;
}

int gw_db_token_of_host(struct gw_db *db, int64_t host_id, char id[GW_TOKEN_ID_LEN + 1])
{
	id[0] = '\0';
	sqlite3_stmt *s = stmt(db, S_TOKEN_OF_HOST);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	int ret = step_row(db, s);
	if (ret == DW_ENOTFOUND)
		return DW_OK;
	if (ret != DW_OK)
		return ret;
	col_copy(s, 0, id, GW_TOKEN_ID_LEN + 1);
	sqlite3_reset(s);
	return DW_OK;
}

/* ---- desired records ------------------------------------------------------ */

int gw_db_addr_get(struct gw_db *db, int64_t host_id, enum gw_rtype rt, struct gw_rec *out)
{
	sqlite3_stmt *s = stmt(db, S_ADDR_GET);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	bind_text(s, 2, gw_rtype_str(rt));
	int ret = step_row(db, s);
	if (ret == DW_OK) {
		read_rec(s, out, NULL);
		sqlite3_reset(s);
	}
	return ret;
}

static int by_id(struct gw_db *db, enum stmt_id id, int64_t row, int64_t arg2, bool has2)
{
	sqlite3_stmt *s = stmt(db, id);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, row);
	if (has2)
		sqlite3_bind_int64(s, 2, arg2);
	return step_done(db, s);
}

/* The same value asked for again: what its row says. */
static int same_value(struct gw_db *db, const struct gw_rec *cur, enum gw_want *out)
{
	if (cur->applied) {
		*out = GW_WANT_SAME;
		return DW_OK;
	}
	if (!cur->failed) {
		*out = GW_WANT_PENDING;
		return DW_OK;
	}
	int64_t now = now_s();
	if (cur->next_retry > now) {
		*out = GW_WANT_REFUSED;
		return DW_OK;
	}
	*out = GW_WANT_CHANGED;
	return by_id(db, S_REARM, cur->id, now, true);
}

int gw_db_addr_set(struct gw_db *db, int64_t host_id, enum gw_rtype rt, const char *value,
                   enum gw_want *out)
{
	struct gw_rec cur;
	*out = GW_WANT_SAME;
	int ret = gw_db_addr_get(db, host_id, rt, &cur);
	if (ret == DW_OK && strcmp(cur.value, value) == 0)
		return same_value(db, &cur, out);
	if (ret != DW_OK && ret != DW_ENOTFOUND)
		return ret;
	sqlite3_stmt *s = stmt(db, S_ADDR_SET);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	bind_text(s, 2, gw_rtype_str(rt));
	bind_text(s, 3, value);
	sqlite3_bind_int64(s, 4, now_s());
	ret = step_done(db, s);
	if (ret == DW_OK)
		*out = GW_WANT_CHANGED;
	return ret;
}

static int txt_get(struct gw_db *db, int64_t host_id, const char *value, struct gw_rec *out,
                   bool *uncertain)
{
	sqlite3_stmt *s = stmt(db, S_TXT_GET);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	bind_text(s, 2, value);
	int ret = step_row(db, s);
	if (ret == DW_OK) {
		read_rec(s, out, uncertain);
		sqlite3_reset(s);
	}
	return ret;
}

int gw_db_txt_get(struct gw_db *db, int64_t host_id, const char *value, struct gw_rec *out)
{
	return txt_get(db, host_id, value, out, NULL);
}

/* Removes present values of host_id beyond the newest keep: a value never
 * published is deleted, the others are marked for removal upstream. */
static int txt_trim(struct gw_db *db, int64_t host_id, unsigned keep, int64_t now)
{
	sqlite3_stmt *s = stmt(db, S_TXT_TRIM_LIST);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int64(s, 2, keep);
	int64_t ids[TRIM_MAX];
	bool published[TRIM_MAX];
	size_t n = 0;
	int rc;
	while (n < TRIM_MAX && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(s, 0);
		published[n] = sqlite3_column_int(s, 1) != 0 || sqlite3_column_int(s, 2) != 0;
		n++;
	}
	int ret = n < TRIM_MAX && rc != SQLITE_DONE ? db_fail(db, rc) : DW_OK;
	sqlite3_reset(s);
	for (size_t i = 0; ret == DW_OK && i < n; i++) {
		if (!published[i]) {
			ret = by_id(db, S_TXT_DELETE, ids[i], 0, false);
			continue;
		}
		s = stmt(db, S_TXT_UPDATE);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int(s, 1, 0);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, ids[i]);
		ret = step_done(db, s);
	}
	return ret;
}

int gw_db_txt_set(struct gw_db *db, int64_t host_id, const char *value, bool present,
                  unsigned keep_max, enum gw_want *out)
{
	*out = GW_WANT_SAME;
	struct gw_rec cur;
	bool uncertain = false;
	int ret = txt_get(db, host_id, value, &cur, &uncertain);
	if (ret != DW_OK && ret != DW_ENOTFOUND)
		return ret;
	bool found = ret == DW_OK;
	int64_t now = now_s();
	if (!present) {
		if (!found)
			return DW_OK;   /* never added: nothing to remove */
		if (!cur.present)
			return same_value(db, &cur, out);
		if (!cur.applied && !uncertain) {
			/* Never reached the provider (not sent yet, or refused):
			 * nothing to remove upstream. */
			*out = GW_WANT_DROPPED;
			return by_id(db, S_TXT_DELETE, cur.id, 0, false);
		}
	} else if (found && cur.present) {
		return same_value(db, &cur, out);
	}
	sqlite3_stmt *s;
	if (!found) {
		s = stmt(db, S_TXT_INSERT);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int64(s, 1, host_id);
		bind_text(s, 2, value);
		sqlite3_bind_int64(s, 3, now);
	} else {
		s = stmt(db, S_TXT_UPDATE);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int(s, 1, present ? 1 : 0);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, cur.id);
	}
	if ((ret = step_done(db, s)) != DW_OK)
		return ret;
	*out = GW_WANT_CHANGED;
	if (!present)
		return DW_OK;
	/* A new value: the TXT set's backoff ends, and the set is trimmed. */
	if ((ret = by_id(db, S_TXT_CLEAR_BACKOFF, host_id, 0, false)) != DW_OK)
		return ret;
	return keep_max > 0 ? txt_trim(db, host_id, keep_max, now) : DW_OK;
}

static int rec_rows(struct gw_db *db, enum stmt_id id, int64_t host_id, bool with_now,
                    int64_t now, struct gw_rec *out, size_t cap, size_t *n)
{
	*n = 0;
	sqlite3_stmt *s = stmt(db, id);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	if (with_now)
		sqlite3_bind_int64(s, 2, now);
	int rc = SQLITE_DONE;
	while (*n < cap && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_rec(s, &out[(*n)++], NULL);
	int ret = *n < cap && rc != SQLITE_DONE ? db_fail(db, rc) : DW_OK;
	sqlite3_reset(s);
	return ret;
}

int gw_db_pending(struct gw_db *db, int64_t host_id, int64_t now, struct gw_rec *out,
                  size_t cap, size_t *n)
{
	return rec_rows(db, S_PENDING, host_id, true, now, out, cap, n);
}

int gw_db_next_due(struct gw_db *db, int64_t host_id, bool *any, int64_t *next)
{
	*any = false;
	*next = 0;
	sqlite3_stmt *s = stmt(db, S_NEXT_DUE);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	int ret = step_row(db, s);
	if (ret == DW_OK) {
		*any = sqlite3_column_int64(s, 0) > 0;
		*next = sqlite3_column_int64(s, 1);
		sqlite3_reset(s);
	}
	return ret;
}

int gw_db_records(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap, size_t *n)
{
	return rec_rows(db, S_RECORDS, host_id, false, 0, out, cap, n);
}

int gw_db_pending_hosts(struct gw_db *db, int (*cb)(void *arg, int64_t host_id, int64_t next),
                        void *arg)
{
	sqlite3_stmt *s = stmt(db, S_PENDING_HOSTS);
	if (s == NULL)
		return DW_EIO;
	int ret = DW_OK, rc = SQLITE_DONE;
	while (ret == DW_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = cb(arg, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
	if (ret == DW_OK && rc != SQLITE_DONE)
		ret = db_fail(db, rc);
	sqlite3_reset(s);
	return ret;
}

int gw_db_pending_count(struct gw_db *db, int64_t *n)
{
	return query_int(db, S_PENDING_COUNT, 0, 0, 0, n);
}

int gw_db_failed_count(struct gw_db *db, int64_t *n)
{
	return query_int(db, S_FAILED_COUNT, 0, 0, 0, n);
}

int gw_db_mark(struct gw_db *db, const struct gw_rec *r, enum gw_mark m, int64_t next_retry,
               const char *error)
{
	sqlite3_stmt *s;
	if (m == GW_MARK_OK) {
		s = stmt(db, r->rtype == GW_RT_TXT && !r->present ? S_MARK_DEL : S_MARK_OK);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int64(s, 1, r->id);
		sqlite3_bind_int64(s, 2, r->seq);
		return step_done(db, s);
	}
	s = stmt(db, m == GW_MARK_FAILED ? S_MARK_FAILED : S_MARK_RETRY);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, next_retry);
	bind_text(s, 2, error != NULL ? error : "");
	sqlite3_bind_int64(s, 3, r->id);
	sqlite3_bind_int64(s, 4, r->seq);
	return step_done(db, s);
}

/* ---- audit ---------------------------------------------------------------- */

int gw_db_audit(struct gw_db *db, const struct gw_audit *a)
{
	sqlite3_stmt *s = stmt(db, S_AUDIT);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, a->time != 0 ? a->time : now_s());
	bind_text(s, 2, a->host);
	bind_text(s, 3, a->token_id);
	bind_text(s, 4, a->action);
	bind_text(s, 5, a->old_value);
	bind_text(s, 6, a->new_value);
	bind_text(s, 7, a->source);
	bind_text(s, 8, a->result);
	sqlite3_bind_int64(s, 9, a->count > 0 ? a->count : 1);
	return step_done(db, s);
}

int gw_db_audit_list(struct gw_db *db, const char *host, unsigned limit,
                     int (*cb)(void *arg, const struct gw_audit *a), void *arg)
{
	sqlite3_stmt *s = stmt(db, host != NULL ? S_AUDIT_HOST : S_AUDIT_ALL);
	if (s == NULL)
		return DW_EIO;
	if (host != NULL) {
		bind_text(s, 1, host);
		sqlite3_bind_int64(s, 2, limit);
	} else {
		sqlite3_bind_int64(s, 1, limit);
	}
	int ret = DW_OK, rc = SQLITE_DONE;
	while (ret == DW_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct gw_audit a = {
			.time = sqlite3_column_int64(s, 0),
			.host = (const char *)sqlite3_column_text(s, 1),
			.token_id = (const char *)sqlite3_column_text(s, 2),
			.action = (const char *)sqlite3_column_text(s, 3),
			.old_value = (const char *)sqlite3_column_text(s, 4),
			.new_value = (const char *)sqlite3_column_text(s, 5),
			.source = (const char *)sqlite3_column_text(s, 6),
			.result = (const char *)sqlite3_column_text(s, 7),
			.count = sqlite3_column_int64(s, 8),
		};
		ret = cb(arg, &a);
	}
	if (ret == DW_OK && rc != SQLITE_DONE)
		ret = db_fail(db, rc);
	sqlite3_reset(s);
	return ret;
}

int gw_db_audit_count(struct gw_db *db, int64_t *n)
{
	return query_int(db, S_AUDIT_COUNT, 0, 0, 0, n);
}

/* One batch of a prune in its own transaction; *n gets the rows deleted. */
static int prune_batch(struct gw_db *db, enum stmt_id id, int64_t a, int64_t b, int nparams,
                       int64_t *n)
{
	*n = 0;
	int ret = gw_db_begin(db);
	sqlite3_stmt *s = ret == DW_OK ? stmt(db, id) : NULL;
	if (ret == DW_OK && s == NULL)
		ret = DW_EIO;
	if (ret == DW_OK) {
		sqlite3_bind_int64(s, 1, a);
		if (nparams > 1)
			sqlite3_bind_int64(s, 2, b);
		ret = step_done(db, s);
	}
	if (ret == DW_OK) {
		*n = sqlite3_changes64(db->db);
		ret = gw_db_commit(db);
	}
	gw_db_rollback(db);
	return ret;
}

int gw_store_prune(struct gw_store *st, int64_t max_age_s, int64_t max_rows, int64_t *deleted)
{
	int64_t total = 0, n;
	struct gw_db *db = gw_store_get(st);
	int ret = db != NULL ? DW_OK : DW_EIO;
	if (ret == DW_OK && max_age_s > 0) {
		int64_t cutoff = now_s() - max_age_s;
		do {
			ret = prune_batch(db, S_PRUNE_AGE, cutoff, PRUNE_BATCH, 2, &n);
			total += n;
		} while (ret == DW_OK && n == PRUNE_BATCH);
	}
	if (ret == DW_OK && max_rows > 0) {
		int64_t count = 0;
		ret = gw_db_audit_count(db, &count);
		while (ret == DW_OK && count > max_rows) {
			int64_t over = count - max_rows;
			ret = prune_batch(db, S_PRUNE_ROWS, over < PRUNE_BATCH ? over : PRUNE_BATCH, 0, 1,
			                  &n);
			total += n;
			count -= n;
			if (n == 0)
				break;
		}
	}
	gw_store_put(st, db);
	if (deleted != NULL)
		*deleted = total;
	return ret;
}
