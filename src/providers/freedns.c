/* FreeDNS (freedns.afraid.org) dynamic update, protocol v2: one random token
 * per record and family, sent in the URL path (protocols.md section 2).
 *
 * The token is a secret although it sits in the URL: every URL built here is
 * wiped after use, logs and messages use a copy with "[token]" in its place. */
#include "providers/freedns.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"

#define FREEDNS_DEFAULT_V6 "https://v6.sync.afraid.org"
#define FREEDNS_SAMPLE_MAX 120
#define FREEDNS_WORDS_MAX 16

struct dw_provider_data {
	char *base_v6;           /* IPv6 endpoint (base-url-v6) */
};

struct dw_record_data {
	struct dw_secret token[DW_FAM_COUNT];   /* empty when the family is off */
};

static const char *freedns_token_key(enum dw_family fam)
{
	return fam == DW_FAM_V4 ? "token-a-file" : "token-aaaa-file";
}

/* ---- Reply classification (pure) ---- */

struct freedns_word {
	const char *p;
	size_t n;
};

static bool word_is(const struct freedns_word *w, const char *lit)
{
	size_t n = strlen(lit);
	return w->n == n && memcmp(w->p, lit, n) == 0;
}

/* Splits line[0..n) at single spaces; empty words (double spaces, leading or
 * trailing space) make the line unparsable.  Returns the word count, or -1. */
static int freedns_split(const char *line, size_t n, struct freedns_word *w, int max)
{
	int count = 0;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && line[i] != ' ')
			continue;
		if (i == start || count == max)
			return -1;
		w[count].p = line + start;
		w[count].n = i - start;
		count++;
		start = i + 1;
	}
	return count;
}

/* Compares a reply's host word with the configured FQDN. */
static bool freedns_host_matches(const struct freedns_word *w, const char *host)
{
	if (host == NULL)
		return true;
	size_t wn = w->n;
	size_t hn = strlen(host);
	if (wn > 0 && w->p[wn - 1] == '.')
		wn--;
	if (hn > 0 && host[hn - 1] == '.')
		hn--;
	return wn == hn && wn > 0 && strncasecmp(w->p, host, wn) == 0;
}

/* Parses an address word strictly as the family of sent. */
static bool freedns_addr_word(const struct freedns_word *w, const struct dw_ip *sent,
                              struct dw_ip *out)
{
	char buf[DW_IP_STRLEN];
	if (w->n == 0 || w->n >= sizeof(buf))
		return false;
	memcpy(buf, w->p, w->n);
	buf[w->n] = '\0';
	return dw_ip_parse(buf, sent->family, out) == 0;
}

static void freedns_http_status(long status, long retry_after_s, const char *key,
                                struct dw_result *res)
{
	if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "FreeDNS", status, retry_after_s, -1, NULL);
	} else if (status == 401 || status == 403) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "FreeDNS refused the token (HTTP %ld): check %s", status, key);
	} else if (status == 404) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "FreeDNS does not know this update URL (HTTP 404): check %s and base-url",
		              key);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "FreeDNS rejected the request (HTTP %ld)", status);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from FreeDNS", status);
	}
}

/* A success line names the host and the address FreeDNS now holds: both
 * must be ours, else the token is another host's (or FreeDNS set something
 * else) and retrying would only flip the record back and forth. */
static void freedns_confirm(const struct freedns_word *hostw, const struct freedns_word *ipw,
                            const char *host, const struct dw_ip *sent, const char *key,
                            const char *sample, enum dw_outcome ok, struct dw_result *res)
{
	char sent_txt[DW_IP_STRLEN];
	struct dw_ip got;

	dw_ip_format(sent, sent_txt);
	if (!freedns_addr_word(ipw, sent, &got)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from FreeDNS: \"%s\"", sample);
		return;
	}
	if (!dw_ip_equal(&got, sent)) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "FreeDNS holds another address than the one sent (%s): \"%s\"",
		              sent_txt, sample);
		return;
	}
	if (!freedns_host_matches(hostw, host)) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "the %s token belongs to another host than %s: \"%s\"", key, host, sample);
		return;
	}
	if (ok == DW_OUT_DONE)
		dw_result_set(res, DW_OUT_DONE, -1, "FreeDNS updated %s", sent_txt);
	else
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "FreeDNS already had %s", sent_txt);
}

