/* The store's backend interface, for gw_store.c and the backends only.
 *
 * Like curl's vtls: one `const struct gw_store_ops` per database engine
 * (gw_store_sqlite.c, gw_store_pg.c), listed in gw_store.c's table and
 * chosen by the `database` setting.  gw_store.c owns everything that does
 * not depend on the engine: the connection pool, failure episodes and
 * health, and what each operation means (the decisions of gw_db_addr_set,
 * the TXT trimming, leases, lockout, retention, the copy of `migrate`).  It
 * reaches a database only through numbered statements (enum gw_q): each
 * backend has the SQL text of every statement in its own dialect, with the
 * same parameters in the same order and the same result columns, and runs
 * them with ops->exec.  The schemas are the same tables, columns and
 * indexes, brought forward by the same numbered migrations.
 *
 * A backend allocates its store and connection structures with the
 * generic part as their first member (struct gw_store, struct gw_db) and
 * finds its own with gw_container_of. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gw_store.h"

#define gw_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Statements.  Parameters are numbered from 1 in the order given in the
 * comment; "cols" names the result columns (REC = the record columns of
 * gw_store.c's read_rec, HOST = its read_host).  Never renumbered across
 * backends: each backend's table is indexed by these. */
enum gw_q {
	Q_BEGIN,            /* a write transaction (SQLite: BEGIN IMMEDIATE) */
	Q_BEGIN_VOLATILE,   /* one whose loss in a crash of the machine is harmless */
	Q_COMMIT,
	Q_ROLLBACK,
	Q_LOCK_HOST,        /* (host_id): serialises a host's writers; NULL text = no-op */
	Q_HOST_ADD,         /* (fqdn, provider, acme, allow, expires, iid, created) -> id */
	Q_HOST_GET,         /* (fqdn) -> HOST */
	Q_HOST_BY_ID,       /* (id) -> HOST */
	Q_HOST_REMOVE,      /* (id) */
	Q_HOST_PAGE,        /* (after_fqdn, limit) -> HOST, by fqdn */
	Q_HOST_BELOW,       /* (LIKE pattern, escape '\\') -> fqdn of one match */
	Q_TOKEN_ADD,        /* (id, host_id, hash, scope, created) */
	Q_TOKEN_REVOKE,     /* (host_id) */
	Q_TOKEN_LOOKUP,     /* (id) -> host_id, hash */
	Q_TOKEN_OF_HOST,    /* (host_id) -> id, newest */
	Q_AUTH,             /* (token_id, source_key) -> host_id, hash, HOST..., locked_until:
	                     * always one row (NULLs for what is absent) */
	Q_ADDR_GET,         /* (host_id, rtype) -> REC */
	Q_ADDR_SET,         /* (host_id, rtype, value, now): upsert of a new value */
	Q_REARM,            /* (id, now) */
	Q_TXT_GET,          /* (host_id, value) -> REC */
	Q_TXT_INSERT,       /* (host_id, value, now) */
	Q_TXT_UPDATE,       /* (present, now, id) */
	Q_TXT_DELETE,       /* (id) */
	Q_TXT_CLEAR_BACKOFF,/* (host_id) */
	Q_TXT_TRIM_LIST,    /* (host_id, keep) -> id, applied, uncertain (newest first, past keep) */
	Q_PENDING,          /* (host_id, now, limit) -> REC */
	Q_NEXT_DUE,         /* (host_id) -> count, min(next_retry) */
	Q_DUE_HOSTS,        /* (horizon, limit) -> host_id, next_retry, lease expires */
	Q_PENDING_COUNT,    /* () -> count */
	Q_FAILED_COUNT,     /* () -> count */
	Q_MARK_OK,          /* (id, seq) */
	Q_MARK_DEL,         /* (id, seq) */
	Q_MARK_RETRY,       /* (next_retry, error, id, seq) */
	Q_MARK_FAILED,      /* (next_retry, error, id, seq) */
	Q_RECORDS,          /* (host_id) -> REC */
	Q_LEASE_INIT,       /* (host_id): the host's lease row, when missing */
	Q_LEASE_INIT_ALL,   /* (): a lease row for every host without one */
	Q_LEASE_CLAIM,      /* (host_id, owner, expires, now) -> host_id when taken */
	Q_LEASE_RENEW,      /* (host_id, owner, expires) */
	Q_LEASE_RELEASE,    /* (host_id, owner) */
	Q_LEASE_GET,        /* (host_id) -> owner, expires */
	Q_LOCKOUT_FAIL,     /* (key, now, window) -> failures */
	Q_LOCKOUT_LOCK,     /* (key, until) */
	Q_LOCKOUT_PRUNE,    /* (now, since_before) */
	Q_INSTANCE_BEAT,    /* (id, name, now) */
	Q_INSTANCE_COUNT,   /* (seen_after) -> count */
	Q_INSTANCE_LEAVE,   /* (id) */
	Q_INSTANCE_PRUNE,   /* (seen_before) */
	Q_INSTANCE_STALE,   /* (seen_before) -> id, name */
	Q_LEASE_DROP_OWNER, /* (owner): every lease it holds, free */
	Q_AUDIT,            /* (time, host, token_id, action, old, new, source, result, count) */
	Q_AUDIT_ALL,        /* (limit) -> AUDIT, newest first */
	Q_AUDIT_HOST,       /* (host, limit) -> AUDIT */
	Q_AUDIT_COUNT,      /* () -> count */
	Q_PRUNE_AGE,        /* (before, limit) */
	Q_PRUNE_ROWS,       /* (limit): the oldest rows */
	Q_PROBE,            /* (now): one small write */
	/* The copy of `migrate`: pages by primary key, inserts keeping ids. */
	Q_DUMP_HOSTS,       /* (after_id, limit) -> id, fqdn, provider, acme, allow, expires, iid, created */
	Q_DUMP_TOKENS,      /* (after_id, limit) -> id, host_id, hash, scope, created */
	Q_DUMP_RECORDS,     /* (after_id, limit) -> REC columns */
	Q_DUMP_AUDIT,       /* (after_id, limit) -> id, AUDIT columns */
	Q_LOAD_HOST,        /* the columns of Q_DUMP_HOSTS */
	Q_LOAD_TOKEN,       /* the columns of Q_DUMP_TOKENS */
	Q_LOAD_RECORD,      /* the columns of Q_DUMP_RECORDS */
	Q_LOAD_AUDIT,       /* the columns of Q_DUMP_AUDIT */
	Q_LOAD_FINISH,      /* (): identity counters past the copied ids; NULL text = no-op */
	Q_COUNTS,           /* () -> hosts, tokens, records, audit */
	Q_COUNT
};

