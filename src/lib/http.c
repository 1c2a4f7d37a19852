/* HTTPS requests through the libcurl easy interface.
 *
 * One transfer = one struct http_xfer (the reply being collected) plus an
 * easy handle configured by http_easy_setup().  The setup and the
 * interpretation of a finished transfer (http_easy_result) are kept apart
 * from curl_easy_perform() so that a multi-interface driver can reuse them.
 *
 * Redirects are never followed by libcurl: a 3xx reply is inspected here and
 * followed (at most DW_HTTP_REDIRECTS_MAX times) only when the target has the
 * same scheme, host and port, so credentials never leave their origin. */
#include "lib/http.h"
#include "lib/log.h"
#include "lib/text.h"

#include "dw_build.h"

#include <curl/curl.h>
#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#define DW_HTTP_REDIRECTS_MAX 3
#define DW_HTTP_DEFAULT_TIMEOUT_MS 20000L
#define DW_HTTP_CONNECT_TIMEOUT_MS 10000L
#define DW_HTTP_RETRY_AFTER_MAX 2147483647L

/* What the certificate check saw, for messages (printable ASCII only). */
struct http_tls_seen {
	int err;                   /* first X509_V_ERR_*, 0 = none */
	int depth;                 /* of the certificate it concerns */
	char subject[160];         /* that certificate's subject ... */
	char issuer[160];          /* ... its issuer (RFC 2253) */
	char not_before[32], not_after[32];
	bool leaf;                 /* the server's own certificate was seen: */
	char leaf_issuer[160];
	char leaf_names[200];      /* its DNS/IP subject alternative names, or CN */
};

/* State of one transfer, filled by the callbacks. */
struct http_xfer {
	struct http_tls_seen tls;
	char *body;             /* malloc'd, NUL-terminated */
	size_t len, cap;
	bool too_big;
	bool oom;
	long retry_after_s;
	char content_type[128];
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers;
};

_Static_assert(sizeof(((struct http_xfer *)0)->content_type) ==
               sizeof(((struct dw_http_resp *)0)->content_type), "content_type sizes differ");

/* SSL_CTX ex-data slot that carries the transfer to the verify callback. */
static int http_ex_idx = -1;

int dw_http_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return DW_ENOMEM;
	if (http_ex_idx < 0)
		http_ex_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return DW_OK;
}

/* ---- What a refused certificate looked like ---------------------------- */

/* Copies text, keeping printable ASCII (the certificate is the server's:
 * its names are untrusted bytes). */
static void tls_copy(const char *s, size_t n, char *out, size_t cap)
{
	if (cap == 0)
		return;
	dw_text_sample(s, n, cap - 1, out, cap);
}

static void tls_name(const X509_NAME *nm, char *out, size_t cap)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		char *p = NULL;
		long n = BIO_get_mem_data(b, &p);
		if (n > 0 && p != NULL)
			tls_copy(p, (size_t)n, out, cap);
	}
	BIO_free(b);
}

static void tls_time(const ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;
	out[0] = '\0';
	if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Appends s to out (capacity cap, at position *o) with ", " between. */
static void tls_append(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + (*o > 0 ? 2 : 0) + n + 1 > cap)
		return;
	if (*o > 0) {
		memcpy(out + *o, ", ", 2);
		*o += 2;
	}
	tls_copy(s, n, out + *o, cap - *o);
	*o += strlen(out + *o);
}

/* The names a certificate is for: DNS and IP subject alternative names,
 * else its common name. */
static void tls_names(X509 *cert, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
			tls_append(out, cap, &o, (const char *)d, (size_t)ASN1_STRING_length(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			int n = ASN1_STRING_length(g->d.iPAddress);
			char a[INET6_ADDRSTRLEN];
			if ((n == 4 || n == 16) &&
			    inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress),
			              a, sizeof(a)) != NULL)
				tls_append(out, cap, &o, a, strlen(a));
		}
	}
	GENERAL_NAMES_free(gens);
	if (o == 0) {
		char cn[128];
		int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
		                                  cn, sizeof(cn));
		if (n > 0)
			tls_append(out, cap, &o, cn, (size_t)n);
	}
}