void dw_freedns_classify(long status, const char *body, size_t len, long retry_after_s,
                         const char *host, const struct dw_ip *sent, struct dw_result *res)
{
	const char *key = freedns_token_key(sent->family);
	char sample[FREEDNS_SAMPLE_MAX + 1];
	if (status != 200) {
		freedns_http_status(status, retry_after_s, key, res);
		return;
	}

	/* The first line, without its line ending. */
	size_t n = 0;
	while (n < len && body[n] != '\n')
		n++;
	if (n > 0 && body[n - 1] == '\r')
		n--;
	dw_text_sample(body, n, FREEDNS_SAMPLE_MAX, sample, sizeof(sample));
	if (n == 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from FreeDNS (empty)");
		return;
	}
	if (n > DW_FREEDNS_LINE_MAX || memchr(body, '\0', n) != NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from FreeDNS: \"%s\"", sample);
		return;
	}

	/* "ERROR: ..." (or a bare "ERROR:"): the token is wrong, disabled or
	 * blocked; retrying cannot help. */
	if (n >= 6 && memcmp(body, "ERROR:", 6) == 0 && (n == 6 || body[6] == ' ')) {
		size_t skip = n > 7 ? 7 : n;
		dw_text_sample(body + skip, n - skip, FREEDNS_SAMPLE_MAX, sample, sizeof(sample));
		dw_result_set(res, DW_OUT_FATAL, -1, "FreeDNS refused the update: \"%s\" (check %s)",
		              sample, key);
		return;
	}

	static const char not_found[] = "Couldn't find any matching DNS records";
	size_t nf = sizeof(not_found) - 1;
	if (n >= nf && memcmp(body, not_found, nf) == 0 &&
	    (n == nf || body[nf] == ' ' || body[nf] == '.')) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "FreeDNS: unknown record/token (\"%s\"): check %s", sample, key);
		return;
	}

	struct freedns_word w[FREEDNS_WORDS_MAX];
	int nw = freedns_split(body, n, w, FREEDNS_WORDS_MAX);

	/* Updated HOST from OLD to NEW */
	if (nw == 6 && word_is(&w[0], "Updated") && word_is(&w[2], "from") && word_is(&w[4], "to")) {
		freedns_confirm(&w[1], &w[5], host, sent, key, sample, DW_OUT_DONE, res);
		return;
	}

	/* No IP change detected for HOST with IP IP, skipping update */
	if (nw == 11 && word_is(&w[0], "No") && word_is(&w[1], "IP") && word_is(&w[2], "change") &&
	    word_is(&w[3], "detected") && word_is(&w[4], "for") && word_is(&w[6], "with") &&
	    word_is(&w[7], "IP") && w[8].n > 1 && w[8].p[w[8].n - 1] == ',' &&
	    word_is(&w[9], "skipping") && word_is(&w[10], "update")) {
		struct freedns_word ipw = { w[8].p, w[8].n - 1 };
		freedns_confirm(&w[5], &ipw, host, sent, key, sample, DW_OUT_UNCHANGED, res);
		return;
	}

	dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from FreeDNS: \"%s\"", sample);
}

/* ---- Configuration ---- */

static bool freedns_is_https(const char *url)
{
	return url != NULL && strncasecmp(url, "https://", 8) == 0 && url[8] != '\0';
}

static int freedns_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;

	int rc = dw_conf_strdup(ctx, "base-url-v6", FREEDNS_DEFAULT_V6, &d->base_v6);
	if (rc != 0)
		return rc;
	/* The token travels in the URL: plain http would expose it. */
	if (!freedns_is_https(p->base_url))
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (the token is part of it)");
	if (!freedns_is_https(d->base_v6))
		return dw_conf_error(ctx, "base-url-v6",
		                     "must be an https:// URL (the token is part of it)");
	return 0;
}

static int freedns_configure_record(struct dw_provider *p, struct dw_record *r,
                                    struct dw_conf_ctx *ctx)
{
	struct dw_record_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = d;

	bool any = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		const char *key = freedns_token_key((enum dw_family)f);
		if (r->src[f].kind == DW_SRC_OFF) {
			/* A token for a family that is switched off is accepted and
			 * left unread, so turning a family off needs one edit. */
			(void)dw_conf_get(ctx, key);
			continue;
		}
		any = true;
		int rc = dw_conf_secret(ctx, key, true, DW_SECRET_LINE, &d->token[f]);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < d->token[f].len; i++) {
			unsigned char c = (unsigned char)d->token[f].data[i];
			if (c <= 0x20 || c >= 0x7f)
				return dw_conf_error(ctx, key,
				                     "the file must hold the token alone on one line "
				                     "(no spaces or control characters)");
		}
	}
	if (!any)
		return dw_conf_error(ctx, NULL, "neither ipv4 nor ipv6 is enabled");
	return 0;
}

/* ---- Update ---- */

/* Appends s[0..n) to buf (capacity cap, length *len); false when it does not fit. */
static bool freedns_append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n >= cap - *len)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

