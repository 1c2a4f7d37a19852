/* acme-dns client (protocols.md section 7): the server holds the TXT
 * values of one subdomain per account, reached from the name being
 * validated through a CNAME (_acme-challenge.host.example.org CNAME
 * SUBDOMAIN.auth.example.net).
 *
 *   [provider acme-dns]
 *   type = acmedns
 *   base-url = https://auth.acme-dns.io       (default)
 *   username = UUID                           (X-Api-User)
 *   password-file = /etc/dnsward/acme-dns.key (X-Api-Key, a secret)
 *   subdomain = UUID                          (the account's subdomain)
 *   acme-zones = SUBDOMAIN.auth.acme-dns.io   (the CNAME target it serves)
 *
 * One section per account: credentials belong to one name.  The server
 * keeps the two most recent values (a name and its wildcard) and has no
 * delete: txt_del succeeds without a request and the old value is replaced
 * by the next ones. */
#include "providers/acmedns.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"

struct dw_provider_data {
	char *username;
	char *subdomain;
	struct dw_secret password;
};

/* ---- Pure classifier ---- */

void dw_acmedns_classify(long status, const char *body, size_t len, long retry_after_s,
                         const char *value, struct dw_result *res)
{
	json_error_t jerr;
	json_t *root = body != NULL && len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)
	                                       : NULL;
	const char *txt = NULL, *err = NULL;
	size_t txt_len = 0;
	if (json_is_object(root)) {
		/* Keys are matched case-insensitively (lego sends "Txt"). */
		const char *k;
		json_t *v;
		json_object_foreach(root, k, v) {
			if (strcasecmp(k, "txt") == 0 && json_is_string(v)) {
				txt = json_string_value(v);
				txt_len = json_string_length(v);
			} else if (strcasecmp(k, "error") == 0 && json_is_string(v)) {
				err = json_string_value(v);
			}
		}
	}
	char sample[96];
	if (err != NULL)
		dw_text_sample(err, strlen(err), 64, sample, sizeof(sample));
	else
		snprintf(sample, sizeof(sample), "no error message");

	if (status == 200) {
		if (txt != NULL && txt_len == strlen(value) && strcmp(txt, value) == 0)
			dw_result_set(res, DW_OUT_DONE, -1, "acme-dns now serves the value");
		else
			dw_result_set(res, DW_OUT_RETRY, -1,
			              "acme-dns answered 200 without the value sent (unexpected reply)");
	} else if (status == 401) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "acme-dns refused the credentials (401 %s): check username and "
		              "password-file", sample);
	} else if (status == 400) {
		dw_result_set(res, DW_OUT_FATAL, -1, "acme-dns rejected the request (400 %s)%s",
		              sample, err != NULL && strcmp(err, "bad_subdomain") == 0
		                      ? ": check subdomain =" : "");
	} else if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "acme-dns", status, retry_after_s, -1, NULL);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "acme-dns refused the request (HTTP %ld %s)",
		              status, sample);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from acme-dns", status);
	}
	json_decref(root);
}

/* ---- Configuration ---- */

/* Text safe for an HTTP header and a JSON string. */
static bool header_safe(const char *s)
{
	if (s[0] == '\0' || strlen(s) > 128)
		return false;
	for (const char *c = s; *c != '\0'; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	}
	return true;
}

static int acmedns_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return DW_ENOMEM;
	p->data = d;
	int ret;
	if ((ret = dw_conf_strdup(ctx, "username", NULL, &d->username)) != DW_OK ||
	    (ret = dw_conf_strdup(ctx, "subdomain", NULL, &d->subdomain)) != DW_OK)
		return ret;
	if (d->username == NULL || !header_safe(d->username))
		return dw_conf_error(ctx, "username", "%s (the account's UUID from /register)",
		                     d->username == NULL ? "missing" : "not a valid user name");
	if (d->subdomain == NULL || !header_safe(d->subdomain) || strchr(d->subdomain, '.') != NULL)
		return dw_conf_error(ctx, "subdomain", "%s (the account's subdomain from /register)",
		                     d->subdomain == NULL ? "missing" : "not a single DNS label");
	ret = dw_conf_secret(ctx, "password-file", true, DW_SECRET_LINE, &d->password);
	if (ret != DW_OK)
		return ret;
	for (size_t i = 0; i < d->password.len; i++) {
		unsigned char c = (unsigned char)d->password.data[i];
		if (c <= 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, "password-file",
			                     "the file must hold the password alone on one line");
	}
	return DW_OK;
}