/* A parameter or a result column.  TEXT is NUL-terminated (n = its
 * length); BLOB is n bytes.  Pointers in results are valid only during the
 * row callback. */
enum gw_vt { GW_V_NULL = 0, GW_V_INT, GW_V_TEXT, GW_V_BLOB };
struct gw_val {
	enum gw_vt t;
	int64_t i;
	const char *s;
	size_t n;
};
#define GW_COLS_MAX 16

/* Called for each result row; a non-zero return stops the statement and is
 * returned by exec. */
typedef int (*gw_row_cb)(void *arg, const struct gw_val *col, size_t ncol);

/* What a failed connection attempt was. */
struct gw_why {
	enum gw_fault kind;
	char what[320];
};

struct gw_store_ops {
	const char *name;                 /* "sqlite", "postgresql" */
	/* Whether database (the setting's value) is for this backend. */
	bool (*handles)(const char *database);
	/* Checks the setting without touching the database (configuration
	 * time): 0 or DW_ECONFIG with diag. */
	int (*check_setting)(const char *database, struct dw_diag *diag);
	/* Allocates the store (its struct gw_store first, set up with
	 * gw_store_init), opens and checks the first connection, migrates,
	 * and returns it in *first (pooled by the caller). */
	int (*open)(const struct gw_store_cfg *cfg, struct gw_store **out, struct gw_db **first,
	            struct dw_diag *diag);
	/* Frees what open allocated (connections are closed before). */
	void (*close)(struct gw_store *st);
	/* A new connection; on failure *why says what happened. */
	int (*connect)(struct gw_store *st, struct gw_db **out, struct gw_why *why);
	void (*disconnect)(struct gw_db *db);
	/* Runs statement q with args; rows go to cb (may be NULL);
	 * *changes (may be NULL) gets the rows written.  0, the callback's
	 * non-zero return, DW_EINVAL for a constraint violation (the caller's
	 * mistake, not counted as a failure), or DW_EIO after reporting the
	 * failure with gw_store_fault (a lost connection also sets
	 * db->broken). */
	int (*exec)(struct gw_db *db, enum gw_q q, const struct gw_val *args, size_t nargs,
	            gw_row_cb cb, void *arg, int64_t *changes);
	/* Whether a transaction is open on the connection. */
	bool (*in_tx)(struct gw_db *db);
	const char *(*errmsg)(struct gw_db *db);
	int (*schema_version)(struct gw_db *db, int *out);
	/* The engine's own consistency checks; 0 when clean. */
	int (*check)(struct gw_db *db, struct dw_diag *diag);
	/* The message for a failure of kind f (what to do), into out. */
	void (*advice)(const struct gw_store *st, enum gw_fault f, const char *what, char *out,
	               size_t cap);
	/* May be NULL.  Whether the store has room for writes without writing
	 * (free space, a read-only filesystem); false with reason. */
	bool (*room)(struct gw_store *st, char *reason, size_t cap);
	/* May be NULL (nothing to do): see gw_store_prepare. */
	int (*prepare)(const char *database, uid_t uid, gid_t gid, struct dw_diag *diag);
	/* The engine's plan for statement q (tests): one line per step into
	 * out.  May be NULL. */
	int (*explain)(struct gw_db *db, enum gw_q q, char *out, size_t cap);
};