/* OpenSSL's verify callback: records what it saw and changes nothing
 * (returns OpenSSL's own verdict). */
static int http_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct http_xfer *x = ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), http_ex_idx)
	                                  : NULL;
	if (x == NULL)
		return ok;
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);
	int depth = X509_STORE_CTX_get_error_depth(sctx);
	if (cert != NULL && depth == 0 && !x->tls.leaf) {
		x->tls.leaf = true;
		tls_name(X509_get_issuer_name(cert), x->tls.leaf_issuer, sizeof(x->tls.leaf_issuer));
		tls_names(cert, x->tls.leaf_names, sizeof(x->tls.leaf_names));
	}
	if (!ok && x->tls.err == 0) {
		x->tls.err = X509_STORE_CTX_get_error(sctx);
		x->tls.depth = depth;
		if (cert != NULL) {
			tls_name(X509_get_subject_name(cert), x->tls.subject, sizeof(x->tls.subject));
			tls_name(X509_get_issuer_name(cert), x->tls.issuer, sizeof(x->tls.issuer));
			tls_time(X509_get0_notBefore(cert), x->tls.not_before, sizeof(x->tls.not_before));
			tls_time(X509_get0_notAfter(cert), x->tls.not_after, sizeof(x->tls.not_after));
		}
	}
	return ok;
}

/* CURLOPT_SSL_CTX_FUNCTION: keeps curl's verify mode, adds the callback
 * above.  libcurl calls it after setting up verification itself. */
static CURLcode http_ssl_ctx_cb(CURL *h, void *sslctx, void *arg)
{
	(void)h;
	SSL_CTX *ctx = sslctx;
	if (http_ex_idx >= 0 && SSL_CTX_set_ex_data(ctx, http_ex_idx, arg) == 1)
		SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), http_verify_cb);
	return CURLE_OK;
}

/* The host of a URL for messages ("" when it cannot be parsed). */
static void http_host_of(const char *url, char *out, size_t cap)
{
	out[0] = '\0';
	CURLU *u = curl_url();
	char *host = NULL;
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL)
		tls_copy(host, strlen(host), out, cap);
	curl_free(host);
	curl_url_cleanup(u);
}

/* Classifies a TLS failure from what the verify callback saw, and formats
 * what a user needs to know into diag. */
static int http_tls_result(CURLcode c, const struct http_xfer *x, const struct dw_http_req *req,
                           const char *url, const char *log_url, const char *why,
                           enum dw_tls_problem *kind, struct dw_diag *diag)
{
	const struct http_tls_seen *t = &x->tls;
	char host[256];
	http_host_of(url, host, sizeof(host));
	const char *store = req->ca_file != NULL ? req->ca_file : "the system's trust store";
	const char *in = req->ca_file != NULL ? "the CA file " : "";
	switch (t->err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		*kind = DW_TLS_UNTRUSTED;
		return dw_diag_set(diag, DW_ETLS,
		                   "%s: TLS verification failed: the certificate of %s was issued by "
		                   "\"%s\", a CA not in %s%s", log_url, host,
		                   t->issuer[0] != '\0' ? t->issuer : "an unnamed CA", in, store);
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		*kind = DW_TLS_UNTRUSTED;
		return dw_diag_set(diag, DW_ETLS,
		                   "%s: TLS verification failed: the certificate of %s %s \"%s\", "
		                   "which is not in %s%s", log_url, host,
		                   t->depth == 0 ? "is self-signed by" : "comes from the self-signed CA",
		                   t->subject[0] != '\0' ? t->subject : "an unnamed CA", in, store);
	case X509_V_ERR_CERT_HAS_EXPIRED:
		*kind = DW_TLS_EXPIRED;
		return dw_diag_set(diag, DW_ETLS,
		                   "%s: TLS verification failed: the %scertificate of %s (\"%s\", issued "
		                   "by \"%s\") expired on %s", log_url, t->depth == 0 ? "" : "CA ", host,
		                   t->subject, t->issuer, t->not_after);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		*kind = DW_TLS_NOT_YET_VALID;
		return dw_diag_set(diag, DW_ETLS,
		                   "%s: TLS verification failed: the %scertificate of %s (\"%s\") is valid "
		                   "only from %s", log_url, t->depth == 0 ? "" : "CA ", host, t->subject,
		                   t->not_before);
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		break;   /* below, as when libcurl checks the name itself */
	case 0:
		if (c != CURLE_PEER_FAILED_VERIFICATION || !t->leaf) {
			*kind = DW_TLS_HANDSHAKE;
			return dw_diag_set(diag, DW_ETLS, "%s: TLS handshake failed: %s", log_url, why);
		}
		break;   /* the chain was fine: the name did not match */
	default:
		*kind = DW_TLS_CERT_OTHER;
		return dw_diag_set(diag, DW_ETLS,
		                   "%s: TLS verification failed: the certificate of %s (\"%s\", issued "
		                   "by \"%s\") was refused: %s", log_url, host, t->subject, t->issuer,
		                   X509_verify_cert_error_string(t->err));
	}
	*kind = DW_TLS_NAME;
	return dw_diag_set(diag, DW_ETLS,
	                   "%s: TLS verification failed: the certificate is for %s, not for %s "
	                   "(issued by \"%s\")", log_url,
	                   t->leaf_names[0] != '\0' ? t->leaf_names : "no name at all", host,
	                   t->leaf_issuer);
}

