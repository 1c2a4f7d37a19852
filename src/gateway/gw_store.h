/* The gateway's SQLite store: hosts, token hashes, desired records (the
 * upstream queue) and the audit log.
 *
 * Opened in WAL mode with foreign keys, secure_delete, trusted_schema off,
 * SQLITE_DBCONFIG_DEFENSIVE and a busy timeout; synchronous=FULL, so a
 * committed desired value survives a power cut before it is sent upstream.
 * The schema carries its version in PRAGMA user_version and is brought
 * forward by the migrations in gw_store.c (never backwards: a newer database
 * is refused).  Every statement is prepared with bound parameters.
 *
 * A gw_store is a small pool of connections, shared by threads: take one
 * with gw_store_get(), give it back with gw_store_put().  A connection is
 * used by one thread at a time; writes on different connections are
 * serialised by SQLite (busy timeout). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gateway/gw_token.h"
#include "lib/addr.h"
#include "lib/error.h"

#define GW_SCHEMA_VERSION 1
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

enum gw_rtype { GW_RT_A = 0, GW_RT_AAAA = 1, GW_RT_TXT = 2 };
const char *gw_rtype_str(enum gw_rtype t);

/* One desired record: an address of a family, or one TXT value that should
 * be present or absent at _acme-challenge.FQDN. */
struct gw_rec {
	int64_t id, host_id;
	enum gw_rtype rtype;
	char value[GW_VALUE_MAX];
	bool present;
	bool applied;
	int64_t attempts;
	int64_t next_retry;               /* unix time */
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
};

/* Opens (creating when create is set) and migrates the database at path.
 * pool: connections kept (1..64). */
int gw_store_open(const char *path, bool create, unsigned pool, struct gw_store **out,
                  struct dw_diag *diag);
void gw_store_close(struct gw_store *st);

/* Makes path (created empty when missing, mode 0600) and its -wal and -shm
 * companions (those that exist) belong to uid:gid, by path, without
 * following symbolic links.  For a process started as root whose database
 * is another user's: call it before any gw_store_open() in the process.
 * Afterwards it refuses (DW_EINVAL): SQLite's POSIX locks are per process
 * and inode, and closing any other descriptor of a database file would
 * silently drop them (sqlite.org, "How To Corrupt An SQLite Database
 * File", 2.2).  Files SQLite creates later as root get the database file's
 * owner from SQLite itself.  0, DW_EINVAL or DW_EIO with diag. */
int gw_store_prepare(const char *path, uid_t uid, gid_t gid, struct dw_diag *diag);

/* A connection from the pool (opened on demand), or NULL on failure. */
struct gw_db *gw_store_get(struct gw_store *st);
void gw_store_put(struct gw_store *st, struct gw_db *db);

/* Transactions (BEGIN IMMEDIATE so writers queue at the start). */
int gw_db_begin(struct gw_db *db);
int gw_db_commit(struct gw_db *db);
void gw_db_rollback(struct gw_db *db);
/* Message of the connection's last error. */
const char *gw_db_errmsg(struct gw_db *db);

/* PRAGMA user_version of the open database. */
int gw_db_schema_version(struct gw_db *db, int *out);
/* PRAGMA integrity_check and foreign_key_check; 0 when both are clean. */
int gw_db_check(struct gw_db *db, struct dw_diag *diag);

/* Hosts.  Lookups return DW_ENOTFOUND when absent. */
int gw_db_host_add(struct gw_db *db, struct gw_host *h);           /* sets h->id */
int gw_db_host_get(struct gw_db *db, const char *fqdn, struct gw_host *out);
int gw_db_host_by_id(struct gw_db *db, int64_t id, struct gw_host *out);
int gw_db_host_remove(struct gw_db *db, int64_t id);
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

/* Desired address of a family.  DW_ENOTFOUND when none was ever set. */
int gw_db_addr_get(struct gw_db *db, int64_t host_id, enum gw_rtype rt, struct gw_rec *out);
/* Sets the desired address; *changed is false when it already held value
 * (then nothing is written).  A new value resets applied/attempts/retry. */
int gw_db_addr_set(struct gw_db *db, int64_t host_id, enum gw_rtype rt, const char *value,
                   bool *changed);
/* Wants TXT value present (or absent).  *changed false when the row already
 * said so.  When adding, keeps at most keep_max present values: the oldest
 * others are marked absent (acme-dns semantics: two values). */
int gw_db_txt_set(struct gw_db *db, int64_t host_id, const char *value, bool present,
                  unsigned keep_max, bool *changed);
/* Unapplied rows of a host, oldest first, at most cap. */
int gw_db_pending(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap,
                  size_t *n);
/* Every host with unapplied rows and the earliest next_retry among them. */
int gw_db_pending_hosts(struct gw_db *db, int (*cb)(void *arg, int64_t host_id, int64_t next),
                        void *arg);
int gw_db_pending_count(struct gw_db *db, int64_t *n);
/* Records the result of sending row r (as read by gw_db_pending).  ok: the
 * row is applied, unless it changed meanwhile (seq differs): then it stays
 * pending for the next round; an applied "absent" TXT row is deleted.
 * Not ok: attempts+1, next_retry and last_error are stored. */
int gw_db_mark(struct gw_db *db, const struct gw_rec *r, bool ok, int64_t next_retry,
               const char *error);
/* All rows of a host (for "host list"). */
int gw_db_records(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap,
                  size_t *n);

/* Audit log. */
int gw_db_audit(struct gw_db *db, const struct gw_audit *a);
/* Newest first; host NULL = all; limit 1..100000. */
int gw_db_audit_list(struct gw_db *db, const char *host, unsigned limit,
                     int (*cb)(void *arg, const struct gw_audit *a), void *arg);
