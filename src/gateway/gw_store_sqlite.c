/* The SQLite backend of the store (gw_store_int.h): one file, embedded, one
 * writer at a time (BEGIN IMMEDIATE), WAL for readers that wait for
 * nobody. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "gateway/gw_store_int.h"
#include "lib/log.h"

#define BUSY_TIMEOUT_MS 10000
#define FREE_MIN_BYTES (1024 * 1024)

/* Forward-only migrations: entry i brings user_version from i to i + 1.
 * Never edit a released entry; append a new one (and its twin in
 * gw_store_pg.c). */
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
	/* 2 -> 3: several instances on one database, and any number of hosts.
	 * Each host's lease on its upstream work (who sends its records now);
	 * lockouts and the instances serving, shared by all of them; the
	 * pending rows found by an index of their own (records_due), the failed
	 * ones too, and a host's rows by host_id alone (foreign key deletes). */
	"CREATE TABLE leases ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
	"  owner TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"INSERT INTO leases (host_id) SELECT id FROM hosts;"
	"CREATE TABLE lockouts ("
	"  key TEXT PRIMARY KEY,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  since INTEGER NOT NULL,"
	"  locked_until INTEGER NOT NULL DEFAULT 0"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE instances ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  seen INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"DROP INDEX records_pending;"
	"CREATE INDEX records_host ON records(host_id);"
	"CREATE INDEX records_due ON records(next_retry) WHERE applied = 0 AND failed = 0;"
	"CREATE INDEX records_failed ON records(host_id) WHERE failed = 1;",
};

#define HOST_COLS "id, fqdn, provider, acme, allow, expires, iid, created"
#define REC_COLS "id, host_id, rtype, value, present, applied, attempts, next_retry, " \
                 "last_error, seq, updated, failed, uncertain"
#define AUDIT_COLS "time, host, token_id, action, old, new, source, result, count"

