/* The gateway's store: hosts, token hashes, desired records (the upstream
 * queue), the leases that share that queue between instances, lockouts,
 * the instances serving, and the audit log.
 *
 * Two backends behind one interface (gw_store_int.h), chosen by the
 * `database` setting: SQLite, embedded (an absolute path; the default), and
 * PostgreSQL (a postgresql:// URL), for several gateway instances serving
 * at once from one database.  Both have the same tables, the same numbered
 * migrations (schema version below; a newer database is refused) and the
 * same meaning for every function here: the decisions are made in
 * gw_store.c, once, and only the SQL text and the engine's calls differ.
 * Every statement is prepared with bound parameters.  No other file of the
 * gateway calls SQLite or libpq.
 *
 * SQLite: WAL mode with foreign keys, secure_delete, trusted_schema off,
 * SQLITE_DBCONFIG_DEFENSIVE and a busy timeout; synchronous=FULL, so a
 * committed desired value survives a power cut before it is sent upstream.
 * PostgreSQL: libpq, the password only from a file (never in the URL),
 * TLS with sslmode=verify-full required for any server that is not on
 * loopback or a Unix socket; a lost server is reconnected with backoff.
 *
 * A gw_store is a small pool of connections, shared by threads: take one
 * with gw_store_get(), give it back with gw_store_put().  A connection is
 * used by one thread at a time.  Writes to one host are serialised (SQLite:
 * one writer at a time; PostgreSQL: the host's row is locked by the first
 * read of its records in a transaction).
 *
 * Failures.  Every database error of a connection is classified (disk full,
 * read-only, corrupt, I/O, busy, server unavailable, other), counted, and
 * logged at error level once per episode with what to do; the next failures
 * of the same kind go to debug.  A committed write ends an episode (a
 * corrupt database stays faulty until restarted).  Functions then return
 * DW_EIO: callers answer "store unavailable", never "upstream failed". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gateway/gw_token.h"
#include "lib/addr.h"
#include "lib/error.h"

#define GW_SCHEMA_VERSION 3
#define GW_FQDN_MAX 254
#define GW_VALUE_MAX 256
#define GW_ALLOW_MAX 512
#define GW_PROVIDER_MAX 64

struct gw_store;
struct gw_db;

struct gw_host {
	int64_t id;
	char fqdn[GW_FQDN_MAX];          /* normalised: lower case, no trailing dot */
	char provider[GW_PROVIDER_MAX];  /* [provider NAME] of the gateway file */
	bool acme;                       /* may set TXT at _acme-challenge.FQDN */
	char allow[GW_ALLOW_MAX];        /* comma-separated CIDRs, "" = anywhere */
	int64_t expires;                 /* unix time, 0 = never */
	char iid[DW_IP_STRLEN];          /* IPv6 interface id ("::1234"), "" = none */
	int64_t created;
};

/* The record sets of a host: its A, its AAAA, and the TXT values at its
 * _acme-challenge name.  Retries back off per set. */
enum gw_rtype { GW_RT_A = 0, GW_RT_AAAA = 1, GW_RT_TXT = 2 };
#define GW_RT_COUNT 3
const char *gw_rtype_str(enum gw_rtype t);

/* One desired record: an address of a family, or one TXT value that should
 * be present or absent at _acme-challenge.FQDN.  A row is pending (queued
 * for the upstream) until applied, or until the provider refused it for
 * good: then it is failed and nothing retries it in the background. */
struct gw_rec {
	int64_t id, host_id;
	enum gw_rtype rtype;
	char value[GW_VALUE_MAX];
	bool present;
	bool applied;
	bool failed;                      /* refused for good by the provider */
	int64_t attempts;
	int64_t next_retry;               /* unix time: next attempt (failed: when
	                                   * the host's same request tries again) */
	char last_error[256];
	int64_t seq;                      /* bumped at every change of the row */
	int64_t updated;
};

