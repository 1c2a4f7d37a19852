/* HTTPS requests through libcurl, with the safety rules every provider needs:
 *   - TLS peer and hostname verification always on (no option turns it off);
 *     ca_file replaces the system trust store (tests, private CAs);
 *   - connect and total timeouts; reply bodies capped at DW_HTTP_BODY_MAX;
 *   - User-Agent "dnsward/VERSION";
 *   - redirects followed only within the same origin (scheme, host, port), at
 *     most 3, so credentials are never sent to another host;
 *   - only https:// URLs, unless allow_plain_http is set (never for secrets).
 * Callers pass a redacted form of the URL for logs (tokens in paths). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "lib/escape.h"   /* dw_http_escape, for URLs */

#define DW_HTTP_BODY_MAX (256 * 1024)
#define DW_HTTP_HEADERS_MAX 8

struct dw_http_req {
	const char *method;          /* "GET", "PUT", "POST", "DELETE"; NULL = GET */
	const char *url;             /* may contain secrets */
	const char *log_url;         /* safe to log; NULL = url has no secret */
	const char *headers[DW_HTTP_HEADERS_MAX]; /* "Name: value", NULL-terminated */
	const char *bearer;          /* secret for "Authorization: Bearer", or NULL */
	const char *basic_user;      /* HTTP Basic credentials, or NULL */
	const char *basic_pass;
	const char *body;            /* request body or NULL */
	size_t body_len;
	const char *ca_file;         /* PEM bundle; NULL = system store */
	long timeout_ms;             /* total; 0 = default 20 s */
	bool allow_plain_http;
	int ip_version;              /* 4 or 6: connect over that family only; 0 = either */
};

struct dw_http_resp {
	long status;                 /* HTTP status of the last response */
	char *body;                  /* NUL-terminated; owned, free with dw_http_resp_free */
	size_t len;
	long retry_after_s;          /* Retry-After in seconds (delta or date), -1 if absent */
	char content_type[128];
};

/* Process-wide set-up and tear-down of libcurl (call once from main). */
int dw_http_global_init(void);
void dw_http_global_cleanup(void);

/* Performs the request.  Returns 0 when an HTTP response arrived (whatever its
 * status), else DW_EHTTP, DW_ETLS, DW_ETIMEOUT, DW_ETOOBIG or DW_EREDIRECT
 * with a diag naming log_url (never url).  resp must be released with
 * dw_http_resp_free() in every case. */
int dw_http_request(const struct dw_http_req *req, struct dw_http_resp *resp,
                    struct dw_diag *diag);
void dw_http_resp_free(struct dw_http_resp *resp);

/* Parses a Retry-After value (delta-seconds or IMF-fixdate relative to now);
 * returns seconds >= 0, or -1 when unparsable.  Exposed for tests. */
long dw_http_parse_retry_after(const char *value, long now);