static const char *const sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_BEGIN_VOLATILE] = "BEGIN IMMEDIATE",   /* after synchronous = NORMAL (sq_exec) */
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_LOCK_HOST] = NULL,   /* BEGIN IMMEDIATE: one writer at a time already */
	[Q_HOST_ADD] = "INSERT INTO hosts (fqdn, provider, acme, allow, expires, iid, created) "
	               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
	[Q_HOST_GET] = "SELECT " HOST_COLS " FROM hosts WHERE fqdn = ?1",
	[Q_HOST_BY_ID] = "SELECT " HOST_COLS " FROM hosts WHERE id = ?1",
	[Q_HOST_REMOVE] = "DELETE FROM hosts WHERE id = ?1",
	[Q_HOST_PAGE] = "SELECT " HOST_COLS " FROM hosts WHERE fqdn > ?1 ORDER BY fqdn LIMIT ?2",
	[Q_HOST_BELOW] = "SELECT fqdn FROM hosts WHERE fqdn LIKE ?1 ESCAPE '\\' LIMIT 1",
	[Q_TOKEN_ADD] = "INSERT INTO tokens (id, host_id, hash, scope, created) "
	                "VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_TOKEN_REVOKE] = "DELETE FROM tokens WHERE host_id = ?1",
	[Q_TOKEN_LOOKUP] = "SELECT host_id, hash FROM tokens WHERE id = ?1",
	[Q_TOKEN_OF_HOST] = "SELECT id FROM tokens WHERE host_id = ?1 "
	                    "ORDER BY created DESC, id DESC LIMIT 1",
	[Q_AUTH] = "SELECT t.host_id, t.hash, h.id, h.fqdn, h.provider, h.acme, h.allow, h.expires, "
	           "h.iid, h.created, (SELECT locked_until FROM lockouts WHERE key = ?2) "
	           "FROM (SELECT 1) AS one LEFT JOIN tokens AS t ON t.id = ?1 "
	           "LEFT JOIN hosts AS h ON h.id = t.host_id",
	/* rtype <> 'TXT' lets the partial index records_addr serve it. */
	[Q_ADDR_GET] = "SELECT " REC_COLS " FROM records WHERE host_id = ?1 AND rtype = ?2 "
	               "AND rtype <> 'TXT'",
	[Q_ADDR_SET] = "INSERT INTO records (host_id, rtype, value, present, applied, attempts, "
	               "next_retry, last_error, seq, updated) VALUES (?1, ?2, ?3, 1, 0, 0, 0, '', 1, ?4) "
	               "ON CONFLICT (host_id, rtype) WHERE rtype <> 'TXT' DO UPDATE SET "
	               "value = excluded.value, applied = 0, failed = 0, uncertain = 0, attempts = 0, "
	               "next_retry = 0, last_error = '', seq = seq + 1, updated = excluded.updated",
	[Q_REARM] = "UPDATE records SET failed = 0, next_retry = 0, seq = seq + 1, updated = ?2 "
	            "WHERE id = ?1",
	[Q_TXT_GET] = "SELECT " REC_COLS " FROM records WHERE host_id = ?1 AND rtype = 'TXT' "
	              "AND value = ?2",
	[Q_TXT_INSERT] = "INSERT INTO records (host_id, rtype, value, present, updated) "
	                 "VALUES (?1, 'TXT', ?2, 1, ?3)",
	[Q_TXT_UPDATE] = "UPDATE records SET present = ?1, applied = 0, failed = 0, attempts = 0, "
	                 "next_retry = 0, last_error = '', seq = seq + 1, updated = ?2 WHERE id = ?3",
	[Q_TXT_DELETE] = "DELETE FROM records WHERE id = ?1",
	[Q_TXT_CLEAR_BACKOFF] = "UPDATE records SET next_retry = 0 WHERE host_id = ?1 AND "
	                        "rtype = 'TXT' AND applied = 0 AND failed = 0 AND next_retry > 0",
	[Q_TXT_TRIM_LIST] = "SELECT id, applied, uncertain FROM records WHERE host_id = ?1 AND "
	                    "rtype = 'TXT' AND present = 1 ORDER BY updated DESC, id DESC "
	                    "LIMIT 64 OFFSET ?2",
	[Q_PENDING] = "SELECT " REC_COLS " FROM records WHERE host_id = ?1 AND applied = 0 AND "
	              "failed = 0 AND next_retry <= ?2 ORDER BY id LIMIT ?3",
	[Q_NEXT_DUE] = "SELECT count(*), coalesce(min(next_retry), 0) FROM records WHERE "
	               "host_id = ?1 AND applied = 0 AND failed = 0",
	[Q_DUE_HOSTS] = "SELECT r.host_id, r.next_retry, coalesce(l.expires, 0) FROM records AS r "
	                "LEFT JOIN leases AS l ON l.host_id = r.host_id WHERE r.applied = 0 AND "
	                "r.failed = 0 AND r.next_retry <= ?1 ORDER BY r.next_retry LIMIT ?2",
	[Q_PENDING_COUNT] = "SELECT count(*) FROM records WHERE applied = 0 AND failed = 0",
	[Q_FAILED_COUNT] = "SELECT count(*) FROM records WHERE failed = 1",
	[Q_MARK_OK] = "UPDATE records SET applied = 1, failed = 0, attempts = 0, last_error = '' "
	              "WHERE id = ?1 AND seq = ?2",
	[Q_MARK_DEL] = "DELETE FROM records WHERE id = ?1 AND seq = ?2 AND present = 0",
	[Q_MARK_RETRY] = "UPDATE records SET attempts = attempts + 1, next_retry = ?1, "
	                 "last_error = ?2, uncertain = 1 WHERE id = ?3 AND seq = ?4",
	[Q_MARK_FAILED] = "UPDATE records SET attempts = attempts + 1, next_retry = ?1, "
	                  "last_error = ?2, failed = 1 WHERE id = ?3 AND seq = ?4",
	[Q_RECORDS] = "SELECT " REC_COLS " FROM records WHERE host_id = ?1 ORDER BY rtype, id",
	[Q_LEASE_INIT] = "INSERT INTO leases (host_id) VALUES (?1) ON CONFLICT DO NOTHING",
	[Q_LEASE_INIT_ALL] = "INSERT INTO leases (host_id) SELECT id FROM hosts WHERE true "
	                     "ON CONFLICT DO NOTHING",
	/* One writer at a time: the condition alone decides. */
	[Q_LEASE_CLAIM] = "UPDATE leases SET owner = ?2, expires = ?3 WHERE host_id = ?1 AND "
	                  "(expires <= ?4 OR owner = ?2) RETURNING host_id",
	[Q_LEASE_RENEW] = "UPDATE leases SET expires = ?3 WHERE host_id = ?1 AND owner = ?2",
	[Q_LEASE_RELEASE] = "UPDATE leases SET owner = '', expires = 0 WHERE host_id = ?1 AND "
	                    "owner = ?2",
	[Q_LEASE_GET] = "SELECT owner, expires FROM leases WHERE host_id = ?1",
	[Q_LOCKOUT_FAIL] = "INSERT INTO lockouts (key, failures, since, locked_until) "
	                   "VALUES (?1, 1, ?2, 0) ON CONFLICT (key) DO UPDATE SET "
	                   "failures = CASE WHEN lockouts.failures = 0 OR lockouts.since <= ?2 - ?3 "
	                   "THEN 1 ELSE lockouts.failures + 1 END, "
	                   "since = CASE WHEN lockouts.failures = 0 OR lockouts.since <= ?2 - ?3 "
	                   "THEN ?2 ELSE lockouts.since END RETURNING failures",
	[Q_LOCKOUT_LOCK] = "UPDATE lockouts SET locked_until = ?2, failures = 0 WHERE key = ?1",
	[Q_LOCKOUT_PRUNE] = "DELETE FROM lockouts WHERE locked_until < ?1 AND since < ?2",
	[Q_INSTANCE_BEAT] = "INSERT INTO instances (id, name, started, seen) VALUES (?1, ?2, ?3, ?3) "
	                    "ON CONFLICT (id) DO UPDATE SET seen = excluded.seen",
	[Q_INSTANCE_COUNT] = "SELECT count(*) FROM instances WHERE seen >= ?1",
	[Q_INSTANCE_LEAVE] = "DELETE FROM instances WHERE id = ?1",
	[Q_INSTANCE_PRUNE] = "DELETE FROM instances WHERE seen < ?1",
	[Q_INSTANCE_STALE] = "SELECT id, name FROM instances WHERE seen < ?1 LIMIT 64",
	[Q_LEASE_DROP_OWNER] = "UPDATE leases SET owner = '', expires = 0 WHERE owner = ?1",
	[Q_AUDIT] = "INSERT INTO audit (time, host, token_id, action, old, new, source, result, count) "
	            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_AUDIT_ALL] = "SELECT " AUDIT_COLS " FROM audit ORDER BY id DESC LIMIT ?1",
	[Q_AUDIT_HOST] = "SELECT " AUDIT_COLS " FROM audit WHERE host = ?1 ORDER BY id DESC LIMIT ?2",
	[Q_AUDIT_COUNT] = "SELECT count(*) FROM audit",
	[Q_PRUNE_AGE] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ?1 "
	                "ORDER BY id LIMIT ?2)",
	[Q_PRUNE_ROWS] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id LIMIT ?1)",
	/* Always a new value: SQLite skips writing a row rewritten as it was. */
	[Q_PROBE] = "INSERT INTO probe (id, time) VALUES (1, ?1) "
	            "ON CONFLICT (id) DO UPDATE SET time = max(excluded.time, probe.time + 1)",
	[Q_DUMP_HOSTS] = "SELECT " HOST_COLS " FROM hosts WHERE id > ?1 ORDER BY id LIMIT ?2",
	[Q_DUMP_TOKENS] = "SELECT id, host_id, hash, scope, created FROM tokens WHERE id > ?1 "
	                  "ORDER BY id LIMIT ?2",
	[Q_DUMP_RECORDS] = "SELECT " REC_COLS " FROM records WHERE id > ?1 ORDER BY id LIMIT ?2",
	[Q_DUMP_AUDIT] = "SELECT id, " AUDIT_COLS " FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
	[Q_LOAD_HOST] = "INSERT INTO hosts (" HOST_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_LOAD_TOKEN] = "INSERT INTO tokens (id, host_id, hash, scope, created) "
	                 "VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_LOAD_RECORD] = "INSERT INTO records (" REC_COLS ") "
	                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[Q_LOAD_AUDIT] = "INSERT INTO audit (id, " AUDIT_COLS ") "
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_LOAD_FINISH] = NULL,   /* rowids continue after the largest */
	[Q_COUNTS] = "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM tokens), "
	             "(SELECT count(*) FROM records), (SELECT count(*) FROM audit)",
};

