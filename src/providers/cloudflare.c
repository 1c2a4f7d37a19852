/* Cloudflare API v4 (protocols.md section 5): zones looked up by name, DNS
 * records by zone id, name and type.  Authenticated with a scoped API token
 * ("Authorization: Bearer"); the account-wide global API key is refused
 * unless the configuration explicitly allows it.
 *
 * An update lists the records first and writes only when they differ, so an
 * unchanged address costs one GET (per page) and never a write. */
#include "providers/cloudflare.h"

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

#define CF_MSG_MAX 160
#define CF_URL_MAX 2048
#define CF_TOKEN_KEY "token-file"
#define CF_GLOBAL_KEY "email and global-key-file"

struct dw_provider_data {
	struct dw_secret token;       /* scoped API token (Bearer), or empty */
	struct dw_secret global_key;  /* legacy global key, only when allowed */
	char *email;                  /* with the global key */
	char *zone;                   /* default zone of the records, or NULL */
};

struct dw_record_data {
	char *zone;                   /* configured, or found by probing (cached) */
	char zone_id[DW_CF_ID_MAX];   /* "" until looked up */
	int proxied;                  /* -1 unset, 0, 1 */
};

/* ---- Pure parsers ---- */

void dw_cf_records_free(struct dw_cf_records *l)
{
	if (l == NULL)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static json_t *cf_load(const char *body, size_t len)
{
	json_error_t err;
	if (body == NULL || len == 0)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
}

/* The "result" of a successful envelope, or NULL.  A success needs
 * "success": true and "errors" an empty array. */
static json_t *cf_success_result(json_t *root)
{
	if (!json_is_object(root))
		return NULL;
	json_t *ok = json_object_get(root, "success");
	json_t *errors = json_object_get(root, "errors");
	if (!json_is_true(ok) || !json_is_array(errors) || json_array_size(errors) != 0)
		return NULL;
	return json_object_get(root, "result");
}

/* Copies a JSON string into out when it fits (and holds no NUL). */
static bool cf_copy_string(json_t *s, char *out, size_t cap)
{
	if (!json_is_string(s))
		return false;
	size_t n = json_string_length(s);
	if (n >= cap || strlen(json_string_value(s)) != n)
		return false;
	memcpy(out, json_string_value(s), n + 1);
	return true;
}

static bool cf_valid_id(const char *id)
{
	if (id[0] == '\0')
		return false;
	for (const char *p = id; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool cf_name_equal(json_t *s, const char *name)
{
	if (!json_is_string(s))
		return false;
	const char *v = json_string_value(s);
	size_t n = json_string_length(s);
	if (n > 0 && v[n - 1] == '.')
		n--;
	return n == strlen(name) && strlen(v) >= n && strncasecmp(v, name, n) == 0;
}

int dw_cf_parse_zones(const char *body, size_t len, const char *zone, char id[DW_CF_ID_MAX])
{
	int ret = DW_EPARSE;
	id[0] = '\0';
	json_t *root = cf_load(body, len);
	json_t *result = cf_success_result(root);
	if (!json_is_array(result))
		goto out;
	size_t i;
	json_t *z;
	bool found = false;
	json_array_foreach(result, i, z) {
		if (!json_is_object(z))
			goto out;
		json_t *name = json_object_get(z, "name");
		if (!json_is_string(name))
			goto out;
		if (!cf_name_equal(name, zone))
			continue;
		if (found)
			goto out;   /* two zones of one name: not a reply we understand */
		if (!cf_copy_string(json_object_get(z, "id"), id, DW_CF_ID_MAX) || !cf_valid_id(id))
			goto out;
		found = true;
	}
	ret = found ? 0 : DW_ENOTFOUND;
out:
	if (ret != 0)
		id[0] = '\0';
	json_decref(root);
	return ret;
}

static int cf_push(struct dw_cf_records *l, const struct dw_cf_record *r)
{
	if (l->n >= DW_CF_RECORDS_MAX)
		return DW_ETOOBIG;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct dw_cf_record *nv = realloc(l->v, nc * sizeof(*nv));
		if (nv == NULL)
			return DW_ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *r;
	return 0;
}

static bool cf_int(json_t *v, long min, long max, long *out)
{
	if (!json_is_integer(v))
		return false;
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return false;
	*out = (long)x;
	return true;
}

int dw_cf_parse_records(const char *body, size_t len, const char *rrtype, const char *name,
                        struct dw_cf_records *list, long *page, long *total_pages)
{
	int ret = DW_EPARSE;
	json_t *root = cf_load(body, len);
	json_t *result = cf_success_result(root);
	if (!json_is_array(result))
		goto out;
	json_t *info = json_object_get(root, "result_info");
	if (!json_is_object(info) || !cf_int(json_object_get(info, "page"), 1, 1000000, page) ||
	    !cf_int(json_object_get(info, "total_pages"), 0, 1000000, total_pages))
		goto out;

	size_t i;
	json_t *o;
	json_array_foreach(result, i, o) {
		struct dw_cf_record r;
		memset(&r, 0, sizeof(r));
		if (!json_is_object(o))
			goto out;
		if (!cf_copy_string(json_object_get(o, "id"), r.id, sizeof(r.id)) || !cf_valid_id(r.id))
			goto out;
		json_t *type = json_object_get(o, "type");
		if (!json_is_string(type) || strcmp(json_string_value(type), rrtype) != 0)
			goto out;
		if (!cf_name_equal(json_object_get(o, "name"), name))
			goto out;
		json_t *content = json_object_get(o, "content");
		if (!json_is_string(content) || strlen(json_string_value(content)) !=
		                                json_string_length(content))
			goto out;
		if (!cf_copy_string(content, r.content, sizeof(r.content))) {
			r.content[0] = '\0';
			r.content_too_long = true;
		}
		if (!cf_int(json_object_get(o, "ttl"), 1, 0x7fffffff, &r.ttl))
			goto out;
		json_t *proxied = json_object_get(o, "proxied");
		if (proxied == NULL)
			r.proxied = -1;
		else if (json_is_boolean(proxied))
			r.proxied = json_is_true(proxied) ? 1 : 0;
		else
			goto out;
		int rc = cf_push(list, &r);
		if (rc != 0) {
			ret = rc == DW_ETOOBIG ? DW_ETOOBIG : DW_EPARSE;
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int dw_cf_error_message(const char *body, size_t len, char *out, size_t cap)
{
	int ret = DW_EPARSE;
	if (cap > 0)
		out[0] = '\0';
	json_t *root = cf_load(body, len);
	if (!json_is_object(root))
		goto out;
	json_t *errors = json_object_get(root, "errors");
	if (!json_is_array(errors) || json_array_size(errors) == 0)
		goto out;
	json_t *e = json_array_get(errors, 0);
	json_t *code = json_object_get(e, "code");
	json_t *msg = json_object_get(e, "message");
	if (!json_is_string(msg))
		goto out;
	char sample[CF_MSG_MAX + 1];
	const char *m = json_string_value(msg);
	dw_text_sample(m, strlen(m), CF_MSG_MAX, sample, sizeof(sample));
	if (json_is_integer(code))
		snprintf(out, cap, "%lld: %s", (long long)json_integer_value(code), sample);
	else
		snprintf(out, cap, "%s", sample);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

void dw_cf_classify_error(long status, const char *body, size_t len, long retry_after_s,
                          const char *credkey, const char *zone, struct dw_result *res)
{
	char msg[CF_MSG_MAX + 32];
	if (dw_cf_error_message(body, len, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "no error message");

	if (status == 401 || status == 403) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "Cloudflare refused the credentials (HTTP %ld, %s): check %s; a token "
		              "needs permission Zone:DNS:Edit on zone %s", status, msg, credkey, zone);
	} else if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "Cloudflare", status, retry_after_s, -1, NULL);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare refused the request (HTTP %ld, %s)",
		              status, msg);
	} else if (status >= 200 && status <= 299) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from Cloudflare (HTTP %ld)",
		              status);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from Cloudflare",
		              status);
	}
}