void dw_http_global_cleanup(void)
{
	curl_global_cleanup();
}

void dw_http_resp_free(struct dw_http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_xfer *x = userp;
	size_t n = size * nmemb;

	if (n == 0)
		return 0;
	if (n > DW_HTTP_BODY_MAX || x->len > DW_HTTP_BODY_MAX - n) {
		x->too_big = true;
		return 0;   /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (x->len + n + 1 > x->cap) {
		size_t ncap = x->cap ? x->cap : 4096;
		while (ncap < x->len + n + 1)
			ncap *= 2;
		if (ncap > DW_HTTP_BODY_MAX + 1)
			ncap = DW_HTTP_BODY_MAX + 1;
		char *nb = realloc(x->body, ncap);
		if (nb == NULL) {
			x->oom = true;
			return 0;
		}
		x->body = nb;
		x->cap = ncap;
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

/* Copies a header value, trimmed, keeping printable ASCII only. */
static void http_copy_value(const char *v, size_t n, char *out, size_t cap)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)v[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (cap > 0)
		out[o] = '\0';
}

static size_t http_header_cb(char *data, size_t size, size_t nitems, void *userp)
{
	struct http_xfer *x = userp;
	size_t n = size * nitems;

	/* A new status line starts a new response (redirect hop, 100 Continue):
	 * forget what the previous one said. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		x->retry_after_s = -1;
		x->content_type[0] = '\0';
		return n;
	}
	const char *colon = memchr(data, ':', n);
	if (colon == NULL)
		return n;
	size_t nlen = (size_t)(colon - data);
	const char *val = colon + 1;
	size_t vlen = n - nlen - 1;

	if (nlen == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		char buf[128];
		http_copy_value(val, vlen, buf, sizeof(buf));
		x->retry_after_s = dw_http_parse_retry_after(buf, (long)time(NULL));
	} else if (nlen == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
		http_copy_value(val, vlen, x->content_type, sizeof(x->content_type));
	}
	return n;
}

long dw_http_parse_retry_after(const char *value, long now)
{
	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= 128)
		return -1;

	bool digits = true;
	for (size_t i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '9') {
			digits = false;
			break;
		}
	}
	if (digits) {
		long v = 0;
		for (size_t i = 0; i < n; i++) {
			long d = value[i] - '0';
			if (v > (DW_HTTP_RETRY_AFTER_MAX - d) / 10)
				return DW_HTTP_RETRY_AFTER_MAX;   /* saturate absurd values */
			v = v * 10 + d;
		}
		return v;
	}

	/* An HTTP date (IMF-fixdate; curl also takes the obsolete RFC 850 and
	 * asctime forms).  It must name a month, so that bare signed numbers or
	 * other fragments curl_getdate() is lenient about are refused. */
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	bool has_month = false;
	for (size_t i = 0; i + 3 <= n && !has_month; i++) {
		for (size_t m = 0; m < 12; m++) {
			if (strncasecmp(value + i, months[m], 3) == 0) {
				has_month = true;
				break;
			}
		}
	}
	if (!has_month)
		return -1;
	char buf[128];
	memcpy(buf, value, n);
	buf[n] = '\0';
	time_t t = curl_getdate(buf, NULL);
	if (t == (time_t)-1)
		return -1;
	if ((long long)t <= (long long)now)
		return 0;
	long long d = (long long)t - (long long)now;
	return d > DW_HTTP_RETRY_AFTER_MAX ? DW_HTTP_RETRY_AFTER_MAX : (long)d;
}

