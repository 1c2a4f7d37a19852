/* FreeDNS (freedns.afraid.org) v2 dynamic update replies: the pure
 * classifier, kept apart from the network code for unit tests and fuzzing
 * (protocols.md section 2). */
#pragma once

#include <stddef.h>

#include "lib/addr.h"
#include "lib/provider.h"

/* Longest first line of a reply that is parsed; longer ones are unparsable. */
#define DW_FREEDNS_LINE_MAX 512

/* Classifies the reply to GET {base}/u/{TOKEN}/?address={sent} into res.
 *
 * status and retry_after_s (-1 when absent) come from the HTTP layer; body
 * holds len bytes, need not be NUL-terminated and may contain anything.  The
 * status decides first (429 rate limit, 5xx retry, 401/403/404 fatal, other
 * non-200 unexpected); a 200 reply is judged by its first line only, matched
 * word by word, never by substring:
 *   "Updated HOST from OLD to NEW"                                -> DONE
 *   "No IP change detected for HOST with IP IP, skipping update"  -> UNCHANGED
 *   "ERROR: ..."                                                  -> FATAL
 *   "Couldn't find any matching DNS records..."                   -> FATAL
 *   anything else                                                 -> RETRY
 * NEW (resp. IP) must be the address sent, and HOST, when host is non-NULL,
 * must be that FQDN (case-insensitive, trailing dot ignored); otherwise the
 * token does not do what the configuration says and the result is FATAL.
 * The message quotes at most a short, sanitised sample of the reply; the
 * caller removes the token from it should the server have echoed it. */
void dw_freedns_classify(long status, const char *body, size_t len, long retry_after_s,
                         const char *host, const struct dw_ip *sent, struct dw_result *res);