/* Whether record r holds addr with the ttl and proxied wanted. */
static bool cf_content_is(const struct dw_cf_record *r, const struct dw_ip *addr)
{
	struct dw_ip got;
	return !r->content_too_long && dw_ip_parse(r->content, addr->family, &got) == 0 &&
	       dw_ip_equal(&got, addr);
}

void dw_cf_plan_address(const struct dw_cf_records *list, const struct dw_ip *addr,
                        uint32_t ttl, int proxied_setting, struct dw_cf_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->proxied = proxied_setting;
	plan->ttl = ttl;
	if (list->n == 0) {
		plan->action = DW_CF_CREATE;
		if (proxied_setting == 1)
			plan->ttl = 1;
		return;
	}
	size_t keep = 0;
	for (size_t i = 0; i < list->n; i++) {
		if (cf_content_is(&list->v[i], addr)) {
			keep = i;
			break;
		}
	}
	const struct dw_cf_record *r = &list->v[keep];
	int eff_proxied = proxied_setting >= 0 ? proxied_setting : (r->proxied == 1 ? 1 : 0);
	if (eff_proxied == 1)
		plan->ttl = 1;
	plan->keep = keep;
	bool same = cf_content_is(r, addr) && r->ttl == (long)plan->ttl &&
	            (proxied_setting < 0 || (r->proxied == 1) == (proxied_setting == 1));
	plan->action = same ? DW_CF_KEEP : DW_CF_PATCH;
}

