/* The dyndns2 protocol ("Remote Access API", protocols.md section 3): the
 * preset table and the pure reply classifier, kept apart from the network
 * code for unit tests and fuzzing.  The Hurricane Electric provider (he.c)
 * shares the classifier. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/provider.h"

/* Longest reply line that is parsed; longer ones are unparsable. */
#define DW_DYNDNS2_LINE_MAX 512
/* Most hostnames one request may carry (record name + extra-hostnames). */
#define DW_DYNDNS2_HOSTS_MAX 20
/* Shortest back-off after 911, dnserr, servererror or HTTP 5xx. */
#define DW_DYNDNS2_RETRY_MIN 600

/* How a server takes an IPv6 address. */
enum dw_dyndns2_v6 {
	DW_DYNDNS2_V6_NONE = 0,   /* IPv4 only */
	DW_DYNDNS2_V6_SEPARATE,   /* myip=<v4> or myip=<v6>, one family a request */
	DW_DYNDNS2_V6_COMMA,      /* myip=<v4>,<v6> in one request */
	DW_DYNDNS2_V6_PARAM,      /* myip=<v4>&myipv6=<v6> in one request */
};

/* One provider speaking dyndns2: its quirks, as data. */
struct dw_dyndns2_preset {
	const char *name;          /* "preset = NAME" */
	const char *title;         /* for messages: "No-IP" */
	const char *base_url;      /* scheme://host[:port] */
	const char *path;          /* "/nic/update" */
	const char *extra_query;   /* fixed, encoded parameters, or NULL */
	enum dw_dyndns2_v6 v6;
	bool host_list;            /* several hostnames per request allowed */
	uint32_t interval_s;       /* wait after "interval" with no Retry-After */
	uint32_t retry_s;          /* back-off after 911/dnserr (>= 600) */
	const char *doc;           /* public documentation of the quirks */
};

/* The preset called name, or NULL.  dw_dyndns2_presets is NULL-name
 * terminated, in a stable order (for documentation and tests). */
const struct dw_dyndns2_preset *dw_dyndns2_preset_find(const char *name);
extern const struct dw_dyndns2_preset dw_dyndns2_presets[];

/* What a request asked for, so the reply can be checked against it. */
struct dw_dyndns2_expect {
	const char *who;                         /* provider title for messages */
	const char *const *hosts;                /* hostnames, in request order */
	size_t nhosts;                           /* 1..DW_DYNDNS2_HOSTS_MAX */
	const struct dw_ip *sent[DW_FAM_COUNT];  /* addresses sent (NULL: family not sent) */
	bool txt;                                /* a TXT update: no address check */
	long retry_s;                            /* back-off for 911/dnserr/5xx (>= 600 used) */
	long interval_s;                         /* hint for "interval" without Retry-After */
	const char *cred_hint;                   /* what to check on badauth, e.g. "username and password-file" */
};

/* Classifies the reply to one update request into res.
 *
 * status and retry_after_s (-1 when absent) come from the HTTP layer; body
 * holds len bytes, need not be NUL-terminated and may contain anything.
 *   - 429: RATELIMIT (Retry-After, else interval_s); 5xx: RETRY (>= 600 s);
 *   - 200: one line per hostname in request order, each judged by its
 *     first word only: "good [IPS]" DONE, "nochg [IPS]" UNCHANGED (IPS,
 *     when present, one comma-separated word that must list exactly the
 *     addresses sent, else FATAL); badauth, !donator, notfqdn, nohost,
 *     numhost, abuse, badagent, !yours, !active, badsys FATAL with what to
 *     fix; dnserr, 911, servererror RETRY (>= 600 s); interval RATELIMIT.
 *     A single failure line may answer for all hostnames (account level).
 *     Fewer or more lines than hostnames, empty lines, unknown words: RETRY.
 *     The outcome is the worst of all lines (fatal > rate-limited > retry >
 *     done > unchanged).
 *   - other 4xx: the body's code when it has one, else FATAL by status;
 *   - anything else: RETRY.
 * The message never contains anything but a short sanitised sample of the
 * reply and names from ex. */
void dw_dyndns2_classify(long status, const char *body, size_t len, long retry_after_s,
                         const struct dw_dyndns2_expect *ex, struct dw_result *res);
