/* deSEC (protocols.md section 6).  Addresses through the dynDNS endpoint:
 * one GET with hostname, myipv4 and myipv6, where "preserve" keeps the
 * family not being changed (an absent parameter would make deSEC guess from
 * the connection, or delete the record).  TXT values through the REST API,
 * read-modify-write of the whole RRset.
 *
 * Credentials: the token, sent as "Authorization: Token" (default) or as the
 * password of HTTP Basic auth with the domain name as user. */
#include "providers/desec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"
#include "providers/txt.h"

#define DESEC_DEFAULT_V6 "https://update6.dedyn.io"
#define DESEC_DEFAULT_API "https://desec.io/api/v1"
#define DESEC_SAMPLE_MAX 120
#define DESEC_URL_MAX 2048

struct dw_provider_data {
	struct dw_secret token;
	bool basic;          /* auth = basic */
	char *user;          /* basic auth user, NULL = the record's name */
	char *base_v6;       /* dynDNS endpoint for IPv6-only updates */
	char *api;           /* REST API base */
	char *zone;          /* deSEC domain holding TXT names, or NULL */
};

/* ---- Pure classifiers and builders ---- */

void dw_desec_classify_update(long status, const char *body, size_t len, long retry_after_s,
                              const char *host, const char *credkey, struct dw_result *res)
{
	char sample[DESEC_SAMPLE_MAX + 1];
	size_t n = 0;
	while (n < len && body[n] != '\n')
		n++;
	if (n > 0 && body[n - 1] == '\r')
		n--;
	dw_text_sample(body, n, DESEC_SAMPLE_MAX, sample, sizeof(sample));

	if (status == 200) {
		if (n == 4 && memcmp(body, "good", 4) == 0)
			dw_result_set(res, DW_OUT_DONE, -1, "deSEC updated %s", host);
		else
			dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from deSEC: \"%s\"", sample);
	} else if (status == 401) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "deSEC refused the credentials (HTTP 401): check %s, and that the "
		              "token may update %s", credkey, host);
	} else if (status == 400) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "deSEC refused the request as invalid or ambiguous (HTTP 400): \"%s\"",
		              sample);
	} else if (status == 404) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "deSEC does not know host %s (HTTP 404): check the record name", host);
	} else if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "deSEC", status, retry_after_s, -1, NULL);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC refused the update (HTTP %ld): \"%s\"",
		              status, sample);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from deSEC", status);
	}
}

void dw_desec_rrset_free(struct dw_desec_rrset *rr)
{
	for (size_t i = 0; i < rr->n; i++)
		free(rr->records[i]);
	memset(rr, 0, sizeof(*rr));
}

static json_t *desec_load(const char *body, size_t len)
{
	json_error_t err;
	if (body == NULL || len == 0)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
}

int dw_desec_parse_rrset(const char *body, size_t len, const char *subname,
                         struct dw_desec_rrset *rr)
{
	return dw_desec_parse_rrset_type(body, len, subname, "TXT", rr);
}

int dw_desec_parse_rrset_type(const char *body, size_t len, const char *subname,
                              const char *rrtype, struct dw_desec_rrset *rr)
{
	int ret = DW_EPARSE;
	memset(rr, 0, sizeof(*rr));
	json_t *root = desec_load(body, len);
	if (!json_is_object(root))
		goto out;
	json_t *type = json_object_get(root, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), rrtype) != 0)
		goto out;
	json_t *sub = json_object_get(root, "subname");
	if (sub != NULL && (!json_is_string(sub) || json_string_length(sub) != strlen(subname) ||
	                    strcmp(json_string_value(sub), subname) != 0))
		goto out;
	json_t *ttl = json_object_get(root, "ttl");
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
	    json_integer_value(ttl) > 0x7fffffff)
		goto out;
	rr->ttl = (long)json_integer_value(ttl);
	json_t *records = json_object_get(root, "records");
	if (!json_is_array(records) || json_array_size(records) > DW_DESEC_RECORDS_MAX)
		goto out;
	size_t i;
	json_t *v;
	json_array_foreach(records, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			goto out;
		rr->records[rr->n] = strdup(json_string_value(v));
		if (rr->records[rr->n] == NULL)
			goto out;
		rr->n++;
	}
	ret = 0;