/* Builds "{base}/u/{tok}/?address={ip}" into buf. */
static bool freedns_build_url(char *buf, size_t cap, const char *base, size_t blen,
                              const char *tok, const char *ip)
{
	size_t len = 0;
	buf[0] = '\0';
	return freedns_append(buf, cap, &len, base, blen) &&
	       freedns_append(buf, cap, &len, "/u/", 3) &&
	       freedns_append(buf, cap, &len, tok, strlen(tok)) &&
	       freedns_append(buf, cap, &len, "/?address=", 10) &&
	       freedns_append(buf, cap, &len, ip, strlen(ip));
}

/* Replaces every occurrence of secret in msg (capacity cap) by "[token]". */
static void freedns_scrub(char *msg, size_t cap, const char *secret)
{
	size_t sl = secret != NULL ? strlen(secret) : 0;
	if (sl == 0 || strstr(msg, secret) == NULL)
		return;
	char out[sizeof(((struct dw_result *)0)->msg)];
	size_t o = 0;
	const char *p = msg;
	while (*p != '\0' && o + 1 < sizeof(out)) {
		if (strncmp(p, secret, sl) == 0) {
			static const char mark[] = "[token]";
			for (size_t i = 0; mark[i] != '\0' && o + 1 < sizeof(out); i++)
				out[o++] = mark[i];
			p += sl;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	snprintf(msg, cap, "%s", out);
	explicit_bzero(out, sizeof(out));
}

static void freedns_update(struct dw_provider *p, const struct dw_record *r,
                           const struct dw_ip *addr, struct dw_result *res)
{
	const struct dw_record_data *rd = r->data;
	const struct dw_provider_data *pd = p->data;
	const char *key = freedns_token_key(addr->family);
	char *tok = NULL, *url = NULL;
	size_t tokcap = 0, urlcap = 0;
	struct dw_http_resp resp = { 0 };
	struct dw_diag diag = { { 0 } };
	char ip[DW_IP_STRLEN];
	char log_url[1024];

	if (rd == NULL || pd == NULL || rd->token[addr->family].data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "no %s configured for %s", key, r->fqdn);
		return;
	}
	const struct dw_secret *secret = &rd->token[addr->family];
	const char *base = addr->family == DW_FAM_V4 ? p->base_url : pd->base_v6;
	size_t blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	dw_ip_format(addr, ip);

	if (!freedns_build_url(log_url, sizeof(log_url), base, blen, "[token]", ip)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "FreeDNS base URL too long");
		return;
	}

	tokcap = secret->len * 3 + 1;
	tok = malloc(tokcap);
	urlcap = blen + tokcap + sizeof("/u//?address=") + DW_IP_STRLEN;
	url = malloc(urlcap);
	if (tok == NULL || url == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	if (dw_http_escape(secret->data, tok, tokcap) != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "%s: token too long", key);
		goto out;
	}
	if (!freedns_build_url(url, urlcap, base, blen, tok, ip)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "FreeDNS update URL too long");
		goto out;
	}

	struct dw_http_req req = {
		.method = "GET",
		.url = url,
		.log_url = log_url,
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	int rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "FreeDNS", rc, &resp, &diag);
	} else {
		dw_freedns_classify(resp.status, resp.body, resp.len, resp.retry_after_s, r->fqdn,
		                    addr, res);
	}
	/* Should the server ever echo the token, it must not reach the user's
	 * terminal or the journal. */
	freedns_scrub(res->msg, sizeof(res->msg), secret->data);
	freedns_scrub(res->msg, sizeof(res->msg), tok);
	log_debug("FreeDNS %s %s %s: %s", r->fqdn, dw_family_rrtype(addr->family), ip,
	          dw_outcome_str(res->outcome));
out:
	dw_http_resp_free(&resp);
	if (tok != NULL) {
		explicit_bzero(tok, tokcap);
		free(tok);
	}
	if (url != NULL) {
		explicit_bzero(url, urlcap);
		free(url);
	}
}

static void freedns_free_record(struct dw_record *r)
{
	struct dw_record_data *d = r->data;
	if (d == NULL)
		return;
	for (int f = 0; f < DW_FAM_COUNT; f++)
		dw_secret_clear(&d->token[f]);
	free(d);
	r->data = NULL;
}

static void freedns_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	free(d->base_v6);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_freedns = {
	.type = "freedns",
	.summary = "FreeDNS (freedns.afraid.org) dynamic update v2, one token per record",
	.caps = DW_CAP_A | DW_CAP_AAAA,
	.default_base_url = "https://sync.afraid.org",
	.configure = freedns_configure,
	.configure_record = freedns_configure_record,
	.update = freedns_update,
	.free_record = freedns_free_record,
	.free = freedns_free,
};
