/* What was last published, per record and family: the state file.
 *
 * JSON in STATE_DIR/state.json, written atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory) so a crash leaves either
 * the old or the new file, never a torn one.  Both directions go through
 * lib/statedir.h: no link is followed, no FIFO blocks, and only the
 * directory's owner writes.  An entry is keyed by FQDN,
 * family and provider name: switching a record to another provider publishes
 * again. */
#pragma once

#include <stdint.h>

#include "lib/addr.h"
#include "lib/error.h"

struct dw_state_entry {
	char *fqdn;
	enum dw_family family;
	char *provider;
	char address[DW_IP_STRLEN];   /* last address the provider accepted */
	int64_t updated;              /* unix time of that success, 0..DW_STATE_TIME_MAX */
};

/* 9999-12-31T23:59:59Z: "updated" beyond it (or negative) is a corrupt file. */
#define DW_STATE_TIME_MAX INT64_C(253402300799)

struct dw_state {
	struct dw_state_entry *v;
	size_t n, cap;
};

/* Loads path; a missing file (or directory) gives an empty state.  A corrupt
 * file is an error naming the file (never silently discarded); so is a link,
 * FIFO or hard link at its place (refused, not followed). */
int dw_state_load(const char *path, struct dw_state *out, struct dw_diag *diag);
/* Entry for (fqdn, family, provider) or NULL. */
const struct dw_state_entry *dw_state_get(const struct dw_state *st, const char *fqdn,
                                          enum dw_family fam, const char *provider);
/* Inserts or replaces. */
int dw_state_set(struct dw_state *st, const char *fqdn, enum dw_family fam,
                 const char *provider, const char *address, int64_t updated);
/* Writes atomically; creates nothing but the file (the directory must exist
 * and belong to the effective user). */
int dw_state_save(const struct dw_state *st, const char *path, struct dw_diag *diag);
void dw_state_free(struct dw_state *st);