out:
	if (ret != 0)
		dw_desec_rrset_free(rr);
	json_decref(root);
	return ret;
}

void dw_desec_verify_get(long status, const char *body, size_t len, long retry_after_s,
                         const char *domain, const char *subname, const struct dw_ip *addr,
                         struct dw_verify *out)
{
	const char *rrtype = dw_family_rrtype(addr->family);
	char ip[DW_IP_STRLEN];
	dw_ip_format(addr, ip);
	if (status == 404) {
		dw_verify_set(out, DW_VERIFY_DRIFTED, "deSEC has no %s RRset, not %s", rrtype, ip);
		return;
	}
	if (status != 200) {
		struct dw_result res = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
		dw_desec_classify_rest(status, body, len, retry_after_s, domain, &res);
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
		return;
	}
	struct dw_desec_rrset rr;
	if (dw_desec_parse_rrset_type(body, len, subname, rrtype, &rr) != 0) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "unparsable reply from deSEC (%s RRset)", rrtype);
		return;
	}
	struct dw_ip got;
	if (rr.n == 1 && dw_ip_parse(rr.records[0], addr->family, &got) == 0 &&
	    dw_ip_equal(&got, addr)) {
		dw_verify_set(out, DW_VERIFY_STANDS, "deSEC holds %s %s", rrtype, ip);
	} else {
		char seen[80] = "";
		if (rr.n > 0)
			dw_text_sample(rr.records[0], strlen(rr.records[0]), 64, seen, sizeof(seen));
		dw_verify_set(out, DW_VERIFY_DRIFTED, "deSEC's %s RRset holds %zu record%s (%s%s), not "
		              "exactly %s", rrtype, rr.n, rr.n == 1 ? "" : "s", seen,
		              rr.n > 1 ? ", ..." : "", ip);
	}
	dw_desec_rrset_free(&rr);
}

static bool desec_matches(const char *record, const char *value)
{
	return dw_txt_matches(record, strlen(record), value);
}

int dw_desec_txt_plan(const struct dw_desec_rrset *cur, const char *subname, const char *value,
                      bool add, uint32_t ttl, enum dw_desec_write *how, char **body)
{
	char quoted[DW_TXT_QUOTED_MAX];
	*how = DW_DESEC_NONE;
	*body = NULL;
	int rc = dw_txt_quote(value, quoted, sizeof(quoted));
	if (rc != 0)
		return rc;

	size_t found = 0;
	for (size_t i = 0; cur != NULL && i < cur->n; i++)
		found += desec_matches(cur->records[i], value) ? 1 : 0;
	if ((add && found > 0) || (!add && found == 0))
		return 0;

	json_t *records = json_array();
	json_t *doc = NULL;
	if (records == NULL)
		return DW_ENOMEM;
	rc = DW_ENOMEM;
	for (size_t i = 0; cur != NULL && i < cur->n; i++) {
		if (!add && desec_matches(cur->records[i], value))
			continue;   /* removed, also when it appears twice */
		if (json_array_append_new(records, json_string(cur->records[i])) != 0)
			goto out;
	}
	if (add) {
		if (json_array_size(records) >= DW_DESEC_RECORDS_MAX) {
			rc = DW_ETOOBIG;
			goto out;
		}
		if (json_array_append_new(records, json_string(quoted)) != 0)
			goto out;
	}
	if (!add && json_array_size(records) == 0) {
		*how = DW_DESEC_DELETE;
		rc = 0;
		goto out;
	}
	if (cur == NULL) {
		if (ttl < DW_DESEC_MIN_TXT_TTL)
			ttl = DW_DESEC_MIN_TXT_TTL;
		doc = json_pack("{s:s, s:s, s:I, s:O}", "subname", subname, "type", "TXT", "ttl",
		                (json_int_t)ttl, "records", records);
		*how = DW_DESEC_POST;
	} else {
		doc = json_pack("{s:O}", "records", records);
		*how = DW_DESEC_PATCH;
	}
	if (doc == NULL || (*body = json_dumps(doc, JSON_COMPACT)) == NULL) {
		*how = DW_DESEC_NONE;
		goto out;
	}
	rc = 0;
out:
	json_decref(records);
	json_decref(doc);
	return rc;
}