static void acmedns_free(struct dw_provider *p)
{
	if (p->data == NULL)
		return;
	dw_secret_clear(&p->data->password);
	free(p->data->username);
	free(p->data->subdomain);
	free(p->data);
	p->data = NULL;
}

/* ---- Requests ---- */

static void acmedns_txt_add(struct dw_provider *p, const char *fqdn, const char *value,
                            uint32_t ttl, struct dw_result *res)
{
	struct dw_provider_data *d = p->data;
	char url[1024], user_h[160];
	char *key_h = NULL, *body = NULL;
	json_t *doc = NULL;
	struct dw_http_req req;
	struct dw_http_resp resp = { 0 };
	struct dw_diag diag = { "" };
	size_t key_cap = 0;

	(void)ttl;   /* acme-dns sets its own */
	if (d == NULL || d->password.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "acme-dns provider not configured");
		return;
	}
	/* The CNAME target is SUBDOMAIN.<acme-dns domain>: a different first
	 * label means this account is not the one the name delegates to. */
	size_t sl = strlen(d->subdomain);
	if (strncmp(fqdn, d->subdomain, sl) != 0 || (fqdn[sl] != '.' && fqdn[sl] != '\0'))
		log_warning("acme-dns: %s does not start with this account's subdomain %s; "
		            "sending the value for %s", fqdn, d->subdomain, d->subdomain);
	int n1 = snprintf(url, sizeof(url), "%s/update", p->base_url);
	int n2 = snprintf(user_h, sizeof(user_h), "X-Api-User: %s", d->username);
	key_cap = d->password.len + 16;
	key_h = sodium_malloc(key_cap);
	doc = json_pack("{s:s, s:s}", "subdomain", d->subdomain, "txt", value);
	body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (n1 < 0 || (size_t)n1 >= sizeof(url) || n2 < 0 || (size_t)n2 >= sizeof(user_h)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "acme-dns base-url or username too long");
		goto out;
	}
	if (key_h == NULL || body == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	int n3 = snprintf(key_h, key_cap, "X-Api-Key: %.*s", (int)d->password.len, d->password.data);
	if (n3 < 0 || (size_t)n3 >= key_cap) {
		dw_result_set(res, DW_OUT_FATAL, -1, "acme-dns password too long");
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers[0] = "Accept: application/json";
	req.headers[1] = "Content-Type: application/json";
	req.headers[2] = user_h;
	req.headers[3] = key_h;
	req.body = body;
	req.body_len = strlen(body);
	req.ca_file = p->ca_file;
	req.timeout_ms = p->timeout_ms;
	log_debug("acme-dns: POST %s for subdomain %s (%s)", url, d->subdomain, fqdn);
	int rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "acme-dns", rc, &resp, &diag);
		goto out;
	}
	dw_acmedns_classify(resp.status, resp.body, resp.len, resp.retry_after_s, value, res);
out:
	dw_http_resp_free(&resp);
	if (key_h != NULL)
		sodium_free(key_h);   /* wipes */
	free(body);
	json_decref(doc);
}

static void acmedns_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                            struct dw_result *res)
{
	(void)p;
	(void)value;
	dw_result_set(res, DW_OUT_UNCHANGED, -1,
	              "acme-dns has no delete: the value at %s stays until two newer ones "
	              "replace it", fqdn);
}

const struct dw_provider_ops dw_provider_acmedns = {
	.type = "acmedns",
	.summary = "acme-dns server (ACME dns-01 TXT values only)",
	.caps = DW_CAP_TXT,
	.default_base_url = "https://auth.acme-dns.io",
	.configure = acmedns_configure,
	.txt_add = acmedns_txt_add,
	.txt_del = acmedns_txt_del,
	.free = acmedns_free,
};
