/* Cloudflare API v4 (protocols.md section 5): the pure reply parsers,
 * classifiers and decisions, kept apart from the network code for unit tests
 * and fuzzing.
 *
 * Bodies are len bytes that need not be NUL-terminated and may be anything.
 * Every reply is a JSON envelope {"success","errors","messages","result",
 * "result_info"}, parsed with jansson and judged by exact fields. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/provider.h"

#define DW_CF_MIN_TTL 60u          /* ttl 1 means "automatic" and is allowed too */
#define DW_CF_ID_MAX 64            /* ids are 32 hex digits; longer is refused */
#define DW_CF_CONTENT_MAX 512      /* longer contents are kept as "too long" */
#define DW_CF_RECORDS_MAX 1000     /* records of one name and type we accept */
#define DW_CF_PAGES_MAX 20         /* pages followed for one listing */
#define DW_CF_PER_PAGE 100

/* One DNS record as a listing shows it. */
struct dw_cf_record {
	char id[DW_CF_ID_MAX];
	char content[DW_CF_CONTENT_MAX];
	bool content_too_long;     /* content did not fit: it never matches */
	long ttl;
	int proxied;               /* -1 absent, 0 false, 1 true */
};

/* Growable list, at most DW_CF_RECORDS_MAX entries.  Zeroed = empty. */
struct dw_cf_records {
	struct dw_cf_record *v;
	size_t n, cap;
};

void dw_cf_records_free(struct dw_cf_records *l);

/* Parses a reply to GET /zones?name=ZONE (any status is judged by the
 * envelope: success must be true).  Copies the id of the zone whose "name" is
 * exactly zone (case-insensitive) into id.  Returns 0, DW_ENOTFOUND when the
 * result holds no such zone (absent, or the token cannot see it), or
 * DW_EPARSE. */
int dw_cf_parse_zones(const char *body, size_t len, const char *zone, char id[DW_CF_ID_MAX]);

/* Parses a successful reply to GET /zones/{id}/dns_records?type=T&name=N:
 * appends every record to list (each must be an object with string "id",
 * "type" equal to rrtype, "name" equal to name case-insensitively, string
 * "content", integer "ttl" and, when present, boolean "proxied") and reads
 * result_info.page and result_info.total_pages (integers, page >= 1).
 * Returns 0, DW_ETOOBIG (more than DW_CF_RECORDS_MAX records) or DW_EPARSE;
 * on error list may hold part of the page. */
int dw_cf_parse_records(const char *body, size_t len, const char *rrtype, const char *name,
                        struct dw_cf_records *list, long *page, long *total_pages);

/* Copies "CODE: MESSAGE" of the first entry of "errors" (printable ASCII,
 * bounded) into out.  Returns 0, or DW_EPARSE with out "" when there is none. */
int dw_cf_error_message(const char *body, size_t len, char *out, size_t cap);

/* Classifies a reply that is not the expected success: 401/403 FATAL naming
 * credkey (what to fix) and zone, 429 RATELIMIT, 5xx RETRY, other 4xx FATAL
 * with Cloudflare's message, anything else (2xx with "success":false or an
 * unparsable body) RETRY. */
void dw_cf_classify_error(long status, const char *body, size_t len, long retry_after_s,
                          const char *credkey, const char *zone, struct dw_result *res);

enum dw_cf_action {
	DW_CF_KEEP = 0,    /* list[keep] already holds it; nothing to write */
	DW_CF_CREATE,      /* no record yet: POST */
	DW_CF_PATCH,       /* PATCH list[keep] with content, ttl (and proxied) */
};

struct dw_cf_plan {
	enum dw_cf_action action;
	size_t keep;       /* index in the list (KEEP, PATCH) */
	uint32_t ttl;      /* the TTL to send: 1 (automatic) for proxied records */
	int proxied;       /* -1 = do not send (keep what the record has), 0, 1 */
};

/* Decides how the address record set becomes exactly [addr]: the record
 * already holding addr is kept (or the first one is rewritten), every other
 * record of the list is to be deleted by the caller.  proxied_setting is the
 * user's choice (-1 unset: the existing record's is kept).  A proxied record
 * always has TTL 1 at Cloudflare, so it is compared and sent as 1. */
void dw_cf_plan_address(const struct dw_cf_records *list, const struct dw_ip *addr,
                        uint32_t ttl, int proxied_setting, struct dw_cf_plan *plan);

/* Drift check (provider op verify) over the listing of the name's rrtype
 * records: STANDS when it is exactly one record holding addr (TTL and
 * proxying aside), DRIFTED otherwise; out->msg shows what is there. */
void dw_cf_verify_list(const struct dw_cf_records *list, const char *rrtype,
                       const struct dw_ip *addr, struct dw_verify *out);

/* Judges the reply to a write (POST, PATCH, DELETE): HTTP 200 with
 * "success":true, an empty "errors" array and a "result" object whose "id"
 * is a string (equal to want_id when non-NULL) and, when want_content is
 * non-NULL, whose "content" equals it exactly.  Returns true; otherwise sets
 * res (dw_cf_classify_error, or RETRY for a 200 that does not fit) and
 * returns false. */
bool dw_cf_after_write(long status, const char *body, size_t len, long retry_after_s,
                       const char *credkey, const char *zone, const char *want_id,
                       const char *want_content, struct dw_result *res);
