/* DuckDNS: GET {base}/update?domains=SUB&token=T[&ip=V4][&ipv6=V6]
 * &verbose=true, the account token from the provider's "token-file"
 * (protocols.md section 6).  Both families go in one request; the TXT of a
 * sub-domain (one value) is set with txt=VALUE and cleared with
 * txt=VALUE&clear=true.  clear=true without txt= would clear the
 * addresses instead: it is never sent alone.
 *
 * The token sits in the URL: URLs are wiped after use and logged with
 * "[token]" in its place. */
#include "providers/duckdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"
#include "providers/dyn_common.h"

#define DUCK_SAMPLE_MAX 80
#define DUCK_RETRY_S 600
#define DUCK_RATELIMIT_S 600
#define DUCK_SUB_MAX 64
#define DUCK_LINES_MAX 5

struct dw_provider_data {
	struct dw_secret token;
};

struct dw_record_data {
	char sub[DUCK_SUB_MAX];
};

/* ---- Names ---- */

int dw_duckdns_subdomain(const char *fqdn, bool deeper, char *out, size_t cap)
{
	static const char suffix[] = "." DW_DUCKDNS_SUFFIX;
	size_t sl = sizeof(suffix) - 1;
	size_t n = strlen(fqdn);
	if (n > 0 && fqdn[n - 1] == '.')
		n--;
	if (n <= sl || strncasecmp(fqdn + n - sl, suffix, sl) != 0)
		return -1;
	size_t end = n - sl, start = end;
	while (start > 0 && fqdn[start - 1] != '.')
		start--;
	if (start > 0 && !deeper)
		return -1;
	size_t len = end - start;
	if (len == 0 || len >= cap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = fqdn[start + i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '-';
		if (!ok)
			return -1;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	return 0;
}

/* ---- Reply classification (pure) ---- */

struct duck_lines {
	const char *p[DUCK_LINES_MAX];
	size_t n[DUCK_LINES_MAX];
	size_t count;         /* lines up to the last non-empty one */
	bool too_many;
};

static bool line_is(const struct duck_lines *l, size_t i, const char *lit)
{
	size_t n = strlen(lit);
	return i < l->count && l->n[i] == n && memcmp(l->p[i], lit, n) == 0;
}

static void duck_split(const char *body, size_t len, struct duck_lines *l)
{
	memset(l, 0, sizeof(*l));
	l->count = dw_dyn_count_lines(body, len);
	if (l->count > DUCK_LINES_MAX) {
		l->too_many = true;
		return;
	}
	size_t off = 0;
	for (size_t i = 0; i < l->count; i++) {
		if (!dw_dyn_next_line(body, len, &off, &l->p[i], &l->n[i]))
			break;
	}
}

/* Common status and first-line handling.  Returns true when res is final;
 * false leaves a verbose "OK" reply (l->count > 1) for the caller. */
static bool duck_common(long status, const char *body, size_t len, long retry_after_s,
                        const char *what, struct duck_lines *l, struct dw_result *res)
{
	char sample[DUCK_SAMPLE_MAX + 1];
	if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "DuckDNS", status, retry_after_s,
		                    status == 429 ? DUCK_RATELIMIT_S : DUCK_RETRY_S, NULL);
		return true;
	}
	if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "DuckDNS rejected the request (HTTP %ld): check base-url", status);
		return true;
	}
	if (status != 200) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from DuckDNS", status);
		return true;
	}
	size_t first = 0;
	while (first < len && body[first] != '\n')
		first++;
	dw_text_sample(body, first, DUCK_SAMPLE_MAX, sample, sizeof(sample));
	if (len > 0 && memchr(body, '\0', len) != NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from DuckDNS: \"%s\"", sample);
		return true;
	}
	duck_split(body, len, l);
	if (l->count == 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from DuckDNS (empty)");
		return true;
	}
	if (line_is(l, 0, "KO")) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "DuckDNS refused the %s (KO): check token-file and that the sub-domain "
		              "belongs to this account", what);
		return true;
	}
	if (!line_is(l, 0, "OK") || l->too_many) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from DuckDNS: \"%s\"", sample);
		return true;
	}
	if (l->count == 1) {
		dw_result_set(res, DW_OUT_DONE, -1, "DuckDNS accepted the %s (OK)", what);
		return true;
	}
	return false;
}

/* The verbose state word on line i: 1 UPDATED, 0 NOCHANGE, -1 other. */
static int duck_state(const struct duck_lines *l, size_t i)
{
	if (line_is(l, i, "UPDATED"))
		return 1;
	if (line_is(l, i, "NOCHANGE"))
		return 0;
	return -1;
}

