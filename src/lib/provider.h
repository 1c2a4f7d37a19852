/* The provider interface.
 *
 * A provider is a const struct of typed callbacks plus capability flags,
 * listed in the static table in providers/registry.c.  The core checks the
 * flags, never a provider's name.  Each provider's .c file defines its own
 * struct dw_provider_data / struct dw_record_data (the pattern curl uses for
 * its TLS backends): the core only carries the pointers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/config.h"

#define DW_CAP_A    0x01u
#define DW_CAP_AAAA 0x02u
#define DW_CAP_TXT  0x04u
#define DW_CAP_TXT_SINGLE 0x08u   /* holds one TXT value per name only */
#define DW_CAP_TTL  0x10u   /* A/AAAA records get the record's ttl (others: the
                             * provider sets it; "ttl" has no effect) */

/* The scheduler's view of a provider reply.  Never renumbered. */
enum dw_outcome {
	DW_OUT_DONE = 0,     /* record now holds the address */
	DW_OUT_UNCHANGED,    /* record already held it (still a success) */
	DW_OUT_RETRY,        /* transient: try again later, with backoff */
	DW_OUT_RATELIMIT,    /* provider asked to wait retry_after_s */
	DW_OUT_FATAL,        /* needs the user (bad credentials, unknown host): parked */
	DW_OUT_ACTION,       /* needs the user, but may also right itself without a
	                      * configuration change (a certificate the trust store
	                      * refuses: a CA bundle update or a renewed certificate
	                      * fixes it): reported like FATAL (exit 3), retried
	                      * with backoff like RETRY, never parked */
	DW_OUT_COUNT
};

/* "done", "unchanged", "retry", "rate-limited", "fatal", "needs-action". */
const char *dw_outcome_str(enum dw_outcome o);
/* True for the outcomes only the user can be expected to fix: FATAL, ACTION. */
static inline bool dw_outcome_needs_user(enum dw_outcome o)
{
	return o == DW_OUT_FATAL || o == DW_OUT_ACTION;
}
static inline bool dw_outcome_ok(enum dw_outcome o)
{
	return o == DW_OUT_DONE || o == DW_OUT_UNCHANGED;
}

struct dw_result {
	enum dw_outcome outcome;
	long retry_after_s;   /* -1 = no hint */
	char msg[384];        /* for the user; never contains a secret */
};

/* Sets outcome, hint and message (formatted, truncated safely).  Messages
 * say what happened and what to fix; they never state the delay before the
 * next attempt (retry_after_s carries it, and whoever reports the result
 * says it once: "retry after N s", "next in N s"). */
