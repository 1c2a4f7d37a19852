/* Gandi LiveDNS v5 (protocols.md section 1): record sets addressed by zone,
 * name relative to the zone and type, authenticated with a Personal Access
 * Token sent as "Authorization: Bearer".
 *
 * An update reads the set first and writes only when it differs, so an
 * unchanged address costs one GET and never a write. */
#include "providers/gandi.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"

#define GANDI_MSG_MAX 160
#define GANDI_URL_MAX 2048

struct dw_provider_data {
	struct dw_secret token;   /* PAT, sent as Bearer */
	char *zone;               /* default zone of the records, or NULL */
	char *sharing_id;         /* organisation, or NULL */
};

struct dw_record_data {
	char *zone;               /* configured, or found by probing (cached) */
	char *name;               /* relative to zone, "@" for the apex */
	bool probed;              /* zone found by probing (now or in an earlier run,
	                           * through the state file's memo): a 404 on
	                           * write means it moved, so probe again */
};

/* ---- Pure parsers ---- */

static json_t *gandi_load(const char *body, size_t len)
{
	json_error_t err;
	if (body == NULL || len == 0)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
}

int dw_gandi_parse_rrset(const char *body, size_t len, const char *rrtype,
                         const struct dw_ip *addr, struct dw_gandi_rrset_check *out)
{
	int ret = DW_EPARSE;
	memset(out, 0, sizeof(*out));
	json_t *root = gandi_load(body, len);
	if (root == NULL || !json_is_object(root))
		goto out;

	json_t *type = json_object_get(root, "rrset_type");
	if (type != NULL && (!json_is_string(type) || strcmp(json_string_value(type), rrtype) != 0))
		goto out;
	json_t *name = json_object_get(root, "rrset_name");
	if (name != NULL && !json_is_string(name))
		goto out;
	json_t *ttl = json_object_get(root, "rrset_ttl");
	if (!json_is_integer(ttl))
		goto out;
	json_int_t t = json_integer_value(ttl);
	if (t < 0 || t > 0x7fffffff)
		goto out;
	json_t *values = json_object_get(root, "rrset_values");
	if (!json_is_array(values))
		goto out;

	out->ttl = (long)t;
	out->nvalues = json_array_size(values);
	size_t i;
	json_t *v;
	bool all_strings = true;
	json_array_foreach(values, i, v) {
		if (!json_is_string(v))
			all_strings = false;
	}
	if (!all_strings)
		goto out;
	if (out->nvalues == 1) {
		struct dw_ip got;
		const char *s = json_string_value(json_array_get(values, 0));
		out->values_match = strlen(s) == json_string_length(json_array_get(values, 0)) &&
		                    dw_ip_parse(s, addr->family, &got) == 0 && dw_ip_equal(&got, addr);
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int dw_gandi_error_message(const char *body, size_t len, char *out, size_t cap)
{
	int ret = DW_EPARSE;
	if (cap > 0)
		out[0] = '\0';
	json_t *root = gandi_load(body, len);
	if (root == NULL || !json_is_object(root))
		goto out;
	json_t *msg = json_object_get(root, "message");
	if (!json_is_string(msg))
		goto out;
	const char *m = json_string_value(msg);
	dw_text_sample(m, strlen(m), GANDI_MSG_MAX, out, cap);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

void dw_gandi_classify_error(long status, const char *body, size_t len, long retry_after_s,
                             const char *zone, struct dw_result *res)
{
	char msg[GANDI_MSG_MAX + 1];
	if (dw_gandi_error_message(body, len, msg, sizeof(msg)) != 0 || msg[0] == '\0')
		snprintf(msg, sizeof(msg), "no message");

	if (status == 401) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi rejected the token (401): check token-file");
	} else if (status == 403) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "Gandi: token expired or lacks permission 'Manage technical "
		              "configuration' for zone %s (403)", zone);
	} else if (status == 404) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "Gandi: zone %s not found / not in this organisation (404)", zone);
	} else if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "Gandi", status, retry_after_s, -1, NULL);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi refused the request (HTTP %ld): %s",
		              status, msg);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from Gandi", status);
	}
}

