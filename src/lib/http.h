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

/* What was wrong with the server's certificate when a request failed with
 * DW_ETLS (DW_TLS_NONE otherwise).  Every value but DW_TLS_HANDSHAKE is a
 * certificate the client refused: it will not fix itself on a retry. */
enum dw_tls_problem {
	DW_TLS_NONE = 0,
	DW_TLS_HANDSHAKE,      /* not the certificate: protocol, reset, cipher ... */
	DW_TLS_UNTRUSTED,      /* issuer not in the trust store (or self-signed) */
	DW_TLS_NAME,           /* valid, but for other names than the URL's host */
	DW_TLS_EXPIRED,        /* past its notAfter */
	DW_TLS_NOT_YET_VALID,  /* before its notBefore */
	DW_TLS_CERT_OTHER,     /* refused for another reason (revoked, purpose, signature) */
};

struct dw_http_resp {
	long status;                 /* HTTP status of the last response */
	enum dw_tls_problem tls;     /* with DW_ETLS: the kind of failure */
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
 * with a diag naming log_url (never url).  With DW_ETLS, resp->tls says what
 * kind of failure and the diag says what was seen: who issued the
 * certificate (and what trust store refused it), the names it is for, or
 * its validity dates; it names no configuration key (callers do, as they
 * know which one applies).  resp must be released with dw_http_resp_free()
 * in every case. */
int dw_http_request(const struct dw_http_req *req, struct dw_http_resp *resp,
                    struct dw_diag *diag);
void dw_http_resp_free(struct dw_http_resp *resp);

/* Parses a Retry-After value (delta-seconds or IMF-fixdate relative to now);
 * returns seconds >= 0, or -1 when unparsable.  Exposed for tests. */
long dw_http_parse_retry_after(const char *value, long now);

/* Percent-encodes s for a URL query or path component into out (cap bytes);
 * returns 0 or DW_ETOOBIG. */
int dw_http_escape(const char *s, char *out, size_t cap);