void dw_cf_verify_list(const struct dw_cf_records *list, const char *rrtype,
                       const struct dw_ip *addr, struct dw_verify *out)
{
	char ip[DW_IP_STRLEN];
	dw_ip_format(addr, ip);
	if (list->n == 1 && cf_content_is(&list->v[0], addr)) {
		dw_verify_set(out, DW_VERIFY_STANDS, "Cloudflare holds %s %s", rrtype, ip);
		return;
	}
	if (list->n == 0) {
		dw_verify_set(out, DW_VERIFY_DRIFTED, "Cloudflare has no %s record, not %s", rrtype, ip);
		return;
	}
	char seen[160];
	dw_text_sample(list->v[0].content_too_long ? "(too long)" : list->v[0].content,
	               list->v[0].content_too_long ? 10 : strnlen(list->v[0].content,
	                                                          sizeof(list->v[0].content)),
	               64, seen, sizeof(seen));
	dw_verify_set(out, DW_VERIFY_DRIFTED, "Cloudflare holds %zu %s record%s (%s%s), not "
	              "exactly %s", list->n, rrtype, list->n == 1 ? "" : "s", seen,
	              list->n > 1 ? ", ..." : "", ip);
}

bool dw_cf_after_write(long status, const char *body, size_t len, long retry_after_s,
                       const char *credkey, const char *zone, const char *want_id,
                       const char *want_content, struct dw_result *res)
{
	if (status != 200) {
		dw_cf_classify_error(status, body, len, retry_after_s, credkey, zone, res);
		return false;
	}
	bool ok = false;
	json_t *root = cf_load(body, len);
	json_t *result = cf_success_result(root);
	if (json_is_object(result)) {
		char id[DW_CF_ID_MAX];
		json_t *content = json_object_get(result, "content");
		ok = cf_copy_string(json_object_get(result, "id"), id, sizeof(id)) &&
		     cf_valid_id(id) && (want_id == NULL || strcmp(id, want_id) == 0) &&
		     (want_content == NULL ||
		      (json_is_string(content) && json_string_length(content) == strlen(want_content) &&
		       strcmp(json_string_value(content), want_content) == 0));
	}
	json_decref(root);
	if (!ok)
		dw_cf_classify_error(status, body, len, retry_after_s, credkey, zone, res);
	return ok;
}

/* ---- Configuration ---- */

static int cf_zone_value(struct dw_conf_ctx *ctx, const char *key, char **out)
{
	*out = NULL;
	int rc = dw_conf_strdup(ctx, key, NULL, out);
	if (rc != 0 || *out == NULL)
		return rc;
	if (dw_fqdn_normalize(*out) != 0 || (*out)[0] == '*')
		return dw_conf_error(ctx, key, "not a valid zone name");
	return 0;
}

static int cf_check_token_text(struct dw_conf_ctx *ctx, const char *key, const struct dw_secret *s)
{
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->data[i];
		if (c <= 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, key,
			                     "the file must hold the key alone on one line "
			                     "(no spaces or control characters)");
	}
	return 0;
}