enum dw_gandi_next dw_gandi_after_get(long status, const char *body, size_t len,
                                      long retry_after_s, const char *zone, const char *rrtype,
                                      const struct dw_ip *addr, uint32_t ttl,
                                      struct dw_result *res)
{
	if (status == 404)
		return DW_GANDI_WRITE;   /* no such set yet; a missing zone shows on PUT */
	if (status != 200) {
		dw_gandi_classify_error(status, body, len, retry_after_s, zone, res);
		return DW_GANDI_FINAL;
	}
	struct dw_gandi_rrset_check c;
	if (dw_gandi_parse_rrset(body, len, rrtype, addr, &c) != 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from Gandi (record set %s)",
		              rrtype);
		return DW_GANDI_FINAL;
	}
	if (c.values_match && c.ttl == (long)ttl) {
		char ip[DW_IP_STRLEN];
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "Gandi already had %s (ttl %ld)",
		              dw_ip_format(addr, ip), c.ttl);
		return DW_GANDI_FINAL;
	}
	return DW_GANDI_WRITE;
}

void dw_gandi_verify_get(long status, const char *body, size_t len, long retry_after_s,
                         const char *zone, const char *rrtype, const struct dw_ip *addr,
                         struct dw_verify *out)
{
	char ip[DW_IP_STRLEN];
	dw_ip_format(addr, ip);
	if (status == 404) {
		dw_verify_set(out, DW_VERIFY_DRIFTED, "Gandi has no %s record set, not %s", rrtype, ip);
		return;
	}
	if (status != 200) {
		struct dw_result res = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
		dw_gandi_classify_error(status, body, len, retry_after_s, zone, &res);
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
		return;
	}
	struct dw_gandi_rrset_check c;
	if (dw_gandi_parse_rrset(body, len, rrtype, addr, &c) != 0)
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "unparsable reply from Gandi (record set %s)",
		              rrtype);
	else if (c.values_match)
		dw_verify_set(out, DW_VERIFY_STANDS, "Gandi holds %s %s", rrtype, ip);
	else
		dw_verify_set(out, DW_VERIFY_DRIFTED, "Gandi's %s record set holds %zu value%s, not "
		              "exactly %s", rrtype, c.nvalues, c.nvalues == 1 ? "" : "s", ip);
}

void dw_gandi_after_put(long status, const char *body, size_t len, long retry_after_s,
                        const char *zone, const struct dw_ip *addr, struct dw_result *res)
{
	if (status == 201) {
		char ip[DW_IP_STRLEN];
		dw_result_set(res, DW_OUT_DONE, -1, "Gandi updated %s", dw_ip_format(addr, ip));
		return;
	}
	dw_gandi_classify_error(status, body, len, retry_after_s, zone, res);
}

enum dw_gandi_probe dw_gandi_after_probe(long status, const char *body, size_t len,
                                         long retry_after_s, const char *candidate,
                                         struct dw_result *res)
{
	if (status == 200)
		return DW_GANDI_PROBE_FOUND;
	if (status == 404)
		return DW_GANDI_PROBE_NEXT;
	if (status == 403)
		return DW_GANDI_PROBE_FORBIDDEN;
	dw_gandi_classify_error(status, body, len, retry_after_s, candidate, res);
	return DW_GANDI_PROBE_FINAL;
}

/* True when the Gandi TXT value v (quoted or bare) is the text value. */
static bool gandi_txt_is(const char *v, size_t vlen, const char *value)
{
	size_t n = strlen(value);
	if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
		size_t i = 1, k = 0;
		for (; i < vlen - 1 && k < n; i++, k++) {
			if (v[i] == '\\' && i + 1 < vlen - 1)
				i++;
			if (v[i] != value[k])
				return false;
		}
		return i == vlen - 1 && k == n;
	}
	return vlen == n && memcmp(v, value, n) == 0;
}

