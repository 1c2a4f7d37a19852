/* dnsward-gateway as a provider: the pure reply classifiers, kept apart from
 * the network code for unit tests and fuzzing.
 *
 * Addresses go through the gateway's dyndns2 endpoint (protocols.md
 * section 3), TXT values through its lego httpreq endpoints /present and
 * /cleanup (section 8); both with HTTP Basic credentials user = the host's
 * FQDN, password = the host's token (docs/gateway.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/addr.h"
#include "lib/provider.h"

/* Longest reply line that is parsed; longer ones are unparsable. */
#define DW_GATEWAY_LINE_MAX 256
/* Shortest back-off after 911, dnserr, servererror or HTTP 5xx on the
 * dyndns2 endpoint (protocols.md section 3: no sooner than 10 minutes). */
#define DW_GATEWAY_RETRY_MIN 600
/* Wait after HTTP 429 or "interval" when no Retry-After came with it. */
#define DW_GATEWAY_RATE_WAIT 60

/* Classifies the reply to
 *   GET {base}/nic/update?hostname=HOST&myip=IP[,IP6]
 * that sent the addresses in sent[] (NULL: family not sent; at least one).
 *
 * status and retry_after_s (-1 when absent) come from the HTTP layer; body
 * holds len bytes, need not be NUL-terminated and may contain anything.
 * One hostname was sent, so a 200 reply must be exactly one line ("\n" or
 * "\r\n" ending optional), judged by its first word, never by substring:
 *   "good IPS"   DONE       IPS one comma-separated word listing exactly the
 *   "nochg IPS"  UNCHANGED  addresses sent (any order), else FATAL
 *   badauth, nohost, !yours, notfqdn, numhost, abuse, !donator, badagent,
 *   !active, badsys                             FATAL, naming what to fix
 *                                               (!active: the gateway's provider
 *                                               refused the record for good)
 *   911, dnserr, servererror                    RETRY (>= DW_GATEWAY_RETRY_MIN)
 *   interval                                    RATELIMIT
 *   anything else, several lines, empty body    RETRY (unparsable)
 * Other statuses: 429 RATELIMIT (Retry-After, else DW_GATEWAY_RATE_WAIT;
 * "abuse" is the lockout after bad tokens); 5xx RETRY (>= the minimum);
 * 400, 401, 403, 404, 405, 413, 414 and other 4xx FATAL; the rest RETRY.
 * host names the record in messages (may be NULL); the message quotes at
 * most a short sanitised sample of the reply. */
void dw_gateway_classify_nic(long status, const char *body, size_t len, long retry_after_s,
                             const char *host, const struct dw_ip *const sent[DW_FAM_COUNT],
                             struct dw_result *res);

/* Classifies the reply to POST {base}/present (present true) or /cleanup:
 *   200 with the body "ok" (one line)     DONE
 *   200 with anything else                RETRY (not the gateway's reply)
 *   400                                   FATAL (name or value refused)
 *   401                                   FATAL (token refused)
 *   403                                   FATAL (name outside the token's
 *                                         scope, or the host lacks --acme)
 *   404, 405, 413 and other 4xx           FATAL
 *   429                                   RATELIMIT (Retry-After, else
 *                                         DW_GATEWAY_RATE_WAIT)
 *   424                                   FATAL (the gateway's provider
 *                                         refused the value for good)
 *   502                                   RETRY (stored; the gateway keeps
 *                                         retrying its own provider)
 *   503                                   RETRY (the gateway's database, with
 *                                         its Retry-After)
 *   other 5xx and anything else           RETRY
 * name is the TXT owner for messages (may be NULL). */
void dw_gateway_classify_txt(long status, const char *body, size_t len, long retry_after_s,
                             bool present, const char *name, struct dw_result *res);

/* The host whose token may write TXT at name: name must be
 * "_acme-challenge." + HOST (any case, no trailing dot needed).  Writes
 * HOST (lower case, without trailing dot) into out; returns false when
 * name has another form or HOST is not a valid domain name. */
bool dw_gateway_txt_host(const char *name, char *out, size_t cap);