static int cf_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;

	bool allow_global;
	int rc = dw_conf_bool(ctx, "allow-global-key", false, &allow_global);
	if (rc != 0)
		return rc;
	bool has_token = dw_conf_get(ctx, "token-file") != NULL;
	bool has_global = dw_conf_get(ctx, "global-key-file") != NULL;
	bool has_email = dw_conf_get(ctx, "email") != NULL;

	if (has_global || has_email) {
		const char *key = has_global ? "global-key-file" : "email";
		if (has_token)
			return dw_conf_error(ctx, key, "give either token-file (an API token) or "
			                     "email and global-key-file, not both");
		if (!allow_global)
			return dw_conf_error(ctx, key,
			                     "the global API key gives every right on the whole Cloudflare "
			                     "account: create an API token with permission Zone:DNS:Edit "
			                     "and give it in token-file (or set allow-global-key = yes to "
			                     "accept the risk)");
		if (!has_global || !has_email)
			return dw_conf_error(ctx, has_global ? "email" : "global-key-file",
			                     "the global API key needs both email and global-key-file");
		rc = dw_conf_strdup(ctx, "email", NULL, &d->email);
		if (rc != 0)
			return rc;
		for (const char *c = d->email; *c != '\0'; c++) {
			if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
				return dw_conf_error(ctx, "email", "not an e-mail address");
		}
		if (strchr(d->email, '@') == NULL)
			return dw_conf_error(ctx, "email", "not an e-mail address");
		rc = dw_conf_secret(ctx, "global-key-file", true, DW_SECRET_LINE, &d->global_key);
		if (rc != 0)
			return rc;
		if ((rc = cf_check_token_text(ctx, "global-key-file", &d->global_key)) != 0)
			return rc;
		/* Said at every start, so it is never forgotten in a log. */
		log_warning("%s:%d: [provider %s] uses the Cloudflare global API key: it gives every "
		            "right on the whole account (all zones, billing, members) to anyone who "
		            "reads the key file; replace it with an API token limited to "
		            "Zone:DNS:Edit (token-file)", ctx->file, dw_conf_line(ctx, "global-key-file"),
		            p->name);
	} else {
		rc = dw_conf_secret(ctx, "token-file", true, DW_SECRET_LINE, &d->token);
		if (rc != 0)
			return rc;
		if ((rc = cf_check_token_text(ctx, "token-file", &d->token)) != 0)
			return rc;
	}
	return cf_zone_value(ctx, "zone", &d->zone);
}

static bool cf_in_zone(const char *fqdn, const char *zone)
{
	size_t fl = strlen(fqdn), zl = strlen(zone);
	return strcmp(fqdn, zone) == 0 ||
	       (fl > zl + 1 && fqdn[fl - zl - 1] == '.' && strcmp(fqdn + fl - zl, zone) == 0);
}

static int cf_configure_record(struct dw_provider *p, struct dw_record *r,
                               struct dw_conf_ctx *ctx)
{
	struct dw_record_data *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = rd;
	rd->proxied = -1;

	for (int f = 0; f < DW_FAM_COUNT; f++) {
		uint32_t ttl = r->src[f].ttl;
		if (r->src[f].kind != DW_SRC_OFF && ttl != 1 && ttl < DW_CF_MIN_TTL)
			return dw_conf_error(ctx, NULL,
			                     "%s ttl %u is below Cloudflare's minimum %u (1 = automatic)",
			                     dw_family_rrtype((enum dw_family)f), (unsigned)ttl,
			                     DW_CF_MIN_TTL);
	}
	if (dw_conf_get(ctx, "proxied") != NULL) {
		bool b;
		int rc = dw_conf_bool(ctx, "proxied", false, &b);
		if (rc != 0)
			return rc;
		rd->proxied = b ? 1 : 0;
	}
	int rc = cf_zone_value(ctx, "zone", &rd->zone);
	if (rc != 0)
		return rc;
	const char *key = "zone";
	if (rd->zone == NULL && p->data != NULL && p->data->zone != NULL) {
		rd->zone = strdup(p->data->zone);
		if (rd->zone == NULL)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		key = NULL;
	}
	if (rd->zone != NULL && !cf_in_zone(r->fqdn, rd->zone))
		return dw_conf_error(ctx, key, "%s is not inside zone %s", r->fqdn, rd->zone);
	if (rd->zone == NULL && strchr(r->fqdn, '.') == NULL)
		return dw_conf_error(ctx, NULL, "cannot find the zone of %s: set zone =", r->fqdn);
	return 0;
}

/* ---- Requests ---- */

struct cf_call {
	struct dw_http_req req;
	char email_hdr[320];
	char key_hdr[DW_SECRET_MAX + 16];
};

static const char *cf_credkey(const struct dw_provider *p)
{
	return p->data->token.data != NULL ? CF_TOKEN_KEY : CF_GLOBAL_KEY;
}