int dw_gandi_txt_edit(const char *body, size_t len, const char *value, bool add,
                      uint32_t ttl, char **put_body, size_t *nafter, bool *changed)
{
	*put_body = NULL;
	*nafter = 0;
	*changed = false;
	int ret = DW_EPARSE;
	json_t *root = NULL, *vals = json_array(), *doc = NULL;
	json_int_t t = ttl < DW_GANDI_MIN_TTL ? DW_GANDI_MIN_TTL : ttl;
	bool present = false;
	if (vals == NULL)
		return DW_ENOMEM;
	if (body != NULL) {
		root = gandi_load(body, len);
		if (root == NULL || !json_is_object(root))
			goto out;
		json_t *type = json_object_get(root, "rrset_type");
		if (type != NULL && (!json_is_string(type) || strcmp(json_string_value(type), "TXT") != 0))
			goto out;
		json_t *jt = json_object_get(root, "rrset_ttl");
		if (jt != NULL) {
			if (!json_is_integer(jt) || json_integer_value(jt) < 0 ||
			    json_integer_value(jt) > 0x7fffffff)
				goto out;
			t = json_integer_value(jt);
		}
		json_t *old = json_object_get(root, "rrset_values");
		if (!json_is_array(old))
			goto out;
		size_t i;
		json_t *v;
		json_array_foreach(old, i, v) {
			if (!json_is_string(v))
				goto out;
			if (gandi_txt_is(json_string_value(v), json_string_length(v), value)) {
				present = true;
				if (!add)
					continue;   /* dropped */
			}
			if (json_array_append(vals, v) != 0) {
				ret = DW_ENOMEM;
				goto out;
			}
		}
	}
	if (add && !present) {
		size_t n = strlen(value);
		char *q = malloc(2 * n + 3);
		if (q == NULL) {
			ret = DW_ENOMEM;
			goto out;
		}
		size_t o = 0;
		q[o++] = '"';
		for (size_t i = 0; i < n; i++) {
			if (value[i] == '"' || value[i] == '\\')
				q[o++] = '\\';
			q[o++] = value[i];
		}
		q[o++] = '"';
		q[o] = '\0';
		int r = json_array_append_new(vals, json_string(q));
		free(q);
		if (r != 0) {
			ret = DW_ENOMEM;
			goto out;
		}
	}
	*changed = add ? !present : present;
	*nafter = json_array_size(vals);
	ret = DW_OK;
	if (*nafter == 0)
		goto out;
	doc = json_pack("{s:I, s:O}", "rrset_ttl", t, "rrset_values", vals);
	*put_body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (*put_body == NULL)
		ret = DW_ENOMEM;
out:
	json_decref(doc);
	json_decref(vals);
	json_decref(root);
	return ret;
}

/* ---- Configuration ---- */

static int gandi_zone_value(struct dw_conf_ctx *ctx, const char *key, char **out)
{
	*out = NULL;
	int rc = dw_conf_strdup(ctx, key, NULL, out);
	if (rc != 0 || *out == NULL)
		return rc;
	if (dw_fqdn_normalize(*out) != 0 || (*out)[0] == '*')
		return dw_conf_error(ctx, key, "not a valid zone name");
	return 0;
}

static int gandi_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;

	if (p->base_url == NULL || strncasecmp(p->base_url, "https://", 8) != 0)
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (the token is sent to it)");
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
	rc = gandi_zone_value(ctx, "zone", &d->zone);
	if (rc != 0)
		return rc;
	rc = dw_conf_strdup(ctx, "sharing-id", NULL, &d->sharing_id);
	if (rc != 0)
		return rc;
	if (d->sharing_id != NULL && d->sharing_id[0] == '\0')
		return dw_conf_error(ctx, "sharing-id", "must not be empty");
	return 0;
}

/* Sets rd->name from fqdn and zone; false when fqdn is not inside zone. */
static bool gandi_set_name(struct dw_record_data *rd, const char *fqdn, const char *zone)
{
	size_t fl = strlen(fqdn), zl = strlen(zone);
	char *name = NULL;
	if (fl == zl && strcmp(fqdn, zone) == 0) {
		name = strdup("@");
	} else if (fl > zl + 1 && fqdn[fl - zl - 1] == '.' && strcmp(fqdn + fl - zl, zone) == 0) {
		name = strndup(fqdn, fl - zl - 1);
	} else {
		return false;
	}
	if (name == NULL)
		return false;
	free(rd->name);
	rd->name = name;
	return true;
}

static int gandi_configure_record(struct dw_provider *p, struct dw_record *r,
                                  struct dw_conf_ctx *ctx)
{
	struct dw_record_data *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = rd;