/* The generic part of a store. */
struct gw_store {
	const struct gw_store_ops *ops;
	char desc[256];             /* for messages: the path, or host and database */
	pthread_mutex_t lock;       /* the pool and the reconnection backoff */
	struct gw_db *idle;
	unsigned nidle, pool;
	atomic_uint generation;     /* bumped when the server is lost: older
	                             * connections are not pooled again */
	int64_t connect_after_ms;   /* reconnection backoff (monotonic) */
	unsigned connect_failures;
	bool reconnecting;          /* after a failure, one thread tries at a time */
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

/* The generic part of a connection. */
struct gw_db {
	struct gw_store *st;
	struct gw_db *next;
	unsigned generation;
	bool broken;                /* lost: closed instead of pooled */
	int64_t tx_changes;         /* rows written in the open transaction */
	int64_t locked_host;        /* the host locked in it (Q_LOCK_HOST), 0 none */
};

/* For backends.  gw_store_init sets up the generic part (desc: for
 * messages, never a secret); gw_store_fini undoes it. */
void gw_store_init(struct gw_store *st, const struct gw_store_ops *ops, const char *desc,
                   unsigned pool);
void gw_store_fini(struct gw_store *st);
/* Reports a failure of kind f: counted (when count), logged at error level
 * with ops->advice when it starts an episode (see gw_store.h). */
void gw_store_fault(struct gw_store *st, enum gw_fault f, const char *what, bool count);

/* The backends compiled in (gw_store.c's table). */
extern const struct gw_store_ops gw_store_sqlite;
#if defined(DW_HAVE_POSTGRESQL)
extern const struct gw_store_ops gw_store_pg;
#endif

/* PostgreSQL, pure parts (tests): the fault kind of an SQLSTATE, and the
 * conninfo checks of check_setting. */
enum gw_fault gw_pg_classify(const char *sqlstate);
