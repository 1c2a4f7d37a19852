/* SQLite store: connection pool, migrations, prepared statements. */
#include "gateway/gw_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000
#define POOL_MAX 64

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
};

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_HOST_ADD, S_HOST_GET, S_HOST_BY_ID, S_HOST_REMOVE, S_HOST_LIST,
	S_TOKEN_ADD, S_TOKEN_REVOKE, S_TOKEN_LOOKUP, S_TOKEN_OF_HOST,
	S_ADDR_GET, S_ADDR_SET,
	S_TXT_GET, S_TXT_INSERT, S_TXT_UPDATE, S_TXT_TRIM,
	S_PENDING, S_PENDING_HOSTS, S_PENDING_COUNT,
	S_MARK_OK, S_MARK_DEL, S_MARK_FAIL, S_RECORDS,
	S_AUDIT, S_AUDIT_ALL, S_AUDIT_HOST,
	S_COUNT
};

#define HOST_COLS "id, fqdn, provider, acme, allow, expires, iid, created"
#define REC_COLS "id, host_id, rtype, value, present, applied, attempts, next_retry, " \
                 "last_error, seq, updated"

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
	               "value = excluded.value, applied = 0, attempts = 0, next_retry = 0, "
	               "last_error = '', seq = seq + 1, updated = excluded.updated",
	[S_TXT_GET] = "SELECT " REC_COLS " FROM records WHERE host_id = ? AND rtype = 'TXT' AND value = ?",
	[S_TXT_INSERT] = "INSERT INTO records (host_id, rtype, value, present, updated) "
	                 "VALUES (?, 'TXT', ?, ?, ?)",
	[S_TXT_UPDATE] = "UPDATE records SET present = ?, applied = 0, attempts = 0, next_retry = 0, "
	                 "last_error = '', seq = seq + 1, updated = ? WHERE id = ?",
	[S_TXT_TRIM] = "UPDATE records SET present = 0, applied = 0, attempts = 0, next_retry = 0, "
	               "seq = seq + 1, updated = ?2 WHERE id IN (SELECT id FROM records WHERE "
	               "host_id = ?1 AND rtype = 'TXT' AND present = 1 ORDER BY updated DESC, id DESC "
	               "LIMIT -1 OFFSET ?3)",
	[S_PENDING] = "SELECT " REC_COLS " FROM records WHERE host_id = ? AND applied = 0 ORDER BY id",
	[S_PENDING_HOSTS] = "SELECT host_id, min(next_retry) FROM records WHERE applied = 0 GROUP BY host_id",
	[S_PENDING_COUNT] = "SELECT count(*) FROM records WHERE applied = 0",
	[S_MARK_OK] = "UPDATE records SET applied = 1, last_error = '' WHERE id = ? AND seq = ?",
	[S_MARK_DEL] = "DELETE FROM records WHERE id = ? AND seq = ? AND present = 0",
	[S_MARK_FAIL] = "UPDATE records SET attempts = attempts + 1, next_retry = ?, last_error = ? "
	                "WHERE id = ? AND seq = ?",
	[S_RECORDS] = "SELECT " REC_COLS " FROM records WHERE host_id = ? ORDER BY rtype, id",
	[S_AUDIT] = "INSERT INTO audit (time, host, token_id, action, old, new, source, result) "
	            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[S_AUDIT_ALL] = "SELECT time, host, token_id, action, old, new, source, result FROM audit "
	                "ORDER BY id DESC LIMIT ?",
	[S_AUDIT_HOST] = "SELECT time, host, token_id, action, old, new, source, result FROM audit "
	                 "WHERE host = ? ORDER BY id DESC LIMIT ?",
};

struct gw_db {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	struct gw_db *next;
};

struct gw_store {
	char *path;
	pthread_mutex_t lock;
	struct gw_db *idle;
	unsigned nidle, pool;
};

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

/* ---- connections -------------------------------------------------------- */

static void db_free(struct gw_db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->db);
	free(db);
}

static int exec_sql(sqlite3 *db, const char *sql, struct dw_diag *diag)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		dw_diag_set(diag, DW_EIO, "database: %s", err != NULL ? err : sqlite3_errmsg(db));
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