	/* Said once, when the configuration is read (also by "dnsward check"). */
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (r->src[f].kind != DW_SRC_OFF && r->src[f].ttl < DW_GANDI_MIN_TTL)
			log_warning("%s:%d: [record %s] %s ttl %u is below Gandi's minimum, using %u",
			            ctx->file, r->line, r->fqdn, dw_family_rrtype((enum dw_family)f),
			            (unsigned)r->src[f].ttl, DW_GANDI_MIN_TTL);
	}

	int rc = gandi_zone_value(ctx, "zone", &rd->zone);
	if (rc != 0)
		return rc;
	const char *key = "zone";
	if (rd->zone == NULL && p->data != NULL && p->data->zone != NULL) {
		rd->zone = strdup(p->data->zone);
		if (rd->zone == NULL)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		key = NULL;
	}
	if (rd->zone != NULL) {
		if (!gandi_set_name(rd, r->fqdn, rd->zone))
			return dw_conf_error(ctx, key, "%s is not inside zone %s", r->fqdn, rd->zone);
		return 0;
	}
	if (strchr(r->fqdn, '.') == NULL)
		return dw_conf_error(ctx, NULL, "cannot find the zone of %s: set zone =", r->fqdn);
	return 0;   /* found by probing at the first update */
}

/* ---- Update ---- */

static bool gandi_append(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (n >= cap - *len)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

static bool gandi_append_escaped(char *buf, size_t cap, size_t *len, const char *s)
{
	char esc[768];
	if (dw_http_escape(s, esc, sizeof(esc)) != 0)
		return false;
	return gandi_append(buf, cap, len, esc);
}

/* Builds {base}/domains/{zone}[/records/{name}/{type}][?sharing_id=ID]. */
static bool gandi_url(char *buf, size_t cap, const struct dw_provider *p, const char *zone,
                      const char *name, const char *rrtype)
{
	const char *base = p->base_url;
	size_t len = 0, blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen >= cap)
		return false;
	memcpy(buf, base, blen);
	buf[blen] = '\0';
	len = blen;
	if (!gandi_append(buf, cap, &len, "/domains/") || !gandi_append_escaped(buf, cap, &len, zone))
		return false;
	if (name != NULL) {
		/* "@" is a valid path character and what Gandi documents for the apex. */
		if (!gandi_append(buf, cap, &len, "/records/") ||
		    !(strcmp(name, "@") == 0 ? gandi_append(buf, cap, &len, "@")
		                             : gandi_append_escaped(buf, cap, &len, name)) ||
		    !gandi_append(buf, cap, &len, "/") || !gandi_append(buf, cap, &len, rrtype))
			return false;
	}
	if (p->data->sharing_id != NULL) {
		if (!gandi_append(buf, cap, &len, "?sharing_id=") ||
		    !gandi_append_escaped(buf, cap, &len, p->data->sharing_id))
			return false;
	}
	return true;
}


static void gandi_req_init(struct dw_http_req *req, const struct dw_provider *p,
                           const char *method, const char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->bearer = p->data->token.data;
	req->headers[0] = "Accept: application/json";
	req->ca_file = p->ca_file;
	req->timeout_ms = p->timeout_ms;
}

/* One GET /domains/{candidate} for dw_zone_find(). */
static enum dw_zone_probe gandi_probe(void *arg, const char *cand, struct dw_result *res)
{
	struct dw_provider *p = arg;
	char url[GANDI_URL_MAX];
	struct dw_http_req req;
	struct dw_http_resp resp;
	struct dw_diag diag = { { 0 } };
	if (!gandi_url(url, sizeof(url), p, cand, NULL, NULL)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi URL too long for %s", cand);
		return DW_ZONE_FAILED;
	}
	gandi_req_init(&req, p, "GET", url);
	int rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "Gandi", rc, &resp, &diag);
		dw_http_resp_free(&resp);
		return DW_ZONE_FAILED;
	}
	enum dw_gandi_probe pr = dw_gandi_after_probe(resp.status, resp.body, resp.len,
	                                              resp.retry_after_s, cand, res);
	dw_http_resp_free(&resp);
	switch (pr) {
	case DW_GANDI_PROBE_FOUND:     return DW_ZONE_FOUND;
	case DW_GANDI_PROBE_NEXT:      return DW_ZONE_ABSENT;
	case DW_GANDI_PROBE_FORBIDDEN: return DW_ZONE_FORBIDDEN;
	case DW_GANDI_PROBE_FINAL:     break;
	}
	return DW_ZONE_FAILED;
}