/* Builds base + path (+ query pairs escaped); false when too long. */
static bool cf_url(char *buf, size_t cap, const struct dw_provider *p, const char *path,
                   const char *const *query)
{
	int n = snprintf(buf, cap, "%s%s", p->base_url, path);
	if (n < 0 || (size_t)n >= cap)
		return false;
	size_t len = (size_t)n;
	for (size_t i = 0; query != NULL && query[i] != NULL; i += 2) {
		char esc[768];
		if (dw_http_escape(query[i + 1], esc, sizeof(esc)) != 0)
			return false;
		n = snprintf(buf + len, cap - len, "%c%s=%s", i == 0 ? '?' : '&', query[i], esc);
		if (n < 0 || (size_t)n >= cap - len)
			return false;
		len += (size_t)n;
	}
	return true;
}

static bool cf_call_init(struct cf_call *c, const struct dw_provider *p, const char *method,
                         const char *url)
{
	memset(c, 0, sizeof(*c));
	c->req.method = method;
	c->req.url = url;
	c->req.ca_file = p->ca_file;
	c->req.timeout_ms = p->timeout_ms;
	size_t h = 0;
	c->req.headers[h++] = "Accept: application/json";
	if (p->data->token.data != NULL) {
		c->req.bearer = p->data->token.data;
	} else {
		int n1 = snprintf(c->email_hdr, sizeof(c->email_hdr), "X-Auth-Email: %s", p->data->email);
		int n2 = snprintf(c->key_hdr, sizeof(c->key_hdr), "X-Auth-Key: %s",
		                  p->data->global_key.data);
		if (n1 < 0 || (size_t)n1 >= sizeof(c->email_hdr) || n2 < 0 ||
		    (size_t)n2 >= sizeof(c->key_hdr))
			return false;
		c->req.headers[h++] = c->email_hdr;
		c->req.headers[h++] = c->key_hdr;
	}
	return true;
}

static void cf_call_done(struct cf_call *c)
{
	explicit_bzero(c->key_hdr, sizeof(c->key_hdr));
}

/* Runs one request; false (res set) on a transport error. */
static bool cf_do(const struct dw_provider *p, const char *method, const char *url,
                  const char *body, struct dw_http_resp *resp, struct dw_result *res)
{
	struct cf_call c;
	struct dw_diag diag = { { 0 } };
	memset(resp, 0, sizeof(*resp));
	if (!cf_call_init(&c, p, method, url)) {
		cf_call_done(&c);
		dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare credentials too long");
		return false;
	}
	if (body != NULL) {
		size_t h = 0;
		while (c.req.headers[h] != NULL)
			h++;
		c.req.headers[h] = "Content-Type: application/json";
		c.req.body = body;
		c.req.body_len = strlen(body);
	}
	int rc = dw_http_request(&c.req, resp, &diag);
	cf_call_done(&c);
	if (rc != 0) {
		dw_result_http_failure(res, p, "Cloudflare", rc, resp, &diag);
		return false;
	}
	return true;
}

/* Looks zone up by name.  Returns 1 found (id set), 0 not found, -1 res set. */
static int cf_zone_id(struct dw_provider *p, const char *zone, char id[DW_CF_ID_MAX],
                      struct dw_result *res)
{
	char url[CF_URL_MAX];
	const char *q[] = { "name", zone, NULL };
	struct dw_http_resp resp;
	if (!cf_url(url, sizeof(url), p, "/zones", q)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare URL too long for %s", zone);
		return -1;
	}
	if (!cf_do(p, "GET", url, NULL, &resp, res)) {
		dw_http_resp_free(&resp);
		return -1;
	}
	int ret = -1;
	int rc = resp.status == 200 ? dw_cf_parse_zones(resp.body, resp.len, zone, id) : DW_EPARSE;
	if (rc == 0)
		ret = 1;
	else if (rc == DW_ENOTFOUND)
		ret = 0;
	else
		dw_cf_classify_error(resp.status, resp.body, resp.len, resp.retry_after_s,
		                     cf_credkey(p), zone, res);
	dw_http_resp_free(&resp);
	return ret;
}

struct cf_probe {
	struct dw_provider *p;
	char *id;   /* DW_CF_ID_MAX bytes */
};

/* One zone lookup for dw_zone_find(). */
static enum dw_zone_probe cf_probe(void *arg, const char *zone, struct dw_result *res)
{
	struct cf_probe *c = arg;
	int rc = cf_zone_id(c->p, zone, c->id, res);
	return rc > 0 ? DW_ZONE_FOUND : rc == 0 ? DW_ZONE_ABSENT : DW_ZONE_FAILED;
}