int dw_http_escape(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (cap == 0)
		return DW_ETOOBIG;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		size_t need = keep ? 1 : 3;
		if (o + need + 1 > cap) {
			out[0] = '\0';
			return DW_ETOOBIG;
		}
		if (keep) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0x0f];
		}
	}
	out[o] = '\0';
	return DW_OK;
}

/* Configures h for one hop of req to url; x receives the reply.  Everything
 * security-relevant is set here, unconditionally. */
static int http_easy_setup(CURL *h, const struct dw_http_req *req, const char *url,
                           const char *method, bool send_body, long total, struct http_xfer *x)
{
	CURLcode c = CURLE_OK;
	long connect = total < DW_HTTP_CONNECT_TIMEOUT_MS ? total : DW_HTTP_CONNECT_TIMEOUT_MS;
	const char *protos = req->allow_plain_http ? "http,https" : "https";

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, protos);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, protos);
#else
	long pbits = req->allow_plain_http ? (CURLPROTO_HTTP | CURLPROTO_HTTPS) : CURLPROTO_HTTPS;
	(void)protos;
	SET(CURLOPT_PROTOCOLS, pbits);
	SET(CURLOPT_REDIR_PROTOCOLS, pbits);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL) {
		SET(CURLOPT_CAINFO, req->ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
#undef SET
	/* Only to explain a refused certificate (issuer, names, dates): a
	 * TLS backend other than OpenSSL refuses the option, which is fine. */
	if (c == CURLE_OK && curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx_cb) == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, x);
#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
	SET(CURLOPT_TIMEOUT_MS, total);
	SET(CURLOPT_USERAGENT, "dnsward/" DW_VERSION);
	if (req->ip_version == 4)
		SET(CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V4);
	else if (req->ip_version == 6)
		SET(CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V6);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DW_HTTP_BODY_MAX);
	SET(CURLOPT_WRITEFUNCTION, http_write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, http_header_cb);
	SET(CURLOPT_HEADERDATA, x);

	if (req->bearer != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SET(CURLOPT_XOAUTH2_BEARER, req->bearer);
	} else if (req->basic_user != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, req->basic_user);
		SET(CURLOPT_PASSWORD, req->basic_pass != NULL ? req->basic_pass : "");
	}

	if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
	if (send_body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body);
	}
#undef SET
	if (c != CURLE_OK)
		return DW_EHTTP;

	for (size_t i = 0; i < DW_HTTP_HEADERS_MAX && req->headers[i] != NULL; i++) {
		struct curl_slist *n = curl_slist_append(x->headers, req->headers[i]);
		if (n == NULL)
			return DW_ENOMEM;
		x->headers = n;
	}
	if (send_body) {
		/* No "Expect: 100-continue" round trip for our small bodies. */
		struct curl_slist *n = curl_slist_append(x->headers, "Expect:");
		if (n == NULL)
			return DW_ENOMEM;
		x->headers = n;
	}
	if (x->headers != NULL && curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK)
		return DW_EHTTP;
	return DW_OK;
}