/* Finds the zone of r by probing (dw_zone_find).  Returns true with
 * rd->zone and rd->name set, or false with res set. */
static bool gandi_find_zone(struct dw_provider *p, const struct dw_record *r,
                            struct dw_record_data *rd, struct dw_result *res)
{
	const char *zone = NULL, *forbidden = NULL;
	int found = dw_zone_find(r->fqdn, gandi_probe, p, &zone, &forbidden, res);
	if (found <= 0) {
		if (found < 0)
			return false;
		if (forbidden != NULL)
			dw_result_set(res, DW_OUT_FATAL, -1,
			              "Gandi: token expired or lacks permission 'Manage technical "
			              "configuration' for zone %s (403)", forbidden);
		else
			dw_result_set(res, DW_OUT_FATAL, -1,
			              "Gandi: no zone of %s found in this organisation (set zone = to "
			              "name it)", r->fqdn);
		return false;
	}
	char *z = strdup(zone);
	if (z == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		return false;
	}
	free(rd->zone);
	rd->zone = z;
	if (!gandi_set_name(rd, r->fqdn, rd->zone)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		free(rd->zone);
		rd->zone = NULL;
		return false;
	}
	log_info("Gandi: %s is in zone %s (record name %s)", r->fqdn, rd->zone, rd->name);
	return true;
}

/* GET the record set, PUT it when it differs.  Returns the PUT's HTTP
 * status (0 when none was sent); res holds the outcome. */
static long gandi_write(struct dw_provider *p, const struct dw_record *r,
                        const struct dw_ip *addr, struct dw_result *res)
{
	struct dw_record_data *rd = r->data;
	const char *rrtype = dw_family_rrtype(addr->family);
	char url[GANDI_URL_MAX];
	char ip[DW_IP_STRLEN];
	struct dw_http_req req;
	struct dw_http_resp resp = { 0 };
	struct dw_diag diag = { { 0 } };
	char *body = NULL;
	json_t *doc = NULL;
	long put = 0;

	dw_ip_format(addr, ip);
	/* Gandi refuses TTLs under 300; configure_record() warned about it. */
	uint32_t ttl = r->src[addr->family].ttl;
	if (ttl < DW_GANDI_MIN_TTL)
		ttl = DW_GANDI_MIN_TTL;

	if (!gandi_url(url, sizeof(url), p, rd->zone, rd->name, rrtype)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi URL too long for %s", r->fqdn);
		return 0;
	}

	gandi_req_init(&req, p, "GET", url);
	int rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "Gandi", rc, &resp, &diag);
		goto out;
	}
	if (dw_gandi_after_get(resp.status, resp.body, resp.len, resp.retry_after_s, rd->zone,
	                       rrtype, addr, ttl, res) == DW_GANDI_FINAL)
		goto out;
	dw_http_resp_free(&resp);

	doc = json_pack("{s:I, s:[s]}", "rrset_ttl", (json_int_t)ttl, "rrset_values", ip);
	body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (body == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	gandi_req_init(&req, p, "PUT", url);
	req.headers[1] = "Content-Type: application/json";
	req.body = body;
	req.body_len = strlen(body);
	rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "Gandi", rc, &resp, &diag);
		goto out;
	}
	put = resp.status;
	dw_gandi_after_put(resp.status, resp.body, resp.len, resp.retry_after_s, rd->zone, addr, res);
out:
	log_debug("Gandi %s %s %s: %s", r->fqdn, rrtype, ip, dw_outcome_str(res->outcome));
	dw_http_resp_free(&resp);
	free(body);
	json_decref(doc);
	return put;
}

static void gandi_forget_zone(struct dw_record_data *rd)
{
	free(rd->zone);
	free(rd->name);
	rd->zone = rd->name = NULL;
	rd->probed = false;
}