/* Set once any connection was opened in this process: from then on only
 * SQLite may open or close the database files (closing any descriptor of
 * a file drops every POSIX lock the process holds on it). */
static atomic_bool opened_any;

static int db_open(const char *path, bool create, struct gw_db **out, struct dw_diag *diag)
{
	*out = NULL;
	atomic_store(&opened_any, true);
	struct gw_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
	            (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
		dw_diag_set(diag, DW_EIO, "cannot open database %s: %s", path,
		            db->db != NULL ? sqlite3_errmsg(db->db) : "out of memory");
		db_free(db);
		return DW_EIO;
	}
	int on = 0;
	sqlite3_extended_result_codes(db->db, 1);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &on);
	sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
	int ret = exec_sql(db->db,
	                   "PRAGMA journal_mode = WAL;"
	                   "PRAGMA synchronous = FULL;"
	                   "PRAGMA foreign_keys = ON;"
	                   "PRAGMA secure_delete = ON;"
	                   "PRAGMA trusted_schema = OFF;", diag);
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
		return dw_diag_set(diag, DW_EIO, "database %s: %s", path, sqlite3_errmsg(db->db));
	if (ver > GW_SCHEMA_VERSION)
		return dw_diag_set(diag, DW_EIO,
		                   "database %s has schema version %d, newer than this program's %d",
		                   path, ver, GW_SCHEMA_VERSION);
	for (int v = ver; v < GW_SCHEMA_VERSION; v++) {
		int ret = exec_sql(db->db, "BEGIN IMMEDIATE", diag);
		if (ret != DW_OK)
			return ret;
		/* Re-read inside the write lock: another process may have migrated. */
		int cur = 0;
		if (pragma_int(db->db, "PRAGMA user_version", &cur) != DW_OK) {
			exec_sql(db->db, "ROLLBACK", NULL);
			return dw_diag_set(diag, DW_EIO, "database %s: %s", path, sqlite3_errmsg(db->db));
		}
		if (cur > v) {
			exec_sql(db->db, "COMMIT", NULL);
			v = cur - 1;
			continue;
		}
		char setv[64];
		snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", v + 1);
		if ((ret = exec_sql(db->db, migrations[v], diag)) != DW_OK ||
		    (ret = exec_sql(db->db, setv, diag)) != DW_OK ||
		    (ret = exec_sql(db->db, "COMMIT", diag)) != DW_OK) {
			exec_sql(db->db, "ROLLBACK", NULL);
			return ret;
		}
	}
	return DW_OK;
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

int gw_store_open(const char *path, bool create, unsigned pool, struct gw_store **out,
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
	st->pool = pool < 1 ? 1 : pool > POOL_MAX ? POOL_MAX : pool;
	/* The file holds token hashes and the audit log: owner only. */
	mode_t old = umask(077);
	struct gw_db *db = NULL;
	int ret = db_open(st->path, create, &db, diag);
	umask(old);
	if (ret == DW_OK)
		ret = migrate(db, path, diag);
	if (ret != DW_OK) {
		db_free(db);
		gw_store_close(st);
		return ret;
	}
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
		struct dw_diag d;
		if (db_open(st->path, false, &db, &d) != DW_OK)
			return NULL;
	}
	db->next = NULL;
	return db;
}

void gw_store_put(struct gw_store *st, struct gw_db *db)
{
	if (db == NULL)
		return;
	if (!sqlite3_get_autocommit(db->db))
		exec_sql(db->db, "ROLLBACK", NULL);   /* a caller forgot: never keep a lock */
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

const char *gw_db_errmsg(struct gw_db *db)
{
	return sqlite3_errmsg(db->db);
}

static sqlite3_stmt *stmt(struct gw_db *db, enum stmt_id id)
{
	if (db->stmt[id] == NULL &&
	    sqlite3_prepare_v3(db->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	                       &db->stmt[id], NULL) != SQLITE_OK)
		return NULL;
	sqlite3_reset(db->stmt[id]);
	sqlite3_clear_bindings(db->stmt[id]);
	return db->stmt[id];
}

/* Runs a statement that returns no rows. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? DW_OK : DW_EIO;
}

static int simple(struct gw_db *db, enum stmt_id id)
{
	sqlite3_stmt *s = stmt(db, id);
	return s == NULL ? DW_EIO : step_done(s);
}

int gw_db_begin(struct gw_db *db)
{
	return simple(db, S_BEGIN);
}

int gw_db_commit(struct gw_db *db)
{
	int ret = simple(db, S_COMMIT);
	if (ret != DW_OK)
		gw_db_rollback(db);
	return ret;
}

void gw_db_rollback(struct gw_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		(void)simple(db, S_ROLLBACK);
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

/* ---- binding and reading helpers ---------------------------------------- */

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

static void read_rec(sqlite3_stmt *s, struct gw_rec *r)
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
}