/* Finds the zone of fqdn: the hint when given, else by probing
 * (dw_zone_find).  Returns true with zone_out (malloc) and id set, false
 * with res set. */
static bool cf_find_zone(struct dw_provider *p, const char *fqdn, const char *hint,
                         char **zone_out, char id[DW_CF_ID_MAX], struct dw_result *res)
{
	struct cf_probe c = { p, id };
	const char *zone = NULL;
	int found;
	if (hint != NULL) {
		enum dw_zone_probe pr = cf_probe(&c, hint, res);
		found = pr == DW_ZONE_FOUND ? 1 : pr == DW_ZONE_FAILED ? -1 : 0;
		zone = hint;
	} else {
		found = dw_zone_find(fqdn, cf_probe, &c, &zone, NULL, res);
	}
	if (found < 0)
		return false;
	if (found == 0) {
		if (hint != NULL)
			dw_result_set(res, DW_OUT_FATAL, -1,
			              "Cloudflare: zone %s not found, or the token cannot read it (it "
			              "needs Zone:Zone:Read or Zone:DNS:Edit on that zone)", hint);
		else
			dw_result_set(res, DW_OUT_FATAL, -1,
			              "Cloudflare: no zone of %s found that these credentials can see "
			              "(set zone = to name it)", fqdn);
		return false;
	}
	*zone_out = strdup(zone);
	if (*zone_out == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		return false;
	}
	if (hint == NULL)
		log_info("Cloudflare: %s is in zone %s", fqdn, *zone_out);
	return true;
}

/* Lists every record of name and type, following result_info.total_pages.
 * false with res set on error. */
static bool cf_list(struct dw_provider *p, const char *zone, const char *zone_id,
                    const char *rrtype, const char *name, struct dw_cf_records *list,
                    struct dw_result *res)
{
	char path[128], url[CF_URL_MAX], pagebuf[16], perbuf[16];
	int n = snprintf(path, sizeof(path), "/zones/%s/dns_records", zone_id);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "Cloudflare zone id too long");
		return false;
	}
	snprintf(perbuf, sizeof(perbuf), "%d", DW_CF_PER_PAGE);
	for (long page = 1; page <= DW_CF_PAGES_MAX; page++) {
		snprintf(pagebuf, sizeof(pagebuf), "%ld", page);
		const char *q[] = { "type", rrtype, "name", name, "page", pagebuf,
		                    "per_page", perbuf, NULL };
		struct dw_http_resp resp;
		if (!cf_url(url, sizeof(url), p, path, q)) {
			dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare URL too long for %s", name);
			return false;
		}
		if (!cf_do(p, "GET", url, NULL, &resp, res)) {
			dw_http_resp_free(&resp);
			return false;
		}
		long got_page = 0, total = 0;
		int rc = resp.status == 200 ? dw_cf_parse_records(resp.body, resp.len, rrtype, name,
		                                                  list, &got_page, &total)
		                            : DW_EPARSE;
		if (rc == 0 && got_page != page)
			rc = DW_EPARSE;
		if (rc == DW_ETOOBIG)
			dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare: more than %d %s records at %s",
			              DW_CF_RECORDS_MAX, rrtype, name);
		else if (rc != 0 && resp.status == 200)
			dw_result_set(res, DW_OUT_RETRY, -1,
			              "unparsable reply from Cloudflare (%s records of %s)", rrtype, name);
		else if (rc != 0)
			dw_cf_classify_error(resp.status, resp.body, resp.len, resp.retry_after_s,
			                     cf_credkey(p), zone, res);
		dw_http_resp_free(&resp);
		if (rc != 0)
			return false;
		if (page >= total)
			return true;
	}
	dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare: more than %d pages of %s records at %s",
	              DW_CF_PAGES_MAX, rrtype, name);
	return false;
}

/* Sends a write and judges it; true on success. */
static bool cf_write(struct dw_provider *p, const char *method, const char *zone,
                     const char *zone_id, const char *rid, json_t *doc, const char *want_content,
                     struct dw_result *res)
{
	char path[192], url[CF_URL_MAX];
	int n = rid != NULL ? snprintf(path, sizeof(path), "/zones/%s/dns_records/%s", zone_id, rid)
	                    : snprintf(path, sizeof(path), "/zones/%s/dns_records", zone_id);
	if (n < 0 || (size_t)n >= sizeof(path) || !cf_url(url, sizeof(url), p, path, NULL)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "Cloudflare record id too long");
		return false;
	}
	char *body = NULL;
	if (doc != NULL && (body = json_dumps(doc, JSON_COMPACT)) == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		return false;
	}
	struct dw_http_resp resp;
	bool ok = cf_do(p, method, url, body, &resp, res) &&
	          dw_cf_after_write(resp.status, resp.body, resp.len, resp.retry_after_s,
	                            cf_credkey(p), zone, rid, want_content, res);
	dw_http_resp_free(&resp);
	free(body);
	return ok;
}