struct gw_audit {
	int64_t time;
	const char *host;                 /* FQDN, never NULL */
	const char *token_id;             /* may be NULL (admin actions) */
	const char *action;               /* "host-add", "update-A", "txt-add", ... */
	const char *old_value, *new_value;/* may be NULL */
	const char *source;               /* client address or "cli" */
	const char *result;               /* "good", "nochg", "911", "!yours", ... */
	int64_t count;                    /* requests this row stands for (0 = 1):
	                                   * refusals not written one by one */
};

/* ---- the store ------------------------------------------------------------- */

enum gw_store_flags {
	GW_STORE_CREATE = 0x1,   /* SQLite: create the file when missing */
	GW_STORE_SERVE = 0x2,    /* for serving: the engine's quick check and a
	                          * write probe first; a corrupt, read-only or
	                          * unwritable database is refused with what to do */
};

struct gw_store_cfg {
	const char *database;    /* an absolute path (SQLite) or a postgresql:// URL */
	const char *password;    /* PostgreSQL: from database-password-file; NULL = none */
	unsigned pool;           /* idle connections kept (1..1024) */
	unsigned flags;          /* gw_store_flags */
};

/* Opens the database of cfg, checks it and brings its schema forward.
 * SQLite: its directory may be reached through symbolic links; the file
 * itself is never followed.  PostgreSQL: the first connection must
 * succeed (a server down at start is an error; later outages are
 * survived). */
int gw_store_open_cfg(const struct gw_store_cfg *cfg, struct gw_store **out,
                      struct dw_diag *diag);
/* The same without a password. */
int gw_store_open(const char *database, unsigned flags, unsigned pool, struct gw_store **out,
                  struct dw_diag *diag);
void gw_store_close(struct gw_store *st);
/* "sqlite" or "postgresql". */
const char *gw_store_backend(const struct gw_store *st);

/* Checks the `database` setting without opening anything: 0, or DW_ECONFIG
 * with diag (not a path or URL, a password in the URL, TLS without
 * verification to a remote server, a backend not built in). */
int gw_store_check_setting(const char *database, struct dw_diag *diag);
/* Whether the setting names a file (SQLite). */
bool gw_store_is_file(const char *database);

/* SQLite: makes path (created empty when missing, mode 0600) and its -wal
 * and -shm companions (those that exist) belong to uid:gid, by path,
 * without following symbolic links.  For a process started as root whose
 * database is another user's: call it before any gw_store_open() in the
 * process.  Afterwards it refuses (DW_EINVAL): SQLite's POSIX locks are per
 * process and inode, and closing any other descriptor of a database file
 * would silently drop them (sqlite.org, "How To Corrupt An SQLite Database
 * File", 2.2).  Files SQLite creates later as root get the database file's
 * owner from SQLite itself.  0, DW_EINVAL or DW_EIO with diag.  Other
 * backends: 0, nothing done. */
int gw_store_prepare(const char *database, uid_t uid, gid_t gid, struct dw_diag *diag);

/* A connection from the pool (opened on demand), or NULL on failure (a
 * connection that would be read-only counts as a failure).  While the
 * server cannot be reached, new connections are tried with backoff (0.1 s
 * doubling to 5 s), by one thread at a time; the others get NULL at once. */
struct gw_db *gw_store_get(struct gw_store *st);
/* Gives db back (NULL is fine); an open transaction is rolled back, a lost
 * connection closed. */
void gw_store_put(struct gw_store *st, struct gw_db *db);

/* Failure kinds (see the top of this file). */
enum gw_fault {
	GW_FAULT_NONE = 0, GW_FAULT_FULL, GW_FAULT_READONLY, GW_FAULT_CORRUPT, GW_FAULT_IO,
	GW_FAULT_BUSY, GW_FAULT_OTHER, GW_FAULT_UNAVAILABLE, GW_FAULT_COUNT
};
/* "none", "disk_full", "read_only", "corrupt", "io", "busy", "other",
 * "unavailable" (the database server cannot be reached). */
