/* Gandi LiveDNS v5: the pure reply parsers and classifiers, kept apart from
 * the network code for unit tests and fuzzing (protocols.md section 1).
 *
 * Every function takes the HTTP status, the Retry-After hint (-1 when absent)
 * and the body as len bytes that need not be NUL-terminated and may be
 * anything.  JSON is parsed with jansson and judged by exact fields. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/provider.h"

#define DW_GANDI_MIN_TTL 300u

/* What a GET of a record set said about it. */
struct dw_gandi_rrset_check {
	long ttl;             /* rrset_ttl */
	size_t nvalues;       /* number of rrset_values */
	bool values_match;    /* rrset_values is exactly [addr] */
};

/* Parses a 200 reply to GET /domains/{zone}/records/{name}/{rrtype}: an
 * object with "rrset_values" (array of strings) and "rrset_ttl" (integer);
 * "rrset_type" and "rrset_name", when present, must be strings and the type
 * must be rrtype.  Values are compared with addr as addresses (so that any
 * textual form of an IPv6 address matches).  Returns 0 or DW_EPARSE. */
int dw_gandi_parse_rrset(const char *body, size_t len, const char *rrtype,
                         const struct dw_ip *addr, struct dw_gandi_rrset_check *out);

/* Copies the "message" string of a Gandi error object into out, as printable
 * ASCII, at most 160 bytes.  Returns 0, or DW_EPARSE (out then "") when the
 * body is not such an object. */
int dw_gandi_error_message(const char *body, size_t len, char *out, size_t cap);

/* Classifies a reply that is not the expected success into res: 401, 403,
 * 404 and other 4xx are FATAL (naming zone), 429 RATELIMIT, 5xx and anything
 * else RETRY. */
void dw_gandi_classify_error(long status, const char *body, size_t len, long retry_after_s,
                             const char *zone, struct dw_result *res);

enum dw_gandi_next {
	DW_GANDI_FINAL = 0,   /* res holds the outcome */
	DW_GANDI_WRITE,       /* the set differs or is missing: PUT it */
};

/* After GET of the record set: UNCHANGED when it is exactly [addr] with
 * this ttl, WRITE when it differs or is absent (404), otherwise the error
 * (a 200 reply that does not parse is RETRY). */
enum dw_gandi_next dw_gandi_after_get(long status, const char *body, size_t len,
                                      long retry_after_s, const char *zone, const char *rrtype,
                                      const struct dw_ip *addr, uint32_t ttl,
                                      struct dw_result *res);

/* Drift check (provider op verify) after GET of the record set: STANDS
 * when it is exactly [addr], whatever its TTL; DRIFTED when it holds
 * anything else or is absent (404); UNKNOWN for an error or a reply that
 * does not parse (out->msg says which). */
void dw_gandi_verify_get(long status, const char *body, size_t len, long retry_after_s,
                         const char *zone, const char *rrtype, const struct dw_ip *addr,
                         struct dw_verify *out);

/* After PUT of the record set: 201 is DONE (the body is not needed),
 * anything else is classified as an error. */
void dw_gandi_after_put(long status, const char *body, size_t len, long retry_after_s,
                        const char *zone, const struct dw_ip *addr, struct dw_result *res);

enum dw_gandi_probe {
	DW_GANDI_PROBE_FOUND = 0,     /* 200: candidate is the zone */
	DW_GANDI_PROBE_NEXT,          /* 404: try the next, shorter candidate */
	DW_GANDI_PROBE_FORBIDDEN,     /* 403: not ours to see; try the next */
	DW_GANDI_PROBE_FINAL,         /* res holds an error outcome */
};

/* After GET /domains/{candidate}. */
enum dw_gandi_probe dw_gandi_after_probe(long status, const char *body, size_t len,
                                         long retry_after_s, const char *candidate,
                                         struct dw_result *res);

/* TXT values (ACME dns-01) ------------------------------------------------ */

/* The record set to write after adding (add true) or removing value in the
 * TXT set described by a GET reply body (status 200), or by nothing (body
 * NULL: the set does not exist).  Values are compared unquoted (Gandi may
 * answer quoted or bare); the new one is written quoted.  On success
 * *changed says whether a write is needed, *nafter how many values remain,
 * and *put_body (malloc'd, caller frees; NULL when nafter is 0) is the PUT
 * body {"rrset_ttl":..,"rrset_values":[..]} keeping the set's TTL (or ttl,
 * at least DW_GANDI_MIN_TTL, for a new set).  Returns 0, DW_EPARSE (the
 * body is not a TXT record set) or DW_ENOMEM. */
int dw_gandi_txt_edit(const char *body, size_t len, const char *value, bool add,
                      uint32_t ttl, char **put_body, size_t *nafter, bool *changed);