static void cf_update(struct dw_provider *p, const struct dw_record *r,
                      const struct dw_ip *addr, struct dw_result *res)
{
	struct dw_record_data *rd = r->data;
	const char *rrtype = dw_family_rrtype(addr->family);
	struct dw_cf_records list = { 0 };
	json_t *doc = NULL;
	char ip[DW_IP_STRLEN];
	dw_ip_format(addr, ip);

	if (rd == NULL || p->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare provider not configured");
		return;
	}
	if (rd->zone_id[0] == '\0') {
		char *zone = NULL;
		if (!cf_find_zone(p, r->fqdn, rd->zone, &zone, rd->zone_id, res))
			goto out;
		free(rd->zone);
		rd->zone = zone;
	}
	if (!cf_list(p, rd->zone, rd->zone_id, rrtype, r->fqdn, &list, res))
		goto out;

	struct dw_cf_plan plan;
	dw_cf_plan_address(&list, addr, r->src[addr->family].ttl, rd->proxied, &plan);
	if (plan.action == DW_CF_CREATE) {
		doc = json_pack("{s:s, s:s, s:s, s:I}", "type", rrtype, "name", r->fqdn, "content", ip,
		                "ttl", (json_int_t)plan.ttl);
	} else if (plan.action == DW_CF_PATCH) {
		doc = json_pack("{s:s, s:I}", "content", ip, "ttl", (json_int_t)plan.ttl);
	}
	if (plan.action != DW_CF_KEEP) {
		if (doc == NULL || (plan.proxied >= 0 &&
		                    json_object_set_new(doc, "proxied", json_boolean(plan.proxied)) != 0)) {
			dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
			goto out;
		}
		if (plan.action == DW_CF_CREATE) {
			if (!cf_write(p, "POST", rd->zone, rd->zone_id, NULL, doc, ip, res))
				goto out;
		} else if (!cf_write(p, "PATCH", rd->zone, rd->zone_id, list.v[plan.keep].id, doc, ip,
		                     res)) {
			goto out;
		}
	}
	/* The record now holds addr; any other record of that type goes, so
	 * that addr is the only address published. */
	size_t deleted = 0;
	for (size_t i = 0; i < list.n && plan.action != DW_CF_CREATE; i++) {
		if (i == plan.keep)
			continue;
		if (!cf_write(p, "DELETE", rd->zone, rd->zone_id, list.v[i].id, NULL, NULL, res))
			goto out;
		deleted++;
	}
	if (plan.action == DW_CF_KEEP && deleted == 0)
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "Cloudflare already had %s (ttl %ld)", ip,
		              list.v[plan.keep].ttl);
	else if (deleted > 0)
		dw_result_set(res, DW_OUT_DONE, -1, "Cloudflare updated %s, removed %zu other %s record%s",
		              ip, deleted, rrtype, deleted == 1 ? "" : "s");
	else
		dw_result_set(res, DW_OUT_DONE, -1, "Cloudflare %s %s",
		              plan.action == DW_CF_CREATE ? "created" : "updated", ip);
out:
	log_debug("Cloudflare %s %s %s: %s", r->fqdn, rrtype, ip, dw_outcome_str(res->outcome));
	dw_cf_records_free(&list);
	json_decref(doc);
}

static void cf_verify(struct dw_provider *p, const struct dw_record *r,
                      const struct dw_ip *addr, struct dw_verify *out)
{
	struct dw_record_data *rd = r->data;
	const char *rrtype = dw_family_rrtype(addr->family);
	struct dw_cf_records list = { 0 };
	struct dw_result res = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };

	if (rd == NULL || p->data == NULL) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "Cloudflare provider not configured");
		return;
	}
	if (rd->zone_id[0] == '\0') {
		char *zone = NULL;
		if (!cf_find_zone(p, r->fqdn, rd->zone, &zone, rd->zone_id, &res)) {
			dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
			return;
		}
		free(rd->zone);
		rd->zone = zone;
	}
	if (cf_list(p, rd->zone, rd->zone_id, rrtype, r->fqdn, &list, &res))
		dw_cf_verify_list(&list, rrtype, addr, out);
	else
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
	dw_cf_records_free(&list);
}

