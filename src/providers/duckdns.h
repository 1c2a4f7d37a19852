/* DuckDNS (www.duckdns.org, protocols.md section 6): the pure reply
 * classifiers and the name check, for unit tests and fuzzing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/addr.h"
#include "lib/provider.h"

#define DW_DUCKDNS_SUFFIX "duckdns.org"
/* Longest reply line that is parsed. */
#define DW_DUCKDNS_LINE_MAX 256

/* The DuckDNS sub-domain ("home") of fqdn into out: fqdn must be
 * SUB.duckdns.org, or, with deeper, any name under it (the TXT of
 * _acme-challenge.SUB.duckdns.org is SUB's).  Returns 0, or -1 when fqdn is
 * not such a name or SUB does not fit. */
int dw_duckdns_subdomain(const char *fqdn, bool deeper, char *out, size_t cap);

/* Classifies the reply to update?domains=SUB&token=T[&ip=V4][&ipv6=V6]
 * &verbose=true.  sent[f] is the address sent for family f, or NULL.
 * status: 429 RATELIMIT, 5xx RETRY (>= 600 s), other non-200 FATAL (4xx)
 * or RETRY.  A 200 body is judged by exact lines:
 *   "KO" (first line)                         -> FATAL (token or domain)
 *   "OK" alone                                -> DONE (not verbose)
 *   "OK" / V4 / V6 / "UPDATED" or "NOCHANGE"  -> DONE or UNCHANGED
 * where each sent address must be on its line (else FATAL: another address
 * holds), lines of families not sent are blank or an address of that
 * family; anything else is RETRY. */
void dw_duckdns_classify(long status, const char *body, size_t len, long retry_after_s,
                         const struct dw_ip *const sent[DW_FAM_COUNT], struct dw_result *res);

/* Classifies the reply to a TXT update (txt=VALUE[&clear=true]
 * &verbose=true): "KO" FATAL; "OK" alone DONE; "OK" / VALUE / "UPDATED" or
 * "NOCHANGE" DONE or UNCHANGED, where VALUE must be exactly value ("" after
 * clearing); anything else RETRY. */
void dw_duckdns_classify_txt(long status, const char *body, size_t len, long retry_after_s,
                             const char *value, struct dw_result *res);