/* One-row lookup: DW_OK with the row current, DW_ENOTFOUND, or DW_EIO. */
static int step_row(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return DW_OK;
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? DW_ENOTFOUND : DW_EIO;
}

/* ---- hosts -------------------------------------------------------------- */

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
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return DW_EINVAL;
	if (rc != SQLITE_DONE)
		return DW_EIO;
	h->id = sqlite3_last_insert_rowid(db->db);
	return DW_OK;
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
	int ret = step_row(s);
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
	return step_done(s);
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
		ret = DW_EIO;
	sqlite3_reset(s);
	for (size_t i = 0; ret == DW_OK && i < n; i++)
		ret = cb(arg, &v[i]);
	free(v);
	return ret;
}

/* ---- tokens ------------------------------------------------------------- */

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
	return step_done(s);
}

int gw_db_token_revoke_all(struct gw_db *db, int64_t host_id)
{
	sqlite3_stmt *s = stmt(db, S_TOKEN_REVOKE);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	return step_done(s);
}

int gw_db_token_lookup(struct gw_db *db, const char *id, int64_t *host_id,
                       uint8_t hash[GW_TOKEN_HASH_LEN])
{
	sqlite3_stmt *s = stmt(db, S_TOKEN_LOOKUP);
	if (s == NULL)
		return DW_EIO;
	bind_text(s, 1, id);
	int ret = step_row(s);
	if (ret != DW_OK)
		return ret;
	*host_id = sqlite3_column_int64(s, 0);
	if (sqlite3_column_bytes(s, 1) == GW_TOKEN_HASH_LEN)
		memcpy(hash, sqlite3_column_blob(s, 1), GW_TOKEN_HASH_LEN);
	else
		ret = DW_EIO;
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
	int ret = step_row(s);
	if (ret == DW_ENOTFOUND)
		return DW_OK;
	if (ret != DW_OK)
		return ret;
	col_copy(s, 0, id, GW_TOKEN_ID_LEN + 1);
	sqlite3_reset(s);
	return DW_OK;
}

/* ---- desired records ---------------------------------------------------- */

int gw_db_addr_get(struct gw_db *db, int64_t host_id, enum gw_rtype rt, struct gw_rec *out)
{
	sqlite3_stmt *s = stmt(db, S_ADDR_GET);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	bind_text(s, 2, gw_rtype_str(rt));
	int ret = step_row(s);
	if (ret == DW_OK) {
		read_rec(s, out);
		sqlite3_reset(s);
	}
	return ret;
}

int gw_db_addr_set(struct gw_db *db, int64_t host_id, enum gw_rtype rt, const char *value,
                   bool *changed)
{
	struct gw_rec cur;
	*changed = false;
	int ret = gw_db_addr_get(db, host_id, rt, &cur);
	if (ret == DW_OK && strcmp(cur.value, value) == 0)
		return DW_OK;
	if (ret != DW_OK && ret != DW_ENOTFOUND)
		return ret;
	sqlite3_stmt *s = stmt(db, S_ADDR_SET);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	bind_text(s, 2, gw_rtype_str(rt));
	bind_text(s, 3, value);
	sqlite3_bind_int64(s, 4, now_s());
	ret = step_done(s);
	*changed = ret == DW_OK;
	return ret;
}