/* ---- TXT ---- */

/* The zone of a TXT name: the provider's zone when the name is inside it,
 * else found by probing. */
static bool cf_txt_zone(struct dw_provider *p, const char *fqdn, char **zone,
                        char id[DW_CF_ID_MAX], struct dw_result *res)
{
	const char *hint = p->data->zone != NULL && cf_in_zone(fqdn, p->data->zone) ? p->data->zone
	                                                                             : NULL;
	return cf_find_zone(p, fqdn, hint, zone, id, res);
}

static void cf_txt_add(struct dw_provider *p, const char *fqdn, const char *value, uint32_t ttl,
                       struct dw_result *res)
{
	char quoted[DW_TXT_QUOTED_MAX], id[DW_CF_ID_MAX];
	char *zone = NULL;
	struct dw_cf_records list = { 0 };
	json_t *doc = NULL;

	if (p->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare provider not configured");
		return;
	}
	if (dw_txt_quote(value, quoted, sizeof(quoted)) != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "TXT value must be 1 to 255 printable characters");
		return;
	}
	if (ttl != 1 && ttl < DW_CF_MIN_TTL)
		ttl = DW_CF_MIN_TTL;
	if (!cf_txt_zone(p, fqdn, &zone, id, res) || !cf_list(p, zone, id, "TXT", fqdn, &list, res))
		goto out;
	for (size_t i = 0; i < list.n; i++) {
		const struct dw_cf_record *rec = &list.v[i];
		if (!rec->content_too_long &&
		    dw_txt_matches(rec->content, strlen(rec->content), value)) {
			dw_result_set(res, DW_OUT_UNCHANGED, -1, "Cloudflare already has this TXT value");
			goto out;
		}
	}
	/* Several values at one name are separate records: add one more. */
	doc = json_pack("{s:s, s:s, s:s, s:I}", "type", "TXT", "name", fqdn, "content", quoted,
	                "ttl", (json_int_t)ttl);
	if (doc == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	if (cf_write(p, "POST", zone, id, NULL, doc, quoted, res))
		dw_result_set(res, DW_OUT_DONE, -1, "Cloudflare added a TXT value at %s", fqdn);
out:
	json_decref(doc);
	dw_cf_records_free(&list);
	free(zone);
}

static void cf_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                       struct dw_result *res)
{
	char id[DW_CF_ID_MAX];
	char *zone = NULL;
	struct dw_cf_records list = { 0 };
	size_t deleted = 0;

	if (p->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Cloudflare provider not configured");
		return;
	}
	if (!cf_txt_zone(p, fqdn, &zone, id, res) || !cf_list(p, zone, id, "TXT", fqdn, &list, res))
		goto out;
	for (size_t i = 0; i < list.n; i++) {
		const struct dw_cf_record *rec = &list.v[i];
		if (rec->content_too_long || !dw_txt_matches(rec->content, strlen(rec->content), value))
			continue;
		if (!cf_write(p, "DELETE", zone, id, list.v[i].id, NULL, NULL, res))
			goto out;
		deleted++;
	}
	if (deleted == 0)
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "Cloudflare had no such TXT value at %s", fqdn);
	else
		dw_result_set(res, DW_OUT_DONE, -1, "Cloudflare removed a TXT value at %s", fqdn);
out:
	dw_cf_records_free(&list);
	free(zone);
}

static void cf_free_record(struct dw_record *r)
{
	struct dw_record_data *rd = r->data;
	if (rd == NULL)
		return;
	free(rd->zone);
	free(rd);
	r->data = NULL;
}

static void cf_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->token);
	dw_secret_clear(&d->global_key);
	free(d->email);
	free(d->zone);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_cloudflare = {
	.type = "cloudflare",
	.summary = "Cloudflare API v4 (scoped API token)",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT | DW_CAP_TTL,
	.default_base_url = "https://api.cloudflare.com/client/v4",
	.configure = cf_configure,
	.configure_record = cf_configure_record,
	.update = cf_update,
	.txt_add = cf_txt_add,
	.txt_del = cf_txt_del,
	.verify = cf_verify,
	.free_record = cf_free_record,
	.free = cf_free,
};
