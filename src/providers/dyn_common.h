/* Helpers shared by the simple HTTP update protocols (dyndns2 and its
 * presets, Hurricane Electric, DuckDNS, freemyip): a fixed-capacity URL
 * builder that keeps a redacted twin for logs, reply line splitting, and the
 * scrubbing of secrets from result messages.
 *
 * Nothing here reallocates a buffer that may hold a secret: capacities are
 * fixed at init, so no stale copy is left behind in freed memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/http.h"
#include "lib/provider.h"

/* A URL under construction and the same URL with secret values replaced by
 * "[token]" (safe to log).  After any failure (no room, no memory) `failed`
 * is set and further appends do nothing. */
struct dw_dyn_url {
	char *url;
	char *log;
	size_t ulen, llen, cap;
	bool has_query;
	bool failed;
};

/* Starts "{base}{path}" (trailing '/' of base dropped when path starts with
 * '/').  extra is the room needed for parameters; secrets may take three
 * times their length once escaped.  Returns false on no memory. */
bool dw_dyn_url_init(struct dw_dyn_url *u, const char *base, const char *path, size_t extra);
/* Appends "?" or "&" then name=value, value percent-encoded; a secret value
 * shows as "[token]" in the log twin. */
void dw_dyn_url_param(struct dw_dyn_url *u, const char *name, const char *value, bool secret);
/* Appends "?" or "&" then q verbatim (a fixed, already encoded query part). */
void dw_dyn_url_query(struct dw_dyn_url *u, const char *q);
/* Wipes and frees both strings. */
void dw_dyn_url_free(struct dw_dyn_url *u);

/* Reads the next line of body[0..len) at *off (advancing it): the line
 * without "\n" or "\r\n".  Returns false when *off is at the end. */
bool dw_dyn_next_line(const char *body, size_t len, size_t *off, const char **line, size_t *n);

/* Number of lines in body, ignoring empty lines at the end only. */
size_t dw_dyn_count_lines(const char *body, size_t len);

/* Replaces every occurrence of secret in msg (capacity cap) by "[token]". */
void dw_dyn_scrub(char *msg, size_t cap, const char *secret);

/* True for an https:// URL with something after the scheme. */
bool dw_dyn_is_https(const char *url);

/* Performs req for provider p; on a transport failure fills res
 * (dw_result_http_failure) naming who, and returns false. */
bool dw_dyn_request(const struct dw_provider *p, const struct dw_http_req *req,
                    struct dw_http_resp *resp, const char *who, struct dw_result *res);
