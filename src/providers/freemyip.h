/* freemyip (freemyip.com, protocols.md section 6): the pure reply
 * classifier, for unit tests and fuzzing. */
#pragma once

#include <stddef.h>

#include "lib/provider.h"

/* Classifies the reply to update?token=T&domain=D&myip=IP.
 * status: 429 RATELIMIT, 5xx RETRY (>= 600 s), 4xx FATAL, other non-200
 * RETRY.  A 200 body is judged by its first line, which must be exactly
 * "OK" (DONE) or "ERROR" (FATAL: token or domain); anything else, even a
 * line containing OK ("NOT OK", "OKAY"), is RETRY.  protocols.md says the
 * reply "contains OK": matching a substring would take "NOT OK" for
 * success, so the line is matched whole.  freemyip has no "unchanged"
 * reply: an update that changed nothing is reported as done. */
void dw_freemyip_classify(long status, const char *body, size_t len, long retry_after_s,
                          struct dw_result *res);
