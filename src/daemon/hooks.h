/* On-change hooks: the program a record names in "on-change", run when a
 * publish changed (or failed to change) its address.
 *
 * Programs run without a shell, with only DNSWARD_RECORD, DNSWARD_FAMILY,
 * DNSWARD_OLD, DNSWARD_NEW, DNSWARD_RESULT and a fixed PATH in their
 * environment, stdin from /dev/null, stdout and stderr shared with the
 * daemon (the journal), no other descriptor, contained by lib/proc: checked
 * before each start (lib/trust.h), and nothing they start outlives them.
 * The loop watches each through a pidfd, logs how it ended and ends it, with
 * everything it started, after DMN_HOOK_TIMEOUT_MS; at most DMN_HOOKS_MAX
 * run at once, more are skipped with a warning.  Called from the loop's
 * thread. */
#pragma once

#include "lib/addr.h"
#include "lib/config.h"
#include "lib/loop.h"

#define DMN_HOOK_TIMEOUT_MS 10000   /* an on-change program is killed after this */
#define DMN_HOOKS_MAX 16            /* running at once */

struct dmn_hooks;

/* The running hooks of a daemon, watched in loop.  NULL when out of memory. */
struct dmn_hooks *dmn_hooks_new(struct dw_loop *loop);

/* Starts r's on-change program for family fam, if r has one; old and new
 * are the addresses as text ("" none), result the outcome's name.  Failures
 * to start are logged, not returned. */
void dmn_hooks_run(struct dmn_hooks *hs, const struct dw_record *r, enum dw_family fam,
                   const char *old, const char *new, const char *result);

/* Ends the programs still running, and everything they started (waiting a
 * short grace for each), and stops watching.  NULL is fine. */
void dmn_hooks_free(struct dmn_hooks *hs);