void dw_desec_classify_rest(long status, const char *body, size_t len, long retry_after_s,
                            const char *domain, struct dw_result *res)
{
	char detail[DESEC_SAMPLE_MAX + 1] = "no detail";
	json_t *root = desec_load(body, len);
	json_t *d = json_is_object(root) ? json_object_get(root, "detail") : NULL;
	if (json_is_string(d))
		dw_text_sample(json_string_value(d), strlen(json_string_value(d)), DESEC_SAMPLE_MAX,
		               detail, sizeof(detail));
	json_decref(root);

	if (status == 401) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC refused the token (HTTP 401): check token-file");
	} else if (status == 403) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "deSEC: the token may not change this RRset in %s (HTTP 403, %s): check "
		              "its policies", domain, detail);
	} else if (status == 404) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "deSEC: domain %s not found in this account (HTTP 404)", domain);
	} else if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "deSEC", status, retry_after_s, -1, NULL);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC refused the request (HTTP %ld, %s)", status,
		              detail);
	} else if (status >= 200 && status <= 299) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from deSEC (HTTP %ld)", status);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from deSEC", status);
	}
}

/* ---- Configuration ---- */

static int desec_url_key(struct dw_conf_ctx *ctx, const char *key, const char *def, char **out)
{
	int rc = dw_conf_strdup(ctx, key, def, out);
	if (rc != 0)
		return rc;
	size_t n = strlen(*out);
	if (strncmp(*out, "https://", 8) != 0 || n <= 8)
		return dw_conf_error(ctx, key, "'%s' must be an https:// URL (the token is sent to it)",
		                     *out);
	while (n > 8 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return 0;
}

static int desec_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;

	int rc = dw_conf_secret(ctx, "token-file", true, DW_SECRET_LINE, &d->token);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < d->token.len; i++) {
		unsigned char c = (unsigned char)d->token.data[i];
		if (c <= 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, "token-file",
			                     "the file must hold the token alone on one line "
			                     "(no spaces or control characters)");
	}
	const char *auth = dw_conf_get(ctx, "auth");
	if (auth != NULL && strcmp(auth, "basic") == 0)
		d->basic = true;
	else if (auth != NULL && strcmp(auth, "token") != 0)
		return dw_conf_error(ctx, "auth", "must be token or basic");
	if ((rc = dw_conf_strdup(ctx, "user", NULL, &d->user)) != 0)
		return rc;
	if (d->user != NULL && (!d->basic || dw_fqdn_normalize(d->user) != 0))
		return dw_conf_error(ctx, "user", d->basic ? "must be the deSEC domain name"
		                                           : "only used with auth = basic");
	if ((rc = desec_url_key(ctx, "base-url-v6", DESEC_DEFAULT_V6, &d->base_v6)) != 0 ||
	    (rc = desec_url_key(ctx, "api-url", DESEC_DEFAULT_API, &d->api)) != 0)
		return rc;
	if ((rc = dw_conf_strdup(ctx, "zone", NULL, &d->zone)) != 0)
		return rc;
	if (d->zone != NULL && (dw_fqdn_normalize(d->zone) != 0 || d->zone[0] == '*'))
		return dw_conf_error(ctx, "zone", "not a valid domain name");
	return 0;
}

/* ---- Requests ---- */

struct desec_call {
	const struct dw_provider *p;
	struct dw_http_req req;
	char auth_hdr[DW_SECRET_MAX + 32];
};

static void desec_call_init(struct desec_call *c, const struct dw_provider *p, bool rest,
                            const char *user, const char *method, const char *url)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->req.method = method;
	c->req.url = url;
	c->req.ca_file = p->ca_file;
	c->req.timeout_ms = p->timeout_ms;
	/* The REST API only takes the token header; dynDNS takes either. */
	if (p->data->basic && !rest) {
		c->req.basic_user = user;
		c->req.basic_pass = p->data->token.data;
	} else {
		int n = snprintf(c->auth_hdr, sizeof(c->auth_hdr), "Authorization: Token %s",
		                 p->data->token.data);
		if (n > 0 && (size_t)n < sizeof(c->auth_hdr))
			c->req.headers[0] = c->auth_hdr;
	}
}