const char *gw_fault_name(enum gw_fault f);

struct gw_store_stats {
	enum gw_fault fault;              /* current episode, NONE when healthy */
	uint64_t errors[GW_FAULT_COUNT];  /* failures counted since start */
};
void gw_store_stats(struct gw_store *st, struct gw_store_stats *out);

/* Whether the store can take writes now, for GET /health: false while a
 * failure episode lasts, and (SQLite) while the database's filesystem is
 * read-only or has less than 1 MiB left for the gateway's user (statvfs,
 * no write).  During an episode (not for a corrupt database) one small
 * write transaction at most every 2 s probes whether it has ended (for
 * PostgreSQL: whether the server is back).  reason: a short phrase ("disk
 * full", ...) when false. */
bool gw_store_healthy(struct gw_store *st, char *reason, size_t cap);

/* Retention: deletes audit rows older than max_age_s and the oldest beyond
 * max_rows, in transactions of at most 5,000 rows so writers wait little;
 * also lockouts that ended and instances not seen for a day.  *deleted
 * (may be NULL) gets the count of audit rows.  0 or DW_EIO. */
int gw_store_prune(struct gw_store *st, int64_t max_age_s, int64_t max_rows, int64_t *deleted);

/* `migrate`: copies every host, token (hashes: tokens stay valid), desired
 * record and audit row of from into to, keeping ids, in one transaction of
 * to, which must hold no host and no audit row.  Works between any two
 * backends.  counts[4] gets hosts, tokens, records, audit rows copied.  0,
 * DW_EINVAL (to is not empty) or DW_EIO, with diag. */
int gw_store_copy(struct gw_store *from, struct gw_store *to, int64_t counts[4],
                  struct dw_diag *diag);

/* ---- transactions and checks ----------------------------------------------- */

/* Transactions (SQLite: BEGIN IMMEDIATE so writers queue at the start). */
int gw_db_begin(struct gw_db *db);
/* A transaction whose loss in a crash of the machine is harmless (a
 * lease's claim: what a crashed machine's processes held, nobody holds).
 * SQLite, where every instance is on the machine that crashes, commits it
 * without waiting for the disk (synchronous=NORMAL for it: one fsync less
 * per upstream round); PostgreSQL, whose instances outlive a server's
 * crash, commits it as any other. */
int gw_db_begin_volatile(struct gw_db *db);
int gw_db_commit(struct gw_db *db);
void gw_db_rollback(struct gw_db *db);
/* Message of the connection's last error. */
const char *gw_db_errmsg(struct gw_db *db);

/* The schema version of the open database. */
int gw_db_schema_version(struct gw_db *db, int *out);
/* The engine's checks (SQLite: integrity_check and foreign_key_check);
 * 0 when clean. */
int gw_db_check(struct gw_db *db, struct dw_diag *diag);
/* Test hook: the engine's query plan of one of the hot statements ("auth",
 * "addr", "pending", "due") into out; DW_EUNSUPP without one. */
int gw_db_explain(struct gw_db *db, const char *which, char *out, size_t cap);

/* ---- hosts and tokens ------------------------------------------------------ */

/* Hosts.  Lookups return DW_ENOTFOUND when absent.  host_list pages
 * through the hosts by name (any number of them in little memory); the
 * callback may run other statements on db. */
int gw_db_host_add(struct gw_db *db, struct gw_host *h);           /* sets h->id; DW_EINVAL: exists */
int gw_db_host_get(struct gw_db *db, const char *fqdn, struct gw_host *out);
int gw_db_host_by_id(struct gw_db *db, int64_t id, struct gw_host *out);
int gw_db_host_remove(struct gw_db *db, int64_t id);
/* A host named below fqdn (NAME.fqdn) into found, or DW_ENOTFOUND: one
 * statement over the host names (not an index lookup: it reads every name
 * once, in the engine). */