void dw_result_set(struct dw_result *res, enum dw_outcome o, long retry_after_s,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct dw_diag;
struct dw_http_resp;

/* ---- Shared classification of HTTP providers' replies (lib/result.c) ---- */

/* A request that brought no HTTP reply (dw_http_request() returned rc with
 * diag; resp as it filled it): "WHO request failed: DETAIL", classified
 *   - a redirect to another origin: FATAL (the API moved: look);
 *   - a certificate the client refused: ACTION, naming what to change in
 *     [provider P->NAME]: ca-file for an issuer outside the trust store,
 *     base-url for a certificate of other names; an expired or not yet
 *     valid one says whose clock or certificate is wrong;
 *   - anything else (network, timeout, handshake, size): RETRY.
 * p may be NULL (then the keys are named without a section). */
void dw_result_http_failure(struct dw_result *res, const struct dw_provider *p, const char *who,
                            int rc, const struct dw_http_resp *resp, const struct dw_diag *diag);

/* An HTTP 429 or 5xx reply: "WHO rate limit (HTTP 429)" (RATELIMIT) or
 * "WHO server error (HTTP 5xx)" (RETRY), DETAIL appended after ": " when
 * not NULL or empty.  The wait (retry_after_s): for a 429 the server's
 * Retry-After, else fallback_s (-1: none, the scheduler's backoff
 * decides), and " (no Retry-After given)" is said; for a 5xx the larger of
 * the server's Retry-After and fallback_s. */
void dw_result_http_wait(struct dw_result *res, const char *who, long status, long retry_after_s,
                         long fallback_s, const char *detail);

/* ---- Finding the zone of a name by asking the provider (lib/result.c) ---- */

enum dw_zone_probe {
	DW_ZONE_FOUND = 0,     /* the candidate is the zone */
	DW_ZONE_ABSENT,        /* not a zone there: try the next, shorter one */
	DW_ZONE_FORBIDDEN,     /* the credentials may not see it: try the next */
	DW_ZONE_FAILED,        /* res holds the error: stop */
};

/* Asks probe() about the proper suffixes of fqdn with two labels or more,
 * longest first, then fqdn itself (an apex record), until one is FOUND or
 * FAILED.  Returns 1 with *zone pointing into fqdn (the zone found); -1
 * when a probe FAILED (it set res); 0 when none was found: then *forbidden
 * (may be NULL) points at the first candidate refused as FORBIDDEN, or is
 * NULL, and the caller says "no zone found" in its own words. */
int dw_zone_find(const char *fqdn,
                 enum dw_zone_probe (*probe)(void *arg, const char *zone, struct dw_result *res),
                 void *arg, const char **zone, const char **forbidden, struct dw_result *res);

/* Whether a published value still stands (drift repair: "verify-interval"). */
enum dw_verify_status {
	DW_VERIFY_STANDS = 0,   /* the record holds exactly the published address */
	DW_VERIFY_DRIFTED,      /* it holds something else (changed behind our back) */
	DW_VERIFY_UNKNOWN,      /* no answer decided it (no reply, servers disagree) */
};

const char *dw_verify_str(enum dw_verify_status s);

struct dw_verify {
	enum dw_verify_status status;
	char msg[384];        /* what was found and where, for the log; no secret */
};

/* Sets status and message (formatted, truncated safely). */
void dw_verify_set(struct dw_verify *v, enum dw_verify_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct dw_provider_ops {
	const char *type;               /* value of "type =" */
	const char *summary;            /* one line for "dnsward providers" */
	unsigned caps;                  /* DW_CAP_* */
	/* Non-NULL for HTTP providers: the core then reads "base-url" (this is
	 * its default) and "ca-file" into struct dw_provider. */
	const char *default_base_url;

	/* Reads the provider section's own keys (the core already took type,
	 * base-url, ca-file, timeout).  May be NULL.  On failure p->data may be
	 * left partly built: free() must cope. */
	int (*configure)(struct dw_provider *p, struct dw_conf_ctx *ctx);
	/* Reads the record section's provider-specific keys and checks the
	 * record is one the provider can serve.  May be NULL.  On failure
	 * r->data may be partly built (or NULL): free_record() must cope. */
	int (*configure_record)(struct dw_provider *p, struct dw_record *r,
	                        struct dw_conf_ctx *ctx);
	/* Publishes addr as the record's only address of addr->family and
	 * classifies the reply into res.  Never logs secrets. */
	void (*update)(struct dw_provider *p, const struct dw_record *r,
	               const struct dw_ip *addr, struct dw_result *res);
	/* Optional: publishes both families in one request (dyndns2
	 * "myip=v4,v6", DuckDNS "ip=&ipv6=").  Called only when both need
	 * publishing; fills res[DW_FAM_V4] and res[DW_FAM_V6]. */
	void (*update_multi)(struct dw_provider *p, const struct dw_record *r,
	                     const struct dw_ip *const addr[DW_FAM_COUNT],
	                     struct dw_result res[DW_FAM_COUNT]);

	/* DW_CAP_TXT providers: add one value to the TXT RRset at fqdn keeping
	 * the others (txt_add), or remove only that value (txt_del; removing an
	 * absent value is success).  fqdn is lower case without trailing dot;
	 * value is the bare text (no quotes).  Providers that hold a single
	 * value per name set DW_CAP_TXT_SINGLE. */
	void (*txt_add)(struct dw_provider *p, const char *fqdn, const char *value,
	                uint32_t ttl, struct dw_result *res);
	void (*txt_del)(struct dw_provider *p, const char *fqdn, const char *value,
	                struct dw_result *res);

	/* Optional: a short note the provider keeps for record r across runs
	 * in the state file (lib/state.h memos), such as a zone it found by
	 * probing, so a one-shot run does not probe again every time.
	 * memo_get writes the note to keep into buf (printable, at most
	 * DW_STATE_MEMO_MAX bytes) and returns true, or returns false when
	 * there is none; memo_set hands a stored note back before the
	 * record's first publish in a process (the provider checks it and may
	 * ignore it).  Never called while a publish of r runs. */
	bool (*memo_get)(const struct dw_record *r, char *buf, size_t cap);
	void (*memo_set)(struct dw_record *r, const char *memo);

	/* Optional: reads back whether the provider holds exactly addr as the
	 * record's only address of addr->family (a signed query, an API GET),
	 * and says so in out, without changing anything.  NULL: the core asks
	 * the zone's authoritative servers instead (dw_update_verify()). */
	void (*verify)(struct dw_provider *p, const struct dw_record *r,
	               const struct dw_ip *addr, struct dw_verify *out);

	void (*free_record)(struct dw_record *r);   /* may be NULL */
	void (*free)(struct dw_provider *p);        /* may be NULL */
};

/* NULL-terminated table of every provider type, in providers/registry.c. */
extern const struct dw_provider_ops *const dw_provider_table[];

/* Provider type by name, or NULL. */
const struct dw_provider_ops *dw_provider_find(const char *type);