int gw_db_txt_set(struct gw_db *db, int64_t host_id, const char *value, bool present,
                  unsigned keep_max, bool *changed)
{
	*changed = false;
	sqlite3_stmt *s = stmt(db, S_TXT_GET);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	bind_text(s, 2, value);
	struct gw_rec cur;
	int ret = step_row(s);
	if (ret == DW_OK) {
		read_rec(s, &cur);
		sqlite3_reset(s);
	} else if (ret != DW_ENOTFOUND) {
		return ret;
	}
	int64_t now = now_s();
	if (ret == DW_ENOTFOUND) {
		if (!present)
			return DW_OK;   /* never added: nothing to remove */
		s = stmt(db, S_TXT_INSERT);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int64(s, 1, host_id);
		bind_text(s, 2, value);
		sqlite3_bind_int(s, 3, 1);
		sqlite3_bind_int64(s, 4, now);
		ret = step_done(s);
	} else {
		if (cur.present == present)
			return DW_OK;
		s = stmt(db, S_TXT_UPDATE);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int(s, 1, present ? 1 : 0);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, cur.id);
		ret = step_done(s);
	}
	if (ret != DW_OK)
		return ret;
	*changed = true;
	if (present && keep_max > 0) {
		s = stmt(db, S_TXT_TRIM);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int64(s, 1, host_id);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, keep_max);
		ret = step_done(s);
	}
	return ret;
}

static int rec_rows(struct gw_db *db, enum stmt_id id, int64_t host_id, struct gw_rec *out,
                    size_t cap, size_t *n)
{
	*n = 0;
	sqlite3_stmt *s = stmt(db, id);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, host_id);
	int rc = SQLITE_DONE;
	while (*n < cap && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_rec(s, &out[(*n)++]);
	if (*n < cap && rc != SQLITE_DONE) {
		sqlite3_reset(s);
		return DW_EIO;
	}
	sqlite3_reset(s);
	return DW_OK;
}

int gw_db_pending(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap, size_t *n)
{
	return rec_rows(db, S_PENDING, host_id, out, cap, n);
}

int gw_db_records(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap, size_t *n)
{
	return rec_rows(db, S_RECORDS, host_id, out, cap, n);
}

int gw_db_pending_hosts(struct gw_db *db, int (*cb)(void *arg, int64_t host_id, int64_t next),
                        void *arg)
{
	sqlite3_stmt *s = stmt(db, S_PENDING_HOSTS);
	if (s == NULL)
		return DW_EIO;
	int ret = DW_OK;
	while (ret == DW_OK && sqlite3_step(s) == SQLITE_ROW)
		ret = cb(arg, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
	sqlite3_reset(s);
	return ret;
}

int gw_db_pending_count(struct gw_db *db, int64_t *n)
{
	sqlite3_stmt *s = stmt(db, S_PENDING_COUNT);
	if (s == NULL)
		return DW_EIO;
	int ret = step_row(s);
	if (ret == DW_OK) {
		*n = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return ret;
}

int gw_db_mark(struct gw_db *db, const struct gw_rec *r, bool ok, int64_t next_retry,
               const char *error)
{
	sqlite3_stmt *s;
	if (ok) {
		s = stmt(db, r->rtype == GW_RT_TXT && !r->present ? S_MARK_DEL : S_MARK_OK);
		if (s == NULL)
			return DW_EIO;
		sqlite3_bind_int64(s, 1, r->id);
		sqlite3_bind_int64(s, 2, r->seq);
		return step_done(s);
	}
	s = stmt(db, S_MARK_FAIL);
	if (s == NULL)
		return DW_EIO;
	sqlite3_bind_int64(s, 1, next_retry);
	bind_text(s, 2, error != NULL ? error : "");
	sqlite3_bind_int64(s, 3, r->id);
	sqlite3_bind_int64(s, 4, r->seq);
	return step_done(s);
}

/* ---- audit -------------------------------------------------------------- */

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
	return step_done(s);
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
	int ret = DW_OK;
	while (ret == DW_OK && sqlite3_step(s) == SQLITE_ROW) {
		struct gw_audit a = {
			.time = sqlite3_column_int64(s, 0),
			.host = (const char *)sqlite3_column_text(s, 1),
			.token_id = (const char *)sqlite3_column_text(s, 2),
			.action = (const char *)sqlite3_column_text(s, 3),
			.old_value = (const char *)sqlite3_column_text(s, 4),
			.new_value = (const char *)sqlite3_column_text(s, 5),
			.source = (const char *)sqlite3_column_text(s, 6),
			.result = (const char *)sqlite3_column_text(s, 7),
		};
		ret = cb(arg, &a);
	}
	sqlite3_reset(s);
	return ret;
}