int gw_db_host_below(struct gw_db *db, const char *fqdn, char found[GW_FQDN_MAX]);
int gw_db_host_list(struct gw_db *db, int (*cb)(void *arg, const struct gw_host *h),
                    void *arg);

/* Tokens.  scope is "host" (everything the host may do) for now. */
int gw_db_token_add(struct gw_db *db, int64_t host_id, const struct gw_token *t,
                    const char *scope);
int gw_db_token_revoke_all(struct gw_db *db, int64_t host_id);
int gw_db_token_lookup(struct gw_db *db, const char *id, int64_t *host_id,
                       uint8_t hash[GW_TOKEN_HASH_LEN]);
/* Id of the host's newest token into id ("" when none); 0 or error. */
int gw_db_token_of_host(struct gw_db *db, int64_t host_id, char id[GW_TOKEN_ID_LEN + 1]);

/* ---- authentication and lockout (shared by every instance) ----------------- */

/* What one request's credentials find, in one query: the token (by id;
 * "" finds none), its host, and whether the request's source is locked
 * out (key: gw_rate_key_ip's 16 bytes). */
struct gw_auth {
	bool token_found;
	int64_t host_id;
	uint8_t hash[GW_TOKEN_HASH_LEN];
	bool host_found;
	struct gw_host host;
	int64_t locked_until;             /* unix time; 0 = not locked */
};
int gw_db_auth(struct gw_db *db, const char *token_id, const uint8_t key[16],
               struct gw_auth *out);
/* Counts a bad credential from key at time now, atomically across
 * instances: failures within window_s of the first one; reaching max locks
 * the key for window_s (and starts the count again).  *locked_until gets
 * the end of the lockout, or 0.  Not in a transaction of the caller's. */
int gw_db_lockout_fail(struct gw_db *db, const uint8_t key[16], int64_t now, int64_t window_s,
                       unsigned max, int64_t *locked_until);

/* ---- instances and leases ----------------------------------------------------- */

/* Instance id's heartbeat (name: for operators, "host:pid"), and the
 * number of instances seen since live_after (itself included). */
int gw_db_instance_beat(struct gw_db *db, const char *id, const char *name, int64_t now,
                        int64_t live_after, int64_t *live);
int gw_db_instance_leave(struct gw_db *db, const char *id);
/* Instances that last beat before seen_before and that gone(name) says
 * have ended (a process on this machine that no longer exists): their
 * leases are freed and their rows removed, so that a restart after a crash
 * resumes their hosts' upstream work at once instead of after lease-time.
 * *reaped counts them. */
int gw_db_instance_reap(struct gw_db *db, int64_t seen_before,
                        bool (*gone)(const char *name), int64_t *reaped);

/* A host's lease on its upstream work: who sends its records now.  Claim
 * (in the caller's transaction): taken when the lease is free, expired
 * (expires <= now) or already owner's; the row is taken with a row lock
 * that other claimers skip (PostgreSQL: FOR UPDATE SKIP LOCKED).  When not
 * taken, *held_until says until when another instance holds it.  Renew:
 * *ok false when the lease is no longer owner's.  Release: lets the next
 * claim take it at once. */
int gw_db_lease_claim(struct gw_db *db, int64_t host_id, const char *owner, int64_t expires,
                      int64_t now, bool *taken, int64_t *held_until);
int gw_db_lease_renew(struct gw_db *db, int64_t host_id, const char *owner, int64_t expires,
                      bool *ok);
int gw_db_lease_release(struct gw_db *db, int64_t host_id, const char *owner);

/* ---- desired records ------------------------------------------------------- */

/* What a request's desired value is, once written (gw_db_addr_set,
 * gw_db_txt_set). */
