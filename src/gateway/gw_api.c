/* dyndns2, acme-dns and httpreq request parsing (see gw_api.h). */
#include "gateway/gw_api.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"

/* ---- dyndns2 ------------------------------------------------------------ */

static int split_names(const char *v, struct gw_dd_req *out)
{
	const char *p = v;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (out->nnames == GW_DD_MAX_NAMES)
			return GW_DD_TOOMANY;
		struct gw_dd_name *dn = &out->names[out->nnames++];
		dn->valid = false;
		dn->name[0] = '\0';
		if (n > 0 && n < sizeof(dn->name)) {
			memcpy(dn->name, p, n);
			dn->name[n] = '\0';
			dn->valid = gw_name_normalize(dn->name) == DW_OK;
			if (!dn->valid)
				dn->name[0] = '\0';
		}
		if (p[n] == '\0')
			return GW_DD_OK;
		p += n + 1;
	}
}

/* One address of family fam (or of either when any). */
static int one_ip(const char *s, struct gw_dd_req *out)
{
	struct dw_ip ip;
	if (gw_ip_parse_unmapped(s, &ip) != DW_OK)
		return GW_DD_BADIP;
	if (out->has_ip[ip.family])
		return GW_DD_BADIP;   /* "v4,v4": ambiguous */
	out->has_ip[ip.family] = true;
	out->ip[ip.family] = ip;
	return GW_DD_OK;
}

enum gw_dd_err gw_dd_parse(const struct gw_query *q, struct gw_dd_req *out)
{
	memset(out, 0, sizeof(*out));
	const char *h = gw_query_get(q, "hostname");
	if (h == NULL || h[0] == '\0')
		return GW_DD_NOHOST;
	int ret = split_names(h, out);
	if (ret != GW_DD_OK)
		return (enum gw_dd_err)ret;

	const char *myip = gw_query_get(q, "myip");
	if (myip != NULL && myip[0] != '\0') {
		char buf[2 * DW_IP_STRLEN + 2];
		if (strlen(myip) >= sizeof(buf))
			return GW_DD_BADIP;
		snprintf(buf, sizeof(buf), "%s", myip);
		char *comma = strchr(buf, ',');
		if (comma != NULL) {
			*comma = '\0';
			if (strchr(comma + 1, ',') != NULL || one_ip(comma + 1, out) != GW_DD_OK)
				return GW_DD_BADIP;
		}
		if (one_ip(buf, out) != GW_DD_OK)
			return GW_DD_BADIP;
	}
	const char *v4 = gw_query_get(q, "myipv4");
	if (v4 != NULL && v4[0] != '\0') {
		struct dw_ip ip;
		if (out->has_ip[DW_FAM_V4] || dw_ip_parse(v4, DW_FAM_V4, &ip) != DW_OK)
			return GW_DD_BADIP;
		out->has_ip[DW_FAM_V4] = true;
		out->ip[DW_FAM_V4] = ip;
	}
	const char *keys[2] = { "myipv6", "ip6lanprefix" };
	for (size_t k = 0; k < 2; k++) {
		const char *v6 = gw_query_get(q, keys[k]);
		if (v6 == NULL || v6[0] == '\0')
			continue;
		if (strchr(v6, '/') != NULL) {
			if (out->has_prefix || strlen(v6) >= sizeof(out->prefix))
				return GW_DD_BADIP;
			snprintf(out->prefix, sizeof(out->prefix), "%s", v6);
			out->has_prefix = true;
			continue;
		}
		struct dw_ip ip;
		if (dw_ip_parse(v6, DW_FAM_V6, &ip) != DW_OK)
			return GW_DD_BADIP;
		if (out->has_ip[DW_FAM_V6] && !dw_ip_equal(&ip, &out->ip[DW_FAM_V6]))
			return GW_DD_BADIP;
		out->has_ip[DW_FAM_V6] = true;
		out->ip[DW_FAM_V6] = ip;
	}
	if (out->has_prefix && out->has_ip[DW_FAM_V6])
		return GW_DD_BADIP;   /* both an address and a prefix: which one? */
	/* offline: yes/1 is read (and refused by the server: it would publish
	 * nothing or the caller's address); anything but yes/1/no/0 is an
	 * error rather than silently "no". */
	const char *off = gw_query_get(q, "offline");
	out->offline = off != NULL && (strcasecmp(off, "yes") == 0 || strcmp(off, "1") == 0);
	if (off != NULL && !out->offline && strcasecmp(off, "no") != 0 && strcmp(off, "0") != 0)
		return GW_DD_BADIP;
	return GW_DD_OK;
}

/* ---- JSON bodies -------------------------------------------------------- */