static bool http_is_tls_error(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

/* Makes curl's error text safe to show: printable ASCII only, and dropped
 * entirely if it quotes the secret-bearing part of the URL. */
static const char *http_safe_error(CURLcode c, struct http_xfer *x, const struct dw_http_req *req,
                                   const char *url)
{
	char *e = x->errbuf;
	if (e[0] == '\0')
		return curl_easy_strerror(c);
	if (req->log_url != NULL || req->bearer != NULL || req->basic_pass != NULL) {
		const char *path = strstr(url, "://");
		path = path != NULL ? strchr(path + 3, '/') : NULL;
		if ((path != NULL && path[1] != '\0' && strstr(e, path + 1) != NULL) ||
		    (req->bearer != NULL && req->bearer[0] != '\0' && strstr(e, req->bearer) != NULL) ||
		    (req->basic_pass != NULL && req->basic_pass[0] != '\0' &&
		     strstr(e, req->basic_pass) != NULL))
			return curl_easy_strerror(c);
	}
	size_t n = strlen(e);
	while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == '\r' || e[n - 1] == ' '))
		e[--n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)e[i];
		if (ch < 0x20 || ch >= 0x7f)
			e[i] = '?';
	}
	return e;
}

/* Maps a finished transfer to a dw_error with a diag naming log_url. */
static int http_easy_result(CURLcode c, struct http_xfer *x, const struct dw_http_req *req,
                            const char *url, const char *log_url, enum dw_tls_problem *tls,
                            struct dw_diag *diag)
{
	if (c == CURLE_OK)
		return DW_OK;
	if (x->oom)
		return dw_diag_set(diag, DW_ENOMEM, "%s: out of memory reading the reply", log_url);
	if (x->too_big || c == CURLE_FILESIZE_EXCEEDED)
		return dw_diag_set(diag, DW_ETOOBIG, "%s: reply larger than %d bytes",
		                   log_url, DW_HTTP_BODY_MAX);
	const char *why = http_safe_error(c, x, req, url);
	if (c == CURLE_OPERATION_TIMEDOUT)
		return dw_diag_set(diag, DW_ETIMEOUT, "%s: timed out: %s", log_url, why);
	if (http_is_tls_error(c))
		return http_tls_result(c, x, req, url, log_url, why, tls, diag);
	if (c == CURLE_UNSUPPORTED_PROTOCOL)
		return dw_diag_set(diag, DW_EHTTP, "%s: refused: only https:// URLs are allowed (%s)",
		                   log_url, why);
	return dw_diag_set(diag, DW_EHTTP, "%s: %s", log_url, why);
}

/* Scheme, host and port of an absolute URL, lower-cased where case does not
 * matter.  Returns false when the URL cannot be parsed. */
struct http_origin {
	char scheme[16];
	char host[256];
	char port[8];
};