struct sq_store {
	struct gw_store base;
	char *path;                 /* directory resolved (see resolve_dir) */
};

struct sq_db {
	struct gw_db base;
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
	bool volatile_tx;           /* synchronous = NORMAL until it ends */
};

static struct sq_store *sq_store(struct gw_store *st)
{
	return gw_container_of(st, struct sq_store, base);
}

static struct sq_db *sq(struct gw_db *db)
{
	return gw_container_of(db, struct sq_db, base);
}

/* Set once any connection was opened in this process: from then on only
 * SQLite may open or close the database files (closing any descriptor of
 * a file drops every POSIX lock the process holds on it). */
static atomic_bool opened_any;

/* ---- failures -------------------------------------------------------------------- */

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
static void advice_path(enum gw_fault f, const char *path, const char *what, char *out,
                        size_t cap)
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

static void sq_advice(const struct gw_store *st, enum gw_fault f, const char *what, char *out,
                      size_t cap)
{
	advice_path(f, st->desc, what, out, cap);
}

/* Every failing SQLite call of a connection ends here: constraint
 * violations are the caller's (DW_EINVAL), the rest a store failure. */
static int db_fail(struct sq_db *d, int rc)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DW_EINVAL;
	char what[320];
	int e = sqlite3_system_errno(d->db);
	if (e != 0)
		snprintf(what, sizeof(what), "%s; %s", sqlite3_errstr(rc), strerror(e));
	else
		snprintf(what, sizeof(what), "%s", sqlite3_errmsg(d->db));
	gw_store_fault(d->base.st, classify(rc, e), what, true);
	return DW_EIO;
}