/* Loads an object whose keys are unique case-insensitively. */
static json_t *load_object(const char *body, size_t len)
{
	if (len == 0 || len > GW_JSON_MAX)
		return NULL;
	json_error_t err;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES,
	                         &err);
	if (doc == NULL)
		return NULL;
	if (!json_is_object(doc) || json_object_size(doc) > 16) {
		json_decref(doc);
		return NULL;
	}
	const char *k1, *k2;
	json_t *v1, *v2;
	json_object_foreach(doc, k1, v1) {
		json_object_foreach(doc, k2, v2) {
			if (k1 != k2 && strcasecmp(k1, k2) == 0) {
				json_decref(doc);
				return NULL;
			}
		}
	}
	return doc;
}

/* Value of key (case-insensitive): NULL when absent; *bad when present but
 * not a string without NUL bytes that fits cap. */
static const char *get_str(json_t *doc, const char *key, size_t cap, bool *bad)
{
	const char *k;
	json_t *v;
	json_object_foreach(doc, k, v) {
		if (strcasecmp(k, key) != 0)
			continue;
		if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
		    json_string_length(v) >= cap) {
			*bad = true;
			return NULL;
		}
		return json_string_value(v);
	}
	return NULL;
}

enum gw_json_err gw_acmedns_parse(const char *body, size_t len, struct gw_acmedns_req *out)
{
	memset(out, 0, sizeof(*out));
	json_t *doc = load_object(body, len);
	if (doc == NULL)
		return GW_JSON_BAD;
	enum gw_json_err ret = GW_JSON_OK;
	bool bad_sub = false, bad_txt = false;
	const char *sub = get_str(doc, "subdomain", sizeof(out->subdomain), &bad_sub);
	const char *txt = get_str(doc, "txt", sizeof(out->txt), &bad_txt);
	if (sub == NULL || bad_sub) {
		ret = GW_JSON_BAD_NAME;
		goto out;
	}
	snprintf(out->subdomain, sizeof(out->subdomain), "%s", sub);
	if (gw_name_normalize(out->subdomain) != DW_OK) {
		ret = GW_JSON_BAD_NAME;
		goto out;
	}
	if (txt == NULL || bad_txt || !gw_acme_value_ok(txt)) {
		ret = GW_JSON_BAD_TXT;
		goto out;
	}
	snprintf(out->txt, sizeof(out->txt), "%s", txt);
out:
	json_decref(doc);
	if (ret != GW_JSON_OK)
		memset(out, 0, sizeof(*out));
	return ret;
}

bool gw_acme_name(const char *fqdn, char *out, size_t cap)
{
	int n = snprintf(out, cap, "_acme-challenge.%s", fqdn);
	return n > 0 && (size_t)n < cap && n <= 253;
}

enum gw_json_err gw_httpreq_parse(const char *body, size_t len, struct gw_httpreq_req *out)
{
	memset(out, 0, sizeof(*out));
	json_t *doc = load_object(body, len);
	if (doc == NULL)
		return GW_JSON_BAD;
	enum gw_json_err ret = GW_JSON_OK;
	bool bad = false;
	const char *fqdn = get_str(doc, "fqdn", sizeof(out->fqdn), &bad);
	const char *value = get_str(doc, "value", sizeof(out->value), &bad);
	const char *domain = get_str(doc, "domain", GW_NAME_MAX, &bad);
	const char *keyauth = get_str(doc, "keyauth", 1024, &bad);
	(void)get_str(doc, "token", 1024, &bad);
	if (bad) {
		ret = GW_JSON_BAD;
		goto out;
	}
	if (fqdn != NULL && value != NULL && domain == NULL && keyauth == NULL) {
		snprintf(out->fqdn, sizeof(out->fqdn), "%s", fqdn);
		if (gw_name_normalize(out->fqdn) != DW_OK) {
			ret = GW_JSON_BAD_NAME;
			goto out;
		}
		if (!gw_acme_value_ok(value)) {
			ret = GW_JSON_BAD_TXT;
			goto out;
		}
		snprintf(out->value, sizeof(out->value), "%s", value);
	} else if (fqdn == NULL && value == NULL && domain != NULL && keyauth != NULL) {
		out->raw = true;
		char d[GW_NAME_MAX];
		snprintf(d, sizeof(d), "%s", strncmp(domain, "*.", 2) == 0 ? domain + 2 : domain);
		if (gw_name_normalize(d) != DW_OK || !gw_acme_name(d, out->fqdn, sizeof(out->fqdn))) {
			ret = GW_JSON_BAD_NAME;
			goto out;
		}
		if (keyauth[0] == '\0') {
			ret = GW_JSON_BAD_TXT;
			goto out;
		}
		gw_acme_value_from_keyauth(keyauth, out->value);
	} else {
		ret = GW_JSON_BAD;
	}
out:
	json_decref(doc);
	if (ret != GW_JSON_OK)
		memset(out, 0, sizeof(*out));
	return ret;
}
