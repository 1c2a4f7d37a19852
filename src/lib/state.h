/* What was last published, per record and family: the state file.
 *
 * JSON in STATE_DIR/state.json, written atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory) so a crash leaves either
 * the old or the new file, never a torn one.  An entry is keyed by FQDN,
 * family and provider name: switching a record to another provider publishes
 * again.
 *
 * Besides what was published ("records"), the file keeps the last result of
 * each record and family ("results": outcome, message, address tried, since
 * when), so "dnsward status" can say why the last run failed without a
 * daemon, and short notes a provider keeps for a record across runs
 * ("memos", e.g. the zone Gandi found by probing).  Both are optional, so
 * older versions read the file as before. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/error.h"

struct dw_state_entry {
	char *fqdn;
	enum dw_family family;
	char *provider;
	char address[DW_IP_STRLEN];   /* last address the provider accepted */
	int64_t updated;              /* unix time of that success */
};

/* The last result for (fqdn, family, provider). */
struct dw_state_result {
	char *fqdn;
	enum dw_family family;
	char *provider;
	char outcome[16];             /* dw_outcome_str(), or "no-address" */
	char address[DW_IP_STRLEN];   /* the address tried, "" when there was none */
	char *message;                /* printable, bounded; never a secret */
	int64_t since;                /* unix time this outcome and message began */
};

/* A provider's note for (fqdn, provider): at most DW_STATE_MEMO_MAX bytes of
 * printable text. */
#define DW_STATE_MEMO_MAX 255
struct dw_state_memo {
	char *fqdn;
	char *provider;
	char *text;
};

struct dw_state {
	struct dw_state_entry *v;
	size_t n, cap;
	struct dw_state_result *res;
	size_t nres, capres;
	struct dw_state_memo *memo;
	size_t nmemo, capmemo;
};

/* Loads path; a missing file gives an empty state.  A corrupt file is an error
 * naming the file (never silently discarded). */
int dw_state_load(const char *path, struct dw_state *out, struct dw_diag *diag);
/* Entry for (fqdn, family, provider) or NULL. */
const struct dw_state_entry *dw_state_get(const struct dw_state *st, const char *fqdn,
                                          enum dw_family fam, const char *provider);
/* Inserts or replaces. */
int dw_state_set(struct dw_state *st, const char *fqdn, enum dw_family fam,
                 const char *provider, const char *address, int64_t updated);
/* The last result for (fqdn, fam, provider), or NULL. */
const struct dw_state_result *dw_state_get_result(const struct dw_state *st, const char *fqdn,
                                                  enum dw_family fam, const char *provider);
/* Records a result.  address may be NULL or "" (nothing to publish);
 * message is copied (non-printable bytes replaced, cut at 512 bytes).  When
 * outcome, address and message equal the stored ones nothing changes (since
 * keeps its value, *changed false): a steady condition does not rewrite the
 * file on every run.  *changed (may be NULL) says whether the state changed.
 * Returns 0, DW_EINVAL (address too long) or DW_ENOMEM. */
int dw_state_set_result(struct dw_state *st, const char *fqdn, enum dw_family fam,
                        const char *provider, const char *outcome, const char *address,
                        const char *message, int64_t now, bool *changed);
/* The memo for (fqdn, provider), or NULL. */
const char *dw_state_get_memo(const struct dw_state *st, const char *fqdn, const char *provider);
/* Sets (text non-NULL) or removes (text NULL) the memo; *changed as above.
 * Returns 0, DW_EINVAL (longer than DW_STATE_MEMO_MAX or not printable) or
 * DW_ENOMEM. */
int dw_state_set_memo(struct dw_state *st, const char *fqdn, const char *provider,
                      const char *text, bool *changed);
/* Writes atomically; creates nothing but the file (the directory must exist). */
int dw_state_save(const struct dw_state *st, const char *path, struct dw_diag *diag);
void dw_state_free(struct dw_state *st);
