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
 *   - an empty file or one over DW_SECRET_MAX bytes.
 * On success out owns the memory; release it with dw_secret_clear(). */
int dw_secret_load(const char *path, enum dw_secret_flags flags,
                   struct dw_secret *out, struct dw_diag *diag);

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