/* Runs a request; false with res set on a transport error. */
static bool desec_do(struct desec_call *c, struct dw_http_resp *resp, struct dw_result *res)
{
	struct dw_diag diag = { { 0 } };
	int rc = dw_http_request(&c->req, resp, &diag);
	explicit_bzero(c->auth_hdr, sizeof(c->auth_hdr));
	if (rc != 0) {
		dw_result_http_failure(res, c->p, "deSEC", rc, resp, &diag);
		return false;
	}
	return true;
}

static const char *desec_credkey(const struct dw_provider *p)
{
	return p->data->basic ? "token-file and user" : "token-file";
}

/* One dynDNS request for the families in addr[] (NULL = preserve). */
static void desec_dyndns(struct dw_provider *p, const struct dw_record *r,
                         const struct dw_ip *const addr[DW_FAM_COUNT], struct dw_result *res)
{
	char url[DESEC_URL_MAX], host[768];
	char ip[DW_FAM_COUNT][DW_IP_STRLEN];
	const char *val[DW_FAM_COUNT];
	for (int f = 0; f < DW_FAM_COUNT; f++)
		val[f] = addr[f] != NULL ? dw_ip_format(addr[f], ip[f]) : "preserve";
	/* Only an IPv6-only update goes to the IPv6 endpoint. */
	const char *base = addr[DW_FAM_V4] == NULL ? p->data->base_v6 : p->base_url;
	if (dw_http_escape(r->fqdn, host, sizeof(host)) != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC: name too long");
		return;
	}
	/* Addresses are printed by inet_ntop: nothing in them needs escaping
	 * except ':' which a query value may hold. */
	int n = snprintf(url, sizeof(url), "%s/?hostname=%s&myipv4=%s&myipv6=%s", base, host,
	                 val[DW_FAM_V4], val[DW_FAM_V6]);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC URL too long");
		return;
	}
	struct desec_call c;
	struct dw_http_resp resp;
	const char *user = p->data->user != NULL ? p->data->user : r->fqdn;
	desec_call_init(&c, p, false, user, "GET", url);
	if (desec_do(&c, &resp, res))
		dw_desec_classify_update(resp.status, resp.body, resp.len, resp.retry_after_s, r->fqdn,
		                         desec_credkey(p), res);
	dw_http_resp_free(&resp);
	log_debug("deSEC %s myipv4=%s myipv6=%s: %s", r->fqdn, val[DW_FAM_V4], val[DW_FAM_V6],
	          dw_outcome_str(res->outcome));
}

static void desec_update(struct dw_provider *p, const struct dw_record *r,
                         const struct dw_ip *addr, struct dw_result *res)
{
	const struct dw_ip *a[DW_FAM_COUNT] = { NULL, NULL };
	a[addr->family] = addr;
	if (p->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC provider not configured");
		return;
	}
	desec_dyndns(p, r, a, res);
}

static void desec_update_multi(struct dw_provider *p, const struct dw_record *r,
                               const struct dw_ip *const addr[DW_FAM_COUNT],
                               struct dw_result res[DW_FAM_COUNT])
{
	if (p->data == NULL) {
		dw_result_set(&res[DW_FAM_V4], DW_OUT_FATAL, -1, "deSEC provider not configured");
		res[DW_FAM_V6] = res[DW_FAM_V4];
		return;
	}
	desec_dyndns(p, r, addr, &res[DW_FAM_V4]);
	res[DW_FAM_V6] = res[DW_FAM_V4];   /* one request, one answer for both */
}

/* ---- TXT through the REST API ---- */