static void gandi_update(struct dw_provider *p, const struct dw_record *r,
                         const struct dw_ip *addr, struct dw_result *res)
{
	struct dw_record_data *rd = r->data;
	if (rd == NULL || p->data == NULL || p->data->token.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi provider not configured");
		return;
	}
	if (rd->zone == NULL) {
		if (!gandi_find_zone(p, r, rd, res))
			return;
		rd->probed = true;
	}
	/* A zone found earlier (this run or a memo) that is not there any
	 * more: look for it once more, then write again. */
	if (gandi_write(p, r, addr, res) == 404 && rd->probed) {
		log_info("Gandi: zone %s of %s not found any more: looking for it again", rd->zone,
		         r->fqdn);
		gandi_forget_zone(rd);
		if (!gandi_find_zone(p, r, rd, res))
			return;
		rd->probed = true;
		gandi_write(p, r, addr, res);
	}
}

/* The memo is the zone found by probing ("zone=NAME"); a configured zone
 * needs none. */
static bool gandi_memo_get(const struct dw_record *r, char *buf, size_t cap)
{
	const struct dw_record_data *rd = r->data;
	if (rd == NULL || !rd->probed || rd->zone == NULL)
		return false;
	int n = snprintf(buf, cap, "zone=%s", rd->zone);
	return n > 0 && (size_t)n < cap;
}

static void gandi_memo_set(struct dw_record *r, const char *memo)
{
	struct dw_record_data *rd = r->data;
	if (rd == NULL || rd->zone != NULL || strncmp(memo, "zone=", 5) != 0)
		return;   /* configured, or not a memo of ours */
	char *z = strdup(memo + 5);
	if (z == NULL || dw_fqdn_normalize(z) != DW_OK) {
		free(z);
		return;
	}
	rd->zone = z;
	if (!gandi_set_name(rd, r->fqdn, rd->zone)) {
		gandi_forget_zone(rd);   /* not a zone of this name: probe */
		return;
	}
	rd->probed = true;
	log_debug("Gandi: %s is in zone %s (remembered)", r->fqdn, rd->zone);
}

static void gandi_verify(struct dw_provider *p, const struct dw_record *r,
                         const struct dw_ip *addr, struct dw_verify *out)
{
	struct dw_record_data *rd = r->data;
	const char *rrtype = dw_family_rrtype(addr->family);
	char url[GANDI_URL_MAX];
	struct dw_http_req req;
	struct dw_http_resp resp = { 0 };
	struct dw_diag diag = { { 0 } };
	struct dw_result res = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };

	if (rd == NULL || p->data == NULL || p->data->token.data == NULL) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "Gandi provider not configured");
		return;
	}
	if (rd->zone == NULL) {
		if (!gandi_find_zone(p, r, rd, &res)) {
			dw_verify_set(out, DW_VERIFY_UNKNOWN, "%s", res.msg);
			return;
		}
		rd->probed = true;   /* kept as the record's memo, like a publish's */
	}
	if (!gandi_url(url, sizeof(url), p, rd->zone, rd->name, rrtype)) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "Gandi URL too long for %s", r->fqdn);
		return;
	}
	gandi_req_init(&req, p, "GET", url);
	int rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0)
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "Gandi request failed: %s", diag.msg);
	else
		dw_gandi_verify_get(resp.status, resp.body, resp.len, resp.retry_after_s, rd->zone,
		                    rrtype, addr, out);
	dw_http_resp_free(&resp);
}

/* ---- TXT values (ACME dns-01) ---- */

/* GET the TXT set at fqdn, add or drop value, PUT the result (DELETE when
 * it is left empty): the other values at the name stay. */
