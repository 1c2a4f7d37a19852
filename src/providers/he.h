/* Hurricane Electric dynamic DNS (dyn.dns.he.net, protocols.md section 3):
 * dyndns2 semantics with one key per record, plus dynamic TXT records
 * through "txt=".  The pure reply classifier, for unit tests and fuzzing. */
#pragma once

#include <stddef.h>

#include "lib/addr.h"
#include "lib/provider.h"

/* Value a dynamic TXT record is set to by txt_del: HE's dynamic API cannot
 * delete a record, and its UI requires some value. */
#define DW_HE_TXT_CLEARED "cleared"
/* Wait after "interval" when HE gives no Retry-After: about 10 requests per
 * 2 minutes per record are allowed. */
#define DW_HE_INTERVAL_S 300

/* Classifies HE's reply to an update of host.  sent is the address sent,
 * or NULL for a TXT update (then "good"/"nochg" need not echo anything).
 * Same rules as dw_dyndns2_classify() with one hostname: good DONE, nochg
 * UNCHANGED (an echoed address must be the one sent), badauth/nohost/...
 * FATAL naming the key file to check, interval RATELIMIT (>= 300 s without
 * Retry-After), 911/dnserr/5xx RETRY (>= 600 s), anything else RETRY. */
void dw_he_classify(long status, const char *body, size_t len, long retry_after_s,
                    const char *host, const struct dw_ip *sent, struct dw_result *res);