enum gw_want {
	GW_WANT_SAME = 0,    /* already so and applied: nothing to do */
	GW_WANT_CHANGED,     /* written (a new value, or a failed one tried again):
	                      * to be sent; its record set's backoff is cleared */
	GW_WANT_PENDING,     /* the same value is queued, retrying on its backoff */
	GW_WANT_REFUSED,     /* the provider refused the same value for good and its
	                      * cool-down (next_retry) has not ended: not re-sent */
	GW_WANT_DROPPED,     /* TXT removal of a value never published: the row was
	                      * deleted, nothing to send */
};

/* Desired address of a family.  DW_ENOTFOUND when none was ever set. */
int gw_db_addr_get(struct gw_db *db, int64_t host_id, enum gw_rtype rt, struct gw_rec *out);
/* Sets the desired address (in the caller's transaction).  A new value
 * resets the row (pending, no attempts, no failure).  The same value:
 * SAME when applied, PENDING while queued, REFUSED after a refusal for good
 * until next_retry, then CHANGED (tried once more). */
int gw_db_addr_set(struct gw_db *db, int64_t host_id, enum gw_rtype rt, const char *value,
                   enum gw_want *out);
/* The TXT row of value (present or being removed); DW_ENOTFOUND when none. */
int gw_db_txt_get(struct gw_db *db, int64_t host_id, const char *value, struct gw_rec *out);
/* Wants TXT value present (or absent), in the caller's transaction.
 * Adding: a new value (CHANGED) clears the backoff of the host's other
 * pending TXT rows, and at most keep_max present values are kept (the
 * oldest others are removed; those never published are deleted at once).
 * Removing a value that was never published (never sent, or refused for
 * good) deletes its row: DROPPED.  Removing an absent value: SAME. */
int gw_db_txt_set(struct gw_db *db, int64_t host_id, const char *value, bool present,
                  unsigned keep_max, enum gw_want *out);
/* Pending rows of a host due at time now (next_retry <= now), oldest
 * first, at most cap (n = cap: there may be more). */
int gw_db_pending(struct gw_db *db, int64_t host_id, int64_t now, struct gw_rec *out,
                  size_t cap, size_t *n);
/* Whether the host has pending rows (*any) and the earliest next_retry
 * among them. */
int gw_db_next_due(struct gw_db *db, int64_t host_id, bool *any, int64_t *next);
/* Pending rows due by horizon (unix time), earliest first, at most limit:
 * cb gets each row's host (a host may come more than once), its next_retry
 * and when the host's lease ends (0: free).  Served by an index on the
 * pending rows alone, whatever the number of hosts. */
int gw_db_due_hosts(struct gw_db *db, int64_t horizon, unsigned limit,
                    int (*cb)(void *arg, int64_t host_id, int64_t next, int64_t lease),
                    void *arg);
/* Pending rows (the retry queue) and failed rows, over all hosts. */
int gw_db_pending_count(struct gw_db *db, int64_t *n);
int gw_db_failed_count(struct gw_db *db, int64_t *n);

/* The result of sending row r (as read by gw_db_pending), unless the row
 * changed meanwhile (seq differs: then it stays as it is for the next
 * round).  OK: applied (an absent TXT row is deleted).  RETRY: attempts+1,
 * next_retry, error.  FAILED: refused for good: attempts+1, failed, error;
 * next_retry is when the same request from the host may try again. */
enum gw_mark { GW_MARK_OK = 0, GW_MARK_RETRY, GW_MARK_FAILED };
int gw_db_mark(struct gw_db *db, const struct gw_rec *r, enum gw_mark m, int64_t next_retry,
               const char *error);
/* All rows of a host (for "host list"). */
int gw_db_records(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap,
                  size_t *n);

/* ---- audit log ------------------------------------------------------------- */

int gw_db_audit(struct gw_db *db, const struct gw_audit *a);
/* Newest first; host NULL = all; limit 1..100000. */
int gw_db_audit_list(struct gw_db *db, const char *host, unsigned limit,
                     int (*cb)(void *arg, const struct gw_audit *a), void *arg);
int gw_db_audit_count(struct gw_db *db, int64_t *n);