/* ---- connections ---------------------------------------------------------------------- */

static void db_free(struct sq_db *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(d->stmt[i]);
	sqlite3_close(d->db);
	free(d);
}

static void sq_disconnect(struct gw_db *db)
{
	db_free(sq(db));
}

/* Runs sql on a connection being set up (no gw_store yet): diag gets the
 * advice for its failure kind. */
static int exec_sql(sqlite3 *db, const char *path, enum gw_fault *kind, const char *text,
                    struct dw_diag *diag)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		char msg[768];
		enum gw_fault k = classify(sqlite3_extended_errcode(db), sqlite3_system_errno(db));
		if (kind != NULL)
			*kind = k;
		advice_path(k, path, err != NULL ? err : sqlite3_errmsg(db), msg, sizeof(msg));
		dw_diag_set(diag, DW_EIO, "%s", msg);
		sqlite3_free(err);
		return DW_EIO;
	}
	return DW_OK;
}

static int pragma_int(sqlite3 *db, const char *text, int *out)
{
	sqlite3_stmt *s = NULL;
	int ret = DW_EIO;
	if (sqlite3_prepare_v2(db, text, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		ret = DW_OK;
	}
	sqlite3_finalize(s);
	return ret;
}

/* Opens one connection; on failure *kind gets its kind. */
static int db_open(const char *path, bool create, struct sq_db **out, enum gw_fault *kind,
                   struct dw_diag *diag)
{
	*out = NULL;
	*kind = GW_FAULT_OTHER;
	atomic_store(&opened_any, true);
	struct sq_db *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
	            (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &d->db, flags, NULL);
	if (rc != SQLITE_OK) {
		char msg[768];
		if (d->db != NULL) {
			*kind = classify(sqlite3_extended_errcode(d->db), sqlite3_system_errno(d->db));
			advice_path(*kind, path, sqlite3_errmsg(d->db), msg, sizeof(msg));
		} else {
			snprintf(msg, sizeof(msg), "database %s: out of memory", path);
		}
		dw_diag_set(diag, DW_EIO, "cannot open %s", msg);
		db_free(d);
		return DW_EIO;
	}
	/* Asked read-write, given read-only by SQLite (no write access to the
	 * file or a read-only filesystem). */
	if (sqlite3_db_readonly(d->db, "main") == 1) {
		char msg[768];
		*kind = GW_FAULT_READONLY;
		advice_path(GW_FAULT_READONLY, path, "SQLite could open it read-only only", msg,
		            sizeof(msg));
		dw_diag_set(diag, DW_EIO, "%s", msg);
		db_free(d);
		return DW_EIO;
	}
	int on = 0;
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_db_config(d->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
	sqlite3_db_config(d->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on);
	sqlite3_db_config(d->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &on);
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	/* journal_size_limit: the -wal file is cut back to 16 MiB after a
	 * checkpoint, whatever a burst made it grow to. */
	int ret = exec_sql(d->db, path, kind,
	                   "PRAGMA journal_mode = WAL;"
	                   "PRAGMA synchronous = FULL;"
	                   "PRAGMA foreign_keys = ON;"
	                   "PRAGMA secure_delete = ON;"
	                   "PRAGMA trusted_schema = OFF;"
	                   "PRAGMA journal_size_limit = 16777216;", diag);
	if (ret != DW_OK) {
		db_free(d);
		return ret;
	}
	int fk = 0;
	if (pragma_int(d->db, "PRAGMA foreign_keys", &fk) != DW_OK || fk != 1) {
		db_free(d);
		return dw_diag_set(diag, DW_EIO, "database %s: foreign keys unavailable", path);
	}
	*out = d;
	return DW_OK;
}

static int migrate(struct sq_db *d, const char *path, struct dw_diag *diag)
{
	int ver = 0;
	if (pragma_int(d->db, "PRAGMA user_version", &ver) != DW_OK)
		return exec_sql(d->db, path, NULL, "PRAGMA user_version", diag);
	if (ver > GW_SCHEMA_VERSION)
		return dw_diag_set(diag, DW_EIO,
		                   "database %s has schema version %d, newer than this program's %d",
		                   path, ver, GW_SCHEMA_VERSION);
	for (int v = ver; v < GW_SCHEMA_VERSION; v++) {
		int ret = exec_sql(d->db, path, NULL, "BEGIN IMMEDIATE", diag);
		if (ret != DW_OK)
			return ret;
		/* Re-read inside the write lock: another process may have migrated. */
		int cur = 0;
		if (pragma_int(d->db, "PRAGMA user_version", &cur) != DW_OK) {
			ret = exec_sql(d->db, path, NULL, "PRAGMA user_version", diag);
			exec_sql(d->db, path, NULL, "ROLLBACK", NULL);
			return ret != DW_OK ? ret : DW_EIO;
		}
		if (cur > v) {
			exec_sql(d->db, path, NULL, "COMMIT", NULL);
			v = cur - 1;
			continue;
		}
		char setv[64];
		snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", v + 1);
		if ((ret = exec_sql(d->db, path, NULL, migrations[v], diag)) != DW_OK ||
		    (ret = exec_sql(d->db, path, NULL, setv, diag)) != DW_OK ||
		    (ret = exec_sql(d->db, path, NULL, "COMMIT", diag)) != DW_OK) {
			exec_sql(d->db, path, NULL, "ROLLBACK", NULL);
			return ret;
		}
		if (ver > 0)   /* an existing database, not a new one */
			log_notice("database %s: schema brought from version %d to %d", path, v, v + 1);
	}
	return DW_OK;
}

/* PRAGMA quick_check: "ok", or the first problem into diag. */
static int quick_check(struct sq_db *d, const char *path, struct dw_diag *diag)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(d->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	int ret = DW_OK;
	char msg[768];
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		if (t == NULL || strcmp(t, "ok") != 0) {
			char what[320];
			snprintf(what, sizeof(what), "quick_check: %s", t != NULL ? t : "?");
			advice_path(GW_FAULT_CORRUPT, path, what, msg, sizeof(msg));
			ret = dw_diag_set(diag, DW_EIO, "%s", msg);
		}
	} else {
		advice_path(classify(sqlite3_extended_errcode(d->db), sqlite3_system_errno(d->db)),
		            path, sqlite3_errmsg(d->db), msg, sizeof(msg));
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

static bool sq_handles(const char *database)
{
	return database[0] == '/';
}

static int sq_check_setting(const char *database, struct dw_diag *diag)
{
	if (database[0] != '/')
		return dw_diag_set(diag, DW_ECONFIG, "'%s' must be an absolute path", database);
	return DW_OK;
}

static void sq_close(struct gw_store *st)
{
	struct sq_store *s = sq_store(st);
	gw_store_fini(st);
	free(s->path);
	free(s);
}

static int sq_open(const struct gw_store_cfg *cfg, struct gw_store **out, struct gw_db **first,
                   struct dw_diag *diag)
{
	*out = NULL;
	*first = NULL;
	if (sqlite3_threadsafe() == 0)
		return dw_diag_set(diag, DW_EUNSUPP, "SQLite was built without thread support");
	struct sq_store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	if ((s->path = resolve_dir(cfg->database, diag)) == NULL) {
		free(s);
		return DW_EIO;
	}
	gw_store_init(&s->base, &gw_store_sqlite, s->path, cfg->pool);
	/* The file holds token hashes and the audit log: owner only. */
	mode_t old = umask(077);
	struct sq_db *d = NULL;
	enum gw_fault kind;
	int ret = db_open(s->path, (cfg->flags & GW_STORE_CREATE) != 0, &d, &kind, diag);
	umask(old);
	if (ret == DW_OK && (cfg->flags & GW_STORE_SERVE))
		ret = quick_check(d, s->path, diag);
	if (ret == DW_OK)
		ret = migrate(d, s->path, diag);
	if (ret != DW_OK) {
		db_free(d);
		sq_close(&s->base);
		return ret;
	}
	d->base.st = &s->base;
	*out = &s->base;
	*first = &d->base;
	return DW_OK;
}

static int sq_connect(struct gw_store *st, struct gw_db **out, struct gw_why *why)
{
	struct dw_diag d = { "" };
	struct sq_db *c = NULL;
	if (db_open(sq_store(st)->path, false, &c, &why->kind, &d) != DW_OK) {
		snprintf(why->what, sizeof(why->what), "%s", d.msg);
		return DW_EIO;
	}
	c->base.st = st;
	*out = &c->base;
	return DW_OK;
}

static int sq_prepare(const char *path, uid_t uid, gid_t gid, struct dw_diag *diag)
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

static bool sq_room(struct gw_store *st, char *reason, size_t cap)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", sq_store(st)->path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	struct statvfs vfs;
	if (statvfs(dir, &vfs) != 0)
		return true;
	unsigned long long avail = (unsigned long long)(geteuid() == 0 ? vfs.f_bfree
	                                                               : vfs.f_bavail) *
	                           (unsigned long long)vfs.f_frsize;
	if (vfs.f_flag & ST_RDONLY) {
		gw_store_fault(st, GW_FAULT_READONLY, "its filesystem is mounted read-only", false);
		snprintf(reason, cap, "database cannot be written: read-only filesystem");
		return false;
	}
	if (avail < FREE_MIN_BYTES) {
		char what[96];
		snprintf(what, sizeof(what), "%llu KiB left on its filesystem", avail / 1024);
		gw_store_fault(st, GW_FAULT_FULL, what, false);
		snprintf(reason, cap, "database cannot be written: disk full (%llu KiB left)",
		         avail / 1024);
		return false;
	}
	return true;
}

/* ---- statements ------------------------------------------------------------------------ */

static sqlite3_stmt *stmt(struct sq_db *d, enum gw_q q)
{
	if (d->stmt[q] == NULL) {
		int rc = sqlite3_prepare_v3(d->db, sql[q], -1, SQLITE_PREPARE_PERSISTENT, &d->stmt[q],
		                            NULL);
		if (rc != SQLITE_OK) {
			(void)db_fail(d, rc);
			return NULL;
		}
	}
	return d->stmt[q];
}

static void bind_val(sqlite3_stmt *s, int i, const struct gw_val *v)
{
	switch (v->t) {
	case GW_V_INT:
		sqlite3_bind_int64(s, i, v->i);
		break;
	case GW_V_TEXT:
		sqlite3_bind_text(s, i, v->s, (int)v->n, SQLITE_STATIC);
		break;
	case GW_V_BLOB:
		sqlite3_bind_blob(s, i, v->s, (int)v->n, SQLITE_STATIC);
		break;
	default:
		sqlite3_bind_null(s, i);
		break;
	}
}

static void column(sqlite3_stmt *s, int i, struct gw_val *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER:
		v->t = GW_V_INT;
		v->i = sqlite3_column_int64(s, i);
		break;
	case SQLITE_TEXT:
		v->t = GW_V_TEXT;
		v->s = (const char *)sqlite3_column_text(s, i);
		v->n = (size_t)sqlite3_column_bytes(s, i);
		break;
	case SQLITE_BLOB:
		v->t = GW_V_BLOB;
		v->s = sqlite3_column_blob(s, i);
		v->n = (size_t)sqlite3_column_bytes(s, i);
		break;
	case SQLITE_FLOAT:
		v->t = GW_V_INT;
		v->i = (int64_t)sqlite3_column_double(s, i);
		break;
	default:
		v->t = GW_V_NULL;
		break;
	}
}

static int run(struct sq_db *d, enum gw_q q, const struct gw_val *args, size_t nargs,
               gw_row_cb cb, void *arg, int64_t *changes);

static int sq_exec(struct gw_db *db, enum gw_q q, const struct gw_val *args, size_t nargs,
                   gw_row_cb cb, void *arg, int64_t *changes)
{
	struct sq_db *d = sq(db);
	if (changes != NULL)
		*changes = 0;
	if (sql[q] == NULL)
		return DW_OK;   /* nothing to do in this engine */
	/* A volatile transaction: its commit does not wait for the disk (in
	 * WAL mode the next durable commit syncs its frames too). */
	if (q == Q_BEGIN_VOLATILE && !d->volatile_tx) {
		int rc = sqlite3_exec(d->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return db_fail(d, rc);
		d->volatile_tx = true;
	}
	int ret = run(d, q, args, nargs, cb, arg, changes);
	if (d->volatile_tx && sqlite3_get_autocommit(d->db)) {
		/* Ended (committed, rolled back, or never begun): durable again. */
		int rc = sqlite3_exec(d->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
		if (rc != SQLITE_OK && ret == DW_OK)
			ret = db_fail(d, rc);
		if (rc == SQLITE_OK)
			d->volatile_tx = false;
	}
	return ret;
}

/* Runs one prepared statement (sq_exec's body). */
static int run(struct sq_db *d, enum gw_q q, const struct gw_val *args, size_t nargs,
               gw_row_cb cb, void *arg, int64_t *changes)
{
	sqlite3_stmt *s = stmt(d, q);
	if (s == NULL)
		return DW_EIO;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	for (size_t i = 0; i < nargs; i++)
		bind_val(s, (int)i + 1, &args[i]);
	int rc, ret = DW_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int ncol = sqlite3_column_count(s);
		struct gw_val cols[GW_COLS_MAX];
		if (ncol > GW_COLS_MAX)
			ncol = GW_COLS_MAX;
		for (int i = 0; i < ncol; i++)
			column(s, i, &cols[i]);
		if (cb != NULL && (ret = cb(arg, cols, (size_t)ncol)) != DW_OK)
			break;
	}
	if (ret == DW_OK && rc != SQLITE_DONE)
		ret = db_fail(d, rc);
	else if (ret == DW_OK && changes != NULL && !sqlite3_stmt_readonly(s))
		*changes = sqlite3_changes64(d->db);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

static bool sq_in_tx(struct gw_db *db)
{
	return !sqlite3_get_autocommit(sq(db)->db);
}

static const char *sq_errmsg(struct gw_db *db)
{
	return sqlite3_errmsg(sq(db)->db);
}

static int sq_schema_version(struct gw_db *db, int *out)
{
	return pragma_int(sq(db)->db, "PRAGMA user_version", out);
}

static int sq_check(struct gw_db *db, struct dw_diag *diag)
{
	sqlite3 *h = sq(db)->db;
	sqlite3_stmt *s = NULL;
	int ret = DW_OK;
	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK)
		return dw_diag_set(diag, DW_EIO, "integrity_check: %s", sqlite3_errmsg(h));
	if (sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
		ret = dw_diag_set(diag, DW_EIO, "integrity_check failed");
	sqlite3_finalize(s);
	if (ret != DW_OK)
		return ret;
	if (sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
		return dw_diag_set(diag, DW_EIO, "foreign_key_check: %s", sqlite3_errmsg(h));
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = dw_diag_set(diag, DW_EIO, "foreign_key_check found dangling rows");
	sqlite3_finalize(s);
	return ret;
}

/* EXPLAIN QUERY PLAN of a statement (parameters unbound). */
static int sq_explain(struct gw_db *db, enum gw_q q, char *out, size_t cap)
{
	out[0] = '\0';
	if (sql[q] == NULL)
		return DW_OK;
	char text[4096];
	snprintf(text, sizeof(text), "EXPLAIN QUERY PLAN %s", sql[q]);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(sq(db)->db, text, -1, &s, NULL) != SQLITE_OK)
		return DW_EIO;
	size_t off = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(s, 3);
		int n = snprintf(out + off, cap - off, "%s\n", detail != NULL ? detail : "");
		if (n < 0 || (size_t)n >= cap - off)
			break;
		off += (size_t)n;
	}
	sqlite3_finalize(s);
	return DW_OK;
}

const struct gw_store_ops gw_store_sqlite = {
	.name = "sqlite",
	.handles = sq_handles,
	.check_setting = sq_check_setting,
	.open = sq_open,
	.close = sq_close,
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.exec = sq_exec,
	.in_tx = sq_in_tx,
	.errmsg = sq_errmsg,
	.schema_version = sq_schema_version,
	.check = sq_check,
	.advice = sq_advice,
	.room = sq_room,
	.prepare = sq_prepare,
	.explain = sq_explain,
};