/* Checks an address line: 0 fine, 1 another address than sent, -1 bad. */
static int duck_addr_line(const struct duck_lines *l, size_t i, enum dw_family fam,
                          const struct dw_ip *sent)
{
	char buf[DW_IP_STRLEN];
	struct dw_ip got;
	if (l->n[i] == 0)
		return sent != NULL ? 1 : 0;
	if (l->n[i] >= sizeof(buf))
		return -1;
	memcpy(buf, l->p[i], l->n[i]);
	buf[l->n[i]] = '\0';
	if (dw_ip_parse(buf, fam, &got) != 0)
		return -1;
	if (sent != NULL && !dw_ip_equal(&got, sent))
		return 1;
	return 0;
}

void dw_duckdns_classify(long status, const char *body, size_t len, long retry_after_s,
                         const struct dw_ip *const sent[DW_FAM_COUNT], struct dw_result *res)
{
	struct duck_lines l;
	if (duck_common(status, body, len, retry_after_s, "update", &l, res))
		return;
	char sample[DUCK_SAMPLE_MAX + 1];
	dw_text_sample(body, len, DUCK_SAMPLE_MAX, sample, sizeof(sample));
	int st = l.count == 4 ? duck_state(&l, 3) : -1;
	int a4 = l.count == 4 ? duck_addr_line(&l, 1, DW_FAM_V4, sent[DW_FAM_V4]) : -1;
	int a6 = l.count == 4 ? duck_addr_line(&l, 2, DW_FAM_V6, sent[DW_FAM_V6]) : -1;
	if (st < 0 || a4 < 0 || a6 < 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from DuckDNS: \"%s\"", sample);
		return;
	}
	if (a4 > 0 || a6 > 0) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "DuckDNS holds another address than the one sent: \"%s\"", sample);
		return;
	}
	if (st == 1)
		dw_result_set(res, DW_OUT_DONE, -1, "DuckDNS updated");
	else
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "DuckDNS already had it (NOCHANGE)");
}

void dw_duckdns_classify_txt(long status, const char *body, size_t len, long retry_after_s,
                             const char *value, struct dw_result *res)
{
	struct duck_lines l;
	if (duck_common(status, body, len, retry_after_s, "TXT update", &l, res))
		return;
	char sample[DUCK_SAMPLE_MAX + 1];
	dw_text_sample(body, len, DUCK_SAMPLE_MAX, sample, sizeof(sample));
	int st = l.count == 3 ? duck_state(&l, 2) : -1;
	if (st < 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from DuckDNS: \"%s\"", sample);
		return;
	}
	size_t vl = strlen(value);
	if (l.n[1] != vl || memcmp(l.p[1], value, vl) != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "DuckDNS holds another TXT value than the one sent");
		return;
	}
	if (st == 1)
		dw_result_set(res, DW_OUT_DONE, -1, "DuckDNS TXT updated");
	else
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "DuckDNS TXT already had it (NOCHANGE)");
}

/* ---- Configuration ---- */

static int duck_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;
	if (!dw_dyn_is_https(p->base_url))
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (the token is part of it)");
	int rc = dw_conf_secret(ctx, "token-file", true, DW_SECRET_LINE, &d->token);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < d->token.len; i++) {
		unsigned char c = (unsigned char)d->token.data[i];
		if (c <= 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, "token-file",
			                     "the file must hold the token alone on one line");
	}
	return 0;
}

static int duck_configure_record(struct dw_provider *p, struct dw_record *r,
                                 struct dw_conf_ctx *ctx)
{
	(void)p;
	struct dw_record_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = d;
	if (dw_duckdns_subdomain(r->fqdn, false, d->sub, sizeof(d->sub)) != 0)
		return dw_conf_error(ctx, NULL,
		                     "DuckDNS records are named SUB." DW_DUCKDNS_SUFFIX
		                     " (one label before ." DW_DUCKDNS_SUFFIX "), not %s", r->fqdn);
	return 0;
}

/* ---- Requests ---- */

