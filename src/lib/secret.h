/* Secrets (tokens, API keys, TSIG keys) read from files.
 *
 * A secret lives in memory from sodium_malloc(): guard pages, mlock()ed and
 * excluded from core dumps.  Loading registers it with the log redactor, so no
 * later log line can show it.  Secrets are never taken from argv or inline in
 * the configuration. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define DW_SECRET_MAX 8192

struct dw_secret {
	char *data;   /* NUL-terminated, len bytes before the NUL; NULL when empty */
	size_t len;
};

enum dw_secret_flags {
	DW_SECRET_LINE = 0,  /* one line; registered with the log redactor */
	DW_SECRET_FILE = 1,  /* whole file (e.g. a TSIG key file); the caller
	                      * registers the secret parts it extracts */
};

/* Reads the whole file at path into out, dropping one trailing newline
 * (and a CR before it).  Refuses, with a diag that says how to fix it:
 *   - a file that is not a regular file;
 *   - a file whose mode gives any permission to others, or write to the group
 *     (group read is allowed so "root:dnsward 0640" works);
 *   - an empty file or one over DW_SECRET_MAX bytes;
 *   - with DW_SECRET_LINE, fewer than DW_LOG_SECRET_MIN bytes (lib/log.h).
 * On success out owns the memory; release it with dw_secret_clear(). */
int dw_secret_load(const char *path, enum dw_secret_flags flags,
                   struct dw_secret *out, struct dw_diag *diag);

/* Where a configured secret lives.  "credential:NAME" names a systemd
 * credential: $CREDENTIALS_DIRECTORY/NAME when systemd gives the process
 * credentials (LoadCredential=, under a unit), else the first of
 * /etc/credstore/NAME, /run/credstore/NAME, /usr/lib/credstore/NAME that
 * exists: where "LoadCredential=NAME" itself reads it from, so one
 * configuration serves the unit and a command run from a shell.  Any other
 * value is a path, copied as it is.  NAME is a file name (no '/', not "."
 * or "..").  Returns 0 with the path in out (cap bytes), or DW_ESECRET /
 * DW_ETOOBIG with diag (e.g. the unit was not given that credential). */
int dw_secret_resolve(const char *spec, char *out, size_t cap, struct dw_diag *diag);

/* Secrets by the path and flags they were loaded with: how the resident
 * dnsward hands a publisher exactly the secrets its jobs need (the
 * publisher cannot read them itself: it may run as another user, and it
 * opens no secret file).  Entries are copies in sodium memory. */
struct dw_secret_entry {
	char *path;
	enum dw_secret_flags flags;
	struct dw_secret s;
};

struct dw_secret_set {
	struct dw_secret_entry *v;
	size_t n;
};

/* Adds a copy of data[0..len) under (path, flags), unless that pair is
 * already in set.  Returns 0 or DW_ENOMEM. */
int dw_secret_set_add(struct dw_secret_set *set, const char *path, enum dw_secret_flags flags,
                      const char *data, size_t len);
/* The entry for (path, flags), or NULL. */
const struct dw_secret_entry *dw_secret_set_find(const struct dw_secret_set *set,
                                                 const char *path, enum dw_secret_flags flags);
/* Wipes and frees every entry; the set is empty afterwards. */
void dw_secret_set_free(struct dw_secret_set *set);

/* While set is non-NULL, every secret dw_secret_load() reads successfully
 * is also copied into set (the configuration records which provider and
 * record sections read which secrets).  NULL stops.  Not thread-safe:
 * configuration is loaded by one thread. */
void dw_secret_record(struct dw_secret_set *set);

/* While set is non-NULL, dw_secret_load() opens no file: it answers from
 * set (a copy, registered with the log redactor like a file's line), and
 * a path not in set is an error.  NULL goes back to files.  The publisher
 * builds each job's configuration this way.  Not thread-safe. */
void dw_secret_serve(const struct dw_secret_set *set);

/* The checks of dw_secret_load() that need no read access, from stat():
 * regular file, mode, size.  Returns 0 with *seen true when they pass, 0
 * with *seen false when the file cannot even be looked at (a directory on
 * the way is not searchable: diag says so), or DW_ESECRET with diag (no
 * such file, or it fails a check). */
int dw_secret_check(const char *path, bool *seen, struct dw_diag *diag);

/* Wipes and frees; safe on a zeroed or already-cleared secret. */
void dw_secret_clear(struct dw_secret *s);

/* Constant-time comparison of two byte strings; 1 when equal. */
int dw_secret_equal(const void *a, size_t alen, const void *b, size_t blen);