static void gandi_txt(struct dw_provider *p, const char *fqdn, const char *value,
                      uint32_t ttl, bool add, struct dw_result *res)
{
	struct dw_record tr = { .fqdn = (char *)(uintptr_t)fqdn };
	struct dw_record_data trd = { 0 };
	char url[GANDI_URL_MAX];
	struct dw_http_req req;
	struct dw_http_resp resp = { 0 };
	struct dw_diag diag = { { 0 } };
	char *body = NULL;
	const char *what = add ? "adding a TXT value" : "removing a TXT value";

	if (p->data == NULL || p->data->token.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi provider not configured");
		return;
	}
	if (p->data->zone != NULL) {
		trd.zone = strdup(p->data->zone);
		if (trd.zone == NULL) {
			dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
			return;
		}
		if (!gandi_set_name(&trd, fqdn, trd.zone)) {
			dw_result_set(res, DW_OUT_FATAL, -1, "Gandi: %s is not inside zone %s", fqdn,
			              trd.zone);
			goto out;
		}
	} else if (!gandi_find_zone(p, &tr, &trd, res)) {
		goto out;
	}
	if (!gandi_url(url, sizeof(url), p, trd.zone, trd.name, "TXT")) {
		dw_result_set(res, DW_OUT_FATAL, -1, "Gandi URL too long for %s", fqdn);
		goto out;
	}
	gandi_req_init(&req, p, "GET", url);
	int rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "Gandi", rc, &resp, &diag);
		goto out;
	}
	if (resp.status != 200 && resp.status != 404) {
		dw_gandi_classify_error(resp.status, resp.body, resp.len, resp.retry_after_s, trd.zone,
		                        res);
		goto out;
	}
	size_t nafter = 0;
	bool changed = false;
	rc = dw_gandi_txt_edit(resp.status == 200 ? resp.body : NULL, resp.len, value, add, ttl,
	                       &body, &nafter, &changed);
	dw_http_resp_free(&resp);
	if (rc != 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "%s at %s: %s", what, fqdn,
		              rc == DW_EPARSE ? "unparsable TXT record set from Gandi" : "out of memory");
		goto out;
	}
	if (!changed) {
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "Gandi TXT at %s %s the value", fqdn,
		              add ? "already holds" : "does not hold");
		goto out;
	}
	if (nafter == 0) {
		gandi_req_init(&req, p, "DELETE", url);
	} else {
		gandi_req_init(&req, p, "PUT", url);
		req.headers[1] = "Content-Type: application/json";
		req.body = body;
		req.body_len = strlen(body);
	}
	rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "Gandi", rc, &resp, &diag);
		goto out;
	}
	if ((nafter == 0 && resp.status >= 200 && resp.status < 400) ||
	    (nafter > 0 && resp.status == 201))
		dw_result_set(res, DW_OUT_DONE, -1, "Gandi TXT at %s now holds %zu value%s", fqdn,
		              nafter, nafter == 1 ? "" : "s");
	else if (nafter == 0 && resp.status == 404)
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "Gandi TXT at %s already gone", fqdn);
	else
		dw_gandi_classify_error(resp.status, resp.body, resp.len, resp.retry_after_s, trd.zone,
		                        res);
out:
	log_debug("Gandi %s at %s: %s", what, fqdn, dw_outcome_str(res->outcome));
	dw_http_resp_free(&resp);
	free(body);
	free(trd.zone);
	free(trd.name);
}

static void gandi_txt_add(struct dw_provider *p, const char *fqdn, const char *value,
                          uint32_t ttl, struct dw_result *res)
{
	gandi_txt(p, fqdn, value, ttl, true, res);
}

static void gandi_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                          struct dw_result *res)
{
	gandi_txt(p, fqdn, value, DW_GANDI_MIN_TTL, false, res);
}

static void gandi_free_record(struct dw_record *r)
{
	struct dw_record_data *rd = r->data;
	if (rd == NULL)
		return;
	free(rd->zone);
	free(rd->name);
	free(rd);
	r->data = NULL;
}

static void gandi_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->token);
	free(d->zone);
	free(d->sharing_id);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_gandi = {
	.type = "gandi",
	.summary = "Gandi LiveDNS v5 (Personal Access Token)",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT | DW_CAP_TTL,
	.default_base_url = "https://api.gandi.net/v5/livedns",
	.configure = gandi_configure,
	.configure_record = gandi_configure_record,
	.update = gandi_update,
	.memo_get = gandi_memo_get,
	.memo_set = gandi_memo_set,
	.txt_add = gandi_txt_add,
	.txt_del = gandi_txt_del,
	.verify = gandi_verify,
	.free_record = gandi_free_record,
	.free = gandi_free,
};
