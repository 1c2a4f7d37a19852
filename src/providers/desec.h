/* deSEC (protocols.md section 6): the pure reply classifiers and TXT RRset
 * builders, kept apart from the network code for unit tests and fuzzing.
 *
 * Addresses go through deSEC's dynDNS endpoint (plain-text replies); TXT
 * values through its REST API (JSON).  Bodies are len bytes that need not be
 * NUL-terminated and may be anything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/provider.h"

#define DW_DESEC_MIN_TXT_TTL 3600u
#define DW_DESEC_RECORDS_MAX 64      /* TXT values of one RRset we accept */

/* Classifies the reply to GET {base}/?hostname=H&myipv4=..&myipv6=..:
 *   200 whose first line is exactly "good"          -> DONE
 *   200 with anything else                          -> RETRY (unparsable)
 *   401 -> FATAL (credentials), 400 -> FATAL (invalid or ambiguous request),
 *   404 -> FATAL (host unknown to deSEC), other 4xx -> FATAL,
 *   429 -> RATELIMIT (Retry-After), 5xx and anything else -> RETRY.
 * credkey names what to fix on 401. */
void dw_desec_classify_update(long status, const char *body, size_t len, long retry_after_s,
                              const char *host, const char *credkey, struct dw_result *res);

/* A TXT RRset as GET /domains/{d}/rrsets/{subname}/TXT/ shows it. */
struct dw_desec_rrset {
	long ttl;
	size_t n;
	char *records[DW_DESEC_RECORDS_MAX];   /* owned, zone-file text */
};

void dw_desec_rrset_free(struct dw_desec_rrset *rr);

/* Parses a 200 reply: an object with "type" "TXT", "subname" equal to
 * subname (when present), integer "ttl" and "records", an array of at most
 * DW_DESEC_RECORDS_MAX strings.  Returns 0 or DW_EPARSE (rr then empty). */
int dw_desec_parse_rrset(const char *body, size_t len, const char *subname,
                         struct dw_desec_rrset *rr);

/* The same for an RRset of type rrtype ("A", "AAAA", "TXT"). */
int dw_desec_parse_rrset_type(const char *body, size_t len, const char *subname,
                              const char *rrtype, struct dw_desec_rrset *rr);

/* Drift check (provider op verify) after GET .../rrsets/{sub}/{A|AAAA}/:
 * STANDS when the RRset is exactly [addr] (records compared as addresses,
 * TTL aside), DRIFTED when it holds anything else or is absent (404),
 * UNKNOWN for errors and replies that do not parse. */
void dw_desec_verify_get(long status, const char *body, size_t len, long retry_after_s,
                         const char *domain, const char *subname, const struct dw_ip *addr,
                         struct dw_verify *out);

enum dw_desec_write {
	DW_DESEC_NONE = 0,   /* nothing to write: the value is (not) there already */
	DW_DESEC_POST,       /* create the RRset: POST .../rrsets/ */
	DW_DESEC_PATCH,      /* replace its records: PATCH .../rrsets/{sub}/TXT/ */
	DW_DESEC_DELETE,     /* last value removed: DELETE .../rrsets/{sub}/TXT/ */
};

/* Decides how adding (add true) or removing value changes cur (NULL when the
 * RRset does not exist) and builds the JSON body (malloc, *body, NULL for
 * NONE and DELETE): POST {"subname","type":"TXT","ttl","records":["\"v\""]},
 * PATCH {"records":[...]} (plus "ttl" when raising it to ttl).  ttl is
 * raised to DW_DESEC_MIN_TXT_TTL.  Returns 0, DW_EINVAL (value not printable
 * ASCII of 1..255 bytes), DW_ETOOBIG (too many values) or DW_ENOMEM. */
int dw_desec_txt_plan(const struct dw_desec_rrset *cur, const char *subname, const char *value,
                      bool add, uint32_t ttl, enum dw_desec_write *how, char **body);

/* Classifies a REST reply that is not the expected success: 401 FATAL
 * (check token-file), 403 FATAL (token policy), 404 FATAL (domain not in
 * the account), 400 and other 4xx FATAL with deSEC's "detail", 429
 * RATELIMIT, 5xx and anything else RETRY. */
void dw_desec_classify_rest(long status, const char *body, size_t len, long retry_after_s,
                            const char *domain, struct dw_result *res);