static bool http_origin_of(const char *url, struct http_origin *o)
{
	bool ok = false;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	int a = snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
	int b = snprintf(o->host, sizeof(o->host), "%s", host);
	int d = snprintf(o->port, sizeof(o->port), "%s", port);
	if (a < 0 || (size_t)a >= sizeof(o->scheme) || b < 0 || (size_t)b >= sizeof(o->host) ||
	    d < 0 || (size_t)d >= sizeof(o->port))
		goto out;
	for (char *p = o->scheme; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = o->host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

static bool http_same_origin(const char *a, const char *b)
{
	struct http_origin oa, ob;
	if (!http_origin_of(a, &oa) || !http_origin_of(b, &ob))
		return false;
	return strcmp(oa.scheme, ob.scheme) == 0 && strcmp(oa.host, ob.host) == 0 &&
	       strcmp(oa.port, ob.port) == 0;
}

static void http_xfer_reset(struct http_xfer *x)
{
	free(x->body);
	curl_slist_free_all(x->headers);
	memset(x, 0, sizeof(*x));
	x->retry_after_s = -1;
}

static long http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void http_wipe(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
}

int dw_http_request(const struct dw_http_req *req, struct dw_http_resp *resp,
                    struct dw_diag *diag)
{
	int ret = DW_OK;
	struct http_xfer x = { .retry_after_s = -1 };
	char *cur_url = NULL;       /* current hop; may hold a secret */
	const char *method = req->method != NULL ? req->method : "GET";
	const char *log_url = req->log_url != NULL ? req->log_url : req->url;
	bool send_body = req->body != NULL;
	bool redirected = false;
	/* The timeout covers the whole request, redirects included. */
	long budget = req->timeout_ms > 0 ? req->timeout_ms : DW_HTTP_DEFAULT_TIMEOUT_MS;
	long deadline = http_now_ms() + budget;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;

	CURL *h = curl_easy_init();
	if (h == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "%s: cannot create an HTTP handle", log_url);
	cur_url = strdup(req->url);
	if (cur_url == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "%s: out of memory", log_url);
		goto out;
	}

	for (int hop = 0;; hop++) {
		http_xfer_reset(&x);
		curl_easy_reset(h);
		long left = deadline - http_now_ms();
		if (left <= 0) {
			ret = dw_diag_set(diag, DW_ETIMEOUT, "%s: timed out after a redirect", log_url);
			goto out;
		}
		ret = http_easy_setup(h, req, cur_url, method, send_body, left, &x);
		if (ret != DW_OK) {
			ret = dw_diag_set(diag, ret, "%s: cannot configure the HTTP request", log_url);
			goto out;
		}
		log_debug("HTTP %s %s%s", method, log_url, redirected ? " (after redirect)" : "");
		CURLcode c = curl_easy_perform(h);
		ret = http_easy_result(c, &x, req, cur_url, log_url, &resp->tls, diag);
		if (ret != DW_OK) {
			log_debug("HTTP %s %s failed: %s", method, log_url, dw_strerror(ret));
			goto out;
		}
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		log_debug("HTTP %s %s -> %ld, %zu bytes", method, log_url, status, x.len);

		char *location = NULL;
		if (status >= 300 && status < 400 &&
		    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
		    location != NULL) {
			/* Never log or quote location: on the same origin it may carry
			 * the same secret as the request path. */
			if (!http_same_origin(cur_url, location)) {
				ret = dw_diag_set(diag, DW_EREDIRECT,
				                  "%s: HTTP %ld redirect to another origin refused "
				                  "(credentials are never sent elsewhere)", log_url, status);
				goto out;
			}
			if (hop >= DW_HTTP_REDIRECTS_MAX) {
				ret = dw_diag_set(diag, DW_EREDIRECT, "%s: more than %d redirects",
				                  log_url, DW_HTTP_REDIRECTS_MAX);
				goto out;
			}
			char *next = strdup(location);
			if (next == NULL) {
				ret = dw_diag_set(diag, DW_ENOMEM, "%s: out of memory", log_url);
				goto out;
			}
			http_wipe(cur_url);
			free(cur_url);
			cur_url = next;
			/* 303 always, and 301/302 after a POST, continue as GET
			 * (what browsers and curl do); 307/308 keep method and body. */
			if (status == 303 || ((status == 301 || status == 302) &&
			                      strcmp(method, "POST") == 0)) {
				method = "GET";
				send_body = false;
			}
			redirected = true;
			continue;
		}

		resp->status = status;
		resp->retry_after_s = x.retry_after_s;
		memcpy(resp->content_type, x.content_type, sizeof(resp->content_type));
		if (x.body == NULL) {
			x.body = calloc(1, 1);
			if (x.body == NULL) {
				ret = dw_diag_set(diag, DW_ENOMEM, "%s: out of memory", log_url);
				goto out;
			}
		}
		resp->body = x.body;
		resp->len = x.len;
		x.body = NULL;
		break;
	}
out:
	http_xfer_reset(&x);
	http_wipe(cur_url);
	free(cur_url);
	curl_easy_cleanup(h);
	return ret;
}