/* Builds and sends one request; classify with the matching function. */
static bool duck_get(struct dw_provider *p, const char *sub, const struct dw_ip *const a[DW_FAM_COUNT],
                     const char *txt, bool clear, struct dw_http_resp *resp,
                     struct dw_result *res)
{
	const struct dw_provider_data *pd = p->data;
	struct dw_dyn_url u;
	bool ok = false;
	if (pd == NULL || pd->token.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "no token-file configured");
		return false;
	}
	size_t room = pd->token.len * 3 + (txt != NULL ? strlen(txt) * 3 : 0) + 512;
	if (!dw_dyn_url_init(&u, p->base_url, "/update", room)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	dw_dyn_url_param(&u, "domains", sub, false);
	dw_dyn_url_param(&u, "token", pd->token.data, true);
	for (int f = 0; a != NULL && f < DW_FAM_COUNT; f++) {
		char ip[DW_IP_STRLEN];
		if (a[f] != NULL)
			dw_dyn_url_param(&u, f == DW_FAM_V4 ? "ip" : "ipv6", dw_ip_format(a[f], ip), false);
	}
	if (txt != NULL)
		dw_dyn_url_param(&u, "txt", txt, false);
	if (clear)
		dw_dyn_url_query(&u, "clear=true");
	dw_dyn_url_query(&u, "verbose=true");
	if (u.failed) {
		dw_result_set(res, DW_OUT_FATAL, -1, "DuckDNS update URL too long");
		goto out;
	}
	log_debug("DuckDNS: GET %s", u.log);
	struct dw_http_req req = {
		.method = "GET",
		.url = u.url,
		.log_url = u.log,
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	ok = dw_dyn_request(p, &req, resp, "DuckDNS", res);
out:
	dw_dyn_url_free(&u);
	return ok;
}

static void duck_send(struct dw_provider *p, const struct dw_record *r,
                      const struct dw_ip *const a[DW_FAM_COUNT], struct dw_result *res)
{
	struct dw_http_resp resp = { 0 };
	if (r->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "record %s is not configured", r->fqdn);
		return;
	}
	if (duck_get(p, r->data->sub, a, NULL, false, &resp, res))
		dw_duckdns_classify(resp.status, resp.body, resp.len, resp.retry_after_s, a, res);
	dw_dyn_scrub(res->msg, sizeof(res->msg), p->data != NULL ? p->data->token.data : NULL);
	log_debug("DuckDNS %s: %s", r->fqdn, dw_outcome_str(res->outcome));
	dw_http_resp_free(&resp);
}

static void duck_update(struct dw_provider *p, const struct dw_record *r, const struct dw_ip *addr,
                        struct dw_result *res)
{
	const struct dw_ip *a[DW_FAM_COUNT] = { NULL, NULL };
	a[addr->family] = addr;
	duck_send(p, r, a, res);
}

static void duck_update_multi(struct dw_provider *p, const struct dw_record *r,
                              const struct dw_ip *const addr[DW_FAM_COUNT],
                              struct dw_result res[DW_FAM_COUNT])
{
	struct dw_result one = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
	duck_send(p, r, addr, &one);
	for (int f = 0; f < DW_FAM_COUNT; f++)
		res[f] = one;
}

static void duck_txt(struct dw_provider *p, const char *fqdn, const char *value, bool clear,
                     struct dw_result *res)
{
	char sub[DUCK_SUB_MAX];
	struct dw_http_resp resp = { 0 };
	if (dw_duckdns_subdomain(fqdn, true, sub, sizeof(sub)) != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "%s is not a name under SUB." DW_DUCKDNS_SUFFIX,
		              fqdn);
		return;
	}
	if (duck_get(p, sub, NULL, value, clear, &resp, res))
		dw_duckdns_classify_txt(resp.status, resp.body, resp.len, resp.retry_after_s,
		                        clear ? "" : value, res);
	dw_dyn_scrub(res->msg, sizeof(res->msg), p->data != NULL ? p->data->token.data : NULL);
	log_debug("DuckDNS TXT %s: %s", fqdn, dw_outcome_str(res->outcome));
	dw_http_resp_free(&resp);
}

static void duck_txt_add(struct dw_provider *p, const char *fqdn, const char *value, uint32_t ttl,
                         struct dw_result *res)
{
	(void)ttl;   /* DuckDNS sets its own TTL */
	if (value[0] == '\0') {
		dw_result_set(res, DW_OUT_FATAL, -1, "DuckDNS cannot hold an empty TXT value");
		return;
	}
	duck_txt(p, fqdn, value, false, res);
}

/* One TXT value per domain: removing the value clears the record. */
static void duck_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                         struct dw_result *res)
{
	duck_txt(p, fqdn, value[0] != '\0' ? value : "removed", true, res);
}

static void duck_free_record(struct dw_record *r)
{
	free(r->data);
	r->data = NULL;
}

static void duck_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->token);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_duckdns = {
	.type = "duckdns",
	.summary = "DuckDNS (SUB.duckdns.org), account token; A and AAAA in one request; TXT",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT | DW_CAP_TXT_SINGLE,
	.default_base_url = "https://www.duckdns.org",
	.configure = duck_configure,
	.configure_record = duck_configure_record,
	.update = duck_update,
	.update_multi = duck_update_multi,
	.txt_add = duck_txt_add,
	.txt_del = duck_txt_del,
	.free_record = duck_free_record,
	.free = duck_free,
};