/* Joins the API base and a path of escaped segments; false when too long. */
static bool desec_rest_url_type(char *buf, size_t cap, const struct dw_provider *p,
                                const char *domain, const char *subname, bool rrset,
                                const char *rrtype)
{
	char d[512], s[512];
	if (dw_http_escape(domain, d, sizeof(d)) != 0)
		return false;
	int n;
	if (subname == NULL && !rrset) {
		n = snprintf(buf, cap, "%s/domains/%s/", p->data->api, d);
	} else if (subname == NULL) {
		n = snprintf(buf, cap, "%s/domains/%s/rrsets/", p->data->api, d);
	} else {
		/* The apex is "" in bodies and "@" in paths. */
		if (subname[0] == '\0')
			snprintf(s, sizeof(s), "@");
		else if (dw_http_escape(subname, s, sizeof(s)) != 0)
			return false;
		n = snprintf(buf, cap, "%s/domains/%s/rrsets/%s/%s/", p->data->api, d, s, rrtype);
	}
	return n > 0 && (size_t)n < cap;
}

static bool desec_rest_url(char *buf, size_t cap, const struct dw_provider *p, const char *domain,
                           const char *subname, bool rrset)
{
	return desec_rest_url_type(buf, cap, p, domain, subname, rrset, "TXT");
}

static bool desec_rest(struct dw_provider *p, const char *method, const char *url,
                       const char *body, struct dw_http_resp *resp, struct dw_result *res)
{
	struct desec_call c;
	desec_call_init(&c, p, true, NULL, method, url);
	c.req.headers[1] = "Accept: application/json";
	if (body != NULL) {
		c.req.headers[2] = "Content-Type: application/json";
		c.req.body = body;
		c.req.body_len = strlen(body);
	}
	return desec_do(&c, resp, res);
}

/* One GET /domains/D/ for dw_zone_find(). */
static enum dw_zone_probe desec_probe(void *arg, const char *cand, struct dw_result *res)
{
	struct dw_provider *p = arg;
	char url[DESEC_URL_MAX];
	struct dw_http_resp resp;
	if (!desec_rest_url(url, sizeof(url), p, cand, NULL, false)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC URL too long");
		return DW_ZONE_FAILED;
	}
	if (!desec_rest(p, "GET", url, NULL, &resp, res)) {
		dw_http_resp_free(&resp);
		return DW_ZONE_FAILED;
	}
	long st = resp.status;
	if (st != 200 && st != 404)
		dw_desec_classify_rest(st, resp.body, resp.len, resp.retry_after_s, cand, res);
	dw_http_resp_free(&resp);
	return st == 200 ? DW_ZONE_FOUND : st == 404 ? DW_ZONE_ABSENT : DW_ZONE_FAILED;
}

/* The deSEC domain of fqdn: the configured zone when fqdn is inside it, else
 * the one dw_zone_find() finds.  Returns a malloc'd name, or NULL with res
 * set. */
static char *desec_find_domain(struct dw_provider *p, const char *fqdn, struct dw_result *res)
{
	const char *z = p->data->zone;
	size_t fl = strlen(fqdn), zl = z != NULL ? strlen(z) : 0;
	if (z != NULL && (strcmp(fqdn, z) == 0 ||
	                  (fl > zl + 1 && fqdn[fl - zl - 1] == '.' && strcmp(fqdn + fl - zl, z) == 0)))
		return strdup(z);
	const char *zone = NULL;
	int found = dw_zone_find(fqdn, desec_probe, p, &zone, NULL, res);
	if (found > 0)
		return strdup(zone);
	if (found == 0)
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "deSEC: no domain of %s in this account (set zone = to name it)", fqdn);
	return NULL;
}

static void desec_txt(struct dw_provider *p, const char *fqdn, const char *value, bool add,
                      uint32_t ttl, struct dw_result *res)
{
	char url[DESEC_URL_MAX];
	char *domain = NULL, *subname = NULL, *body = NULL;
	struct dw_desec_rrset rr = { 0 };
	bool have = false;
	struct dw_http_resp resp = { 0 };

	if (p->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC provider not configured");
		return;
	}
	if ((domain = desec_find_domain(p, fqdn, res)) == NULL)
		goto out;
	size_t fl = strlen(fqdn), dl = strlen(domain);
	subname = fl == dl ? strdup("") : strndup(fqdn, fl - dl - 1);
	if (subname == NULL || !desec_rest_url(url, sizeof(url), p, domain, subname, true)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC: name too long or out of memory");
		goto out;
	}
	if (!desec_rest(p, "GET", url, NULL, &resp, res))
		goto out;
	if (resp.status == 200) {
		if (dw_desec_parse_rrset(resp.body, resp.len, subname, &rr) != 0) {
			dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from deSEC (TXT RRset)");
			goto out;
		}
		have = true;
	} else if (resp.status != 404) {
		dw_desec_classify_rest(resp.status, resp.body, resp.len, resp.retry_after_s, domain, res);
		goto out;
	}
	dw_http_resp_free(&resp);

	enum dw_desec_write how;
	int rc = dw_desec_txt_plan(have ? &rr : NULL, subname, value, add, ttl, &how, &body);
	if (rc != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "deSEC: %s",
		              rc == DW_EINVAL ? "TXT value must be 1 to 255 printable characters"
		                              : "cannot build the TXT RRset");
		goto out;
	}
	const char *method = NULL;
	long want = 0;
	if (how == DW_DESEC_NONE) {
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "deSEC %s this TXT value at %s",
		              add ? "already has" : "has no", fqdn);
		goto out;
	} else if (how == DW_DESEC_POST) {
		method = "POST";
		want = 201;
		if (!desec_rest_url(url, sizeof(url), p, domain, NULL, true)) {
			dw_result_set(res, DW_OUT_FATAL, -1, "deSEC URL too long");
			goto out;
		}
	} else if (how == DW_DESEC_PATCH) {
		method = "PATCH";
		want = 200;
	} else {
		method = "DELETE";
		want = 204;
	}
	if (!desec_rest(p, method, url, body, &resp, res))
		goto out;
	if (resp.status == want)
		dw_result_set(res, DW_OUT_DONE, -1, "deSEC %s a TXT value at %s",
		              add ? "added" : "removed", fqdn);
	else
		dw_desec_classify_rest(resp.status, resp.body, resp.len, resp.retry_after_s, domain, res);
out:
	dw_http_resp_free(&resp);
	dw_desec_rrset_free(&rr);
	free(body);
	free(subname);
	free(domain);
}

/* Drift check through the REST API (the dynDNS endpoint cannot read). */
static void desec_verify(struct dw_provider *p, const struct dw_record *r,
                         const struct dw_ip *addr, struct dw_verify *out)
{
	struct dw_result res = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
	struct dw_http_resp resp = { 0 };
	char url[DESEC_URL_MAX];
	char *domain = NULL, *subname = NULL;
	if (p->data == NULL) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "deSEC provider not configured");
		return;
	}
	if ((domain = desec_find_domain(p, r->fqdn, &res)) == NULL) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
		goto out;
	}
	size_t fl = strlen(r->fqdn), dl = strlen(domain);
	subname = fl == dl ? strdup("") : strndup(r->fqdn, fl - dl - 1);
	if (subname == NULL || !desec_rest_url_type(url, sizeof(url), p, domain, subname, true,
	                                            dw_family_rrtype(addr->family))) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "deSEC: name too long or out of memory");
		goto out;
	}
	if (!desec_rest(p, "GET", url, NULL, &resp, &res)) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
		goto out;
	}
	dw_desec_verify_get(resp.status, resp.body, resp.len, resp.retry_after_s, domain, subname,
	                    addr, out);
out:
	dw_http_resp_free(&resp);
	free(subname);
	free(domain);
}

static void desec_txt_add(struct dw_provider *p, const char *fqdn, const char *value,
                          uint32_t ttl, struct dw_result *res)
{
	desec_txt(p, fqdn, value, true, ttl, res);
}

static void desec_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                          struct dw_result *res)
{
	desec_txt(p, fqdn, value, false, DW_DESEC_MIN_TXT_TTL, res);
}

static void desec_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->token);
	free(d->user);
	free(d->base_v6);
	free(d->api);
	free(d->zone);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_desec = {
	.type = "desec",
	.summary = "deSEC / dedyn.io (dynDNS for addresses, REST API for TXT)",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT,
	.default_base_url = "https://update.dedyn.io",
	.configure = desec_configure,
	.update = desec_update,
	.update_multi = desec_update_multi,
	.txt_add = desec_txt_add,
	.txt_del = desec_txt_del,
	.verify = desec_verify,
	.free = desec_free,
};
